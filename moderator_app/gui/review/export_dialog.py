"""The "Export decisions" dialog: which decisions (queue, moderator, dates, model) and whether to add
who/when/which-model columns; the file is asked for after it. Writing is the DecisionsPanel's job."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QVBoxLayout, QWidget

from moderator_app.core.review.export import ExportFilter


class ExportDialog(QDialog):
    export_requested = Signal(str, object, bool, bool)  # path ("" asks), ExportFilter, provenance, Excel-safe

    def __init__(self, queue: str, moderator: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export decisions as training data")
        self.queue = QLineEdit(queue)
        self.queue.setPlaceholderText("every queue")
        self.moderator = QLineEdit()
        self.moderator.setPlaceholderText(f"every moderator (you are {moderator})" if moderator else "every moderator")
        self.since = QLineEdit()
        self.since.setPlaceholderText("YYYY-MM-DD (from the start)")
        self.until = QLineEdit()
        self.until.setPlaceholderText("YYYY-MM-DD (up to now)")
        self.model = QLineEdit()
        self.model.setPlaceholderText("every model (a folder or a model identity)")
        self.provenance = QCheckBox("Add who, when, which model and queue as columns")
        self.excel_safe = QCheckBox("Excel-safe: prefix cells starting with = + - @ with '")
        self.excel_safe.setToolTip("So that spreadsheet programs do not run them as formulas (as the batch "
                                   "labeller's option). Leave it off for a file to train on.")
        form = QFormLayout()
        form.addRow("Queue", self.queue)
        form.addRow("Moderator", self.moderator)
        form.addRow("Decided from", self.since)
        form.addRow("Decided until", self.until)
        form.addRow("Model", self.model)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton("Export…", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.provenance)
        layout.addWidget(self.excel_safe)
        layout.addWidget(buttons)

    def where(self) -> ExportFilter:
        def value(edit: QLineEdit) -> str | None:
            return edit.text().strip() or None

        return ExportFilter(value(self.queue), value(self.moderator), value(self.since), value(self.until),
                            value(self.model))

    def accept(self) -> None:
        super().accept()
        self.export_requested.emit("", self.where(), self.provenance.isChecked(), self.excel_safe.isChecked())
