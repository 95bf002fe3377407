"""The Review tab's "Texts" box: paste or type texts, one per line or as one item, then Classify
(Ctrl+Enter) or Import a file; a progress bar with Cancel while a classification runs."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QButtonGroup, QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar,
                               QPushButton, QRadioButton, QStyle, QToolButton, QVBoxLayout, QWidget)
from superqt.utils import qthrottled

from moderator_app.gui.common import settings

PASTE_MODE_KEY = "review/paste-mode"
PROGRESS_INTERVAL_MS = 100  # progress shown at most ten times a second, however fast batches go


def is_ctrl_enter(event: QKeyEvent) -> bool:
    return (event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier))


def split_pasted(text: str, per_line: bool) -> tuple[list[str], int]:
    """The items of pasted text and how many blank lines were skipped (one item per line), or the
    whole text as one item."""
    if not per_line:
        return ([text] if text.strip() else []), 0
    lines = text.splitlines()
    items = [line for line in lines if line.strip()]
    return items, len(lines) - len(items)


class PasteBox(QPlainTextEdit):
    submitted = Signal()  # Ctrl+Enter

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if is_ctrl_enter(event):
            event.accept()
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class InputPanel(QGroupBox):
    classify_requested = Signal()
    import_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Texts", parent)
        style = self.style()
        self.text_edit = PasteBox()
        self.text_edit.setPlaceholderText("Paste or type texts here, one per line, then Classify (Ctrl+Enter).")
        self.text_edit.setMinimumHeight(120)
        self.text_edit.submitted.connect(self.classify_requested)
        self.per_line = QRadioButton("One item per line")
        self.whole_text = QRadioButton("Whole text as one item")
        self.per_line.setToolTip("Each non-empty line is classified on its own")
        self.whole_text.setToolTip("Everything in the box is one text")
        self.paste_mode = QButtonGroup(self)
        self.paste_mode.addButton(self.per_line)
        self.paste_mode.addButton(self.whole_text)
        self.per_line.setChecked(True)
        self.classify_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Classify")
        self.classify_button.setToolTip("Classify the texts in the box (Ctrl+Enter)")
        self.classify_button.clicked.connect(self.classify_requested)
        self.import_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_FileIcon), "Import file…")
        self.import_button.setToolTip("TXT (one item per line), CSV, TSV, JSON Lines or Parquet: show it in the "
                                      "table, or batch-label it to an output file")
        self.import_button.clicked.connect(self.import_requested)
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogCancelButton))
        self.cancel_button.setToolTip("Cancel the classification")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.cancel_button.hide()
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #666;")

        modes = QHBoxLayout()
        modes.addWidget(self.per_line)
        modes.addWidget(self.whole_text)
        modes.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.classify_button, 1)
        buttons.addWidget(self.import_button, 1)
        progress = QHBoxLayout()
        progress.addWidget(self.progress, 1)
        progress.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text_edit, 1)
        layout.addLayout(modes)
        layout.addLayout(buttons)
        layout.addLayout(progress)
        layout.addWidget(self.hint)
        if settings.load_value(PASTE_MODE_KEY) == "whole":
            self.whole_text.setChecked(True)

    def save_state(self) -> None:
        settings.save_value(PASTE_MODE_KEY, "whole" if self.whole_text.isChecked() else "lines")

    def pasted(self) -> tuple[list[str], int]:
        """The items in the box and the number of blank lines skipped."""
        return split_pasted(self.text_edit.toPlainText(), self.per_line.isChecked())

    def set_state(self, model_loaded: bool, classifying: bool) -> None:
        self.classify_button.setEnabled(model_loaded and not classifying)
        self.import_button.setEnabled(model_loaded)
        self.progress.setVisible(classifying)
        self.cancel_button.setVisible(classifying)
        if classifying:
            self.show_progress.cancel()
            self.progress.setRange(0, 0)
            self.progress.setFormat("")
        if not model_loaded:
            self.hint.setText("Load a model to classify texts.")
        elif classifying:
            self.hint.setText("Classifying…")
        elif self.hint.text() in ("Load a model to classify texts.", "Classifying…"):
            self.hint.setText("")

    @qthrottled(timeout=PROGRESS_INTERVAL_MS)
    def show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done:,} of {total:,}")
