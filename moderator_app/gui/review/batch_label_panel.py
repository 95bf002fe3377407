"""Progress and outcome of batch-labelling a file: a progress bar with rows/s and time left, Cancel,
then a summary and "Open output folder"."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QStyle, QVBoxLayout, QWidget

from moderator_app.gui.common.fields import ERROR_COLOR
from moderator_app.gui.common.formatting import duration
from moderator_app.gui.review.workers import BatchRequest


def short_summary(summary) -> str:
    """LabelSummary.describe() without the two paths (the panel names the files), then where it went."""
    text = summary.describe().replace(f" of {summary.input_path} into {summary.output_path}", "", 1)
    return f"{text}\nWritten to {summary.output_path}"


class BatchLabelPanel(QGroupBox):
    cancel_requested = Signal()

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

    def begin(self, request: BatchRequest) -> None:
        self.request = request
        self.state = "running"
        self.started = time.monotonic()
        self.updates = 0
        threshold = "" if request.threshold is None else f", threshold {request.threshold:.2f}"
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

    def update_progress(self, done: int, total: int | None, rate: float) -> None:
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
            self.cancel_requested.emit()

    def finish(self, summary) -> None:
        self.state = "finished"
        self.progress.setRange(0, max(summary.rows, 1))
        self.progress.setValue(max(summary.rows, 1))
        self.progress.setFormat(f"{summary.rows:,} rows")
        self.rate.setText(f"Done in {duration(summary.seconds)}.")
        self.summary.setText(short_summary(summary))
        self.summary.setToolTip(summary.describe())
        self.cancel_button.hide()
        self.open_folder_button.show()

    def cancelled(self) -> None:
        self.state = "cancelled"
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("cancelled")
        self.rate.setText("")
        self.summary.setText("Cancelled: nothing was written.")
        self.cancel_button.hide()

    def failed(self, message: str) -> None:
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
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self.request.output_path).resolve().parent)))
