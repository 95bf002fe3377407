"""Previews and texts of a data file, for the training form's preview and the Review tab's import:
the same readers and the same text-column rule as training and batch labelling."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moderator_app.core.files.columns import guess_text_column, resolve_text_column
from moderator_app.core.files.formats import DataFileError, detect_format, is_index_column
from moderator_app.core.files.readers import describe_bad_rows, open_source

TABLE_ROW_LIMIT = 20_000  # files up to this size can be shown in the Review tab's table


@dataclass
class FilePreview:
    path: str
    columns: list[str]
    rows: list[list[str]]
    text_column: str | None  # the guess
    total_rows: int | None


def as_cell(value: Any) -> str:
    return "" if value is None else str(value)


def preview_file(path: str | Path, rows: int = 20) -> tuple[list[str], list[list[str]]]:
    """Column names (index columns left out) and the first `rows` rows as strings, read quickly
    without reading the whole file."""
    source = open_source(detect_format(path), rows)
    keep = [index for index, name in enumerate(source.columns) if not is_index_column(name)]
    first = source.first_rows(rows)
    return ([source.columns[index] for index in keep],
            [[as_cell(row[index]) if index < len(row) else "" for index in keep] for row in first])


def preview_for_import(path: str, rows: int = 20) -> FilePreview:
    """Job: the first rows, the columns with the text column guessed, and the number of rows."""
    columns, first_rows = preview_file(path, rows)
    source = open_source(detect_format(path))
    guess = guess_text_column(columns)
    return FilePreview(str(path), columns, first_rows, guess, source.count_rows())


def read_texts(path: str, column: str | None, limit: int = TABLE_ROW_LIMIT) -> list[str]:
    """Job: the texts of a file, for the results table. Refuses files of more than `limit` rows (they
    are for batch labelling)."""
    return read_rows(path, column, limit)[0]


def read_rows(path: str | Path, column: str | None, limit: int = TABLE_ROW_LIMIT
              ) -> tuple[list[str], list[list[str]], list[str]]:
    """(texts, the other columns' values per row, the other columns' names) of a file of at most `limit`
    rows: a longer file is refused (it is for batch labelling), and so is a file with rows that cannot
    be read (none is dropped silently)."""
    fmt = detect_format(path)
    source = open_source(fmt, 1024)
    position = resolve_text_column(source.columns, column or None, fmt.path)
    others = [index for index in range(len(source.columns)) if index != position]
    texts: list[str] = []
    extras: list[list[str]] = []
    for chunk in source.chunks():
        chunk_texts = [as_cell(value) for value in source.texts(chunk, position)]
        columns = [source.texts(chunk, index) for index in others]
        texts.extend(chunk_texts)
        extras.extend([as_cell(values[row]) for values in columns] for row in range(len(chunk_texts)))
        if len(texts) > limit:
            raise DataFileError(f"{path}: has more than {limit:,} rows, too many for the table.",
                                "Batch-label it to a file instead.")
    if source.bad_rows:
        raise DataFileError(f"{path}: {len(source.bad_rows):,} rows cannot be read: "
                            f"{describe_bad_rows(source.bad_rows)}.", "Fix them and try again.")
    return texts, extras, [str(source.columns[index]) for index in others]
