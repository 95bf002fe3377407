"""The Review tab: classify pasted or imported text into review queues, see why, decide, batch-label files.

Wiring only. The state (the open queue and its items, the loaded model and the one that made the
table, what waits for a model, the position to restore, the moderator, the prepared retraining run)
is a Qt-free core.review.workspace.ReviewWorkspace, `workspace`; the tab subscribes the panels to its
events and hands it the panels' outcomes. Left: the model (ModelPanel), the queues (QueuePanel), the
texts (InputPanel), batch labelling (BatchLabelPanel, which runs its own worker) and the decisions
(DecisionsPanel: record, undo, show earlier, export). Right: the results (ResultsPanel: a
ReviewSession behind order, filters, threshold, decision keys and the table) over the explanation of
the selected row and its decision history (SelectedRowViews, selected_row.py).

Queues: every classified paste or import becomes a queue in the decision store (or is added to the
open one, when the moderator says so); the queue keeps its items, the model and threshold, the
order, filter and position, and the app reopens the last queue where the moderator left off.

Threads: the shared model's jobs (load, classify, explain) run one at a time on `model_tasks`;
decision store calls one at a time, in order, in the DecisionsPanel (the workspace's `store_jobs`);
all are superqt workers (gui.common.tasks). The GUI thread only moves numbers: the threshold
relabels from the stored probabilities, without running the model again."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QVBoxLayout, QWidget
from superqt.utils import qdebounced

from moderator_app.core.inference.provenance import SLIDER, threshold_source
from moderator_app.core.inference.shared_model import Classified, ModelHandle
from moderator_app.core.review.queues import Queue
from moderator_app.core.review.workspace import QUEUE_SOURCE, ReviewWorkspace, Shown
from moderator_app.gui.common import dialogs, settings
from moderator_app.gui.common.errors import show_failure
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.review.batch_label_panel import BatchLabelPanel
from moderator_app.gui.review.decisions_panel import DecisionsPanel
from moderator_app.gui.review.input_panel import InputPanel
from moderator_app.gui.review.model_loader import ModelLoader
from moderator_app.gui.review.model_panel import ModelPanel, recent_models
from moderator_app.gui.review.moderator import moderator_name
from moderator_app.gui.review.queue_panel import QueuePanel
from moderator_app.gui.review.results_panel import ResultsPanel
from moderator_app.gui.review.selected_row import SelectedRowViews
from moderator_app.gui.review.tab_layout import ReviewLayout
from moderator_app.gui.review.threshold_control import decision_sentence

LAST_QUEUE_KEY = "review/last-queue"
STATE_SAVE_DELAY_MS = 400  # save the queue's position once the moderator pauses
CLOSE_WAIT_MS = 20_000


class ReviewTab(QWidget):
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
        self.error_dialog = None
        self.evaluation_view = None
        self.comparison_dialog = None
        self._build(store_path)
        self.workspace = ReviewWorkspace(self.decisions.store, self.decisions.tasks.submit, self.tasks.submit,
                                         self.results.session, self.results.view_state)
        self._subscribe(self.workspace)
        self.workspace.set_moderator(moderator_name())
        self.reopen_last_queue()

    # the workspace's state, as the window and the tests read it
    handle = property(lambda self: self.workspace.handle)  # the loaded model
    results_handle = property(lambda self: self.workspace.results_handle)  # the model that produced the table
    results_source = property(lambda self: self.workspace.results_source)
    queue = property(lambda self: self.workspace.queue)  # the open queue
    restore_view = property(lambda self: self.workspace.restore_view,
                            lambda self, state: setattr(self.workspace, "restore_view", state))

    def _build(self, store_path: str | Path | None) -> None:
        self.model_panel = ModelPanel()
        self.loader = ModelLoader(self.model_panel, self.model_tasks, self._on_model_loaded, self)
        self.loader.status_message.connect(self.status_message)
        self.loader.failed.connect(self.model_failed)
        self.model_panel.retrain_requested.connect(lambda: self.workspace.prepare_retrain())
        self.model_panel.evaluate_requested.connect(lambda: self.open_evaluation())
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
        self.queues = QueuePanel(self.decisions.store, self.decisions.tasks, lambda: self.decisions.moderator)
        self.queues.adjudicated.connect(lambda _decision: self.refresh_shared_decisions())
        self.queues.open_requested.connect(self.open_queue)
        self.queues.deleted.connect(lambda queue_id: self.workspace.queue_deleted(queue_id))
        self.queues.deleted.connect(lambda _queue_id: self.update_stats())
        self.queues.renamed.connect(lambda queue: self.workspace.queue_renamed(queue))
        self.queues.failed.connect(lambda error: self.decisions._failed(error, ""))
        self.queues.refreshed.connect(self.update_stats)
        self.selected = SelectedRowViews(self.results, self.decisions, self.model_tasks, lambda: self.results_handle,
                                         self)
        self.results.selection_changed.connect(self.selected.selection_changed)
        self.results.selection_changed.connect(self.save_queue_state)
        self.explanation, self.history = self.selected.explanation, self.selected.history
        self.explanation.ready.connect(self.explanation_ready)
        self.layout_ = ReviewLayout(self, [(model_box, 0), (self.queues, 0), (self.input, 1), (self.batch_panel, 0),
                                           (self.decisions, 0)], self.results, self.explanation, self.history)

    def _subscribe(self, workspace: ReviewWorkspace) -> None:
        """The panels follow the workspace's changes."""
        events, decisions = workspace.events, self.decisions
        events.model_changed.connect(self._on_model_changed)
        events.results_changed.connect(self._on_results)
        events.queue_changed.connect(self._on_queue_changed)
        events.queue_opened.connect(self._on_queue_opened)
        events.remembered.connect(lambda queue_id: settings.save_value(LAST_QUEUE_KEY, queue_id or ""))
        events.threshold_set.connect(self.results.set_threshold)
        events.load_requested.connect(self.loader.load_as_chosen)
        events.classify_requested.connect(lambda texts: self.input.classify(texts, QUEUE_SOURCE))
        events.queues_changed.connect(self.queues.refresh)
        events.moderator_changed.connect(lambda name: setattr(decisions, "moderator", name))
        events.moderator_changed.connect(lambda _name: self.queues.moderator_changed())  # Mine, blind counts
        events.decision_queue.connect(lambda name, queue_id: setattr(decisions, "queue", (name, queue_id)))
        events.retrain_prepared.connect(self._on_retrain_prepared)
        events.comparison_ready.connect(self._on_compared)
        events.status.connect(self.status_message.emit)
        events.failed.connect(self._show_failure)
        events.store_failed.connect(lambda error: decisions._failed(error, ""))

    def _show_failure(self, error: BaseException, title: str | None = None) -> None:
        self.error_dialog = show_failure(self, error, title)

    # ------------------------------------------------------------------------------ model
    def load_model(self, name: str, allow_pickle: bool = False) -> None:
        self.loader.load(name, allow_pickle)

    def _on_model_loaded(self, handle: ModelHandle) -> None:
        self.workspace.set_model(handle)
        self.save_queue_state()

    def _on_model_changed(self, handle: ModelHandle) -> None:
        # an open queue's category thresholds are its own, as its binary threshold is: a reload of a model
        # with the same categories (another precision) keeps them
        relabels = self.workspace.relabels(handle)
        keeps = self.workspace.keeps_queue_threshold and not relabels
        kept = self.results.category_threshold.thresholds() if keeps else {}
        if relabels:
            self.results.configure_for_model(handle)
        self._apply_operating_point(handle, kept)
        self.show_decision_rule()
        self.input.set_model(handle)
        self.model_loaded.emit(handle.info)

    def open_evaluation(self, path: str | None = None):
        """The evaluation view of the loaded model, on `path` or the last imported file."""
        from moderator_app.gui.review.evaluation_view import EvaluationView  # its metrics code only when asked

        if self.handle is None or self.handle.classifier.multi_label:  # multi-label: the per-category view
            return self.handle and self.results.category_choice.open_evaluation(self.results.session, self.handle,
                                                                                self.results.threshold_changed)
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

    def show_decision_rule(self) -> None:
        """The model panel's one sentence on how the labels are decided, matching the slider."""
        handle = self.results_handle or self.handle
        if handle is None:
            return
        binary = handle.classifier.is_binary
        self.model_panel.show_decision_rule(decision_sentence(
            handle.classifier.positive_label if binary else None, self.threshold(handle),
            handle.classifier.default_threshold if binary else None, self.results.category_thresholds(handle),
            handle.classifier.category_thresholds))

    def _apply_operating_point(self, handle: ModelHandle, kept: dict[str, float]) -> None:
        """A binary model with a calibrated operating point starts the slider at its threshold, unless
        a queue is open or being opened: its threshold is its own, changed only by the moderator (a
        reload for another precision, or another model, keeps it; Reset is one click away). Models
        without one keep the slider where it is; a multi-label model's categories start at its own, but
        for those of an open queue (`kept`; an opened or new queue's own come with its table: _on_results)."""
        classifier = handle.classifier
        point = classifier.operating_point if classifier.is_binary else None
        self.results.set_operating_point(point)
        self.results.category_threshold.set_model(classifier.category_thresholds or None, classifier.operating_point)
        self.results.category_threshold.set_thresholds(kept)
        if point is not None and point.threshold is not None and not self.workspace.keeps_queue_threshold:
            self.results.set_threshold(point.threshold)

    def threshold(self, handle: ModelHandle | None = None) -> float | None:
        """The slider's threshold for `handle` (default: the model of the table), None unless binary."""
        handle = handle or self.results_handle or self.handle
        return self.results.threshold_value() if handle is not None and handle.classifier.is_binary else None

    # ------------------------------------------------------------------------------ results and queues
    def _on_classified(self, result: Classified, source: str) -> None:
        workspace = self.workspace
        if source == QUEUE_SOURCE:  # the open queue's items, by the loaded model
            workspace.queue_classified(result)
            return
        items = self.input.imported_items.pop(source, None)
        if workspace.queue_has_work() and dialogs.confirm(
                self, "The queue holds work",
                f"The queue '{workspace.queue.name}' has decided items. Add these {len(result.texts):,} items to "
                "it, or start a new queue with them?", "Add to this queue", "New queue"):
            workspace.add_to_queue(result, items)
        else:
            workspace.start_queue(result, items, source)

    def _on_results(self, shown: Shown) -> None:
        result, handle = shown.result, shown.result.handle
        if shown.relabel:
            self.results.configure_for_model(handle)
        if shown.category_thresholds is not None:  # a new or opened queue's own
            self.results.category_threshold.set_thresholds(shown.category_thresholds)
        self.results.show_classified(result, shown.items, shown.restore)
        self.explanation.show_message("Select a row to see which words pushed its score up or down.")
        if shown.saved:
            message = (f"Opened {len(result.texts):,} items with the scores this model gave them before (kept with "
                       "the queue).")
        else:
            rate = len(result.texts) / result.seconds if result.seconds > 0 else 0.0
            message = f"Classified {len(result.texts):,} items in {result.seconds:.1f} s ({rate:,.0f} per second)."
        self.status_message.emit(f"{message} {shown.note}".strip())
        self.results_changed.emit()
        self.decisions.show_earlier(list(result.texts), handle)
        self.update_stats()

    def _on_queue_changed(self, queue: Queue | None) -> None:
        if queue is not None:
            self.queues.set_current(queue.id)
        self.update_stats()

    def _on_queue_opened(self, queue: Queue) -> None:
        self.status_message.emit(f"Queue '{queue.name}': {queue.progress}.")
        self.queue_opened.emit(queue)

    def reopen_last_queue(self) -> None:
        """Where the moderator left off: the last queue (its model, threshold, order, filter and position),
        else the last model."""
        queue_id = settings.load_value(LAST_QUEUE_KEY)
        try:
            queue_id = int(queue_id) if queue_id not in (None, "") else None
        except (TypeError, ValueError):
            queue_id = None
        self.workspace.reopen(queue_id, next(iter(recent_models()), None))

    def open_queue(self, queue_id: int, quietly: bool = False) -> None:
        """Switch to a queue: its items are classified by its model (loaded first when another one is)."""
        self.workspace.open_queue(queue_id, quietly)

    def open_audit_suspects(self, result, on_created=None) -> None:
        """The data audit's likely label errors (core.audit.audit.AuditReport) as a new queue, most
        suspicious first, opened here; `on_created(queue)` once it exists."""
        from moderator_app.core.audit.review import open_suspects_queue  # the audit's code only when asked

        def created(queue: Queue) -> None:
            self.status_message.emit(f"Queue '{queue.name}': {queue.items:,} likely label errors, the most suspicious "
                                     "first. Keep or correct each; the given and suggested labels are columns.")
            if on_created is not None:
                on_created(queue)

        self.workspace.open_new_queue(lambda store: open_suspects_queue(store, result), "Cannot open the suspects",
                                      created)

    @qdebounced(timeout=STATE_SAVE_DELAY_MS)
    def save_queue_state(self) -> None:
        self.workspace.save_state()

    def _save_queue_state_now(self) -> None:
        self.workspace.save_state()

    def _after_decisions_changed(self, _count: int = 0) -> None:
        self.queues.refresh()
        self.selected.show_history()
        self.update_stats()

    def update_stats(self) -> None:
        """The status bar's line: the queue's progress, the review rate and the disagreement with the model."""
        self.stats_changed.emit(self.workspace.stats_line(self.decisions.review_rate()))

    # ------------------------------------------------------------------------------ retrain
    def _on_retrain_prepared(self, plan) -> None:
        self.status_message.emit("The retraining run is ready in the Training tab: " + " ".join(plan.report))
        self.retrain_prepared.emit(plan)

    def offer_comparison(self, output_dir: str) -> bool:
        """After the prepared run: compare the old and the new model (in the background). False when
        `output_dir` is not the prepared run's or holds no model."""
        return self.workspace.compare(output_dir)

    def _on_compared(self, comparisons, old_model: str, output_dir: str) -> None:
        from moderator_app.gui.review.comparison_dialog import ComparisonDialog  # only after a retraining

        self.comparison_ready.emit(comparisons)
        self.comparison_dialog = ComparisonDialog(comparisons, old_model, output_dir, self)
        self.comparison_dialog.switch_requested.connect(self.loader.load_as_chosen)  # the queue, by the new one
        self.comparison_dialog.open()

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
                                           source, self.results.category_thresholds(self.handle) or None)

    def cancel_batch(self) -> None:
        self.batch_panel.cancel()

    # ------------------------------------------------------------------------------ decide
    def decide(self, moderator_label: str | None) -> None:
        if self.results_handle is not None:
            self.decisions.decide(moderator_label, self.results_handle)

    def undo(self) -> None:
        """Take back the last decision: this sitting's, else (after a restart) the moderator's own last
        one for the table's model, read from the store."""
        handle = self.results_handle
        self.decisions.undo(handle.identity if handle is not None else None)

    def set_moderator(self, name: str) -> None:
        self.workspace.set_moderator(name)
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
        self.layout_.save()
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
