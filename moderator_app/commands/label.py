"""`moderator-app label INPUT --model M`: label every row of a data file.

torch and transformers are imported inside run(), so `moderator-app --help` stays instant.
"""

from __future__ import annotations

import argparse
import signal
import sys
from contextlib import contextmanager
from typing import Iterator

from moderator_app.commands.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, report_failure
from moderator_app.commands.label_spark import add_spark_arguments, check_engine_arguments, run_spark
from moderator_app.core.precision import INFERENCE_PRECISIONS  # plain Python: --help stays instant

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
ONLINE_MODEL_HINT = "valurank/distilroberta-hatespeech"


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text}")
    return value


class ThresholdOption(argparse.Action):
    """--threshold T sets a binary model's threshold; --threshold CATEGORY=T, repeatable, sets one category's
    of a multi-label model (`category_thresholds`; the model decides whether CATEGORY is one of its own)."""

    def __call__(self, parser, namespace, value, option_string=None) -> None:
        name, equals, number = value.rpartition("=")
        try:
            if not equals:
                namespace.threshold = probability(value)
                return
            if not name.strip():
                raise argparse.ArgumentTypeError(f"expected T or CATEGORY=T, got {value!r}")
            namespace.category_thresholds = {**(namespace.category_thresholds or {}), name.strip(): probability(number)}
        except argparse.ArgumentTypeError as error:
            raise argparse.ArgumentError(self, str(error)) from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text}")
    return value


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `label` and `classify`."""
    parser.add_argument("--model", "-m", required=True, metavar="M",
                        help="a folder written by `moderator-app train`, any Hugging Face text-classification "
                             f"model folder, or a hub id such as {ONLINE_MODEL_HINT} (downloaded when online)")
    parser.add_argument("--threshold", action=ThresholdOption, metavar="T|CATEGORY=T",
                        help="binary models: the positive label when its probability is at least T "
                             "(default: the threshold chosen on the validation set at the end of training, "
                             "else the most probable label); multi-label models: CATEGORY=T flags CATEGORY "
                             "at T instead of its saved threshold (repeat it for several categories)")
    parser.set_defaults(category_thresholds=None)
    parser.add_argument("--batch-size", type=positive_int, metavar="N",
                        help="texts per forward pass (default: 64 on the CPU, 256 on a GPU); long texts go "
                             "in smaller batches of at most N × 64 tokens")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="where the model runs")
    parser.add_argument("--precision", choices=INFERENCE_PRECISIONS, default="auto",
                        help="number format of the model's arithmetic: auto is bf16 on a CPU that computes it "
                             "natively (AMX, AVX-512 BF16, Arm BF16), fp16 on a CUDA GPU, fp32 elsewhere "
                             "(default: auto; the choice and why are printed). Under bf16 the last digits of "
                             "a score can depend on batch composition (which texts share a batch: --batch-size, "
                             "the file's other rows); --precision fp32 gives scores independent of it")
    parser.add_argument("--compile", action="store_true",
                        help="compile the model with torch.compile (a few padded lengths, compiled once each): "
                             "pays only over long runs, since compiling takes tens of seconds on a laptop CPU; "
                             "where it is not available the model runs uncompiled and one line says so")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="also load pickle weights (pytorch_model.bin), with weights_only; only for models "
                             "whose source you trust")
    add_normalise_argument(parser)


def add_normalise_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--normalise", action=argparse.BooleanOptionalAction, default=None,
                        help="put each text in Unicode NFKC form and remove zero-width characters before the model "
                             "reads it, which cannot change what it says (default: as the model was trained, "
                             "normalise_text; on for models from elsewhere)")
    parser.add_argument("--normalise-evasion", action=argparse.BooleanOptionalAction, default=None,
                        help="with --normalise, also read disguised words as plain ones: look-alike letters of "
                             "another script inside Latin words folded to Latin, spaced-out letters joined "
                             "('i d i o t'), leetspeak inside words undone ('h4te') (default: as the model was "
                             "trained, normalise_evasion; off for this app's models from before the setting, on for "
                             "models from elsewhere)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT",
                        help="CSV, TSV, JSON Lines or Parquet file, or a TXT file of one text per line")
    add_model_arguments(parser)
    parser.add_argument("--output", "-o", metavar="OUT",
                        help="where to write the labelled file, in the input's format, a TXT input as CSV "
                             "(default: INPUT's name with .labelled before the extension); OUT.provenance.json "
                             "beside it records the model (folder and identity), its labels, the threshold and "
                             "where it came from, the precision, the app's version, the time and the row counts")
    parser.add_argument("--text-column", metavar="C", help="column holding the text (default: detected)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT (and OUT.provenance.json) when it exists")
    parser.add_argument("--skip-bad-rows", action="store_true",
                        help="leave out rows the CSV parser cannot read (listed in the summary) instead of failing")
    add_excel_safe_argument(parser)


def add_excel_safe_argument(parser: argparse.ArgumentParser) -> None:
    """--excel-safe, as `label` and `decisions export|conflicts` offer it (core/files/writers.neutralise_formula)."""
    parser.add_argument("--excel-safe", action="store_true",
                        help="prefix cells (and column names) starting with = + - @ with ' so spreadsheets do not "
                             "run them as formulas")
    add_spark_arguments(parser)


def load_classifier(args: argparse.Namespace):
    quiet_transformers()
    from moderator_app.core.inference.classifier import Classifier

    return Classifier.load(args.model, device=args.device, allow_pickle=args.allow_pickle, precision=args.precision,
                           normalise=args.normalise, normalise_evasion=args.normalise_evasion,
                           compile=getattr(args, "compile", False))


def decision_threshold(args: argparse.Namespace, classifier) -> float | None:
    """--threshold when given, else the model's saved operating point (None: the most probable label)."""
    return args.threshold if args.threshold is not None else classifier.default_threshold


def quiet_transformers() -> None:
    """Keep the terminal for our progress bar and summary: no weight-loading bars or reports."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (kill, a scheduler's stop, a closed terminal session) is handled like Ctrl-C: it raises
    KeyboardInterrupt, so the hidden temporary output is deleted on the way out."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    complaint = check_engine_arguments(args)
    if complaint:
        print(f"moderator-app label: error: {complaint}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.engine == "spark":
        return run_spark(args)
    try:
        with terminate_as_interrupt():
            summary = label(args)
    except KeyboardInterrupt:
        print("moderator-app label: interrupted; no output was written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the one error boundary: one line, exit 2 for bad input
        return report_failure("label", error)
    print(summary.describe())
    return EXIT_OK


def label(args: argparse.Namespace):
    from tqdm import tqdm

    from moderator_app.core.inference.labelling import label_file, plan_labelling
    from moderator_app.core.inference.provenance import GIVEN

    # Everything that needs no model first: the output path, the input's format, its text column and
    # a pass over the whole file (a CSV quote left open is found before the model's slow load).
    plan = plan_labelling(args.input, args.output, text_column=args.text_column, overwrite=args.overwrite,
                          excel_safe=args.excel_safe)
    classifier = load_classifier(args)
    print(f"Model {classifier.describe()}", file=sys.stderr)
    with tqdm(unit=" rows", unit_scale=True, dynamic_ncols=True, smoothing=0.1, disable=None) as bar:
        def show_progress(rows_done: int, total_rows: int | None, rows_per_second: float) -> None:
            if total_rows is not None and bar.total != total_rows:
                bar.total = total_rows
            bar.update(rows_done - bar.n)

        return label_file(args.input, plan.target, classifier, text_column=args.text_column,
                          threshold=decision_threshold(args, classifier), batch_size=args.batch_size,
                          overwrite=args.overwrite,
                          skip_bad_rows=args.skip_bad_rows, excel_safe=args.excel_safe, on_progress=show_progress,
                          plan=plan, threshold_source=GIVEN if args.threshold is not None else None,
                          category_thresholds=args.category_thresholds)
