"""The Review tab's evaluation per category for a multi-label model: the model against the moderators'
sets of categories, decided in the open table (core.review.category_figures) — per category the items
decided, how many the moderators said it applies to, how many the model flagged and how many of those
they confirmed, and the model's precision, recall and F1 beside the F1 of flagging every item (the
prevalence baseline). Measured on a background thread from a copy of the table's decisions; Refresh
measures again after more decisions."""

from __future__ import annotations

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from moderator_app.core.review.category_figures import CategoryFigures, category_figures, session_decided_sets
from moderator_app.gui.common.tasks import BackgroundTasks

COLUMNS = ("Category", "Decided", "Moderators: yes", "Model flagged", "Confirmed", "Precision", "Recall", "F1",
           "F1 of flagging all")


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


class CategoryEvaluationDialog(QDialog):
    """Per-category figures of `session` (the Review tab's ReviewSession of a multi-label model)."""

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("The model against the moderators, per category")
        self.session = session
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
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.refresh_button = buttons.addButton("Refresh", QDialogButtonBox.ButtonRole.ActionRole)
        self.refresh_button.clicked.connect(self.refresh)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(760, 300)
        self.refresh()

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
                            else "No item of this table is decided yet: decide some, then Refresh.")

    def values(self) -> list[list[str]]:
        return [[self.table.item(row, column).text() for column in range(self.table.columnCount())]
                for row in range(self.table.rowCount())]
