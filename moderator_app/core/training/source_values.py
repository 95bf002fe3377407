"""What one training source's file holds, for the form's source editor: its columns, the text and
label columns chosen by the shared rule, and each label value (read as training reads it, before the
label map) with its number of rows — the rows of the label-map table."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

from moderator_app.core.evaluation.label_map import DEFAULT_SCORE_THRESHOLD, is_missing, label_reader
from moderator_app.core.files.tables import choose_columns, read_table


@dataclass
class SourceValues:
    path: str
    columns: list[str]
    text_column: str
    label_column: str
    label_kind: str  # "strings", "integers" or a 0–1 score
    value_counts: list[tuple[str, int]] = field(default_factory=list)  # most rows first
    missing: int = 0  # rows without a label


def source_values(path: str, text_column: str = "", label_column: str = "",
                  score_threshold: float = DEFAULT_SCORE_THRESHOLD) -> SourceValues:
    """Job: read `path` and count its label column's values (the columns asked for, else the guesses)."""
    table = read_table(path)
    text, label = choose_columns(table.columns, SimpleNamespace(text_column=text_column,
                                                                 label_column=label_column), path)
    (raw_labels,) = table.values([label])
    kind, read_value = label_reader(raw_labels, label, path, score_threshold)
    counts = Counter(read_value(value) for value in raw_labels if not is_missing(value))
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return SourceValues(path=str(path), columns=list(table.columns), text_column=text, label_column=label,
                        label_kind=kind, value_counts=ordered, missing=len(raw_labels) - sum(counts.values()))


def file_columns(path: str) -> list[str]:
    """Job: the columns of a file (a multi-label source's rules name them; no label column is guessed)."""
    return list(read_table(path).columns)
