"""What the evaluation view measures the model on: a labelled file (its text, label and group
columns, guessed when the file's columns are read in the background) or, for a model trained here,
its validation split, read and split again from its training configuration."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLineEdit, QToolButton, QWidget

from moderator_app.core.evaluation.jobs import file_columns
from moderator_app.core.training.validation_split import SOURCE_GROUP, has_training_config
from moderator_app.core.files.columns import guess_label_column, guess_text_column
from moderator_app.gui.common import settings
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.review.input_panel import IMPORT_FILTER

NO_GROUP = "(none)"
LABELLED_FILE, VALIDATION_SPLIT = "file", "validation"


class EvaluationData(QWidget):
    """The "Data" rows of the evaluation view; `model_folder` decides whether the validation split is offered."""

    ready = Signal(bool)  # whether there is something to evaluate
    status = Signal(str)
    failed = Signal(object)  # the file's columns could not be read

    def __init__(self, model_folder: str, file_tasks: BackgroundTasks, parent: QWidget | None = None):
        super().__init__(parent)
        self.file_tasks = file_tasks
        self.data_choice = QComboBox()
        self.data_choice.addItem("A labelled file", LABELLED_FILE)
        if has_training_config(model_folder):  # a model trained here
            self.data_choice.addItem("The model's validation split", VALIDATION_SPLIT)
        self.data_choice.setEnabled(self.data_choice.count() > 1)
        self.data_choice.setToolTip("The validation split is read and split again from the model's training "
                                    "configuration, as its training run did")
        self.data_choice.currentIndexChanged.connect(self._data_chosen)
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("a labelled file: CSV, TSV, JSON Lines or Parquet (press Enter)")
        # Enter, not every focus change: re-reading the columns would undo the moderator's choices
        self.path_edit.returnPressed.connect(lambda: self.set_path(self.path()))
        self.browse_button = QToolButton()
        self.browse_button.setText("…")
        self.browse_button.setToolTip("Choose a labelled file…")
        self.browse_button.clicked.connect(self.browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        self.text_combo, self.label_combo, self.group_combo = QComboBox(), QComboBox(), QComboBox()
        self.group_combo.setToolTip("Also measure the model on each value of this column (a source, a target "
                                    "group, a test-case type)")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Data", self.data_choice)
        form.addRow("Labelled file", path_row)
        form.addRow("Text column", self.text_combo)
        form.addRow("Label column", self.label_combo)
        form.addRow("Group by", self.group_combo)

    def path(self) -> str:
        return self.path_edit.text().strip()

    def browse(self) -> None:
        start = self.path_edit.text() or settings.last_folder("data")
        path, _ = QFileDialog.getOpenFileName(self, "Choose a labelled file", start, IMPORT_FILTER)
        if path:
            settings.remember_folder("data", path)
            self.set_path(path)

    def set_path(self, path: str) -> None:
        """Read the file's columns (in the background) and guess the text and label columns."""
        self.path_edit.setText(path)
        self.ready.emit(False)
        if not path:
            return
        self.status.emit(f"Reading the columns of {Path(path).name}…")
        self.file_tasks.submit(file_columns, path, key="evaluation-columns", on_done=self._show_columns,
                               on_error=self.failed.emit)

    def _show_columns(self, columns: list[str]) -> None:
        text, label = guess_text_column(columns), guess_label_column(columns)
        for combo, guess in ((self.text_combo, text), (self.label_combo, label)):
            combo.clear()
            combo.addItems(columns)
            if guess is not None:
                combo.setCurrentText(guess)
        if self.validation_chosen():  # the moderator switched to the validation split meanwhile
            return
        self._groups([(column, column) for column in columns])
        self.status.emit("" if label is not None else "Choose the column that holds the correct labels.")
        self.ready.emit(True)

    def _groups(self, choices: list[tuple[str, str]]) -> None:
        self.group_combo.clear()
        self.group_combo.addItem(NO_GROUP, "")
        for title, value in choices:
            self.group_combo.addItem(title, value)

    def validation_chosen(self) -> bool:
        return self.data_choice.currentData() == VALIDATION_SPLIT

    def by_source(self) -> bool:
        """The validation split measured per training source."""
        return self.group_combo.currentData() == SOURCE_GROUP

    def can_evaluate(self) -> bool:
        return self.validation_chosen() or bool(self.path())

    def _data_chosen(self) -> None:
        validation = self.validation_chosen()
        for widget in (self.path_edit, self.browse_button, self.text_combo, self.label_combo):
            widget.setEnabled(not validation)
        if validation:
            self._groups([("source (several training sources)", SOURCE_GROUP)])
            self.ready.emit(True)
            self.status.emit("")
        else:
            self._groups([])
            self.set_path(self.path())
