"""After retraining from decisions: the old and the new model side by side on the same data (the
original validation file and the held-out decisions), and the choice to review on with the new one."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from moderator_app.gui.review.results_table import short_model_name


def metric_text(value: float) -> str:
    """A metric to three places; "—" where it is undefined (NaN: e.g. a category's precision when the model
    flagged nothing)."""
    return "—" if value != value else f"{value:.3f}"


class ComparisonDialog(QDialog):
    switch_requested = Signal(str)  # the new model's folder

    def __init__(self, comparisons, old_model: str, new_model: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Old and new model compared")
        self.new_model = new_model
        rows = [(c.data, c.rows, metric, c.old[metric], c.new[metric]) for c in comparisons for metric in c.old]
        self.table = QTableWidget(len(rows), 5)
        self.table.setHorizontalHeaderLabels(["Data", "Rows", "Metric", short_model_name(old_model) + " (old)",
                                              short_model_name(new_model) + " (new)"])
        for row, (data, count, metric, old, new) in enumerate(rows):
            for column, value in enumerate([data, f"{count:,}", metric, metric_text(old), metric_text(new)]):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        note = QLabel("Each model decides at its own operating point. The held-out decisions were never trained on."
                      if rows else "There was no validation file and too few decisions to hold any out: nothing to "
                      "compare on.")
        notes = [line for comparison in comparisons for line in getattr(comparison, "notes", [])]
        self.notes = QLabel("\n".join(notes))  # a test suite's newly failing cases
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.PlainText)
        self.notes.setVisible(bool(notes))
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.switch_button = buttons.addButton("Review the queue with the new model",
                                               QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.notes)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(720, 260)

    def accept(self) -> None:
        super().accept()
        self.switch_requested.emit(self.new_model)

    def values(self) -> list[list[str]]:
        return [[self.table.item(row, column).text() for column in range(self.table.columnCount())]
                for row in range(self.table.rowCount())]
