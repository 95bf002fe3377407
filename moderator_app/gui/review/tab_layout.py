"""The Review tab's layout: the left column (model, queues, texts, batch labelling, decisions), scrolled,
beside the results over the selected row's explanation and history. The splitters' positions are kept
in the settings."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSplitter, QVBoxLayout, QWidget

from moderator_app.gui.common import settings

SPLITTER_KEY = "review/splitter"
RESULTS_SPLITTER_KEY = "review/results-splitter"
HISTORY_SPLITTER_KEY = "review/history-splitter"
LEFT_MIN_WIDTH = 360


def _splitter(orientation: Qt.Orientation, *widgets: QWidget) -> QSplitter:
    splitter = QSplitter(orientation)
    for widget in widgets:
        splitter.addWidget(widget)
    splitter.setChildrenCollapsible(False)
    return splitter


class ReviewLayout:
    """Lays `left` ((widget, stretch) pairs, top to bottom) out beside `results` over `explanation` and
    `history`, in `tab`."""

    def __init__(self, tab: QWidget, left: list[tuple[QWidget, int]], results: QWidget, explanation: QWidget,
                 history: QWidget):
        column = QWidget()
        column_layout = QVBoxLayout(column)
        column_layout.setContentsMargins(8, 8, 8, 8)
        for widget, stretch in left:
            column_layout.addWidget(widget, stretch)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(column)
        scroll.setMinimumWidth(LEFT_MIN_WIDTH)

        self.history_splitter = _splitter(Qt.Orientation.Horizontal, explanation, history)
        self.results_splitter = _splitter(Qt.Orientation.Vertical, results, self.history_splitter)
        self.results_splitter.setStretchFactor(0, 4)
        self.results_splitter.setStretchFactor(1, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 8, 8, 8)
        right_layout.addWidget(self.results_splitter)

        self.splitter = _splitter(Qt.Orientation.Horizontal, scroll, right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([400, 1000])
        QVBoxLayout(tab).setContentsMargins(0, 0, 0, 0)
        tab.layout().addWidget(self.splitter)
        for key, splitter in self._splitters():
            state = settings.load_bytes(key)
            if state is not None:
                splitter.restoreState(state)

    def _splitters(self) -> tuple[tuple[str, QSplitter], ...]:
        return ((SPLITTER_KEY, self.splitter), (RESULTS_SPLITTER_KEY, self.results_splitter),
                (HISTORY_SPLITTER_KEY, self.history_splitter))

    def save(self) -> None:
        for key, splitter in self._splitters():
            settings.save_bytes(key, splitter.saveState())
