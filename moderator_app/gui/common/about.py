"""Help › About: versions of the app and what it runs on, and the detected compute device. The
versions of torch and transformers are read on a background thread (importing them takes seconds)."""

from __future__ import annotations

import platform
import sys

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLayout, QVBoxLayout, QWidget

from moderator_app import __version__
from moderator_app.gui.common import checks
from moderator_app.gui.common.tasks import BackgroundTasks


class AboutDialog(QDialog):
    def __init__(self, tasks: BackgroundTasks, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About Moderator")
        self.rows: list[tuple[str, str]] = [
            ("moderator-app", __version__), ("Python", platform.python_version()), ("Qt", qVersion()),
            ("PySide6", PySide6.__version__), ("torch", "…"), ("transformers", "…"), ("Compute device", "detecting…")]
        title = QLabel("<h2>Moderator</h2><p>Fine-tune transformer hate-speech classifiers, then review and "
                       "label text with them.</p>")
        title.setWordWrap(True)
        title.setMinimumWidth(title.fontMetrics().horizontalAdvance("M" * 34))  # wraps at a readable width
        self.details = QLabel()
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)  # never smaller than its content
        layout.addWidget(title)
        layout.addWidget(self.details)
        layout.addWidget(buttons)
        self._render()
        tasks.submit(checks.version_info, on_done=self._versions_ready,
                     on_error=lambda error: self._versions_ready(self.rows[:4] + [("torch", f"unavailable: {error}")]),
                     key="about")
        self.python_path = sys.executable

    def _versions_ready(self, rows: list[tuple[str, str]]) -> None:
        self.rows = rows
        self._render()

    def _render(self) -> None:
        cells = "".join(f"<tr><td style='padding-right:14px'><b>{name}</b></td><td>{value}</td></tr>"
                        for name, value in self.rows)
        self.details.setText(f"<table>{cells}</table>")
        self.adjustSize()  # the versions arrive later, and may be longer than "…"

    def text(self) -> str:
        return "\n".join(f"{name}: {value}" for name, value in self.rows)
