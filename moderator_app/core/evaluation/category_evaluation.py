"""Evaluating a multi-label model on a labelled file: each category's figures on the rows whose label for it
is known, read by the category rules a training source uses (core/evaluation/category_rules), at the
category's saved threshold. Without rules, a column named like a category is its yes/no column (the form
`label` writes and the Review tab's decisions export)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from moderator_app.core.evaluation.categories import UNKNOWN, per_category_metrics
from moderator_app.core.evaluation.category_rules import category_rules_problem, read_rule, rule_columns
from moderator_app.core.files.columns import find_column, resolve_text_column
from moderator_app.core.files.tables import read_table
from moderator_app.core.messages import data_error, settings_error

DROP_EMPTY = "empty text"
DROP_UNKNOWN = "no category known"
HINT = "Say how the file labels each category with {categories}."


@dataclass
class CategoryEvaluation:
    model: str
    path: str
    text_column: str
    rules: dict[str, Any]
    rows_read: int
    rows: int  # rows evaluated (a text, and at least one category known)
    thresholds: dict[str, float]
    categories: dict[str, dict[str, Any]]  # per category: core.evaluation.categories.category_metrics, by group
    group_column: str = ""
    dropped: dict[str, int] = field(default_factory=dict)
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def warning(self) -> str | None:
        warnings = [f"{name}: {entry['warning']}" for name, entry in self.categories.items() if entry.get("warning")]
        return " ".join(warnings) or None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "data": {"path": self.path, "text_column": self.text_column, "rules": self.rules,
                                              "rows_read": self.rows_read, "rows": self.rows, "dropped": self.dropped,
                                              "unknown_values": self.unmapped, "group_column": self.group_column},
                "thresholds": self.thresholds, "categories": self.categories, "warning": self.warning}


def parse_category_rules(value: str | dict | None, categories: list[str]) -> dict[str, Any] | None:
    """`--categories`: a JSON object {category: rule} or a file holding one; None when not given."""
    if value in (None, "", {}):
        return None
    if isinstance(value, str):
        text = value
        if not value.lstrip().startswith("{") and Path(value).expanduser().is_file():
            text = Path(value).expanduser().read_text(encoding="utf-8")
        try:
            value = json.loads(text)
        except ValueError:
            raise settings_error(f"The category rules {value!r} are neither a JSON object nor a file holding one.",
                                 HINT, setting="categories") from None
    problem = category_rules_problem(value)
    if problem:
        raise settings_error(f"The category rules: {problem}.", HINT, setting="categories")
    stray = [name for name in value if name not in categories]
    if stray:
        raise settings_error(f"The category rules name '{stray[0]}', which is not one of the model's categories "
                             f"({', '.join(categories)}).", HINT, setting="categories")
    return value


def evaluate_category_file(classifier, path: str | Path, *, rules: dict[str, Any] | None = None,
                           text_column: str = "", group_column: str = "", batch_size: int | None = None,
                           on_batch: Callable[[int], None] | None = None,
                           thresholds: dict[str, float] | None = None) -> CategoryEvaluation:
    """Evaluate a loaded multi-label `Classifier` on a labelled file, each category on its known rows, at
    the model's thresholds; `thresholds` (category → threshold, as the Review tab moved them) overrides
    those it names."""
    categories = list(classifier.labels)
    table = read_table(path)
    file = str(path)
    text = table.columns[resolve_text_column(table.columns, text_column.strip() or None, file)]
    if rules is None:  # the columns `label` writes and the decisions export: one yes/no column per category
        rules = {name: {"column": name} for name in categories if name in table.columns}
        if not rules:
            raise data_error(f"{file}: no column is named like a category of the model ({', '.join(categories)}).",
                             HINT)
    group = table.columns[find_column(table.columns, group_column, file, "by")] if group_column else ""
    needed = rule_columns(rules, table.columns, file, HINT)
    values = table.values([text, *needed, *([group] if group else [])], text=text)
    texts, columns = values[0], dict(zip(needed, values[1:1 + len(needed)]))
    groups = values[-1] if group else None
    if not texts:
        raise data_error(f"{file}: the file has a header but no rows.")
    unmapped: dict[str, Counter] = {name: Counter() for name in categories}
    targets = np.array([read_rule(rules[name], columns, name, file, unmapped[name]) if name in rules
                        else [UNKNOWN] * len(texts) for name in categories], dtype=int).T.reshape(len(texts), -1)
    empty = np.array([value is None or not str(value).strip() for value in texts], dtype=bool)
    unknown = (targets == UNKNOWN).all(axis=1) & ~empty
    keep = ~empty & ~unknown
    if not keep.any():
        raise data_error(f"{file}: no row has a text and a known category.", HINT)
    kept_texts = [str(value) for value, kept in zip(texts, keep) if kept]
    probabilities = classifier.predict_probabilities(kept_texts, batch_size, on_batch)
    thresholds = {**classifier.category_thresholds,
                  **{name: float(value) for name, value in (thresholds or {}).items() if name in categories}}
    metrics = per_category_metrics(targets[keep], probabilities, categories, [thresholds[name] for name in categories],
                                   groups=[value for value, kept in zip(groups, keep) if kept] if groups else None)
    dropped = {reason: int(count) for reason, count in ((DROP_EMPTY, empty.sum()), (DROP_UNKNOWN, unknown.sum()))
               if count}
    return CategoryEvaluation(classifier.name_or_path, file, text, rules, len(texts), int(keep.sum()), thresholds,
                              metrics, group, dropped, {name: dict(values) for name, values in unmapped.items() if values})
