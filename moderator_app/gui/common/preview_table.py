"""A read-only table of a file's first rows, shared by the Training tab's Data page and the Review
tab's import dialog: long cells are cut (the whole text, up to a limit, is in the tooltip) and wide
columns are kept to a readable width."""

from __future__ import annotations

from typing import Sequence

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

TOOLTIP_CHARS = 2000


def new_preview_table() -> QTableWidget:
    table = QTableWidget(0, 0)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def fill_preview_table(table: QTableWidget, columns: Sequence[str], rows: Sequence[Sequence[object]],
                       max_cell_chars: int, max_column_width: int) -> None:
    table.clear()
    table.setColumnCount(len(columns))
    table.setRowCount(len(rows))
    table.setHorizontalHeaderLabels(list(columns))
    for row, values in enumerate(rows):
        for column, value in enumerate(values[:len(columns)]):
            text = str(value)
            item = QTableWidgetItem(text if len(text) <= max_cell_chars else text[:max_cell_chars] + "…")
            item.setToolTip(text[:TOOLTIP_CHARS])
            table.setItem(row, column, item)
    table.resizeColumnsToContents()
    for column in range(table.columnCount()):
        table.setColumnWidth(column, min(table.columnWidth(column), max_column_width))
