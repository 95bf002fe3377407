"""Reading a labelled file to evaluate a model on: texts, the model's labels (through a label map),
an optional group column, and an account of every row left out and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from moderator_app.core.evaluation.label_map import (DEFAULT_SCORE_THRESHOLD, EXAMPLE_ROWS, LabelMap, is_missing,
                                                     map_labels)
from moderator_app.core.files.tables import guess_columns, read_table
from moderator_app.core.messages import data_error

EMPTY_TEXT = "empty text"
MISSING_GROUP = "(missing)"


@dataclass
class LabelledRows:
    """The rows kept (text, label, group) and what was left out: `dropped` counts rows per reason
    (`dropped_examples`: their first 1-based row numbers), `unknown_labels` rows per label value
    that is not one of the model's labels."""

    source: str
    text_column: str
    label_column: str
    label_kind: str
    rows_read: int
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    groups: list[str] | None = None
    group_column: str | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    dropped_examples: dict[str, list[int]] = field(default_factory=dict)
    unknown_labels: dict[str, int] = field(default_factory=dict)

    @property
    def rows_left_out(self) -> int:
        return sum(self.dropped.values()) + sum(self.unknown_labels.values())

    def describe(self) -> str:
        """What was read and left out, in one or two lines."""
        text = (f"{self.source}: {self.rows_read:,} rows read (text '{self.text_column}', label '{self.label_column}', "
                f"{self.label_kind}); {len(self.texts):,} evaluated")
        parts = [f"{reason} {count:,} (rows {', '.join(map(str, self.dropped_examples.get(reason, [])))}"
                 f"{', …' if count > EXAMPLE_ROWS else ''})" for reason, count in self.dropped.items()]
        if self.unknown_labels:
            values = ", ".join(f"'{value}' {count:,}" for value, count in self.unknown_labels.items())
            parts.append(f"labels the model does not have: {values}")
        return text + (f"; left out: {'; '.join(parts)}" if parts else "")

    def to_dict(self) -> dict[str, Any]:
        data = {key: value for key, value in self.__dict__.items() if key not in ("texts", "labels", "groups")}
        data["rows_evaluated"] = len(self.texts)
        return data


# a group column with more distinct values than this (or, past SMALL_GROUP_COUNT, than half the rows) is refused
MAX_GROUPS = 1_000
SMALL_GROUP_COUNT = 50


def read_labelled_rows(path: str | Path, known_labels: Sequence[str], text_column: str = "", label_column: str = "",
                       label_map: LabelMap | None = None, score_threshold: float = DEFAULT_SCORE_THRESHOLD,
                       group_column: str = "") -> LabelledRows:
    """Read `path` with the project's table reader; keep rows with a text and one of `known_labels`
    (after `label_map`). Columns are detected as for training unless named."""
    table = read_table(path)
    source = str(path)
    columns = list(table.column_names)
    guessed_text, guessed_label = guess_columns(columns)
    text_column = _column(columns, text_column, guessed_text, "text", "text_column", source)
    label_column = _column(columns, label_column, guessed_label, "label", "label_column", source)
    if text_column == label_column:
        raise data_error(f"{source}: the text and label columns are both '{text_column}'.",
                        "Choose two different columns with {text_column} and {label_column}.", setting="label_column")
    if group_column:
        group_column = _column(columns, group_column, None, "groups", "by", source)
    raw_texts, raw_labels = table[text_column], table[label_column]
    if not raw_texts:
        raise data_error(f"{source}: the file has no rows.")
    with_text = [index for index, text in enumerate(raw_texts) if not is_missing(text) and str(text).strip()]
    empty = [index + 1 for index in sorted(set(range(len(raw_texts))) - set(with_text))]
    if not with_text:
        raise data_error(f"{source}: every text in column '{text_column}' is empty.",
                        "Choose the column that holds the texts with {text_column}.", setting="text_column")
    mapped = map_labels([raw_labels[index] for index in with_text], label_map or LabelMap(), known_labels, source,
                        label_column, score_threshold, row_numbers=[index + 1 for index in with_text])
    rows = LabelledRows(source, text_column, label_column, mapped.kind, len(raw_texts),
                        groups=[] if group_column else None, group_column=group_column or None,
                        unknown_labels=dict(mapped.unknown.most_common()))
    if empty:
        rows.dropped[EMPTY_TEXT], rows.dropped_examples[EMPTY_TEXT] = len(empty), empty[:EXAMPLE_ROWS]
    rows.dropped.update(mapped.dropped)
    rows.dropped_examples.update(mapped.examples)
    raw_groups = table[group_column] if group_column else None
    for index, label in zip(with_text, mapped.labels):
        if label is None:  # missing, mapped to null or not one of the model's labels: counted above
            continue
        rows.texts.append(str(raw_texts[index]))
        rows.labels.append(label)
        if raw_groups is not None:
            group = raw_groups[index]
            rows.groups.append(MISSING_GROUP if is_missing(group) or not str(group).strip() else str(group).strip())
    if not rows.texts:
        raise data_error(f"{source}: no row is left to evaluate ({rows.describe()}).")
    if rows.groups is not None:
        check_groups(rows.groups, source, group_column)
    return rows


def check_groups(groups: Sequence[str], source: str, column: str) -> None:
    """Refuse a group column that cannot mean groups, before the model runs: one that is empty in every
    row (one "(missing)" group would say nothing), or one with so many distinct values — more than
    MAX_GROUPS, or more than half the rows once past SMALL_GROUP_COUNT — that it is an id or the text,
    whose per-group table would take minutes and say nothing either."""
    distinct = len(set(groups))
    if distinct == 1 and groups[0] == MISSING_GROUP:
        raise data_error(f"{source}: the group column '{column}' is empty in every row evaluated.",
                        "Choose a column that holds groups with {by}, or leave it out.", setting="by")
    if distinct > MAX_GROUPS or (distinct > SMALL_GROUP_COUNT and distinct > len(groups) / 2):
        raise data_error(f"{source}: the group column '{column}' has {distinct:,} distinct values in "
                        f"{len(groups):,} rows; per-group metrics need groups of many rows (a source, a target "
                        "group), not an id or a text.", "Choose another column with {by}, or leave it out.",
                        setting="by")


def _column(columns: list[str], wanted: str, guessed: str | None, role: str, setting: str, source: str) -> str:
    listing = ", ".join(f"'{column}'" for column in columns)
    name = (wanted or "").strip() or guessed
    if not name:
        raise data_error(f"{source}: cannot tell which column holds the {role} (columns: {listing}).",
                        "Choose one with {" + setting + "}.", setting=setting)
    if name not in columns:
        raise data_error(f"{source}: no column '{name}'; the file has {listing}.",
                        "Choose one with {" + setting + "}.", setting=setting)
    return name
