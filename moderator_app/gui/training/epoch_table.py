"""One row per epoch in the recipe's shape, the best epoch highlighted."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from moderator_app.gui.common.formatting import number

COLUMNS = ("Training Loss", "Epoch", "Step", "Validation Loss", "Accuracy", "F1")
BEST_BACKGROUND = QColor(214, 240, 214)
BEST_TOOLTIP = "Best epoch: the lowest validation loss so far. The saved model comes from this epoch."


class EpochTable(QTableWidget):
    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setHighlightSections(False)
        self.best_epoch: int | None = None

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Every column at least as wide as its header and values; spare width shared out evenly."""
        header = self.horizontalHeader()
        needed = [max(header.sectionSizeFromContents(column).width(), self.sizeHintForColumn(column)) + 8
                  for column in range(self.columnCount())]
        spare = max(0, self.viewport().width() - sum(needed)) // max(1, self.columnCount())
        for column, width in enumerate(needed):
            header.resizeSection(column, width + spare)

    def clear_rows(self) -> None:
        self.setRowCount(0)
        self.best_epoch = None

    def add_epoch(self, epoch: int, step: int, train_loss: float, val_loss: float, accuracy: float,
                  f1: float) -> None:
        for row in range(self.rowCount()):  # a resumed run may repeat an epoch: replace it
            if self.item(row, 1) and self.item(row, 1).text() == str(epoch):
                self.setRowCount(row)
                break
        row = self.rowCount()
        self.insertRow(row)
        values = (number(train_loss), str(epoch), str(step), number(val_loss), number(accuracy), number(f1))
        for column, text in enumerate(values):
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(row, column, item)
        self.fit_columns()
        self.scrollToBottom()

    def set_best(self, epoch: int | None) -> None:
        self.best_epoch = epoch
        for row in range(self.rowCount()):
            best = self.item(row, 1).text() == str(epoch)
            for column in range(self.columnCount()):
                item = self.item(row, column)
                font = QFont(item.font())
                font.setBold(best)
                item.setFont(font)
                item.setBackground(QBrush(BEST_BACKGROUND) if best else QBrush())
                item.setForeground(QBrush(QColor(20, 60, 20)) if best else QBrush())
                item.setToolTip(BEST_TOOLTIP if best else "")

    def best_row(self) -> int | None:
        for row in range(self.rowCount()):
            if self.item(row, 1).text() == str(self.best_epoch):
                return row
        return None
