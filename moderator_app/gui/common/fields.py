"""Editors for the training form's fields: each turns one TrainingConfig field into a widget with a
label, a tooltip and an inline message line under it (red for an invalid value, grey for a hint).
Labels, help, ranges and choices come from the field's metadata in core.config (`editor_for`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor, QPalette
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QMenu, QPushButton, QSpinBox, QStyle, QToolButton, QVBoxLayout, QWidget)

from moderator_app.core.config import FIELD_HELP, FIELD_SPECS
from moderator_app.gui.common import settings

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


class PathField(TextField):
    """A path typed in or picked with a browse button; `kind` is "file" or "folder"."""

    def __init__(self, name: str, label: str, kind: str, folder_key: str, placeholder: str = "",
                 dialog_title: str = ""):
        super().__init__(name, label, placeholder)
        self.kind = kind
        self.folder_key = folder_key
        self.dialog_title = dialog_title or label
        self.browse_button = QToolButton()
        self.browse_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_DirOpenIcon if kind == "folder" else QStyle.StandardPixmap.SP_FileIcon))
        self.browse_button.setToolTip(f"Choose the {label.lower()}…")
        self.browse_button.clicked.connect(self.browse)
        self.row.addWidget(self.browse_button)

    def start_folder(self) -> str:
        current = self.value()
        if current:
            path = Path(current).expanduser()
            if path.is_dir():
                return str(path)
            if path.parent.is_dir() and str(path.parent) not in ("", "."):
                return str(path.parent)
        return settings.last_folder(self.folder_key)

    def browse(self) -> None:
        if self.kind == "folder":
            chosen = QFileDialog.getExistingDirectory(self, self.dialog_title, self.start_folder())
        else:
            chosen, _ = QFileDialog.getOpenFileName(self, self.dialog_title, self.start_folder(), DATA_FILTER)
        if chosen:
            settings.remember_folder(self.folder_key, chosen)
            self.set_value(chosen)


class ModelField(TextField):
    """A hub id or a local folder, with a menu of the models usable offline and a folder browser.
    `local_models_wanted` is emitted each time the menu opens: its owner looks again (off the GUI
    thread) and the list updates in place, so a model installed or downloaded meanwhile appears."""

    local_models_wanted = Signal()

    def __init__(self, name: str, label: str):
        super().__init__(name, label, "hub id such as distilroberta-base, or a local folder")
        self.menu = QMenu(self)
        self.choose_button = QToolButton()
        self.choose_button.setText("Local models")
        self.choose_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.choose_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.choose_button.setMenu(self.menu)
        self.choose_button.setToolTip("Models usable without a network: the installed all-MiniLM-L6-v2 and "
                                      "the models in the Hugging Face cache; or browse for a model folder.")
        self.row.addWidget(self.choose_button)
        self.local_choices: list[tuple[str, str]] | None = None
        self.set_local_choices(None)
        self.menu.aboutToShow.connect(self.local_models_wanted)

    def set_local_choices(self, choices: list[tuple[str, str]] | None) -> None:
        self.local_choices = choices
        self.menu.clear()
        if choices is None:
            self.menu.addAction("Looking for local models…").setEnabled(False)
        elif not choices:
            self.menu.addAction("No local models found").setEnabled(False)
        for label, value in choices or []:
            action = QAction(label, self.menu)
            action.setToolTip(value)
            action.triggered.connect(lambda _checked=False, value=value: self.set_value(value))
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction("Browse for a model folder…", self.browse)

    def browse(self) -> None:
        current = Path(self.value()).expanduser() if self.value() else None
        start = str(current) if current and current.is_dir() else settings.last_folder("model")
        chosen = QFileDialog.getExistingDirectory(self, "Choose a Hugging Face model folder", start)
        if chosen:
            settings.remember_folder("model", chosen)
            self.set_value(chosen)


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


class FileListField(FieldEditor):
    """A list of files (the config's `test_suites`): a short list with Add… and Remove."""

    def __init__(self, name: str, label: str, folder_key: str = "data", dialog_title: str = ""):
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        self.list.setMaximumHeight(72)  # three rows; the form stays compact
        self.add_button = QPushButton("Add…")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setEnabled(False)
        buttons = QVBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.list, 1)
        row.addLayout(buttons)
        super().__init__(name, label, box)
        self.list.setToolTip(box.toolTip())
        self.folder_key, self.dialog_title = folder_key, dialog_title or f"Choose {label.lower()}"
        self.add_button.clicked.connect(self.browse)
        self.remove_button.clicked.connect(self.remove_selected)
        self.list.itemSelectionChanged.connect(
            lambda: self.remove_button.setEnabled(bool(self.list.selectedItems())))

    def value(self) -> list[str]:
        return [self.list.item(row).text() for row in range(self.list.count())]

    def set_value(self, value: Any) -> None:
        paths = [value] if isinstance(value, str) else list(value or [])
        self.list.clear()
        self.list.addItems([str(path) for path in paths if str(path).strip()])
        self.edited.emit()

    def add(self, path: str) -> None:
        if path and path not in self.value():
            self.list.addItem(path)
            self.edited.emit()

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self.edited.emit()

    def browse(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, self.dialog_title, settings.last_folder(self.folder_key),
                                                DATA_FILTER)
        for path in paths:
            settings.remember_folder(self.folder_key, path)
            self.add(path)


# What the form shows beside a checkbox and in empty text fields; labels, help and ranges are core's.
CHECKBOX_TEXTS = {"group_by_length": "Group texts of similar length",
                  "compile_model": "Compile the training step (torch.compile)",
                  "save_checkpoint_every_epoch": "Write a checkpoint every epoch",
                  "allow_pickle": "only from a source I trust",
                  "treat_na_labels_as_missing": "NaN, null, N/A … are missing",
                  "normalise_text": "NFKC and no zero-width characters when classifying",
                  "normalise_evasion": "read 'h4te', 'i d i o t' and look-alike letters as plain words"}
PATH_FIELDS = {  # name: (file or folder, remembered-folder key, placeholder, dialog title)
    "train_file": ("file", "data", "CSV, TSV, JSON Lines or Parquet", "Choose the training data"),
    "validation_file": ("file", "data", "optional: a split of the training data otherwise",
                        "Choose the validation data"),
    "output_dir": ("folder", "output", "folder for the trained model", "Choose the output folder"),
}


TEXT_PLACEHOLDERS = {"threshold_rule": "best_f1, precision>=0.9 or recall>=0.8"}


def editor_for(name: str) -> FieldEditor:
    """The editor a TrainingConfig field's metadata asks for."""
    spec = FIELD_SPECS[name]
    label = spec["label"]
    if name in PATH_FIELDS:
        return PathField(name, label, *PATH_FIELDS[name])
    if name == "model_name_or_path":
        return ModelField(name, label)
    if name in ("text_column", "label_column"):
        return ColumnField(name, label)
    if spec["choices"]:
        return ChoiceField(name, label, list(spec["choices"].items()))
    if spec["type"] is list:  # a list of files (test_suites)
        return FileListField(name, label, dialog_title="Choose test suites")
    if spec["type"] is str:
        return TextField(name, label, TEXT_PLACEHOLDERS.get(name, ""))
    if spec["type"] is bool:
        return BoolField(name, label, CHECKBOX_TEXTS.get(name, label))
    if spec["type"] is int:
        editor = IntField(name, label, int(spec["minimum"]), int(spec["maximum"]),
                          f" {spec['unit']}" if spec["unit"] else "")
        if name == "early_stopping_patience":
            editor.spin.setSpecialValueText("off")
        return editor
    return FloatField(name, label)


def connect_all(fields: Sequence[FieldEditor], callback: Callable[[], None]) -> None:
    for field in fields:
        field.edited.connect(callback)
