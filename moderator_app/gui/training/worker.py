"""The training worker: a QObject moved to a QThread that runs the training engine and turns its
callbacks into Qt signals (queued to the GUI thread, because the worker lives on its own thread).

The engine itself runs in a child process (core.training_process): this thread only waits on the pipe
that brings its events, so the GUI's interpreter lock stays free while weights load and steps run."""

from __future__ import annotations

import threading
import traceback

from PySide6.QtCore import QObject, Signal, Slot

from moderator_app.core.config import TrainingConfig
from moderator_app.core.training.process import train_in_subprocess


class TrainingWorker(QObject):
    """Runs one training (or resumed) run. Signals, in order: `event` for every engine event, then
    either `succeeded(FinishedEvent)` or `failed(message, details)`, then `done()` always."""

    event = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str, str)
    done = Signal()

    def __init__(self, config: TrainingConfig, resume_from: str | None = None):
        super().__init__()
        self.config = config
        self.resume_from = resume_from
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Thread-safe; called directly from the GUI thread (the worker's own loop is busy training)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @Slot()
    def run(self) -> None:
        try:
            result = train_in_subprocess(self.config, on_event=self.event.emit, stop_event=self._stop,
                           resume_from=self.resume_from)
        except BaseException as error:  # anything: the GUI must hear about it and become usable again
            self.failed.emit(readable_error(error, self.config), _details(error))
        else:
            self.succeeded.emit(result)
        finally:
            self.done.emit()


def readable_error(error: BaseException, config: TrainingConfig | None = None) -> str:
    """A message for a dialog: the engine's and data loader's own messages as they are, plus advice
    for running out of memory; anything unexpected named by its type."""
    message = str(error).strip()
    known = {"TrainingError", "DataError", "DataFileError", "ConfigError", "ModelNotAvailableError",
             "TrainingProcessError"}
    if not any(cls.__name__ in known for cls in type(error).__mro__):
        message = f"{type(error).__name__}: {message}" if message else type(error).__name__
    if is_out_of_memory(error) and "batch" not in message.lower():
        where = "GPU" if "cuda" in message.lower() or "OutOfMemoryError" in type(error).__name__ else "device"
        advice = f"The {where} ran out of memory. Lower the training batch size"
        if config is not None:
            advice += f" (now {config.train_batch_size}) or the maximum length (now {config.max_length} tokens)"
        else:
            advice += " or the maximum length"
        message = f"{advice}, then start again.\n\n{message}"
    return message


def is_out_of_memory(error: BaseException) -> bool:
    text = f"{type(error).__name__} {error}".lower()
    return isinstance(error, MemoryError) or "out of memory" in text or "outofmemory" in text


def _details(error: BaseException) -> str:
    remote = getattr(error, "remote_traceback", None)  # raised in the training process: its own traceback
    if remote:
        return remote
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))
