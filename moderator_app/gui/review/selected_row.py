"""The Review tab's views of the selected row: why the model scored it as it did (ExplanationView) and
every decision made about its text (HistoryPanel). Both follow the table's selection once it settles
(EXPLAIN_DELAY_MS), so that moving through the table with the keys explains and looks up only the row
the moderator stops at."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject
from superqt.utils import qdebounced

from moderator_app.core.inference.shared_model import ModelHandle
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.review.decisions_panel import DecisionsPanel
from moderator_app.gui.review.explanation_view import ExplanationView
from moderator_app.gui.review.history_panel import HistoryPanel
from moderator_app.gui.review.results_panel import ResultsPanel

EXPLAIN_DELAY_MS = 250  # wait for the selection to settle before explaining


class SelectedRowViews(QObject):
    """`explanation` and `history` of `results`' selected row; `results_handle()`: the model of the table."""

    def __init__(self, results: ResultsPanel, decisions: DecisionsPanel, model_tasks: BackgroundTasks,
                 results_handle: Callable[[], ModelHandle | None], parent: QObject | None = None):
        super().__init__(parent)
        self.results, self.decisions, self.results_handle = results, decisions, results_handle
        self.explanation = ExplanationView(model_tasks)  # explains on the shared model's thread
        self.history = HistoryPanel()

    def selection_changed(self) -> None:
        self.explanation.forget()  # a job still queued for the old selection is skipped
        self.explain_selected()
        self.show_history()

    @qdebounced(timeout=EXPLAIN_DELAY_MS)
    def show_history(self) -> None:
        items = self.results.selected_items()
        handle = self.results_handle()
        if len(items) != 1 or handle is None:
            self.history.clear("History: select one row to see every decision made about its text."
                               if items else "")
            return
        self.decisions.show_history(self.results.session.texts[items[0]], handle.identity, self.history)

    @qdebounced(timeout=EXPLAIN_DELAY_MS)
    def explain_selected(self) -> None:
        session = self.results.session
        self.explanation.explain(self.results_handle(), [(session.texts[item], session.labels[item])
                                                         for item in self.results.selected_items()])
