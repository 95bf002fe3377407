"""The Review tab's results: filters and search, the threshold slider (binary models; a multi-label
model's, per category: category_threshold_control.py), the decision buttons and keys (a multi-label
model's: a checkbox per category, category_choice.py), the "Columns" menu (columns_button.py) and the
table, all over one core.review.session.ReviewSession."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget
from superqt.utils import qdebounced

from moderator_app.core.review.queues import QueueState
from moderator_app.core.review.session import FILTER_ALL, SORT_ITEM, SORT_SCORE, SORT_UNCERTAINTY, ReviewSession
from moderator_app.gui.common import dialogs
from moderator_app.gui.review.category_choice import CategoryChoice
from moderator_app.gui.review.category_threshold_control import CategoryThresholdControl
from moderator_app.gui.review.columns_button import ColumnsButton
from moderator_app.gui.review.decision_buttons import RelabelButtons
from moderator_app.gui.review.decision_note import DecisionNoteBar
from moderator_app.gui.review.filter_choices import fill_filters, filter_key  # noqa: F401 (filter_key: named here too)
from moderator_app.gui.review.input_panel import is_ctrl_enter
from moderator_app.gui.review.results_table import ResultsModel, ResultsView
from moderator_app.gui.review.threshold_control import ThresholdControl

SEARCH_DELAY_MS = 150  # filter once typing pauses, not on every key
ORDERS = [("Least sure first", SORT_UNCERTAINTY, False), ("Highest score first", SORT_SCORE, True),
          ("File order", SORT_ITEM, False)]


class ResultsPanel(QWidget):
    decide_requested = Signal(object)  # None: accept the model's label; a label: relabel as it
    undo_requested = Signal()
    view_changed = Signal()  # order, filter, search, columns or the selected row: worth saving
    threshold_changed = Signal()
    selection_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = ReviewSession()
        self.model = ResultsModel(self.session, self)
        self.table = ResultsView()
        self.table.setModel(self.model)
        self.table.configure_columns(self.model)
        self.table.selectionModel().selectionChanged.connect(self.selection_changed)
        self.table.horizontalHeader().sortIndicatorChanged.connect(self._on_header_sorted)
        self.table.key_handler = self._on_table_key
        self.key_labels: list[str] = []  # number key n relabels as key_labels[n - 1]
        self.generation = 0  # counts tables: an answer for an earlier one is not applied to this one
        self.results_handle = None  # the model of the table (a ModelHandle)

        self.filter_combo = QComboBox()
        self.filter_combo.setToolTip("Show only some rows")
        self.filter_combo.currentIndexChanged.connect(self._apply_filter)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the texts…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._apply_search)
        self.threshold = ThresholdControl()
        self.threshold.changed.connect(self._on_threshold_moved)
        self.threshold_slider, self.threshold_label = self.threshold.slider, self.threshold.value_label
        self.validation_label = self.threshold.validation_label
        self.category_threshold = CategoryThresholdControl()  # a multi-label model's, per category
        self.category_threshold.changed.connect(self._on_category_thresholds_moved)
        self.stats = QLabel()
        self.stats.setStyleSheet("color: #555;")
        self.order_combo = QComboBox()
        self.order_combo.setToolTip("The order to review in; clicking a column header sorts by it instead")
        self.order_combo.setPlaceholderText("Sorted by a column")  # shown while a header click sets the order
        for title, key, descending in ORDERS:
            self.order_combo.addItem(title, (key, descending))
        self.order_combo.activated.connect(self._apply_order)
        self.columns_button = ColumnsButton()
        self.columns_button.chosen.connect(self._columns_chosen)
        filters = QHBoxLayout()
        filters.addWidget(self.order_combo)
        filters.addWidget(self.filter_combo)
        filters.addWidget(self.search, 1)
        filters.addSpacing(12)
        filters.addWidget(self.threshold)
        filters.addWidget(self.category_threshold)
        filters.addSpacing(12)
        filters.addWidget(self.columns_button)
        filters.addWidget(self.stats)

        self.relabel = RelabelButtons()
        self.relabel.decide_requested.connect(self.request_decision)
        self.accept_button = self.relabel.accept_button
        self.category_choice = CategoryChoice()  # a multi-label model's decision
        self.category_choice.evaluate_requested.connect(
            lambda: self.category_choice.open_evaluation(self.session, self.results_handle, self.threshold_changed))
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self.category_choice.show_selected(self.session, self.selected_items()))
        self.decision_hint = QLabel()
        self.decision_hint.setStyleSheet("color: #666;")
        self.decision_hint.setWordWrap(True)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo your last decision (Ctrl+Z in the table): recorded as a revert, "
                                    "the decision stays in the log")
        self.undo_button.clicked.connect(self.undo_requested)
        self.undo_button.setEnabled(False)
        self.next_button = QPushButton("Next undecided")
        self.next_button.setToolTip("Select the next row nobody has decided yet (Space or J)")
        self.next_button.clicked.connect(self.select_next_undecided)
        self.note_bar = DecisionNoteBar()
        self.category_combo, self.note_edit = self.note_bar.category_combo, self.note_bar.note_edit
        decide = QHBoxLayout()
        decide.addWidget(self.relabel)
        decide.addWidget(self.category_choice)
        decide.addWidget(self.undo_button)
        decide.addWidget(self.next_button)
        decide.addSpacing(8)
        decide.addWidget(self.note_bar, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(filters)
        layout.addLayout(decide)
        layout.addWidget(self.decision_hint)
        layout.addWidget(self.table, 1)
        self.configure_for_labels([], None)

    # ------------------------------------------------------------------------------ contents
    def show_results(self, texts: list[str], probabilities, class_names: list[str], positive_index: int | None,
                     decide, columns: list[str] | None = None, extras: list[list[str]] | None = None,
                     shown_columns: list[str] | None = None, category_thresholds: dict | None = None) -> None:
        """A new classification: labelled at the slider's threshold (a multi-label model: at its
        `category_thresholds`), under the filter and sort in use; `columns` and `extras` are an imported
        file's other columns, `shown_columns` those to show."""
        threshold = self.threshold_value() if positive_index is not None else None
        self.generation += 1

        def load() -> None:
            self.session.load(texts, probabilities, class_names, positive_index, decide, threshold,
                              category_thresholds)
            if columns:
                self.session.set_extras(columns, extras or [])
                self.session.shown_columns = [name for name in shown_columns or columns if name in columns]

        self.model.reset(load)
        self.columns_button.set_columns(self.session.extra_columns, self.session.shown_columns)
        self.table.configure_columns(self.model)
        self.update_stats()
        self.update_enabled()

    def show_classified(self, result, items, restore: QueueState | None) -> None:
        """A workspace's results (core.review.workspace.Shown's `result` and `items`) in the table, in
        `restore`'s order, filter and columns, exactly one row selected: where the moderator left off,
        else (no `restore`: the same items classified again) the row selected before, else the first."""
        handle = self.results_handle = result.handle
        selected = self.selected_items()
        kept = self.session.texts[selected[0]] if selected else None
        shown = restore.shown_columns if restore is not None else self.session.shown_columns
        self.show_results(result.texts, result.probabilities, handle.info.labels, handle.classifier.positive_index,
                          handle.classifier.decide, items.columns, items.extras, shown or items.columns,
                          self.category_thresholds(handle) if handle.classifier.multi_label else None)
        if restore is not None:
            self.set_filter_value(restore.filter, restore.search)
            self.sort_by(restore.sort_key, restore.descending)
        position = restore.position if restore is not None else (
            result.texts.index(kept) if kept is not None and kept in result.texts else -1)
        if 0 <= position < len(result.texts) and self.model.row_of(position) >= 0:
            self.select_item(position)
        elif self.model.rowCount():
            self.select_row(0)

    def view_state(self) -> QueueState:
        """Where the moderator is: threshold(s) the table flags by, filter, search, order, item, columns."""
        session, rows = self.session, self.table.selected_rows()
        return QueueState(threshold=self.threshold_value() if session.is_binary else None,
                          filter=self.filter_value(), search=self.search.text(), sort_key=session.sort_key,
                          descending=session.descending, position=self.model.item(rows[0]) if rows else 0,
                          shown_columns=list(session.shown_columns),
                          category_thresholds=dict(session.category_thresholds) if session.multi_label else None)

    def apply_decisions(self, decided: dict[int, str | None], seen: dict[int, str] | None = None) -> None:
        """Moderator labels by item, with the model's labels they were decided against (the log's)."""
        self.model.set_decisions(decided, seen)
        self.update_stats()
        self.category_choice.show_selected(self.session, self.selected_items())

    def show_earlier(self, found: dict[str, tuple[str, str]]) -> None:
        """Decisions made with other models (text -> (label, model name)), shown as "decided before"."""
        self.session.set_earlier(found)
        self.model.refresh_decisions()

    # ------------------------------------------------------------------------------ order and view
    def _apply_order(self, *_args) -> None:
        key, descending = self.order_combo.currentData()
        self.sort_by(key, descending)

    def sort_by(self, key: str | None, descending: bool = False) -> None:
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.model.sort_by(key, descending)
        index = next((number for number, (_title, order_key, _) in enumerate(ORDERS) if order_key == key), -1)
        self.order_combo.setCurrentIndex(index)
        self.view_changed.emit()

    def _on_header_sorted(self, section: int, _order) -> None:
        if section >= 0:
            self.order_combo.setCurrentIndex(-1)  # a column's order, not one of ORDERS
            self.view_changed.emit()

    def select_next_undecided(self) -> bool:
        """Select the next undecided row after the current one (wrapping round); False when none is left."""
        rows = self.table.selected_rows()
        row = self.session.next_undecided(rows[-1] if rows else -1)
        if row is None:
            return False
        self.select_item(self.session.item(row))
        return True

    def _columns_chosen(self, shown: list[str]) -> None:
        self.model.set_extra_columns(shown)
        self.table.configure_columns(self.model)
        self.view_changed.emit()

    def take_note(self) -> tuple[str, str]:
        return self.note_bar.take_note()

    def selected_items(self) -> list[int]:
        return [self.model.item(row) for row in self.table.selected_rows()]

    def item_after_selection(self) -> int | None:
        """The item below the last selected row in the current order (decisions move on to it), if any."""
        rows = self.table.selected_rows()
        if rows and rows[-1] + 1 < self.model.rowCount():
            return self.model.item(rows[-1] + 1)
        return None

    def select_item(self, item: int) -> None:
        """Select `item`'s row, and only it (also while Ctrl or Shift is held, as during Ctrl+Z)."""
        row = self.model.row_of(item)
        if row >= 0:
            self.select_row(row)

    def select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index)

    def select_after_decision(self, next_item: int | None, decided: list[int]) -> None:
        """One row selected after a decision: the next one in the current order; at the end of the
        table (or when the filter hid it), the last decided row still shown, else the last row."""
        if next_item is not None and self.model.row_of(next_item) >= 0:
            self.select_item(next_item)
            return
        shown = [row for row in self.session.rows_of(decided) if row >= 0] if decided else []
        if shown:
            self.select_row(int(max(shown)))
        elif self.model.rowCount():
            self.select_row(self.model.rowCount() - 1)

    def request_decision(self, moderator_label: str | None) -> None:
        """A key or button decides the selected rows; several rows are decided only once confirmed, so
        that a selection left over (after a shift-click, say) is never decided by accident."""
        count = len(self.table.selected_rows())
        if self.session.multi_label and moderator_label is None:  # the categories ticked (None: the model's)
            chosen = self.category_choice.decision()
            moderator_label = None if chosen is None else self.session.category_set_label(chosen)
        if count > 1:
            what = ("accept the model's label for" if moderator_label is None
                    else f"label as '{moderator_label}'")
            if not dialogs.confirm(self, "Decide several rows", f"{count:,} rows are selected: {what} all "
                                   f"{count:,} of them?", f"Decide {count:,} rows", "Cancel"):
                return
        self.decide_requested.emit(moderator_label)

    def update_enabled(self) -> None:
        has_rows = self.session.count > 0
        for widget in [self.accept_button, self.relabel.menu_button, self.next_button, self.category_choice,
                       *self.label_buttons]:
            widget.setEnabled(has_rows)

    def update_stats(self) -> None:
        counts = self.session.counts()
        if not counts.total:
            self.stats.setText("")
            return
        parts = [f"{counts.total:,} items"]
        if counts.flagged is not None:
            parts.append(f"{counts.flagged:,} flagged")
        parts.append(f"{counts.decided:,} decided")
        if counts.shown != counts.total:
            parts.append(f"{counts.shown:,} shown")
        self.stats.setText(" · ".join(parts))

    # ------------------------------------------------------------------------------ threshold
    def threshold_value(self) -> float:
        return self.threshold.value()

    def set_threshold(self, value: float) -> None:
        self.threshold.set_value(value)

    def set_operating_point(self, point) -> None:
        """The loaded model's OperatingPoint (None without one): its validation precision and recall are
        shown beside the slider."""
        self.threshold.set_operating_point(point)

    def _on_threshold_moved(self) -> None:
        if self.session.is_binary:
            self.model.relabel(self.threshold_value())
        self.update_stats()
        self.threshold_changed.emit()

    def category_thresholds(self, handle) -> dict[str, float]:
        """The thresholds in use for `handle`'s multi-label model (the model's own for a category not set
        here); {} for other models."""
        in_use = self.category_threshold.thresholds()
        return {name: in_use.get(name, own) for name, own in handle.classifier.category_thresholds.items()}

    def _on_category_thresholds_moved(self) -> None:
        """A category's threshold moved: its flags, marks, filter and the undecided row's boxes follow."""
        thresholds = self.category_threshold.thresholds()
        if self.session.multi_label and set(thresholds) == set(self.session.class_names):
            self.model.relabel_categories(thresholds)
            self.category_choice.follow_thresholds(self.session, self.selected_items())
        self.update_stats()
        self.threshold_changed.emit()

    # ------------------------------------------------------------------------------ filters
    def _apply_filter(self, *_args) -> None:
        mode, _, label = (self.filter_combo.currentData() or FILTER_ALL).partition(":")
        self.model.set_filter(mode, label)
        self.update_stats()
        self.view_changed.emit()

    def filter_value(self) -> str:
        return self.filter_combo.currentData() or FILTER_ALL

    def set_filter_value(self, key: str, search: str = "") -> None:
        index = self.filter_combo.findData(key)
        self.filter_combo.setCurrentIndex(max(index, 0))
        self.search.setText(search)
        self.model.set_search(search.strip())
        self.update_stats()

    @qdebounced(timeout=SEARCH_DELAY_MS)
    def _apply_search(self, text: str) -> None:
        self.model.set_search(text.strip())
        self.update_stats()
        self.view_changed.emit()

    # ------------------------------------------------------------------------------ labels
    def configure_for_model(self, handle) -> None:
        """configure_for_labels for a loaded model (a ModelHandle)."""
        classifier = handle.classifier
        self.configure_for_labels(handle.info.labels, classifier.positive_index,
                                  classifier.category_thresholds if classifier.multi_label else None,
                                  classifier.operating_point)

    def configure_for_labels(self, labels: list[str], positive_index: int | None,
                             category_thresholds: dict | None = None, operating_point=None) -> None:
        """Filters, threshold, relabel buttons and their number keys for a model's labels; for a
        multi-label model (`category_thresholds`, the model's, and its saved `operating_point`) category
        filters, a threshold per category and a checkbox per category instead."""
        multi_label = category_thresholds is not None
        binary = positive_index is not None and not multi_label
        fill_filters(self.filter_combo, labels, labels[positive_index] if binary else None, multi_label)
        self._apply_filter()

        self.threshold.configure(labels[positive_index] if binary else None)
        self.category_threshold.set_model(category_thresholds, operating_point)
        self.category_choice.set_categories(labels if multi_label else [], category_thresholds)
        self._make_label_buttons([] if multi_label else labels)
        if multi_label:
            self.decision_hint.setText(self.category_choice.key_hint())
        self.accept_button.setText("Record (A)" if multi_label else "Accept (A)")
        self.update_enabled()

    @property
    def label_buttons(self) -> list[QPushButton]:
        return self.relabel.label_buttons

    def _make_label_buttons(self, labels: list[str]) -> None:
        self.key_labels = self.relabel.set_labels(labels)
        keys = ", ".join(f"{number} {label}" for number, label in enumerate(self.key_labels, 1))
        self.decision_hint.setText(f"Keys: A or Ctrl+Enter accepts; {keys} relabels the selected rows; Space or J "
                                   "goes to the next undecided; Ctrl+Z undoes." if labels else "")

    def _on_table_key(self, event: QKeyEvent) -> bool:
        """A or Ctrl+Enter accepts the selected rows; 1..9 relabels them as the model's n-th label; Space
        or J moves to the next undecided row; Ctrl+Z undoes the last decision."""
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if event.key() == Qt.Key.Key_Z and modifiers == Qt.KeyboardModifier.ControlModifier:
            self.undo_requested.emit()
            return True
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_J) and modifiers == Qt.KeyboardModifier.NoModifier:
            self.select_next_undecided()
            return True
        if is_ctrl_enter(event) or (event.key() == Qt.Key.Key_A and modifiers == Qt.KeyboardModifier.NoModifier):
            self.request_decision(None)
            return True
        if modifiers == Qt.KeyboardModifier.NoModifier and Qt.Key.Key_1 <= event.key() <= Qt.Key.Key_9:
            number = event.key() - Qt.Key.Key_0
            if self.session.multi_label:  # a category's box, ticked or unticked
                return self.category_choice.toggle(number - 1)
            if number <= len(self.key_labels):
                self.request_decision(self.key_labels[number - 1])
                return True
        return False
