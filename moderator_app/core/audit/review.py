"""What a moderator does with the audit's suspects: review them as a queue in the Review tab, and use
the corrections.

`suspects_queue_items` turns the suspects into a review queue's items, the most suspicious first,
with the given label, the suggested one, the score, the source, the split and the row as extra
columns, then the file's own other columns. The moderator keeps or corrects each in the Review tab;
those decisions are rows of the decision log like any other, and a later run takes them as label
corrections (`TrainingConfig.corrections_queue`, core/training/corrections), or
`write_corrected_copy` writes a copy of the training file with the corrected labels. Nothing is ever
dropped here: leaving a row out is the moderator's edit of the file.

A multi-label run's audit gives one item per suspect row (a row may be suspect for several categories): the
categories it is suspect for, its values as given ("hate yes, offensive ?"), the suggested ones, the highest
score. Decided with a multi-label model loaded, each decision is the set of categories that apply, which the
next run takes as the row's yes / no per category (core/training/corrections.apply_category_corrections). The
corrected copy stays single-label: a multi-label run's rows have no one label column to write back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moderator_app.core.audit.audit import COPY_REFUSED, check_single_label
from moderator_app.core.errors import DataError, OutputNotWritableError
from moderator_app.core.files.atomic import atomic_output
from moderator_app.core.files.formats import detect_format
from moderator_app.core.files.readers import open_source
from moderator_app.core.files.tables import read_table
from moderator_app.core.files.writers import CsvSink, JsonLinesSink
from moderator_app.core.review.queues import QueueItems, QueueState
from moderator_app.core.review.session import SORT_ITEM

AUDIT_COLUMNS = ("given label", "suggested label", "suspect score", "source", "split", "file row")
CATEGORY_AUDIT_COLUMNS = ("suspect categories", "given values", "suggested values", "suspect score", "source", "split",
                          "file row")


def suspects_queue_items(result, limit: int | None = None):
    """core.review.queues.QueueItems of the suspects, in score order (highest first): one item per suspect,
    or per suspect row in a multi-label run's audit."""
    rows = result.rows
    suspects = sorted(result.suspects, key=lambda item: -item.score)
    if rows.categories:
        return _category_items(result, suspects, limit)
    suspects = suspects[:limit]
    other, extra_names = _other_columns(rows, suspects, AUDIT_COLUMNS)
    texts, extras = [], []
    for item in suspects:
        texts.append(rows.texts[item.row])
        extras.append([item.given, item.suggested, f"{item.score:.3f}", rows.source_names[rows.sources[item.row]],
                       rows.splits[item.row], str(rows.origins[item.row][1]),
                       *_other_values(other, extra_names, rows, item.row)])
    return QueueItems(texts, extras, [*AUDIT_COLUMNS, *extra_names])


def _category_items(result, suspects, limit: int | None):
    """A multi-label audit's suspects, one item per row (its highest score first)."""
    rows = result.rows
    by_row: dict[int, list] = {}
    for item in suspects:  # highest score first, so a row's first suspect holds its highest score
        by_row.setdefault(item.row, []).append(item)
    chosen = list(by_row.items())[:limit]
    firsts = [items[0] for _row, items in chosen]
    other, extra_names = _other_columns(rows, firsts, CATEGORY_AUDIT_COLUMNS)
    texts, extras = [], []
    for row, items in chosen:
        texts.append(rows.texts[row])
        extras.append([", ".join(item.category for item in items), rows.label_text(row),
                       ", ".join(f"{item.category} {item.suggested}" for item in items), f"{items[0].score:.3f}",
                       rows.source_names[rows.sources[row]], rows.splits[row], str(rows.origins[row][1]),
                       *_other_values(other, extra_names, rows, row)])
    return QueueItems(texts, extras, [*CATEGORY_AUDIT_COLUMNS, *extra_names])


def _other_columns(rows, suspects, audit_columns):
    """({origin file: (its other columns, their values)}, the extra column names in order) of the files the
    suspects come from."""
    other: dict[int, tuple[list[str], list[list[Any]]]] = {}  # origin file -> (its other columns, their values)
    for file_index, path in enumerate(rows.origin_files):
        if not any(rows.origins[item.row][0] == file_index for item in suspects):
            continue
        table = read_table(path)
        text_column = _text_column(rows, path)
        names = [name for name in table.columns if name != text_column]
        other[file_index] = (names, table.values(names) if names else [])
    extra_names: list[str] = []
    for names, _values in other.values():
        extra_names += [name for name in names if name not in extra_names and name not in audit_columns]
    return other, extra_names


def _other_values(other, extra_names: list[str], rows, row: int) -> list[str]:
    """The row's values in its file's other columns, in `extra_names` order ("" where its file has none)."""
    file_index, file_row = rows.origins[row]
    names, values = other.get(file_index, ([], []))
    by_name = {name: _cell(column[file_row - 1]) for name, column in zip(names, values)}
    return [by_name.get(name, "") for name in extra_names]


def open_suspects_queue(store, result, name: str = "", limit: int | None = None):
    """A new queue in the decision store holding the suspects; returns core.review.queues.Queue."""
    items = suspects_queue_items(result, limit)
    if not items.texts:
        raise DataError("The audit found no likely label errors, so there is nothing to review.")
    sources = ", ".join(result.rows.source_names)
    # file order is the suspects' order, the most suspicious first
    shown = CATEGORY_AUDIT_COLUMNS if result.rows.categories else AUDIT_COLUMNS
    return store.queues.create(name or f"Audit suspects: {sources}", items.texts, items.columns, items.extras,
                               f"audit of {sources}", QueueState(sort_key=SORT_ITEM, shown_columns=list(shown)))


def _text_column(rows, path: str) -> str:
    report = rows.data_report
    if report is None:
        return ""
    for source in report.sources or []:
        if path in (source.get("path"), source.get("validation_path")):
            return source["text_column"]
    return report.text_column


def _cell(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


# ------------------------------------------------------------------------------------------------
def write_corrected_copy(result, corrections: dict[str, str], output: str | Path) -> dict[str, Any]:
    """A copy of the training file (the first source) with each corrected row's label replaced by the
    moderator's, every other row and column as it is; written to a temporary name and claimed as
    `output`, which must not exist (never the original, never a file someone else wrote)."""
    check_single_label(result.rows.categories, COPY_REFUSED)
    rows, report = result.rows, result.rows.data_report
    source = rows.origin_files[0]
    target = Path(output).expanduser()
    if target.exists() or target.resolve() == Path(source).resolve():
        raise OutputNotWritableError(f"{target} exists already; the corrected copy is written only to a new file, "
                                     "never over the original or another file.", "Choose a new name for {write_corrected}.",
                                     setting="write_corrected")
    entries = report.sources if report is not None and report.sources else []
    if entries and entries[0]["label_map"] != "labels as they are":
        raise DataError(f"{source} is read through a label map, so its own values cannot be written back as the "
                        "run's labels.", "Train with the corrections as an override ({corrections_queue}) instead.",
                        setting="corrections_queue")
    label_column = entries[0]["label_column"] if entries else report.label_column
    fmt = detect_format(Path(source))
    if fmt.kind not in ("csv", "json"):
        raise DataError(f"{source}: a corrected copy is written for CSV, TSV and JSON Lines files.",
                        "Convert the file, or train with the corrections as an override ({corrections_queue}).",
                        setting="corrections_queue")
    by_row: dict[int, str] = {}
    confirmed = 0
    for row, text in enumerate(rows.texts):
        file_index, file_row = rows.origins[row]
        label = corrections.get(text)
        if file_index != 0 or label is None or label not in rows.label_names:
            continue
        if label == rows.label_names[rows.label_ids[row]]:
            confirmed += 1
        else:
            by_row[file_row - 1] = label
    reader = open_source(fmt)
    position = reader.columns.index(label_column)
    with atomic_output(target) as temporary:
        sink = (CsvSink if fmt.kind == "csv" else JsonLinesSink)(temporary, fmt, list(reader.columns), False)
        try:
            start = 0
            for chunk in reader.chunks():
                size = len(chunk)
                for index in (index for index in range(start, start + size) if index in by_row):
                    if fmt.kind == "csv":
                        chunk.iat[index - start, position] = by_row[index]
                    else:
                        chunk[index - start][label_column] = by_row[index]
                sink.write(chunk, {})
                start += size
        finally:
            sink.close()
    return dict(path=str(target), source=source, relabelled=len(by_row), confirmed=confirmed,
                rows=start)
