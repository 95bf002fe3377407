""""Find learning rate…" beside the form's learning rate: a dialog that runs the learning-rate search
(core/training/lr_search.py) with the form's settings in the background — a superqt worker of
gui/common/tasks.py that starts the search in a child process (core/training/process.py), as a training
run does — with a progress bar and Cancel, the validation loss against the learning rate as it comes
in, the table of trials, and "Use this", which sets the form's learning rate to the chosen row's (the
recommended one unless the user picks another)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from moderator_app.core.config import TrainingConfig
from moderator_app.core.errors import SettingsError, UserError
from moderator_app.core.training.lr_search import (MAX_TRIALS, RECIPE_LEARNING_RATE, SearchResult, SearchSettings,
                                                   TrialProgress, TrialResult, check_config,
                                                   search_in_subprocess)
from moderator_app.gui.common.errors import describe, setting_label_for_gui
from moderator_app.gui.common.fields import format_float
from moderator_app.gui.common.tasks import BackgroundTasks, ReportingWorker
from moderator_app.gui.training.lr_plot import LearningRatePlot

COLUMNS = ("Learning rate", "Validation loss", "Accuracy", "F1", "")
SETTING_LABELS = {"min_lr": "From", "max_lr": "To", "trials": "Trials", "steps": "Steps per trial"}


class _CancelFlag:
    """The worker's cancelled() as the `is_set()` that run_in_subprocess polls."""

    def __init__(self, cancelled):
        self.is_set = cancelled


def find_learning_rate(config: TrainingConfig, settings: SearchSettings, report, cancelled) -> SearchResult:
    """Job: the search in a child process; each TrialProgress and TrialResult is reported."""
    return search_in_subprocess(config, settings, on_progress=report, stop_event=_CancelFlag(cancelled))


class LearningRateFinderDialog(QDialog):
    learning_rate_chosen = Signal(float)
    search_ended = Signal()  # whatever the outcome

    def __init__(self, config_source, parent: QWidget | None = None):
        """`config_source()` returns the form's TrainingConfig as it is now (or raises a UserError)."""
        super().__init__(parent)
        self.setWindowTitle("Find a learning rate")
        self.resize(760, 780)
        self.config_source = config_source
        self.tasks = BackgroundTasks(self, max_threads=1)
        self.worker: ReportingWorker | None = None
        self.result: SearchResult | None = None
        self.trials: list[TrialResult] = []

        defaults = SearchSettings()
        self.min_lr, self.max_lr = QLineEdit(format_float(defaults.min_lr)), QLineEdit(format_float(defaults.max_lr))
        self.trial_count = _spin(2, MAX_TRIALS, defaults.trials)
        self.steps = _spin(1, 1_000_000, defaults.steps)
        intro = QLabel("Short trials of the form's settings, one per learning rate (log-spaced over the range, and "
                       f"the recipe's {RECIPE_LEARNING_RATE:g}): each trains from the same weights on the same "
                       "stratified subset of the training data and is scored by its validation loss. Nothing is "
                       "written; the trials' temporary folder is removed.")
        intro.setWordWrap(True)
        settings_row = QHBoxLayout()
        for label, widget in (("From", self.min_lr), ("to", self.max_lr), ("Trials", self.trial_count),
                              ("Steps per trial", self.steps)):
            settings_row.addWidget(QLabel(label))
            settings_row.addWidget(widget, 1)
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        settings_row.addWidget(self.start_button)
        settings_row.addWidget(self.cancel_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plot = LearningRatePlot()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.recommendation = QLabel("")
        self.recommendation.setWordWrap(True)

        buttons = QDialogButtonBox()
        self.use_button = buttons.addButton("Use this", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.setEnabled(False)
        self.use_button.setToolTip("Set the form's learning rate to the selected row's (the recommended one at first).")
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        self.use_button.clicked.connect(self.use_selected)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(settings_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 3)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.recommendation)
        layout.addWidget(buttons)

        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        QApplication.instance().aboutToQuit.connect(self._cancel_and_wait)

    # ------------------------------------------------------------------------------ running
    @property
    def is_running(self) -> bool:
        return self.worker is not None

    def settings(self) -> SearchSettings:
        """The range and trial size as entered; raises a SettingsError naming the field."""
        rates = {}
        for name, line in (("min_lr", self.min_lr), ("max_lr", self.max_lr)):
            try:
                rates[name] = float(line.text().strip().replace(",", "."))
            except ValueError:
                raise SettingsError(f"{{{name}}}: '{line.text()}' is not a number; write e.g. 1e-6.", setting=name) from None
        return SearchSettings(trials=self.trial_count.value(), steps=self.steps.value(), **rates).check()

    def start(self) -> None:
        if self.is_running:
            return
        try:
            settings = self.settings()
            config = self.config_source()
            check_config(config)  # at once, not from the child process
        except UserError as error:
            self._show_status(_render(error), error=True)
            return
        self.trials, self.result = [], None
        self.table.setRowCount(0)
        self.plot.show_trials([])
        self.plot.mark_chosen(None)
        self.recommendation.setText("")
        self.use_button.setEnabled(False)
        count = len(settings.learning_rates())
        self.progress.setRange(0, count * settings.steps)
        self.progress.setValue(0)
        self._show_status(f"Starting {count} trials: loading the model and the data…")
        self.worker = ReportingWorker(find_learning_rate, config, settings)
        self._set_running(True)
        self.tasks.start(self.worker, on_progress=self._on_progress, on_done=self._on_done, on_error=self._on_error,
                         on_finished=self._on_finished)

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)
            self._show_status("Cancelling after the current step…")

    def _cancel_and_wait(self) -> None:
        """The application quits: stop the search (its child removes the trials' folder) before the pool goes."""
        self.cancel()
        self.tasks.wait(60_000)

    def reject(self) -> None:
        """Closing the dialog cancels a search in progress."""
        self.cancel()
        super().reject()

    def _on_progress(self, item) -> None:
        if isinstance(item, TrialProgress):
            self.progress.setMaximum(item.trials * item.steps)
            self.progress.setValue((item.trial - 1) * item.steps + item.step)
            loss = f", training loss {item.loss:.4f}" if item.loss is not None else " (loading)"
            if not (self.worker and self.worker.cancelled()):
                self._show_status(f"Trial {item.trial} of {item.trials}: learning rate {item.learning_rate:.2g}, "
                                  f"step {item.step} of {item.steps}{loss}")
        elif isinstance(item, TrialResult):
            self.trials.append(item)
            self.plot.show_trials(self.trials)
            self._fill_table(self.trials, None)

    def _on_done(self, result: SearchResult) -> None:
        self.result = result
        self.plot.show_trials(result.trials)
        self._fill_table(result.trials, result)
        done = f"{len(result.trials)} trials of {result.steps} steps on {result.train_rows:,} of " \
               f"{result.train_rows_total:,} training rows ({result.fraction_of_epoch:.0%} of an epoch), scored on " \
               f"{result.validation_rows:,} validation rows."
        self._show_status(("Cancelled after " if result.cancelled else "Done: ") + done)
        self.progress.setValue(self.progress.maximum() if not result.cancelled else self.progress.value())
        self.recommendation.setText((f"Recommended: {result.recommended:.2g}. " if result.recommended else "")
                                    + result.reason)

    def _on_error(self, error: BaseException) -> None:
        self._show_status(describe(error).message, error=True)

    def _on_finished(self) -> None:
        self.worker = None
        self._set_running(False)
        self._on_selection()  # "Use this" waits for the end of the search
        self.search_ended.emit()

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for widget in (self.min_lr, self.max_lr, self.trial_count, self.steps):
            widget.setEnabled(not running)

    def _show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b3261e;" if error else "")

    # ------------------------------------------------------------------------------ results
    def _fill_table(self, trials: list[TrialResult], result: SearchResult | None) -> None:
        ordered = sorted(trials, key=lambda trial: trial.learning_rate)
        self.table.setRowCount(len(ordered))
        chosen_row = None
        for row, trial in enumerate(ordered):
            notes = [note for note, applies in (
                ("recipe", trial.is_recipe), ("best", result is not None and trial.learning_rate == result.best),
                ("recommended", result is not None and trial.learning_rate == result.recommended)) if applies]
            cells = [f"{trial.learning_rate:.2e}"] + (["diverged", "", ""] if trial.diverged else
                                                      [f"{trial.val_loss:.4f}", f"{trial.accuracy:.4f}", f"{trial.f1:.4f}"])
            for column, text in enumerate(cells + [", ".join(notes)]):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, trial.learning_rate)
                if column < 4:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
            if result is not None and trial.learning_rate == result.recommended:
                chosen_row = row
        if chosen_row is not None:
            self.table.selectRow(chosen_row)

    def selected_rate(self) -> float | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or self.result is None:
            return None
        trial = next(trial for trial in self.result.trials
                     if trial.learning_rate == self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole))
        return None if trial.diverged else trial.learning_rate

    def _on_selection(self) -> None:
        rate = self.selected_rate()
        self.use_button.setEnabled(rate is not None and not self.is_running)
        self.use_button.setText(f"Use {rate:.2g}" if rate is not None else "Use this")
        self.plot.mark_chosen(rate)

    def use_selected(self) -> None:
        rate = self.selected_rate()
        if rate is not None:
            self.learning_rate_chosen.emit(float(f"{rate:.2g}"))
            self.accept()


def _spin(minimum: int, maximum: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setValue(value)
    return box


def _render(error: UserError) -> str:
    """The form's settings by their labels; the dialog's own by theirs."""
    return error.render(lambda name: f"\"{SETTING_LABELS[name]}\"" if name in SETTING_LABELS
                        else setting_label_for_gui(name))


class LearningRateFinder:
    """The "Find learning rate…" button beside the form's learning rate, and the dialog it opens."""

    def __init__(self, form):
        self.form = form
        self.dialog: LearningRateFinderDialog | None = None
        self.button = QPushButton("Find learning rate…")
        self.button.setToolTip("Find a learning rate: short trials of these settings over a range of learning rates, "
                               "plotted against their validation loss.")
        form.fields["learning_rate"].row.addWidget(self.button)
        self.button.clicked.connect(self.open)

    def open(self) -> LearningRateFinderDialog:
        if self.dialog is None:
            self.dialog = LearningRateFinderDialog(self.form.config_for_saving, self.form)
            self.dialog.learning_rate_chosen.connect(self._use)
        self.dialog.open()
        return self.dialog

    def _use(self, rate: float) -> None:
        self.form.fields["learning_rate"].set_value(rate)
