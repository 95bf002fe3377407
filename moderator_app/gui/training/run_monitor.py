"""The Run page of the Training tab: progress, live plots, the epoch table, the log and what to do
once a run ends (run_result.RunResultBar).

Engine events are queued as they arrive and applied at most ten times a second (REDRAW_INTERVAL_MS,
superqt's qthrottled), so a fast stream of steps never floods the GUI thread with redraws. A run
stopped in an earlier session is shown by replaying the events its metrics.jsonl recorded through
the same handler (core.training.events.event_from_dict)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from superqt.utils import qthrottled

from moderator_app.core.training.events import (CheckpointEvent, DataLoadedEvent, EpochEvent, FailedEvent,
                                                FinishedEvent, FunctionalTestsEvent, StatusEvent, StepEvent)
from moderator_app.core.training.run_folder import read_events
from moderator_app.core.training.suites_at_end import short_summary, summary_lines
from moderator_app.gui.training.epoch_table import EpochsBox
from moderator_app.gui.common.formatting import duration, number
from moderator_app.gui.training.plots import LossPlot, MetricsPlot, RunHistory
from moderator_app.gui.training.run_log import RunLog
from moderator_app.gui.training.run_result import REASONS, RunResultBar, escape

REDRAW_INTERVAL_MS = 100  # at most 10 redraws a second


class RunMonitor(QWidget):
    data_loaded = Signal(str)  # the engine's data report, as it read the data for this run
    open_in_review_clicked = Signal()
    show_folder_clicked = Signal()
    resume_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.history = RunHistory()
        self.redraw_count = 0
        self._pending: list[object] = []
        self._total_epochs = 0
        self._logging_steps = 10
        self._last_step: StepEvent | None = None
        self._started_at = 0.0
        self._replaying = False  # applying a stopped run's recorded events: no log line per event
        self.tests_summary = ""  # the final model's test suites, one line

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress_label = QLabel("No run yet. Fill in the form and press Start training.")
        self.progress_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.result_bar = RunResultBar()  # what to do when a run has ended
        bar = self.result_bar
        bar.open_in_review_clicked.connect(self.open_in_review_clicked)
        bar.show_folder_clicked.connect(self.show_folder_clicked)
        bar.resume_clicked.connect(self.resume_clicked)
        self.result_label, self.resume_button = bar.result_label, bar.resume_button
        self.open_in_review_button, self.show_folder_button = bar.open_in_review_button, bar.show_folder_button

        # said loudly: the best epoch's model predicts one class for (nearly) everything or is no better
        # than the majority baseline
        self.warning_banner = QLabel()
        self.warning_banner.setObjectName("degenerateModelBanner")
        self.warning_banner.setWordWrap(True)
        self.warning_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning_banner.setStyleSheet("QLabel#degenerateModelBanner { background: #ffd699; color: #6e3200; "
                                          "border: 1px solid #d98c00; padding: 6px; }")
        self.warning_banner.hide()

        self.loss_plot = LossPlot()
        self.metrics_plot = MetricsPlot()
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.metrics_plot)
        plots.setStretchFactor(0, 3)
        plots.setStretchFactor(1, 2)
        plots.setChildrenCollapsible(False)

        self.epochs = EpochsBox()
        self.table, self.source_choice = self.epochs.table, self.epochs.source_choice
        self.log_view = RunLog()
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(_titled("Epochs", self.epochs))
        bottom.addWidget(_titled("Log", self.log_view))
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 2)
        bottom.setChildrenCollapsible(False)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(plots)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 2)
        progress_row.addWidget(self.progress_label, 3)
        layout.addLayout(progress_row)
        layout.addWidget(self.result_bar)
        layout.addWidget(self.warning_banner)
        layout.addWidget(self.splitter, 1)

    # ---------------------------------------------------------------------------------------------
    def begin(self, total_epochs: int, logging_steps: int, resumed: bool) -> None:
        """A run (or a resumed one) starts: reset unless resuming, show a busy bar until the first step."""
        self._pending.clear()
        self._total_epochs = total_epochs
        self._logging_steps = max(1, logging_steps)
        self._started_at = time.monotonic()
        if not resumed:
            self.history = RunHistory()
            self.table.clear_rows()
            self._update_sources()
            self.warning_banner.hide()
            self.tests_summary = ""
            self.log_view.clear()
            self._last_step = None
            self._redraw()
        self.result_bar.hide()
        self.progress.setRange(0, 0)  # busy until the first step says how many there are
        # until the child's first word: then each phase before the first step (StatusEvent) replaces it
        self.progress_label.setText("Starting the training process…")

    def load_history(self, metrics_file: Path) -> None:
        """Show the steps and epochs an earlier session logged (metrics.jsonl) before resuming it, by
        replaying its events through the handler live events go through."""
        events = read_events(metrics_file)  # a line cut by a crash, or not an event, is skipped
        self.history = RunHistory()
        self.table.clear_rows()
        self._replaying = True
        try:
            self._apply([event for event in events if isinstance(event, (StepEvent, EpochEvent))])
        finally:
            self._replaying = False
        self.log(f"loaded {len(self.history.steps)} steps and {len(self.history.epoch_numbers)} epochs of the "
                 f"stopped run from {metrics_file}")
        self._redraw()

    def handle_event(self, event: object) -> None:
        """Queue an engine event; queued events are applied at most every REDRAW_INTERVAL_MS."""
        self._pending.append(event)
        self._flush_soon()

    @qthrottled(timeout=REDRAW_INTERVAL_MS)
    def _flush_soon(self) -> None:
        self.flush()

    def flush(self) -> None:
        """Apply every queued event and redraw once."""
        self._flush_soon.cancel()
        pending, self._pending = self._pending, []
        if not pending:
            return
        self._apply(pending)
        self._update_progress()
        latest = next((event for event in reversed(pending) if isinstance(event, (StatusEvent, StepEvent))), None)
        if isinstance(latest, StatusEvent):  # loading or restoring: say so, not the last step's frozen progress
            self.progress.setRange(0, 0)
            self.progress_label.setText(latest.message)
        self._redraw()

    def _apply(self, events: list) -> None:
        for event in events:
            if isinstance(event, StepEvent):
                if self.history.steps and event.global_step <= self.history.steps[-1]:
                    self.history.keep_until(event.global_step - 1)  # resumed from an older checkpoint
                self.history.add_step(event.global_step, event.loss)
                self._last_step = event
                if event.global_step % self._logging_steps == 0 and not self._replaying:
                    self.log(f"step {event.global_step}/{event.total_steps}  epoch {event.epoch:.2f}  "
                             f"loss {event.loss:.4f}  lr {event.learning_rate:.2e}  "
                             f"{event.samples_per_second:.1f} samples/s")
            elif isinstance(event, EpochEvent):
                self.history.add_epoch(event.epoch, event.global_step, event.val_loss, event.accuracy, event.f1,
                                       event.majority_baseline, event.categories)
                self.table.add_epoch(event.epoch, event.global_step, event.train_loss, event.val_loss,
                                     event.accuracy, event.f1, event.majority_baseline, event.per_source,
                                     event.warning, event.categories)
                self._update_sources()
                if event.is_best:
                    self.table.set_best(event.epoch)
                    self._show_warning(event.warning, f"The best epoch so far ({event.epoch})")
                if not self._replaying:
                    self.log(f"epoch {event.epoch} done in {duration(event.seconds)}: training loss "
                             f"{number(event.train_loss)}, validation loss {number(event.val_loss)}, accuracy "
                             f"{number(event.accuracy)}, F1 {number(event.f1)}"
                             + "".join(f", F1 {name} {number(scores['f1'] or 0.0)}"
                                       for name, scores in event.categories.items())
                             + ("  (best so far)" if event.is_best else ""))
            elif isinstance(event, DataLoadedEvent):
                self.log("data loaded:\n" + event.summary)
                self.progress_label.setText("Data loaded; training starts…")
                self.data_loaded.emit(event.summary)
            elif isinstance(event, FunctionalTestsEvent):  # the final model on the run's test suites
                self.tests_summary = short_summary(event.suites)
                self.table.show_tests(self.tests_summary, "\n".join(line for entry in event.suites
                                                                     for line in summary_lines(entry)))
                for entry in event.suites:
                    self.log("\n".join(summary_lines(entry, failures=10)))
            elif isinstance(event, CheckpointEvent):
                self.log(f"checkpoint written at step {event.global_step}: {event.path}")
            elif isinstance(event, StatusEvent):
                self.log(event.message)
            elif isinstance(event, FailedEvent):
                pass  # fail() reports it, with the worker's message

    def _update_sources(self) -> None:
        self.epochs.update_sources()

    def _show_warning(self, warning: str | None, which: str) -> None:
        if warning:
            self.warning_banner.setText(f"<b>⚠ {which} is not a usable model.</b> {escape(warning)}")
            self.warning_banner.show()
        else:
            self.warning_banner.hide()

    def _redraw(self) -> None:
        self.redraw_count += 1
        self.loss_plot.redraw(self.history)
        self.metrics_plot.redraw(self.history)

    def _update_progress(self) -> None:
        step = self._last_step
        if step is None:
            return
        total = max(step.total_steps, 1)
        self.progress.setRange(0, total)
        self.progress.setValue(min(step.global_step, total))
        self.progress.setFormat(f"%p%  ·  step {step.global_step} of {step.total_steps}")
        epoch = min(int(step.epoch) + 1, self._total_epochs) if self._total_epochs else int(step.epoch) + 1
        parts = [f"Epoch {epoch} of {self._total_epochs}", f"{step.samples_per_second:.1f} samples/s",
                 f"about {duration(step.seconds_left)} left"]
        self.progress_label.setText("  ·  ".join(parts))

    # ---------------------------------------------------------------------------------------------
    def finish(self, result: FinishedEvent, review_available: bool) -> None:
        self.flush()
        if result.best_epoch is not None:
            self.table.set_best(result.best_epoch)
            self._show_warning(result.warning, f"The trained model (epoch {result.best_epoch})")
        self.result_bar.show_finished(result, review_available, self.tests_summary)
        if self._last_step is not None and not result.resumable:
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            self.progress.setFormat(f"done  ·  {result.global_step} steps")
        elif self._last_step is None:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
        elapsed = duration(time.monotonic() - self._started_at)
        self.progress_label.setText(f"{REASONS.get(result.reason, 'Ended')} after {elapsed}.")
        self.log(f"{REASONS.get(result.reason, 'ended').lower()} at step {result.global_step} "
                 f"after {elapsed}; output: {result.output_dir}")

    def fail(self, message: str) -> None:
        self.flush()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("failed")
        first_line = message.strip().splitlines()[0] if message.strip() else "unknown error"
        self.progress_label.setText(f"The run failed: {first_line}")
        self.result_bar.show_failed(first_line)
        self.log(f"failed: {message}")

    def set_stopping(self) -> None:
        self.progress_label.setText("Stopping after the current step and writing a checkpoint…")

    def log(self, text: str) -> None:
        self.log_view.log(text)

def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 4, 0, 0)
    layout.setSpacing(2)
    label = QLabel(title)
    font = QFont(label.font())
    font.setBold(True)
    label.setFont(font)
    layout.addWidget(label)
    layout.addWidget(widget, 1)
    widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    return box
