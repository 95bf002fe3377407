"""The Review tab's "Texts" box: paste or type texts, one per line or as one item, then Classify
(Ctrl+Enter), or Import a file (shown in the table, or handed on for batch labelling). The
classification runs as a job of the shared model (core.inference.shared_model.classify) with a
progress bar and Cancel; `classified` brings the probabilities back."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QButtonGroup, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit,
                               QProgressBar, QPushButton, QRadioButton, QStyle, QToolButton, QVBoxLayout, QWidget)
from superqt.utils import qthrottled

from moderator_app.core.inference.shared_model import Classified, JobCancelled, ModelHandle, classify
from moderator_app.gui.common import settings
from moderator_app.gui.common.errors import show_failure
from moderator_app.gui.common.fields import DATA_FILTER
from moderator_app.gui.common.tasks import BackgroundTasks, ReportingWorker
from moderator_app.gui.review.import_dialog import ImportDialog
from moderator_app.gui.review.workers import TABLE_ROW_LIMIT

PASTE_MODE_KEY = "review/paste-mode"
PROGRESS_INTERVAL_MS = 100  # progress shown at most ten times a second, however fast batches go
IMPORT_FILTER = ("Texts and data files (*.txt *.csv *.tsv *.tab *.jsonl *.json *.ndjson *.parquet *.pq);;"
                 + DATA_FILTER.split(";;")[-1])


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
    classified = Signal(object, str)  # Classified, where the texts came from
    batch_requested = Signal(str, str)  # an imported file to batch-label, its text column
    status_message = Signal(str)

    def __init__(self, file_tasks: BackgroundTasks, model_tasks: BackgroundTasks, parent: QWidget | None = None):
        super().__init__("Texts", parent)
        self.file_tasks, self.model_tasks = file_tasks, model_tasks
        self.handle: ModelHandle | None = None  # the model to classify with
        self.classifying: ReportingWorker | None = None
        self.imported_items: dict = {}  # path -> QueueItems (texts and other columns) being classified
        self.last_imported_path = ""  # offered first by the evaluation view
        self.error_dialog = None
        style = self.style()
        self.text_edit = PasteBox()
        self.text_edit.setPlaceholderText("Paste or type texts here, one per line, then Classify (Ctrl+Enter).")
        self.text_edit.setMinimumHeight(120)
        self.text_edit.submitted.connect(self.classify_pasted)
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
        self.classify_button.clicked.connect(self.classify_pasted)
        self.import_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_FileIcon), "Import file…")
        self.import_button.setToolTip("TXT (one item per line), CSV, TSV, JSON Lines or Parquet: show it in the "
                                      "table, or batch-label it to an output file")
        self.import_button.clicked.connect(lambda: self.import_file())
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogCancelButton))
        self.cancel_button.setToolTip("Cancel the classification")
        self.cancel_button.clicked.connect(self.cancel)
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
        self.update_state()

    def save_state(self) -> None:
        settings.save_value(PASTE_MODE_KEY, "whole" if self.whole_text.isChecked() else "lines")

    def pasted(self) -> tuple[list[str], int]:
        """The items in the box and the number of blank lines skipped."""
        return split_pasted(self.text_edit.toPlainText(), self.per_line.isChecked())

    def set_model(self, handle: ModelHandle | None) -> None:
        self.handle = handle
        self.update_state()

    def update_state(self) -> None:
        model_loaded, classifying = self.handle is not None, self.classifying is not None
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

    # ------------------------------------------------------------------------------ classify
    def classify_pasted(self) -> None:
        texts, skipped = self.pasted()
        if not texts:
            self.hint.setText("Nothing to classify: paste or type some text first.")
            return
        self.classify(texts, "pasted text")
        if skipped:
            self.hint.setText(f"{skipped:,} blank line{'s' if skipped != 1 else ''} skipped.")

    def classify(self, texts: list[str], source: str) -> None:
        """Classify `texts` with the loaded model in the background; a running classification is dropped."""
        if self.handle is None:
            self.hint.setText("Load a model first.")
            return
        self.cancel(quietly=True)
        self.classifying = worker = ReportingWorker(classify, self.handle, texts)
        self.update_state()
        self.status_message.emit(f"Classifying {len(texts):,} items…")
        self.model_tasks.start(worker, key="classify", on_progress=self.show_progress,
                               on_done=lambda result: self._classified(result, source, worker),
                               on_error=lambda error: self._failed(error, worker))

    def cancel(self, quietly: bool = False) -> None:
        if self.classifying is not None:
            self.classifying.cancel()
            self.model_tasks.forget("classify")
            self._ended()
            if not quietly:
                self.status_message.emit("Classification cancelled.")

    def _ended(self) -> None:
        self.classifying = None
        self.update_state()

    def _failed(self, error: BaseException, worker: ReportingWorker) -> None:
        if worker is self.classifying:
            self._ended()
            if not isinstance(error, JobCancelled):
                self.error_dialog = show_failure(self, error, "Cannot classify")

    def _classified(self, result: Classified, source: str, worker: ReportingWorker) -> None:
        if worker is self.classifying:
            self._ended()
            self.classified.emit(result, source)

    # ------------------------------------------------------------------------------ import
    def import_file(self, path: str | None = None) -> ImportDialog | None:
        """Preview a file, then show it in the table or hand it on for batch labelling."""
        if self.handle is None:
            self.hint.setText("Load a model first.")
            return None
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Import texts", settings.last_folder("data"), IMPORT_FILTER)
            if not path:
                return None
        settings.remember_folder("data", path)
        dialog = ImportDialog(self.file_tasks, path, self)
        dialog.table_requested.connect(self.show_file_in_table)
        dialog.batch_requested.connect(self.batch_requested)
        dialog.open()
        return dialog

    def show_file_in_table(self, path: str, column: str | None = None) -> None:
        self.last_imported_path = path
        self.status_message.emit(f"Reading {path}…")
        self.hint.setText(f"Reading {Path(path).name}…")

        def failed(error: BaseException) -> None:
            self.hint.setText("")
            self.error_dialog = show_failure(self, error, "Cannot import the file")

        from moderator_app.core.review.items import read_queue_items

        def read(items) -> None:
            self.imported_items = {path: items}  # the file's other columns go into its queue
            self.classify(list(items.texts), path)

        self.file_tasks.submit(read_queue_items, path, column, TABLE_ROW_LIMIT, key="review-read", on_error=failed,
                               on_done=read)

    @qthrottled(timeout=PROGRESS_INTERVAL_MS)
    def show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done:,} of {total:,}")
