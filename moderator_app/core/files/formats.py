"""Recognising the data files users bring: format, text encoding and delimiter.

One rule for every reader (training, batch labelling, the Review tab's import):
- ``.csv``/``.tsv``/``.tab``: delimited text with a header line ("csv");
- ``.txt``: one item per line, no header, commas are text ("lines");
- ``.jsonl``/``.json``/``.ndjson``: JSON Lines, one object per line ("json");
- ``.parquet``/``.pq``: Parquet ("parquet").
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from moderator_app.core.errors import DataError

FORMATS = {".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "lines", ".jsonl": "json", ".json": "json",
           ".ndjson": "json", ".parquet": "parquet", ".pq": "parquet"}
FORMAT_NAMES = {"csv": "CSV", "lines": "text (one item per line)", "json": "JSON Lines", "parquet": "Parquet"}
# The column a "lines" file's items appear under, everywhere.
LINES_COLUMN = "text"
DELIMITER_CANDIDATES = (",", ";", "\t", "|")
# Texts that pandas would silently turn into missing values; in moderation data they are words.
KEEP_AS_TEXT = dict(keep_default_na=False, na_filter=False)
_SAMPLE_BYTES = 1 << 16
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class DataFileError(DataError, ValueError):
    """A data file that cannot be used; the message names the file and says what to do."""


@dataclass(frozen=True)
class FileFormat:
    path: Path
    kind: str  # "csv", "lines", "json" or "parquet"
    encoding: str = "utf-8"  # for text formats; "utf-8-sig" reads UTF-8 with or without BOM
    delimiter: str = ","

    def pandas_csv_options(self) -> dict:
        """Keyword arguments for pandas.read_csv that read this file faithfully: every cell a
        string, "NA"/"null"/"None" kept as text."""
        return dict(sep=self.delimiter, encoding=self.encoding, dtype=str, **KEEP_AS_TEXT)


def is_text_file(path: str | Path) -> bool:
    """A file read by the "lines" rule (one item per line)."""
    return FORMATS.get(Path(path).suffix.lower()) == "lines"


def detect_format(path: str | Path) -> FileFormat:
    """Inspect `path` and return how to read it. Raises DataFileError with a readable message."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path}: file not found.")
    if path.is_dir():
        raise DataFileError(f"{path}: is a folder; choose a CSV, TSV, TXT, JSON Lines or Parquet file.")
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataFileError(f"{path}: unsupported file type {path.suffix or '(no extension)'}; "
                            "use .csv, .tsv, .txt, .jsonl or .parquet.")
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            sample = handle.read(_SAMPLE_BYTES)
    except OSError as error:
        raise DataFileError(f"{path}: cannot be read ({error.strerror or error}).",
                            "Check that the file is readable by you.") from None
    if size == 0:
        raise DataFileError(f"{path}: the file is empty.")
    if kind == "parquet":
        if sample[:4] != b"PAR1":
            raise DataFileError(f"{path}: not a Parquet file (no PAR1 header); is the extension right?")
        return FileFormat(path, kind)
    if sample.startswith(_UTF16_BOMS):
        encoding = "utf-16"  # Excel's "Unicode text" export; the byte-order mark says which byte order
    elif b"\x00" in sample:
        raise DataFileError(f"{path}: looks like a binary file, not {FORMAT_NAMES[kind]} text (or UTF-16 "
                            "without a byte-order mark); export the data as UTF-8 CSV, TSV, TXT, JSON Lines "
                            "or Parquet.")
    else:
        encoding = detect_encoding(path)
    text = sample.decode(encoding, errors="replace")
    if not text.strip("\ufeff \r\n\t"):
        raise DataFileError(f"{path}: the file holds no data.")
    if kind != "csv":
        return FileFormat(path, kind, encoding)
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
