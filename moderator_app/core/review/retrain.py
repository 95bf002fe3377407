"""Retraining from decisions: a run that learns from a queue's decisions, prepared in one step, and
the old-versus-new comparison once it has run. A multi-label model retrains on its sources plus the
decisions as one more source, a yes/no column per category (core/review/retrain_categories.py).

`prepare_retrain` takes the model's own training config (base model and every setting), and writes,
beside a NEW output folder that it does not create (the run claims it):
  <output>.decisions.csv  the queue's decisions used for training (text,label),
  <output>.heldout.csv    a held-out part of the decisions (never trained on), for the comparison,
  <output>.train.csv      the original training rows plus the decisions: the run's train_file.
A text both in the original data and decided by a moderator takes the moderator's label, and the
report says how many rows that changed; rows the reader left out are counted and said too.
Each file goes to a temporary name first. `compare_models` evaluates the old and the new model on
the original validation file (when the config has one) and on the held-out decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Sequence

from moderator_app.core.config import ConfigError, TrainingConfig
from moderator_app.core.errors import DataError, ModelNotUsableError, OutputNotWritableError
from moderator_app.core.evaluation.file_evaluation import evaluate_file
from moderator_app.core.evaluation.labelled_data import read_labelled_rows
from moderator_app.core.evaluation.suite_results import compare_results, run_suite
from moderator_app.core.evaluation.suites import read_suite
from moderator_app.core.inference.classifier import Classifier
from moderator_app.core.review.export import ExportFilter, latest_decisions, write_csv_atomically

from moderator_app.core.review.retrain_categories import compare_categories, plan_multi_label
# RetrainPlan and Comparison are imported from here by the front ends and tests
from moderator_app.core.review.retrain_plan import (HELD_OUT_SEED, HELD_OUT_SHARE, MIN_DECISIONS,  # noqa: F401
                                                    TRAINING_CONFIG, Comparison, RetrainPlan, check_original_files,
                                                    split_held_out)


def new_output_folder(model_folder: Path, when: datetime | None = None) -> Path:
    """A sibling of the model folder that does not exist yet: <name>-retrained-<date-time>[-n]."""
    stamp = (when or datetime.now()).strftime("%Y%m%d-%H%M%S")
    candidate, number = model_folder.with_name(f"{model_folder.name}-retrained-{stamp}"), 2
    while candidate.exists() or candidate.with_name(candidate.name + ".train.csv").exists():
        candidate, number = model_folder.with_name(f"{model_folder.name}-retrained-{stamp}-{number}"), number + 1
    return candidate


def prepare_retrain(store, model_folder: str | Path, labels: list[str], queue: str | None,
                    output_dir: str | Path | None = None) -> RetrainPlan:
    """The run that retrains the model of `model_folder` on its original data plus the decisions of
    `queue` (None: every decision), and the files it needs. Nothing is trained here."""
    folder = Path(model_folder)
    config_path = folder / TRAINING_CONFIG
    if not config_path.is_file():
        raise ModelNotUsableError(f"{folder} has no {TRAINING_CONFIG}: the settings it was trained with are not "
                                  "known.", "Retrain from decisions works for models trained by this app; export "
                                  "the decisions and train in the Training tab instead.")
    try:
        original = TrainingConfig.load(config_path)
    except (ConfigError, OSError, ValueError) as error:
        raise ModelNotUsableError(f"{config_path} cannot be read: {error}.",
                                  "Export the decisions and train in the Training tab instead.") from None
    output = Path(output_dir) if output_dir else new_output_folder(folder)
    if output.exists():
        raise OutputNotWritableError(f"{output} exists already; a retrained model needs a new folder.",
                                     "Choose another {output_dir}.")
    decisions, _undone = latest_decisions(store, ExportFilter(queue=queue))
    if getattr(original, "categories", None):  # a multi-label run: the decisions' sets of categories
        return plan_multi_label(original, folder, output, queue, decisions)
    decided = [(decision.text, decision.moderator_label) for decision in decisions
               if decision.moderator_label in labels and not decision.multi_label]
    if len(decided) < MIN_DECISIONS:
        where = f"in the queue '{queue}'" if queue else "in the decision store"
        raise DataError(f"There are {len(decided)} decisions {where} with this model's labels; retraining needs "
                        f"at least {MIN_DECISIONS}.", "Decide some items first.")
    trained, held_out = split_held_out(decided)

    if original.sources:  # trained on several sources: keep them, and the decisions become one more
        return _plan_with_sources(original, folder, output, queue, decided, trained, held_out)
    source = original.train_file
    if not source or not Path(source).is_file():
        raise DataError(f"The model's original training file {source or '(none)'} is not there any more.",
                        "Put it back, or export the decisions and train in the Training tab.")
    rows = read_labelled_rows(source, labels, original.text_column, original.label_column)
    by_decision = dict(trained)
    changed = sum(1 for text, label in zip(rows.texts, rows.labels) if text in by_decision and by_decision[text] != label)
    held_texts = {text for text, _ in held_out}
    merged = [(text, by_decision.get(text, label)) for text, label in zip(rows.texts, rows.labels)
              if text not in held_texts]
    held_from_original = len(rows.texts) - len(merged)
    known = set(rows.texts)
    merged += [(text, label) for text, label in trained if text not in known]

    decisions_file = output.with_name(output.name + ".decisions.csv")
    held_out_file = output.with_name(output.name + ".heldout.csv") if held_out else None
    train_file = output.with_name(output.name + ".train.csv")
    write_csv_atomically(decisions_file, ["text", "label"], trained)
    if held_out_file is not None:
        write_csv_atomically(held_out_file, ["text", "label"], held_out)
    write_csv_atomically(train_file, ["text", "label"], merged)

    report = [f"{rows.describe()}.",
              f"{len(decided):,} decisions{f' in the queue {queue!r}' if queue else ''}: {len(trained):,} trained on "
              f"({decisions_file.name}), {len(held_out):,} held out for the comparison"
              + (f" ({held_out_file.name})." if held_out_file else " (too few decisions to hold any out).")]
    if changed:
        report.append(f"{changed:,} original rows take the moderator's label instead of the file's.")
    if held_from_original:
        report.append(f"{held_from_original:,} original rows whose text is held out are left out of training.")
    report.append(f"{len(merged):,} training rows in {train_file.name}; the model goes to {output}.")
    config = replace(original, train_file=str(train_file), text_column="text", label_column="label",
                     output_dir=str(output), model_name_or_path=original.model_name_or_path)
    return RetrainPlan(config, str(folder), decisions_file, held_out_file, train_file, report)


def _plan_with_sources(original, folder: Path, output: Path, queue: str | None, decided: list, trained: list,
                       held_out: list) -> RetrainPlan:
    """A model trained on several sources retrains on the same sources (each with its own columns and
    label map) plus the decisions as one more source. Original rows are not relabelled here (each source
    is read as its file says); the report says so."""
    check_original_files(original)
    decisions_file = output.with_name(output.name + ".decisions.csv")
    held_out_file = output.with_name(output.name + ".heldout.csv") if held_out else None
    write_csv_atomically(decisions_file, ["text", "label"], trained)
    if held_out_file is not None:
        write_csv_atomically(held_out_file, ["text", "label"], held_out)
    sources = [dict(entry) for entry in original.sources]
    sources.append({"path": str(decisions_file), "text_column": "text", "label_column": "label"})
    report = [f"{len(original.sources) + bool(original.train_file):,} original training sources, read as before.",
              f"{len(decided):,} decisions{f' in the queue {queue!r}' if queue else ''}: {len(trained):,} trained on "
              f"as one more source ({decisions_file.name}), {len(held_out):,} held out for the comparison"
              + (f" ({held_out_file.name})." if held_out_file else " (too few decisions to hold any out)."),
              "A text that is both in an original source and decided is trained with both labels; the decision "
              f"does not replace the source's row. The model goes to {output}."]
    config = replace(original, sources=sources, output_dir=str(output))
    return RetrainPlan(config, str(folder), decisions_file, held_out_file, decisions_file, report)


def compare_models(old_folder: str | Path, new_folder: str | Path, validation_file: str | None,
                   held_out_file: str | Path | None, device: str = "cpu",
                   test_suites: Sequence[str] | None = None) -> list[Comparison]:
    """Accuracy and macro F1 of the old and the new model on the original validation file and on the
    held-out decisions (each when there is one), and the pass rates of the run's functional test suites
    (overall and per functionality; `test_suites` None: those the new model's run named), at each model's
    own operating point. Multi-label models: per category on the held-out decisions, and the suites' pass
    rates (their cases' expected sets) when both have the same categories."""
    old = Classifier.load(old_folder, device=device)
    new = Classifier.load(new_folder, device=device)
    if old.multi_label or new.multi_label:
        results = compare_categories(old, new, held_out_file)
        if old.multi_label != new.multi_label or set(old.labels) != set(new.labels):
            return results  # a suite's expected sets mean one thing only for one set of categories
    else:
        results = []
        for name, path in (("the original validation data", validation_file),
                           ("the held-out decisions", held_out_file)):
            if not path or not Path(path).is_file():
                continue
            before, after = evaluate_file(old, path), evaluate_file(new, path)
            results.append(Comparison(f"{name} ({Path(path).name})", before.result.n,
                                      {"accuracy": before.result.accuracy, "macro F1": before.result.macro_f1},
                                      {"accuracy": after.result.accuracy, "macro F1": after.result.macro_f1}))
    if test_suites is None:
        test_suites = _run_suites(Path(new_folder))
    for path in test_suites:
        results.append(_compare_on_suite(old, new, path))
    return results


def _run_suites(folder: Path) -> list[str]:
    """The test suites a model's training run named (none for a model from elsewhere)."""
    import json

    try:
        suites = json.loads((folder / TRAINING_CONFIG).read_text(encoding="utf-8")).get("test_suites") or []
    except (OSError, ValueError, AttributeError):
        return []
    return [path for path in suites if isinstance(path, str)]


def _compare_on_suite(old, new, path: str) -> Comparison:
    suite = read_suite(path, multi_label=new.multi_label)
    comparison = compare_results(run_suite(old, suite)[0], run_suite(new, suite)[0])
    before, after = comparison.old, comparison.new
    metrics_old = {"pass rate": before.overall.rate, **{f"pass rate: {row.name}": row.old.rate for row in comparison.rows}}
    metrics_new = {"pass rate": after.overall.rate, **{f"pass rate: {row.name}": row.new.rate for row in comparison.rows}}
    notes = [f"{suite.name}: {len(comparison.newly_failing)} cases newly fail, {len(comparison.newly_passing)} "
             "newly pass with the new model."]
    notes += [f"newly failing [{case.case.functionality}] {case.case.text!r}: now {case.predicted}"
              for _old, case in comparison.newly_failing[:10]]
    return Comparison(f"the test suite {suite.name}", len(suite.cases), metrics_old, metrics_new, notes)
