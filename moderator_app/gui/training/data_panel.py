"""The Data page of the Training tab: the first rows of the training and validation files and the
data report (rows read, rows dropped and why, label counts, split sizes) before training starts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QSplitter, QVBoxLayout, QWidget

from moderator_app.gui.common import checks
from moderator_app.gui.common.fields import ERROR_COLOR, HINT_COLOR
from moderator_app.gui.common.preview_table import fill_preview_table, new_preview_table

MAX_CELL_CHARS = 300


class PreviewTable(QWidget):
    def __init__(self, title: str, empty_text: str):
        super().__init__()
        self.title = QLabel(f"<b>{title}</b>")
        self.status = QLabel(empty_text)
        self.status.setWordWrap(True)
        self.empty_text = empty_text
        self.table = new_preview_table()
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addStretch(0)
        self.table.hide()

    def show_preview(self, preview: checks.Preview | None, message: str) -> None:
        if preview is None:
            self.table.clear()
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.table.hide()
            self._set_status(message or self.empty_text, error=bool(message) and message != "Reading…")
            return
        self.table.show()
        self._set_status(f"{preview.path} — first {len(preview.rows)} rows, {len(preview.columns)} columns")
        fill_preview_table(self.table, preview.columns, preview.rows, MAX_CELL_CHARS, max_column_width=420)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        palette = self.status.palette()
        palette.setColor(QPalette.ColorRole.WindowText, ERROR_COLOR if error else
                         self.palette().color(QPalette.ColorRole.WindowText))
        self.status.setPalette(palette)


class DataPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.train_preview = PreviewTable("Training file", "Choose a training file to see its first rows.")
        self.validation_preview = PreviewTable(
            "Validation file", "No validation file: a stratified split of the training data is held out.")
        self.report_title = QLabel("<b>Data report</b>")
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report.setPlaceholderText("The data report (rows read, rows dropped and why, label counts, "
                                       "training and validation sizes) appears here once a training file "
                                       "is chosen.")
        report_box = QWidget()
        report_layout = QVBoxLayout(report_box)
        report_layout.setContentsMargins(0, 0, 0, 0)
        report_layout.setSpacing(3)
        # the data audit (gui/training/audit_panel), beside the report it goes deeper than
        self.audit_button = QPushButton("Audit data…")
        self.audit_button.setToolTip("Look for likely label errors, duplicates and leaks between training and "
                                     "validation in this data, read as training reads it (runs in the background).")
        title_row = QHBoxLayout()
        title_row.addWidget(self.report_title, 1)
        title_row.addWidget(self.audit_button)
        report_layout.addLayout(title_row)
        report_layout.addWidget(self.report, 1)
        self.report_state = "empty"

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.train_preview)
        splitter.addWidget(self.validation_preview)
        splitter.addWidget(report_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setStretchFactor(2, 2)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)

    def show_preview(self, role: str, preview: object, message: str) -> None:
        table = self.train_preview if role == "train" else self.validation_preview
        table.show_preview(preview, message)  # type: ignore[arg-type]

    def show_report(self, state: str, text: str) -> None:
        self.report_state = state
        self.report.setPlainText(text)
        palette = self.report.palette()
        color = {"error": ERROR_COLOR, "pending": HINT_COLOR}.get(state)
        palette.setColor(QPalette.ColorRole.Text, color if color is not None else
                         self.palette().color(QPalette.ColorRole.Text))
        self.report.setPalette(palette)
        self.report_title.setText("<b>Data report</b>" + (" — a problem to fix before training" if state == "error"
                                                          else ""))
