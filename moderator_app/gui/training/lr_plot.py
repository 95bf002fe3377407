"""Validation loss against the learning rate (log axis), for the learning-rate finder: one point per
trial, diverged trials as crosses along the top, the recipe's 2e-5 as a dashed line, the chosen rate
as a solid one."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from moderator_app.core.training.lr_search import RECIPE_LEARNING_RATE, TrialResult
from moderator_app.gui.training.plots import BASELINE_COLOR, SMOOTH_COLOR, VALIDATION_COLOR, _Plot


class LearningRatePlot(_Plot):
    def __init__(self):
        super().__init__("Validation loss after each trial", "learning rate (log scale)", "validation loss")
        item = self.getPlotItem()
        item.setLogMode(x=True, y=False)
        self.legend.anchor(itemPos=(0, 1), parentPos=(0, 1), offset=(10, -10))  # bottom left: the curve's minimum is
        # usually in the middle, its ends high
        self.loss_curve = item.plot(pen=pg.mkPen(SMOOTH_COLOR, width=2), symbol="o", symbolSize=8,
                                    symbolPen=pg.mkPen(SMOOTH_COLOR), symbolBrush=pg.mkBrush(SMOOTH_COLOR),
                                    name="validation loss", antialias=True)
        self.diverged_points = item.plot(pen=None, symbol="x", symbolSize=11, symbolPen=pg.mkPen(VALIDATION_COLOR, width=2),
                                         name="diverged")
        # log mode: an InfiniteLine's position is in log10 units
        self.recipe_line = pg.InfiniteLine(math.log10(RECIPE_LEARNING_RATE), angle=90,
                                           pen=pg.mkPen(BASELINE_COLOR, width=1.5, style=Qt.PenStyle.DashLine),
                                           label=f"recipe {RECIPE_LEARNING_RATE:g}",
                                           labelOpts=dict(position=0.92, color=BASELINE_COLOR))
        item.addItem(self.recipe_line)
        self.chosen_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(VALIDATION_COLOR, width=1.5), label="",
                                           labelOpts=dict(position=0.08, color=VALIDATION_COLOR))
        self.chosen_line.hide()
        item.addItem(self.chosen_line)

    def show_trials(self, trials: list[TrialResult]) -> None:
        ordered = sorted(trials, key=lambda trial: trial.learning_rate)
        scored = [trial for trial in ordered if not trial.diverged]
        self.loss_curve.setData(np.array([trial.learning_rate for trial in scored], dtype=float),
                                np.array([trial.val_loss for trial in scored], dtype=float))
        diverged = [trial.learning_rate for trial in ordered if trial.diverged]
        top = max((trial.val_loss for trial in scored), default=1.0)
        self.diverged_points.setData(np.array(diverged, dtype=float), np.full(len(diverged), top, dtype=float))
        self._decade_ticks([trial.learning_rate for trial in ordered])

    def _decade_ticks(self, rates: list[float]) -> None:
        """A label at each power of ten (1e-6, 1e-5 …), none between: pyqtgraph's own crowd each other."""
        axis = self.getPlotItem().getAxis("bottom")
        if not rates:
            axis.setTicks(None)
            return
        low, high = math.floor(math.log10(min(rates))), math.ceil(math.log10(max(rates)))
        axis.setTicks([[(float(power), f"1e{power}") for power in range(low, high + 1)], []])

    def mark_chosen(self, rate: float | None) -> None:
        if rate is None:
            self.chosen_line.hide()
            return
        self.chosen_line.setValue(math.log10(rate))
        self.chosen_line.label.setFormat(f"chosen {rate:.2g}")
        self.chosen_line.show()
