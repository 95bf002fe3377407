"""A disclosure button: ▸ Title, which shows the content it governs when clicked (▾ Title)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton, QWidget


def disclosure(text: str, content: QWidget) -> QToolButton:
    """A ▸/▾ button that shows and hides `content` (hidden at first)."""
    toggle = QToolButton()
    toggle.setText(text)
    toggle.setCheckable(True)
    toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    toggle.setArrowType(Qt.ArrowType.RightArrow)
    toggle.setAutoRaise(True)
    content.hide()

    def toggled(shown: bool) -> None:
        content.setVisible(shown)
        toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    toggle.toggled.connect(toggled)
    return toggle
