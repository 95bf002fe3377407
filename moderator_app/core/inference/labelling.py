"""Labelling a whole data file with a classifier: streamed chunk by chunk, written atomically.

Memory stays constant however large the file: one chunk is read, classified and written before
the next is read. The output goes to a hidden temporary file beside the destination and is
renamed only when complete, so a failed, cancelled or killed run never leaves a half file under
the output name. Qt-free: the CLI's `label` command and the GUI share it.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import secrets
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from moderator_app.core.training.data import TEXT_COLUMN_NAMES  # the names training detects: a file that trains also labels
from moderator_app.core.files.formats import FORMATS, DataFileError, FileFormat, detect_format

if TYPE_CHECKING:
    from moderator_app.core.inference.classifier import Classifier

CHUNK_ROWS = 4096
LABEL_COLUMN = "predicted_label"
SCORE_COLUMN = "score"
PROBABILITY_PREFIX = "probability_"
# Spreadsheet programs run a cell starting with these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_BAD_LINE_WARNING = re.compile(r"Skipping line (\d+): ([^\n]*)")

ProgressCallback = Callable[[int, "int | None", float], None]


class LabellingError(ValueError):
    """The file cannot be labelled as asked; the message names the file (and row or column) and
    says what to do."""


class LabellingCancelled(Exception):
    """should_cancel() asked to stop; nothing was written."""


@dataclass(frozen=True)
class BadRow:
    line: int  # 1-based, the header being line 1 (a quoted line break does not count as a new line)
    reason: str


@dataclass
class LabelSummary:
    input_path: str
    output_path: str
    text_column: str
    labels: list[str]
    rows: int = 0  # rows written, empty texts included
    empty_texts: int = 0  # rows left with an empty label because their text is empty
    label_counts: dict[str, int] = field(default_factory=dict)
    bad_rows: list[BadRow] = field(default_factory=list)  # unreadable rows left out (--skip-bad-rows)
    seconds: float = 0.0

    def count(self, labels: list[str]) -> None:
        self.rows += len(labels)
        for label in labels:
            if label:
                self.label_counts[label] += 1
            else:
                self.empty_texts += 1

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        counts = ", ".join(f"{label} {self.label_counts.get(label, 0):,}" for label in self.labels)
        text = (f"Labelled {self.rows:,} rows of {self.input_path} into {self.output_path} in {self.seconds:.1f} s "
                f"({self.rows_per_second:,.0f} rows/s): {counts}.")
        if self.empty_texts:
            text += f" {self.empty_texts:,} empty texts left unlabelled."
        if self.bad_rows:
            text += f" {len(self.bad_rows):,} unreadable rows left out: {describe_bad_rows(self.bad_rows)}."
        return text


def describe_bad_rows(bad_rows: list[BadRow], shown: int = 10) -> str:
    text = "; ".join(f"line {row.line} ({row.reason})" for row in bad_rows[:shown])
    return text + (f"; and {len(bad_rows) - shown:,} more" if len(bad_rows) > shown else "")


def default_output_path(input_path: str | Path) -> Path:
    """`comments.csv` -> `comments.labelled.csv`, beside the input."""
    path = Path(input_path)
    return path.with_name(f"{path.stem}.labelled{path.suffix}")


def check_output_path(input_path: str | Path, output_path: str | Path | None, overwrite: bool = False) -> Path:
    """The output path to use, after checking that it is safe: never the input itself, the same
    format as the input, in an existing folder, and not an existing file unless `overwrite`."""
    source = Path(input_path)
    target = Path(output_path) if output_path else default_output_path(source)
    if target.resolve() == source.resolve() or (target.exists() and source.exists() and target.samefile(source)):
        raise LabellingError(f"{target}: this is the input file; labelling never overwrites its input. "
                             "Choose another output file.")
    input_kind, output_kind = FORMATS.get(source.suffix.lower()), FORMATS.get(target.suffix.lower())
    if input_kind and output_kind != input_kind:
        raise LabellingError(f"{target}: the output is written in the input's format ({input_kind.upper()}); "
                             f"give it a {source.suffix} name.")
    if target.is_dir():
        raise LabellingError(f"{target}: is a folder; give the output a file name.")
    if not target.parent.is_dir():
        raise LabellingError(f"{target}: the folder {target.parent} does not exist.")
    if target.exists() and not overwrite:
        raise LabellingError(f"{target}: already exists; choose another output file, or allow replacing it "
                             "(--overwrite).")
    return target


def resolve_text_column(columns: list[str], requested: str | None, path: Path) -> int:
    """Position of the text column: the one asked for (exact name, else the only case-insensitive
    match), else the first of TEXT_COLUMN_NAMES present, else the only column."""
    listing = ", ".join(repr(column) for column in columns)
    normalised = [str(column).strip().lower() for column in columns]
    if requested:
        matches = [index for index, column in enumerate(columns) if column == requested]
        matches = matches or [index for index, column in enumerate(normalised) if column == requested.strip().lower()]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise LabellingError(f"{path}: no column named {requested!r}; the columns are {listing}.")
        raise LabellingError(f"{path}: {len(matches)} columns are named {requested!r}; rename one of them.")
    for candidate in TEXT_COLUMN_NAMES:
        matches = [index for index, column in enumerate(normalised) if column == candidate]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise LabellingError(f"{path}: {len(matches)} columns are named {candidate!r}; "
                                 "choose the text column (--text-column) or rename one.")
    if len(columns) == 1:
        return 0
    raise LabellingError(f"{path}: which column holds the text? None is named text, tweet, comment …; "
                         f"choose it (--text-column). The columns are {listing}.")


# ------------------------------------------------------------------------------------ sources
class CsvSource:
    """CSV/TSV read with pandas in chunks, every cell kept as the exact text of the file."""

    def __init__(self, fmt: FileFormat, chunk_rows: int):
        import pandas as pd

        self.fmt, self.chunk_rows, self.bad_rows = fmt, chunk_rows, []
        self.options = dict(fmt.pandas_csv_options(), index_col=False)
        try:
            # Read the header as data so that its names stay verbatim: pandas would rename an
            # empty name to "Unnamed: 0" and a repeated one to "name.1".
            header = pd.read_csv(fmt.path, header=None, nrows=1, **fmt.pandas_csv_options())
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise LabellingError(f"{fmt.path}: cannot read the header line: {first_line(error)}") from None
        self.columns: list[str] = [str(name) for name in header.iloc[0].tolist()]

    def count_rows(self) -> int | None:
        """Rows in the file, for the progress bar's time left: a parse of one column, a few
        seconds for millions of rows, none of the model's time."""
        import pandas as pd

        try:
            with pd.read_csv(self.fmt.path, usecols=[0], chunksize=1 << 16, on_bad_lines="skip",
                             **self.options) as reader:
                return sum(len(chunk) for chunk in reader)
        except (ValueError, UnicodeDecodeError):  # the main pass reports what is wrong
            return None

    def chunks(self) -> Iterator[Any]:
        import pandas as pd

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

    def _parse(self, parse: Callable[[], Any]) -> Any:
        """Run a pandas parsing step, turning its errors into a sentence for the user."""
        import pandas as pd

        try:
            return parse()
        except pd.errors.ParserError as error:
            raise LabellingError(f"{self.fmt.path}: not readable as CSV: {first_line(error)}. "
                                 "Is a quote left open? Fix the file and try again.") from None
        except UnicodeDecodeError as error:
            raise LabellingError(f"{self.fmt.path}: not readable as {self.fmt.encoding} text at byte "
                                 f"{error.start}; save it as UTF-8 and try again.") from None

    @staticmethod
    def texts(chunk, position: int) -> list:
        return chunk.iloc[:, position].tolist()


class JsonLinesSource:
    """JSON Lines read with the json module, one record at a time: pandas would turn integer
    fields with gaps into floats and reformat values on the way back out."""

    def __init__(self, fmt: FileFormat, chunk_rows: int):
        self.fmt, self.chunk_rows, self.bad_rows = fmt, chunk_rows, []
        self.columns: list[str] = []
        with open(fmt.path, encoding=fmt.encoding) as handle:
            for line in handle:
                if line.strip():
                    if line.lstrip().startswith("["):
                        raise LabellingError(f"{fmt.path}: is one JSON array; labelling reads JSON Lines "
                                             "(one object per line). Convert it, e.g. with `jq -c '.[]'`.")
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict):
                        self.columns = list(record)
                        break

    def count_rows(self) -> int:
        with open(self.fmt.path, "rb") as handle:
            return sum(1 for line in handle if line.strip())

    def chunks(self) -> Iterator[list[dict]]:
        chunk: list[dict] = []
        with open(self.fmt.path, encoding=self.fmt.encoding) as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as error:
                    self.bad_rows.append(BadRow(line_number, f"invalid JSON: {getattr(error, 'msg', error)}"))
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

    def texts(self, chunk: list[dict], position: int) -> list:
        name = self.columns[position]
        return [record.get(name) for record in chunk]


class ParquetSource:
    """Parquet read with pyarrow, one record batch at a time; types are kept as they are."""

    def __init__(self, fmt: FileFormat, chunk_rows: int):
        import pyarrow.parquet as pq

        self.fmt, self.chunk_rows, self.bad_rows = fmt, chunk_rows, []
        try:
            self.file = pq.ParquetFile(fmt.path)
        except Exception as error:  # pyarrow raises several types for a damaged file
            raise LabellingError(f"{fmt.path}: not a readable Parquet file: {first_line(error)}") from None
        self.schema = self.file.schema_arrow
        self.columns: list[str] = list(self.schema.names)

    def count_rows(self) -> int:
        return self.file.metadata.num_rows

    def chunks(self) -> Iterator[Any]:
        yield from self.file.iter_batches(batch_size=self.chunk_rows)

    @staticmethod
    def texts(batch, position: int) -> list:
        return batch.column(position).to_pylist()


SOURCES = {"csv": CsvSource, "json": JsonLinesSource, "parquet": ParquetSource}


# -------------------------------------------------------------------------------------- sinks
class CsvSink:
    """Writes chunks with pandas in the input's delimiter, encoding (byte-order mark included)
    and line ending; numbers the model adds get six decimals."""

    def __init__(self, path: Path, fmt: FileFormat, columns: list[str], excel_safe: bool):
        with open(fmt.path, "rb") as handle:
            start = handle.read(1 << 16)
        encoding = fmt.encoding
        if encoding == "utf-8-sig" and not start.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8"  # detect_format reads UTF-8 with or without a BOM; write what we found
        self.line_terminator = "\r\n" if b"\r\n" in start else "\n"
        self.handle = open(path, "w", encoding=encoding, newline="")
        self.delimiter, self.columns, self.excel_safe = fmt.delimiter, columns, excel_safe
        self.header_written = False

    def write(self, chunk, added: dict[str, Any]) -> None:
        import pandas as pd

        frame = pd.concat([chunk, pd.DataFrame(added, index=chunk.index)], axis=1)
        if self.excel_safe:
            frame = frame.map(neutralise_formula)
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
            clashing = set(names).intersection(record)
            if clashing:
                raise LabellingError(f"a record already has the field {sorted(clashing)[0]!r} that labelling adds; "
                                     "rename it first (was the file labelled already?)")
            record.update((name, None if isinstance(value, float) and value != value else value)
                          for name, value in zip(names, values))
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.handle.close()


class ParquetSink:
    def __init__(self, path: Path, source: ParquetSource, added_names: list[str]):
        import pyarrow as pa
        import pyarrow.parquet as pq

        added_fields = [pa.field(name, pa.string() if name == LABEL_COLUMN else pa.float64()) for name in added_names]
        self.schema = source.schema
        for added_field in added_fields:
            self.schema = self.schema.append(added_field)
        self.writer = pq.ParquetWriter(path, self.schema)

    def write(self, batch, added: dict[str, Any]) -> None:
        import pyarrow as pa

        arrays = batch.columns + [pa.array(values, type=self.schema.field(name).type, from_pandas=True)
                                  for name, values in added.items()]
        self.writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        self.writer.close()


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc; absent on macOS, Windows and musl
    except (AttributeError, OSError):
        return None


def release_free_memory() -> None:
    """Give the heap's free pages back to the operating system, once per chunk.

    As torch frees large activations, glibc raises its mmap threshold; from then on activations of
    ever-changing sizes (one per batch length) come from the heap, fragment it, and the resident
    size of a long run creeps up by hundreds of MiB before levelling off (benchmarks/label_memory.py).
    Trimming once per chunk keeps it flat for a few milliseconds per chunk; trimming per batch, or
    a fixed mmap threshold, would make every batch fault its pages in again (measured 25 % slower)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def claim_temporary_file(target: Path) -> Path:
    """A new, empty, hidden file beside `target` (same file system, so the final rename is atomic).
    Created with open(..., "x") rather than mkstemp so that it gets the usual permissions, not 0600."""
    for _ in range(100):
        candidate = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        try:
            with open(candidate, "x"):
                return candidate
        except FileExistsError:
            continue
        except OSError as error:
            raise LabellingError(f"{target.parent}: cannot write there ({error.strerror}).") from None
    raise LabellingError(f"{target.parent}: cannot create a temporary file there.")


def neutralise_formula(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# ------------------------------------------------------------------------------------ labelling
def label_file(input_path: str | Path, output_path: str | Path | None, classifier: "Classifier", *,
               text_column: str | None = None, threshold: float | None = None, batch_size: int | None = None,
               overwrite: bool = False, skip_bad_rows: bool = False, excel_safe: bool = False,
               on_progress: ProgressCallback | None = None, should_cancel: Callable[[], bool] | None = None,
               chunk_rows: int = CHUNK_ROWS) -> LabelSummary:
    """Label every row of a CSV/TSV, JSON Lines or Parquet file and write it, in the same format and
    row order, with all its columns plus `predicted_label`, `score` and `probability_<label>`.

    on_progress(rows_done, total_rows or None, rows_per_second) is called as batches finish;
    should_cancel() is polled as often, and True stops the run (LabellingCancelled) with nothing
    written. Raises LabellingError with a readable message for anything wrong with the files."""
    progress = Progress(on_progress, should_cancel)
    target = check_output_path(input_path, output_path, overwrite)
    try:
        fmt = detect_format(input_path)
    except DataFileError as error:
        raise LabellingError(str(error)) from None
    check_options(fmt, classifier, threshold, excel_safe)
    source = SOURCES[fmt.kind](fmt, chunk_rows)
    if not source.columns:
        raise LabellingError(f"{fmt.path}: holds no records to label.")
    text_position = resolve_text_column(source.columns, text_column, fmt.path)
    added_names = [LABEL_COLUMN, SCORE_COLUMN] + [PROBABILITY_PREFIX + label for label in classifier.labels]
    for name in added_names:
        if name in source.columns:
            raise LabellingError(f"{fmt.path}: already has a column {name!r}, which labelling adds; rename it "
                                 "first (was the file labelled already?).")
    summary = LabelSummary(str(fmt.path), str(target), source.columns[text_position], list(classifier.labels),
                           label_counts={label: 0 for label in classifier.labels})
    progress.total_rows = source.count_rows()

    with atomic_output(target) as temporary:
        if fmt.kind == "parquet":
            sink = ParquetSink(temporary, source, added_names)
        else:
            sink = (CsvSink if fmt.kind == "csv" else JsonLinesSink)(
                temporary, fmt, source.columns + added_names, excel_safe)
        try:
            chunks = source.chunks()
            for chunk in chunks:
                refuse_bad_rows(source, chunks, skip_bad_rows)
                texts = source.texts(chunk, text_position)
                probabilities = classifier.predict_probabilities(texts, batch_size, on_batch=progress.advance)
                labels, scores = classifier.decide(probabilities, threshold)
                added = {LABEL_COLUMN: labels, SCORE_COLUMN: scores}
                added.update((PROBABILITY_PREFIX + label, probabilities[:, index].astype(np.float64))
                             for index, label in enumerate(classifier.labels))
                sink.write(chunk, added)
                release_free_memory()
                summary.count(labels)
                progress.reached(summary.rows)
            refuse_bad_rows(source, chunks, skip_bad_rows)  # unreadable rows after the last readable one
        finally:
            sink.close()
    summary.bad_rows = list(source.bad_rows)
    summary.seconds = progress.elapsed()
    return summary


def check_options(fmt: FileFormat, classifier: "Classifier", threshold: float | None, excel_safe: bool) -> None:
    if threshold is not None and not classifier.is_binary:
        raise LabellingError(f"a decision threshold needs a binary model; {classifier.name_or_path} has "
                             f"{len(classifier.labels)} labels ({', '.join(classifier.labels)}).")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise LabellingError(f"the threshold must be between 0 and 1, got {threshold}.")
    if excel_safe and fmt.kind != "csv":
        raise LabellingError(f"{fmt.path}: the Excel-safe option applies to CSV/TSV files, which spreadsheets open.")


def refuse_bad_rows(source, remaining_chunks: Iterator, skip_bad_rows: bool) -> None:
    if source.bad_rows and not skip_bad_rows:
        for _ in remaining_chunks:  # read on, without the model, to list every unreadable row at once
            pass
        raise LabellingError(
            f"{source.fmt.path}: {len(source.bad_rows):,} rows cannot be read: {describe_bad_rows(source.bad_rows)}. "
            "Fix them, or leave them out (--skip-bad-rows); they are then listed in the summary.")


@contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it to `target` when the block completes,
    delete it when the block fails or is interrupted (KeyboardInterrupt, cancellation)."""
    temporary = claim_temporary_file(target)
    try:
        yield temporary
        os.replace(temporary, target)
    except UnicodeEncodeError as error:
        temporary.unlink(missing_ok=True)
        raise LabellingError(f"{target}: a label cannot be written in the file's encoding ({error.encoding}); "
                             "save the input as UTF-8 and try again.") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class Progress:
    """Rows done, reported to on_progress and checked against should_cancel after every batch."""

    def __init__(self, on_progress: ProgressCallback | None, should_cancel: Callable[[], bool] | None):
        self.on_progress, self.should_cancel = on_progress, should_cancel
        self.started = time.perf_counter()
        self.rows_done = 0
        self.total_rows: int | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def advance(self, rows: int) -> None:
        self.reached(self.rows_done + rows)

    def reached(self, rows_done: int) -> None:
        self.rows_done = rows_done
        if self.should_cancel is not None and self.should_cancel():
            raise LabellingCancelled("labelling was cancelled; nothing was written")
        if self.on_progress is not None:
            elapsed = self.elapsed()
            self.on_progress(rows_done, self.total_rows, rows_done / elapsed if elapsed > 0 else 0.0)
