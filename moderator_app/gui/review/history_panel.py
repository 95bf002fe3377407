"""The Review tab's history of the selected item: every row of the decision log about its text, for
every model, newest first: who, when, what the model said and what they decided, undos included."""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from moderator_app.core.review.decision import categories_of_text
from moderator_app.core.review.store import REVERT, Decision
from moderator_app.core.review.team import ADJUDICATION
from moderator_app.gui.review.results_table import short_model_name

COLUMNS = ["When", "Moderator", "Decision", "Model said", "Model", "Threshold", "Category", "Note", "Queue"]
OTHER_MODEL = QColor(120, 120, 120)


def label_words(decision: Decision, label: str | None) -> str | None:
    """A label of `decision` as shown: a multi-label model's set as "hate, offensive" (or "none")."""
    if label is None or not decision.multi_label:
        return label
    return ", ".join(categories_of_text(label)) or "none"


def decision_words(decision: Decision, adjudications: set[int] = frozenset()) -> str:
    """What the row decided; `adjudications`: the ids of the text's adjudications, to name their undos."""
    label = label_words(decision, decision.moderator_label)
    if decision.kind == REVERT:
        undone = "final label undone" if decision.reverts in adjudications else "undo"
        return f"{undone} (back to {label or 'undecided'})"
    if decision.kind == ADJUDICATION:  # a lead's final label: it wins in exports and retraining
        return f"final label: {label} (adjudicated)"
    return label or ""


def threshold_words(decision: Decision) -> str:
    """The threshold the model decided at; a multi-label model's, per category."""
    if decision.category_thresholds:
        return ", ".join(f"{name} {value:.2f}" for name, value in decision.category_thresholds.items())
    return "" if decision.threshold is None else f"{decision.threshold:.2f}"


class HistoryPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel("History: select a row to see every decision made about its text.")
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        self.text = ""

    def clear(self, message: str = "") -> None:
        self.text = ""
        self.table.setRowCount(0)
        self.title.setText(message or "History: select a row to see every decision made about its text.")

    def show_history(self, text: str, rows: list[Decision], model_id: str, hidden: bool = False) -> None:
        """The log rows about `text`, newest first; rows made with another model than `model_id` greyed.
        `hidden`: a double review's item the moderator has not decided (the others' rows are not shown)."""
        self.text = text
        short = text if len(text) <= 80 else text[:80] + "…"
        self.title.setText(f"History of “{short}”: drawn for a blind double review, the others' decisions show once "
                           "you have decided it." if hidden else
                           f"History of “{short}”: {len(rows)} entr{'y' if len(rows) == 1 else 'ies'} in the log"
                           if rows else f"History of “{short}”: nobody has decided it yet.")
        self.table.setRowCount(len(rows))
        adjudications = {decision.id for decision in rows if decision.kind == ADJUDICATION}
        for row, decision in enumerate(reversed(rows)):
            values = [decision.decided_at.replace("T", " ")[:19], decision.moderator or "(unknown)",
                      decision_words(decision, adjudications), label_words(decision, decision.model_label),
                      short_model_name(decision.model_name), threshold_words(decision), decision.category,
                      decision.note, decision.queue]
            for column, value in enumerate(values):
                cell = QTableWidgetItem(value)
                if column == 4:
                    cell.setToolTip(f"{decision.model_name}\n{decision.model_id}")
                if decision.model_id != model_id:
                    cell.setForeground(QBrush(OTHER_MODEL))
                    cell.setToolTip(f"Decided with another model: {decision.model_name}")
                self.table.setItem(row, column, cell)

    def entries(self) -> list[list[str]]:
        """The table's text, row by row (for tests and screenshots)."""
        return [[self.table.item(row, column).text() for column in range(self.table.columnCount())]
                for row in range(self.table.rowCount())]
