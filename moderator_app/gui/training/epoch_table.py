"""One row per epoch in the recipe's shape, beside the majority-class baseline, the best epoch
highlighted — in a warning colour when its model is degenerate (one class for nearly everything, or
no better than the baseline). With several training sources the table shows one source's metrics
or all of them together (`show_source`), chosen in EpochsBox's drop-down. A multi-label run adds a column per
category: its F1 on its known validation rows (of the chosen source too), its other figures in the tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from moderator_app.gui.common.formatting import number

COLUMNS = ("Training Loss", "Epoch", "Step", "Validation Loss", "Accuracy", "Baseline", "F1")
BASELINE_TOOLTIP = "Majority-class baseline: the accuracy of predicting the most frequent label for every row."
BEST_BACKGROUND = QColor(214, 240, 214)
BEST_TOOLTIP = "Best epoch: the lowest validation loss so far. The saved model comes from this epoch."
DEGENERATE_BACKGROUND = QColor(255, 214, 153)
DEGENERATE_FOREGROUND = QColor(110, 50, 0)


class EpochTable(QTableWidget):
    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setHighlightSections(False)
        self.horizontalHeaderItem(COLUMNS.index("Baseline")).setToolTip(BASELINE_TOOLTIP)
        self.best_epoch: int | None = None
        self.source: str | None = None  # None: every source together
        self._epochs: list[dict] = []  # what each row shows, for every source
        self._tests: tuple[str, str] | None = None  # the final model's test suites: (row text, tooltip)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Every column at least as wide as its header and values; spare width shared out evenly."""
        header = self.horizontalHeader()
        needed = [max(header.sectionSizeFromContents(column).width(), self.sizeHintForColumn(column)) + 8
                  for column in range(self.columnCount())]
        spare = max(0, self.viewport().width() - sum(needed)) // max(1, self.columnCount())
        for column, width in enumerate(needed):
            header.resizeSection(column, width + spare)

    def clear_rows(self) -> None:
        self.setRowCount(0)
        self.best_epoch = None
        self._epochs = []
        self._tests = None

    def sources(self) -> list[str]:
        """The training sources the epochs so far have metrics for (none for a single file)."""
        names: list[str] = []
        for record in self._epochs:
            names.extend(name for name in record["per_source"] if name not in names)
        return names

    def add_epoch(self, epoch: int, step: int, train_loss: float, val_loss: float, accuracy: float,
                  f1: float, baseline: float | None = None, per_source: dict | None = None,
                  warning: str | None = None, categories: dict | None = None) -> None:
        # a resumed run may repeat an epoch: replace it and what followed
        self._epochs = [record for record in self._epochs if record["epoch"] < epoch]
        self._epochs.append(dict(epoch=epoch, step=step, train_loss=train_loss, val_loss=val_loss,
                                 accuracy=accuracy, f1=f1, baseline=baseline, per_source=per_source or {},
                                 warning=warning, categories=categories or {}))
        self._render()
        self.scrollToBottom()

    def show_source(self, source: str | None) -> None:
        """Show one source's validation metrics (None: all sources together)."""
        self.source = source
        self._render()

    def categories(self) -> list[str]:
        """A multi-label run's categories, in the order the epochs give them (none for a single-label run)."""
        names: list[str] = []
        for record in self._epochs:
            names.extend(name for name in record.get("categories", {}) if name not in names)
        return names

    def _render(self) -> None:
        self.setRowCount(0)
        categories = self.categories()
        if self.columnCount() != len(COLUMNS) + len(categories):
            self.setColumnCount(len(COLUMNS) + len(categories))
            self.setHorizontalHeaderLabels([*COLUMNS, *(f"F1 {name}" for name in categories)])
            for offset, name in enumerate(categories):
                self.horizontalHeaderItem(len(COLUMNS) + offset).setToolTip(
                    f"F1 of '{name}' on the validation rows whose source labels it (at 0.5, before calibration).")
        for record in self._epochs:
            scores = record["per_source"].get(self.source) if self.source else None
            if self.source and scores is None:
                accuracy = baseline = f1 = None
            elif scores:
                accuracy, baseline, f1 = scores["accuracy"], scores["majority_baseline"], scores["f1"]
            else:
                accuracy, baseline, f1 = record["accuracy"], record["baseline"], record["f1"]
            row = self.rowCount()
            self.insertRow(row)
            values = (number(record["train_loss"]), str(record["epoch"]), str(record["step"]),
                      number(record["val_loss"]), _shown(accuracy), _shown(baseline), _shown(f1))
            by_category = ((scores or {}).get("categories", {}) if self.source else record.get("categories", {}))
            values += tuple(_shown((by_category.get(name) or {}).get("f1")) for name in categories)
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(row, column, item)
            for offset, name in enumerate(categories):
                self.item(row, len(COLUMNS) + offset).setData(Qt.ItemDataRole.UserRole,
                                                              _category_tooltip(name, by_category.get(name)))
        self._render_tests()
        self.set_best(self.best_epoch)
        self.fit_columns()

    def show_tests(self, text: str, tooltip: str = "") -> None:
        """The final model's functional test results, as the table's last row."""
        self._tests = (text, tooltip)
        self._render()
        self.scrollToBottom()

    def _render_tests(self) -> None:
        self.clearSpans()
        if self._tests is None:
            return
        row = self.rowCount()
        self.insertRow(row)
        for column in range(self.columnCount()):  # every cell an item: set_best styles them all
            self.setItem(row, column, QTableWidgetItem())
        self.item(row, 0).setText("Tests")
        self.item(row, 1).setText(self._tests[0])
        for column in (0, 1):
            self.item(row, column).setToolTip(self._tests[1])
        self.setSpan(row, 1, 1, self.columnCount() - 1)

    def warning_of(self, epoch: int | None) -> str | None:
        return next((record["warning"] for record in self._epochs if record["epoch"] == epoch), None)

    def set_best(self, epoch: int | None) -> None:
        """Highlight the best epoch: green, or a warning colour (with the warning as tooltip) when its
        model is degenerate — never shown as a success then."""
        self.best_epoch = epoch
        warning = self.warning_of(epoch)
        for row in range(self.rowCount() - (self._tests is not None)):  # not the tests row
            best = self.item(row, 1).text() == str(epoch)
            for column in range(self.columnCount()):
                item = self.item(row, column)
                font = QFont(item.font())
                font.setBold(best)
                item.setFont(font)
                if not best:
                    item.setBackground(QBrush())
                    item.setForeground(QBrush())
                    item.setToolTip(BASELINE_TOOLTIP if column < len(COLUMNS) and COLUMNS[column] == "Baseline"
                                    else item.data(Qt.ItemDataRole.UserRole) or "")
                elif warning:
                    item.setBackground(QBrush(DEGENERATE_BACKGROUND))
                    item.setForeground(QBrush(DEGENERATE_FOREGROUND))
                    item.setToolTip("Lowest validation loss, but: " + warning)
                else:
                    item.setBackground(QBrush(BEST_BACKGROUND))
                    item.setForeground(QBrush(QColor(20, 60, 20)))
                    item.setToolTip(BEST_TOOLTIP)

    def best_row(self) -> int | None:
        for row in range(self.rowCount()):
            if self.item(row, 1).text() == str(self.best_epoch):
                return row
        return None


def _shown(value: float | None) -> str:
    return "–" if value is None else number(value)


def _category_tooltip(name: str, scores: dict | None) -> str:
    """A category's figures of an epoch, on its known validation rows."""
    if not scores or not scores.get("known_rows"):
        return f"No validation row of this choice labels '{name}'."
    text = (f"'{name}' on {scores['known_rows']:,} known validation rows: precision {_shown(scores.get('precision'))}, "
            f"recall {_shown(scores.get('recall'))}, F1 {_shown(scores.get('f1'))}, AP {_shown(scores.get('ap'))}, "
            f"prevalence {_shown(scores.get('prevalence'))} (the precision of flagging every row)")
    return text + (f". Warning: {scores['warning']}" if scores.get("warning") else "")


class EpochsBox(QWidget):
    """The epoch table under a choice of training source (shown once a run has several)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = EpochTable()
        self.source_choice = QComboBox()
        self.source_choice.setToolTip("Show the validation metrics of all training sources together, or of one.")
        self.source_choice.addItem("All sources", None)
        self.source_choice.currentIndexChanged.connect(
            lambda: self.table.show_source(self.source_choice.currentData()))
        self.source_choice.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.source_choice)
        layout.addWidget(self.table, 1)

    def update_sources(self) -> None:
        """Offer each training source the table knows (hidden for a single file)."""
        names = self.table.sources()
        offered = [self.source_choice.itemData(index) for index in range(1, self.source_choice.count())]
        if names != offered:
            self.source_choice.blockSignals(True)
            while self.source_choice.count() > 1:
                self.source_choice.removeItem(1)
            for name in names:
                self.source_choice.addItem(f"Source: {name}", name)
            self.source_choice.blockSignals(False)
        self.source_choice.setVisible(bool(names))
