"""Recognising the tabular files users bring: format, text encoding and delimiter.

Shared by training-data loading and batch labelling, so that a file that trains also labels.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from moderator_app.core.errors import DataError

FORMATS = {".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "csv", ".jsonl": "json", ".json": "json",
           ".ndjson": "json", ".parquet": "parquet", ".pq": "parquet"}
DELIMITER_CANDIDATES = (",", ";", "\t", "|")
# Texts that pandas would silently turn into missing values; in moderation data they are words.
KEEP_AS_TEXT = dict(keep_default_na=False, na_filter=False)
_SAMPLE_BYTES = 1 << 16


class DataFileError(DataError, ValueError):
    """A data file that cannot be used; the message names the file and says what to do."""


@dataclass(frozen=True)
class FileFormat:
    path: Path
    kind: str  # "csv", "json" or "parquet"
    encoding: str = "utf-8"  # for text formats; "utf-8-sig" reads UTF-8 with or without BOM
    delimiter: str = ","

    def pandas_csv_options(self) -> dict:
        """Keyword arguments for pandas.read_csv (and the `datasets` csv builder) that read this
        file faithfully: every cell a string, "NA"/"null"/"None" kept as text."""
        return dict(sep=self.delimiter, encoding=self.encoding, dtype=str, **KEEP_AS_TEXT)


def detect_format(path: str | Path) -> FileFormat:
    """Inspect `path` and return how to read it. Raises DataFileError with a readable message."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path}: file not found")
    if path.is_dir():
        raise DataFileError(f"{path}: is a folder; choose a CSV, TSV, JSON Lines or Parquet file")
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataFileError(f"{path}: unsupported file type {path.suffix or '(no extension)'}; "
                            "use .csv, .tsv, .jsonl or .parquet")
    if path.stat().st_size == 0:
        raise DataFileError(f"{path}: the file is empty")
    if kind == "parquet":
        with open(path, "rb") as handle:
            if handle.read(4) != b"PAR1":
                raise DataFileError(f"{path}: not a Parquet file (no PAR1 header); is the extension right?")
        return FileFormat(path, kind)
    with open(path, "rb") as handle:
        sample = handle.read(_SAMPLE_BYTES)
    if b"\x00" in sample:
        raise DataFileError(f"{path}: looks like a binary file, not {kind.upper()} text; "
                            "export the data as CSV, TSV, JSON Lines or Parquet")
    encoding = detect_encoding(path)
    if kind == "json":
        return FileFormat(path, kind, encoding)
    text = sample.decode(encoding, errors="replace")
    if not text.strip():
        raise DataFileError(f"{path}: the file holds no data")
    default = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    return FileFormat(path, kind, encoding, sniff_delimiter(text, default))


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without a byte-order mark) when the whole file decodes as UTF-8, else cp1252,
    the encoding of spreadsheets exported on Windows."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def sniff_delimiter(text: str, default: str = ",") -> str:
    """The delimiter that splits the header line into the most fields.

    The header is the one line that rarely holds free text, so counting there is more reliable
    than csv.Sniffer, which is easily fooled by commas and semicolons inside tweets."""
    header = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    counts = {candidate: header.count(candidate) for candidate in DELIMITER_CANDIDATES}
    best = max(counts, key=lambda candidate: (counts[candidate], candidate == default))
    return best if counts[best] > 0 else default


def is_index_column(name: str) -> bool:
    """Unnamed leading columns that pandas writes for a DataFrame index ("" or "Unnamed: 0")."""
    return name.strip() == "" or name.startswith("Unnamed: ")
