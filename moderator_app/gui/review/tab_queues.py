"""The Review tab's queues, as a part of ReviewTab (a mixin: it uses the tab's panels and model): each
classified paste or import becomes a queue in the decision store, or is added to the open one when
the moderator says so; a queue opens with its model, threshold, order, filter and position, and its
state is saved as the moderator works. The model's scores for a queue's items are kept with it, so a
queue reopens with the same model without classifying every item again. Store calls run on the
DecisionsPanel's store thread."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
from superqt.utils import qdebounced

from moderator_app.core.inference.shared_model import Classified
from moderator_app.core.review.queues import Queue, QueueItems, QueueState
from moderator_app.core.review.session import SORT_UNCERTAINTY
from moderator_app.gui.common import dialogs, settings
from moderator_app.gui.review.model_panel import recent_models

LAST_QUEUE_KEY = "review/last-queue"
QUEUE_SOURCE = "the queue"  # the source of a classification of the open queue's own items
STATE_SAVE_DELAY_MS = 400  # save the queue's position once the moderator pauses


class QueueFlow:
    # ------------------------------------------------------------------------------ results
    def _on_classified(self, result: Classified, source: str) -> None:
        if source == QUEUE_SOURCE:  # the open queue's items, by the loaded model
            items = self.pending_items if self.pending_items is not None else self.current_items()
            self.pending_items = None
            self._show(result, items, source)
            if self.queue is not None and len(items.texts) == len(result.texts):
                self._keep_scores(self.queue.id, result)
            return
        items = self.input.imported_items.pop(source, None)
        if items is None or items.texts != result.texts:
            items = QueueItems(list(result.texts), [[] for _ in result.texts], [])
        if self.queue is not None and self.results.session.counts().decided and dialogs.confirm(
                self, "The queue holds work",
                f"The queue '{self.queue.name}' has decided items. Add these {len(result.texts):,} items to it, or "
                "start a new queue with them?", "Add to this queue", "New queue"):
            self._add_to_queue(result, items)
            return
        # a new queue: its own threshold, starting at the model's calibrated one (not the last queue's)
        self.queue = None  # the last queue's state is saved no more; the new one is set once created
        threshold = self.model_threshold(result.handle)
        if threshold is not None:
            self.results.set_threshold(threshold)
        self._show(result, items, source)
        name = (Path(source).stem if source and source != "pasted text"
                else f"Pasted {datetime.now().strftime('%Y-%m-%d %H:%M')}")
        state = self.view_state()

        def create() -> Queue:
            queues = self.decisions.store.store().queues
            queue = queues.create(name, items.texts, items.columns, items.extras,
                                  source if source != "pasted text" else "", state)
            self.decisions.queue = (queue.name, queue.id)  # for the decisions queued after this job
            return queue

        def created(queue: Queue) -> None:
            self._set_queue(queue)
            self._keep_scores(queue.id, result)

        self.decisions.tasks.submit(create, on_done=created, on_error=lambda error: self.decisions._failed(error, ""))

    def _add_to_queue(self, result: Classified, new: QueueItems) -> None:
        """Append newly classified items to the open queue (asked first) and show them all."""
        old, queue = self.current_items(), self.queue
        columns = old.columns or new.columns
        extras = list(old.extras) + [[dict(zip(new.columns, values)).get(name, "") for name in columns]
                               for values in new.extras]
        combined = QueueItems(old.texts + new.texts, extras, columns)
        aligned = [[dict(zip(new.columns, values)).get(name, "") for name in columns] for values in new.extras]
        self.decisions.tasks.submit(lambda: self.decisions.store.store().queues.add_items(queue.id, new.texts, aligned),
                                    on_done=self._set_queue, on_error=lambda error: self.decisions._failed(error, ""))
        session = self.results.session
        if self.results_handle is result.handle and session.class_names == list(result.handle.info.labels):
            probabilities = np.concatenate([session.probabilities, result.probabilities])
            everything = Classified(combined.texts, probabilities, result.handle, result.seconds)
            self._show(everything, combined, QUEUE_SOURCE)
            self._keep_scores(queue.id, everything)
        else:
            self.pending_items = combined
            self.input.classify(list(combined.texts), QUEUE_SOURCE)

    def _keep_scores(self, queue_id: int, result: Classified) -> None:
        """Save the model's probabilities with the queue (after the jobs before it: the queue and its items
        exist by then). Only a cache: when it cannot be written, the queue is classified again next time."""
        handle = result.handle

        def keep() -> None:
            self.decisions.store.store().queues.save_scores(queue_id, handle.identity, handle.info.labels,
                                                            result.probabilities)

        self.decisions.tasks.submit(keep, on_error=lambda error: self.status_message.emit(
            f"The scores were not kept with the queue ({error}); it will be classified again when reopened."))

    def classify_queue_items(self) -> None:
        """The opened queue's items (`pending_items`) by the loaded model: the scores this model gave them
        when the store has them all (a 20,000-item queue reopens at once), else classified again."""
        items, handle, queue = self.pending_items, self.handle, self.queue
        if items is None or handle is None:
            return
        if queue is None:
            self.input.classify(list(items.texts), QUEUE_SOURCE)
            return

        def saved_scores():
            return self.decisions.store.store().queues.scores(queue.id, handle.identity, handle.info.labels,
                                                              len(items.texts))

        def found(probabilities) -> None:
            if self.pending_items is not items or self.handle is not handle:
                return  # another queue or model since: its own call takes over
            if probabilities is None:
                self.input.classify(list(items.texts), QUEUE_SOURCE)
                return
            self.pending_items = None
            self._show(Classified(list(items.texts), probabilities, handle, 0.0), items, QUEUE_SOURCE, saved=True)

        self.decisions.tasks.submit(saved_scores, key="queue-scores", on_done=found,
                                    on_error=lambda _error: found(None))

    def _show(self, result: Classified, items: QueueItems, source: str, saved: bool = False) -> None:
        handle = result.handle
        if self.results_handle is None or self.results_handle.info.labels != handle.info.labels:
            self.results.configure_for_labels(handle.info.labels, handle.classifier.positive_index)
        self.results_handle, self.results_source = handle, source
        self.queue_items = items
        restore = self.restore_view
        self.restore_view = None
        new_queue = restore is None and source != QUEUE_SOURCE
        if new_queue:
            restore = QueueState(sort_key=SORT_UNCERTAINTY, position=-1)  # undecided: the least sure first
        selected = self.results.selected_items()
        kept = self.results.session.texts[selected[0]] if selected else None
        shown = restore.shown_columns if restore is not None else self.results.session.shown_columns
        self.results.show_results(result.texts, result.probabilities, handle.info.labels,
                                  handle.classifier.positive_index, handle.classifier.decide, items.columns,
                                  items.extras, shown or items.columns)
        if restore is not None:
            self.results.set_filter_value(restore.filter, restore.search)
            self.results.sort_by(restore.sort_key, restore.descending)
        # exactly one row selected: where the moderator left off, the row selected before (the same
        # queue classified again), else the first row in the table's order
        position = restore.position if restore is not None else (
            result.texts.index(kept) if kept is not None and kept in result.texts else -1)
        if 0 <= position < len(result.texts) and self.results.model.row_of(position) >= 0:
            self.results.select_item(position)
        elif self.results.model.rowCount():
            self.results.select_row(0)
        self.explanation.show_message("Select a row to see which words pushed its score up or down.")
        if saved:
            self.status_message.emit(f"Opened {len(result.texts):,} items with the scores this model gave them "
                                     "before (kept with the queue).")
        else:
            rate = len(result.texts) / result.seconds if result.seconds > 0 else 0.0
            self.status_message.emit(f"Classified {len(result.texts):,} items in {result.seconds:.1f} s "
                                     f"({rate:,.0f} per second).")
        self.results_changed.emit()
        self.decisions.show_earlier(list(result.texts), handle)
        self.update_stats()

    def current_items(self) -> QueueItems:
        session = self.results.session
        if self.queue_items is not None and self.queue_items.texts == session.texts:
            return self.queue_items
        return QueueItems(list(session.texts), [[] for _ in session.texts], [])

    # ------------------------------------------------------------------------------ queues
    def _set_queue(self, queue: Queue) -> None:
        self.queue = queue
        settings.save_value(LAST_QUEUE_KEY, queue.id)
        self.queues.set_current(queue.id)
        self.update_stats()

    def reopen_last_queue(self) -> None:
        """Where the moderator left off: the last queue, its model, threshold, order, filter and position."""
        queue_id = settings.load_value(LAST_QUEUE_KEY)
        try:
            queue_id = int(queue_id) if queue_id not in (None, "") else None
        except (TypeError, ValueError):
            queue_id = None
        if queue_id is None:
            if self.decisions.store.server or self.decisions.store.path.exists():  # a first start creates none
                self.queues.refresh()
            last_model = next(iter(recent_models()), None)
            if last_model and Path(last_model).is_dir():  # no queue yet: at least the model of last time
                self.load_model(last_model, self.model_panel.allow_pickle.isChecked())
            return
        self.open_queue(queue_id, quietly=True)

    def open_queue(self, queue_id: int, quietly: bool = False) -> None:
        """Switch to a queue: its items are classified by its model (loaded first when another one is)."""
        self.save_queue_state()

        def read():
            queues = self.decisions.store.store().queues
            queue = queues.get(queue_id, progress=False)  # the table counts its decisions
            self.decisions.queue = (queue.name, queue.id)  # for the decisions queued after this job
            return queue, queues.items(queue_id)

        def opened(found) -> None:
            queue, items = found
            self._set_queue(queue)
            self.queue_items = None
            self.pending_items, self.restore_view = items, queue.state
            if queue.state.threshold is not None:
                self.results.set_threshold(queue.state.threshold)
            self.status_message.emit(f"Queue '{queue.name}': {queue.progress}.")
            model = queue.state.model_name
            if model and (self.handle is None or self.handle.model_id != model):
                self.load_model(model, self.model_panel.allow_pickle.isChecked())
            elif self.handle is not None:
                self.classify_queue_items()
            self.queue_opened.emit(queue)

        def failed(error: BaseException) -> None:
            if quietly:
                settings.save_value(LAST_QUEUE_KEY, "")
                self.queues.refresh()
            else:
                self._show_failure(error, "Cannot open the queue")

        self.decisions.tasks.submit(read, key="open-queue", on_done=opened, on_error=failed)

    def open_audit_suspects(self, result, on_created=None) -> None:
        """The data audit's likely label errors (core.audit.audit.AuditReport) as a new queue, most
        suspicious first, opened here; `on_created(queue)` once it exists."""
        from moderator_app.core.audit.review import open_suspects_queue

        def created(queue: Queue) -> None:
            self.queues.refresh()
            self.open_queue(queue.id)
            self.status_message.emit(f"Queue '{queue.name}': {queue.items:,} likely label errors, the most suspicious "
                                     "first. Keep or correct each; the given and suggested labels are columns.")
            if on_created is not None:
                on_created(queue)

        self.decisions.tasks.submit(lambda: open_suspects_queue(self.decisions.store.store(), result), on_done=created,
                                    on_error=lambda error: self._show_failure(error, "Cannot open the suspects"))

    def view_state(self) -> QueueState:
        session, results = self.results.session, self.results
        rows = results.table.selected_rows()
        handle = self.results_handle or self.handle
        return QueueState(model_name=handle.model_id if handle is not None else "",
                          threshold=results.threshold_value() if session.is_binary else None,
                          filter=results.filter_value(), search=results.search.text(), sort_key=session.sort_key,
                          descending=session.descending, position=results.model.item(rows[0]) if rows else 0,
                          shown_columns=list(session.shown_columns))

    @qdebounced(timeout=STATE_SAVE_DELAY_MS)
    def save_queue_state(self) -> None:
        self._save_queue_state_now()

    def _save_queue_state_now(self) -> None:
        if self.queue is None or self.pending_items is not None or self.restore_view is not None:
            return  # nothing open, or an opened queue not shown yet: its saved state stands
        queue_id, state = self.queue.id, self.view_state()
        self.decisions.tasks.submit(lambda: self.decisions.store.store().queues.save_state(queue_id, state),
                                    key="queue-state", on_error=lambda error: self.decisions._failed(error, ""))

    def _on_queue_deleted(self, queue_id: int) -> None:
        if self.queue is not None and self.queue.id == queue_id:
            self.queue = None
            self.decisions.tasks.submit(lambda: setattr(self.decisions, "queue", ("", None)))
            settings.save_value(LAST_QUEUE_KEY, "")
        self.update_stats()

    def _on_queue_renamed(self, queue: Queue) -> None:
        if self.queue is not None and self.queue.id == queue.id:
            self.queue = queue
            self.decisions.tasks.submit(lambda: setattr(self.decisions, "queue", (queue.name, queue.id)))

    def _after_decisions_changed(self, _count: int = 0) -> None:
        self.queues.refresh()
        self.show_history()
        self.update_stats()

    def update_stats(self) -> None:
        """The status bar's line: the queue's progress, the review rate and the disagreement with the model."""
        counts = self.results.session.counts()
        parts = [f"Moderator: {self.decisions.moderator}"]
        if counts.total:
            name = f"'{self.queue.name}': " if self.queue is not None else ""
            parts.append(f"{name}{counts.decided:,} of {counts.total:,} reviewed")
        rate = self.decisions.review_rate()
        if rate is not None:
            parts.append(f"{rate:,.0f} items/hour")
        if counts.disagreement is not None:
            parts.append(f"{counts.disagreement:.0%} relabelled (disagree with the model)")
        self.stats_changed.emit(" · ".join(parts))
