"""The Review tab's evaluation per category for a multi-label model: the model against the moderators'
sets of categories, decided in the open table (core.review.category_figures) — per category the items
decided, how many the moderators said it applies to, how many the model flagged and how many of those
they confirmed, and the model's precision, recall and F1 beside the F1 of flagging every item (the
prevalence baseline). Measured on a background thread from a copy of the table's decisions; Refresh
measures again after more decisions. *On a labelled file…* measures the model on a file instead
(core.evaluation.category_evaluation: each category on the rows whose label for it is known, its yes/no
column named like the category, as `label` writes and the decisions export), sharing the model with the
moderator's classifications as batch labelling does. Its Tests section (test_suite_view.py) runs a
functional test suite of expected sets of categories at the Review tab's category thresholds, and decides
the cases again when one of them moves (`thresholds_moved`)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QHeaderView, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from moderator_app.core.evaluation.category_evaluation import evaluate_category_file
from moderator_app.core.inference.shared_model import GatedClassifier
from moderator_app.core.review.category_figures import CategoryFigures, category_figures, session_decided_sets
from moderator_app.gui.common.errors import describe
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.review.input_panel import IMPORT_FILTER
from moderator_app.gui.review.test_suite_view import TestSuiteView

COLUMNS = ("Category", "Decided", "Moderators: yes", "Model flagged", "Confirmed", "Precision", "Recall", "F1",
           "F1 of flagging all")
FILE_COLUMNS = ("Category", "Known rows", "Yes", "Flagged", "Precision", "Recall", "F1", "Average precision",
                "Prevalence")


def baseline_f1(figure: CategoryFigures) -> float | None:
    """The F1 of a model that flags every item: 2p / (1 + p) for the category's prevalence p."""
    prevalence = figure.prevalence
    return None if not prevalence else 2 * prevalence / (1 + prevalence)


def figure_cells(figure: CategoryFigures) -> list[str]:
    def number(value):
        return "—" if value is None else f"{value:.3f}"

    return [figure.category, f"{figure.decided:,}", f"{figure.moderator_yes:,}", f"{figure.model_yes:,}",
            f"{figure.both:,}", number(figure.precision), number(figure.recall), number(figure.f1),
            number(baseline_f1(figure))]


def _number(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def file_cells(category: str, entry: dict) -> list[str]:
    """A row of the labelled file's table from core.evaluation.categories.category_metrics."""
    return [category, f"{entry['known_rows']:,}", f"{entry['positives']:,}", f"{entry['flagged']:,}",
            _number(entry["precision"]), _number(entry["recall"]), _number(entry["f1"]), _number(entry["ap"]),
            _number(entry["prevalence"])]


class CategoryEvaluationDialog(QDialog):
    """Per-category figures of `session` (the Review tab's ReviewSession of a multi-label model), and
    of `handle`'s model (a ModelHandle) on a labelled file and on test suites. `thresholds_moved`: the
    Review tab's signal that a category threshold moved (the suite's cases are decided again)."""

    def __init__(self, session, handle=None, parent: QWidget | None = None, thresholds_moved=None):
        super().__init__(parent)
        self.setWindowTitle("The model against the moderators, per category")
        self.session, self.handle = session, handle
        self.thresholds_moved = thresholds_moved
        self.file_evaluation = None
        self.tasks = BackgroundTasks(self, max_threads=1)
        self.figures: list[CategoryFigures] | None = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        note = QLabel("The moderators' decisions in this table are the truth; the model's side is the set it "
                      "showed when each was decided. Precision: of the items the model flagged in a category, the "
                      "share the moderators confirmed; recall: of those the moderators said it applies to, the "
                      "share the model flagged.")
        note.setWordWrap(True)
        self.file_table = QTableWidget(0, len(FILE_COLUMNS))
        self.file_table.setHorizontalHeaderLabels(FILE_COLUMNS)
        self.file_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.file_table.verticalHeader().hide()
        self.file_table.hide()
        self.file_status = QLabel()
        self.file_status.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.refresh_button = buttons.addButton("Refresh", QDialogButtonBox.ButtonRole.ActionRole)
        self.refresh_button.clicked.connect(self.refresh)
        self.file_button = buttons.addButton("On a labelled file…", QDialogButtonBox.ButtonRole.ActionRole)
        self.file_button.setToolTip("The model on a file with a yes/no column per category (as `label` writes and "
                                    "the decisions export), each category on its known rows")
        self.file_button.clicked.connect(self.choose_file)
        self.file_button.setEnabled(handle is not None)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        layout.addWidget(note)
        layout.addWidget(self.file_status)
        layout.addWidget(self.file_table)
        self.tests = None
        if handle is not None and handle.classifier.multi_label:
            self.tests = TestSuiteView(handle, self.category_thresholds)
            layout.addWidget(self.tests, 1)
            if thresholds_moved is not None:
                thresholds_moved.connect(self.tests.remeasure)
        layout.addWidget(buttons)
        self.resize(820, 320 if self.tests is None else 640)
        self.refresh()

    def category_thresholds(self) -> dict[str, float]:
        """The table's thresholds for the model's categories (the model's own for those it has none of)."""
        own = self.handle.classifier.labels
        return {name: value for name, value in (self.session.category_thresholds or {}).items() if name in own}

    def done(self, result: int) -> None:
        if self.tests is not None:
            self.tests.cancel()
            if self.thresholds_moved is not None:
                try:
                    self.thresholds_moved.disconnect(self.tests.remeasure)
                except (RuntimeError, TypeError):  # already disconnected
                    pass
        super().done(result)

    def refresh(self) -> None:
        """Measure the table's decisions as they are now (a copy goes to the background thread)."""
        categories, decided = session_decided_sets(self.session)
        self.status.setText(f"Measuring {len(decided):,} decided items…")
        self.tasks.submit(category_figures, categories, decided, key="figures", on_done=self._show,
                          on_error=lambda error: self.status.setText(f"Cannot measure: {error}"))

    def _show(self, figures: list[CategoryFigures]) -> None:
        self.figures = figures
        self.table.setRowCount(len(figures))
        for row, figure in enumerate(figures):
            for column, value in enumerate(figure_cells(figure)):
                self.table.setItem(row, column, QTableWidgetItem(value))
        decided = max((figure.decided for figure in figures), default=0)
        self.status.setText(f"{decided:,} decided items in this table." if decided
                            else "The table is not of a multi-label model." if not self.session.multi_label
                            else "No item of this table is decided yet: decide some, then Refresh.")

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "A labelled file", "", IMPORT_FILTER)
        if path:
            self.evaluate_file(path)

    def evaluate_file(self, path: str) -> None:
        """The model on the labelled file `path`, in the background (pausing for the moderator's work)."""
        self.file_button.setEnabled(False)
        self.file_status.setText(f"Evaluating on {Path(path).name}…")
        # at the thresholds the table flags by, as the Review tab's category threshold control set them
        thresholds = dict(self.session.category_thresholds or {})
        self.tasks.submit(partial(evaluate_category_file, thresholds=thresholds), GatedClassifier(self.handle), path,
                          key="file", on_done=self._show_file, on_error=self._file_failed)

    def _file_failed(self, error: BaseException) -> None:
        self.file_button.setEnabled(True)
        self.file_status.setText(f"Cannot evaluate: {describe(error).message}")

    def _show_file(self, evaluation) -> None:
        self.file_button.setEnabled(True)
        self.file_evaluation = evaluation
        thresholds = ", ".join(f"{name} {value:.2f}" for name, value in evaluation.thresholds.items())
        dropped = "; ".join(f"{count:,} left out: {reason}" for reason, count in evaluation.dropped.items())
        warning = f" {evaluation.warning}" if evaluation.warning else ""
        self.file_status.setText(f"On {Path(evaluation.path).name}: {evaluation.rows:,} of {evaluation.rows_read:,} "
                                 f"rows, each category on its known rows at its threshold in the table ({thresholds})"
                                 + (f" ({dropped})" if dropped else "") + f".{warning}")
        self.file_table.setRowCount(len(evaluation.categories))
        for row, (category, entry) in enumerate(evaluation.categories.items()):
            for column, value in enumerate(file_cells(category, entry)):
                self.file_table.setItem(row, column, QTableWidgetItem(value))
        self.file_table.show()

    def values(self) -> list[list[str]]:
        return [[self.table.item(row, column).text() for column in range(self.table.columnCount())]
                for row in range(self.table.rowCount())]
