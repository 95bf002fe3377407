"""Importing a file into the Review tab: its first rows, a picker for the text column, and the choice
between showing it in the results table (small files) and batch-labelling it to an output file."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QPushButton, QVBoxLayout,
                               QWidget)

from moderator_app.gui.common.errors import describe
from moderator_app.gui.common.fields import ERROR_COLOR
from moderator_app.gui.common.preview_table import fill_preview_table, new_preview_table
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.review.workers import TABLE_ROW_LIMIT, FilePreview, is_text_file, preview_for_import

MAX_CELL_CHARS = 200


class ImportDialog(QDialog):
    table_requested = Signal(str, str)  # path, text column
    batch_requested = Signal(str, str)

    def __init__(self, tasks: BackgroundTasks, path: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Import a file")
        self.tasks = tasks
        self.path = path
        self.preview: FilePreview | None = None
        self.column = QComboBox()
        self.column.setToolTip("The column holding the texts to classify")
        self.column.setEnabled(False)
        self.status = QLabel("Reading the file…")
        self.status.setWordWrap(True)
        self.table = new_preview_table()
        self.table_button = QPushButton("Show in the table")
        self.table_button.setToolTip(f"Classify the texts and show them in the results table (files of up to "
                                     f"{TABLE_ROW_LIMIT:,} rows)")
        self.batch_button = QPushButton("Batch-label to a file…")
        self.batch_button.setToolTip("Label every row and write the file again with predicted_label, score and "
                                     "one probability per label added; for files of any size")
        for button in (self.table_button, self.batch_button):
            button.setEnabled(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(self.table_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.batch_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.rejected.connect(self.reject)
        self.table_button.clicked.connect(lambda: self._choose(self.table_requested))
        self.batch_button.clicked.connect(lambda: self._choose(self.batch_requested))
        self.column.currentIndexChanged.connect(self._highlight_column)

        form = QFormLayout()
        form.addRow("File", QLabel(path))
        form.addRow("Text column", self.column)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(820, 480)
        tasks.submit(preview_for_import, path, on_done=self._show_preview, on_error=self._show_error,
                     key="review-import-preview")

    def text_column(self) -> str:
        return self.column.currentText()

    def set_text_column(self, name: str) -> None:
        index = self.column.findText(name)
        if index >= 0:
            self.column.setCurrentIndex(index)

    def _choose(self, signal) -> None:
        signal.emit(self.path, self.text_column())
        self.accept()

    def _show_preview(self, preview: FilePreview) -> None:
        self.preview = preview
        self.column.clear()
        self.column.addItems(preview.columns)
        if preview.text_column:
            self.set_text_column(preview.text_column)
        self.column.setEnabled(not is_text_file(self.path))
        fill_preview_table(self.table, preview.columns, preview.rows, MAX_CELL_CHARS, max_column_width=360)
        total = preview.total_rows
        kind = "lines" if is_text_file(self.path) else "rows"
        counted = f"{total:,} {kind}" if total is not None else f"the first {len(preview.rows)} {kind} shown"
        small = total is not None and total <= TABLE_ROW_LIMIT
        self.status.setText(f"{counted}. " + ("Show them in the table, or batch-label the file."
                                              if small else f"More than {TABLE_ROW_LIMIT:,}: batch-label the file "
                                                            "to an output file."))
        self.table_button.setEnabled(small and bool(preview.columns))
        self.batch_button.setEnabled(bool(preview.columns))
        self._highlight_column()

    def _highlight_column(self) -> None:
        if self.preview is None:
            return
        index = self.column.currentIndex()
        if index >= 0:
            self.table.selectColumn(index)

    def _show_error(self, error: BaseException) -> None:
        self.status.setText(describe(error).message)
        self.status.setStyleSheet(f"color: {ERROR_COLOR.name()};")
