"""The Review tab's "Columns" button: a menu of an imported file's other columns, each ticked to show it
beside the text in the results table; hidden when the table has none."""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMenu, QToolButton, QWidget


class ColumnsButton(QToolButton):
    chosen = Signal(list)  # the columns ticked, in the file's order

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setText("Columns")
        self.setToolTip("Show the imported file's other columns beside the text")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setMenu(QMenu(self))
        self.hide()

    def set_columns(self, columns: Sequence[str], shown: Sequence[str]) -> None:
        """An action per column (`shown` ticked); the button is shown only when there are columns."""
        menu = self.menu()
        menu.clear()
        for name in columns:
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name in shown)
            action.toggled.connect(lambda _checked: self.chosen.emit(
                [each.text() for each in self.menu().actions() if each.isChecked()]))
        self.setVisible(bool(columns))
