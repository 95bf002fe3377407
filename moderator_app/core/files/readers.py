"""Reading data files chunk by chunk, for training, batch labelling and the Review import alike.

Every reader is a *source* with the same shape: `columns` (verbatim names, in file order), `chunks()`
(pieces of at most `chunk_rows` rows), `texts(chunk, position)` (the text column's values, strings or
None), `values(chunk, position)` (any column's raw values), `count_rows()` and `bad_rows` (rows the
CSV parser could not read, with their line numbers). Memory stays bounded by one chunk.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from moderator_app.core.files.formats import LINES_COLUMN, DataFileError, FileFormat

CHUNK_ROWS = 4096
_BAD_LINE_WARNING = re.compile(r"Skipping line (\d+): ([^\n]*)")
# Python's csv module refuses fields longer than 128 KiB by default; pandas reads them, so must the check.
csv.field_size_limit(min(sys.maxsize, (1 << 31) - 1))


@dataclass(frozen=True)
class BadRow:
    line: int  # 1-based, the header being line 1 (a quoted line break does not count as a new line)
    reason: str


def describe_bad_rows(bad_rows: list[BadRow], shown: int = 10) -> str:
    text = "; ".join(f"line {row.line} ({row.reason})" for row in bad_rows[:shown])
    return text + (f"; and {len(bad_rows) - shown:,} more" if len(bad_rows) > shown else "")


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def describe_value(value: Any) -> str:
    kind = {dict: "an object", list: "a list", bool: "true/false", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__)
    shown = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else repr(value)
    return f"{kind} ({shown[:40]}{'…' if len(shown) > 40 else ''})"


def _not_text(path: Path, column: str, where: str, value: Any) -> DataFileError:
    return DataFileError(f"{path}: the column {column!r} holds {describe_value(value)}{where}, not text.",
                         "Choose the column that holds the texts with {text_column}.", setting="text_column")


# ------------------------------------------------------------------------------------ sources
class CsvSource:
    """CSV/TSV read with pandas in chunks, every cell kept as the exact text of the file.

    Before the first chunk the whole file is checked with Python's csv module in strict mode: a
    quote left open makes pandas swallow the following records into one field silently (19 rows
    read from 20 records); strict parsing stops at the stray closing quote instead."""

    def __init__(self, fmt: FileFormat, chunk_rows: int = CHUNK_ROWS):
        import pandas as pd

        self.fmt, self.chunk_rows, self.bad_rows = fmt, chunk_rows, []
        self.options = dict(fmt.pandas_csv_options(), index_col=False)
        self._record_count: int | None = None
        try:
            # Read the header as data so that its names stay verbatim: pandas would rename an
            # empty name to "Unnamed: 0" and a repeated one to "name.1".
            header = pd.read_csv(fmt.path, header=None, nrows=1, **fmt.pandas_csv_options())
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise DataFileError(f"{fmt.path}: cannot read the header line: {first_line(error)}") from None
        self.columns: list[str] = [str(name) for name in header.iloc[0].tolist()]

    def count_rows(self) -> int:
        """Records after the header, counted by the strict check (which raises on a quote left open)."""
        if self._record_count is None:
            self._record_count = self._check_quotes()
        return self._record_count

    def _check_quotes(self) -> int:
        records = 0
        try:
            with open(self.fmt.path, encoding=self.fmt.encoding, newline="") as handle:
                reader = csv.reader(handle, delimiter=self.fmt.delimiter, strict=True)
                started = 1
                try:
                    for row in reader:
                        records += bool(row)
                        started = reader.line_num + 1
                except csv.Error as error:
                    where = (f"line {started}" if reader.line_num == started
                             else f"lines {started} to {reader.line_num}")
                    raise DataFileError(
                        f"{self.fmt.path}, {where}: a quoted field does not end where it should ({error}); "
                        "a quote left open there would merge several rows into one.",
                        'Close the quote, or double a quote that is part of the text (""), and try again.') from None
        except UnicodeDecodeError as error:
            raise self._decode_error(error) from None
        return max(0, records - 1)

    def chunks(self) -> Iterator[Any]:
        import pandas as pd

        self.count_rows()
        reader = self._parse(lambda: pd.read_csv(self.fmt.path, chunksize=self.chunk_rows, on_bad_lines="warn",
                                                 **self.options))
        with reader:
            while True:
                # The C parser reports rows with too many fields only as warnings; collect their line numbers.
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", pd.errors.ParserWarning)
                    chunk = self._parse(lambda: next(reader, None))
                for warning in caught:
                    for line, reason in _BAD_LINE_WARNING.findall(str(warning.message)):
                        self.bad_rows.append(BadRow(int(line), reason.strip()))
                if chunk is None:
                    return
                chunk.columns = self.columns
                yield chunk

    def first_rows(self, rows: int) -> list[list[Any]]:
        """The first `rows` records, without reading (or checking) the rest of the file."""
        import pandas as pd

        frame = self._parse(lambda: pd.read_csv(self.fmt.path, nrows=rows, on_bad_lines="skip", **self.options))
        return [list(row) for row in frame.itertuples(index=False)]

    def _parse(self, parse: Callable[[], Any]) -> Any:
        """Run a pandas parsing step, turning its errors into a sentence for the user."""
        import pandas as pd

        try:
            return parse()
        except pd.errors.ParserError as error:
            raise DataFileError(f"{self.fmt.path}: not readable as CSV: {first_line(error)}. "
                                "Is a quote left open? Fix the file and try again.") from None
        except UnicodeDecodeError as error:
            raise self._decode_error(error) from None

    def _decode_error(self, error: UnicodeDecodeError) -> DataFileError:
        return DataFileError(f"{self.fmt.path}: not readable as {self.fmt.encoding} text at byte {error.start}.",
                             "Save it as UTF-8 and try again.")

    @staticmethod
    def values(chunk, position: int) -> list:
        return chunk.iloc[:, position].tolist()

    texts = values


class LinesSource(CsvSource):
    """A .txt file: one item per line, no header, every character text (commas included). Lines that
    hold only spaces are not items; they are counted in `blank_lines` so that summaries can say so.
    Chunks are one-column data frames, so that labelling writes them as CSV."""

    def __init__(self, fmt: FileFormat, chunk_rows: int = CHUNK_ROWS):
        self.fmt, self.chunk_rows, self.bad_rows = fmt, chunk_rows, []
        self.columns = [LINES_COLUMN]
        self.blank_lines = 0
        self._record_count = None

    def _lines(self) -> Iterator[str]:
        try:
            with open(self.fmt.path, encoding=self.fmt.encoding, newline=None) as handle:
                for line in handle:
                    yield line.rstrip("\n")
        except UnicodeDecodeError as error:
            raise self._decode_error(error) from None

    def count_rows(self) -> int:
        if self._record_count is None:
            self._record_count = sum(1 for line in self._lines() if line.strip())
        return self._record_count

    def chunks(self) -> Iterator[Any]:
        import pandas as pd

        self.blank_lines = 0
        items: list[str] = []
        for line in self._lines():
            if not line.strip():
                self.blank_lines += 1
                continue
            items.append(line)
            if len(items) == self.chunk_rows:
                yield pd.DataFrame({LINES_COLUMN: items}, dtype=object)
                items = []
        if items:
            yield pd.DataFrame({LINES_COLUMN: items}, dtype=object)

    def first_rows(self, rows: int) -> list[list[Any]]:
        found = []
        for line in self._lines():
            if line.strip():
                found.append([line])
                if len(found) == rows:
                    break
        return found


class JsonLinesSource:
    """JSON Lines read with the json module, one record at a time: pandas would turn integer
    fields with gaps into floats and reformat values on the way back out. The columns are those of
    all records (in order of first appearance), not just the first one's."""

    def __init__(self, fmt: FileFormat, chunk_rows: int = CHUNK_ROWS):
        self.fmt, self.chunk_rows, self.bad_rows = fmt, chunk_rows, []
        columns: dict[str, None] = {}
        self._record_count = 0
        try:
            with open(fmt.path, encoding=fmt.encoding) as handle:
                for line in handle:
                    if not line.strip():
                        continue
                    if not columns and not self._record_count and line.lstrip().startswith("["):
                        raise DataFileError(f"{fmt.path}: is one JSON array; JSON Lines means one object per line.",
                                            "Convert it, e.g. with `jq -c '.[]'`, and try again.")
                    self._record_count += 1
                    try:
                        record = json.loads(line)
                    except (ValueError, RecursionError):
                        continue  # listed as a bad row by chunks()
                    if isinstance(record, dict):
                        columns.update(dict.fromkeys(record))
        except UnicodeDecodeError as error:
            raise DataFileError(f"{fmt.path}: not readable as {fmt.encoding} text at byte {error.start}.",
                                "Save it as UTF-8 and try again.") from None
        self.columns: list[str] = list(columns)

    def count_rows(self) -> int:
        return self._record_count

    def chunks(self) -> Iterator[list[dict]]:
        chunk: list[dict] = []
        self.bad_rows = []
        with open(self.fmt.path, encoding=self.fmt.encoding) as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as error:
                    self.bad_rows.append(BadRow(line_number, f"invalid JSON: {getattr(error, 'msg', error)}"))
                    continue
                except RecursionError:
                    self.bad_rows.append(BadRow(line_number, "JSON nested too deeply to read"))
                    continue
                if not isinstance(record, dict):
                    self.bad_rows.append(BadRow(line_number, "not a JSON object"))
                    continue
                chunk.append(record)
                if len(chunk) == self.chunk_rows:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk

    def first_rows(self, rows: int) -> list[list[Any]]:
        found = []
        for chunk in self.chunks():
            found.extend([record.get(name) for name in self.columns] for record in chunk)
            if len(found) >= rows:
                break
        return found[:rows]

    def values(self, chunk: list[dict], position: int) -> list:
        name = self.columns[position]
        return [record.get(name) for record in chunk]

    def texts(self, chunk: list[dict], position: int) -> list:
        values = self.values(chunk, position)
        for index, value in enumerate(values):
            if value is not None and not isinstance(value, str):
                raise _not_text(self.fmt.path, self.columns[position], "", value)
        return values


class ParquetSource:
    """Parquet read with pyarrow, one record batch at a time; types are kept as they are."""

    def __init__(self, fmt: FileFormat, chunk_rows: int = CHUNK_ROWS):
        import pyarrow.parquet as pq

        self.fmt, self.chunk_rows, self.bad_rows = fmt, chunk_rows, []
        try:
            self.file = pq.ParquetFile(fmt.path)
        except Exception as error:  # pyarrow raises several types for a damaged file
            raise DataFileError(f"{fmt.path}: not a readable Parquet file: {first_line(error)}") from None
        self.schema = self.file.schema_arrow
        self.columns: list[str] = list(self.schema.names)

    def count_rows(self) -> int:
        return self.file.metadata.num_rows

    def chunks(self) -> Iterator[Any]:
        try:
            yield from self.file.iter_batches(batch_size=self.chunk_rows)
        except OSError as error:  # a damaged page
            raise DataFileError(f"{self.fmt.path}: not a readable Parquet file: {first_line(error)}") from None

    def first_rows(self, rows: int) -> list[list[Any]]:
        batch = next(self.file.iter_batches(batch_size=rows), None)
        return [] if batch is None else [list(row.values()) for row in batch.to_pylist()]

    @staticmethod
    def values(batch, position: int) -> list:
        return batch.column(position).to_pylist()

    def texts(self, batch, position: int) -> list:
        import pyarrow as pa

        column_type = self.schema.field(position).type
        value_type = column_type.value_type if pa.types.is_dictionary(column_type) else column_type  # categoricals
        if not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type) or pa.types.is_null(value_type)
                or getattr(pa.types, "is_string_view", lambda _: False)(value_type)):
            example = next((value for value in batch.column(position).to_pylist() if value is not None), None)
            raise _not_text(self.fmt.path, self.columns[position], f" (type {column_type})", example)
        return batch.column(position).to_pylist()


SOURCES = {"csv": CsvSource, "lines": LinesSource, "json": JsonLinesSource, "parquet": ParquetSource}


def open_source(fmt: FileFormat, chunk_rows: int = CHUNK_ROWS):
    return SOURCES[fmt.kind](fmt, chunk_rows)


def is_missing(value: Any) -> bool:
    """A cell with no value: None, NaN (pandas, pyarrow) or only whitespace."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()
