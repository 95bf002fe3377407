"""The Review tab: classify pasted or imported text into review queues, see why, decide, batch-label files.

Wiring only. Left: the model (ModelPanel), the queues (QueuePanel), the texts (InputPanel), batch
labelling (BatchLabelPanel, which runs its own worker) and the decisions (DecisionsPanel: record,
undo, show earlier, export). Right: the results (ResultsPanel: a ReviewSession behind order, filters,
threshold, decision keys and the table) over the explanation of the selected row (ExplanationView)
and its decision history (HistoryPanel).

Queues (tab_queues.QueueFlow): every classified paste or import becomes a queue in the decision store
(or is added to the open one, when the moderator says so); the queue keeps its items, the model and
threshold, the order, filter and position, and the app reopens the last queue where the moderator
left off. Retraining from decisions: tab_retrain.RetrainFlow.

Threads: the shared model's jobs (load, classify, explain) run one at a time on `model_tasks`;
decision store calls one at a time, in order, in the DecisionsPanel; all are superqt workers
(gui.common.tasks). The GUI thread only moves numbers: the threshold relabels from the stored
probabilities, without running the model again."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGroupBox, QScrollArea, QSplitter, QVBoxLayout, QWidget
from superqt.utils import qdebounced

from moderator_app.core.inference.provenance import SLIDER, threshold_source
from moderator_app.core.inference.shared_model import ModelHandle
from moderator_app.core.review.queues import Queue, QueueItems, QueueState
from moderator_app.gui.common import dialogs, settings
from moderator_app.gui.common.errors import describe, show_failure
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.review.batch_label_panel import BatchLabelPanel
from moderator_app.gui.review.decisions_panel import DecisionsPanel
from moderator_app.gui.review.explanation_view import ExplanationView
from moderator_app.gui.review.history_panel import HistoryPanel
from moderator_app.gui.review.input_panel import InputPanel
from moderator_app.gui.review.model_panel import ModelPanel
from moderator_app.gui.review.moderator import moderator_name
from moderator_app.gui.review.queue_panel import QueuePanel
from moderator_app.gui.review.results_panel import ResultsPanel
from moderator_app.gui.review.status_fields import add_review_status
from moderator_app.gui.review.tab_queues import QueueFlow
from moderator_app.gui.review.tab_retrain import RetrainFlow
from moderator_app.gui.review.threshold_control import decision_sentence
from moderator_app.gui.review.workers import load_model

SPLITTER_KEY = "review/splitter"
RESULTS_SPLITTER_KEY = "review/results-splitter"
EXPLAIN_DELAY_MS = 250  # wait for the selection to settle before explaining
CLOSE_WAIT_MS = 20_000
HISTORY_SPLITTER_KEY = "review/history-splitter"


class ReviewTab(QueueFlow, RetrainFlow, QWidget):
    status_message = Signal(str)
    model_loaded = Signal(object)  # ModelInfo
    model_failed = Signal(str)
    results_changed = Signal()  # the table was filled anew
    decisions_saved = Signal(int)  # how many
    store_failed = Signal(str)
    explanation_ready = Signal(object)  # Explained
    batch_ended = Signal(str)  # "finished", "cancelled" or "failed"
    exported = Signal(str, int)  # path, rows
    queue_opened = Signal(object)  # Queue: its items are in the table, where the moderator left off
    stats_changed = Signal(str)  # the status bar's review line
    retrain_prepared = Signal(object)  # core.review.retrain.RetrainPlan: for the Training tab
    comparison_ready = Signal(object)  # list of core.review.retrain.Comparison

    def __init__(self, tasks: BackgroundTasks, parent: QWidget | None = None, store_path: str | Path | None = None):
        super().__init__(parent)
        self.tasks = tasks  # file previews and reading, shared with the window
        self.model_tasks = BackgroundTasks(self, max_threads=1)
        self.handle: ModelHandle | None = None  # the loaded model
        self.results_handle: ModelHandle | None = None  # the model that produced the table
        self.results_source = ""
        self.error_dialog = None
        self.queue: Queue | None = None  # the open queue
        self.queue_items: QueueItems | None = None  # the open queue's items (texts and other columns)
        self.pending_items: QueueItems | None = None  # a queue's items waiting for a model
        self.restore_view: QueueState | None = None  # applied when the opened queue's results arrive
        self._build(store_path)
        self.decisions.moderator = moderator_name()
        self.reopen_last_queue()

    def _build(self, store_path: str | Path | None) -> None:
        self.model_panel = ModelPanel()
        self.model_panel.load_requested.connect(self.load_model)
        self.model_panel.retrain_requested.connect(lambda: self.retrain_from_decisions())
        self.model_panel.evaluate_requested.connect(lambda: self.open_evaluation())
        self.evaluation_view = None
        self.retrain_plan = None  # the prepared run whose end offers a comparison
        model_box = QGroupBox("Model")
        QVBoxLayout(model_box).addWidget(self.model_panel)
        self.input = InputPanel(self.tasks, self.model_tasks)
        self.input.classified.connect(self._on_classified)
        self.input.batch_requested.connect(lambda file, column: self.batch_label(file, column))
        self.input.status_message.connect(self.status_message)
        self.batch_panel = BatchLabelPanel()
        self.batch_panel.status_message.connect(self.status_message)
        self.batch_panel.failed_with.connect(lambda error: self._show_failure(error, "Batch labelling failed"))
        self.batch_panel.ended.connect(self.batch_ended)
        self.results = ResultsPanel()
        self.results.decide_requested.connect(self.decide)
        self.results.undo_requested.connect(self.undo)
        self.results.selection_changed.connect(self._on_selection_changed)
        self.results.view_changed.connect(self.save_queue_state)
        self.results.threshold_changed.connect(self.save_queue_state)
        self.results.threshold_changed.connect(self.show_decision_rule)
        self.decisions = DecisionsPanel(self.results, store_path)
        self.decisions.status_message.connect(self.status_message)
        self.decisions.saved.connect(self.decisions_saved)
        self.decisions.saved.connect(self._after_decisions_changed)
        self.decisions.undone.connect(self._after_decisions_changed)
        self.decisions.failed.connect(self.store_failed)
        self.decisions.exported.connect(self.exported)
        self.decisions.looked_up.connect(self.update_stats)
        if self.decisions.poll is not None:  # a team's shared store: the others' decisions on focus and every 15 s
            self.decisions.poll.due.connect(self.refresh_shared_decisions)
        self.queues = QueuePanel(self.decisions.store, self.decisions.tasks)
        self.queues.open_requested.connect(self.open_queue)
        self.queues.deleted.connect(self._on_queue_deleted)
        self.queues.renamed.connect(self._on_queue_renamed)
        self.queues.failed.connect(lambda error: self.decisions._failed(error, ""))
        self.queues.refreshed.connect(self.update_stats)
        self.history = HistoryPanel()

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 8, 8)
        for widget, stretch in ((model_box, 0), (self.queues, 0), (self.input, 1), (self.batch_panel, 0),
                                (self.decisions, 0)):
            left_layout.addWidget(widget, stretch)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(left)
        scroll.setMinimumWidth(360)

        self.explanation = ExplanationView(self.model_tasks)
        self.explanation.ready.connect(self.explanation_ready)
        self.history_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.history_splitter.addWidget(self.explanation)
        self.history_splitter.addWidget(self.history)
        self.history_splitter.setChildrenCollapsible(False)
        self.results_splitter = QSplitter(Qt.Orientation.Vertical)
        self.results_splitter.addWidget(self.results)
        self.results_splitter.addWidget(self.history_splitter)
        self.results_splitter.setStretchFactor(0, 4)
        self.results_splitter.setStretchFactor(1, 1)
        self.results_splitter.setChildrenCollapsible(False)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 8, 8, 8)
        right_layout.addWidget(self.results_splitter)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([400, 1000])
        QVBoxLayout(self).setContentsMargins(0, 0, 0, 0)
        self.layout().addWidget(self.splitter)
        for key, splitter in ((SPLITTER_KEY, self.splitter), (RESULTS_SPLITTER_KEY, self.results_splitter),
                              (HISTORY_SPLITTER_KEY, self.history_splitter)):
            state = settings.load_bytes(key)
            if state is not None:
                splitter.restoreState(state)

    def _show_failure(self, error: BaseException, title: str | None = None) -> None:
        self.error_dialog = show_failure(self, error, title)

    # ------------------------------------------------------------------------------ model
    def open_model(self, name: str) -> None:
        """The Training tab's "Open in Review": load a just-trained model folder."""
        self.model_panel.set_name(name)
        self.load_model(name, self.model_panel.allow_pickle.isChecked())

    def load_model(self, name: str, allow_pickle: bool = False) -> None:
        self.model_panel.set_loading(name)
        self.status_message.emit(f"Loading the model {name}…")
        self.model_tasks.submit(load_model, name, allow_pickle, "auto", self.model_panel.precision_choice(),
                                key="load",
                                on_done=lambda handle: self._on_model_loaded(handle, name),
                                on_error=self._on_model_failed)

    def _on_model_loaded(self, handle: ModelHandle, name: str) -> None:
        self.handle = handle
        self.model_panel.set_loaded(handle.info, name)
        self.status_message.emit(f"Model loaded: {handle.model_id}")
        if self.results_handle is None or self.results_handle.info.labels != handle.info.labels:
            self.results.configure_for_labels(handle.info.labels, handle.classifier.positive_index)
        self._apply_operating_point(handle)
        self.show_decision_rule()
        self.input.set_model(handle)
        self.model_loaded.emit(handle.info)
        if self.pending_items is not None:  # an opened queue waited for its model
            self.classify_queue_items()
        elif self.results.session.texts and self.results_handle is not handle:
            self.pending_items = self.current_items()
            self.classify_queue_items()  # by the new model
        self.save_queue_state()

    def open_evaluation(self, path: str | None = None):
        """The evaluation view of the loaded model, on `path` or the last imported file."""
        from moderator_app.gui.review.evaluation_view import EvaluationView  # its metrics code only when asked

        if self.handle is None:
            return None
        if self.evaluation_view is not None:
            self.evaluation_view.close()
        self.evaluation_view = EvaluationView(self.handle, self.results, self.tasks,
                                              path if path is not None else self.input.last_imported_path, self)
        self.evaluation_view.show()
        return self.evaluation_view

    def refresh_shared_decisions(self) -> None:
        """The other moderators' decisions of the open table, from a shared store (StorePoll)."""
        if self.results_handle is not None and self.results.session.texts:
            self.decisions.show_earlier(list(self.results.session.texts), self.results_handle, quiet=True)

    def model_threshold(self, handle: ModelHandle | None = None) -> float | None:
        """Where a new queue's slider starts for a binary model: its calibrated threshold
        (operating_point.json), else 0.50 (the most probable label); None for other models."""
        handle = handle or self.handle
        if handle is None or not handle.classifier.is_binary:
            return None
        calibrated = handle.classifier.default_threshold
        return calibrated if calibrated is not None else 0.5

    def show_decision_rule(self) -> None:
        """The model panel's one sentence on how the labels are decided, matching the slider."""
        handle = self.results_handle or self.handle
        if handle is None:
            return
        binary = handle.classifier.is_binary
        self.model_panel.show_decision_rule(decision_sentence(
            handle.classifier.positive_label if binary else None, self.threshold(handle),
            handle.classifier.default_threshold if binary else None))

    def _apply_operating_point(self, handle: ModelHandle) -> None:
        """A binary model with a calibrated operating point starts the slider at its threshold, unless
        a queue is open or being opened: its threshold is its own, changed only by the moderator (a
        reload for another precision, or another model, keeps it; Reset is one click away). Models
        without an operating point keep the slider where it is."""
        point = handle.classifier.operating_point if handle.classifier.is_binary else None
        self.results.set_operating_point(point)
        queue_threshold = ((self.restore_view is not None and self.restore_view.threshold is not None)
                           or (self.queue is not None and self.results.session.count > 0))
        if point is not None and point.threshold is not None and not queue_threshold:
            self.results.set_threshold(point.threshold)

    def _on_model_failed(self, error: BaseException) -> None:
        message = describe(error).message
        self.model_panel.set_failed(message)
        self.status_message.emit("The model could not be loaded.")
        self.model_failed.emit(message)

    def threshold(self, handle: ModelHandle | None = None) -> float | None:
        """The slider's threshold for `handle` (default: the model of the table), None unless binary."""
        handle = handle or self.results_handle or self.handle
        return self.results.threshold_value() if handle is not None and handle.classifier.is_binary else None

    # ------------------------------------------------------------------------------ batch
    @property
    def batch_running(self) -> bool:
        return self.batch_panel.busy

    def batch_label(self, path: str, column: str | None = None, output: str | None = None,
                    overwrite: bool = False, chunk_rows: int | None = None) -> bool:
        """Label every row of `path` into `output` (asked for when None) in the background."""
        if self.handle is None:
            return False
        threshold = self.threshold(self.handle)
        source = threshold_source(threshold, self.handle.classifier.default_threshold, SLIDER)
        return self.batch_panel.label_file(self.handle, threshold, path, column, output, overwrite, chunk_rows,
                                           threshold_source=source)

    def cancel_batch(self) -> None:
        self.batch_panel.cancel()

    # ------------------------------------------------------------------------------ explain
    def _on_selection_changed(self, *_args) -> None:
        self.explanation.forget()  # a job still queued for the old selection is skipped
        self.explain_selected()
        self.show_history()
        self.save_queue_state()

    @qdebounced(timeout=EXPLAIN_DELAY_MS)
    def show_history(self) -> None:
        items = self.results.selected_items()
        handle = self.results_handle
        if len(items) != 1 or handle is None:
            self.history.clear("History: select one row to see every decision made about its text."
                               if items else "")
            return
        self.decisions.show_history(self.results.session.texts[items[0]], handle.identity, self.history)

    @qdebounced(timeout=EXPLAIN_DELAY_MS)
    def explain_selected(self) -> None:
        session = self.results.session
        self.explanation.explain(self.results_handle, [(session.texts[item], session.labels[item])
                                                       for item in self.results.selected_items()])

    def decide(self, moderator_label: str | None) -> None:
        if self.results_handle is not None:
            self.decisions.decide(moderator_label, self.results_handle)

    def undo(self) -> None:
        """Take back the last decision: this sitting's, else (after a restart) the moderator's own last
        one for the table's model, read from the store."""
        handle = self.results_handle
        self.decisions.undo(handle.identity if handle is not None else None)

    def set_moderator(self, name: str) -> None:
        self.decisions.moderator = name
        if self.results_handle is not None:
            self.decisions.refresh_undo(self.results_handle.identity)
        self.update_stats()

    # ------------------------------------------------------------------------------ closing
    def can_close(self) -> bool:
        """Asks before cancelling a batch labelling; True when the window may close."""
        if not self.batch_running:
            return True
        return dialogs.confirm(self, "Batch labelling is running",
                               "A file is being labelled. Cancel it and quit?\n\nNothing is written for a "
                               "cancelled file.", "Cancel it and quit", "Keep labelling")

    def shutdown(self) -> None:
        """Stop background work, wait for it, keep pending decisions, close the store."""
        self.input.save_state()
        self._save_queue_state_now()
        settings.save_bytes(SPLITTER_KEY, self.splitter.saveState())
        settings.save_bytes(RESULTS_SPLITTER_KEY, self.results_splitter.saveState())
        settings.save_bytes(HISTORY_SPLITTER_KEY, self.history_splitter.saveState())
        self.input.cancel(quietly=True)
        self.explanation.forget()
        self.batch_panel.cancel()
        self.batch_panel.wait(CLOSE_WAIT_MS)
        if self.evaluation_view is not None:
            self.evaluation_view.cancel()
            self.evaluation_view.tests.cancel()
            self.evaluation_view.tasks.wait(CLOSE_WAIT_MS)
            self.evaluation_view.tests.tasks.wait(CLOSE_WAIT_MS)
        self.model_tasks.wait(CLOSE_WAIT_MS)
        self.decisions.close_store(CLOSE_WAIT_MS)


def add_review_tab(window, tab_factory=ReviewTab) -> ReviewTab:
    """Add the Review tab to a MainWindow and make the Training tab's "Open in Review" load into it."""
    tab = tab_factory(window.tasks)
    window.add_tab(tab, "Review")
    tab.status_message.connect(lambda text: window.statusBar().showMessage(text, 15000))
    add_review_status(window, tab)

    def review(folder: str) -> None:
        window.tabs.setCurrentWidget(tab)
        tab.open_model(folder)

    window.set_review_handler(review)
    window.review_tab = tab

    def retrain(plan) -> None:
        window.training_tab.form.set_config(plan.config)
        window.tabs.setCurrentWidget(window.training_tab)
        window.statusBar().showMessage("Retraining from decisions: " + " ".join(plan.report), 30000)

    tab.retrain_prepared.connect(retrain)

    def review_suspects(result) -> None:  # the Training tab's data audit: its suspects as a queue here
        def created(queue) -> None:  # the next run takes the corrections made in it
            window.training_tab.form.set_values({"corrections_queue": queue.name})

        window.tabs.setCurrentWidget(tab)
        tab.open_audit_suspects(result, created)

    window.training_tab.review_suspects.connect(review_suspects)
    window.training_tab.run_finished.connect(
        lambda event: tab.offer_comparison(event.output_dir) and window.tabs.setCurrentWidget(tab))
    return tab
