"""The Review tab's "Decisions" box and what it stands for: recording the moderators' decisions on the
results (with who, the model's identity, the threshold and probabilities seen, a note or category and
the queue), undoing them (a revert row, never a deletion), showing those made before (for this model,
or "decided before" with another), an item's history, and exporting them as training data or as a
report of disagreements. Every store call runs on one superqt worker thread, in order
(core.review.store.StoreAccess); the box says where decisions are saved, or why they cannot be."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from moderator_app.core.inference.shared_model import ModelHandle
from moderator_app.core.review.export import ExportFilter, export_conflicts, export_decisions
from moderator_app.core.review.store import StoreAccess
from moderator_app.gui.common import dialogs, settings
from moderator_app.gui.common.errors import describe
from moderator_app.gui.common.fields import ERROR_COLOR
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.review.results_panel import ResultsPanel
from moderator_app.gui.review.store_setting import StorePoll, ask_store, saved_store


class DecisionsPanel(QGroupBox):
    saved = Signal(int)  # how many decisions
    undone = Signal(int)  # how many decisions were reverted
    failed = Signal(str)
    exported = Signal(str, int)  # path, rows
    status_message = Signal(str)
    looked_up = Signal()  # earlier decisions were found and shown

    def __init__(self, results: ResultsPanel, store_path: str | Path | None = None, parent: QWidget | None = None):
        super().__init__("Decisions", parent)
        self.results = results
        self.store = StoreAccess(store_path or saved_store())  # a URL: a team's shared store
        self.tasks = BackgroundTasks(self, max_threads=1)  # one at a time, in order
        self.error = ""
        self.moderator = ""  # who decides (the tab sets it)
        # the queue decisions are made in (name, id); set by store-thread jobs that create or open one
        self.queue: tuple[str, int | None] = ("", None)
        self.undo_stack: list[list[int]] = []  # the log rows of each decision action of this sitting
        # (text, model identity, label) -> uid of a decision whose save failed: saving it again (the same
        # label) sends the same uid, so that a save whose answer was lost on the way back is stored once
        self.unsaved: dict[tuple[str, str, str | None], str] = {}
        self.sitting_times: list[float] = []  # monotonic time of each decision this sitting (review rate)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setToolTip("A team's PostgreSQL database, one transaction per decision; the other moderators' "
                              "decisions show within seconds" if self.store.server else
                              "An SQLite database (WAL mode), one transaction per decision. "
                              "Set MODERATOR_APP_DATA to keep it elsewhere, or choose Store… for a team's")
        self.store_button = QPushButton("Store…")
        self.store_button.setToolTip("Where decisions are saved: an SQLite file or a team's postgresql:// database")
        self.store_button.clicked.connect(lambda: ask_store(self, saved_store() or ""))
        # a shared store: the open table's decisions looked up again on focus and every few seconds
        self.poll = StorePoll(self) if self.store.server else None
        self.export_button = QPushButton("Export decisions…")
        self.export_button.setToolTip("Write the latest decision per text as a text,label CSV that the Training tab "
                                      "trains on; filters and who/when columns in the dialog")
        self.export_button.clicked.connect(lambda: self.open_export_dialog())
        self.conflicts_button = QPushButton("Conflicts report…")
        self.conflicts_button.setToolTip("Write the texts that two moderators labelled differently")
        self.conflicts_button.clicked.connect(lambda: self.export_conflicts())
        self.agreement_button = QPushButton("Agreement…")
        self.agreement_button.setToolTip("How often the moderators agree on the same texts: Cohen's kappa per "
                                         "pair, Krippendorff's alpha, each against the model")
        self.agreement_button.clicked.connect(lambda: self.open_agreement_dialog())
        self.error_dialog = None
        self.export_dialog = None
        self.agreement_dialog = None
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.conflicts_button)
        buttons.addWidget(self.agreement_button)
        buttons.addWidget(self.store_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addLayout(buttons)
        self._set_ok()

    def decide(self, moderator_label: str | None, handle: ModelHandle) -> None:
        """Record a decision for each selected row: the model's label (None: accept) or `moderator_label`."""
        results = self.results
        note, category = results.take_note()
        items, decisions = results.session.new_decisions(
            results.selected_items(), moderator_label, handle.identity, moderator=self.moderator,
            model_name=handle.model_id, note=note, category=category)
        if not decisions:
            return
        decisions = [replace(decision, uid=self.unsaved.get(_key(decision), decision.uid)) for decision in decisions]
        next_item, generation = results.item_after_selection(), results.generation

        def not_saved(lost: list) -> None:
            self.unsaved.update({_key(decision): decision.uid for decision in lost})

        def recorded(outcome) -> None:
            saved, error = outcome
            for decision in saved:
                self.unsaved.pop(_key(decision), None)
            not_saved(decisions[len(saved):] if error else [])
            if saved:
                self.undo_stack.append([decision.id for decision in saved])
                results.undo_button.setEnabled(True)
                self.sitting_times.extend([time.monotonic()] * len(saved))
            if generation == results.generation and saved:
                decided = list(items[:len(saved)])
                results.apply_decisions({item: decision.moderator_label for item, decision in zip(items, saved)},
                                        {item: decision.model_label for item, decision in zip(items, saved)})
                results.select_after_decision(next_item, decided)
            if saved:
                self.saved.emit(len(saved))
                self._set_ok()
                accepted = sum(1 for decision in saved if decision.accepted)
                self.status_message.emit(f"Saved {len(saved)} decision{'s' if len(saved) != 1 else ''} "
                                         f"({accepted} accepted, {len(saved) - accepted} relabelled).")
            if error:
                lost = len(items) - len(saved)
                self._failed(error, f"{lost} decision{'s were' if lost != 1 else ' was'} not saved.")

        def record():
            # the queue as of this job's turn on the store thread: a queue created or opened just before
            # (by an earlier job on this thread) is the one these decisions belong to
            name, queue_id = self.queue
            return self.store.record([replace(decision, queue=name, queue_id=queue_id) for decision in decisions])

        def failed(error: BaseException) -> None:
            not_saved(decisions)
            self._failed(error, "The decision was not saved.")

        self.tasks.submit(record, on_done=recorded, on_error=failed)

    def undo(self, model_id: str | None = None) -> bool:
        """Revert the last decision action of this sitting (a revert row each); with none left (after a
        restart, say), the moderator's own last decision for the model `model_id` in the open queue that
        is still current, read from the store. False when there is nothing to undo."""
        results, generation = self.results, self.results.generation
        if self.undo_stack:
            row_ids = self.undo_stack.pop()
            in_sitting = True

            def revert():
                return self.store.revert(row_ids, self.moderator)
        elif model_id:
            in_sitting, row_ids = False, []

            def revert():
                last = self.store.last_undoable(self.moderator, model_id, self.queue[1])  # the open queue's
                return [] if last is None else self.store.revert([last.id], self.moderator)
        else:
            self.status_message.emit("Nothing to undo.")
            return False
        results.undo_button.setEnabled(False)

        def reverted(rows) -> None:
            if not rows:
                self.status_message.emit("Nothing to undo: you have no decision left for this model that is "
                                         "still current.")
                self.refresh_undo(model_id)
                return
            if in_sitting:
                del self.sitting_times[-len(rows):]
            if generation == results.generation:
                texts = {decision.text: decision for decision in rows}
                found = {item: texts[text] for item, text in enumerate(results.session.texts) if text in texts}
                results.apply_decisions({item: row.moderator_label for item, row in found.items()},
                                        {item: row.model_label for item, row in found.items()})
                shown = [row for row in results.session.rows_of(list(found)) if row >= 0]
                if shown:  # the first undone row in the current order, and only it
                    results.select_row(int(min(shown)))
            self.undone.emit(len(rows))
            self.status_message.emit(f"Undid {len(rows)} decision{'s' if len(rows) != 1 else ''}; the log keeps "
                                     "them, with the undo.")
            self.refresh_undo(model_id)

        def failed(error: BaseException) -> None:
            if in_sitting:
                self.undo_stack.append(row_ids)
            self.refresh_undo(model_id)
            self._failed(error, "The decision was not undone.")

        self.tasks.submit(revert, on_done=reverted, on_error=failed)
        return True

    def refresh_undo(self, model_id: str | None) -> None:
        """Enable Undo when this sitting has decisions to undo or the store holds one of the moderator's
        for this model (after a restart)."""
        if self.undo_stack or not model_id:
            self.results.undo_button.setEnabled(bool(self.undo_stack))
            return
        moderator = self.moderator
        self.tasks.submit(lambda: self.store.last_undoable(moderator, model_id, self.queue[1]) is not None,
                          key="undoable",
                          on_done=lambda found: self.results.undo_button.setEnabled(bool(self.undo_stack) or found),
                          on_error=lambda _error: None)

    def review_rate(self) -> float | None:
        """Decisions per hour this sitting, from the first decision to now (None before a few decisions)."""
        if len(self.sitting_times) < 2:
            return None
        hours = (time.monotonic() - self.sitting_times[0]) / 3600
        return len(self.sitting_times) / hours if hours > 0 else None

    def show_earlier(self, texts: list[str], handle: ModelHandle, quiet: bool = False) -> None:
        """Mark the results' items decided before: for this model as decisions, with another model as
        "decided before" with that model named (`quiet`: a refresh, said only when others decided some)."""
        results, generation = self.results, self.results.generation

        def apply(found) -> None:
            current, earlier = found
            if generation != results.generation:
                return
            decided, seen = results.session.decisions_found(current)
            if quiet:  # only what changed since the table showed it (another moderator's decisions)
                labels = results.session.decisions
                decided = {item: label for item, label in decided.items() if labels[item] != label}
                seen = {item: label for item, label in seen.items() if item in decided}
            results.apply_decisions(decided, seen)
            results.show_earlier(earlier)
            if quiet and decided:
                self.status_message.emit(f"{len(decided):,} decisions by other moderators shown.")
            elif decided or earlier:
                self.status_message.emit(
                    f"{len(decided):,} of these items were decided before with this model"
                    + (f", {len(earlier):,} with another model (shown as “before”)" if earlier else "") + ".")
            self.refresh_undo(handle.identity)
            self.looked_up.emit()

        # as this moderator may see them (a double review's items hidden until they decide), on the store
        # thread, where the queue is the one its earlier jobs opened
        self.tasks.submit(lambda: self.store.lookup(texts, handle.identity, self.moderator, self.queue[1]),
                          key="lookup", on_done=apply,
                          on_error=lambda error: self._failed(error, ""))

    def show_history(self, text: str, model_id: str, panel) -> None:
        """Fill the HistoryPanel `panel` with the log rows about `text`."""
        def read():  # as this moderator may see it: a double review's item hides the others' rows until decided
            moderator, queue_id = self.moderator, self.queue[1]
            return self.store.history(text, moderator, queue_id), self.store.blind(text, moderator, queue_id)

        self.tasks.submit(read, key="history", on_done=lambda found: panel.show_history(text, found[0], model_id,
                                                                                         hidden=found[1]),
                          on_error=lambda error: self._failed(error, ""))

    # ------------------------------------------------------------------------------ export
    def open_export_dialog(self):
        from moderator_app.gui.review.export_dialog import ExportDialog

        self.export_dialog = ExportDialog(self.queue[0], self.moderator, self)
        self.export_dialog.export_requested.connect(self.export)
        self.export_dialog.open()
        return self.export_dialog

    def export(self, path: str | None = None, where: ExportFilter | None = None, provenance: bool = False,
               excel_safe: bool = False) -> None:
        """The latest decision per text (under `where`) as a training CSV at `path` (asked for when None)."""
        path = path or self._ask_path("Export the decisions as training data", "decisions.csv")
        if not path:
            return
        where = where or ExportFilter()

        def exported(summary) -> None:
            self._set_ok()
            undone = f" ({summary.undone:,} undone to undecided left out)" if summary.undone else ""
            self.status_message.emit(f"Exported {summary.rows:,} decisions to {path}{undone}: train on it in the "
                                     "Training tab.")
            self.exported.emit(path, summary.rows)

        self.tasks.submit(lambda: export_decisions(self.store.store(), path, where, provenance,
                                                   excel_safe=excel_safe), key="export",
                          on_done=exported, on_error=lambda error: self._failed(error, "Nothing was exported."))

    def export_conflicts(self, path: str | None = None, where: ExportFilter | None = None) -> None:
        path = path or self._ask_path("Write the texts moderators labelled differently", "conflicts.csv")
        if not path:
            return

        def written(summary) -> None:
            self._set_ok()
            self.status_message.emit(f"{summary.rows:,} texts were labelled differently by two moderators; "
                                     f"written to {path}.")
            self.exported.emit(path, summary.rows)

        self.tasks.submit(lambda: export_conflicts(self.store.store(), path, where or ExportFilter()), key="export",
                          on_done=written, on_error=lambda error: self._failed(error, "Nothing was written."))

    def open_agreement_dialog(self):
        from moderator_app.gui.review.agreement_dialog import AgreementDialog

        self.agreement_dialog = AgreementDialog(self.queue[0], self)
        self.agreement_dialog.measure_requested.connect(self.measure_agreement)
        self.agreement_dialog.open()
        return self.agreement_dialog

    def measure_agreement(self, where: ExportFilter) -> None:
        """Agreement under `where`, on the store's thread; the open dialog shows it."""
        from moderator_app.core.review.agreement import measure_with_categories

        dialog = self.agreement_dialog

        def failed(error: BaseException) -> None:
            if dialog is not None:
                dialog.show_failure(describe(error).message)

        self.tasks.submit(lambda: measure_with_categories(self.store.store(), where), key="agreement",
                          on_done=lambda found: dialog.show_report(*found) if dialog is not None else None,
                          on_error=failed)

    def _ask_path(self, title: str, name: str) -> str:
        start = str(Path(settings.last_folder("data") or Path.home()) / name)
        path, _ = QFileDialog.getSaveFileName(self, title, start, "CSV (*.csv)")
        if path and not path.lower().endswith(".csv"):
            path += ".csv"
        if path:
            settings.remember_folder("data", path)
        return path

    def close_store(self, wait_ms: int) -> None:
        """After the decisions still being saved: close the store."""
        self.tasks.submit(self.store.close)
        self.tasks.wait(wait_ms)

    def _set_ok(self) -> None:
        self.error = ""
        self.label.setText(f"Decisions are saved to {self.store.path}")
        self.label.setStyleSheet("")

    def _failed(self, error: BaseException, consequence: str) -> None:
        message = describe(error).message
        self.error = message
        self.label.setText(f"Decisions cannot be saved. {message}")
        self.label.setStyleSheet(f"color: {ERROR_COLOR.name()};")
        self.failed.emit(message)
        if consequence:
            self.error_dialog = dialogs.show_error(self, "Decisions cannot be saved", f"{consequence}\n\n{message}")


def _key(decision) -> tuple[str, str, str | None]:
    return decision.text, decision.model_id, decision.moderator_label
