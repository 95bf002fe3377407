"""Widgets of the evaluation view: a metric card beside its baseline, the confusion matrix as
coloured cells, the precision–recall curve over the threshold with a draggable threshold line."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from moderator_app.core.evaluation.calibration import pr_curve_points
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


class ThresholdCurve(pg.PlotWidget):
    """The flagged label's precision and recall at each threshold, and the threshold as a line that
    the moderator drags (`threshold_line.sigPositionChangeFinished`)."""

    def __init__(self, threshold: float | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackground("w")
        self.setLabel("bottom", "threshold")
        self.setLabel("left", "precision / recall")
        self.setXRange(0, 1)
        self.setYRange(0, 1.02)
        self.addLegend(offset=(-10, 10))
        self.precision_line = self.plot([], [], pen=pg.mkPen("#1565c0", width=2), name="precision")
        self.recall_line = self.plot([], [], pen=pg.mkPen("#e65100", width=2), name="recall")
        self.threshold_line = pg.InfiniteLine(angle=90, movable=True, bounds=(0, 1),
                                              pen=pg.mkPen("#333", width=2, style=Qt.PenStyle.DashLine),
                                              label="threshold {value:.2f}",
                                              labelOpts={"position": 0.1, "color": "#333"})
        self.addItem(self.threshold_line)
        self.setToolTip("The flagged label's precision and recall on this file at each threshold. "
                        "Drag the line to measure another threshold; the Review tab keeps its own "
                        "until you press “Use this threshold for review”.")
        if threshold is not None:
            self.threshold_line.setValue(threshold)

    def draw(self, truth: np.ndarray, scores: np.ndarray) -> None:
        """The curves of the flagged label (`truth`: the rows that have it) scored `scores`; none when
        the file has one class only."""
        if truth.all() or not truth.any():
            self.precision_line.setData([], [])
            self.recall_line.setData([], [])
            return
        points = pr_curve_points(truth, scores)
        thresholds = [point["threshold"] for point in points]
        self.precision_line.setData(thresholds, [point["precision"] for point in points])
        self.recall_line.setData(thresholds, [point["recall"] for point in points])
