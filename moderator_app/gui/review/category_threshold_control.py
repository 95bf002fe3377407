"""A multi-label model's thresholds in the Review tab: the binary slider (threshold_control.py) with a
category chosen beside it. Moving the slider moves the chosen category's threshold only; the validation
precision and recall shown are that category's, from its own curve in operating_point.json
(`categories`); Reset takes the chosen category back to the model's threshold, "Reset all" every one.

The thresholds in use (`thresholds()`) are what the table flags by, what an undecided row's boxes
start from and what a decision records; the model's own stay in `model_thresholds`."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QToolButton, QWidget

from moderator_app.gui.review.threshold_control import ThresholdControl


class CategoryPoint:
    """One category's operating point as ThresholdControl reads one: the model's threshold for it and the
    validation precision and recall at another (None: the model saved no curve for the category)."""

    def __init__(self, category: str, threshold: float, saved_point=None):
        self.category, self.threshold, self.saved_point = category, threshold, saved_point
        self.origin = ("calibrated on its validation rows" if saved_point is not None and category in
                       saved_point.categories else "the default: the model saved no operating point for it")

    def precision_recall_at(self, value: float) -> tuple[float | None, float] | None:
        if self.saved_point is None:
            return None
        return self.saved_point.category_precision_recall_at(self.category, value)


class CategoryThresholdControl(ThresholdControl):
    """`changed` is emitted when a threshold in use changes (moved, reset, or set)."""

    def __init__(self, parent: QWidget | None = None):
        self.model_thresholds: dict[str, float] = {}
        self.in_use: dict[str, float] = {}
        self.saved_point = None  # the model's OperatingPoint, None without operating_point.json
        self._switching = False  # the slider shows another category: nothing in use changes
        super().__init__(parent)
        self.caption.setText("Threshold of")
        self.category_combo = QComboBox()
        self.category_combo.setToolTip("The category whose threshold the slider moves")
        self.category_combo.currentIndexChanged.connect(self._show_category)
        self.layout().insertWidget(1, self.category_combo)
        self.reset_all_button = QToolButton()
        self.reset_all_button.setText("Reset all")
        self.reset_all_button.setAutoRaise(True)
        self.reset_all_button.setToolTip("Every category back to the model's threshold")
        self.reset_all_button.clicked.connect(self.reset_all)
        self.layout().addWidget(self.reset_all_button)
        self.setVisible(False)

    # ------------------------------------------------------------------------------ the model
    def set_model(self, model_thresholds: dict[str, float] | None, saved_point=None) -> None:
        """A multi-label model's own thresholds (None: not a multi-label model, the control hidden) and its
        saved OperatingPoint: every category's threshold in use starts at the model's."""
        self.model_thresholds = dict(model_thresholds or {})
        self.saved_point = saved_point
        chosen = self.category()
        self.category_combo.blockSignals(True)
        self.category_combo.clear()
        self.category_combo.addItems(list(self.model_thresholds))
        self.category_combo.setCurrentIndex(max(self.category_combo.findText(chosen or ""), 0))
        self.category_combo.blockSignals(False)
        self.setVisible(bool(self.model_thresholds))
        before, self.in_use = self.in_use, dict(self.model_thresholds)
        self._show_category()
        if self.in_use and self.in_use != before:
            self.changed.emit()

    def category(self) -> str | None:
        return self.category_combo.currentText() or None

    def choose(self, category: str) -> None:
        """Show `category`'s threshold on the slider."""
        self.category_combo.setCurrentIndex(self.category_combo.findText(category))

    # ------------------------------------------------------------------------------ thresholds in use
    def thresholds(self) -> dict[str, float]:
        return dict(self.in_use)

    def set_thresholds(self, values: dict[str, float]) -> None:
        """Thresholds in use for the categories named (the others stay)."""
        known = {name: float(value) for name, value in values.items() if name in self.in_use}
        if all(self.in_use[name] == value for name, value in known.items()):
            return
        self.in_use.update(known)
        self._show_category()
        self.changed.emit()

    def reset_all(self) -> None:
        """Every category back to the model's threshold, in one click."""
        self.set_thresholds(self.model_thresholds)

    # ------------------------------------------------------------------------------ the slider
    def _show_category(self, *_args) -> None:
        """The slider, its validation figures and Reset for the chosen category."""
        name = self.category()
        self._switching = True
        try:
            self.operating_point = (None if name is None else
                                    CategoryPoint(name, self.model_thresholds[name], self.saved_point))
            if name is not None:
                self.configure(name)
                self.set_value(self.in_use[name])
            self.show_value()
        finally:
            self._switching = False

    def configure(self, flagged_label: str | None) -> None:
        super().configure(flagged_label)
        self.setVisible(bool(self.model_thresholds))
        if flagged_label is not None:
            tip = (f"Flag '{flagged_label}' when its probability is at least this. The table, the category boxes "
                   "of undecided rows and the decisions follow at once.")
            self.slider.setToolTip(tip)
            self.caption.setToolTip(tip)

    def _changed(self) -> None:
        name = self.category()
        if self._switching or name is None:
            self.show_value()
            return
        self.in_use[name] = self.value()
        super()._changed()

    def show_value(self) -> None:
        super().show_value()
        if hasattr(self, "reset_all_button"):
            self.reset_all_button.setEnabled(any(abs(self.in_use[name] - value) > 1e-9
                                                 for name, value in self.model_thresholds.items()))
