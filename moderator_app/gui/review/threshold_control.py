"""The threshold slider of a binary model, its value, and the validation precision and recall at its
position when the model has an operating point (core.evaluation.operating_point)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

THRESHOLD_STEPS = 100


class ThresholdControl(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.caption = QLabel("Threshold")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, THRESHOLD_STEPS)
        self.slider.setValue(THRESHOLD_STEPS // 2)
        self.slider.setMinimumWidth(120)
        self.value_label = QLabel()
        # the model's operating point, whose validation curve gives the precision and recall at the
        # slider's position; None for models without one
        self.operating_point = None
        self.validation_label = QLabel()
        self.validation_label.setStyleSheet("color: #555;")
        self.validation_label.setToolTip("The flagged label's precision and recall on the model's validation set "
                                         "at this threshold (calibrated probabilities)")
        self.validation_label.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.caption, self.slider, self.value_label, self.validation_label):
            layout.addWidget(widget)

    def value(self) -> float:
        return self.slider.value() / THRESHOLD_STEPS

    def set_value(self, value: float) -> None:
        self.slider.setValue(round(value * THRESHOLD_STEPS))

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
        """The value beside the slider, and the validation scores there when known."""
        self.value_label.setText(f"{self.value():.2f}")
        point = self.operating_point
        scores = point.precision_recall_at(self.value()) if point is not None else None
        if scores is None:
            self.validation_label.clear()
        else:
            self.validation_label.setText(f"validation: precision {scores[0]:.2f} · recall {scores[1]:.2f}")
        self.validation_label.setVisible(scores is not None)
