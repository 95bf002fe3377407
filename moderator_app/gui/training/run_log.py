"""The Run page's log: timestamped lines in a fixed font, at most 5,000 kept, following the end
unless the user scrolled up to read."""

from __future__ import annotations

import time

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QWidget

MAX_LINES = 5000


class RunLog(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText("The run's log appears here.")
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)

    def log(self, text: str) -> None:
        """Append a line; follow the end unless the user scrolled up to read."""
        bar = self.verticalScrollBar()
        following = bar.value() >= bar.maximum() - 2
        self.appendPlainText(f"[{time.strftime('%H:%M:%S')}] {text}")
        if following:
            bar.setValue(bar.maximum())
