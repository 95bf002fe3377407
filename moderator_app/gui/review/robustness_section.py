"""The evaluation view's robustness section: the model on obfuscated copies of the evaluated rows.

After an evaluation, *Measure robustness* classifies a seeded copy of every row per obfuscation family
(core/evaluation/robustness, as `moderator-app evaluate --robustness`) in the background, at the Review
tab's threshold, and shows accuracy and the flagged label's recall per family beside the clean rows."""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from moderator_app.core.evaluation.robustness import RobustnessReport, measure_robustness
from moderator_app.core.inference.shared_model import JobCancelled
from moderator_app.gui.common.errors import describe
from moderator_app.gui.common.tasks import BackgroundTasks, ReportingWorker
from moderator_app.gui.review.evaluation_widgets import format_number

COLUMNS = ("Texts", "Rows", "Changed", "Accuracy", "Recall", "Δ recall")
KEY = "robustness"


class RobustnessSection(QGroupBox):
    """`set_rows` after each evaluation; the button measures them (the model's shared handle, `tasks`) at
    `threshold()`, the Review tab's threshold (None: the most probable label)."""

    def __init__(self, handle, tasks: BackgroundTasks, threshold: Callable[[], float | None],
                 parent: QWidget | None = None):
        super().__init__("Robustness to evasion", parent)
        self.handle, self.tasks, self.threshold = handle, tasks, threshold
        self.rows: tuple | None = None  # texts, labels, their clean probabilities
        self.worker: ReportingWorker | None = None
        self.report: RobustnessReport | None = None
        self.measure_button = QPushButton("Measure robustness")
        self.measure_button.setToolTip("Classify a copy of every evaluated row obfuscated as abusers do — letters "
                                       "swapped or dropped, spaces, leetspeak, look-alike letters, zero-width "
                                       "characters (seeded, labels kept) — and compare with the clean rows")
        self.measure_button.setEnabled(False)
        self.measure_button.clicked.connect(self.measure)
        self.status = QLabel("Evaluate a file first.")
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.hide()
        top = QHBoxLayout()
        top.addWidget(self.measure_button)
        top.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table)

    def set_rows(self, texts, labels, probabilities) -> None:
        """The rows just evaluated (their clean probabilities are reused); a shown report is of older rows."""
        self.cancel()
        self.rows = (list(texts), list(labels), probabilities)
        self.measure_button.setEnabled(True)
        self.table.hide()
        self.status.setText(f"{len(self.rows[0]):,} rows, {len(self.rows[0]) * 6:,} obfuscated copies to classify.")

    def measure(self) -> None:
        if self.rows is None:
            return
        self.cancel()
        texts, labels, probabilities = self.rows
        worker = ReportingWorker(measure_robustness, self.handle, texts, labels, self.threshold(), probabilities)
        self.worker = worker
        self.measure_button.setEnabled(False)
        self.status.setText("Classifying the obfuscated copies…")
        self.tasks.start(worker, key=KEY, on_progress=lambda done: self.status.setText(
                             f"Classifying the obfuscated copies… {done:,} of {len(texts) * 6:,}"),
                         on_done=lambda report: self._done(report, worker),
                         on_error=lambda error: self._failed(error, worker))

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.tasks.forget(KEY)
            self.worker = None
            self.measure_button.setEnabled(self.rows is not None)

    def _done(self, report: RobustnessReport, worker) -> None:
        if worker is not self.worker:
            return
        self.worker, self.report = None, report
        self.measure_button.setEnabled(True)
        clean = report.clean
        decision = "the most probable label" if report.threshold is None else f"threshold {report.threshold:.2f}"
        self.status.setText(f"At {decision}; recall of '{report.positive_label or '—'}'. The model's text "
                            f"normalisation: {report.normalisation}.")
        self.table.setRowCount(len(report.rows))
        for line, row in enumerate(report.rows):
            gap = ("" if row is clean or row.recall is None or clean.recall is None
                   else f"{row.recall - clean.recall:+.3f}")
            values = (row.description, f"{row.n:,}", f"{row.changed:,}", format_number(row.accuracy),
                      format_number(row.recall), gap)
            for column, value in enumerate(values):
                self.table.setItem(line, column, QTableWidgetItem(value))
        self.table.show()

    def _failed(self, error: BaseException, worker) -> None:
        if worker is not self.worker:
            return
        self.worker = None
        self.measure_button.setEnabled(True)
        if not isinstance(error, JobCancelled):
            self.status.setText(describe(error).message)
