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
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGridLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton, QSplitter,
                               QTableWidget, QTableWidgetItem, QToolButton, QVBoxLayout, QWidget)

from moderator_app.core.evaluation.calibration import pr_curve_points
from moderator_app.core.evaluation.jobs import Measured, file_columns, measure_file
from moderator_app.core.evaluation.metrics import Evaluation, degenerate_warning, evaluate, prior_baseline
from moderator_app.core.files.columns import guess_label_column, guess_text_column
from moderator_app.core.inference.shared_model import JobCancelled, ModelHandle
from moderator_app.core.training.validation_split import SOURCE_GROUP, has_training_config, measure_validation_split
from moderator_app.gui.review.evaluation_widgets import MetricCard, fill_confusion_table, format_number
from moderator_app.gui.common import settings
from moderator_app.gui.common.errors import describe, show_failure
from moderator_app.gui.common.tasks import BackgroundTasks, ReportingWorker
from moderator_app.gui.review.input_panel import IMPORT_FILTER
from moderator_app.gui.review.model_panel import WARNING_STYLE
from moderator_app.gui.review.test_suite_view import TestSuiteView
from moderator_app.gui.review.robustness_section import RobustnessSection

NO_GROUP = "(none)"
LABELLED_FILE, VALIDATION_SPLIT = "file", "validation"
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
        self.data_choice = QComboBox()
        self.data_choice.addItem("A labelled file", LABELLED_FILE)
        if has_training_config(self.handle.classifier.name_or_path):  # a model trained here
            self.data_choice.addItem("The model's validation split", VALIDATION_SPLIT)
        self.data_choice.setEnabled(self.data_choice.count() > 1)
        self.data_choice.setToolTip("The validation split is read and split again from the model's training "
                                    "configuration, as its training run did")
        self.data_choice.currentIndexChanged.connect(self._data_chosen)
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("a labelled file: CSV, TSV, JSON Lines or Parquet (press Enter)")
        # Enter, not every focus change: re-reading the columns would undo the moderator's choices
        self.path_edit.returnPressed.connect(lambda: self.set_path(self.path_edit.text().strip()))
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose a labelled file…")
        browse.clicked.connect(self.browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.text_combo, self.label_combo, self.group_combo = QComboBox(), QComboBox(), QComboBox()
        self.group_combo.setToolTip("Also measure the model on each value of this column (a source, a target "
                                    "group, a test-case type)")
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
        form = QFormLayout()
        form.addRow("Data", self.data_choice)
        form.addRow("Labelled file", path_row)
        form.addRow("Text column", self.text_combo)
        form.addRow("Label column", self.label_combo)
        form.addRow("Group by", self.group_combo)
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
        self.curve_plot = pg.PlotWidget()
        self.curve_plot.setBackground("w")
        self.curve_plot.setLabel("bottom", "threshold")
        self.curve_plot.setLabel("left", "precision / recall")
        self.curve_plot.setXRange(0, 1)
        self.curve_plot.setYRange(0, 1.02)
        self.curve_plot.addLegend(offset=(-10, 10))
        self.precision_line = self.curve_plot.plot([], [], pen=pg.mkPen("#1565c0", width=2), name="precision")
        self.recall_line = self.curve_plot.plot([], [], pen=pg.mkPen("#e65100", width=2), name="recall")
        self.threshold_line = pg.InfiniteLine(angle=90, movable=True, bounds=(0, 1),
                                              pen=pg.mkPen("#333", width=2, style=Qt.PenStyle.DashLine),
                                              label="threshold {value:.2f}",
                                              labelOpts={"position": 0.1, "color": "#333"})
        self.threshold_line.sigPositionChangeFinished.connect(self._on_line_moved)
        self.curve_plot.addItem(self.threshold_line)
        self.curve_plot.setToolTip("The flagged label's precision and recall on this file at each threshold. "
                                   "Drag the line to measure another threshold; the Review tab keeps its own "
                                   "until you press “Use this threshold for review”.")
        if self.own_threshold is not None:
            self.threshold_line.setValue(self.own_threshold)
        self.browse_button = browse
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
        layout.addLayout(form)
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

    # ------------------------------------------------------------------------------ the file
    def browse(self) -> None:
        start = self.path_edit.text() or settings.last_folder("data")
        path, _ = QFileDialog.getOpenFileName(self, "Choose a labelled file", start, IMPORT_FILTER)
        if path:
            settings.remember_folder("data", path)
            self.set_path(path)

    def set_path(self, path: str) -> None:
        """Read the file's columns (in the background) and guess the text and label columns."""
        self.path_edit.setText(path)
        self.evaluate_button.setEnabled(False)
        if not path:
            return
        self.status.setText(f"Reading the columns of {Path(path).name}…")
        self.file_tasks.submit(file_columns, path, key="evaluation-columns",
                               on_done=self._show_columns, on_error=self._failed)

    def _show_columns(self, columns: list[str]) -> None:
        text, label = guess_text_column(columns), guess_label_column(columns)
        for combo, guess in ((self.text_combo, text), (self.label_combo, label)):
            combo.clear()
            combo.addItems(columns)
            if guess is not None:
                combo.setCurrentText(guess)
        if self.validation_chosen():  # the moderator switched to the validation split meanwhile
            return
        self.group_combo.clear()
        self.group_combo.addItem(NO_GROUP, "")
        for column in columns:
            self.group_combo.addItem(column, column)
        self.status.setText("" if label is not None else "Choose the column that holds the correct labels.")
        self.evaluate_button.setEnabled(True)

    def validation_chosen(self) -> bool:
        return self.data_choice.currentData() == VALIDATION_SPLIT

    def _data_chosen(self) -> None:
        validation = self.validation_chosen()
        for widget in (self.path_edit, self.browse_button, self.text_combo, self.label_combo):
            widget.setEnabled(not validation)
        self.group_combo.clear()
        self.group_combo.addItem(NO_GROUP, "")
        if validation:
            self.group_combo.addItem("source (several training sources)", SOURCE_GROUP)
            self.evaluate_button.setEnabled(True)
            self.status.setText("")
        else:
            self.set_path(self.path_edit.text().strip())

    # ------------------------------------------------------------------------------ the job
    def threshold(self) -> float | None:
        """The view's own threshold (binary models), which the metrics are measured at."""
        return self.own_threshold if self.positive is not None else None

    def run(self) -> None:
        """Evaluate the file at the Review tab's threshold, in the background."""
        self.cancel()
        path = self.path_edit.text().strip()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.evaluate_button.setEnabled(False)
        self.status.setText(f"Evaluating {self.handle.model_id} on {Path(path).name}…")
        if self.validation_chosen():
            self.status.setText(f"Reading and splitting the training data of {self.handle.model_id}, then "
                                "evaluating…")
            by_source = self.group_combo.currentData() == SOURCE_GROUP
            worker = ReportingWorker(measure_validation_split, self.handle, by_source, self.threshold())
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
        self.evaluate_button.setEnabled(self.validation_chosen() or bool(self.path_edit.text().strip()))

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
        if self.positive is None or self.measured is None:
            return
        truth = np.asarray(self.measured.evaluation.data.labels) == self.handle.classifier.labels[self.positive]
        scores = self.measured.probabilities[:, self.positive]
        if truth.all() or not truth.any():  # one class only: no curve
            self.precision_line.setData([], [])
            self.recall_line.setData([], [])
            return
        points = pr_curve_points(truth, scores)
        thresholds = [point["threshold"] for point in points]
        self.precision_line.setData(thresholds, [point["precision"] for point in points])
        self.recall_line.setData(thresholds, [point["recall"] for point in points])

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
