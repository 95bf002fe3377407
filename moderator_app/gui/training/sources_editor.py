"""The training form's "More sources" editor (issue 13): the run's extra training files, each with its
own text and label columns, weight, row cap, label map and vote-count columns (core/training/votes). The label-map table lists each value of the
file's label column with its number of rows; each maps to one of the run's labels, stays as it is, or
is dropped (null). Files are read on BackgroundTasks by core (`core/training/source_values`). A multi-label run
(issue 27) names its categories above the list; each source then says how it labels each category
(`category_rules_editor`) instead of a label column and map."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QListWidget, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from moderator_app.core.errors import UserError, describe_failure
from moderator_app.core.evaluation.label_map import parse_label_map
from moderator_app.core.training.source_values import SourceValues, file_columns, source_values
from moderator_app.core.sources import parse_vote_columns
from moderator_app.gui.common.errors import setting_label_for_gui
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.training.category_rules_editor import CategoryRulesTable

KEEP, DROP = "(keep as is)", "(drop)"
DATA_FILTER = "Data files (*.csv *.tsv *.txt *.jsonl *.json *.parquet);;All files (*)"


class SourcesEditor(QWidget):
    changed = Signal()  # a source was added, removed or edited

    def __init__(self, tasks: BackgroundTasks, parent: QWidget | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.entries: list[dict[str, Any]] = []
        self.run_labels: list[str] = []
        self.values_of: dict[tuple, SourceValues] = {}
        self.columns_of: dict[str, list[str]] = {}  # a multi-label source's file columns
        # a source without its own columns is read with the training file's (core's rule); one added here
        # gets the columns guessed from its own header once read (`guessing` holds their ids until then)
        self.inherited = {"text_column": "", "label_column": ""}
        self.guessing: set[int] = set()
        self._filling = False

        self.categories_edit = QLineEdit()  # a multi-label run's categories, comma-separated
        self.categories_edit.setPlaceholderText("none: one label per row; for a multi-label run e.g. hate, offensive")
        self.categories_edit.setToolTip("A multi-label run scores several categories at once; each source below "
                                        "then says how it labels each one (a category it does not label is unknown "
                                        "for its rows). Every training file is then a source here.")
        self.category_rules = CategoryRulesTable()
        self.list = QListWidget()
        self.list.setMaximumHeight(90)
        self.add_button = QPushButton("Add…")
        self.remove_button = QPushButton("Remove")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.text_column, self.label_column = QComboBox(), QComboBox()
        self.weight = QDoubleSpinBox()
        self.weight.setRange(0.01, 100.0)
        self.weight.setSingleStep(0.1)
        self.score_threshold = QDoubleSpinBox()  # for a label column of 0–1 scores: rows at or above are 1
        self.score_threshold.setRange(0.01, 0.99)
        self.score_threshold.setSingleStep(0.05)
        self.score_threshold.setToolTip("For a label column of 0–1 scores: a score at or above it is 1, below it 0.")
        self.max_rows = QSpinBox()
        self.max_rows.setRange(1, 100_000_000)
        self.max_rows.setSpecialValueText("all rows")  # 1 (below max_rows' minimum of 2) means no cap
        self.map_table = QTableWidget(0, 3)
        self.map_table.setHorizontalHeaderLabels(["Value", "Rows", "Maps to"])
        self.map_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.map_table.verticalHeader().hide()
        self.map_status = QLabel()
        self.vote_columns = QLineEdit()  # JSON, as in a config file; core's validation names what is wrong
        self.vote_columns.setPlaceholderText('none; e.g. {"hate_speech": "hate", "neither": "not-hate"}')
        self.vote_columns.setToolTip("Columns holding annotators' vote counts per class, each mapped to the run's "
                                     "label it counts for (null: not counted). Train on the vote shares, or drop "
                                     "rows whose votes are split, with Votes.")
        self.votes = QComboBox()
        for text, mode in (("Soft targets: the vote shares", ""), ("Leave out rows with split votes", "drop_split"),
                           ("The label column only", "majority")):
            self.votes.addItem(text, mode)

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        self.detail = QWidget()
        detail = QFormLayout(self.detail)
        detail.setContentsMargins(0, 0, 0, 0)
        detail.addRow("Text column", self.text_column)
        detail.addRow("Label column", self.label_column)
        detail.addRow("Weight", self.weight)
        detail.addRow("Max rows", self.max_rows)
        detail.addRow("Score threshold", self.score_threshold)
        detail.addRow("Label map", self.map_status)
        detail.addRow(self.map_table)
        detail.addRow("Vote columns", self.vote_columns)
        detail.addRow("Votes", self.votes)
        detail.addRow("Categories", self.category_rules)
        self.detail_form = detail
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        categories = QFormLayout()
        categories.addRow("Categories", self.categories_edit)
        layout.addLayout(categories)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.detail)

        self.add_button.clicked.connect(self.browse)
        self.remove_button.clicked.connect(self.remove_selected)
        self.list.currentRowChanged.connect(self._show)
        self.text_column.activated.connect(lambda: self._column_chosen("text_column", self.text_column))
        self.label_column.activated.connect(lambda: self._column_chosen("label_column", self.label_column))
        self.weight.valueChanged.connect(lambda value: self._edit("weight", float(value)))
        self.score_threshold.valueChanged.connect(self._threshold_chosen)
        self.max_rows.valueChanged.connect(lambda value: self._edit("max_rows", value if value > 1 else None))
        self.vote_columns.editingFinished.connect(self._vote_columns_edited)
        self.votes.activated.connect(lambda: self._edit("votes", self.votes.currentData() or None))
        self.categories_edit.editingFinished.connect(self._categories_edited)
        self.category_rules.rules_changed.connect(lambda rules: self._edit("categories", rules))
        self._show(-1)

    # ----------------------------------------------------------------------------- the list
    def sources(self) -> list[dict[str, Any]]:
        return [dict(entry) if isinstance(entry, dict) else entry for entry in self.entries]

    def categories(self) -> list[str]:
        """The run's categories as typed (empty: a single-label run)."""
        return [name.strip() for name in self.categories_edit.text().split(",") if name.strip()]

    def set_categories(self, categories: list[str]) -> None:
        self.categories_edit.setText(", ".join(str(name) for name in categories))
        self._show(self.list.currentRow())

    def _categories_edited(self) -> None:
        self._show(self.list.currentRow())
        self.changed.emit()

    def set_sources(self, sources: list[dict[str, Any]]) -> None:
        self.entries = [dict(entry) if isinstance(entry, dict) else entry for entry in sources]
        self._refill_list(0 if self.entries else -1)

    def add_source(self, path: str) -> None:
        entry = {"path": path}
        self.guessing.add(id(entry))
        self.entries.append(entry)
        self._refill_list(len(self.entries) - 1)
        self.changed.emit()

    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a training source", "", DATA_FILTER)
        if path:
            self.add_source(path)

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.entries):
            del self.entries[row]
            self._refill_list(min(row, len(self.entries) - 1))
            self.changed.emit()

    def set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020;" if text else "")

    def set_run_labels(self, labels: list[str]) -> None:
        """The labels of the run (the training file's), offered in the label-map table."""
        self.run_labels = list(labels)
        self._show(self.list.currentRow())

    def set_main_file(self, path: str, text_column: str, label_column: str) -> None:
        """Read the training file's label values in the background: they are the run's labels."""
        self.inherited = {"text_column": text_column, "label_column": label_column}
        if not path or not Path(path).expanduser().is_file():
            self.set_run_labels([])
            return
        self.tasks.submit(source_values, path, text_column, label_column,
                          on_done=lambda result: self.set_run_labels([value for value, _ in result.value_counts]),
                          on_error=lambda error: self.set_run_labels([]), key="source-values-main")

    def _refill_list(self, select: int) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for entry in self.entries:
            path = str(entry.get("path", "")) if isinstance(entry, dict) else str(entry)
            self.list.addItem(Path(path).name or path)
        self.list.setCurrentRow(select)
        self.list.blockSignals(False)
        self.remove_button.setEnabled(bool(self.entries))
        self._show(select)

    def _current(self) -> dict[str, Any] | None:
        row = self.list.currentRow()
        entry = self.entries[row] if 0 <= row < len(self.entries) else None
        return entry if isinstance(entry, dict) else None

    # ----------------------------------------------------------------------------- one source
    def _show(self, row: int) -> None:
        entry = self._current()
        self.detail.setVisible(entry is not None)
        if entry is None:
            return
        multi_label = bool(self.categories())
        for widget in (self.label_column, self.score_threshold, self.map_status, self.map_table, self.vote_columns,
                       self.votes):
            self.detail_form.setRowVisible(widget, not multi_label)
        self.detail_form.setRowVisible(self.category_rules, multi_label)
        if multi_label:
            self._show_rules(entry)
            return
        self._filling = True
        self.weight.setValue(float(entry.get("weight", 1.0) or 1.0))
        self.max_rows.setValue(entry.get("max_rows") or 1)
        self.score_threshold.setValue(float(entry.get("score_threshold", 0.5)))
        columns = entry.get("vote_columns")
        self.vote_columns.setText(json.dumps(columns, ensure_ascii=False) if isinstance(columns, dict)
                                  else str(columns or ""))
        self.votes.setCurrentIndex(max(self.votes.findData(entry.get("votes") or ""), 0))
        self._filling = False
        values = self.values_of.get(self._values_key(entry))
        if values is None:
            self._fill_columns(None, entry)
            self._fill_map(None, entry)
            self._read(entry)
        else:
            self._fill_columns(values, entry)
            self._fill_map(values, entry)

    def _show_rules(self, entry: dict[str, Any]) -> None:
        """A multi-label source: its text column and its rule per category, over the file's columns."""
        path = str(entry.get("path", ""))
        columns = self.columns_of.get(path)
        self.text_column.clear()
        self.text_column.addItem("(detected)", "")
        for column in columns or []:
            self.text_column.addItem(column, column)
        self.text_column.setCurrentIndex(max(self.text_column.findData(entry.get("text_column") or ""), 0))
        self.category_rules.set_rules(self.categories(), columns or [], entry.get("categories"))
        if columns is None:
            self.tasks.submit(file_columns, path, on_done=lambda result, path=path: self._columns_ready(path, result),
                              on_error=lambda error: self.set_message(describe_failure(error, setting_label_for_gui)
                                                                      .message), key="source-columns")

    def _columns_ready(self, path: str, columns: list[str]) -> None:
        self.columns_of[path] = columns
        entry = self._current()
        if entry is not None and str(entry.get("path", "")) == path and self.categories():
            self._show_rules(entry)

    def _read(self, entry: dict[str, Any]) -> None:
        key = self._values_key(entry)
        self.map_status.setText("Reading the file…")
        self.tasks.submit(source_values, *key, on_done=lambda result, key=key: self._values_ready(key, result),
                          on_error=self._values_failed, key="source-values")

    def _values_ready(self, key: tuple, result: SourceValues) -> None:
        self.values_of[key] = result
        entry = self._current()
        if entry is not None and id(entry) in self.guessing and self._values_key(entry) == key:
            self.guessing.discard(id(entry))
            entry.update(text_column=result.text_column, label_column=result.label_column)
            key = self._values_key(entry)
            self.values_of[key] = result
            self.changed.emit()
        if entry is not None and self._values_key(entry) == key:
            self._fill_columns(result, entry)
            self._fill_map(result, entry)

    def _values_failed(self, error: BaseException) -> None:
        self.map_status.setText(describe_failure(error, setting_label_for_gui).message)

    def _fill_columns(self, values: SourceValues | None, entry: dict[str, Any]) -> None:
        for key, combo in (("text_column", self.text_column), ("label_column", self.label_column)):
            combo.blockSignals(True)
            combo.clear()
            chosen = entry.get(key) or ""
            if not chosen:
                used = getattr(values, key, "") if values else ""
                combo.addItem(f"(as the training file: {used})" if used else "(as the training file)", "")
            for column in values.columns if values else ([chosen] if chosen else []):
                combo.addItem(column, column)
            combo.setCurrentIndex(max(combo.findData(chosen), 0))
            combo.blockSignals(False)

    def _fill_map(self, values: SourceValues | None, entry: dict[str, Any]) -> None:
        self.map_table.setRowCount(0)
        if values is None:
            return
        try:
            mapping = parse_label_map(entry.get("label_map"), "sources").mapping
        except UserError as error:
            self.map_status.setText(error.render(setting_label_for_gui))
            return
        self.map_status.setText(f"{len(values.value_counts)} values in column '{values.label_column}' "
                                f"({values.label_kind})" + (f", {values.missing:,} rows without one" if
                                                             values.missing else ""))
        self.map_table.setRowCount(len(values.value_counts))
        for row, (value, count) in enumerate(values.value_counts):
            self.map_table.setItem(row, 0, QTableWidgetItem(value))
            self.map_table.setItem(row, 1, QTableWidgetItem(f"{count:,}"))
            combo = QComboBox()
            targets = self._offered_labels()
            current = mapping.get(value, KEEP) if value in mapping else KEEP
            if current not in (KEEP, None) and current not in targets:
                targets.append(current)
            combo.addItem(KEEP, KEEP)
            combo.addItem(DROP, None)
            for label in targets:
                combo.addItem(label, label)
            combo.setCurrentIndex(1 if current is None else max(combo.findData(current), 0))
            combo.activated.connect(lambda _index, value=value, combo=combo: self._map_chosen(value, combo))
            self.map_table.setCellWidget(row, 2, combo)

    def _offered_labels(self) -> list[str]:
        """The training file's labels, then any other label a source's map already names."""
        offered = list(self.run_labels)
        for entry in self.entries:
            try:
                mapping = parse_label_map(entry.get("label_map"), "sources").mapping if isinstance(entry, dict) else {}
            except UserError:
                continue
            offered += [label for label in mapping.values() if label is not None and label not in offered]
        return offered

    def _map_chosen(self, value: str, combo: QComboBox) -> None:
        entry = self._current()
        if entry is None:
            return
        mapping = dict(parse_label_map(entry.get("label_map"), "sources").mapping)
        target = combo.currentData()
        if target == KEEP:
            mapping.pop(value, None)
        else:
            mapping[value] = target
        self._edit("label_map", mapping or None)

    def _column_chosen(self, key: str, combo: QComboBox) -> None:
        self._edit(key, combo.currentData() or None)
        entry = self._current()
        if entry is not None:
            self._show(self.list.currentRow())

    def _vote_columns_edited(self) -> None:
        text = self.vote_columns.text().strip()
        try:
            value: Any = parse_vote_columns(text) if text else None
        except ValueError:
            value = text  # kept as typed: the form's validation says what is wrong with it
        self._edit("vote_columns", value)

    def _threshold_chosen(self, value: float) -> None:
        if self._filling:
            return
        self._edit("score_threshold", None if round(value, 2) == 0.5 else round(value, 2))
        self._show(self.list.currentRow())  # the values are read again, cut at the new threshold

    def _edit(self, key: str, value: Any) -> None:
        entry = self._current()
        if entry is None or self._filling:
            return
        if value is None or (key == "weight" and value == 1.0):
            entry.pop(key, None)
        else:
            entry[key] = value
        self.changed.emit()


    def _values_key(self, entry: dict[str, Any]) -> tuple:
        """The arguments of `source_values` for a source (what its table depends on)."""
        columns = [entry.get(key) or ("" if id(entry) in self.guessing else self.inherited[key])
                   for key in ("text_column", "label_column")]
        return (str(entry.get("path", "")), *columns, float(entry.get("score_threshold", 0.5)))
