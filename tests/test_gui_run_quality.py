"""The run page says loudly when the best epoch's model is degenerate, shows the majority baseline,
and lets the epoch table switch between training sources (issue 13, points 1 and 3)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from moderator_app.core.training.events import EpochEvent, FinishedEvent  # noqa: E402
from moderator_app.gui.training.epoch_table import (BEST_BACKGROUND, COLUMNS,  # noqa: E402
                                                    DEGENERATE_BACKGROUND)
from moderator_app.gui.training.run_monitor import RunMonitor  # noqa: E402

WARNING = "The model predicts 'not-hate' for 100% of the 100 rows … Try class weighting."


def _epoch(epoch, matrix, accuracy, warning=None, per_source=None):
    return EpochEvent(epoch=epoch, global_step=10 * epoch, train_loss=0.7, val_loss=0.6 - epoch / 100,
                      accuracy=accuracy, precision=0.5, recall=0.5, f1=0.4, confusion_matrix=matrix,
                      labels=["hate", "not-hate"], seconds=1.0, is_best=True, majority_baseline=0.6,
                      per_source=per_source or {}, warning=warning)


def _best_row_background(monitor):
    row = monitor.table.best_row()
    return monitor.table.item(row, 0).background().color()


def test_a_degenerate_best_epoch_gets_a_banner_and_no_success_colour(qtbot):
    monitor = RunMonitor()
    qtbot.addWidget(monitor)
    monitor.begin(1, 1, resumed=False)
    monitor.handle_event(_epoch(1, [[0, 40], [0, 60]], 0.6, warning=WARNING))
    monitor.flush()
    monitor.finish(FinishedEvent("/out", 1, {"val_loss": 0.59, "accuracy": 0.6, "f1": 0.37}, "completed", 10, "",
                                 warning=WARNING), review_available=False)
    assert not monitor.warning_banner.isHidden() and "class weighting" in monitor.warning_banner.text()
    assert _best_row_background(monitor) == DEGENERATE_BACKGROUND
    baseline = monitor.table.item(0, COLUMNS.index("Baseline")).text()
    assert baseline.startswith("0.6")
    assert monitor.history.baselines == [0.6]


def test_a_good_best_epoch_is_green_and_the_table_switches_source(qtbot):
    monitor = RunMonitor()
    qtbot.addWidget(monitor)
    monitor.begin(1, 1, resumed=False)
    per_source = {"davidson": dict(n=20, accuracy=0.95, precision=0.9, recall=0.9, f1=0.88, majority_baseline=0.9,
                                   confusion_matrix=[[1, 1], [0, 18]])}
    monitor.handle_event(_epoch(1, [[35, 5], [6, 54]], 0.89, per_source=per_source))
    monitor.flush()
    assert monitor.warning_banner.isHidden()
    assert _best_row_background(monitor) == BEST_BACKGROUND
    assert not monitor.source_choice.isHidden() and monitor.source_choice.count() == 2
    accuracy_column = COLUMNS.index("Accuracy")
    assert monitor.table.item(0, accuracy_column).text().startswith("0.89")
    monitor.source_choice.setCurrentIndex(1)
    assert monitor.table.item(0, accuracy_column).text().startswith("0.95")
    assert monitor.table.item(0, COLUMNS.index("Baseline")).text().startswith("0.9")
    assert _best_row_background(monitor) == BEST_BACKGROUND


def test_an_opened_configuration_keeps_its_sources(qtbot, tmp_path):
    from moderator_app.core.config import TrainingConfig
    from moderator_app.gui.common import settings
    from moderator_app.gui.main_window import MainWindow

    settings.use_settings_file(tmp_path / "settings.ini")
    try:
        window = MainWindow()
        qtbot.addWidget(window)
        form = window.training_tab.form
        sources = [{"path": "davidson.csv", "label_map": {"0": "hate", "1": "not-hate", "2": "not-hate"}}]
        form.set_config(TrainingConfig(sources=sources, class_weighting="balanced"))
        saved = form.config_for_saving()
        assert saved.sources == sources and saved.class_weighting == "balanced"
    finally:
        settings.use_settings_file(None)
