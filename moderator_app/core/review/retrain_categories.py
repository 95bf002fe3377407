"""Retraining a multi-label model from the moderators' sets of categories, and comparing the old and
the new model per category.

`plan_multi_label` keeps the run's sources (each read with its own category rules, as before) and adds
the decisions as one more source, `<output>.decisions.csv`: text and one yes/no column per category of
the model (core.review.export.category_values; blank where the decision's model did not have the
category, so the run masks it out), read with `{"column": <category>}` rules. A seeded share is held
out (`<output>.heldout.csv`, the same columns) for the comparison. Decisions of single-label models in
the queue cannot say anything about categories: they are counted in the report, not used.

`compare_categories` measures both models on the held-out decisions: per category precision, recall
and F1 (core.review.category_figures) of each model's own flags, at its own thresholds."""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path

from moderator_app.core.errors import DataError
from moderator_app.core.review.category_figures import category_figures
from moderator_app.core.review.export import category_values, write_csv_atomically
from moderator_app.core.review.retrain_plan import (MIN_DECISIONS, Comparison, RetrainPlan, check_original_files,
                                                   split_held_out)


def plan_multi_label(original, folder: Path, output: Path, queue: str | None, decisions: list) -> RetrainPlan:
    """The run retraining the multi-label model of `folder` (its training config `original`) on its
    sources plus the current `decisions` of `queue` (None: all)."""
    categories = list(original.categories)
    usable = [decision for decision in decisions if decision.multi_label and set(decision.categories) & set(categories)]
    where = f" in the queue {queue!r}" if queue else ""
    if len(usable) < MIN_DECISIONS:
        raise DataError(f"There are {len(usable)} decisions{where} with this model's categories; retraining needs at "
                        f"least {MIN_DECISIONS}.", "Decide some items first.")
    if "text" in categories:
        raise DataError("The model has a category called 'text', the name of the decisions file's text column.",
                        "Rename the category and train again.")
    check_original_files(original)
    trained, held_out = split_held_out(usable)
    header = ["text", *categories]
    decisions_file = output.with_name(output.name + ".decisions.csv")
    held_out_file = output.with_name(output.name + ".heldout.csv") if held_out else None
    write_csv_atomically(decisions_file, header, ([d.text, *category_values(d, categories)] for d in trained))
    if held_out_file is not None:
        write_csv_atomically(held_out_file, header, ([d.text, *category_values(d, categories)] for d in held_out))
    source = {"path": str(decisions_file), "text_column": "text",
              "categories": {name: {"column": name} for name in categories}}
    config = replace(original, sources=[*(dict(entry) for entry in original.sources), source],
                     output_dir=str(output))
    report = [f"{len(original.sources) + bool(original.train_file):,} original training sources, read as before.",
              f"{len(usable):,} decisions{where} with this model's categories: {len(trained):,} trained on as one "
              f"more source ({decisions_file.name}, a yes/no column per category: "
              f"{', '.join(categories)}), {len(held_out):,} held out for the comparison"
              + (f" ({held_out_file.name})." if held_out_file else " (too few decisions to hold any out).")]
    if len(decisions) > len(usable):
        report.append(f"{len(decisions) - len(usable):,} decisions{where} are of models without these categories "
                      "(one label each): not used.")
    report.append("A text both in an original source and decided is trained with both; the decision does not "
                  f"replace the source's row. The model goes to {output}.")
    return RetrainPlan(config, str(folder), decisions_file, held_out_file, decisions_file, report)


def read_category_file(path: str | Path) -> tuple[list[str], list[str], list[tuple[set, list]]]:
    """A held-out decisions file this module wrote: (texts, categories, per row (the categories that
    apply, the categories known: yes or no))."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    categories = rows[0][1:]
    texts, truth = [], []
    for row in rows[1:]:
        values = dict(zip(categories, row[1:]))
        texts.append(row[0])
        truth.append(({name for name, value in values.items() if value == "yes"},
                      [name for name, value in values.items() if value in ("yes", "no")]))
    return texts, categories, truth


def compare_categories(old, new, held_out_file: str | Path | None) -> list[Comparison]:
    """Per-category precision, recall and F1 of the old and the new multi-label model on the held-out
    decisions (none: nothing to compare on)."""
    if not held_out_file or not Path(held_out_file).is_file():
        return []
    texts, categories, truth = read_category_file(held_out_file)
    measured = []
    for model in (old, new):
        flagged = model.decide_categories(model.predict_probabilities(texts))
        figures = category_figures(categories, ((chosen, tuple(flags), known)
                                                for (chosen, known), flags in zip(truth, flagged)))
        metrics = {}
        for figure in figures:
            for name in ("precision", "recall", "f1"):
                value = getattr(figure, name)
                metrics[f"{'F1' if name == 'f1' else name}: {figure.category}"] = math.nan if value is None else value
        measured.append(metrics)
    return [Comparison(f"the held-out decisions ({Path(held_out_file).name})", len(texts), *measured,
                       notes=["Per category, each model at its own thresholds; the moderators' sets are the truth."])]
