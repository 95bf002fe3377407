"""The adjudication view: the texts the moderators labelled differently (core.review.team.disagreements)
in a queue, or in every queue, with each one's decision (who, when, which label), and the final label a
lead records for the selected one (a decision row of kind 'adjudication': it wins in exports and
retraining; the decisions before it stay in the log). *Undo adjudication* takes a settled one's final
label back (an undo row, as Undo takes back a decision, asking nothing more): the disagreement is open
again. Reading, recording and undoing run on the decision store's thread (the QueuePanel's); the
dialog only shows and asks."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from moderator_app.core.review.team import Disagreement

COLUMNS = ["Text", "Decisions (who, label, when)", "Final label"]


def describe_decisions(item: Disagreement) -> str:
    return "; ".join(f"{name}: {decision.moderator_label} ({decision.decided_at[:16].replace('T', ' ')})"
                     for name, decision in item.decisions.items())


class AdjudicationDialog(QDialog):
    refresh_requested = Signal(bool)  # with the settled ones too
    adjudicate_requested = Signal(str, str, str)  # text, final label, note
    undo_requested = Signal(str, int, str)  # text, the adjudication shown (its row id), note

    def __init__(self, queue_name: str | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.queue_name = queue_name
        self.setWindowTitle(f"Disagreements in '{queue_name}'" if queue_name else "Disagreements in every queue")
        self.resize(760, 460)
        self.items: list[Disagreement] = []
        self.summary = QLabel("Reading the disagreements…")
        self.summary.setWordWrap(True)
        self.show_settled = QCheckBox("Show the settled ones too")
        self.show_settled.toggled.connect(lambda checked: self.refresh_requested.emit(checked))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selected)
        self.label = QComboBox()
        self.label.setToolTip("The final label: one a moderator gave, or another of the model's labels")
        self.note = QLineEdit()
        self.note.setPlaceholderText("why (optional; kept with the final label or its undo)")
        self.record_button = QPushButton("Record final label")
        self.record_button.setToolTip("Append the final label to the decision log as an adjudication by you")
        self.record_button.clicked.connect(self._record)
        self.undo_button = QPushButton("Undo adjudication")
        self.undo_button.setToolTip("Take the selected text's final label back: the moderators' decisions count "
                                    "again and the disagreement is open; the adjudication stays in the log")
        self.undo_button.clicked.connect(self._undo)
        row = QHBoxLayout()
        row.addWidget(QLabel("Final label"))
        row.addWidget(self.label)
        row.addWidget(self.note, 1)
        row.addWidget(self.record_button)
        row.addWidget(self.undo_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.show_settled)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self._selected()

    def show_disagreements(self, items: list[Disagreement]) -> None:
        self.items = items
        self.table.setRowCount(len(items))
        for row, item in enumerate(items):
            final = (f"{item.adjudication.moderator_label} (by {item.adjudication.moderator})"
                     if item.adjudication else "—")
            for column, value in enumerate((item.text, describe_decisions(item), final)):
                cell = QTableWidgetItem(value)
                cell.setToolTip(value)
                self.table.setItem(row, column, cell)
        open_count = sum(1 for item in items if not item.settled)
        self.summary.setText(f"{open_count:,} disagreement{'s' if open_count != 1 else ''} not settled"
                             + (f", {len(items) - open_count:,} settled" if len(items) > open_count else "")
                             + ". Select one, choose the final label and record it (or undo a settled one's); the "
                               "moderators' decisions stay in the log.")
        if items:
            self.table.selectRow(0)
        self._selected()

    def selected(self) -> Disagreement | None:
        rows = self.table.selectionModel().selectedRows()
        return self.items[rows[0].row()] if rows and rows[0].row() < len(self.items) else None

    def _selected(self) -> None:
        item = self.selected()
        self.label.clear()
        if item is not None:
            latest = max(item.decisions.values(), key=lambda decision: decision.id)
            labels = list(dict.fromkeys([*item.labels, *(latest.probabilities or ())]))
            self.label.addItems(labels)
        self.record_button.setEnabled(item is not None and self.label.count() > 0)
        self.undo_button.setEnabled(item is not None and item.settled)
        self.label.setEnabled(item is not None)

    def _record(self) -> None:
        item = self.selected()
        if item is not None and self.label.currentText():
            self.adjudicate_requested.emit(item.text, self.label.currentText(), self.note.text().strip())
            self.note.clear()

    def _undo(self) -> None:
        item = self.selected()
        if item is not None and item.adjudication is not None:
            self.undo_requested.emit(item.text, item.adjudication.id, self.note.text().strip())
            self.note.clear()
