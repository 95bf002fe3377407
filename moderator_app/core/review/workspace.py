"""The Review tab's state, without Qt: which queue is open and with which items, the loaded model and
the one that produced the results, the queue's items waiting for a model, the position to restore
when they are shown, the moderator, the decision store and the retraining run prepared from it.

Its changes are plain events (`ReviewWorkspace.events`, each a list of callbacks) that the Review
panels subscribe to, as napari's ViewerModel and its Qt layer do: the workspace decides, the panels
show. It never calls the model or the table itself: it asks for a model to be loaded
(`load_requested`) or for the open queue's items to be classified (`classify_requested`), and the
front end hands the outcomes back (`set_model`, `queue_classified`). Where the moderator is (order,
filter, selected row) is read through `view`, a callable the front end gives.

Store calls run through `store_jobs` (the front end's one store thread: one job at a time, in
order, each `(fn, *args, on_done=, on_error=, key=)`, a newer job with the same key superseding an
older one's callbacks), the comparison of two models through `jobs`; a test passes runners that run
the jobs at once or when it says so.

What a shared, team-wide store will add lives here too: which store (`store`), who decides
(`moderator`), and a refresh of the open queue's decisions is a store job of this object whose
outcome the panels hear about as they hear about the rest."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from moderator_app.core.inference.shared_model import Classified, ModelHandle
from moderator_app.core.review.queues import Queue, QueueItems, QueueState
from moderator_app.core.review.retrain import RetrainPlan, compare_models, prepare_retrain
from moderator_app.core.review.session import SORT_UNCERTAINTY, ReviewSession
from moderator_app.core.review.store import DecisionStore, StoreAccess

QUEUE_SOURCE = "the queue"  # the source of a classification of the open queue's own items
PASTED = "pasted text"  # the source of pasted texts

#: runs `fn(*args)` in the background: (fn, *args, on_done=, on_error=, key=)
Jobs = Callable[..., Any]


class Event:
    """Callbacks, called in the order they were connected, on the thread that emits."""

    def __init__(self, name: str):
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)


class WorkspaceEvents:
    """What a ReviewWorkspace tells its front end. All on the caller's thread (the GUI's, where the
    runners deliver their outcomes), except `decision_queue`."""

    def __init__(self) -> None:
        self.model_changed = Event("model_changed")  # (ModelHandle): the loaded model
        self.results_changed = Event("results_changed")  # (Shown): results for the table
        self.queue_changed = Event("queue_changed")  # (Queue | None): a queue was set as the open one, or closed
        self.queue_opened = Event("queue_opened")  # (Queue): read from the store; its items are on their way
        self.remembered = Event("remembered")  # (queue id | None): the queue to reopen at the next start
        self.threshold_set = Event("threshold_set")  # (float): a new or opened queue's own threshold
        self.load_requested = Event("load_requested")  # (model folder or id): the model a queue wants
        self.classify_requested = Event("classify_requested")  # (texts): the open queue's items, by the model
        self.queues_changed = Event("queues_changed")  # (): the list of queues is out of date
        self.moderator_changed = Event("moderator_changed")  # (name)
        self.retrain_prepared = Event("retrain_prepared")  # (RetrainPlan)
        self.comparison_ready = Event("comparison_ready")  # (comparisons, old model, new model's folder)
        self.status = Event("status")  # (text): worth a line in the status bar
        self.failed = Event("failed")  # (exception, title): worth a dialog
        self.store_failed = Event("store_failed")  # (exception): the store could not be written
        # (name, id), on the store thread, in order with its jobs: the queue that decisions recorded by
        # later store jobs belong to (a queue created or opened just before them)
        self.decision_queue = Event("decision_queue")


@dataclass(frozen=True)
class Shown:
    """Results for the table: `restore` is the order, filter and position to show them in (None: keep
    the table's and the row selected before); `relabel`: other labels than the table's last."""

    result: Classified
    items: QueueItems
    source: str
    restore: QueueState | None
    saved: bool = False  # the scores kept with the queue, not a classification just made
    relabel: bool = False
    # a multi-label model's: a new or opened queue's own per-category thresholds (None: keep those in use)
    category_thresholds: dict[str, float] | None = None
    note: str = ""  # worth adding to the status line: saved thresholds of categories the model lacks


@dataclass(frozen=True)
class _Request:
    """A classification of queue items asked for: they, and the queue they belong to (None: none)."""

    items: QueueItems
    queue_id: int | None


def plain_items(texts: Sequence[str]) -> QueueItems:
    """Texts without other columns."""
    return QueueItems(list(texts), [[] for _ in texts], [])


def queue_name(source: str, now: datetime | None = None) -> str:
    """A new queue's name: the imported file's name, or "Pasted" and when."""
    if source and source != PASTED:
        return Path(source).stem
    return f"Pasted {(now or datetime.now()).strftime('%Y-%m-%d %H:%M')}"


class ReviewWorkspace:
    def __init__(self, store: StoreAccess, store_jobs: Jobs, jobs: Jobs, session: ReviewSession,
                 view: Callable[[], QueueState]):
        self.store = store  # the decision store
        self.store_jobs, self.jobs = store_jobs, jobs
        self.session = session  # the table's items, probabilities and decisions
        self.view = view  # where the moderator is in the table (its model_name is not read)
        self.events = WorkspaceEvents()
        self.moderator = ""  # who decides
        self.handle: ModelHandle | None = None  # the loaded model
        self.results_handle: ModelHandle | None = None  # the model that produced the table
        self.results_source = ""  # where the table's texts came from (a file, pasted text, the queue)
        self.queue: Queue | None = None  # the open queue
        self.queue_items: QueueItems | None = None  # the open queue's items (texts and other columns)
        self.pending_items: QueueItems | None = None  # a queue's items waiting for a model
        self.restore_view: QueueState | None = None  # applied when the opened queue's results arrive
        self.retrain_plan: RetrainPlan | None = None  # the prepared run whose end offers a comparison
        self._requested: _Request | None = None  # the classification of queue items asked for last

    def _store(self) -> DecisionStore:
        return self.store.store()

    def set_moderator(self, name: str) -> None:
        self.moderator = name
        self.events.moderator_changed.emit(name)

    def stats_line(self, rate: float | None = None) -> str:
        """Who decides, the open queue's progress, the review `rate` (items per hour) and how often the
        moderator disagrees with the model: the status bar's review line."""
        counts = self.session.counts()
        parts = [f"Moderator: {self.moderator}"]
        if counts.total:
            name = f"'{self.queue.name}': " if self.queue is not None else ""
            parts.append(f"{name}{counts.decided:,} of {counts.total:,} reviewed")
        if rate is not None:
            parts.append(f"{rate:,.0f} items/hour")
        if counts.disagreement is not None:
            parts.append(f"{counts.disagreement:.0%} relabelled (disagree with the model)")
        return " · ".join(parts)

    # ------------------------------------------------------------------------------ model
    def set_model(self, handle: ModelHandle) -> None:
        """A model was loaded: a queue that waited for it is shown, and the table's texts, when
        another model made it, are classified again by this one."""
        self.handle = handle
        self.events.model_changed.emit(handle)
        if self.pending_items is not None:  # an opened queue waited for its model
            self.classify_queue_items()
        elif self.session.texts and self.results_handle is not handle:
            self.pending_items = self.current_items()
            self.classify_queue_items()  # by the new model

    def relabels(self, handle: ModelHandle) -> bool:
        """Whether `handle`'s labels differ from those of the table's model (or the table has none)."""
        return self.results_handle is None or self.results_handle.info.labels != handle.info.labels

    def model_threshold(self, handle: ModelHandle | None = None) -> float | None:
        """Where a new queue's slider starts for a binary model: its calibrated threshold
        (operating_point.json), else 0.50 (the most probable label); None for other models."""
        handle = handle or self.handle
        if handle is None or not handle.classifier.is_binary:
            return None
        calibrated = handle.classifier.default_threshold
        return calibrated if calibrated is not None else 0.5

    @property
    def keeps_queue_threshold(self) -> bool:
        """A queue is open or being opened: its threshold is its own, not a model's operating point."""
        return ((self.restore_view is not None and self.restore_view.threshold is not None)
                or (self.queue is not None and self.session.count > 0))

    # ------------------------------------------------------------------------------ results
    def current_items(self) -> QueueItems:
        """The table's items: the open queue's, with their columns, when they are the ones shown."""
        texts = self.session.texts
        if self.queue_items is not None and self.queue_items.texts == texts:
            return self.queue_items
        return plain_items(texts)

    def view_state(self) -> QueueState:
        handle = self.results_handle or self.handle
        return replace(self.view(), model_name=handle.model_id if handle is not None else "",
                       model_identity=handle.identity if handle is not None else None)

    def classify_queue_items(self) -> None:
        """The opened queue's items (`pending_items`) by the loaded model: the scores this model gave them
        when the store has them all (a 20,000-item queue reopens at once), else classified again."""
        items, handle, queue = self.pending_items, self.handle, self.queue
        if items is None or handle is None:
            return
        if queue is None:
            self._request(items, None)
            return

        def saved_scores():
            return self._store().queues.scores(queue.id, handle.identity, handle.info.labels, len(items.texts))

        def found(probabilities) -> None:
            if self.pending_items is not items or self.handle is not handle:
                return  # another queue or model since: its own call takes over
            if probabilities is None:
                self._request(items, queue.id)
                return
            self.pending_items = self._requested = None
            self._show(Classified(list(items.texts), probabilities, handle, 0.0), items, QUEUE_SOURCE, saved=True)

        self.store_jobs(saved_scores, key="queue-scores", on_done=found, on_error=lambda _error: found(None))

    def _request(self, items: QueueItems, queue_id: int | None) -> None:
        self._requested = _Request(items, queue_id)
        self.events.classify_requested.emit(list(items.texts))

    def queue_classified(self, result: Classified) -> bool:
        """The classification `classify_requested` asked for. Dropped (False) when it is not the one
        asked for last, or its queue was closed or another one opened meanwhile."""
        request = self._requested
        if request is None or list(request.items.texts) != list(result.texts):
            return False
        self._requested = None
        if request.queue_id is not None and (self.queue is None or self.queue.id != request.queue_id):
            return False
        if self.pending_items is request.items:
            self.pending_items = None
        self._show(result, request.items, QUEUE_SOURCE)
        if self.queue is not None:
            self._keep_scores(self.queue.id, result)
        return True

    def _show(self, result: Classified, items: QueueItems, source: str, saved: bool = False) -> None:
        relabel = self.relabels(result.handle)
        self.results_handle, self.results_source = result.handle, source
        self.queue_items = items
        restore, self.restore_view = self.restore_view, None
        if restore is None and source != QUEUE_SOURCE:  # a new queue, undecided: the least sure first
            restore = QueueState(sort_key=SORT_UNCERTAINTY, position=-1)
        thresholds, note = (self._queue_category_thresholds(result.handle, restore) if restore is not None
                            else (None, ""))
        self.events.results_changed.emit(Shown(result, items, source, restore, saved, relabel, thresholds, note))

    @staticmethod
    def _queue_category_thresholds(handle: ModelHandle, restore: QueueState) -> tuple[dict[str, float] | None, str]:
        """A multi-label model's thresholds for a new or opened queue: the queue's own (a new queue's: the
        model's, as a new queue's binary threshold is), the model's for a category the queue has none of;
        and a sentence naming the saved categories the model does not have. (None, "") for other models."""
        own = handle.classifier.category_thresholds
        if not handle.classifier.multi_label or not own:
            return None, ""
        thresholds, unknown = restore.thresholds_for(own)
        if not unknown:
            return thresholds, ""
        names, several = ", ".join(f"'{name}'" for name in unknown), len(unknown) > 1
        return thresholds, (f"The queue's saved threshold{'s' if several else ''} of {names} "
                            f"{'were' if several else 'was'} not restored: the model {handle.model_id} has no such "
                            f"categor{'ies' if several else 'y'}.")

    def _keep_scores(self, queue_id: int, result: Classified) -> None:
        """Save the model's probabilities with the queue (after the jobs before it: the queue and its items
        exist by then). Only a cache: when it cannot be written, the queue is classified again next time."""
        handle = result.handle

        def keep() -> None:
            self._store().queues.save_scores(queue_id, handle.identity, handle.info.labels, result.probabilities)

        self.store_jobs(keep, on_error=lambda error: self.events.status.emit(
            f"The scores were not kept with the queue ({error}); it will be classified again when reopened."))

    # ------------------------------------------------------------------------------ new texts
    def queue_has_work(self) -> bool:
        """A queue is open and some of its items are decided (new texts: add them to it, or a new queue?)."""
        return self.queue is not None and self.session.counts().decided > 0

    def start_queue(self, result: Classified, items: QueueItems | None, source: str) -> None:
        """Newly classified texts (pasted, or an imported file's `items`) as a new queue, shown at once
        and created in the store behind them."""
        items = items if items is not None and items.texts == result.texts else plain_items(result.texts)
        self.queue = None  # the last queue's state is saved no more; the new one is set once created
        threshold = self.model_threshold(result.handle)  # its own, from the model's (not the last queue's)
        if threshold is not None:
            self.events.threshold_set.emit(threshold)
        self._show(result, items, source)
        name, state = queue_name(source), self.view_state()

        def create() -> Queue:
            queue = self._store().queues.create(name, items.texts, items.columns, items.extras,
                                                source if source != PASTED else "", state)
            self.events.decision_queue.emit(queue.name, queue.id)
            return queue

        def created(queue: Queue) -> None:
            self._set_queue(queue)
            self._keep_scores(queue.id, result)

        self.store_jobs(create, on_done=created, on_error=self.events.store_failed.emit)

    def add_to_queue(self, result: Classified, new: QueueItems | None) -> None:
        """Append newly classified items to the open queue and show them all."""
        new = new if new is not None and new.texts == result.texts else plain_items(result.texts)
        old, queue = self.current_items(), self.queue
        columns = old.columns or new.columns
        aligned = [[dict(zip(new.columns, values)).get(name, "") for name in columns] for values in new.extras]
        combined = QueueItems(old.texts + new.texts, list(old.extras) + aligned, columns)
        self.store_jobs(lambda: self._store().queues.add_items(queue.id, new.texts, aligned),
                        on_done=self._set_queue, on_error=self.events.store_failed.emit)
        session = self.session
        if self.results_handle is result.handle and session.class_names == list(result.handle.info.labels):
            probabilities = np.concatenate([session.probabilities, result.probabilities])
            everything = Classified(combined.texts, probabilities, result.handle, result.seconds)
            self._show(everything, combined, QUEUE_SOURCE)
            self._keep_scores(queue.id, everything)
        else:
            self.pending_items = combined
            self._request(combined, queue.id)

    # ------------------------------------------------------------------------------ queues
    def _set_queue(self, queue: Queue) -> None:
        self.queue = queue
        self.events.remembered.emit(queue.id)
        self.events.queue_changed.emit(queue)

    def reopen(self, queue_id: int | None, last_model: str | None = None) -> None:
        """Where the moderator left off: the queue `queue_id` with its model, threshold, order, filter and
        position; with no queue, the model of last time (`last_model`, when it is still there)."""
        if queue_id is not None:
            self.open_queue(queue_id, quietly=True)
            return
        if self.store.server or self.store.path.exists():  # a first start creates no store file yet
            self.events.queues_changed.emit()
        if last_model and Path(last_model).is_dir():
            self.events.load_requested.emit(last_model)

    def open_queue(self, queue_id: int, quietly: bool = False) -> None:
        """Switch to a queue (the open one's position saved first): its items are classified by its model,
        loaded first when another one is. `quietly`: a queue that cannot be read is forgotten, not shown."""
        self.save_state()

        def read():
            queues = self._store().queues
            queue = queues.get(queue_id, progress=False)  # the table counts its decisions
            self.events.decision_queue.emit(queue.name, queue.id)
            return queue, queues.items(queue_id)

        def opened(found) -> None:
            queue, items = found
            self._set_queue(queue)
            self.queue_items = self._requested = None
            self.pending_items, self.restore_view = items, queue.state
            if queue.state.threshold is not None:
                self.events.threshold_set.emit(queue.state.threshold)
            self.events.queue_opened.emit(queue)
            model = queue.state.model_name
            if model and (self.handle is None or self.handle.model_id != model):
                self.events.load_requested.emit(model)
            elif self.handle is not None:
                self.classify_queue_items()

        def failed(error: BaseException) -> None:
            if quietly:
                self.events.remembered.emit(None)
                self.events.queues_changed.emit()
            else:
                self.events.failed.emit(error, "Cannot open the queue")

        self.store_jobs(read, key="open-queue", on_done=opened, on_error=failed)

    def open_new_queue(self, make: Callable[[DecisionStore], Queue], title: str,
                       on_created: Callable[[Queue], None] | None = None) -> None:
        """A queue that `make(store)` creates on the store thread (the data audit's suspects), opened
        once it exists; `title` names a failure."""
        def created(queue: Queue) -> None:
            self.events.queues_changed.emit()
            self.open_queue(queue.id)
            if on_created is not None:
                on_created(queue)

        self.store_jobs(lambda: make(self._store()), on_done=created,
                        on_error=lambda error: self.events.failed.emit(error, title))

    def save_state(self) -> None:
        """Keep where the moderator is with the open queue (not while an opened one is not shown yet:
        its saved state stands)."""
        if self.queue is None or self.pending_items is not None or self.restore_view is not None:
            return
        queue_id, state = self.queue.id, self.view_state()
        self.store_jobs(lambda: self._store().queues.save_state(queue_id, state), key="queue-state",
                        on_error=self.events.store_failed.emit)

    def queue_deleted(self, queue_id: int) -> None:
        """The open queue, deleted, is closed: its items waiting for a model, or being classified, are dropped."""
        if self.queue is None or self.queue.id != queue_id:
            return
        self.queue = self.pending_items = self.restore_view = None
        self.store_jobs(lambda: self.events.decision_queue.emit("", None))
        self.events.remembered.emit(None)
        self.events.queue_changed.emit(None)

    def queue_renamed(self, queue: Queue) -> None:
        if self.queue is not None and self.queue.id == queue.id:
            self.queue = queue
            self.store_jobs(lambda: self.events.decision_queue.emit(queue.name, queue.id))

    # ------------------------------------------------------------------------------ retrain
    def prepare_retrain(self) -> None:
        """Prepare a run that retrains the loaded model on its data plus the open queue's decisions."""
        handle = self.handle
        if handle is None:
            return
        queue = self.queue.name if self.queue is not None else None
        folder, labels = handle.model_id, list(handle.info.labels)

        def prepared(plan: RetrainPlan) -> None:
            self.retrain_plan = plan
            self.events.retrain_prepared.emit(plan)

        self.store_jobs(lambda: prepare_retrain(self._store(), folder, labels, queue), key="retrain",
                        on_done=prepared,
                        on_error=lambda error: self.events.failed.emit(error, "Cannot retrain from decisions"))

    def compare(self, output_dir: str) -> bool:
        """After the prepared run: compare the old and the new model (in the background). False when
        `output_dir` is not the prepared run's or holds no model."""
        plan = self.retrain_plan
        if plan is None or Path(output_dir).resolve() != Path(plan.config.output_dir).resolve():
            return False
        if not (Path(output_dir) / "config.json").is_file():
            return False
        self.events.status.emit("Comparing the old and the new model…")
        self.jobs(compare_models, plan.old_model, output_dir, plan.config.validation_file or None,
                  plan.held_out_file, key="compare",
                  on_done=lambda found: self.events.comparison_ready.emit(found, plan.old_model, output_dir),
                  on_error=lambda error: self.events.failed.emit(error, "Cannot compare the models"))
        return True
