"""No setting changes under a mouse wheel that only meant to scroll the page.

Qt lets the wheel change a combo box, spin box or slider the pointer happens to pass over, and gives it
the focus on the way (their focus policy is WheelFocus): scrolling down the long training form changed
its Schedule. One application-wide event filter, installed by the main window, applies the rule to
every such widget of every tab and dialog, present or created later:
- a wheel event reaches a setting only when the setting has the keyboard focus (clicked or tabbed to);
  otherwise it is ignored, so Qt hands it on to the parent, and the scroll area scrolls;
- the wheel never gives the focus: WheelFocus is lowered to StrongFocus when the widget is polished.
Scroll bars are sliders too, and keep scrolling under the wheel."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QScrollBar, QWidget

GUARDED = (QComboBox, QAbstractSpinBox, QAbstractSlider)


def is_guarded(widget: QObject) -> bool:
    return isinstance(widget, GUARDED) and not isinstance(widget, QScrollBar)


class WheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind == QEvent.Type.Wheel and is_guarded(watched) and not watched.hasFocus():
            event.ignore()  # not for this widget: Qt passes an ignored wheel event on to the parent
            return True
        if kind == QEvent.Type.Polish and is_guarded(watched):
            widget: QWidget = watched  # type: ignore[assignment]
            if widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        return False


_guard: WheelGuard | None = None


def install_wheel_guard() -> WheelGuard:
    """Install the guard on the application once (later calls return the same one)."""
    global _guard
    app = QApplication.instance()
    if _guard is None or _guard.parent() is not app:
        _guard = WheelGuard(app)
        app.installEventFilter(_guard)
    return _guard
