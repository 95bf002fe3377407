"""The Review tab's results table: a model/view table that stays smooth with tens of thousands of rows.

ResultsModel holds the texts, the class probabilities (one numpy array), the labels and scores
decided from them and the moderators' decisions. It sorts itself with numpy (a permutation of its
rows), because QSortFilterProxyModel's own sorting would call back into Python for every
comparison. ResultsFilter, the proxy in front of it, only filters, from a mask computed with numpy
once per change of filter, labels or decisions. ScoreBarDelegate paints the score as a coloured bar."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRectF, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QHeaderView, QStyle, QStyledItemDelegate,
                               QStyleOptionViewItem, QTableView)

ITEM_COLUMN, TEXT_COLUMN, LABEL_COLUMN, SCORE_COLUMN = range(4)
FIRST_PROBABILITY_COLUMN = 4
SCORE_ROLE = Qt.ItemDataRole.UserRole + 1  # float score, or None for an empty text
COLOR_ROLE = Qt.ItemDataRole.UserRole + 2  # the score bar's colour
MAX_DISPLAY_CHARS = 300

ACCEPTED_MARK, RELABELLED_MARK = "✓", "✎"
ACCEPTED_BACKGROUND = QColor(222, 242, 222)
RELABELLED_BACKGROUND = QColor(255, 236, 204)
FLAGGED_FOREGROUND = QColor(170, 30, 30)
LOW, MIDDLE, HIGH = QColor(46, 158, 80), QColor(232, 168, 34), QColor(204, 45, 45)
NEUTRAL_BAR = QColor(62, 120, 190)

FILTER_ALL, FILTER_FLAGGED, FILTER_LABEL = "all", "flagged", "label"
FILTER_UNDECIDED, FILTER_DECIDED, FILTER_RELABELLED = "undecided", "decided", "relabelled"


def score_colour(value: float, binary: bool) -> QColor:
    """Binary models: green (not flagged) through amber to red (flagged); others: one blue."""
    if not binary:
        return NEUTRAL_BAR
    value = min(max(value, 0.0), 1.0)
    low, high, t = (LOW, MIDDLE, value / 0.5) if value < 0.5 else (MIDDLE, HIGH, (value - 0.5) / 0.5)
    return QColor(round(low.red() + (high.red() - low.red()) * t), round(low.green() + (high.green() - low.green()) * t),
                  round(low.blue() + (high.blue() - low.blue()) * t))


def display_text(text: str) -> str:
    short = text if len(text) <= MAX_DISPLAY_CHARS else text[:MAX_DISPLAY_CHARS] + "…"
    return short.replace("\r\n", " ⏎ ").replace("\n", " ⏎ ").replace("\r", " ⏎ ")


class ResultsModel(QAbstractTableModel):
    """One row per classified item. Rows are shown in `order` (a permutation of the items that
    sort() changes); every other array is indexed by item, the position in the classified input."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.texts: list[str] = []
        self.probabilities = np.zeros((0, 0), dtype=np.float32)
        self.labels: list[str] = []
        self.scores = np.zeros(0)
        self.decisions: list[str | None] = []
        self.class_names: list[str] = []
        self.positive_index: int | None = None
        self.order = np.zeros(0, dtype=np.int64)
        self.sort_column = -1
        self.sort_order = Qt.SortOrder.AscendingOrder
        self._folded: list[str] | None = None

    # ------------------------------------------------------------------------------ contents
    def set_results(self, texts: Sequence[str], probabilities: np.ndarray, labels: Sequence[str],
                    scores: np.ndarray, class_names: Sequence[str], positive_index: int | None) -> None:
        self.beginResetModel()
        self.texts = list(texts)
        self.probabilities = np.asarray(probabilities)
        self.labels = list(labels)
        self.scores = np.asarray(scores, dtype=np.float64)
        self.decisions = [None] * len(self.texts)
        self.class_names = list(class_names)
        self.positive_index = positive_index
        self.order = np.arange(len(self.texts), dtype=np.int64)
        self._folded = None
        if self.sort_column >= self.columnCount():
            self.sort_column = -1
        if self.sort_column >= 0:
            self.order = self._sorted_order(self.sort_column, self.sort_order)
        self.endResetModel()

    def clear(self) -> None:
        self.set_results([], np.zeros((0, len(self.class_names)), dtype=np.float32), [], np.zeros(0),
                         self.class_names, self.positive_index)

    def set_predictions(self, labels: Sequence[str], scores: np.ndarray) -> None:
        """New labels (a threshold moved): the label, score and decision columns change in place."""
        self.labels = list(labels)
        self.scores = np.asarray(scores, dtype=np.float64)
        if not self.texts:
            return
        if self.sort_column in (LABEL_COLUMN, self.decision_column):
            self.sort(self.sort_column, self.sort_order)
        self.dataChanged.emit(self.index(0, LABEL_COLUMN), self.index(len(self.texts) - 1, self.decision_column))

    def set_decisions(self, decided: dict[int, str]) -> None:
        """Moderator labels by item."""
        if not decided:
            return
        for item, label in decided.items():
            self.decisions[item] = label
        rows = self.rows_of(list(decided))
        self.dataChanged.emit(self.index(int(rows.min()), self.decision_column),
                              self.index(int(rows.max()), self.decision_column))

    @property
    def is_binary(self) -> bool:
        return self.positive_index is not None

    @property
    def positive_label(self) -> str | None:
        return None if self.positive_index is None else self.class_names[self.positive_index]

    @property
    def decision_column(self) -> int:
        return FIRST_PROBABILITY_COLUMN + len(self.class_names)

    def item(self, row: int) -> int:
        return int(self.order[row])

    def rows_of(self, items: Sequence[int]) -> np.ndarray:
        inverse = np.empty_like(self.order)
        inverse[self.order] = np.arange(len(self.order))
        return inverse[np.asarray(items, dtype=np.int64)]

    def folded_texts(self) -> list[str]:
        if self._folded is None:
            self._folded = [text.casefold() for text in self.texts]
        return self._folded

    # ------------------------------------------------------------------------------ Qt model
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.texts)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else FIRST_PROBABILITY_COLUMN + len(self.class_names) + 1

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if section == ITEM_COLUMN:
                return "#"
            if section == TEXT_COLUMN:
                return "Text"
            if section == LABEL_COLUMN:
                return "Label"
            if section == SCORE_COLUMN:
                return "Score"
            if section == self.decision_column:
                return "Decision"
            return f"P({self.class_names[section - FIRST_PROBABILITY_COLUMN]})"
        if role == Qt.ItemDataRole.ToolTipRole:
            if section == ITEM_COLUMN:
                return "Position in the classified input (sort by it to get the input order back)"
            if section == SCORE_COLUMN:
                return (f"Probability of '{self.positive_label}'" if self.is_binary
                        else "Probability of the predicted label")
            if section == self.decision_column:
                return (f"The moderator's label: {ACCEPTED_MARK} accepted the model's label, "
                        f"{RELABELLED_MARK} relabelled")
            if FIRST_PROBABILITY_COLUMN <= section < self.decision_column:
                return f"The model's probability of '{self.class_names[section - FIRST_PROBABILITY_COLUMN]}'"
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = int(self.order[index.row()])
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, column)
        if role == SCORE_ROLE:
            if column == SCORE_COLUMN:
                score = float(self.scores[item])
                return None if math.isnan(score) else score
            if FIRST_PROBABILITY_COLUMN <= column < self.decision_column:
                value = float(self.probabilities[item, column - FIRST_PROBABILITY_COLUMN])
                return None if math.isnan(value) else value
            return None
        if role == COLOR_ROLE and column == SCORE_COLUMN:
            score = float(self.scores[item])
            return None if math.isnan(score) else score_colour(score, self.is_binary)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column == ITEM_COLUMN or FIRST_PROBABILITY_COLUMN <= column < self.decision_column:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == TEXT_COLUMN:
                text = self.texts[item]
                return text if len(text) <= 2000 else text[:2000] + "…"
            if column == self.decision_column and self.decisions[item] is not None:
                decision, label = self.decisions[item], self.labels[item]
                return ("Accepted: the moderator agreed with the model" if decision == label
                        else f"Relabelled by a moderator: the model said '{label}'")
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column == LABEL_COLUMN:
            if self.is_binary and self.labels[item] == self.positive_label:
                return QBrush(FLAGGED_FOREGROUND)
            return None
        if role == Qt.ItemDataRole.FontRole and column == LABEL_COLUMN:
            if self.is_binary and self.labels[item] == self.positive_label:
                font = QFont()
                font.setBold(True)
                return font
            return None
        if role == Qt.ItemDataRole.BackgroundRole and column == self.decision_column:
            decision = self.decisions[item]
            if decision is None:
                return None
            return QBrush(ACCEPTED_BACKGROUND if decision == self.labels[item] else RELABELLED_BACKGROUND)
        return None

    def _display(self, item: int, column: int) -> str:
        if column == ITEM_COLUMN:
            return str(item + 1)
        if column == TEXT_COLUMN:
            return display_text(self.texts[item])
        if column == LABEL_COLUMN:
            return self.labels[item] or "(empty text)"
        if column == SCORE_COLUMN:
            score = float(self.scores[item])
            return "–" if math.isnan(score) else f"{score:.3f}"
        if column == self.decision_column:
            decision = self.decisions[item]
            if decision is None:
                return ""
            return f"{ACCEPTED_MARK if decision == self.labels[item] else RELABELLED_MARK} {decision}"
        value = float(self.probabilities[item, column - FIRST_PROBABILITY_COLUMN])
        return "–" if math.isnan(value) else f"{value:.3f}"

    # ------------------------------------------------------------------------------ sorting
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_column, self.sort_order = column, order
        if not self.texts or column < 0 or column >= self.columnCount():
            return
        new_order = self._sorted_order(column, order)
        self.layoutAboutToBeChanged.emit()
        new_rows = np.empty_like(new_order)
        new_rows[new_order] = np.arange(len(new_order))  # item -> new row
        persistent = self.persistentIndexList()
        moved = [self.index(int(new_rows[self.order[index.row()]]), index.column()) for index in persistent]
        self.order = new_order
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def _sorted_order(self, column: int, order: Qt.SortOrder) -> np.ndarray:
        count = len(self.texts)
        descending = order == Qt.SortOrder.DescendingOrder
        if column == TEXT_COLUMN:
            folded = self.folded_texts()
            items = sorted(range(count), key=folded.__getitem__, reverse=descending)
            return np.asarray(items, dtype=np.int64)
        if column in (LABEL_COLUMN, self.decision_column):
            values = self.labels if column == LABEL_COLUMN else [decision or "" for decision in self.decisions]
            # by label, then by score within a label (empty texts and undecided rows last)
            missing = [value == "" for value in values]
            items = sorted(range(count), key=lambda item: (values[item], -self._score_key(item)), reverse=descending)
            items.sort(key=missing.__getitem__)
            return np.asarray(items, dtype=np.int64)
        if column == ITEM_COLUMN:
            keys = np.arange(count, dtype=np.float64)
        elif column == SCORE_COLUMN:
            keys = self.scores.astype(np.float64)
        else:
            keys = self.probabilities[:, column - FIRST_PROBABILITY_COLUMN].astype(np.float64)
        nan = np.isnan(keys)
        keys = np.where(nan, 0.0, keys)
        ranked = np.argsort(-keys if descending else keys, kind="stable")
        return np.concatenate([ranked[~nan[ranked]], ranked[nan[ranked]]]).astype(np.int64)  # NaN last

    def _score_key(self, item: int) -> float:
        score = float(self.scores[item])
        return -1.0 if math.isnan(score) else score


class ResultsFilter(QSortFilterProxyModel):
    """Filters rows by a mode (all, flagged, a label, undecided, decided, relabelled) and a search
    text; sorting is passed on to the source model."""

    def __init__(self, source: ResultsModel, parent=None):
        super().__init__(parent)
        self.setSourceModel(source)
        self.source = source
        self.setDynamicSortFilter(False)  # refresh() re-filters when labels or decisions change
        self.mode = FILTER_ALL
        self.label = ""
        self.search = ""
        self._mask: np.ndarray | None = None
        source.modelReset.connect(self._on_reset)

    def set_filter(self, mode: str, label: str = "", search: str | None = None) -> None:
        self.mode, self.label = mode, label
        if search is not None:
            self.search = search
        self.refresh()

    def set_search(self, search: str) -> None:
        self.search = search
        self.refresh()

    def depends_on_labels(self) -> bool:
        return self.mode in (FILTER_FLAGGED, FILTER_LABEL, FILTER_RELABELLED)

    def depends_on_decisions(self) -> bool:
        return self.mode in (FILTER_UNDECIDED, FILTER_DECIDED, FILTER_RELABELLED)

    def refresh(self) -> None:
        self._mask = self._compute_mask()
        self.invalidateFilter()

    def _on_reset(self) -> None:
        self._mask = self._compute_mask()

    def _compute_mask(self) -> np.ndarray | None:
        source = self.source
        count = len(source.texts)
        if self.mode == FILTER_ALL and not self.search:
            return None
        mask = np.ones(count, dtype=bool)
        if self.mode == FILTER_FLAGGED:
            wanted = source.positive_label
            mask = np.fromiter((label == wanted for label in source.labels), dtype=bool, count=count) \
                if wanted is not None else np.zeros(count, dtype=bool)
        elif self.mode == FILTER_LABEL:
            mask = np.fromiter((label == self.label for label in source.labels), dtype=bool, count=count)
        elif self.mode == FILTER_UNDECIDED:
            mask = np.fromiter((decision is None for decision in source.decisions), dtype=bool, count=count)
        elif self.mode == FILTER_DECIDED:
            mask = np.fromiter((decision is not None for decision in source.decisions), dtype=bool, count=count)
        elif self.mode == FILTER_RELABELLED:
            mask = np.fromiter((decision is not None and decision != label
                                for decision, label in zip(source.decisions, source.labels)), dtype=bool, count=count)
        if self.search:
            needle = self.search.casefold()
            mask &= np.fromiter((needle in text for text in source.folded_texts()), dtype=bool, count=count)
        return mask

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        mask = self._mask
        return True if mask is None else bool(mask[self.source.order[source_row]])

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.source.sort(column, order)

    def item(self, proxy_row: int) -> int:
        return self.source.item(self.mapToSource(self.index(proxy_row, 0)).row())

    def proxy_row(self, item: int) -> int:
        source_row = int(self.source.rows_of([item])[0])
        return self.mapFromSource(self.source.index(source_row, 0)).row()


class ScoreBarDelegate(QStyledItemDelegate):
    """A horizontal bar as long as the score, coloured by it, with the number over it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        value = index.data(SCORE_ROLE)
        rect = QRectF(option.rect.adjusted(4, 4, -4, -4))
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if value is not None and rect.width() > 0:
            colour = index.data(COLOR_ROLE) or NEUTRAL_BAR
            track = QColor(colour)
            track.setAlpha(40)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(track)
            painter.drawRoundedRect(rect, 3, 3)
            bar = QRectF(rect)
            bar.setWidth(max(2.0, rect.width() * min(max(value, 0.0), 1.0)))
            painter.setBrush(colour)
            painter.drawRoundedRect(bar, 3, 3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setPen(QPen(opt.palette.highlightedText().color() if selected and value is None
                            else QColor(20, 20, 20)))
        painter.drawText(rect.adjusted(4, 0, -4, 0), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                         text)
        painter.restore()


class ResultsView(QTableView):
    """The table: rows selected whole, sortable by any column, long texts elided."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setSortingEnabled(True)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setHighlightSections(False)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.score_delegate = ScoreBarDelegate(self)
        self.key_handler = None  # callable(QKeyEvent) -> bool: True when it handled the key

    def configure_columns(self, model: ResultsModel) -> None:
        """Delegate and widths for the model's columns (they change with the number of labels)."""
        metrics = self.fontMetrics()
        for column in range(model.columnCount()):
            self.setItemDelegateForColumn(column, None)
        self.setItemDelegateForColumn(SCORE_COLUMN, self.score_delegate)
        header = self.horizontalHeader()
        header.setSectionResizeMode(TEXT_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.setColumnWidth(ITEM_COLUMN, metrics.horizontalAdvance("000000") + 12)
        longest = max([len(name) for name in model.class_names] + [10])
        self.setColumnWidth(LABEL_COLUMN, metrics.horizontalAdvance("M" * min(longest, 18)) + 8)
        self.setColumnWidth(SCORE_COLUMN, metrics.horizontalAdvance("0.000") + 90)
        for column in range(FIRST_PROBABILITY_COLUMN, model.decision_column):
            title = str(model.headerData(column, Qt.Orientation.Horizontal))
            self.setColumnWidth(column, max(metrics.horizontalAdvance(title), metrics.horizontalAdvance("0.000")) + 28)
        self.setColumnWidth(model.decision_column, metrics.horizontalAdvance("✎ " + "M" * min(longest, 14)) + 12)

    def keyPressEvent(self, event) -> None:
        """Keys the Review tab binds (accept, relabel) come before the view's own letter search."""
        if self.key_handler is not None and self.key_handler(event):
            event.accept()
            return
        super().keyPressEvent(event)

    def selected_proxy_rows(self) -> list[int]:
        return sorted(index.row() for index in self.selectionModel().selectedRows())

