"""Editors for the training form's fields: each turns one TrainingConfig field into a widget with a
label, a tooltip and an inline message line under it (red for an invalid value, grey for a hint).
Labels, help, ranges and choices come from the field's metadata in core.config (`form_fields.editor_for`);
the editors that choose files, folders and models are in `file_fields`."""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout, QWidget

from moderator_app.core.config import FIELD_HELP

ERROR_COLOR = QColor(179, 38, 30)
WARNING_COLOR = QColor(160, 95, 0)
HINT_COLOR = QColor(110, 110, 110)
INVALID_BACKGROUND = QColor(253, 231, 229)

DATA_FILTER = ("Data files (*.csv *.tsv *.tab *.txt *.jsonl *.json *.ndjson *.parquet *.pq);;"
               "All files (*)")


class FieldEditor(QWidget):
    """Base class: `value()` returns the field's value or raises ValueError with a readable message."""

    edited = Signal()

    def __init__(self, name: str, label: str, editor: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = name
        self.label = QLabel(label)
        self.editor = editor
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        small = self.message.font()
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.9))
        self.message.setFont(small)
        self.message_kind: str | None = None
        self.row = QHBoxLayout()
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(4)
        self.row.addWidget(editor, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addLayout(self.row)
        layout.addWidget(self.message)
        help_text = FIELD_HELP.get(name, "")
        for widget in (self.label, editor):
            widget.setToolTip(help_text)
        self.label.setBuddy(editor)
        self._normal_palette = QPalette(editor.palette())

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def set_message(self, text: str | None, kind: str | None = None) -> None:
        """kind: "error" (invalid value: red), "warning", "hint" or None (no message)."""
        self.message_kind = kind if text else None
        if not text:
            self.message.hide()
            self.message.clear()
        else:
            self.message.setText(text)
            palette = self.message.palette()
            palette.setColor(QPalette.ColorRole.WindowText,
                             {"error": ERROR_COLOR, "warning": WARNING_COLOR}.get(kind or "", HINT_COLOR))
            self.message.setPalette(palette)
            self.message.show()
        self._mark_invalid(kind == "error" and bool(text))

    def _mark_invalid(self, invalid: bool) -> None:
        self.editor.setProperty("invalid", invalid)
        palette = QPalette(self._normal_palette)
        if invalid:
            palette.setColor(QPalette.ColorRole.Base, INVALID_BACKGROUND)
        self.editor.setPalette(palette)
        tooltip = FIELD_HELP.get(self.name, "")
        self.editor.setToolTip(f"{self.message.text()}\n\n{tooltip}" if invalid else tooltip)

    @property
    def invalid(self) -> bool:
        return self.message_kind == "error"


class TextField(FieldEditor):
    def __init__(self, name: str, label: str, placeholder: str = ""):
        self.line = QLineEdit()
        self.line.setPlaceholderText(placeholder)
        self.line.setClearButtonEnabled(True)
        super().__init__(name, label, self.line)
        self.line.textChanged.connect(self.edited)

    def value(self) -> str:
        return self.line.text().strip()

    def set_value(self, value: Any) -> None:
        self.line.setText("" if value is None else str(value))


class FloatField(FieldEditor):
    def __init__(self, name: str, label: str):
        self.line = QLineEdit()
        self.line.setAlignment(Qt.AlignmentFlag.AlignRight)
        super().__init__(name, label, self.line)
        self.line.textChanged.connect(self.edited)

    def value(self) -> float:
        text = self.line.text().strip()
        if text.count(",") == 1 and "." not in text:  # a decimal comma
            text = text.replace(",", ".")
        if not text:
            raise ValueError("enter a number")
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"'{text}' is not a number; write e.g. 0.1 or 2e-5") from None
        return value  # ranges, finiteness included, are TrainingConfig.problems()'s to judge

    def set_value(self, value: Any) -> None:
        self.line.setText(format_float(float(value)))


def format_float(value: float) -> str:
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
        return f"{value:g}"
    return repr(value) if len(repr(value)) <= 12 else f"{value:.6g}"


class IntField(FieldEditor):
    def __init__(self, name: str, label: str, minimum: int, maximum: int, suffix: str = ""):
        self.spin = QSpinBox()
        self.spin.setRange(minimum, maximum)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.spin.setSuffix(suffix)
        self.spin.setAccelerated(True)
        super().__init__(name, label, self.spin)
        self.spin.valueChanged.connect(self.edited)

    def value(self) -> int:
        return self.spin.value()

    def set_value(self, value: Any) -> None:
        self.spin.setValue(int(value))


class ChoiceField(FieldEditor):
    def __init__(self, name: str, label: str, choices: Sequence[tuple[str, str]]):
        self.combo = QComboBox()
        # a long choice (the precision rule's, a GPU's name) must not widen the whole form: the field
        # takes the width it is given and the drop-down list still shows each choice in full
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(16)
        super().__init__(name, label, self.combo)
        self.set_choices(choices)
        self.combo.currentIndexChanged.connect(self.edited)

    def set_choices(self, choices: Sequence[tuple[str, str]]) -> None:
        current = self.combo.currentData()
        self.combo.blockSignals(True)
        self.combo.clear()
        for value, text in choices:
            self.combo.addItem(text, value)
        index = self.combo.findData(current)
        self.combo.setCurrentIndex(max(index, 0))
        self.combo.blockSignals(False)

    def choices(self) -> list[str]:
        return [self.combo.itemData(index) for index in range(self.combo.count())]

    def value(self) -> str:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        index = self.combo.findData(value)
        if index < 0:
            self.combo.addItem(str(value), value)
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(index)


class BoolField(FieldEditor):
    def __init__(self, name: str, label: str, text: str):
        self.check = QCheckBox(text)
        super().__init__(name, label, self.check)
        self.check.toggled.connect(self.edited)

    def value(self) -> bool:
        return self.check.isChecked()

    def set_value(self, value: Any) -> None:
        self.check.setChecked(bool(value))


DETECT = "(detect automatically)"


class ColumnField(FieldEditor):
    """An editable drop-down of the file's columns; the first entry means "detect"."""

    def __init__(self, name: str, label: str):
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.addItem(DETECT)
        super().__init__(name, label, self.combo)
        self.combo.currentTextChanged.connect(self.edited)

    def value(self) -> str:
        text = self.combo.currentText().strip()
        return "" if text == DETECT else text

    def set_value(self, value: Any) -> None:
        self.combo.setCurrentText(str(value) if value else DETECT)

    def set_columns(self, columns: Sequence[str], guess: str | None) -> None:
        current = self.value()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(DETECT)
        self.combo.addItems(list(columns))
        self.combo.blockSignals(False)
        if current and current in columns:
            self.set_value(current)
        elif guess:
            self.set_value(guess)
        else:
            self.set_value(current)
        self.edited.emit()

    def columns(self) -> list[str]:
        return [self.combo.itemText(index) for index in range(1, self.combo.count())]
