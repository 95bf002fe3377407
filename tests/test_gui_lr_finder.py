"""The form's "Find learning rate…" dialog, offscreen, on the tiny model: the search runs in a child
process, is plotted and tabled, "Use this" fills the form's learning rate, Cancel leaves nothing behind."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from moderator_app.core.training.lr_search import RECIPE_LEARNING_RATE  # noqa: E402
from moderator_app.gui.common import settings  # noqa: E402
from moderator_app.gui.common.tasks import BackgroundTasks  # noqa: E402
from moderator_app.gui.training.form import TrainingForm  # noqa: E402

SEARCH_TIMEOUT_MS = 120_000


@pytest.fixture(autouse=True)
def private_settings(tmp_path):
    settings.use_settings_file(tmp_path / "settings.ini")
    yield
    settings.use_settings_file(None)


@pytest.fixture
def trials_temp(tmp_path, monkeypatch):
    """The child process's temporary folder (it reads TMPDIR when it starts)."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


@pytest.fixture
def form(qtbot, tiny_model_dir, synthetic_csv):
    tasks = BackgroundTasks()
    form = TrainingForm(tasks)
    qtbot.addWidget(form)
    form.set_values(dict(train_file=str(synthetic_csv), model_name_or_path=str(tiny_model_dir), train_batch_size=16,
                         max_length=32, device="cpu", precision="fp32", warmup_steps=2))
    yield form
    dialog = form.lr_finder.dialog
    if dialog is not None and dialog.is_running:  # never leave a search behind
        dialog.cancel()
        qtbot.waitUntil(lambda: not dialog.is_running, timeout=SEARCH_TIMEOUT_MS)
    tasks.wait(10_000)


def open_dialog(qtbot, form, min_lr, max_lr, trials, steps):
    qtbot.mouseClick(form.lr_finder.button, Qt.MouseButton.LeftButton)
    dialog = form.lr_finder.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.min_lr.setText(min_lr)
    dialog.max_lr.setText(max_lr)
    dialog.trial_count.setValue(trials)
    dialog.steps.setValue(steps)
    return dialog


def leftovers(folder):
    return [path.name for path in folder.iterdir() if path.name.startswith("moderator-app-lr-search")]


def test_search_plots_the_trials_and_use_this_sets_the_learning_rate(qtbot, form, trials_temp):
    assert form.fields["learning_rate"].value() == RECIPE_LEARNING_RATE
    dialog = open_dialog(qtbot, form, "1e-5", "1e-2", 2, 4)
    with qtbot.waitSignal(dialog.search_ended, timeout=SEARCH_TIMEOUT_MS):
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
        assert dialog.is_running and dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()
    result = dialog.result
    assert result is not None and not result.cancelled, dialog.status.text()
    assert [trial.learning_rate for trial in result.trials] == [1e-5, RECIPE_LEARNING_RATE, 1e-2]
    rates, losses = dialog.plot.loss_curve.getOriginalDataset()
    assert list(rates) == [trial.learning_rate for trial in result.trials if not trial.diverged]
    assert list(losses) == [trial.val_loss for trial in result.trials if not trial.diverged]
    assert dialog.plot.getPlotItem().ctrl.logXCheck.isChecked()  # a log axis for the learning rate
    assert dialog.plot.recipe_line.value() == pytest.approx(-4.69897)  # log10(2e-5)
    assert dialog.table.rowCount() == 3 and "recipe" in dialog.table.item(1, 4).text()
    assert "recommended" in "".join(dialog.table.item(row, 4).text() for row in range(3))
    assert dialog.progress.value() == dialog.progress.maximum()
    assert "Recommended" in dialog.recommendation.text()

    # the recommended row is selected: "Use this" sets the form's learning rate to it and closes the dialog
    assert dialog.selected_rate() == result.recommended and dialog.use_button.isEnabled()
    qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert form.fields["learning_rate"].value() == float(f"{result.recommended:.2g}")
    assert not dialog.isVisible()
    assert leftovers(trials_temp) == []


def test_cancel_ends_the_search_and_leaves_nothing(qtbot, form, trials_temp):
    dialog = open_dialog(qtbot, form, "1e-6", "1e-2", 12, 1000)  # 12 trials of a whole epoch (27 steps) each
    with qtbot.waitSignal(dialog.search_ended, timeout=SEARCH_TIMEOUT_MS):
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.progress.value() >= 2, timeout=SEARCH_TIMEOUT_MS)
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    result = dialog.result
    assert result is not None and result.cancelled and len(result.trials) < 12
    assert dialog.status.text().startswith("Cancelled after")
    assert dialog.start_button.isEnabled()
    assert leftovers(trials_temp) == []
    assert form.fields["learning_rate"].value() == RECIPE_LEARNING_RATE  # nothing chosen


def test_bad_settings_are_said_in_the_dialog_and_start_nothing(qtbot, form):
    dialog = open_dialog(qtbot, form, "1e-3", "1e-5", 3, 4)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert not dialog.is_running
    assert 'The range is empty: "From" (0.001) must be below "To"' in dialog.status.text()
    dialog.min_lr.setText("1e-6")
    form.fields["train_file"].set_value("")
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert not dialog.is_running and "Training file" in dialog.status.text()
