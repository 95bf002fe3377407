"""What the Review tab runs off the GUI thread: loading a model, classifying, explaining, reading
files, the decision store, and batch labelling a file.

The short jobs are plain functions handed to BackgroundTasks; batch labelling, which runs for
minutes and reports progress, is a BatchLabelWorker moved to its own QThread (as training is).
torch and transformers are imported here, inside the jobs, never on the GUI thread.

One model may be wanted by two threads at once: a moderator's classification or explanation while
a file is batch-labelled. ModelGate makes them take turns (a fast tokenizer must not be called from
two threads at once), and the moderator goes first: the batch labeller pauses between two batches
of its chunk, so an interactive job waits for one batch, not for a whole chunk."""

from __future__ import annotations

import csv
import re
import tempfile
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from moderator_app.gui.common import libraries

PROGRESS_INTERVAL_S = 0.1  # progress signals at most ten times a second, however fast rows go
# Rows per chunk when batch-labelling: a quarter of the core's default. Tokenizing a chunk holds the
# GIL while its token ids become Python lists (about 120 ms for 4,096 tweets on two CPU cores, all at
# once); a smaller chunk keeps that pause of the event loop short, and costs no throughput.
GUI_CHUNK_ROWS = 1024
TABLE_ROW_LIMIT = 20_000  # files up to this size can be shown in the results table
TEXT_FILE_SUFFIXES = (".txt",)
TEXT_FILE_COLUMN = "text"


class JobCancelled(Exception):
    """A classification was cancelled from the GUI."""


# ------------------------------------------------------------------------------------------ model
@dataclass
class ModelInfo:
    """What the model panel shows about a loaded model."""

    model_id: str
    labels: list[str]
    positive_label: str | None
    base_model: str
    device: str
    max_length: int
    metrics: dict[str, float] = field(default_factory=dict)  # accuracy, f1, loss, …
    metrics_source: str = ""  # "training summary", "model card" or ""
    best_epoch: int | None = None
    train_rows: int | None = None


class ModelGate:
    """Turns at one model: one user at a time, interactive jobs before the batch labeller.

    Interactive jobs (classify, explain) take `interactive()`; the batch labeller takes `batch()` for
    each chunk and calls `yield_to_interactive()` after each batch of it, which lets a waiting
    interactive job run while the labeller is paused between batches (its chunk is tokenized
    already, so nothing of it is in use)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._busy = False
        self._waiting = 0  # interactive jobs waiting for their turn

    @contextmanager
    def interactive(self):
        with self._condition:
            self._waiting += 1
            try:
                while self._busy:
                    self._condition.wait()
            finally:
                self._waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def batch(self):
        with self._condition:
            while self._busy or self._waiting:
                self._condition.wait()
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def yield_to_interactive(self) -> None:
        """Called by the holder of batch(): let waiting interactive jobs run, then carry on."""
        with self._condition:
            if not self._waiting:
                return
            self._busy = False
            self._condition.notify_all()
            while self._busy or self._waiting:
                self._condition.wait()
            self._busy = True

    def _release(self) -> None:
        with self._condition:
            self._busy = False
            self._condition.notify_all()


@dataclass
class ModelHandle:
    classifier: Any  # core.inference.Classifier
    info: ModelInfo
    gate: ModelGate = field(default_factory=ModelGate)

    @property
    def model_id(self) -> str:
        return self.info.model_id


class GatedClassifier:
    """The Classifier as batch labelling is given it: each prediction call takes the handle's gate
    and pauses between batches for a moderator's classification or explanation."""

    def __init__(self, handle: ModelHandle):
        self._handle = handle

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle.classifier, name)

    def predict_probabilities(self, texts, batch_size=None, on_batch=None):
        gate = self._handle.gate

        def between_batches(rows: int) -> None:
            if on_batch is not None:
                on_batch(rows)  # may raise to cancel
            gate.yield_to_interactive()

        with gate.batch():
            return self._handle.classifier.predict_probabilities(texts, batch_size, on_batch=between_batches)


def model_source(name: str) -> str:
    """A local folder as an absolute path (the same model gets the same id in the decision store
    however it was typed), a hub id as it is."""
    path = Path(name).expanduser()
    return str(path.resolve()) if path.is_dir() else name.strip()


def load_model(name: str, allow_pickle: bool = False, device: str = "auto") -> ModelHandle:
    """Job: load a classifier. Raises ModelLoadError / ModelNotAvailableError with a readable message."""
    libraries.import_model_libraries()
    from transformers.utils import logging

    from moderator_app.core.inference.classifier import Classifier

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    classifier = Classifier.load(model_source(name), device=device, allow_pickle=allow_pickle)
    return ModelHandle(classifier, describe_model(classifier))


def describe_model(classifier) -> ModelInfo:
    info = ModelInfo(model_id=classifier.name_or_path, labels=list(classifier.labels),
                     positive_label=classifier.positive_label, base_model=str(classifier.base_model),
                     device=str(classifier.device), max_length=int(classifier.max_length))
    summary = classifier.training_summary or {}
    metrics = summary.get("best_metrics") or {}
    if isinstance(metrics, dict) and metrics:
        info.metrics = {key: float(value) for key, value in metrics.items() if isinstance(value, (int, float))}
        info.metrics_source = "training summary"
        info.best_epoch = summary.get("best_epoch")
        data = summary.get("data") or {}
        if isinstance(data, dict) and isinstance(data.get("train_rows"), int):
            info.train_rows = data["train_rows"]
    else:
        card = model_card_path(classifier.name_or_path)
        if card is not None:
            info.metrics = card_metrics(card.read_text(encoding="utf-8", errors="replace"))
            info.metrics_source = "model card" if info.metrics else ""
    return info


def model_card_path(name_or_path: str) -> Path | None:
    """README.md of a model folder, or of a hub model in the local cache."""
    folder = Path(name_or_path)
    if folder.is_dir():
        card = folder / "README.md"
        return card if card.is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name_or_path, "README.md")
    except Exception:  # not a valid repo id, no cache: no card
        return None
    return Path(found) if isinstance(found, str) else None


_CARD_METRIC = re.compile(r"^\s*-\s*([A-Za-z][\w ()\-]*?)\s*:\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")
_CARD_NAMES = {"loss": "val_loss", "validation loss": "val_loss", "accuracy": "accuracy", "f1": "f1",
               "f1 (macro)": "f1", "macro f1": "f1", "precision": "precision", "recall": "recall"}


def card_metrics(card: str) -> dict[str, float]:
    """Evaluation results from a model card in the Trainer's shape ("It achieves the following results on
    the evaluation set:" then "- Loss: 0.53" lines), as ours and most fine-tuned hub models have."""
    lines = card.splitlines()
    start = next((index for index, line in enumerate(lines) if "following results on the evaluation set" in line),
                 None)
    if start is None:
        return {}
    found: dict[str, float] = {}
    for line in lines[start + 1:]:
        match = _CARD_METRIC.match(line)
        if not match:
            if found or line.strip().startswith("#"):
                break
            continue
        name = _CARD_NAMES.get(match.group(1).strip().lower())
        if name:
            found[name] = float(match.group(2))
    return found


def readable_load_error(name: str, error: BaseException) -> str:
    known = {"ModelLoadError", "ModelNotAvailableError"}
    message = str(error).strip()
    if any(cls.__name__ in known for cls in type(error).__mro__):
        return message
    first = message.splitlines()[0] if message else ""
    return f"{name}: cannot be loaded as a text classifier ({type(error).__name__}{': ' + first if first else ''})."


# --------------------------------------------------------------------------------- classify, explain
class ProgressRelay(QObject):
    """Created on the GUI thread; emitting from a pool thread queues the signal to the GUI thread."""

    progress = Signal(int, int)  # rows done, rows in all


@dataclass
class Classified:
    texts: list[str]
    probabilities: np.ndarray
    handle: ModelHandle
    seconds: float


def classify(handle: ModelHandle, texts: list[str], cancel: threading.Event,
             relay: ProgressRelay | None = None) -> Classified:
    """Job: class probabilities of `texts`, with progress (throttled) and cancellation between batches."""
    started = time.perf_counter()
    done, last_report = 0, 0.0

    def on_batch(rows: int) -> None:
        nonlocal done, last_report
        done += rows
        if cancel.is_set():
            raise JobCancelled()
        now = time.perf_counter()
        if relay is not None and now - last_report >= PROGRESS_INTERVAL_S:
            last_report = now
            relay.progress.emit(done, len(texts))

    with handle.gate.interactive():
        if cancel.is_set():
            raise JobCancelled()
        probabilities = handle.classifier.predict_probabilities(texts, on_batch=on_batch)
    return Classified(texts, probabilities, handle, time.perf_counter() - started)


@dataclass
class Explained:
    text: str
    label: str
    label_index: int
    probability: float
    influences: list  # core.explain.WordInfluence


def explain_text(handle: ModelHandle, text: str, label_index: int, still_wanted: Callable[[], bool]) -> Explained | None:
    """Job: word influences on the probability of `label_index` (occlusion). None when the row was
    deselected before the job started (a newer request supersedes it)."""
    if not still_wanted():
        return None
    from moderator_app.core.inference.explain import explain

    classifier = handle.classifier
    rows: list[np.ndarray] = []

    def probabilities(texts):
        with handle.gate.interactive():
            result = classifier.predict_probabilities(list(texts))
        rows.append(result[0])
        return result

    influences = explain(text, probabilities, label_index)
    probability = float(rows[0][label_index]) if rows else float("nan")
    return Explained(text, classifier.labels[label_index], label_index, probability, influences)


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


# ------------------------------------------------------------------------------------ decision store
class StoreAccess:
    """The decision store, opened on first use. Every call runs on the Review tab's one store
    thread (a BackgroundTasks with a single thread), so writes never wait on the GUI and never
    overlap."""

    def __init__(self, path: str | Path | None = None):
        from moderator_app.core.review.store import default_store_path

        self.path = Path(path) if path else default_store_path()
        self._store = None

    def store(self):
        if self._store is None:
            from moderator_app.core.review.store import DecisionStore

            self._store = DecisionStore(self.path)
        return self._store

    def record(self, decisions: list) -> tuple[list, str | None]:
        """Store each decision in its own transaction. Returns the stored ones and, if one failed,
        the error (those after it are not tried)."""
        from moderator_app.core.review.store import DecisionStoreError

        saved = []
        try:
            store = self.store()
            for decision in decisions:
                saved.append(store.record(decision))
        except DecisionStoreError as error:
            return saved, str(error)
        return saved, None

    def lookup(self, texts: list[str], model_id: str) -> dict[str, str]:
        return self.store().lookup(texts, model_id)

    def export(self, destination: str) -> int:
        return self.store().export_training_csv(destination)

    def count(self) -> int:
        return self.store().count()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


# -------------------------------------------------------------------------------------- batch label
@dataclass
class BatchRequest:
    input_path: str
    output_path: str
    text_column: str | None
    threshold: float | None
    overwrite: bool = False
    chunk_rows: int = GUI_CHUNK_ROWS


class BatchLabelWorker(QObject):
    """Labels one file with core.labelling.label_file. Signals: `progress` (throttled), then one of
    `succeeded(LabelSummary)`, `cancelled()` or `failed(message, details)`, then `done()` always."""

    progress = Signal(int, object, float)  # rows done, total rows (or None), rows per second
    succeeded = Signal(object)
    cancelled = Signal()
    failed = Signal(str, str)
    done = Signal()

    def __init__(self, handle: ModelHandle, request: BatchRequest):
        super().__init__()
        self.handle = handle
        self.request = request
        self._cancel = threading.Event()
        self.progress_signals = 0  # how many progress signals were emitted (the throttling is tested)

    def cancel(self) -> None:
        """Thread-safe: called from the GUI thread while the worker's thread labels."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @Slot()
    def run(self) -> None:
        from moderator_app.core.inference.labelling import LabellingCancelled

        request = self.request
        last = 0.0

        def on_progress(done: int, total: int | None, rate: float) -> None:
            nonlocal last
            now = time.perf_counter()
            if now - last >= PROGRESS_INTERVAL_S or (total is not None and done >= total):
                last = now
                self.progress_signals += 1
                self.progress.emit(done, total, rate)

        try:
            from moderator_app.core.inference.labelling import check_output_path, label_file

            check_output_path(request.input_path, request.output_path, request.overwrite)
            with tempfile.TemporaryDirectory(prefix="moderator-batch-") as scratch:
                source = request.input_path
                if is_text_file(source):
                    source = str(text_file_as_csv(source, Path(scratch) / (Path(source).stem + ".csv"),
                                                  self._cancel.is_set))
                summary = label_file(source, request.output_path, GatedClassifier(self.handle),
                                     text_column=None if is_text_file(request.input_path) else request.text_column,
                                     threshold=request.threshold, overwrite=request.overwrite,
                                     on_progress=on_progress, should_cancel=self._cancel.is_set,
                                     chunk_rows=request.chunk_rows)
                summary.input_path = request.input_path
        except LabellingCancelled:
            self.cancelled.emit()
        except BaseException as error:  # the GUI must hear about anything and become usable again
            self.failed.emit(readable_batch_error(error),
                             "".join(traceback.format_exception(type(error), error, error.__traceback__)))
        else:
            self.succeeded.emit(summary)
        finally:
            self.done.emit()


def readable_batch_error(error: BaseException) -> str:
    known = {"LabellingError", "DataFileError"}
    message = str(error).strip()
    if any(cls.__name__ in known for cls in type(error).__mro__):
        return message
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename or ''}: {error.strerror}".lstrip(": ")
    return f"{type(error).__name__}: {message}" if message else type(error).__name__

