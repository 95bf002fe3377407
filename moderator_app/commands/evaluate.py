"""`moderator-app evaluate MODEL [DATA] [--tests SUITE …]`: how a model does on a labelled file and on
functional test suites (commands/evaluate_suites.py).

Prints a table (every metric beside the majority-class baseline, per class, the confusion matrix,
and per group with --by), each suite's pass rates per functionality, and, with --json, writes
everything to a JSON file. torch and transformers
are imported inside run(), so `moderator-app --help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from moderator_app.commands import evaluate_suites
from moderator_app.commands.errors import EXIT_INTERRUPTED, EXIT_OK, report_failure
from moderator_app.commands.label import (DEVICE_CHOICES, ThresholdOption, add_normalise_argument, positive_int,
                                          probability, quiet_transformers)
from moderator_app.core.messages import data_error, model_error, output_error, settings_error

COMMAND = "evaluate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL",
                        help="a folder written by `moderator-app train`, any Hugging Face text-classification model "
                             "folder, or a hub id (downloaded when online)")
    parser.add_argument("data", metavar="DATA", nargs="?", default="",
                        help="labelled CSV, TSV, JSON Lines or Parquet file (may be left out with --tests)")
    parser.add_argument("--text-column", metavar="C", default="", help="column holding the text (default: detected)")
    parser.add_argument("--label-column", metavar="L", default="", help="column holding the label (default: detected)")
    parser.add_argument("--label-map", metavar="JSON", default="",
                        help="the file's label values as the model's labels: a JSON object or a file holding one, "
                             "e.g. '{\"0\": \"hate\", \"1\": \"not-hate\", \"2\": null}' (null leaves those rows out). "
                             "0–1 score labels are first read as \"1\" (at least --score-threshold) or \"0\". Without "
                             "a map, rows whose label is not one of the model's are counted and left out")
    parser.add_argument("--score-threshold", type=probability, default=0.5, metavar="S",
                        help="for a label column of 0–1 scores: the score from which a row is \"1\" (default: 0.5)")
    parser.add_argument("--categories", metavar="JSON", default="",
                        help="a multi-label model: how the file labels each category, as a training source's "
                             "'categories' rules (a JSON object or a file holding one), e.g. '{\"hate\": {\"column\": "
                             "\"label\", \"yes\": [\"hate\"], \"no\": [\"not-hate\"]}, \"offensive\": {\"votes\": "
                             "\"offensive_language\", \"total\": \"count\", \"rule\": \"majority\"}}'; a category without a "
                             "rule is unknown for every row. Default: a column named like a category holds its yes/no")
    parser.add_argument("--by", metavar="COLUMN", default="",
                        help="also report every metric per value of this column (a source, a target group, …)")
    parser.add_argument("--threshold", action=ThresholdOption, metavar="T|CATEGORY=T",
                        help="binary models: the positive label when its probability is at least T (default: the "
                             "model's saved operating point, else the most probable label); multi-label models: "
                             "CATEGORY=T flags CATEGORY at T instead of its saved threshold (repeat it for several "
                             "categories)")
    parser.set_defaults(category_thresholds=None)
    parser.add_argument("--robustness", action="store_true",
                        help="also classify obfuscated copies of the rows (letters swapped or dropped, spaces inserted "
                             "or removed, leetspeak, look-alike letters, zero-width characters; seeded, labels kept) "
                             "and report accuracy and the flagged label's recall per kind against the clean rows")
    parser.add_argument("--robustness-seed", type=int, default=12345, metavar="S",
                        help="seed of the obfuscated copies (default: 12345)")
    parser.add_argument("--json", metavar="OUT", help="also write every number to this JSON file")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT when it exists")
    parser.add_argument("--batch-size", type=positive_int, metavar="N",
                        help="texts per forward pass (default: 64 on the CPU, 256 on a GPU)")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="where the model runs")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="also load pickle weights (pytorch_model.bin), with weights_only; only for models "
                             "whose source you trust")
    evaluate_suites.add_arguments(parser)
    add_normalise_argument(parser)


def run(args: argparse.Namespace) -> int:
    try:
        return _evaluate(args)
    except KeyboardInterrupt:
        print(f"moderator-app {COMMAND}: interrupted; nothing was written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `evaluate … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_OK
    except Exception as error:  # the one error boundary: one line, exit 2 for bad input
        return report_failure(COMMAND, _as_user_error(error))


def _evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from moderator_app.core.evaluation.file_evaluation import evaluate_file
    from moderator_app.core.evaluation.label_map import parse_label_map
    from moderator_app.core.inference.classifier import Classifier

    if args.compare and not args.tests:
        raise settings_error("--compare compares the pass rates of test suites; give one with --tests SUITE.")
    if args.robustness and not args.data:
        raise settings_error("--robustness measures a labelled DATA file on obfuscated copies; give one.")
    if not args.data and not args.tests:
        raise settings_error("Nothing to evaluate: give a labelled DATA file, a test suite with --tests SUITE, "
                             "or both.")
    label_map = parse_label_map(args.label_map)
    if args.categories and (args.label_map or args.label_column):
        raise settings_error("--categories reads a multi-label file; --label-map and --label-column read a "
                             "single-label one. Give one or the other.")
    output = check_json_output(args.json, args.overwrite) if args.json else None  # before the model's slow load
    suites = evaluate_suites.read_suites(args.tests)  # likewise: a suite's mistake is said at once
    quiet_transformers()
    classifier = _KeepsProbabilities(Classifier.load(args.model, device=args.device, allow_pickle=args.allow_pickle,
                                                     normalise=args.normalise,
                                                     normalise_evasion=args.normalise_evasion))
    if classifier.multi_label:
        return _evaluate_categories(args, classifier, suites, output)
    if args.categories:
        raise settings_error(f"--categories is for a multi-label model; {classifier.name_or_path} gives one label "
                             f"per text ({', '.join(classifier.labels)}).", "Use --label-column and --label-map.")
    if args.category_thresholds:
        raise settings_error(f"--threshold CATEGORY=T is for a multi-label model; {classifier.name_or_path} gives one "
                             f"label per text ({', '.join(classifier.labels)}).", "Give one threshold: --threshold T.")
    evaluation = robustness = None
    if args.data:
        with tqdm(unit=" rows", unit_scale=True, dynamic_ncols=True, disable=None, file=sys.stderr) as bar:
            evaluation = evaluate_file(classifier, args.data, text_column=args.text_column,
                                       label_column=args.label_column, label_map=label_map,
                                       score_threshold=args.score_threshold, group_column=args.by,
                                       threshold=args.threshold, batch_size=args.batch_size, on_batch=bar.update)
            if args.robustness:
                from moderator_app.core.evaluation.robustness import robustness_report

                robustness = robustness_report(classifier, evaluation.data.texts, evaluation.data.labels,
                                               evaluation.result.threshold, args.robustness_seed,
                                               classifier.probabilities, batch_size=args.batch_size,
                                               on_batch=bar.update)
    other = (Classifier.load(args.compare, device=args.device, allow_pickle=args.allow_pickle,
                             normalise=args.normalise, normalise_evasion=args.normalise_evasion)
             if args.compare else None)
    runs = evaluate_suites.run_suites(classifier, suites, other, args.threshold, args.batch_size)
    if output is not None:  # first: the file must not depend on whoever reads the table
        data = evaluation.to_dict() if evaluation is not None else {"model": classifier.name_or_path}
        if robustness is not None:
            data["robustness"] = robustness.to_dict()
        if runs:
            data["tests"] = evaluate_suites.runs_to_json(runs)
        write_json_atomically(output, data, args.overwrite)
    reports = ([format_report(evaluation)] if evaluation is not None else
               [f"Model: {classifier.name_or_path} (labels {', '.join(classifier.labels)})"])
    if robustness is not None:
        reports.append("\n".join(robustness.lines()))
    if runs:
        reports.append(evaluate_suites.format_runs(runs, args.failures))
    print("\n\n".join(reports))
    if output is not None:
        print(f"Wrote {output}")
    if evaluation is not None and evaluation.warning:
        print(f"moderator-app {COMMAND}: warning: {evaluation.warning}", file=sys.stderr)
    return EXIT_OK


def _evaluate_categories(args: argparse.Namespace, classifier, suites: list, output: Path | None) -> int:
    """A multi-label model: each category on the rows whose label for it is known, and each case of the
    test suites, at its threshold (--threshold CATEGORY=T in place of the saved one)."""
    from tqdm import tqdm

    from moderator_app.core.evaluation.category_evaluation import evaluate_category_file, parse_category_rules
    from moderator_app.core.evaluation.suite_results import category_decision
    from moderator_app.core.inference.classifier import Classifier

    for flag, given in (("--threshold", args.threshold is not None), ("--robustness", args.robustness),
                        ("--label-map", bool(args.label_map))):
        if given:
            raise settings_error(f"{flag} is for single-label models; {classifier.name_or_path} is a multi-label "
                                 f"model (categories {', '.join(classifier.labels)}).",
                                 "Set a category's threshold with --threshold CATEGORY=T." if flag == "--threshold"
                                 else None)
    category_decision(classifier, args.category_thresholds)  # a category the model lacks: said before any work
    evaluation = None
    if args.data:
        rules = parse_category_rules(args.categories, list(classifier.labels))
        with tqdm(unit=" rows", unit_scale=True, dynamic_ncols=True, disable=None, file=sys.stderr) as bar:
            evaluation = evaluate_category_file(classifier, args.data, rules=rules, text_column=args.text_column,
                                                group_column=args.by, batch_size=args.batch_size, on_batch=bar.update,
                                                thresholds=args.category_thresholds)
    other = (Classifier.load(args.compare, device=args.device, allow_pickle=args.allow_pickle,
                             normalise=args.normalise, normalise_evasion=args.normalise_evasion)
             if args.compare else None)
    runs = evaluate_suites.run_suites(classifier, suites, other, args.category_thresholds, args.batch_size)
    if output is not None:
        data = evaluation.to_dict() if evaluation is not None else {"model": classifier.name_or_path}
        if runs:
            data["tests"] = evaluate_suites.runs_to_json(runs)
        write_json_atomically(output, data, args.overwrite)
    reports = ([format_category_report(evaluation)] if evaluation is not None else
               [f"Model: {classifier.name_or_path} (categories {', '.join(classifier.labels)})"])
    if runs:
        reports.append(evaluate_suites.format_runs(runs, args.failures))
    print("\n\n".join(reports))
    if output is not None:
        print(f"Wrote {output}")
    if evaluation is not None and evaluation.warning:
        print(f"moderator-app {COMMAND}: warning: {evaluation.warning}", file=sys.stderr)
    return EXIT_OK


class _KeepsProbabilities:
    """The classifier, remembering the probabilities of its last call (the robustness report's clean rows)."""

    def __init__(self, classifier):
        self._classifier = classifier
        self.probabilities = None

    def __getattr__(self, name: str):
        return getattr(self._classifier, name)

    def predict_probabilities(self, texts, batch_size=None, on_batch=None):
        self.probabilities = self._classifier.predict_probabilities(texts, batch_size, on_batch)
        return self.probabilities


def _as_user_error(error: BaseException) -> BaseException:
    """Loading errors that do not yet belong to core.errors' UserError family, as their member."""
    from moderator_app.core.files.formats import DataFileError
    from moderator_app.core.hub import ModelNotAvailableError
    from moderator_app.core.inference.classifier import ModelLoadError

    if isinstance(error, DataFileError):
        return data_error(str(error))
    if isinstance(error, (ModelLoadError, ModelNotAvailableError)):
        return model_error(str(error))
    return error


# ------------------------------------------------------------------------------------------------
# The JSON file
# ------------------------------------------------------------------------------------------------
def check_json_output(path: str, overwrite: bool) -> Path:
    target = Path(path).expanduser()
    if target.is_dir():
        raise output_error(f"{target} is a folder; the JSON output must be a file name.")
    if target.exists() and not overwrite:
        raise output_error(f"{target} already exists.", "Choose another file, or replace it with {overwrite}.")
    if not target.parent.is_dir():
        raise output_error(f"The folder {target.parent} does not exist.")
    return target


def write_json_atomically(target: Path, data: dict, overwrite: bool) -> None:
    """Through the one atomic-output helper (core/files/atomic.py), as `label` writes: a hidden
    temporary file beside `target`, claimed under its name only when complete (without `overwrite`
    never over a file that appeared meanwhile); a full disk or a read-only folder is named by the file."""
    from moderator_app.core.files.atomic import atomic_output

    with atomic_output(target, overwrite) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False)
            handle.write("\n")


# ------------------------------------------------------------------------------------------------
# The table
# ------------------------------------------------------------------------------------------------
def format_report(evaluation) -> str:
    result = evaluation.result
    if result.threshold is None:
        decision = "the most probable label"
    else:
        decision = f"P({result.positive_label}) ≥ {result.threshold:.3f} ({evaluation.threshold_source})"
    lines = [f"Model: {evaluation.model} (labels {', '.join(result.labels)}); decision: {decision}",
             f"Data:  {evaluation.data.describe()}", ""]
    lines += _metric_table(result, evaluation.data.group_column)
    lines += ["", _row("", ["precision", "recall", "F1", "support"])]
    for label, scores in result.per_class.items():
        lines.append(_row(label, [f"{scores.precision:.3f}", f"{scores.recall:.3f}", f"{scores.f1:.3f}",
                                  f"{scores.support:,}"]))
    lines += ["", "Confusion matrix (rows: true label, columns: predicted label)", _row("", result.labels)]
    for label, counts in zip(result.labels, result.confusion_matrix):
        lines.append(_row(label, [f"{count:,}" for count in counts]))
    return "\n".join(lines)


def format_category_report(evaluation) -> str:
    """A multi-label evaluation: a row per category (and per category and --by group), each on its known rows."""
    def number(value):
        return "–" if value is None else f"{value:.3f}"

    dropped = "".join(f", {count:,} left out ({reason})" for reason, count in evaluation.dropped.items())
    lines = [f"Model: {evaluation.model} (categories {', '.join(evaluation.categories)}); decision: each category at "
             "its own threshold (" + ", ".join(f"{name} {threshold:.3f}" for name, threshold
                                               in evaluation.thresholds.items()) + ")",
             f"Data:  {evaluation.path}: {evaluation.rows_read:,} rows read, {evaluation.rows:,} evaluated{dropped}; "
             f"text column '{evaluation.text_column}'",
             "Each category on its known rows (unknown: the file does not label it there):", "",
             _row("", ["known", "unknown", "prevalence", "precision", "recall", "F1", "AP"])]
    for name, scores in evaluation.categories.items():
        rows = [(name, scores)] + [(f"  {evaluation.group_column}={group}", group_scores)
                                   for group, group_scores in scores.get("by", {}).items()]
        for label, entry in rows:
            lines.append(_row(label, [f"{entry['known_rows']:,}", f"{entry.get('unknown_rows', 0):,}"
                                      if "unknown_rows" in entry else "", number(entry["prevalence"]),
                                      number(entry["precision"]), number(entry["recall"]), number(entry["f1"]),
                                      number(entry["ap"])]))
    for name, values in evaluation.unmapped.items():
        shown = ", ".join(f"{value!r} ×{count:,}" for value, count in list(values.items())[:8])
        lines.append(f"{name}: values in neither its 'yes' nor its 'no' list, taken as unknown: {shown}")
    return "\n".join(lines)


def _metric_table(result, group_column: str | None) -> list[str]:
    header = ["n", "accuracy", "baseline", "macro F1", "ROC-AUC", "AP", "ECE"]
    lines = [_row("", header), _row("all", _metric_cells(result))]
    for group, group_result in result.by.items():
        lines.append(_row(f"{group_column}={group}", _metric_cells(group_result)))
    return lines


def _metric_cells(result) -> list[str]:
    def number(value):
        return "–" if value is None else f"{value:.3f}"

    return [f"{result.n:,}", number(result.accuracy), number(result.majority_baseline), number(result.macro_f1),
            number(result.roc_auc), number(result.average_precision), number(result.ece)]


def _row(name: str, cells) -> str:
    first = name if len(name) <= 24 else name[:23] + "…"
    return f"{first:<24}" + "".join(f"{cell:>11}" for cell in cells)
