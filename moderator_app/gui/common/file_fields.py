"""The form's editors that choose something on disk: a file or folder (`PathField`), a base model from
the hub or a local folder (`ModelField`) and a list of files (`FileListField`). Each remembers the folder
it last browsed, per kind of file (`gui/common/settings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QListWidget, QMenu, QPushButton, QStyle, QToolButton,
                               QVBoxLayout, QWidget)

from moderator_app.gui.common import settings
from moderator_app.gui.common.fields import DATA_FILTER, FieldEditor, TextField


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
