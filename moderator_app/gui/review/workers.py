"""The Review tab's jobs, run off the GUI thread by superqt workers (gui.common.tasks): loading a
model, reading and previewing files, and batch labelling a file. The model itself (sharing, classify,
explain) is core.inference.shared_model; the decision store is core.review.store.
torch and transformers are imported here, inside the jobs, never on the GUI thread."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from moderator_app.core.files.formats import is_text_file
from moderator_app.core.files.previews import TABLE_ROW_LIMIT, FilePreview, preview_for_import, read_texts  # noqa: F401
from moderator_app.core.files.writers import text_file_as_csv
from moderator_app.core.inference.shared_model import GatedClassifier, ModelHandle
from moderator_app.core.inference.shared_model import load_model as load_shared_model
from moderator_app.gui.common import libraries

# Rows per chunk when batch-labelling: a quarter of the core's default. Tokenizing a chunk holds the
# GIL while its token ids become Python lists (about 120 ms for 4,096 tweets on two CPU cores, all at
# once); a smaller chunk keeps that pause of the event loop short, and costs no throughput.
GUI_CHUNK_ROWS = 1024


def load_model(name: str, allow_pickle: bool = False, device: str = "auto", precision: str = "auto") -> ModelHandle:
    """Job: load a classifier to share between the Review tab's jobs."""
    libraries.import_model_libraries()
    return load_shared_model(name, allow_pickle, device, precision)


# ------------------------------------------------------------------------------------------- files
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
    threshold_source: str | None = None  # for the provenance record (core.inference.provenance)
    category_thresholds: dict[str, float] | None = None  # a multi-label model's, as the Review tab set them


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
                             on_progress=report, should_cancel=cancelled, chunk_rows=request.chunk_rows,
                             threshold_source=request.threshold_source, model_identity=handle.identity,
                             input_name=request.input_path, category_thresholds=request.category_thresholds)
    summary.input_path = request.input_path
    return summary
