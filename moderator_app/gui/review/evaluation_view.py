"""The Review tab's evaluation view: how the loaded model does on a labelled file.

The file is measured by core.evaluation.file_evaluation.evaluate_file in a worker (the window stays
responsive, and a moderator's classification goes first between two batches, as with batch
labelling). The view shows metric cards beside the class-prior baseline, the confusion matrix as
coloured cells, the precision–recall curve with the Review tab's threshold as a draggable line, and
the metrics per group of a chosen column. The line is the view's own: it starts at the tab's
threshold, dragging it re-measures the metrics from the probabilities already computed, and only
"Use this threshold for review" moves the tab's slider (and so the open queue's threshold)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QGridLayout, QHBoxLayout, QHeaderView, QLabel,
                               QProgressBar, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from moderator_app.core.evaluation.jobs import Measured, measure_file
from moderator_app.core.evaluation.metrics import Evaluation, degenerate_warning, evaluate, prior_baseline
from moderator_app.core.inference.shared_model import JobCancelled, ModelHandle
from moderator_app.core.training.validation_split import measure_validation_split
from moderator_app.gui.common.errors import describe, show_failure
from moderator_app.gui.common.tasks import BackgroundTasks, ReportingWorker
from moderator_app.gui.review.evaluation_data import VALIDATION_SPLIT, EvaluationData  # noqa: F401 (named here too)
from moderator_app.gui.review.evaluation_widgets import MetricCard, ThresholdCurve, fill_confusion_table, format_number
from moderator_app.gui.review.model_panel import WARNING_STYLE
from moderator_app.gui.review.test_suite_view import TestSuiteView
from moderator_app.gui.review.robustness_section import RobustnessSection

# (key in Evaluation, card title); each card shows the class-prior baseline (metrics.prior_baseline) too
CARDS = (("accuracy", "Accuracy"), ("macro_f1", "Macro F1"), ("roc_auc", "ROC-AUC"),
         ("average_precision", "Average precision"), ("ece", "Calibration error (ECE)"))
GROUP_COLUMNS = ("Group", "Rows", "Accuracy", "Baseline", "Macro F1", "ROC-AUC", "Average precision")


class EvaluationView(QDialog):
    """Evaluate the Review tab's model on a labelled file. `results` is the tab's ResultsPanel: its
    threshold is where the view's own threshold starts, and the "Use this threshold for review"
    button is the one way the view moves it."""

    evaluated = Signal(object)  # Measured

    def __init__(self, handle: ModelHandle, results, file_tasks: BackgroundTasks, path: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Evaluate {Path(handle.model_id).name or handle.model_id}")
        self.handle, self.results, self.file_tasks = handle, results, file_tasks
        self.tasks = BackgroundTasks(self, max_threads=1)
        self.worker: ReportingWorker | None = None
        self.measured: Measured | None = None
        self.error_dialog = None
        self.positive = handle.classifier.positive_index if handle.classifier.is_binary else None
        # the view's own threshold: the line, and what is measured; the tab's stays the moderator's
        self.own_threshold: float | None = results.threshold_value() if self.positive is not None else None
        self._build()
        results.threshold_changed.connect(self._on_tab_threshold_changed)
        if path:
            self.set_path(path)

    # ------------------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.data = EvaluationData(self.handle.classifier.name_or_path, self.file_tasks)
        self.data.ready.connect(lambda ready: self.evaluate_button.setEnabled(ready))
        self.data.status.connect(lambda text: self.status.setText(text))
        self.data.failed.connect(self._failed)
        data = self.data  # its widgets, as the view's (the tests and the layout reach them so)
        self.data_choice, self.path_edit, self.browse_button = data.data_choice, data.path_edit, data.browse_button
        self.text_combo, self.label_combo, self.group_combo = data.text_combo, data.label_combo, data.group_combo
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.clicked.connect(self.run)
        self.evaluate_button.setEnabled(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(12)
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # file names and column names, as they are
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_threshold_button = QPushButton("Use this threshold for review")
        self.use_threshold_button.setToolTip("Move the Review tab's threshold slider (and the open queue's "
                                             "threshold) to this line's threshold")
        self.use_threshold_button.clicked.connect(self.use_for_review)
        self.review_threshold_label = QLabel()
        self.review_threshold_label.setStyleSheet("color: #555;")
        buttons = QHBoxLayout()
        buttons.addWidget(self.evaluate_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.review_threshold_label)
        buttons.addWidget(self.use_threshold_button)

        self.cards = {key: MetricCard(title) for key, title in CARDS}
        cards = QGridLayout()
        for position, card in enumerate(self.cards.values()):
            cards.addWidget(card, 0, position)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.hide()

        self.confusion = QTableWidget()
        self.confusion.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.confusion.setToolTip("Rows: the file's labels; columns: the model's. The diagonal is right.")
        self.curve_plot = ThresholdCurve(self.own_threshold)
        self.precision_line, self.recall_line = self.curve_plot.precision_line, self.curve_plot.recall_line
        self.threshold_line = self.curve_plot.threshold_line
        self.threshold_line.sigPositionChangeFinished.connect(self._on_line_moved)
        self.groups = QTableWidget(0, len(GROUP_COLUMNS))
        self.groups.setHorizontalHeaderLabels(GROUP_COLUMNS)
        self.groups.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.groups.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(self.confusion)
        upper.addWidget(self.curve_plot)
        upper.setSizes([300, 500])
        self.robustness = RobustnessSection(self.handle, self.tasks, self.threshold)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(upper)
        body.addWidget(self.groups)
        self.tests = TestSuiteView(self.handle, self.threshold)  # the functional test suites (issue 23)
        body.addWidget(self.tests)
        body.addWidget(self.robustness)
        body.setSizes([380, 200, 260, 200])
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.data)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addLayout(cards)
        layout.addWidget(self.warning)
        layout.addWidget(body, 1)
        layout.addWidget(close)
        self.curve_plot.setVisible(self.positive is not None)
        self.use_threshold_button.setVisible(self.positive is not None)
        self.review_threshold_label.setVisible(self.positive is not None)
        self._show_threshold_state()
        self.resize(960, 760)

    def set_path(self, path: str) -> None:
        """Read the file's columns (in the background) and guess the text and label columns."""
        self.data.set_path(path)

    def validation_chosen(self) -> bool:
        return self.data.validation_chosen()

    # ------------------------------------------------------------------------------ the job
    def threshold(self) -> float | None:
        """The view's own threshold (binary models), which the metrics are measured at."""
        return self.own_threshold if self.positive is not None else None

    def run(self) -> None:
        """Evaluate the file at the Review tab's threshold, in the background."""
        self.cancel()
        path = self.data.path()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.evaluate_button.setEnabled(False)
        self.status.setText(f"Evaluating {self.handle.model_id} on {Path(path).name}…")
        if self.validation_chosen():
            self.status.setText(f"Reading and splitting the training data of {self.handle.model_id}, then "
                                "evaluating…")
            worker = ReportingWorker(measure_validation_split, self.handle, self.data.by_source(), self.threshold())
        else:
            worker = ReportingWorker(measure_file, self.handle, path, self.text_combo.currentText(),
                                     self.label_combo.currentText(), self.group_combo.currentData() or "",
                                     self.threshold())
        self.worker = worker
        self.tasks.start(worker, key="evaluate", on_progress=self._progress,
                         on_done=lambda measured: self._done(measured, worker),
                         on_error=lambda error: self._job_failed(error, worker))

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.tasks.forget("evaluate")
            self._ended()
            self.status.setText("Evaluation cancelled.")

    def _progress(self, done: int) -> None:
        self.progress.setFormat(f"{done:,} rows")

    def _ended(self) -> None:
        self.worker = None
        self.progress.hide()
        self.cancel_button.hide()
        self.evaluate_button.setEnabled(self.data.can_evaluate())

    def _done(self, measured: Measured, worker) -> None:
        if worker is not self.worker:
            return
        self._ended()
        self.measured = measured
        self.status.setText(measured.evaluation.data.describe())
        self._draw_curve()
        self.show_evaluation(measured.evaluation.result)
        data = measured.evaluation.data
        self.robustness.set_rows(data.texts, data.labels, measured.probabilities)
        self.evaluated.emit(measured)

    def _job_failed(self, error: BaseException, worker) -> None:
        if worker is self.worker:
            self._ended()
            self._failed(error)

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, JobCancelled):
            return
        self.status.setText(describe(error).message)
        self.error_dialog = show_failure(self, error, "Cannot evaluate")

    # ------------------------------------------------------------------------------ showing
    def show_evaluation(self, result: Evaluation) -> None:
        """Cards, warning, confusion matrix and per-group table of `result`."""
        truth = self.measured.evaluation.data.labels
        baseline = prior_baseline(truth, result.labels)
        for key, card in self.cards.items():
            card.show_values(getattr(result, key), getattr(baseline, key))
        warning = degenerate_warning(result)
        self.warning.setText(f"Warning: {warning}" if warning else "")
        self.warning.setVisible(bool(warning))
        self._show_confusion(result)
        self._show_groups(result)
        if result.threshold is not None:  # setValue redraws its label; the tab's slider is not touched
            self.threshold_line.setValue(result.threshold)

    def _show_confusion(self, result: Evaluation) -> None:
        fill_confusion_table(self.confusion, result)

    def _show_groups(self, result: Evaluation) -> None:
        groups = result.by
        self.groups.setRowCount(len(groups))
        for row, (group, scores) in enumerate(groups.items()):
            values = (group, f"{scores.n:,}", format_number(scores.accuracy), format_number(scores.majority_baseline),
                      format_number(scores.macro_f1), format_number(scores.roc_auc), format_number(scores.average_precision))
            for column, value in enumerate(values):
                self.groups.setItem(row, column, QTableWidgetItem(value))
        self.groups.setVisible(bool(groups))

    def _draw_curve(self) -> None:
        if self.positive is not None and self.measured is not None:
            truth = np.asarray(self.measured.evaluation.data.labels) == self.handle.classifier.labels[self.positive]
            self.curve_plot.draw(truth, self.measured.probabilities[:, self.positive])

    # ------------------------------------------------------------------------------ threshold
    def _on_line_moved(self) -> None:
        """The line was dragged: the view's own threshold moves and the metrics follow; the tab's stays."""
        self.own_threshold = float(self.threshold_line.value())
        self._show_threshold_state()
        self._remeasure()
        self.tests.remeasure()

    def use_for_review(self) -> None:
        """The moderator's choice: the Review tab's slider (and the open queue) takes the view's threshold."""
        if self.own_threshold is not None:
            self.results.set_threshold(self.own_threshold)
        self._show_threshold_state()

    def _on_tab_threshold_changed(self) -> None:
        self.tests.remeasure()
        self._show_threshold_state()

    def _show_threshold_state(self) -> None:
        if self.positive is None or self.own_threshold is None:
            return
        review = self.results.threshold_value()
        self.review_threshold_label.setText(f"Review uses {review:.2f}; this view {self.own_threshold:.2f}")
        self.use_threshold_button.setEnabled(abs(review - self.own_threshold) > 1e-9)

    def _remeasure(self) -> None:
        if self.measured is None or self.positive is None:
            return
        data = self.measured.evaluation.data
        result = evaluate(data.labels, self.measured.probabilities, self.handle.classifier.labels,
                          threshold=self.threshold(), groups=data.groups)
        self.show_evaluation(result)

    def done(self, result: int) -> None:
        self.cancel()
        self.tests.cancel()
        self.robustness.cancel()
        try:
            self.results.threshold_changed.disconnect(self._on_tab_threshold_changed)
        except (RuntimeError, TypeError):  # already disconnected
            pass
        super().done(result)
