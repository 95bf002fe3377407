"""The Training tab: the form on the left; on the right the Data page (file previews, data report)
and the Run page (progress, live plots, epoch table, log). Start hands the run to a superqt worker
(gui.common.tasks.ReportingWorker) that starts the engine in a child process
(core.training.process.train_in_subprocess) and reports its events; nothing model-related ever runs
on the GUI thread."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import SIGNAL, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSplitter, QStyle,
                               QTabWidget, QVBoxLayout, QWidget)

from moderator_app.core.config import TrainingConfig
from moderator_app.core.errors import UserError
from moderator_app.core.training.events import FinishedEvent
from moderator_app.core.training.process import train_in_subprocess
from moderator_app.core.training.run_folder import FolderState, RunFolder
from moderator_app.gui.common import dialogs, settings
from moderator_app.gui.common.errors import describe, show_failure
from moderator_app.gui.common.tasks import BackgroundTasks, ReportingWorker
from moderator_app.gui.training.audit_panel import AuditPanel
from moderator_app.gui.training.data_panel import DataPanel
from moderator_app.gui.training.form import TrainingForm
from moderator_app.gui.training.run_monitor import RunMonitor

FORM_KEY = "training/form"
AUTOMATIC_MODEL_KEY = "training/automatic-model"  # [model, why] when the form chose the base model itself
SPLITTER_KEY = "training/splitter"
MONITOR_SPLITTER_KEY = "training/monitor-splitter"


def run_training(config: TrainingConfig, resume_from: str | None, stop: threading.Event, report, _cancelled,
                 processes: int = 1):
    """Job: one training (or resumed) run in a child process; each engine event is reported. Stop is
    `stop`, not a cancel: a stopped run still returns its FinishedEvent (with a checkpoint). With
    `processes` > 1 (GPUs to use), the child starts that many data-parallel processes."""
    return train_in_subprocess(config, on_event=report, stop_event=stop, resume_from=resume_from,
                               processes=processes)


class TrainingTab(QWidget):
    open_in_review = Signal(str)  # a finished run's model folder
    status_message = Signal(str)
    running_changed = Signal(bool)
    run_finished = Signal(object)  # FinishedEvent
    run_failed = Signal(str)
    run_ended = Signal()  # the worker has finished, whatever the outcome
    review_suspects = Signal(object)  # core.audit.audit.AuditReport: its suspects as a Review queue

    def __init__(self, tasks: BackgroundTasks, parent: QWidget | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.run_tasks = BackgroundTasks(self, max_threads=1)
        self.run_worker: ReportingWorker | None = None
        self._stop = threading.Event()
        self.closing = False  # the window waits for the run to stop, then closes
        self.last_result: FinishedEvent | None = None
        self.last_config: TrainingConfig | None = None
        self.error_dialog = None

        self.form = TrainingForm(tasks)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        form_holder = QWidget()
        holder_layout = QVBoxLayout(form_holder)
        holder_layout.setContentsMargins(8, 8, 12, 8)
        holder_layout.addWidget(self.form)
        scroll.setWidget(form_holder)
        self.form_scroll = scroll

        style = self.style()
        self.start_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Start training")
        self.start_button.setDefault(True)
        font = QFont(self.start_button.font())
        font.setBold(True)
        self.start_button.setFont(font)
        self.start_button.setMinimumHeight(32)
        self.stop_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop")
        self.stop_button.setToolTip("Stop after the current step and write a checkpoint that Resume continues.")
        self.stop_button.setMinimumHeight(32)
        self.stop_button.setEnabled(False)
        self.resume_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward), "Resume")
        self.resume_button.setToolTip("The output folder holds a stopped run: continue it from its checkpoint "
                                      "with the settings it was started with.")
        self.resume_button.setMinimumHeight(32)
        self.resume_button.hide()
        self.resume_button.clicked.connect(self.resume)
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #8a5a00;")
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)

        actions = QHBoxLayout()
        actions.addWidget(self.start_button, 2)
        actions.addWidget(self.resume_button, 1)
        actions.addWidget(self.stop_button, 1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 8)
        left_layout.addWidget(scroll, 1)
        bottom = QVBoxLayout()
        bottom.setContentsMargins(8, 0, 12, 0)
        bottom.addWidget(self.problem_label)
        bottom.addLayout(actions)
        left_layout.addLayout(bottom)
        left.setMinimumWidth(380)

        self.data_panel = DataPanel()
        self.monitor = RunMonitor()
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.data_panel, "Data")
        self.pages.addTab(self.monitor, "Run")
        self.audit_panel = AuditPanel()
        self.pages.addTab(self.audit_panel, "Audit")
        self.data_panel.audit_button.clicked.connect(self.audit)
        self.audit_panel.review_requested.connect(self.review_suspects)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.pages)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([460, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self.form.validity_changed.connect(self._update_buttons)
        self.form.preview_changed.connect(self._on_preview)
        self.form.report_changed.connect(self.data_panel.show_report)
        self.monitor.open_in_review_clicked.connect(self._open_in_review)
        self.monitor.show_folder_clicked.connect(self.show_model_folder)
        self.monitor.resume_clicked.connect(self.resume)
        self.monitor.data_loaded.connect(lambda summary: self.data_panel.show_report("ok", summary))
        self.form.values_changed.connect(self._update_buttons)
        self.restore_state()
        self._update_buttons()

    # ------------------------------------------------------------------------------ state
    def restore_state(self) -> None:
        values = settings.load_value(FORM_KEY)
        if isinstance(values, dict):
            self.form.set_values(values)
        automatic = settings.load_value(AUTOMATIC_MODEL_KEY)
        if isinstance(automatic, list) and len(automatic) == 2 and all(isinstance(part, str) for part in automatic):
            self.form.model.automatic_model = (automatic[0], automatic[1])
        for key, splitter in ((SPLITTER_KEY, self.splitter), (MONITOR_SPLITTER_KEY, self.monitor.splitter)):
            state = settings.load_bytes(key)
            if state is not None:
                splitter.restoreState(state)

    def save_state(self) -> None:
        settings.save_value(FORM_KEY, self.form.values())
        automatic = self.form.model.automatic_model
        settings.save_value(AUTOMATIC_MODEL_KEY, list(automatic) if automatic else None)
        settings.save_bytes(SPLITTER_KEY, self.splitter.saveState())
        settings.save_bytes(MONITOR_SPLITTER_KEY, self.monitor.splitter.saveState())

    def start_background_checks(self) -> None:
        """Called once the window shows: device probe (imports torch), local model scan, default model."""
        self.form.detect_devices()
        self.form.model.find_local_models()
        self.form.model.choose_default_model()

    # ------------------------------------------------------------------------------ running
    @property
    def is_running(self) -> bool:
        return self.run_worker is not None

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        if self.is_running:
            return
        try:
            config = self.form.config()
        except UserError as error:
            self.error_dialog = show_failure(self, error, "Cannot start training")
            return
        if not self._may_replace(config):
            return
        self.save_state()
        self._launch(config, resume_from=None)

    def _may_replace(self, config: TrainingConfig) -> bool:
        """A folder holding an earlier run is replaced only when the user says so here; it is then
        removed before the new run writes anything (RunFolder.claim)."""
        folder = RunFolder(config.output_dir)
        state = folder.state(config.model_name_or_path)
        if state not in (FolderState.FINISHED_RUN, FolderState.STOPPED_RUN):
            return True
        what = "a stopped run (Resume would continue it)" if state is FolderState.STOPPED_RUN else "an earlier run"
        if not dialogs.confirm(self, "Replace the earlier run?",
                               f"{folder.path} holds {what}. Starting removes its model, metrics and "
                               "model card before the new run writes anything.", "Replace it"):
            return False
        config.overwrite = True
        return True

    def resumable_folder(self) -> str | None:
        """The output folder of a stopped run that Resume would continue, if any."""
        if self.last_result is not None and self.last_result.resumable:
            return self.last_result.output_dir
        folder = self.form.fields["output_dir"].value()
        if folder and RunFolder(folder).is_resumable:
            return folder
        return None

    def resume(self) -> None:
        folder = self.resumable_folder()
        if self.is_running or folder is None:
            return
        # the engine continues with the configuration saved in the folder; read it for the display
        config = self.last_config if self.last_result is not None and self.last_config is not None else None
        if config is None:
            run_folder = RunFolder(folder)
            try:
                config = TrainingConfig.load(run_folder.config_file)
            except UserError:
                config = TrainingConfig(output_dir=folder)
            config.output_dir = folder
            if not self.monitor.history.steps:  # a run stopped in an earlier session: show its past
                self.monitor.load_history(run_folder.metrics_file)
        self._launch(config, resume_from=folder)

    def stop(self) -> None:
        if self.is_running and not self.stop_requested:
            self._stop.set()
            self.stop_button.setEnabled(False)
            self.stop_button.setText("Stopping…")
            self.monitor.set_stopping()
            self.status_message.emit("Stopping after the current step…")

    def _launch(self, config: TrainingConfig, resume_from: str | None) -> None:
        self.last_config = config
        self.last_result = None
        self.monitor.begin(config.num_epochs, config.logging_steps, resumed=resume_from is not None)
        self.monitor.log(("Resuming from " + resume_from) if resume_from else
                         f"Training {config.model_name_or_path} on {_data_names(config)}; output: {config.output_dir}")
        self.pages.setCurrentWidget(self.monitor)

        self._stop = threading.Event()
        self.run_worker = ReportingWorker(run_training, config, resume_from, self._stop,
                                          processes=self.form.processes())
        self._set_running(True)
        self.status_message.emit("Resuming training…" if resume_from else "Training started…")
        self.run_tasks.start(self.run_worker, on_progress=self.monitor.handle_event, on_done=self._on_succeeded,
                             on_error=self._on_failed, on_finished=self._on_worker_finished)

    def _on_succeeded(self, result: FinishedEvent) -> None:
        self.last_result = result
        self.monitor.finish(result, review_available=self.review_available())
        self.status_message.emit(f"Training {'stopped' if result.resumable else 'finished'} at step "
                                 f"{result.global_step}.")
        self.run_finished.emit(result)

    def _on_failed(self, error: BaseException) -> None:
        failure = describe(error)
        self.monitor.fail(failure.message)
        self.status_message.emit("Training failed.")
        details = getattr(error, "remote_traceback", None) or failure.details  # the training process's own
        self.error_dialog = dialogs.show_error(self, "Training failed", failure.message, details)
        self.run_failed.emit(failure.message)

    def _on_worker_finished(self) -> None:
        self.run_worker = None
        self._set_running(False)
        self.run_ended.emit()

    def _set_running(self, running: bool) -> None:
        self.form.set_running(running)
        self.stop_button.setText("Stop")
        self._update_buttons()
        self.running_changed.emit(running)

    def _update_buttons(self, *_args) -> None:
        running = self.is_running
        self.start_button.setEnabled(not running and self.form.is_valid)
        self.stop_button.setEnabled(running and not self.stop_requested)
        offered_below = self.last_result is not None and self.last_result.resumable  # in the Run page
        self.resume_button.setVisible(not running and not offered_below and self.resumable_folder() is not None)
        problem = "" if running else self.form.problem_summary
        self.problem_label.setText(problem)
        self.problem_label.setVisible(bool(problem))

    # ------------------------------------------------------------------------------ closing
    def can_close(self) -> bool:
        """During a run: ask, then stop it with a checkpoint and answer False; the window closes again
        once the run has ended (`closing` says it waits)."""
        if not self.is_running:
            return True
        if not self.closing:
            if not dialogs.confirm(self, "Training is running",
                                   "A training run is in progress. Stop it and quit?\n\nThe run stops after "
                                   "the current step and writes a checkpoint; Resume continues it later.",
                                   "Stop and quit", "Keep training"):
                return False
            self.closing = True
            self.stop()
            self.status_message.emit("Stopping the run; the window closes when it has stopped…")
        return False

    def shutdown(self) -> None:
        self.save_state()
        self.audit_panel.cancel()
        self.run_tasks.wait(15_000)
        self.audit_panel.wait(15_000)

    def audit(self) -> None:
        """Audit the form's data (gui/training/audit_panel) on the Audit page."""
        from moderator_app.core.config import ConfigError
        from moderator_app.gui.training.audit_panel import AUDIT_SETTINGS

        try:
            config = self.form.config_for_saving()
            problems = {name: problem for name, problem in config.problems().items() if name in AUDIT_SETTINGS}
            if problems:
                first = next(iter(problems))
                raise ConfigError(first, problems[first], problems=problems)
        except UserError as error:
            show_failure(self, error, "Cannot audit the data: fix this setting first")
            return
        self.pages.setCurrentWidget(self.audit_panel)
        self.audit_panel.start(config)

    # ------------------------------------------------------------------------------ results
    def review_available(self) -> bool:
        return self.receivers(SIGNAL("open_in_review(QString)")) > 0

    def _open_in_review(self) -> None:
        if self.last_result is not None:
            self.open_in_review.emit(self.last_result.output_dir)

    def show_model_folder(self) -> None:
        folder = self.last_result.output_dir if self.last_result else (self.last_config.output_dir
                                                                         if self.last_config else "")
        if folder:
            self.error_dialog = dialogs.show_folder(self, folder, "The model folder")

    def _on_preview(self, role: str, preview: object, message: str) -> None:
        self.data_panel.show_preview(role, preview, message)
        if preview is not None and not self.is_running:
            self.pages.setCurrentWidget(self.data_panel)


def _data_names(config: TrainingConfig) -> str:
    """The training file, or the training file and each source, for the log."""
    names = ([config.train_file] if config.train_file else []) + [entry.get("path", "?") for entry in config.sources]
    return ", ".join(names) or "(no data)"
