"""The Review tab's results table: a model/view table that stays smooth with tens of thousands of rows.

ResultsModel is a view over a core.review.session.ReviewSession, which holds the items, labels,
decisions, sort order and filter mask as numpy arrays, and the shown rows they make. The model has a
row for each shown item only: a sort or filter is one layout change, with selections moved onto their
items. (A QSortFilterProxyModel would call back into Python for every comparison and every row's
filter check: 100 ms for 20,000 rows.) ScoreBarDelegate paints the score as a coloured bar. For a
multi-label model the label column shows the categories flagged, each category's probability is
marked where it is at or over that category's threshold, and a decision shows its set of categories."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QHeaderView, QStyle, QStyledItemDelegate,
                               QStyleOptionViewItem, QTableView)

from moderator_app.core.review.decision import categories_of_text
from moderator_app.core.review.session import (SORT_DECISION, SORT_ITEM, SORT_LABEL, SORT_SCORE, SORT_TEXT,
                                               ReviewSession, probability_key)

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
EARLIER_FOREGROUND = QColor(120, 120, 120)



def score_colour(value: float, binary: bool) -> QColor:
    """Binary models: green (not flagged) through amber to red (flagged); others: one blue."""
    if not binary:
        return NEUTRAL_BAR
    value = min(max(value, 0.0), 1.0)
    low, high, t = (LOW, MIDDLE, value / 0.5) if value < 0.5 else (MIDDLE, HIGH, (value - 0.5) / 0.5)
    return QColor(round(low.red() + (high.red() - low.red()) * t), round(low.green() + (high.green() - low.green()) * t),
                  round(low.blue() + (high.blue() - low.blue()) * t))


def short_model_name(name: str) -> str:
    """The last part of a folder path or hub id."""
    return name.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] or name


def shown_label(session: ReviewSession, label: str) -> str:
    """A label as the table shows it: a multi-label model's set as "hate, offensive" (or "none")."""
    if not session.multi_label or not label:
        return label
    return ", ".join(categories_of_text(label)) or "none"


def display_text(text: str) -> str:
    short = text if len(text) <= MAX_DISPLAY_CHARS else text[:MAX_DISPLAY_CHARS] + "…"
    return short.replace("\r\n", " ⏎ ").replace("\n", " ⏎ ").replace("\r", " ⏎ ")


class ResultsModel(QAbstractTableModel):
    """The table's view of a ReviewSession: one row per shown item, in the session's order. It only
    looks values up; the session labels, sorts, filters and counts."""

    def __init__(self, session: ReviewSession, parent=None):
        super().__init__(parent)
        self.session = session

    # ------------------------------------------------------------------------------ changes
    def reset(self, change: Callable[[], Any]) -> None:
        """Apply a change that replaces the items (a new classification)."""
        self.beginResetModel()
        change()
        self.endResetModel()

    def relabel(self, threshold: float | None) -> None:
        """New labels from a threshold: the label, score and decision columns change in place, and the
        rows shown and their order when sorted or filtered by them."""
        self._relabel_with(lambda: self.session.set_threshold(threshold))

    def relabel_categories(self, thresholds: dict[str, float]) -> None:
        """A multi-label model's new per-category thresholds: its flags and marks change as relabel's labels do."""
        self._relabel_with(lambda: self.session.set_category_thresholds(thresholds))
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, FIRST_PROBABILITY_COLUMN, self.decision_column - 1)

    def _relabel_with(self, change: Callable[[], Any]) -> None:
        if self.session.threshold_moves_rows():
            self._change_rows(change)
        else:
            change()
        self._all_changed(LABEL_COLUMN, self.decision_column)

    def refresh_decisions(self) -> None:
        """The decision column changed for many rows (decisions made before were found)."""
        self._all_changed(self.decision_column, self.decision_column)

    def _all_changed(self, first_column: int, last_column: int) -> None:
        if self.session.row_count:
            self.dataChanged.emit(self.index(0, first_column), self.index(self.session.row_count - 1, last_column))

    def set_extra_columns(self, shown: list[str]) -> None:
        """Show these of the imported file's other columns after the decision."""
        self.beginResetModel()
        self.session.shown_columns = [name for name in shown if name in self.session.extra_columns]
        self.endResetModel()

    def set_decisions(self, decided: dict[int, str | None], seen: dict[int, str] | None = None) -> None:
        """Moderator labels by item (and the model's labels they were decided against); under a
        decision filter, decided rows leave (or join) the table."""
        if not decided:
            return
        if self.session.decisions_move_rows():
            self._change_rows(lambda: self.session.set_decisions(decided, seen))
            return
        self.session.set_decisions(decided, seen)
        rows = self.session.rows_of(list(decided))
        rows = rows[rows >= 0]
        if len(rows):
            self.dataChanged.emit(self.index(int(rows.min()), self.decision_column),
                                  self.index(int(rows.max()), self.decision_column))

    def set_filter(self, mode: str, label: str = "", search: str | None = None) -> None:
        self._change_rows(lambda: self.session.set_filter(mode, label, search))

    def set_search(self, search: str) -> None:
        self._change_rows(lambda: self.session.set_search(search))

    def row_of(self, item: int) -> int:
        """The row showing `item`, or -1 when the filter hides it."""
        return int(self.session.rows_of([item])[0]) if 0 <= item < self.session.count else -1

    @property
    def decision_column(self) -> int:
        return FIRST_PROBABILITY_COLUMN + len(self.session.class_names)

    def item(self, row: int) -> int:
        return self.session.item(row)

    # ------------------------------------------------------------------------------ Qt model
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else self.session.row_count

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else self.decision_column + 1 + len(self.session.shown_columns)

    def extra_column(self, column: int) -> str | None:
        """The imported file's column shown at `column`, if it is one."""
        offset = column - self.decision_column - 1
        shown = self.session.shown_columns
        return shown[offset] if 0 <= offset < len(shown) else None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        names = self.session.class_names
        if role == Qt.ItemDataRole.DisplayRole:
            fixed = {ITEM_COLUMN: "#", TEXT_COLUMN: "Text", SCORE_COLUMN: "Score",
                     LABEL_COLUMN: "Flagged" if self.session.multi_label else "Label",
                     self.decision_column: "Decision"}
            extra = self.extra_column(section)
            if extra is not None:
                return extra
            return fixed.get(section) or f"P({names[section - FIRST_PROBABILITY_COLUMN]})"
        if role == Qt.ItemDataRole.ToolTipRole:
            if section == ITEM_COLUMN:
                return "Position in the classified input (sort by it to get the input order back)"
            if section == LABEL_COLUMN and self.session.multi_label:
                return "The categories whose probability is at or over their own threshold"
            if section == SCORE_COLUMN:
                return (f"Probability of '{self.session.positive_label}'" if self.session.is_binary
                        else "The highest category probability" if self.session.multi_label
                        else "Probability of the predicted label")
            if section == self.decision_column:
                return (f"The moderator's label: {ACCEPTED_MARK} accepted the model's label, "
                        f"{RELABELLED_MARK} relabelled")
            if FIRST_PROBABILITY_COLUMN <= section < self.decision_column:
                name = names[section - FIRST_PROBABILITY_COLUMN]
                at = (f"; flagged (in bold) at {self.session.category_thresholds[name]:.2f} or more"
                      if self.session.multi_label else "")
                return f"The model's probability of '{name}'{at}"
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        session = self.session
        item = session.item(index.row())
        column = index.column()
        is_probability = FIRST_PROBABILITY_COLUMN <= column < self.decision_column
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, column)
        if role == SCORE_ROLE:
            if column == SCORE_COLUMN:
                return session.score(item)
            return session.probability(item, column - FIRST_PROBABILITY_COLUMN) if is_probability else None
        if role == COLOR_ROLE and column == SCORE_COLUMN:
            score = session.score(item)
            return None if score is None else score_colour(score, session.is_binary)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column == ITEM_COLUMN or is_probability:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == TEXT_COLUMN:
                text = session.texts[item]
                return text if len(text) <= 2000 else text[:2000] + "…"
            accepted = session.is_accepted(item)
            if column == self.decision_column and accepted is not None:
                said = shown_label(session, session.seen_label(item))
                return ("Accepted: the moderator agreed with the model" if accepted
                        else f"Relabelled by a moderator: the model said '{said}'")
            if column == self.decision_column and item in session.earlier:
                label, model = session.earlier[item]
                return f"Decided '{label}' before, with another model: {model}. Not a decision for this model."
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column == self.decision_column:
            return QBrush(EARLIER_FOREGROUND) if session.is_accepted(item) is None else None
        if role == Qt.ItemDataRole.ForegroundRole and column == LABEL_COLUMN:
            return QBrush(FLAGGED_FOREGROUND) if session.is_flagged(item) else None
        if is_probability and session.multi_label and role in (Qt.ItemDataRole.ForegroundRole,
                                                               Qt.ItemDataRole.FontRole):
            return self._category_mark(item, column - FIRST_PROBABILITY_COLUMN, role)
        if role == Qt.ItemDataRole.FontRole and column == LABEL_COLUMN:
            if session.is_flagged(item):
                font = QFont()
                font.setBold(True)
                return font
            return None
        if role == Qt.ItemDataRole.BackgroundRole and column == self.decision_column:
            accepted = session.is_accepted(item)
            if accepted is None:
                return None
            return QBrush(ACCEPTED_BACKGROUND if accepted else RELABELLED_BACKGROUND)
        return None

    def _category_mark(self, item: int, category: int, role: int) -> Any:
        """A multi-label model's category flagged for `item`: its probability red and bold."""
        if not self.session.flags[item, category]:
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(FLAGGED_FOREGROUND)
        font = QFont()
        font.setBold(True)
        return font

    def _display(self, item: int, column: int) -> str:
        session = self.session
        if column == ITEM_COLUMN:
            return str(item + 1)
        if column == TEXT_COLUMN:
            return display_text(session.texts[item])
        if column == LABEL_COLUMN:
            return shown_label(session, session.labels[item]) or "(empty text)"
        extra = self.extra_column(column)
        if extra is not None:
            return display_text(session.extra_value(item, extra))
        if column == self.decision_column:
            accepted = session.is_accepted(item)
            if accepted is None:
                if item in session.earlier:
                    label, model = session.earlier[item]
                    return f"before: {shown_label(session, label)} ({short_model_name(model)})"
                return ""
            return f"{ACCEPTED_MARK if accepted else RELABELLED_MARK} {shown_label(session, session.decisions[item])}"
        value = (session.score(item) if column == SCORE_COLUMN
                 else session.probability(item, column - FIRST_PROBABILITY_COLUMN))
        return "–" if value is None else f"{value:.3f}"

    # ------------------------------------------------------------------------------ sorting
    def sort_key(self, column: int) -> str | None:
        if column == self.decision_column:
            return SORT_DECISION
        if FIRST_PROBABILITY_COLUMN <= column < self.decision_column:
            return probability_key(column - FIRST_PROBABILITY_COLUMN)
        return {ITEM_COLUMN: SORT_ITEM, TEXT_COLUMN: SORT_TEXT, LABEL_COLUMN: SORT_LABEL,
                SCORE_COLUMN: SORT_SCORE}.get(column)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_by(self.sort_key(column), order == Qt.SortOrder.DescendingOrder)

    def sort_by(self, key: str | None, descending: bool = False) -> None:
        self._change_rows(lambda: self.session.sort(key, descending))

    def _change_rows(self, change: Callable[[], Any]) -> None:
        """Apply a change of the shown rows or their order as one layout change; selections and the
        current row stay on their items (and go where the item is hidden now)."""
        self.layoutAboutToBeChanged.emit()
        old_rows = self.session.rows
        change()
        persistent = self.persistentIndexList()
        if persistent:
            new_row = self.session.row_lookup()
            moved = []
            for index in persistent:
                row = int(new_row[old_rows[index.row()]]) if index.row() < len(old_rows) else -1
                moved.append(self.index(row, index.column()) if row >= 0 else QModelIndex())
            self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()


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
        longest = max([len(name) for name in model.session.class_names] + [10])
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

    def selected_rows(self) -> list[int]:
        return sorted(index.row() for index in self.selectionModel().selectedRows())

