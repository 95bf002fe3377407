"""Widgets of the evaluation view: a metric card beside its baseline, the confusion matrix as
coloured cells."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from moderator_app.core.evaluation.metrics import Evaluation

CARD_STYLE = "QFrame#card { border: 1px solid #c8c8c8; border-radius: 4px; }"


def format_number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


class MetricCard(QFrame):
    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("card")
        self.setStyleSheet(CARD_STYLE)
        self.title = QLabel(title)
        self.title.setStyleSheet("color: #555;")
        self.value = QLabel("—")
        self.value.setStyleSheet("font-size: 18px; font-weight: bold;")
        self.baseline = QLabel()
        self.baseline.setStyleSheet("color: #777;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        for widget in (self.title, self.value, self.baseline):
            layout.addWidget(widget)

    def show_values(self, value: float | None, baseline: float | None) -> None:
        self.value.setText(format_number(value))
        self.baseline.setText(f"baseline {format_number(baseline)}")


def fill_confusion_table(table: QTableWidget, result: Evaluation) -> None:
    """The confusion matrix as coloured cells: rows the true label, columns the predicted one."""
    labels, matrix = result.labels, np.asarray(result.confusion_matrix)
    table.setRowCount(len(labels))
    table.setColumnCount(len(labels))
    table.setHorizontalHeaderLabels([f"→ {label}" for label in labels])
    table.setVerticalHeaderLabels(labels)
    row_totals = matrix.sum(axis=1)
    for row in range(len(labels)):
        for column in range(len(labels)):
            count = int(matrix[row, column])
            share = count / row_totals[row] if row_totals[row] else 0.0
            item = QTableWidgetItem(f"{count:,}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            item.setToolTip(f"{share:.0%} of the rows labelled '{labels[row]}'")
            # green on the diagonal, red off it, as strong as the share of the true label's rows
            hue = 120 if row == column else 0
            item.setBackground(QColor.fromHsv(hue, int(40 + 160 * share), 235))
            table.setItem(row, column, item)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
