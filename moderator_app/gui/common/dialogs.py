"""Message boxes. Errors use non-blocking (window-modal, `open()`ed) boxes so the event loop keeps
running behind them; `confirm` is the one blocking question, kept in one place so tests can answer it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget


def show_error(parent: QWidget, title: str, message: str, details: str = "") -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setInformativeText("")
    if details:
        box.setDetailedText(details)
    box.setModal(True)
    box.open()
    return box


def show_info(parent: QWidget, title: str, message: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # paths can be copied
    box.setModal(True)
    box.open()
    return box


def show_folder(parent: QWidget, folder: str | Path, what: str = "The folder") -> QMessageBox | None:
    """Open `folder` in the file manager; where none can be opened, say where it is (a box, not nothing)."""
    path = Path(folder).resolve()
    if QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        return None
    return show_info(parent, "Show folder", f"{what} is {path}\n\nNo file manager could be opened to show it.")


def confirm(parent: QWidget, title: str, question: str, yes_text: str, no_text: str = "Cancel") -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, question, QMessageBox.StandardButton.NoButton, parent)
    yes = box.addButton(yes_text, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(no_text, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(yes)
    box.exec()
    return box.clickedButton() is yes
