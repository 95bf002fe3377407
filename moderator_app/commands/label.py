"""`moderator-app label INPUT --model M`: label every row of a data file.

torch and transformers are imported inside run(), so `moderator-app --help` stays instant.
"""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 2, 130
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
    parser.add_argument("--threshold", type=probability, metavar="T",
                        help="binary models: the positive label when its probability is at least T "
                             "(default: the threshold chosen on the validation set at the end of training, "
                             "else the most probable label)")
    parser.add_argument("--batch-size", type=positive_int, metavar="N",
                        help="texts per forward pass (default: 64 on the CPU, 256 on a GPU); long texts go "
                             "in smaller batches of at most N × 64 tokens")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="where the model runs")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="also load pickle weights (pytorch_model.bin), with weights_only; only for models "
                             "whose source you trust")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT", help="CSV, TSV, JSON Lines or Parquet file")
    add_model_arguments(parser)
    parser.add_argument("--output", "-o", metavar="OUT",
                        help="where to write the labelled file, in the input's format "
                             "(default: INPUT's name with .labelled before the extension)")
    parser.add_argument("--text-column", metavar="C", help="column holding the text (default: detected)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT when it exists")
    parser.add_argument("--skip-bad-rows", action="store_true",
                        help="leave out rows the CSV parser cannot read (listed in the summary) instead of failing")
    parser.add_argument("--excel-safe", action="store_true",
                        help="prefix cells starting with = + - @ with ' so spreadsheets do not run them as formulas")


def load_classifier(args: argparse.Namespace):
    quiet_transformers()
    from moderator_app.core.inference.classifier import Classifier

    return Classifier.load(args.model, device=args.device, allow_pickle=args.allow_pickle)


def decision_threshold(args: argparse.Namespace, classifier) -> float | None:
    """--threshold when given, else the model's saved operating point (None: the most probable label)."""
    return args.threshold if args.threshold is not None else classifier.default_threshold


def quiet_transformers() -> None:
    """Keep the terminal for our progress bar and summary: no weight-loading bars or reports."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def readable_errors() -> tuple[type[BaseException], ...]:
    """Exceptions whose message is meant for the user: shown as one line, never a traceback."""
    from moderator_app.core.files.formats import DataFileError
    from moderator_app.core.hub import ModelNotAvailableError
    from moderator_app.core.inference.classifier import ModelLoadError
    from moderator_app.core.inference.labelling import LabellingError

    return LabellingError, DataFileError, ModelLoadError, ModelNotAvailableError, OSError


def is_out_of_memory(error: BaseException) -> bool:
    # torch.OutOfMemoryError (CUDA, MPS) is a RuntimeError; checked by name so torch need not be imported here
    return isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError"


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from moderator_app.core.inference.labelling import check_output_path, label_file

    try:
        output = check_output_path(args.input, args.output, args.overwrite)  # before the model's slow load
        classifier = load_classifier(args)
        print(f"Model {classifier.describe()}", file=sys.stderr)
        with tqdm(unit=" rows", unit_scale=True, dynamic_ncols=True, smoothing=0.1, disable=None) as bar:
            def show_progress(rows_done: int, total_rows: int | None, rows_per_second: float) -> None:
                if total_rows is not None and bar.total != total_rows:
                    bar.total = total_rows
                bar.update(rows_done - bar.n)

            summary = label_file(args.input, output, classifier, text_column=args.text_column,
                                 threshold=decision_threshold(args, classifier), batch_size=args.batch_size,
                                 overwrite=args.overwrite,
                                 skip_bad_rows=args.skip_bad_rows, excel_safe=args.excel_safe,
                                 on_progress=show_progress)
    except readable_errors() as error:
        print(f"moderator-app label: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("moderator-app label: interrupted; no output was written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (MemoryError, RuntimeError) as error:
        if not is_out_of_memory(error):
            raise
        print(f"moderator-app label: error: out of memory ({error.__class__.__name__}); no output was written. "
              "Try a smaller --batch-size.", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(summary.describe())
    return EXIT_OK
