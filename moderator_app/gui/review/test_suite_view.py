"""The evaluation view's Tests section: run a functional test suite (core.evaluation.suites) on the loaded
model, optionally beside another model folder, in the background; show the pass rate per functionality
with counts, the failing cases and, with another model, the cases that newly fail or newly pass.

The suite runs through the one worker idiom (gui/common/tasks.py) with the shared, batch-gated model;
its probabilities are kept, so a move of the Review tab's threshold re-decides the cases at once. A
multi-label model (in the per-category evaluation, category_evaluation.py) is measured at the Review
tab's category thresholds: a case passes when the flagged set is its expected set, the table adds each
category's rates on the cases expecting it (yes) and not (no), and moving a category's threshold
re-decides the cases likewise."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QToolButton,
                               QVBoxLayout, QWidget)

from moderator_app.core.evaluation.suite_jobs import SuiteRun, measure_suite, rescore
from moderator_app.core.inference.shared_model import JobCancelled, ModelHandle
from moderator_app.gui.common import settings
from moderator_app.gui.common.errors import describe, show_failure
from moderator_app.gui.common.tasks import BackgroundTasks, ReportingWorker
from moderator_app.gui.review.input_panel import IMPORT_FILTER

FAILING, NEWLY_FAILING, NEWLY_PASSING = "failing", "newly failing", "newly passing"
CASE_COLUMNS = ("Functionality", "Text", "Expected", "Predicted", "Score")
WORSE, BETTER = QColor(253, 225, 222), QColor(220, 242, 220)


class TestSuiteView(QGroupBox):
    """`threshold()` is the decision the loaded model is measured at (the Review tab's slider; a
    multi-label model: its thresholds per category, those not named at the model's own)."""

    __test__ = False  # not a pytest class, whatever imports it

    def __init__(self, handle: ModelHandle, threshold: Callable[[], float | dict[str, float] | None],
                 parent: QWidget | None = None):
        super().__init__("Tests", parent)
        self.handle, self.threshold = handle, threshold
        self.tasks = BackgroundTasks(self, max_threads=1)
        self.worker: ReportingWorker | None = None
        self.run_result: SuiteRun | None = None
        self.other_model = None  # the comparison model, loaded once per folder
        self.error_dialog = None
        self.suite_edit, suite_row = self._path_row("a test suite: text, label, functionality (press Enter)",
                                                    "Choose a test suite…", self.browse_suite)
        self.other_edit, other_row = self._path_row("optional: another model folder to compare with",
                                                    "Choose a model folder…", self.browse_other)
        self.run_button = QPushButton("Run tests")
        self.run_button.clicked.connect(self.run)
        self.suite_edit.returnPressed.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(12)
        self.progress.hide()
        self.status = QLabel("Run the team's own cases: the pass rate per functionality, and the failing cases.")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.functionalities = _table(["Functionality", "Passed", "Cases", "Pass rate"])
        self.case_choice = QComboBox()
        self.case_choice.addItem("Failing cases", FAILING)
        self.case_choice.currentIndexChanged.connect(self._show_cases)
        self.cases = _table(list(CASE_COLUMNS))

        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        cases = QWidget()
        cases_layout = QVBoxLayout(cases)
        cases_layout.setContentsMargins(0, 0, 0, 0)
        cases_layout.addWidget(self.case_choice)
        cases_layout.addWidget(self.cases, 1)
        tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(self.functionalities)
        tables.addWidget(cases)
        tables.setSizes([380, 520])
        layout = QVBoxLayout(self)
        layout.addLayout(suite_row)
        layout.addLayout(other_row)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(tables, 1)

    def _path_row(self, placeholder: str, tip: str, browse) -> tuple[QLineEdit, QHBoxLayout]:
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        button = QToolButton()
        button.setText("…")
        button.setToolTip(tip)
        button.clicked.connect(browse)
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(button)
        return edit, row

    def browse_suite(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a test suite", settings.last_folder("data"), IMPORT_FILTER)
        if path:
            settings.remember_folder("data", path)
            self.suite_edit.setText(path)

    def browse_other(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a model to compare with", settings.last_folder("model"))
        if path:
            settings.remember_folder("model", path)
            self.other_edit.setText(path)

    # ------------------------------------------------------------------------------ the job
    def run(self) -> None:
        path, other = self.suite_edit.text().strip(), self.other_edit.text().strip()
        if not path:
            self.status.setText("Choose a test suite first.")
            return
        self.cancel()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.run_button.setEnabled(False)
        self.status.setText(f"Running {Path(path).name}" + (" on both models…" if other else "…"))
        worker = ReportingWorker(measure_suite, self.handle, path, self.threshold(), other, self.other_model)
        self.worker = worker
        self.tasks.start(worker, key="tests", on_progress=lambda done: self.progress.setFormat(f"{done:,} cases"),
                         on_done=lambda run: self._done(run, worker),
                         on_error=lambda error: self._failed(error, worker))

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.tasks.forget("tests")
            self._ended()
            self.status.setText("Tests cancelled.")

    def _ended(self) -> None:
        self.worker = None
        self.progress.hide()
        self.cancel_button.hide()
        self.run_button.setEnabled(True)

    def _done(self, run: SuiteRun, worker) -> None:
        if worker is not self.worker:
            return
        self._ended()
        self.other_model = run.other_model or self.other_model
        self.show_run(run)

    def _failed(self, error: BaseException, worker) -> None:
        if worker is not self.worker:
            return
        self._ended()
        if isinstance(error, JobCancelled):
            return
        self.status.setText(describe(error).message)
        self.error_dialog = show_failure(self, error, "Cannot run the tests")

    def remeasure(self) -> None:
        """The Review tab's threshold moved: decide the cases again from the kept probabilities."""
        classifier = self.handle.classifier
        if self.run_result is not None and (classifier.is_binary or classifier.multi_label):
            self.show_run(rescore(self.run_result, self.handle, self.threshold()))

    # ------------------------------------------------------------------------------ showing
    def show_run(self, run: SuiteRun) -> None:
        self.run_result = run
        result, comparison = run.result, run.comparison
        decision = ("the most probable label" if result.threshold is None
                    else f"P({result.positive_label}) ≥ {result.threshold:.2f}")
        if result.multi_label:
            decision = "each category at its threshold (" + ", ".join(
                f"{name} {value:.2f}" for name, value in result.category_thresholds.items()) + ")"
        text = f"{result.suite.describe()}. Passed {result.overall.describe()} at {decision}."
        if run.other is not None:
            text += (f" {Path(run.other.model).name} (at its own operating point): {run.other.overall.describe()}; "
                     f"{len(comparison.newly_failing)} cases newly fail, {len(comparison.newly_passing)} newly pass.")
        self.status.setText(text)
        headers = ["Functionality", "Passed", "Cases", "Pass rate"]
        if run.other is not None:
            headers += [f"{Path(run.other.model).name or 'other'}", "Change"]
        self.functionalities.setColumnCount(len(headers))
        self.functionalities.setHorizontalHeaderLabels(headers)
        rows = list(result.functionalities.items()) + [("all", result.overall)] + category_rows(result)
        other = (dict(run.other.functionalities, all=run.other.overall, **dict(category_rows(run.other)))
                 if run.other is not None else {})
        self.functionalities.setRowCount(len(rows))
        for row, (name, count) in enumerate(rows):
            cells = [name, str(count.passed), str(count.total), f"{count.rate:.1%}"]
            if name in other:
                change = count.rate - other[name].rate
                cells += [f"{other[name].rate:.1%}", f"{change * 100:+.1f}"]
            for column, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if name in other and abs(count.rate - other[name].rate) > 1e-9:
                    item.setBackground(BETTER if count.rate > other[name].rate else WORSE)
                self.functionalities.setItem(row, column, item)
        current = self.case_choice.currentData()
        self.case_choice.blockSignals(True)
        while self.case_choice.count() > 1:
            self.case_choice.removeItem(1)
        if comparison is not None:
            self.case_choice.addItem(f"Newly failing ({len(comparison.newly_failing)})", NEWLY_FAILING)
            self.case_choice.addItem(f"Newly passing ({len(comparison.newly_passing)})", NEWLY_PASSING)
        self.case_choice.setItemText(0, f"Failing cases ({len(result.failures)})")
        self.case_choice.setCurrentIndex(max(0, self.case_choice.findData(current)))
        self.case_choice.blockSignals(False)
        self._show_cases()

    def _show_cases(self) -> None:
        run = self.run_result
        if run is None:
            return
        choice = self.case_choice.currentData()
        if choice == FAILING:
            outcomes = run.result.failures
        else:
            pairs = run.comparison.newly_failing if choice == NEWLY_FAILING else run.comparison.newly_passing
            outcomes = [new for _old, new in pairs]
        label = run.result.positive_label
        self.cases.setHorizontalHeaderLabels([*CASE_COLUMNS[:-1], f"P({label})" if label else
                                              "Probabilities" if run.result.multi_label else "Score"])
        self.cases.setRowCount(len(outcomes))
        for row, outcome in enumerate(outcomes):
            case = outcome.case
            score = (", ".join(f"{name} {value:.3f}" for name, value in outcome.probabilities.items())
                     if outcome.probabilities is not None else f"{outcome.score:.3f}")
            values = [case.functionality, case.text, case.expected, outcome.predicted, score]
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column == 1 and case.template:
                    item.setToolTip(f"From the template {case.template!r} (row {case.row})")
                self.cases.setItem(row, column, item)

    def shown_cases(self) -> list[list[str]]:
        return [[self.cases.item(row, column).text() for column in range(self.cases.columnCount())]
                for row in range(self.cases.rowCount())]


def category_rows(result) -> list[tuple[str, object]]:
    """A multi-label result's per-category rates as rows of the functionality table: 'hate: expected
    yes' (the cases expecting hate that flag it) and 'hate: expected no' (those expecting no hate that
    do not flag it)."""
    return [(f"{name}: expected {side}", count) for name, sides in result.by_category.items()
            for side, count in sides.items()]


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table
