"""Live pyqtgraph plots of a training run, and the run's history they draw from.

The plots never redraw on their own: `RunMonitor` collects engine events and calls `redraw()` from
a timer at most ten times a second, however fast the steps come."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

SMOOTHING = 0.9  # EMA weight of the past, as TensorBoard's smoothing slider

RAW_COLOR = QColor(90, 140, 220, 110)
SMOOTH_COLOR = QColor(31, 95, 191)
VALIDATION_COLOR = QColor(214, 69, 65)
ACCURACY_COLOR = QColor(46, 139, 87)
F1_COLOR = QColor(230, 145, 30)
BASELINE_COLOR = QColor(120, 120, 120)
# a multi-label run's categories, one colour each, after the run's own four (Okabe-Ito, kind to colour-blind eyes)
CATEGORY_COLORS = (QColor(204, 121, 167), QColor(0, 114, 178), QColor(213, 94, 0), QColor(0, 158, 115),
                   QColor(86, 180, 233), QColor(240, 228, 66), QColor(0, 0, 0))


@dataclass
class RunHistory:
    """Per-step training losses (raw and smoothed) and per-epoch validation metrics."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    epoch_numbers: list[int] = field(default_factory=list)
    epoch_steps: list[int] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    f1s: list[float] = field(default_factory=list)
    baselines: list[float] = field(default_factory=list)  # majority-class baseline per epoch
    # a multi-label run: each category's F1 on its known validation rows, one value per epoch (NaN: not reported)
    category_f1s: dict[str, list[float]] = field(default_factory=dict)
    _ema: float = 0.0
    _ema_count: int = 0

    def add_step(self, step: int, loss: float) -> None:
        self.steps.append(step)
        self.losses.append(loss)
        # exponential moving average, debiased so that the first points are not pulled toward 0
        self._ema = SMOOTHING * self._ema + (1.0 - SMOOTHING) * loss
        self._ema_count += 1
        self.smoothed.append(self._ema / (1.0 - SMOOTHING ** self._ema_count))

    def add_epoch(self, epoch: int, step: int, val_loss: float, accuracy: float, f1: float,
                  baseline: float = float("nan"), categories: dict | None = None) -> None:
        self.baselines.append(baseline)
        self.epoch_numbers.append(epoch)
        self.epoch_steps.append(step)
        self.val_losses.append(val_loss)
        self.accuracies.append(accuracy)
        self.f1s.append(f1)
        for name in categories or {}:
            self.category_f1s.setdefault(name, [float("nan")] * (len(self.epoch_numbers) - 1))
        for name, values in self.category_f1s.items():
            value = ((categories or {}).get(name) or {}).get("f1")
            values.append(float("nan") if value is None else float(value))

    def keep_until(self, step: int) -> None:
        """Forget everything after `step` (a resumed run repeats nothing, but a checkpoint may be older)."""
        while self.steps and self.steps[-1] > step:
            self.steps.pop(), self.losses.pop(), self.smoothed.pop()
        while self.epoch_steps and self.epoch_steps[-1] > step:
            for values in (self.epoch_numbers, self.epoch_steps, self.val_losses, self.accuracies, self.f1s,
                           self.baselines, *self.category_f1s.values()):
                values.pop()


def _theme() -> tuple[QColor, QColor]:
    palette = QApplication.palette()
    return palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)


class _Plot(pg.PlotWidget):
    def __init__(self, title: str, x_label: str, y_label: str):
        background, foreground = _theme()
        super().__init__(background=background)
        self.setMinimumSize(260, 200)
        item = self.getPlotItem()
        item.setTitle(title, color=foreground.name(), size="10pt")
        for side, label in (("bottom", x_label), ("left", y_label)):
            axis = item.getAxis(side)
            axis.setLabel(label, color=foreground.name())
            axis.setPen(foreground)
            axis.setTextPen(foreground)
            axis.enableAutoSIPrefix(False)
        item.showGrid(x=True, y=True, alpha=0.12)
        item.setMenuEnabled(False)
        legend_background = QColor(background)
        legend_background.setAlpha(150)  # curves behind the legend stay visible
        self.legend = item.addLegend(offset=(-8, 8), labelTextColor=foreground, brush=pg.mkBrush(legend_background))

    def _integer_ticks(self, count: int) -> None:
        axis = self.getPlotItem().getAxis("bottom")
        if count <= 15:
            axis.setTickSpacing(1, 1)
        else:
            axis.setTickSpacing()


class LossPlot(_Plot):
    """Training loss per step (raw and smoothed) and validation loss per epoch, against the step."""

    def __init__(self):
        super().__init__("Loss", "step", "loss")
        item = self.getPlotItem()
        self.raw_curve = item.plot(pen=pg.mkPen(RAW_COLOR, width=1), name="training loss (per step)")
        self.raw_curve.setDownsampling(auto=True, method="peak")  # long runs: draw at most ~2 points a pixel
        self.raw_curve.setClipToView(True)
        self.smoothed_curve = item.plot(pen=pg.mkPen(SMOOTH_COLOR, width=2.2), name="training loss (smoothed)",
                                        antialias=True)
        self.validation_curve = _epoch_curve(item, VALIDATION_COLOR, "o", "validation loss (per epoch)")

    def redraw(self, history: RunHistory) -> None:
        steps = np.asarray(history.steps, dtype=float)
        self.raw_curve.setData(steps, np.asarray(history.losses, dtype=float))
        self.smoothed_curve.setData(steps, np.asarray(history.smoothed, dtype=float))
        self.validation_curve.setData(np.asarray(history.epoch_steps, dtype=float),
                                      np.asarray(history.val_losses, dtype=float))


def _epoch_curve(item, color: str, symbol: str, name: str):
    """A line with a marker per epoch."""
    return item.plot(pen=pg.mkPen(color, width=2), symbol=symbol, symbolSize=7, symbolPen=pg.mkPen(color),
                     symbolBrush=pg.mkBrush(color), name=name, antialias=True)


class MetricsPlot(_Plot):
    """Validation accuracy and macro F1 per epoch; for a multi-label run also each category's F1 (on its
    known rows), a curve per category added when its first epoch arrives."""

    def __init__(self):
        super().__init__("Validation accuracy and F1", "epoch", "score")
        item = self.getPlotItem()
        item.setYRange(0.0, 1.0, padding=0.02)
        item.setXRange(1, 2)
        self.accuracy_curve = _epoch_curve(item, ACCURACY_COLOR, "o", "accuracy")
        self.f1_curve = _epoch_curve(item, F1_COLOR, "s", "F1 (macro)")
        self.baseline_curve = item.plot(pen=pg.mkPen(BASELINE_COLOR, width=2, style=Qt.PenStyle.DashLine),
                                        name="majority baseline (accuracy)", antialias=True)
        self.category_curves: dict[str, pg.PlotDataItem] = {}

    def redraw(self, history: RunHistory) -> None:
        epochs = np.asarray(history.epoch_numbers, dtype=float)
        for name, values in history.category_f1s.items():
            if name not in self.category_curves:
                color = CATEGORY_COLORS[len(self.category_curves) % len(CATEGORY_COLORS)]
                self.category_curves[name] = _epoch_curve(self.getPlotItem(), color, "t", f"F1 {name}")
            self.category_curves[name].setData(epochs, np.asarray(values, dtype=float), connect="finite")
        self.accuracy_curve.setData(epochs, np.asarray(history.accuracies, dtype=float))
        self.f1_curve.setData(epochs, np.asarray(history.f1s, dtype=float))
        self.baseline_curve.setData(epochs, np.asarray(history.baselines, dtype=float), connect="finite")
        self._integer_ticks(len(history.epoch_numbers))
        if len(epochs):
            self.getPlotItem().setXRange(1, max(2.0, epochs[-1]), padding=0.05)
