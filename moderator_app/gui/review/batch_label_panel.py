"""Batch-labelling a file: runs the labeller (gui.review.workers.label_batch) in a superqt worker of its
own, shows a progress bar with rows/s and time left (at most ten updates a second), Cancel, then a
summary and "Open output folder"."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QStyle,
                               QVBoxLayout, QWidget)

from superqt.utils import qthrottled

from moderator_app.core.inference.labelling import LabellingError, check_output_path
from moderator_app.core.inference.shared_model import ModelHandle
from moderator_app.gui.common import dialogs
from moderator_app.gui.common.errors import describe, show_failure
from moderator_app.gui.common.fields import ERROR_COLOR
from moderator_app.gui.common.formatting import duration
from moderator_app.gui.common.tasks import BackgroundTasks, ReportingWorker
from moderator_app.gui.review.workers import BatchRequest, default_batch_output, is_text_file, label_batch

PROGRESS_INTERVAL_MS = 100


def short_summary(summary) -> str:
    """LabelSummary.describe() without the two paths (the panel names the files), then where it went."""
    text = summary.describe().replace(f" of {summary.input_path} into {summary.output_path}", "", 1)
    return f"{text}\nWritten to {summary.output_path}"


class BatchLabelPanel(QGroupBox):
    ended = Signal(str)  # "finished", "cancelled" or "failed"
    status_message = Signal(str)
    failed_with = Signal(object)  # the exception, for an error box

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Batch labelling", parent)
        self.files = QLabel()
        self.files.setWordWrap(True)
        self.files.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.rate = QLabel()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cancel_button = QPushButton(self.style().standardIcon(QStyle.StandardPixmap.SP_DialogCancelButton),
                                         "Cancel")
        self.cancel_button.setToolTip("Stop labelling; nothing is written (an existing output file stays as it was)")
        self.cancel_button.clicked.connect(self._cancel)
        self.open_folder_button = QPushButton(self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon),
                                              "Open output folder")
        self.open_folder_button.clicked.connect(self.open_output_folder)
        self.open_folder_button.hide()
        self.request: BatchRequest | None = None
        self.tasks = BackgroundTasks(self, max_threads=1)
        self.worker: ReportingWorker | None = None
        self.error_dialog = None
        self.state = "idle"  # running, finished, cancelled, failed
        self.started = 0.0
        self.updates = 0  # progress updates shown (the throttling is tested)

        buttons = QHBoxLayout()
        buttons.addWidget(self.rate, 1)
        buttons.addWidget(self.open_folder_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setSpacing(4)
        layout.addWidget(self.files)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)
        layout.addWidget(self.summary)
        self.hide()

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def label_file(self, handle: ModelHandle, threshold: float | None, path: str, column: str | None = None,
                   output: str | None = None, overwrite: bool = False, chunk_rows: int | None = None,
                   threshold_source: str | None = None, category_thresholds: dict[str, float] | None = None) -> bool:
        """Label every row of `path` into `output` (asked for when None), a multi-label model's categories
        at `category_thresholds`; False when it did not start."""
        if self.busy:
            self.error_dialog = dialogs.show_error(self, "Batch labelling is running",
                                                   "Wait for the current file to finish, or cancel it.")
            return False
        if output is None:
            suggested = default_batch_output(path)
            output, _ = QFileDialog.getSaveFileName(self, "Write the labelled file to", str(suggested),
                                                    f"Same format as the input (*{suggested.suffix})")
            if not output:
                return False
            overwrite = Path(output).exists()  # the file dialog has asked already
        try:
            check_output_path(path, output, overwrite)
            if is_text_file(path) and Path(output).suffix.lower() != ".csv":
                raise LabellingError(f"{output}: a TXT file is labelled into a CSV file; give the output a "
                                     ".csv name.")
        except LabellingError as error:
            self.error_dialog = show_failure(self, error, "Cannot batch-label")
            return False
        request = BatchRequest(path, str(output), column or None, threshold, overwrite,
                               threshold_source=threshold_source, category_thresholds=category_thresholds)
        if chunk_rows:
            request.chunk_rows = chunk_rows
        self.start(handle, request)
        return True

    def start(self, handle: ModelHandle, request: BatchRequest) -> None:
        """Label `request.input_path` with the shared model in the background."""
        self.begin(request)
        self.worker = self.tasks.start(ReportingWorker(label_batch, handle, request), on_done=self.finish,
                                       on_error=self._on_error, on_progress=self.update_progress,
                                       on_finished=self._on_worker_finished)
        self.status_message.emit(f"Batch-labelling {request.input_path}…")

    def cancel(self) -> None:
        """Stop after the current batch; nothing is written."""
        if self.worker is not None:
            self.worker.cancel()
            self.status_message.emit("Cancelling the batch labelling…")

    def wait(self, msecs: int) -> bool:
        return self.tasks.wait(msecs)

    def _on_error(self, error: BaseException) -> None:
        from moderator_app.core.inference.labelling import LabellingCancelled

        if isinstance(error, LabellingCancelled):
            self.cancelled()
            self.status_message.emit("Batch labelling cancelled; nothing was written.")
            return
        self.failed(describe(error).message)
        self.status_message.emit("Batch labelling failed.")
        self.failed_with.emit(error)

    def _on_worker_finished(self) -> None:
        self.worker = None
        self.ended.emit(self.state)

    def begin(self, request: BatchRequest) -> None:
        self.request = request
        self.state = "running"
        self.started = time.monotonic()
        self.updates = 0
        threshold = ", the most probable label" if request.threshold is None else f", threshold {request.threshold:.2f}"
        if request.category_thresholds:
            threshold = ", thresholds " + ", ".join(f"{name} {value:.2f}" for name, value in
                                                    request.category_thresholds.items())
        column = f", column {request.text_column}" if request.text_column else ""
        self.files.setText(f"{Path(request.input_path).name} → {Path(request.output_path).name}{column}{threshold}")
        self.files.setToolTip(f"{request.input_path}\n→ {request.output_path}")
        self.progress.setRange(0, 0)
        self.progress.setFormat("")
        self.rate.setText("Reading the file…")
        self.summary.clear()
        self.summary.setStyleSheet("")
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        self.open_folder_button.hide()
        self.show()

    @qthrottled(timeout=PROGRESS_INTERVAL_MS)
    def update_progress(self, done: int, total: int | None, rate: float) -> None:
        if not self.running:
            return
        self.updates += 1
        if total:
            if self.progress.maximum() != total:
                self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            self.progress.setFormat(f"%p %  ({done:,} of {total:,} rows)")
            left = (total - done) / rate if rate > 0 else float("nan")
            self.rate.setText(f"{rate:,.0f} rows/s · {duration(left)} left")
        else:
            self.progress.setFormat(f"{done:,} rows")
            self.rate.setText(f"{rate:,.0f} rows/s")

    def _cancel(self) -> None:
        if self.running:
            self.cancel_button.setEnabled(False)
            self.rate.setText("Cancelling…")
            self.cancel()

    def finish(self, summary) -> None:
        self.update_progress.cancel()
        self.state = "finished"
        self.status_message.emit(summary.describe())
        self.progress.setRange(0, max(summary.rows, 1))
        self.progress.setValue(max(summary.rows, 1))
        self.progress.setFormat(f"{summary.rows:,} rows")
        self.rate.setText(f"Done in {duration(summary.seconds)}.")
        self.summary.setText(short_summary(summary))
        self.summary.setToolTip(summary.describe())
        self.cancel_button.hide()
        self.open_folder_button.show()

    def cancelled(self) -> None:
        self.update_progress.cancel()
        self.state = "cancelled"
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("cancelled")
        self.rate.setText("")
        self.summary.setText("Cancelled: nothing was written.")
        self.cancel_button.hide()

    def failed(self, message: str) -> None:
        self.update_progress.cancel()
        self.state = "failed"
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("failed")
        self.rate.setText("")
        self.summary.setText(f"{message}\nNothing was written.")
        self.summary.setStyleSheet(f"color: {ERROR_COLOR.name()};")
        self.cancel_button.hide()

    def open_output_folder(self) -> None:
        if self.request is not None:
            self.error_dialog = dialogs.show_folder(self, Path(self.request.output_path).resolve().parent,
                                                    "The output folder")
