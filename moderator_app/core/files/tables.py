"""A labelled data file (or a hub dataset id) as a table of columns read on demand, and the choice
of its text and label columns by the shared rule of `core/files/columns`: what training, evaluation,
the source editor and the audit all read a data file with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moderator_app.core.files.columns import guess_label_column, guess_text_column, resolve_column
from moderator_app.core.files.formats import DataFileError, detect_format, is_index_column
from moderator_app.core.files.readers import describe_bad_rows, first_line, open_source
from moderator_app.core.hub import hub_reachable, is_offline_mode, looks_like_hub_id

DataError = DataFileError


@dataclass
class Table:
    """A data file's columns (index columns left out) and their values, read on demand by the shared
    readers. `column_names` and `table[name]` read as a `datasets.Dataset` does."""
    source: str
    columns: list[str]
    _read: Any  # callable(positions, text_positions) -> list of value lists

    @property
    def column_names(self) -> list[str]:
        return self.columns

    def values(self, names: list[str], text: str | None = None) -> list[list[Any]]:
        """The values of `names`, in one pass; the column `text` is read as texts (numbers, lists and
        objects in it are refused)."""
        positions = [self.columns.index(name) for name in names]
        return self._read(positions, {self.columns.index(text)} if text is not None else set())

    def __getitem__(self, name: str) -> list[Any]:
        return self.values([name])[0]


def read_table(source: str | Path) -> Table:
    """A file (read by the shared readers) or a hub dataset id, as a `Table`."""
    path = Path(source).expanduser()
    if not path.exists() and looks_like_hub_id(str(source)):
        dataset = _read_hub_dataset(str(source))
        return Table(str(source), list(dataset.column_names),
                     lambda positions, _: [dataset[dataset.column_names[p]] for p in positions])
    fmt = detect_format(path)
    reader = open_source(fmt)
    kept = [index for index, name in enumerate(reader.columns) if not is_index_column(name)]

    def read(positions: list[int], text_positions: set[int]) -> list[list[Any]]:
        columns: list[list[Any]] = [[] for _ in positions]
        readers = [(kept[position], reader.texts if position in text_positions else reader.values)
                   for position in positions]
        for chunk in reader.chunks():
            for values, (file_position, read_column) in zip(columns, readers):
                values.extend(read_column(chunk, file_position))
        if reader.bad_rows:
            raise DataError(f"{path}: {len(reader.bad_rows):,} rows cannot be read: "
                            f"{describe_bad_rows(reader.bad_rows)}.", "Fix them and try again.")
        return columns

    return Table(str(path), [reader.columns[index] for index in kept], read)


def guess_columns(columns: list[str]) -> tuple[str | None, str | None]:
    """(text column, label column) guessed by the one rule of `core/files/columns`."""
    return guess_text_column(columns), guess_label_column(columns)


def _read_hub_dataset(name: str):
    import datasets  # only for a hub dataset id: `datasets` takes seconds to import

    if is_offline_mode() or not hub_reachable():
        raise DataError(f"{name}: no such file, and the Hugging Face hub cannot be reached to load it as a "
                        "dataset id.", "Choose a local CSV, TSV, JSON Lines or Parquet file with {train_file}.",
                        setting="train_file")
    datasets.disable_progress_bars()
    try:
        return datasets.load_dataset(name, split="train")
    except Exception as error:
        raise DataError(f"{name}: cannot load this hub dataset: {first_line(error)}") from None


def choose_columns(columns: list[str], config, source: str,
                   fallback: tuple[str, str] | None = None) -> tuple[str, str]:
    """The text and label columns by the shared rule (`core/files/columns`): the ones `config` asks for
    (its `text_column` and `label_column`), else the guess; a validation file falls back to the training
    file's names when it has them."""
    chosen = []
    for role, wanted, fallback_name in (("text", config.text_column, fallback[0] if fallback else None),
                                        ("label", config.label_column, fallback[1] if fallback else None)):
        if not wanted.strip() and fallback_name in columns:
            wanted = fallback_name
        chosen.append(columns[resolve_column(columns, wanted.strip() or None, source, role)])
    if chosen[0] == chosen[1]:
        raise DataError(f"{source}: the text and label columns are both '{chosen[0]}'.",
                        "Choose two different columns with {text_column} and {label_column}.")
    return chosen[0], chosen[1]
