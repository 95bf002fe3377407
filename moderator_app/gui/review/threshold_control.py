"""The threshold slider of a binary model, its value, the validation precision and recall at its
position when the model has an operating point (core.evaluation.operating_point), and the one-click
way back to the model's own threshold.

The slider has a hundred steps, but a threshold set from elsewhere (the model's calibrated 0.4137, a
queue's saved value, the evaluation view's line) is kept exactly until the slider is moved to
another step: the table, a batch-labelled file and the CLI's `label` then cut at the same number."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

THRESHOLD_STEPS = 100
UNDEFINED = "—"  # a precision with nothing flagged: no number describes it


def decision_sentence(flagged_label: str | None, threshold: float | None, model_threshold: float | None,
                      category_thresholds: dict[str, float] | None = None,
                      model_category_thresholds: dict[str, float] | None = None) -> str:
    """How the table's labels are decided, in one sentence that matches the slider (a multi-label
    model, `category_thresholds`: each category at its threshold in use, and where it was moved from
    the model's, `model_category_thresholds`, says so)."""
    if category_thresholds:
        model = model_category_thresholds or {}

        def moved(name: str, value: float) -> str:
            own = model.get(name)
            return "" if own is None or abs(own - value) < 1e-9 else f" (moved from the model's {own:.2f})"

        each = ", ".join(f"'{name}' when P({name}) ≥ {value:.2f}{moved(name, value)}"
                         for name, value in category_thresholds.items())
        return f"Flags each category at its own threshold: {each}."
    if flagged_label is None or threshold is None:
        return "Decides by the most probable label."
    if model_threshold is None:
        where = " (the most probable label)" if abs(threshold - 0.5) < 1e-9 else ""
        return f"Decides by threshold {threshold:.2f}: '{flagged_label}' when P({flagged_label}) ≥ {threshold:.2f}{where}."
    if abs(threshold - model_threshold) < 1e-9:
        origin = "the model's calibrated threshold"
    else:
        origin = f"moved from the model's {model_threshold:.2f}"
    return f"Decides by threshold {threshold:.2f}: '{flagged_label}' when P({flagged_label}) ≥ {threshold:.2f} ({origin})."


class ThresholdControl(QWidget):
    changed = Signal()  # the value changed: moved by the moderator, reset, or set

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.caption = QLabel("Threshold")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, THRESHOLD_STEPS)
        self.slider.setValue(THRESHOLD_STEPS // 2)
        self.slider.setMinimumWidth(120)
        self.slider.valueChanged.connect(self._on_slider_moved)
        self.exact: float | None = None  # a value set from elsewhere, while the slider sits on its step
        self.value_label = QLabel()
        # the model's operating point, whose validation curve gives the precision and recall at the
        # slider's position; None for models without one
        self.operating_point = None
        self.validation_label = QLabel()
        self.validation_label.setStyleSheet("color: #555;")
        self.validation_label.setToolTip("The flagged label's precision and recall on the model's validation set "
                                         "at this threshold (calibrated probabilities); — where nothing is flagged")
        self.validation_label.hide()
        self.reset_button = QToolButton()
        self.reset_button.setText("Reset")
        self.reset_button.setAccessibleName("Reset to the model's threshold")
        self.reset_button.setAutoRaise(True)
        self.reset_button.clicked.connect(self.reset)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.caption, self.slider, self.value_label, self.reset_button, self.validation_label):
            layout.addWidget(widget)
        self.show_value()

    def value(self) -> float:
        return self.exact if self.exact is not None else self.slider.value() / THRESHOLD_STEPS

    def set_value(self, value: float) -> None:
        before = self.value()
        self.exact = float(value)
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * THRESHOLD_STEPS))
        self.slider.blockSignals(False)
        if self.value() != before:
            self._changed()
        else:
            self.show_value()

    def _on_slider_moved(self, position: int) -> None:
        if self.exact is not None and round(self.exact * THRESHOLD_STEPS) == position:
            return
        self.exact = None  # the moderator's own step
        self._changed()

    def _changed(self) -> None:
        self.show_value()
        self.changed.emit()

    @property
    def model_threshold(self) -> float | None:
        """The model's calibrated threshold (its operating point's), None without one."""
        point = self.operating_point
        return None if point is None else point.threshold

    def reset(self) -> None:
        """Back to the model's calibrated threshold, in one click."""
        if self.model_threshold is not None:
            self.set_value(self.model_threshold)

    def configure(self, flagged_label: str | None) -> None:
        """Shown for a binary model (whose flagged label is `flagged_label`), hidden otherwise."""
        self.setVisible(flagged_label is not None)
        if flagged_label is not None:
            tip = (f"Label a row '{flagged_label}' when its probability is at least this. The table "
                   "relabels at once, from the probabilities already computed.")
            self.slider.setToolTip(tip)
            self.caption.setToolTip(tip)
        self.show_value()

    def set_operating_point(self, point) -> None:
        self.operating_point = point
        self.show_value()

    def show_value(self) -> None:
        """The value beside the slider, the validation scores there when known, and whether Reset applies."""
        self.value_label.setText(f"{self.value():.2f}")
        point = self.operating_point
        scores = point.precision_recall_at(self.value()) if point is not None else None
        if scores is None:
            self.validation_label.clear()
        else:
            precision = UNDEFINED if scores[0] is None else f"{scores[0]:.2f}"
            self.validation_label.setText(f"validation: precision {precision} · recall {scores[1]:.2f}")
        self.validation_label.setVisible(scores is not None)
        model = self.model_threshold
        self.reset_button.setEnabled(model is not None and abs(self.value() - model) > 1e-9)
        origin = getattr(point, "origin", "calibrated on its validation set")
        self.reset_button.setToolTip("This model has no calibrated threshold (no operating_point.json)" if model is None
                                     else f"Reset to the model's threshold ({model:.3f}, {origin})")
