"""The Review tab: classify pasted or imported text, see why, decide, batch-label files.

Left: the model (ModelPanel), the text box with Classify and Import, batch-labelling progress and
the decision store. Right: filters, the threshold slider (binary models), decision buttons, the
results table and the explanation of the selected row.

Threads: model work (load, classify, explain) runs one job at a time on `model_tasks`; decision
store reads and writes run one at a time on `store_tasks`; batch labelling runs on its own QThread
(BatchLabelWorker). The GUI thread only moves numbers into the table: the threshold slider relabels
from the stored probabilities with Classifier.decide, without running the model again."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFileDialog, QFrame, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QMainWindow, QMenu, QPlainTextEdit, QProgressBar, QPushButton,
                               QRadioButton, QScrollArea, QSlider, QSplitter, QStyle, QToolButton, QVBoxLayout,
                               QWidget)

from moderator_app.core.inference.labelling import LabellingError, check_output_path
from moderator_app.gui.common import dialogs, settings
from moderator_app.gui.review.batch_label_panel import BatchLabelPanel
from moderator_app.gui.review.explanation_view import ExplanationView
from moderator_app.gui.common.fields import DATA_FILTER, ERROR_COLOR
from moderator_app.gui.review.import_dialog import ImportDialog
from moderator_app.gui.review.results_table import (FILTER_ALL, FILTER_DECIDED, FILTER_FLAGGED, FILTER_LABEL,
                                             FILTER_RELABELLED, FILTER_UNDECIDED, ResultsFilter, ResultsModel,
                                             ResultsView)
from moderator_app.gui.review.model_panel import ModelPanel
from moderator_app.gui.review.workers import (BatchLabelWorker, BatchRequest, Classified, Explained, JobCancelled,
                                              ModelHandle, ProgressRelay, StoreAccess, classify,
                                              default_batch_output, explain_text, is_text_file, load_model, read_texts,
                                              readable_batch_error, readable_load_error)
from moderator_app.gui.common.tasks import BackgroundTasks

PASTE_MODE_KEY = "review/paste-mode"
SPLITTER_KEY = "review/splitter"
RESULTS_SPLITTER_KEY = "review/results-splitter"
THRESHOLD_STEPS = 100
EXPLAIN_DELAY_MS = 250  # wait for the selection to settle before explaining
MAX_LABEL_BUTTONS = 5  # more labels than this: relabel from a menu
MAX_LABEL_SHORTCUTS = 9
CLOSE_WAIT_MS = 20_000


class ReviewTab(QWidget):
    status_message = Signal(str)
    model_loaded = Signal(object)  # ModelInfo
    model_failed = Signal(str)
    results_changed = Signal()  # the table was filled anew
    decisions_saved = Signal(int)  # how many
    store_failed = Signal(str)
    explanation_ready = Signal(object)  # Explained
    batch_ended = Signal(str)  # "finished", "cancelled" or "failed"
    exported = Signal(str, int)  # path, rows

    def __init__(self, tasks: BackgroundTasks, parent: QWidget | None = None, store_path: str | Path | None = None):
        super().__init__(parent)
        self.tasks = tasks  # file previews and reading, shared with the window
        self.model_tasks = BackgroundTasks(self, max_threads=1)
        self.store_tasks = BackgroundTasks(self, max_threads=1)
        self.store = StoreAccess(store_path)
        self.handle: ModelHandle | None = None  # the loaded model
        self.results_handle: ModelHandle | None = None  # the model that produced the table
        self.results_source = ""
        self.store_error = ""
        self.batch_thread: QThread | None = None
        self.batch_worker: BatchLabelWorker | None = None
        self.import_dialog: ImportDialog | None = None
        self.error_dialog = None
        self._classify_cancel: threading.Event | None = None
        self._relay: ProgressRelay | None = None
        self._generation = 0
        self._explain_request = 0
        self._key_labels: list[str] = []  # number key n relabels as _key_labels[n - 1]
        self._batch_outcome = ""

        self._build()
        self.restore_state()
        self._update_enabled()

    # ------------------------------------------------------------------------------ layout
    def _build(self) -> None:
        style = self.style()
        # model
        self.model_panel = ModelPanel()
        self.model_panel.load_requested.connect(self.load_model)
        model_box = QGroupBox("Model")
        QVBoxLayout(model_box).addWidget(self.model_panel)

        # texts
        self.text_edit = QPlainTextEdit()
        self.text_edit.setPlaceholderText("Paste or type texts here, one per line, then Classify (Ctrl+Enter).")
        self.text_edit.setMinimumHeight(120)
        self.per_line = QRadioButton("One item per line")
        self.whole_text = QRadioButton("Whole text as one item")
        self.per_line.setToolTip("Each non-empty line is classified on its own")
        self.whole_text.setToolTip("Everything in the box is one text")
        self.paste_mode = QButtonGroup(self)
        self.paste_mode.addButton(self.per_line)
        self.paste_mode.addButton(self.whole_text)
        self.per_line.setChecked(True)
        self.classify_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Classify")
        self.classify_button.setToolTip("Classify the texts in the box (Ctrl+Enter)")
        self.classify_button.clicked.connect(self.classify_pasted)
        self.import_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_FileIcon), "Import file…")
        self.import_button.setToolTip("TXT (one item per line), CSV, TSV, JSON Lines or Parquet: show it in the "
                                      "table, or batch-label it to an output file")
        self.import_button.clicked.connect(lambda: self.import_file())
        self.text_edit.installEventFilter(self)  # Ctrl+Enter classifies
        self.classify_progress = QProgressBar()
        self.classify_progress.setMaximumHeight(14)
        self.classify_progress.hide()
        self.classify_cancel_button = QToolButton()
        self.classify_cancel_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogCancelButton))
        self.classify_cancel_button.setToolTip("Cancel the classification")
        self.classify_cancel_button.clicked.connect(self.cancel_classify)
        self.classify_cancel_button.hide()
        self.input_hint = QLabel()
        self.input_hint.setWordWrap(True)
        self.input_hint.setStyleSheet("color: #666;")
        texts_box = QGroupBox("Texts")
        texts_layout = QVBoxLayout(texts_box)
        modes = QHBoxLayout()
        modes.addWidget(self.per_line)
        modes.addWidget(self.whole_text)
        modes.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.classify_button, 1)
        buttons.addWidget(self.import_button, 1)
        progress = QHBoxLayout()
        progress.addWidget(self.classify_progress, 1)
        progress.addWidget(self.classify_cancel_button)
        texts_layout.addWidget(self.text_edit, 1)
        texts_layout.addLayout(modes)
        texts_layout.addLayout(buttons)
        texts_layout.addLayout(progress)
        texts_layout.addWidget(self.input_hint)

        # batch labelling
        self.batch_panel = BatchLabelPanel()
        self.batch_panel.cancel_requested.connect(self.cancel_batch)

        # decisions
        self.store_label = QLabel(f"Decisions are saved to {self.store.path}")
        self.store_label.setWordWrap(True)
        self.store_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.store_label.setToolTip("An SQLite database (WAL mode), one transaction per decision. "
                                    "Set MODERATOR_APP_DATA to keep it elsewhere.")
        self.export_button = QPushButton("Export decisions…")
        self.export_button.setToolTip("Write every decision as a text,label CSV that the Training tab trains on")
        self.export_button.clicked.connect(lambda: self.export_decisions())
        decisions_box = QGroupBox("Decisions")
        decisions_layout = QVBoxLayout(decisions_box)
        decisions_layout.addWidget(self.store_label)
        decisions_layout.addWidget(self.export_button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 8, 8)
        left_layout.addWidget(model_box)
        left_layout.addWidget(texts_box, 1)
        left_layout.addWidget(self.batch_panel)
        left_layout.addWidget(decisions_box)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(left)
        scroll.setMinimumWidth(360)

        # results
        self.results = ResultsModel(self)
        self.proxy = ResultsFilter(self.results, self)
        self.table = ResultsView()
        self.table.setModel(self.proxy)
        self.table.configure_columns(self.results)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.filter_combo = QComboBox()
        self.filter_combo.setToolTip("Show only some rows")
        self.filter_combo.currentIndexChanged.connect(self._apply_filter)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the texts…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._apply_search)
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(0, THRESHOLD_STEPS)
        self.threshold_slider.setValue(THRESHOLD_STEPS // 2)
        self.threshold_slider.setMinimumWidth(120)
        self.threshold_slider.valueChanged.connect(self._on_threshold_changed)
        self.threshold_label = QLabel()
        self.threshold_caption = QLabel("Threshold")
        self.stats = QLabel()
        self.stats.setStyleSheet("color: #555;")
        filters = QHBoxLayout()
        filters.addWidget(self.filter_combo)
        filters.addWidget(self.search, 1)
        filters.addSpacing(12)
        filters.addWidget(self.threshold_caption)
        filters.addWidget(self.threshold_slider)
        filters.addWidget(self.threshold_label)
        filters.addSpacing(12)
        filters.addWidget(self.stats)

        self.accept_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton),
                                         "Accept (A)")
        self.accept_button.setToolTip("Agree with the model's label for the selected rows (A or Ctrl+Enter)")
        self.accept_button.clicked.connect(self.accept_selected)
        self.label_buttons_layout = QHBoxLayout()
        self.label_buttons_layout.setSpacing(4)
        self.label_buttons: list[QPushButton] = []
        self.relabel_menu_button = QToolButton()
        self.relabel_menu_button.setText("Relabel as")
        self.relabel_menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.relabel_menu_button.setMenu(QMenu(self.relabel_menu_button))
        self.relabel_menu_button.hide()
        self.decision_hint = QLabel()
        self.decision_hint.setStyleSheet("color: #666;")
        decide = QHBoxLayout()
        decide.addWidget(self.accept_button)
        decide.addLayout(self.label_buttons_layout)
        decide.addWidget(self.relabel_menu_button)
        decide.addSpacing(8)
        decide.addWidget(self.decision_hint, 1)

        self.table.key_handler = self._on_table_key

        self.explanation = ExplanationView()
        self._explain_timer = QTimer(self)
        self._explain_timer.setSingleShot(True)
        self._explain_timer.setInterval(EXPLAIN_DELAY_MS)
        self._explain_timer.timeout.connect(self.explain_selected)

        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.setSpacing(4)
        table_layout.addLayout(filters)
        table_layout.addLayout(decide)
        table_layout.addWidget(self.table, 1)
        self.results_splitter = QSplitter(Qt.Orientation.Vertical)
        self.results_splitter.addWidget(table_box)
        self.results_splitter.addWidget(self.explanation)
        self.results_splitter.setStretchFactor(0, 4)
        self.results_splitter.setStretchFactor(1, 1)
        self.results_splitter.setChildrenCollapsible(False)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 8, 8, 8)
        right_layout.addWidget(self.results_splitter)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([400, 1000])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self._configure_for_labels([], None)

    # ------------------------------------------------------------------------------ state
    def restore_state(self) -> None:
        if settings.load_value(PASTE_MODE_KEY) == "whole":
            self.whole_text.setChecked(True)
        for key, splitter in ((SPLITTER_KEY, self.splitter), (RESULTS_SPLITTER_KEY, self.results_splitter)):
            state = settings.load_bytes(key)
            if state is not None:
                splitter.restoreState(state)

    def save_state(self) -> None:
        settings.save_value(PASTE_MODE_KEY, "whole" if self.whole_text.isChecked() else "lines")
        settings.save_bytes(SPLITTER_KEY, self.splitter.saveState())
        settings.save_bytes(RESULTS_SPLITTER_KEY, self.results_splitter.saveState())

    def _update_enabled(self) -> None:
        loaded = self.handle is not None
        classifying = self._classify_cancel is not None
        self.classify_button.setEnabled(loaded and not classifying)
        self.import_button.setEnabled(loaded)
        has_rows = len(self.results.texts) > 0
        for widget in [self.accept_button, self.relabel_menu_button, *self.label_buttons]:
            widget.setEnabled(has_rows)
        if not loaded:
            self.input_hint.setText("Load a model to classify texts.")
        elif classifying:
            self.input_hint.setText("Classifying…")
        else:
            self.input_hint.setText("")

    # ------------------------------------------------------------------------------ model
    def open_model(self, name: str) -> None:
        """The Training tab's "Open in Review": load a just-trained model folder."""
        self.model_panel.set_name(name)
        self.load_model(name, self.model_panel.allow_pickle.isChecked())

    def load_model(self, name: str, allow_pickle: bool = False) -> None:
        self.model_panel.set_loading(name)
        self.status_message.emit(f"Loading the model {name}…")
        self.model_tasks.submit(load_model, name, allow_pickle, key="load",
                                on_done=lambda handle: self._on_model_loaded(handle, name),
                                on_error=lambda error: self._on_model_failed(name, error))

    def _on_model_loaded(self, handle: ModelHandle, name: str) -> None:
        self.handle = handle
        self.model_panel.set_loaded(handle.info, name)
        self.status_message.emit(f"Model loaded: {handle.model_id}")
        if self.results_handle is None or self.results_handle.info.labels != handle.info.labels:
            self._configure_for_labels(handle.info.labels, handle.classifier.positive_index)
        self._update_enabled()
        self.model_loaded.emit(handle.info)
        if self.results.texts and self.results_handle is not handle:
            self.classify_texts(list(self.results.texts), self.results_source)  # the table, by the new model

    def _on_model_failed(self, name: str, error: BaseException) -> None:
        message = readable_load_error(name, error)
        self.model_panel.set_failed(message)
        self.status_message.emit("The model could not be loaded.")
        self._update_enabled()
        self.model_failed.emit(message)

    def _configure_for_labels(self, labels: list[str], positive_index: int | None) -> None:
        """Filters, threshold, relabel buttons and their number keys for a model's labels."""
        binary = positive_index is not None
        self.filter_combo.blockSignals(True)
        current = self.filter_combo.currentData()
        self.filter_combo.clear()
        self.filter_combo.addItem("All items", filter_key(FILTER_ALL))
        if binary:
            self.filter_combo.addItem(f"Flagged ({labels[positive_index]})", filter_key(FILTER_FLAGGED))
        for label in labels:
            self.filter_combo.addItem(f"Label: {label}", filter_key(FILTER_LABEL, label))
        self.filter_combo.addItem("Not decided yet", filter_key(FILTER_UNDECIDED))
        self.filter_combo.addItem("Decided", filter_key(FILTER_DECIDED))
        self.filter_combo.addItem("Relabelled by a moderator", filter_key(FILTER_RELABELLED))
        index = self.filter_combo.findData(current) if current is not None else 0
        self.filter_combo.setCurrentIndex(max(index, 0))
        self.filter_combo.blockSignals(False)
        self._apply_filter()

        for widget in (self.threshold_slider, self.threshold_label, self.threshold_caption):
            widget.setVisible(binary)
        if binary:
            tip = (f"Label a row '{labels[positive_index]}' when its probability is at least this. The table "
                   "relabels at once, from the probabilities already computed.")
            self.threshold_slider.setToolTip(tip)
            self.threshold_caption.setToolTip(tip)
        self._update_threshold_label()

        for button in self.label_buttons:
            self.label_buttons_layout.removeWidget(button)
            button.deleteLater()
        self.label_buttons = []
        self._key_labels = labels[:MAX_LABEL_SHORTCUTS]
        menu = self.relabel_menu_button.menu()
        menu.clear()
        for number, label in enumerate(labels, start=1):
            key = str(number) if number <= MAX_LABEL_SHORTCUTS else ""
            tip = f"Relabel the selected rows as '{label}'" + (f" ({key})" if key else "")
            if len(labels) <= MAX_LABEL_BUTTONS:
                button = QPushButton(f"{key}  {label}" if key else label)
                button.setToolTip(tip)
                button.clicked.connect(lambda _checked=False, label=label: self.relabel_selected(label))
                self.label_buttons_layout.addWidget(button)
                self.label_buttons.append(button)
            action = menu.addAction(f"{key}  {label}" if key else label)
            action.setToolTip(tip)
            action.triggered.connect(lambda _checked=False, label=label: self.relabel_selected(label))
        self.relabel_menu_button.setVisible(len(labels) > MAX_LABEL_BUTTONS)
        if labels:
            keys = ", ".join(f"{number} {label}" for number, label in enumerate(labels[:MAX_LABEL_SHORTCUTS], 1))
            self.decision_hint.setText(f"Keys: A or Ctrl+Enter accepts; {keys} relabels the selected rows.")
        else:
            self.decision_hint.setText("")
        self._update_enabled()

    # ------------------------------------------------------------------------------ keys
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.text_edit and event.type() == QEvent.Type.KeyPress and is_ctrl_enter(event):
            self.classify_pasted()
            return True
        return super().eventFilter(watched, event)

    def _on_table_key(self, event: QKeyEvent) -> bool:
        """A or Ctrl+Enter accepts the selected rows; 1..9 relabels them as the model's n-th label."""
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if is_ctrl_enter(event) or (event.key() == Qt.Key.Key_A and modifiers == Qt.KeyboardModifier.NoModifier):
            self.accept_selected()
            return True
        if modifiers == Qt.KeyboardModifier.NoModifier and Qt.Key.Key_1 <= event.key() <= Qt.Key.Key_9:
            number = event.key() - Qt.Key.Key_0
            if number <= len(self._key_labels):
                self.relabel_selected(self._key_labels[number - 1])
                return True
        return False

    # ------------------------------------------------------------------------------ classify
    def pasted_texts(self) -> list[str]:
        text = self.text_edit.toPlainText()
        if self.whole_text.isChecked():
            return [text] if text.strip() else []
        return [line for line in text.splitlines() if line.strip()]

    def classify_pasted(self) -> None:
        texts = self.pasted_texts()
        if not texts:
            self.input_hint.setText("Nothing to classify: paste or type some text first.")
            return
        self.classify_texts(texts, "pasted text")

    def classify_texts(self, texts: list[str], source: str = "") -> None:
        if self.handle is None:
            self.input_hint.setText("Load a model first.")
            return
        self.cancel_classify()
        cancel = threading.Event()
        relay = ProgressRelay(self)
        relay.progress.connect(self._on_classify_progress)
        self._classify_cancel, self._relay = cancel, relay
        self.classify_progress.setRange(0, 0)
        self.classify_progress.setFormat("")
        self.classify_progress.show()
        self.classify_cancel_button.show()
        self._update_enabled()
        self.status_message.emit(f"Classifying {len(texts):,} items…")
        self.model_tasks.submit(classify, self.handle, texts, cancel, relay, key="classify",
                                on_done=lambda result: self._on_classified(result, source, cancel),
                                on_error=lambda error: self._on_classify_failed(error, cancel))

    def cancel_classify(self) -> None:
        if self._classify_cancel is not None:
            self._classify_cancel.set()
            self.model_tasks.forget("classify")
            self._classify_ended()
            self.status_message.emit("Classification cancelled.")

    def _classify_ended(self) -> None:
        self._classify_cancel = None
        if self._relay is not None:
            self._relay.deleteLater()
        self._relay = None
        self.classify_progress.hide()
        self.classify_cancel_button.hide()
        self._update_enabled()

    def _on_classify_progress(self, done: int, total: int) -> None:
        self.classify_progress.setRange(0, max(total, 1))
        self.classify_progress.setValue(done)
        self.classify_progress.setFormat(f"{done:,} of {total:,}")

    def _on_classify_failed(self, error: BaseException, cancel: threading.Event) -> None:
        if cancel is not self._classify_cancel:
            return
        self._classify_ended()
        if isinstance(error, JobCancelled):
            return
        self.error_dialog = dialogs.show_error(self, "Cannot classify", readable_batch_error(error),
                                               getattr(error, "__traceback_text__", ""))

    def _on_classified(self, result: Classified, source: str, cancel: threading.Event) -> None:
        if cancel is not self._classify_cancel:
            return
        self._classify_ended()
        handle = result.handle
        labels_changed = self.results_handle is None or self.results_handle.info.labels != handle.info.labels
        self.results_handle = handle
        self.results_source = source
        if labels_changed:
            self._configure_for_labels(handle.info.labels, handle.classifier.positive_index)
        labels, scores = handle.classifier.decide(result.probabilities, self.threshold())
        self._generation += 1
        self.results.set_results(result.texts, result.probabilities, labels, scores, handle.info.labels,
                                 handle.classifier.positive_index)
        self.table.configure_columns(self.results)
        self.proxy.refresh()
        self.explanation.show_message("Select a row to see which words pushed its score up or down.")
        self._update_stats()
        self._update_enabled()
        rate = len(result.texts) / result.seconds if result.seconds > 0 else 0.0
        self.status_message.emit(f"Classified {len(result.texts):,} items in {result.seconds:.1f} s "
                                 f"({rate:,.0f} per second).")
        self.results_changed.emit()
        self._restore_decisions(self._generation, list(result.texts), handle.model_id)

    def threshold(self, handle: ModelHandle | None = None) -> float | None:
        """The slider's threshold for `handle` (default: the model of the table), None unless binary."""
        handle = handle or self.results_handle or self.handle
        if handle is None or not handle.classifier.is_binary:
            return None
        return self.threshold_slider.value() / THRESHOLD_STEPS

    def set_threshold(self, value: float) -> None:
        self.threshold_slider.setValue(round(value * THRESHOLD_STEPS))

    def _update_threshold_label(self) -> None:
        self.threshold_label.setText(f"{self.threshold_slider.value() / THRESHOLD_STEPS:.2f}")

    def _on_threshold_changed(self, _value: int) -> None:
        self._update_threshold_label()
        handle = self.results_handle
        if handle is None or not handle.classifier.is_binary or not self.results.texts:
            return
        labels, scores = handle.classifier.decide(self.results.probabilities, self.threshold())
        self.results.set_predictions(labels, scores)
        if self.proxy.depends_on_labels():
            self.proxy.refresh()
        self._update_stats()

    # ------------------------------------------------------------------------------ filters
    def _apply_filter(self, *_args) -> None:
        mode, _, label = (self.filter_combo.currentData() or FILTER_ALL).partition(":")
        self.proxy.set_filter(mode, label)
        self._update_stats()

    def _apply_search(self, text: str) -> None:
        self.proxy.set_search(text.strip())
        self._update_stats()

    def _update_stats(self) -> None:
        results = self.results
        total = len(results.texts)
        if not total:
            self.stats.setText("")
            return
        parts = [f"{total:,} items"]
        if results.is_binary:
            flagged = sum(1 for label in results.labels if label == results.positive_label)
            parts.append(f"{flagged:,} flagged")
        decided = sum(1 for decision in results.decisions if decision is not None)
        parts.append(f"{decided:,} decided")
        shown = self.proxy.rowCount()
        if shown != total:
            parts.append(f"{shown:,} shown")
        self.stats.setText(" · ".join(parts))

    # ------------------------------------------------------------------------------ import
    def import_file(self, path: str | None = None) -> ImportDialog | None:
        if self.handle is None:
            self.input_hint.setText("Load a model first.")
            return None
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Import texts", settings.last_folder("data"),
                                                  "Texts and data files (*.txt *.csv *.tsv *.tab *.jsonl *.json "
                                                  "*.ndjson *.parquet *.pq);;" + DATA_FILTER.split(";;")[-1])
            if not path:
                return None
        settings.remember_folder("data", path)
        dialog = ImportDialog(self.tasks, path, self)
        dialog.table_requested.connect(self.show_file_in_table)
        dialog.batch_requested.connect(lambda file, column: self.batch_label(file, column))
        self.import_dialog = dialog
        dialog.open()
        return dialog

    def show_file_in_table(self, path: str, column: str | None = None) -> None:
        self.status_message.emit(f"Reading {path}…")
        self.input_hint.setText(f"Reading {Path(path).name}…")
        self.tasks.submit(read_texts, path, column, key="review-read",
                          on_done=lambda texts: self.classify_texts(texts, path),
                          on_error=lambda error: self._show_error("Cannot import the file", error))

    def _show_error(self, title: str, error: BaseException) -> None:
        self.input_hint.setText("")
        self.error_dialog = dialogs.show_error(self, title, readable_batch_error(error),
                                               getattr(error, "__traceback_text__", ""))

    # ------------------------------------------------------------------------------ batch label
    @property
    def batch_running(self) -> bool:
        return self.batch_thread is not None

    def batch_label(self, path: str, column: str | None = None, output: str | None = None,
                    overwrite: bool = False, chunk_rows: int | None = None) -> bool:
        """Label every row of `path` into `output` (asked for when None) on a background thread."""
        if self.handle is None or self.batch_running:
            if self.batch_running:
                self.error_dialog = dialogs.show_error(self, "Batch labelling is running",
                                                       "Wait for the current file to finish, or cancel it.")
            return False
        if output is None:
            suggested = default_batch_output(path)
            output, _ = QFileDialog.getSaveFileName(self, "Write the labelled file to", str(suggested),
                                                    f"Same format as the input (*{suggested.suffix})")
            if not output:
                return False
            overwrite = Path(output).exists()  # the file dialog has asked already
        try:
            check_output_path(path, output, overwrite)
            if is_text_file(path) and Path(output).suffix.lower() != ".csv":
                raise LabellingError(f"{output}: a TXT file is labelled into a CSV file; give the output a "
                                     ".csv name.")
        except LabellingError as error:
            self.error_dialog = dialogs.show_error(self, "Cannot batch-label", str(error))
            return False
        request = BatchRequest(path, str(output), column or None, self.threshold(self.handle), overwrite)
        if chunk_rows:
            request.chunk_rows = chunk_rows
        thread = QThread(self)
        thread.setObjectName("batch-label")
        worker = BatchLabelWorker(self.handle, request)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self.batch_panel.update_progress)
        worker.succeeded.connect(self._on_batch_succeeded)
        worker.cancelled.connect(self._on_batch_cancelled)
        worker.failed.connect(self._on_batch_failed)
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)  # even while the GUI waits in close
        thread.finished.connect(self._on_batch_thread_finished)
        thread.finished.connect(worker.deleteLater)
        self.batch_thread, self.batch_worker = thread, worker
        self.batch_panel.begin(request)
        self.status_message.emit(f"Batch-labelling {path}…")
        thread.start()
        return True

    def cancel_batch(self) -> None:
        if self.batch_worker is not None:
            self.batch_worker.cancel()
            self.status_message.emit("Cancelling the batch labelling…")

    def _on_batch_succeeded(self, summary) -> None:
        self.batch_panel.finish(summary)
        self.status_message.emit(summary.describe())
        self._batch_outcome = "finished"

    def _on_batch_cancelled(self) -> None:
        self.batch_panel.cancelled()
        self.status_message.emit("Batch labelling cancelled; nothing was written.")
        self._batch_outcome = "cancelled"

    def _on_batch_failed(self, message: str, details: str) -> None:
        self.batch_panel.failed(message)
        self.status_message.emit("Batch labelling failed.")
        self.error_dialog = dialogs.show_error(self, "Batch labelling failed", message, details)
        self._batch_outcome = "failed"

    def _on_batch_thread_finished(self) -> None:
        thread = self.batch_thread
        self.batch_thread, self.batch_worker = None, None
        if thread is not None:
            thread.deleteLater()
        outcome, self._batch_outcome = self._batch_outcome or "failed", ""
        self.batch_ended.emit(outcome)

    # ------------------------------------------------------------------------------ explain
    def _on_selection_changed(self, *_args) -> None:
        self._explain_request += 1  # a job still queued for the old selection is skipped
        self._explain_timer.start()

    def selected_items(self) -> list[int]:
        return [self.proxy.item(row) for row in self.table.selected_proxy_rows()]

    def explain_selected(self) -> None:
        items = self.selected_items()
        handle = self.results_handle
        if handle is None or len(items) != 1:
            self.explanation.show_message("Select one row to see which words pushed its score up or down."
                                          if len(items) != 1 or handle is None else "")
            return
        item = items[0]
        text = self.results.texts[item]
        label = self.results.labels[item]
        if not label:
            self.explanation.show_message("This text is empty: nothing to explain.")
            return
        classifier = handle.classifier
        index = classifier.positive_index if classifier.is_binary else classifier.labels.index(label)
        self._explain_request += 1
        request = self._explain_request
        self.explanation.show_pending(text)
        self.model_tasks.submit(explain_text, handle, text, index, lambda: self._explain_request == request,
                                key="explain", on_done=self._on_explained,
                                on_error=lambda error: self.explanation.show_error(readable_batch_error(error)))

    def _on_explained(self, explained: Explained | None) -> None:
        if explained is None:
            return
        self.explanation.show_explanation(explained, f"P({explained.label})")
        self.explanation_ready.emit(explained)

    # ------------------------------------------------------------------------------ decisions
    def accept_selected(self) -> None:
        self._decide(None)

    def relabel_selected(self, label: str) -> None:
        self._decide(label)

    def _decide(self, moderator_label: str | None) -> None:
        """Record a decision for each selected row: the model's label (accept) or `moderator_label`."""
        from moderator_app.core.review.store import Decision

        handle = self.results_handle
        rows = self.table.selected_proxy_rows()
        if handle is None or not rows:
            return
        results = self.results
        items, decisions = [], []
        for row in rows:
            item = self.proxy.item(row)
            model_label = results.labels[item]
            if not model_label:  # an empty text has nothing to decide
                continue
            score = float(results.scores[item])
            decisions.append(Decision(results.texts[item], model_label, None if math.isnan(score) else score,
                                      moderator_label or model_label, handle.model_id))
            items.append(item)
        if not decisions:
            return
        next_item = self.proxy.item(rows[-1] + 1) if len(rows) == 1 and rows[-1] + 1 < self.proxy.rowCount() else None
        generation = self._generation
        self.store_tasks.submit(self.store.record, decisions, key=None,
                                on_done=lambda outcome: self._on_recorded(outcome, items, generation, next_item),
                                on_error=lambda error: self._on_store_error(f"{type(error).__name__}: {error}",
                                                                            "The decision was not saved."))

    def _on_recorded(self, outcome, items: list[int], generation: int, next_item: int | None) -> None:
        saved, error = outcome
        if generation == self._generation and saved:
            self.results.set_decisions({item: decision.moderator_label for item, decision in zip(items, saved)})
            if self.proxy.depends_on_decisions():
                self.proxy.refresh()
            self._update_stats()
            if next_item is not None:
                self._select_item(next_item)
        if saved:
            self.decisions_saved.emit(len(saved))
            self._store_ok()
            accepted = sum(1 for decision in saved if decision.accepted)
            self.status_message.emit(f"Saved {len(saved)} decision{'s' if len(saved) != 1 else ''} "
                                     f"({accepted} accepted, {len(saved) - accepted} relabelled).")
        if error:
            not_saved = len(items) - len(saved)
            self._on_store_error(error, f"{not_saved} decision{'s were' if not_saved != 1 else ' was'} not saved.")

    def _select_item(self, item: int) -> None:
        row = self.proxy.proxy_row(item)
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.proxy.index(row, 0))

    def _restore_decisions(self, generation: int, texts: list[str], model_id: str) -> None:
        def apply(found: dict[str, str]) -> None:
            if generation != self._generation or not found:
                return
            self.results.set_decisions({item: found[text] for item, text in enumerate(texts) if text in found})
            if self.proxy.depends_on_decisions():
                self.proxy.refresh()
            self._update_stats()
            self.status_message.emit(f"{sum(1 for t in texts if t in found):,} of these items were decided "
                                     "before; their decisions are shown.")

        self.store_tasks.submit(self.store.lookup, texts, model_id, key="lookup", on_done=apply,
                                on_error=lambda error: self._on_store_error(str(error), ""))

    def export_decisions(self, path: str | None = None) -> None:
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
            self._store_ok()
            self.status_message.emit(f"Exported {count:,} decisions to {path}: train on it in the Training tab.")
            self.exported.emit(path, count)

        self.store_tasks.submit(self.store.export, path, key="export", on_done=exported,
                                on_error=lambda error: self._on_store_error(str(error), "Nothing was exported."))

    def _store_ok(self) -> None:
        if self.store_error:
            self.store_error = ""
        self.store_label.setText(f"Decisions are saved to {self.store.path}")
        self.store_label.setStyleSheet("")

    def _on_store_error(self, message: str, consequence: str) -> None:
        self.store_error = message
        self.store_label.setText(f"Decisions cannot be saved. {message}")
        self.store_label.setStyleSheet(f"color: {ERROR_COLOR.name()};")
        self.store_failed.emit(message)
        if consequence:
            self.error_dialog = dialogs.show_error(self, "Decisions cannot be saved", f"{consequence}\n\n{message}")

    # ------------------------------------------------------------------------------ closing
    def confirm_close(self) -> bool:
        if not self.batch_running:
            return True
        return dialogs.confirm(self, "Batch labelling is running",
                               "A file is being labelled. Cancel it and quit?\n\nNothing is written for a "
                               "cancelled file.", "Cancel it and quit", "Keep labelling")

    def shutdown(self) -> None:
        """Stop background work, wait for it, keep pending decisions, close the store."""
        self.save_state()
        if self._classify_cancel is not None:
            self._classify_cancel.set()
        self._explain_request += 1
        if self.batch_worker is not None:
            self.batch_worker.cancel()
        if self.batch_thread is not None:
            self.batch_thread.quit()  # ends its event loop once the cancelled run returns
            self.batch_thread.wait(CLOSE_WAIT_MS)
        self.model_tasks.wait(CLOSE_WAIT_MS)
        self.store_tasks.submit(self.store.close)
        self.store_tasks.wait(CLOSE_WAIT_MS)


def filter_key(mode: str, label: str = "") -> str:
    """The filter drop-down's item data: "flagged", "label:hate", …"""
    return f"{mode}:{label}" if label else mode


def is_ctrl_enter(event: QKeyEvent) -> bool:
    return (event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier))


class _CloseGuard(QObject):
    """Sees the main window's close first: asks before cancelling a batch labelling, then stops the
    Review tab's threads so that the window closes cleanly."""

    def __init__(self, window: QMainWindow, tab: ReviewTab):
        super().__init__(window)
        self.tab = tab

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close:
            if not self.tab.confirm_close():
                event.ignore()
                return True
            self.tab.shutdown()
        return False


def add_review_tab(window, tab_factory: Callable[..., ReviewTab] = ReviewTab) -> ReviewTab:
    """Add the Review tab to a MainWindow and make the Training tab's "Open in Review" load into it."""
    tab = tab_factory(window.tasks)
    window.add_tab(tab, "Review")
    tab.status_message.connect(lambda text: window.statusBar().showMessage(text, 15000))

    def review(folder: str) -> None:
        window.tabs.setCurrentWidget(tab)
        tab.open_model(folder)

    window.set_review_handler(review)
    window.installEventFilter(_CloseGuard(window, tab))
    window.review_tab = tab
    return tab
