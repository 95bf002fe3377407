"""The Review tab's jobs, run off the GUI thread by superqt workers (gui.common.tasks): loading a
model, reading and previewing files, and batch labelling a file. The model itself (sharing, classify,
explain) is core.inference.shared_model; the decision store is core.review.store.
torch and transformers are imported here, inside the jobs, never on the GUI thread."""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from moderator_app.core.inference.shared_model import GatedClassifier, ModelHandle
from moderator_app.core.inference.shared_model import load_model as load_shared_model
from moderator_app.gui.common import libraries

# Rows per chunk when batch-labelling: a quarter of the core's default. Tokenizing a chunk holds the
# GIL while its token ids become Python lists (about 120 ms for 4,096 tweets on two CPU cores, all at
# once); a smaller chunk keeps that pause of the event loop short, and costs no throughput.
GUI_CHUNK_ROWS = 1024
TABLE_ROW_LIMIT = 20_000  # files up to this size can be shown in the results table
TEXT_FILE_SUFFIXES = (".txt",)
TEXT_FILE_COLUMN = "text"


def load_model(name: str, allow_pickle: bool = False, device: str = "auto") -> ModelHandle:
    """Job: load a classifier to share between the Review tab's jobs."""
    libraries.import_model_libraries()
    return load_shared_model(name, allow_pickle, device)


# ------------------------------------------------------------------------------------------- files
def is_text_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in TEXT_FILE_SUFFIXES


@dataclass
class FilePreview:
    path: str
    columns: list[str]
    rows: list[list[str]]
    text_column: str | None  # the guess
    total_rows: int | None


def preview_for_import(path: str, rows: int = 20) -> FilePreview:
    """Job: the first rows, the columns with the text column guessed, and the number of rows."""
    if is_text_file(path):
        lines: list[list[str]] = []
        total = 0
        with open(path, encoding=_text_encoding(path), errors="replace") as handle:
            for line in handle:
                if line.strip():
                    total += 1
                    if len(lines) < rows:
                        lines.append([line.rstrip("\r\n")])
        return FilePreview(path, [TEXT_FILE_COLUMN], lines, TEXT_FILE_COLUMN, total)

    from moderator_app.core.training.data import preview_file
    from moderator_app.core.files.formats import detect_format
    from moderator_app.core.inference.labelling import SOURCES, LabellingError, resolve_text_column

    columns, first_rows = preview_file(path, rows=rows)
    fmt = detect_format(path)
    source = SOURCES[fmt.kind](fmt, GUI_CHUNK_ROWS)
    try:
        guess = source.columns[resolve_text_column(source.columns, None, fmt.path)]
    except LabellingError:
        guess = None
    if guess not in columns:
        guess = None
    return FilePreview(path, list(columns), [list(row) for row in first_rows], guess, source.count_rows())


def _text_encoding(path: str | Path) -> str:
    from moderator_app.core.files.formats import detect_encoding

    return detect_encoding(Path(path))


def read_texts(path: str, column: str | None, limit: int = TABLE_ROW_LIMIT) -> list[str]:
    """Job: the texts of a file, for the results table. Refuses files of more than `limit` rows (they
    are for batch labelling)."""
    too_many = (f"{path}: has more than {limit:,} rows, too many for the table. "
                "Batch-label it to a file instead.")
    texts: list[str] = []
    if is_text_file(path):
        with open(path, encoding=_text_encoding(path), errors="replace") as handle:
            for line in handle:
                if line.strip():
                    texts.append(line.rstrip("\r\n"))
                    if len(texts) > limit:
                        raise ValueError(too_many)
        return texts

    from moderator_app.core.files.formats import DataFileError, detect_format
    from moderator_app.core.inference.labelling import SOURCES, LabellingError, resolve_text_column

    try:
        fmt = detect_format(path)
    except DataFileError as error:
        raise LabellingError(str(error)) from None
    source = SOURCES[fmt.kind](fmt, GUI_CHUNK_ROWS)
    position = resolve_text_column(source.columns, column or None, fmt.path)
    for chunk in source.chunks():
        texts.extend("" if value is None else str(value) for value in source.texts(chunk, position))
        if len(texts) > limit:
            raise ValueError(too_many)
    return texts


def text_file_as_csv(path: str | Path, target: Path, should_cancel: Callable[[], bool]) -> Path:
    """A TXT file (one item per line) as a one-column CSV, so that the core labeller can read it."""
    from moderator_app.core.inference.labelling import LabellingCancelled

    with open(path, encoding=_text_encoding(path), errors="replace") as source, \
            open(target, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([TEXT_FILE_COLUMN])
        for number, line in enumerate(source):
            if line.strip():
                writer.writerow([line.rstrip("\r\n")])
            if number % 4096 == 0 and should_cancel():
                raise LabellingCancelled("labelling was cancelled; nothing was written")
    return target


def default_batch_output(input_path: str | Path) -> Path:
    """`comments.csv` -> `comments.labelled.csv`; a TXT file is written as CSV."""
    from moderator_app.core.inference.labelling import default_output_path

    output = default_output_path(input_path)
    return output.with_suffix(".csv") if is_text_file(input_path) else output


# -------------------------------------------------------------------------------------- batch label
@dataclass
class BatchRequest:
    input_path: str
    output_path: str
    text_column: str | None
    threshold: float | None
    overwrite: bool = False
    chunk_rows: int = GUI_CHUNK_ROWS


def label_batch(handle: ModelHandle, request: BatchRequest, report: Callable[[int, int | None, float], None],
                cancelled: Callable[[], bool]):
    """Job: label one file with core.inference.labelling.label_file, reporting (rows done, total rows
    or None, rows per second) after each batch; cancelled() stops it (LabellingCancelled) with nothing
    written. Returns the LabelSummary."""
    from moderator_app.core.inference.labelling import check_output_path, label_file

    check_output_path(request.input_path, request.output_path, request.overwrite)
    text_input = is_text_file(request.input_path)
    with tempfile.TemporaryDirectory(prefix="moderator-batch-") as scratch:
        source = request.input_path
        if text_input:
            source = str(text_file_as_csv(source, Path(scratch) / (Path(source).stem + ".csv"), cancelled))
        summary = label_file(source, request.output_path, GatedClassifier(handle),
                             text_column=None if text_input else request.text_column,
                             threshold=request.threshold, overwrite=request.overwrite,
                             on_progress=report, should_cancel=cancelled, chunk_rows=request.chunk_rows)
    summary.input_path = request.input_path
    return summary
