"""The Review tab's "Decisions" box and what it stands for: recording the moderators' decisions on the
results, showing those made before, and exporting them as training data. Every store call runs on one
superqt worker thread, in order (core.review.store.StoreAccess); the box says where decisions are
saved, or why they cannot be."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from moderator_app.core.review.store import StoreAccess
from moderator_app.gui.common import dialogs, settings
from moderator_app.gui.common.errors import describe
from moderator_app.gui.common.fields import ERROR_COLOR
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.review.results_panel import ResultsPanel


class DecisionsPanel(QGroupBox):
    saved = Signal(int)  # how many decisions
    failed = Signal(str)
    exported = Signal(str, int)  # path, rows
    status_message = Signal(str)

    def __init__(self, results: ResultsPanel, store_path: str | Path | None = None, parent: QWidget | None = None):
        super().__init__("Decisions", parent)
        self.results = results
        self.store = StoreAccess(store_path)
        self.tasks = BackgroundTasks(self, max_threads=1)  # one at a time, in order
        self.error = ""
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setToolTip("An SQLite database (WAL mode), one transaction per decision. "
                              "Set MODERATOR_APP_DATA to keep it elsewhere.")
        self.export_button = QPushButton("Export decisions…")
        self.export_button.setToolTip("Write every decision as a text,label CSV that the Training tab trains on")
        self.export_button.clicked.connect(lambda: self.export())
        self.error_dialog = None
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.export_button)
        self._set_ok()

    def decide(self, moderator_label: str | None, model_id: str) -> None:
        """Record a decision for each selected row: the model's label (None: accept) or `moderator_label`."""
        results = self.results
        items, decisions = results.session.new_decisions(results.selected_items(), moderator_label, model_id)
        if not decisions:
            return
        next_item, generation = results.item_after_selection(), results.generation

        def recorded(outcome) -> None:
            saved, error = outcome
            if generation == results.generation and saved:
                results.apply_decisions({item: decision.moderator_label for item, decision in zip(items, saved)})
                if next_item is not None:
                    results.select_item(next_item)
            if saved:
                self.saved.emit(len(saved))
                self._set_ok()
                accepted = sum(1 for decision in saved if decision.accepted)
                self.status_message.emit(f"Saved {len(saved)} decision{'s' if len(saved) != 1 else ''} "
                                         f"({accepted} accepted, {len(saved) - accepted} relabelled).")
            if error:
                lost = len(items) - len(saved)
                self._failed(error, f"{lost} decision{'s were' if lost != 1 else ' was'} not saved.")

        self.tasks.submit(self.store.record, decisions, on_done=recorded,
                          on_error=lambda error: self._failed(error, "The decision was not saved."))

    def show_earlier(self, texts: list[str], model_id: str) -> None:
        """Mark the results' items decided before (for this model) with those decisions."""
        results, generation = self.results, self.results.generation

        def apply(found: dict[str, str]) -> None:
            if generation != results.generation or not found:
                return
            decided = results.session.decisions_found(found)
            results.apply_decisions(decided)
            self.status_message.emit(f"{len(decided):,} of these items were decided before; their decisions "
                                     "are shown.")

        self.tasks.submit(self.store.lookup, texts, model_id, key="lookup", on_done=apply,
                          on_error=lambda error: self._failed(error, ""))

    def export(self, path: str | None = None) -> None:
        if not path:
            start = str(Path(settings.last_folder("data") or Path.home()) / "decisions.csv")
            path, _ = QFileDialog.getSaveFileName(self, "Export the decisions as training data", start,
                                                  "CSV (*.csv)")
            if not path:
                return
            if not path.lower().endswith(".csv"):
                path += ".csv"
        settings.remember_folder("data", path)

        def exported(count: int) -> None:
            self._set_ok()
            self.status_message.emit(f"Exported {count:,} decisions to {path}: train on it in the Training tab.")
            self.exported.emit(path, count)

        self.tasks.submit(self.store.export, path, key="export", on_done=exported,
                          on_error=lambda error: self._failed(error, "Nothing was exported."))

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
