"""Accept and relabel buttons for the Review tab's decisions: one button per label while there are few,
a "Relabel as" menu beyond that; number keys 1–9 stand for the first nine labels."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QMenu, QPushButton, QStyle, QToolButton, QWidget

MAX_LABEL_BUTTONS = 5  # more labels than this: relabel from a menu
MAX_LABEL_SHORTCUTS = 9


class RelabelButtons(QWidget):
    decide_requested = Signal(object)  # None: accept the model's label; a label: relabel as it

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.accept_button = QPushButton(self.style().standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton),
                                         "Accept (A)")
        self.accept_button.setToolTip("Agree with the model's label for the selected rows (A or Ctrl+Enter)")
        self.accept_button.clicked.connect(lambda: self.decide_requested.emit(None))
        self.label_buttons: list[QPushButton] = []
        self.buttons_layout = QHBoxLayout()
        self.buttons_layout.setSpacing(4)
        self.menu_button = QToolButton()
        self.menu_button.setText("Relabel as")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_button.setMenu(QMenu(self.menu_button))
        self.menu_button.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.accept_button)
        layout.addLayout(self.buttons_layout)
        layout.addWidget(self.menu_button)

    def set_labels(self, labels: list[str]) -> list[str]:
        """Buttons (or menu entries) for `labels`; returns the labels the number keys stand for."""
        for button in self.label_buttons:
            self.buttons_layout.removeWidget(button)
            button.deleteLater()
        self.label_buttons = []
        menu = self.menu_button.menu()
        menu.clear()
        for number, label in enumerate(labels, start=1):
            key = str(number) if number <= MAX_LABEL_SHORTCUTS else ""
            tip = f"Relabel the selected rows as '{label}'" + (f" ({key})" if key else "")
            if len(labels) <= MAX_LABEL_BUTTONS:
                button = QPushButton(f"{key}  {label}" if key else label)
                button.setToolTip(tip)
                button.clicked.connect(lambda _checked=False, label=label: self.decide_requested.emit(label))
                self.buttons_layout.addWidget(button)
                self.label_buttons.append(button)
            action = menu.addAction(f"{key}  {label}" if key else label)
            action.setToolTip(tip)
            action.triggered.connect(lambda _checked=False, label=label: self.decide_requested.emit(label))
        self.menu_button.setVisible(len(labels) > MAX_LABEL_BUTTONS)
        return labels[:MAX_LABEL_SHORTCUTS]
