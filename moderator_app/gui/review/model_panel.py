"""The Review tab's model choice: a model folder (recent ones remembered, or browsed) or a hub id,
loaded on a background thread with a busy bar; then its labels and the metrics of its training."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QSizePolicy, QStyle, QToolButton, QVBoxLayout, QWidget)

from moderator_app.gui.common import settings
from moderator_app.gui.common.fields import ERROR_COLOR, HINT_COLOR
from moderator_app.core.inference.model_info import ModelInfo

RECENT_KEY = "review/recent_models"
PRECISION_KEY = "review/precision"
PRECISION_CHOICES = (("auto", "Auto"), ("bf16", "bf16"), ("fp32", "fp32"))  # core.precision.INFERENCE_PRECISIONS
RECENT_COUNT = 8
WARNING_STYLE = ("QLabel { background: #fff3e0; color: #7a3e00; border: 1px solid #ef8f00; border-radius: 4px; "
                 "padding: 6px; }")
METRIC_NAMES = (("accuracy", "accuracy"), ("f1", "macro F1"), ("precision", "precision"), ("recall", "recall"),
                ("val_loss", "loss"))


def recent_models() -> list[str]:
    value = settings.load_value(RECENT_KEY, [])
    return [item for item in value if isinstance(item, str) and item] if isinstance(value, list) else []


def remember_model(name: str) -> None:
    recent = [name] + [item for item in recent_models() if item != name]
    settings.save_value(RECENT_KEY, recent[:RECENT_COUNT])


def describe_info(info: ModelInfo) -> str:
    """Rich text for the panel: labels, metrics, base model and where it runs."""
    labels = ", ".join(f"<b>{html.escape(label)}</b>" + (" (flagged)" if label == info.positive_label else "")
                       for label in info.labels)
    lines = [f"Labels: {labels}"]
    shown = [f"{name} {info.metrics[key]:.3f}" for key, name in METRIC_NAMES if key in info.metrics]
    if shown:
        where = info.metrics_source + (f", best epoch {info.best_epoch}" if info.best_epoch else "")
        lines.append(f"Validation: {' · '.join(shown)} <span style='color:#777'>({html.escape(where)})</span>")
    else:
        lines.append("<span style='color:#777'>No validation metrics recorded with this model.</span>")
    extra = f"; trained on {info.train_rows:,} rows" if info.train_rows else ""
    lines.append(f"<span style='color:#555'>Base {html.escape(info.base_model)}{extra}; runs on "
                 f"{html.escape(info.device)}, texts cut at {info.max_length} tokens</span>")
    if info.precision:
        lines.append(f"<span style='color:#555'>Precision: {html.escape(info.precision)}</span>")
    if info.normalisation:
        lines.append(f"<span style='color:#555'>Text normalisation: {html.escape(info.normalisation)}</span>")
    return "<br>".join(lines)


# operating_point.json files written before this wording say "Deciding by …", which read as the rule in
# use while the slider decides by a threshold
OLD_WARNING_PREFIX = "Deciding by the most probable label: "
WARNING_PREFIX = "By its most probable label (without its threshold): "


def warning_words(warning: str) -> str:
    return WARNING_PREFIX + warning[len(OLD_WARNING_PREFIX):] if warning.startswith(OLD_WARNING_PREFIX) else warning


class ModelPanel(QWidget):
    load_requested = Signal(str, bool)  # model folder or hub id, allow pickle weights
    retrain_requested = Signal()
    evaluate_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.setMinimumContentsLength(18)
        self.combo.lineEdit().setPlaceholderText("a model folder, or a hub id such as valurank/distilroberta-hatespeech")
        self.combo.setToolTip("A folder written by training (Open in Review puts it here), a recent model folder, "
                              "any Hugging Face text-classification folder, or a hub id (downloaded when online).")
        self.combo.lineEdit().returnPressed.connect(self.request_load)
        self.combo.activated.connect(lambda _index: self.request_load())  # picking a recent model loads it
        self.browse_button = QToolButton()
        self.browse_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon))
        self.browse_button.setToolTip("Choose a model folder…")
        self.browse_button.clicked.connect(self.browse)
        self.load_button = QPushButton("Load")
        self.load_button.setToolTip("Load the model (in the background)")
        self.load_button.clicked.connect(self.request_load)
        self.allow_pickle = QCheckBox("Allow pickle weights")
        self.allow_pickle.setToolTip("Also load pytorch_model.bin weights (with weights_only). A pickle can run code "
                                     "when loaded: only for models whose source you trust.")
        self.precision = QComboBox()
        for value, text in PRECISION_CHOICES:
            self.precision.addItem(text, value)
        saved = settings.load_value(PRECISION_KEY, "auto")
        self.precision.setCurrentIndex(max(0, self.precision.findData(saved)))
        self.precision.setToolTip("The number format the model computes in. Auto: bf16 on a CPU that computes it "
                                  "natively (AMX, AVX-512 BF16, Arm BF16), fp16 on a CUDA GPU, fp32 elsewhere. "
                                  "Changing it reloads the model.")
        self.precision.currentIndexChanged.connect(self._precision_changed)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(10)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.message = QLabel("No model loaded: choose one above.")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.hide()
        self.decision_rule = QLabel()  # how the labels are decided, following the slider
        self.decision_rule.setWordWrap(True)
        self.decision_rule.setObjectName("decision-rule")
        self.decision_rule.hide()
        self.warning = QLabel()  # the model has not learned the task: loud, with what to try
        self.warning.setWordWrap(True)
        self.warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.hide()
        self.retrain_button = QPushButton("Retrain from decisions…")
        self.retrain_button.setToolTip("Prepare a run in the Training tab: this model's own settings and training "
                                       "data plus the queue's decisions, into a new folder")
        self.retrain_button.clicked.connect(self.retrain_requested)
        self.retrain_button.setEnabled(False)
        self.evaluate_button = QPushButton("Evaluate…")
        self.evaluate_button.setToolTip("Measure this model on a labelled file: metrics beside the baseline, the "
                                        "confusion matrix, the precision–recall curve and per-group results")
        self.evaluate_button.clicked.connect(self.evaluate_requested)
        self.evaluate_button.setEnabled(False)
        self.info: ModelInfo | None = None
        self.loading = False

        row = QHBoxLayout()
        row.setSpacing(4)
        row.addWidget(self.combo, 1)
        row.addWidget(self.browse_button)
        row.addWidget(self.load_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        options = QHBoxLayout()
        options.addWidget(self.allow_pickle)
        options.addStretch(1)
        precision_label = QLabel("Precision")
        precision_label.setBuddy(self.precision)
        options.addWidget(precision_label)
        options.addWidget(self.precision)
        layout.addLayout(options)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addWidget(self.details)
        layout.addWidget(self.decision_rule)
        layout.addWidget(self.warning)
        model_actions = QHBoxLayout()
        model_actions.addWidget(self.evaluate_button)
        model_actions.addWidget(self.retrain_button)
        layout.addLayout(model_actions)
        self.refresh_recent()

    def refresh_recent(self) -> None:
        text = self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        for name in recent_models():
            self.combo.addItem(name, name)
            self.combo.setItemData(self.combo.count() - 1, name, Qt.ItemDataRole.ToolTipRole)
        self.combo.setCurrentText(text)
        self.combo.blockSignals(False)

    def name(self) -> str:
        return self.combo.currentText().strip()

    def set_name(self, name: str) -> None:
        self.combo.setCurrentText(name)

    def browse(self) -> None:
        current = Path(self.name()).expanduser() if self.name() else None
        start = str(current) if current is not None and current.is_dir() else settings.last_folder("model")
        chosen = QFileDialog.getExistingDirectory(self, "Choose a text-classification model folder", start)
        if chosen:
            settings.remember_folder("model", chosen)
            self.set_name(chosen)
            self.request_load()

    def precision_choice(self) -> str:
        return str(self.precision.currentData())

    def _precision_changed(self) -> None:
        settings.save_value(PRECISION_KEY, self.precision_choice())
        if self.info is not None:  # a new handle: a batch run keeps the precision it started with
            self.request_load()

    def request_load(self) -> None:
        name = self.name()
        if not name:
            self.set_failed("Choose a model folder or type a hub id first.")
            return
        if not self.loading:
            self.load_requested.emit(name, self.allow_pickle.isChecked())

    # ------------------------------------------------------------------------------ state
    def set_loading(self, name: str) -> None:
        self.loading = True
        self.set_name(name)
        self.busy.show()
        self.load_button.setEnabled(False)
        self.combo.setEnabled(False)
        self.browse_button.setEnabled(False)
        self.precision.setEnabled(False)
        self._set_message(f"Loading {name}…", HINT_COLOR)

    def set_loaded(self, info: ModelInfo, name: str) -> None:
        self._done()
        self.info = info
        remember_model(name if not Path(name).expanduser().is_dir() else info.model_id)
        self.refresh_recent()
        self.set_name(info.model_id)
        self._set_message(f"Loaded {info.model_id}", None)
        self.details.setText(describe_info(info))
        self.details.show()
        self.warning.setText(f"Warning: {warning_words(info.warning)}" if info.warning else "")
        self.warning.setVisible(bool(info.warning))
        self.retrain_button.setEnabled(True)
        self.evaluate_button.setEnabled(True)

    def show_decision_rule(self, sentence: str) -> None:
        self.decision_rule.setText(sentence)
        self.decision_rule.setVisible(bool(sentence))

    def set_failed(self, message: str) -> None:
        self._done()
        self._set_message(message, ERROR_COLOR)
        if self.info is not None:
            self.message.setText(f"{message}\n(Still using {self.info.model_id}.)")

    def _done(self) -> None:
        self.loading = False
        self.busy.hide()
        self.load_button.setEnabled(True)
        self.combo.setEnabled(True)
        self.browse_button.setEnabled(True)
        self.precision.setEnabled(True)

    def _set_message(self, text: str, colour) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("" if colour is None else f"color: {colour.name()};")

    @property
    def error(self) -> str:
        return self.message.text() if "color: #b3261e" in self.message.styleSheet() else ""
