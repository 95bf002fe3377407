"""Writing labelled tables in the input's own format: the input's columns as they were, plus the
columns labelling adds. Each sink has `write(chunk, added)` and `close()`."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from moderator_app.core.files.formats import LINES_COLUMN, FileFormat, detect_format
from moderator_app.core.files.readers import LinesSource

# Spreadsheet programs run a cell starting with these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class Cancelled(Exception):
    """should_cancel() asked to stop; nothing was written."""


def neutralise_formula(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value


class CsvSink:
    """Writes chunks with pandas in the input's delimiter, encoding (byte-order mark included)
    and line ending; numbers the model adds get six decimals. A .txt input ("lines") is written as
    UTF-8 CSV with one `text` column."""

    def __init__(self, path: Path, fmt: FileFormat, columns: list[str], excel_safe: bool):
        with open(fmt.path, "rb") as handle:
            start = handle.read(1 << 16)
        encoding = fmt.encoding
        if encoding == "utf-8-sig" and not start.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8"  # detect_format reads UTF-8 with or without a BOM; write what we found
        self.line_terminator = "\r\n" if b"\r\n" in start else "\n"
        if fmt.kind == "lines":  # a new CSV, not a copy of the input's conventions
            encoding, self.line_terminator = "utf-8", "\n"
        self.delimiter = fmt.delimiter if fmt.kind == "csv" else ","
        self.handle = open(path, "w", encoding=encoding, newline="")
        self.excel_safe = excel_safe
        self.columns = [neutralise_formula(name) for name in columns] if excel_safe else list(columns)
        self.header_written = False

    def write(self, chunk, added: dict[str, Any]) -> None:
        import pandas as pd

        frame = pd.concat([chunk, pd.DataFrame(added, index=chunk.index)], axis=1)
        if self.excel_safe:
            frame = frame.map(neutralise_formula)
        frame.columns = self.columns
        self._write(frame)

    def _write(self, frame) -> None:
        frame.to_csv(self.handle, header=not self.header_written, index=False, sep=self.delimiter,
                     lineterminator=self.line_terminator, float_format="%.6f")
        self.header_written = True

    def close(self) -> None:
        if not self.header_written:  # a file with a header and no rows still gets its header
            import pandas as pd

            self._write(pd.DataFrame(columns=self.columns))
        self.handle.close()


class JsonLinesSink:
    def __init__(self, path: Path, fmt: FileFormat, columns: list[str], excel_safe: bool):
        self.handle = open(path, "w", encoding="utf-8", newline="\n")

    def write(self, chunk: list[dict], added: dict[str, Any]) -> None:
        names = list(added)
        columns = [added[name].tolist() if isinstance(added[name], np.ndarray) else added[name] for name in names]
        for record, values in zip(chunk, zip(*columns)):
            record.update((name, None if isinstance(value, float) and value != value else value)
                          for name, value in zip(names, values))
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.handle.close()


class ParquetSink:
    def __init__(self, path: Path, schema, added_names: list[str], text_columns: str | list[str]):
        """`text_columns`: the added columns that hold text (the label; a multi-label model's yes/no and
        predicted_labels columns); the others hold numbers."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        text_columns = [text_columns] if isinstance(text_columns, str) else list(text_columns)
        self.schema = schema
        for name in added_names:
            self.schema = self.schema.append(pa.field(name, pa.string() if name in text_columns else pa.float64()))
        self.writer = pq.ParquetWriter(path, self.schema)

    def write(self, batch, added: dict[str, Any]) -> None:
        import pyarrow as pa

        arrays = batch.columns + [pa.array(values, type=self.schema.field(name).type, from_pandas=True)
                                  for name, values in added.items()]
        self.writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        self.writer.close()


def text_file_as_csv(path: str | Path, target: Path, should_cancel: Callable[[], bool]) -> Path:
    """A .txt file (one item per line, the "lines" rule) as a one-column UTF-8 CSV."""
    source = LinesSource(detect_format(path), 4096)
    with open(target, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")  # as CsvSink writes a .txt input
        writer.writerow([LINES_COLUMN])
        for chunk in source.chunks():
            writer.writerows([item] for item in source.texts(chunk, 0))
            if should_cancel():
                raise Cancelled("labelling was cancelled; nothing was written")
    return target
