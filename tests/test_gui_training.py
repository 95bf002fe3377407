"""The Training tab end to end, offscreen, on the tiny model: run, stop and resume, failures, closing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QUrl  # noqa: E402
from PySide6.QtGui import QDesktopServices  # noqa: E402

from moderator_app.gui.common import dialogs, settings  # noqa: E402
from moderator_app.gui.main_window import MainWindow  # noqa: E402

RUN_TIMEOUT_MS = 90_000


@pytest.fixture(autouse=True)
def private_settings(tmp_path):
    settings.use_settings_file(tmp_path / "settings.ini")
    yield tmp_path / "settings.ini"
    settings.use_settings_file(None)


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.first_shown, timeout=10_000):
        window.show()
    yield window
    tab = window.training_tab
    if tab.is_running:  # never leave a thread behind, whatever the test did
        tab.stop()
        qtbot.waitUntil(lambda: not tab.is_running, timeout=RUN_TIMEOUT_MS)


def fill_form(qtbot, tab, **values):
    tab.form.set_values(values)
    qtbot.waitUntil(lambda: tab.start_button.isEnabled(), timeout=30_000)


def quick_settings(model_dir: Path, train_csv: Path, output: Path, **overrides):
    values = dict(train_file=str(train_csv), model_name_or_path=str(model_dir), output_dir=str(output),
                  num_epochs=2, train_batch_size=32, eval_batch_size=64, max_length=32, logging_steps=1,
                  learning_rate=1e-3, warmup_steps=2, early_stopping_patience=0, device="cpu", precision="fp32")
    values.update(overrides)
    return values


def test_run_from_the_form_plots_every_step_and_fills_the_table(qtbot, window, tiny_model_dir, synthetic_csv,
                                                                tmp_path, monkeypatch):
    tab = window.training_tab
    assert not tab.review_available()
    reviewed = []
    window.set_review_handler(reviewed.append)
    assert tab.review_available()
    output = tmp_path / "run"
    fill_form(qtbot, tab, **quick_settings(tiny_model_dir, synthetic_csv, output))
    shown = []  # what the progress line said, in order
    show = tab.monitor.progress_label.setText
    monkeypatch.setattr(tab.monitor.progress_label, "setText", lambda text: (shown.append(text), show(text)))

    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(tab.start_button, qtbot_left())
        assert tab.is_running and not tab.form.isEnabled() and not tab.start_button.isEnabled()
        assert tab.stop_button.isEnabled()
    result = finished.args[0]
    qtbot.waitUntil(lambda: not tab.is_running, timeout=10_000)
    # before the first step the Run page says what happens, phase by phase (a log line each, the latest
    # in the progress line), never a blank page
    log = tab.monitor.log_view.toPlainText()
    phases = ["Starting the training process", "Loading the tokenizer of", "Reading the data",
              "Loading the base model", "Tokenizing 432 training and 48 validation rows", "Training: the first step"]
    assert all(phase in log for phase in phases)
    assert [log.index(phase) for phase in phases] == sorted(log.index(phase) for phase in phases)
    first_progress = next(index for index, text in enumerate(shown) if text.startswith("Epoch 1 of 2"))
    assert shown[0] == "Starting the training process…"
    assert any(text.startswith(tuple(phases[1:])) for text in shown[1:first_progress])

    assert result.reason == "completed" and result.global_step == 28  # 432 training rows / 32, twice
    monitor = tab.monitor
    steps, losses = monitor.loss_plot.raw_curve.getOriginalDataset()
    assert list(steps) == list(range(1, result.global_step + 1))  # one point per step
    assert len(monitor.loss_plot.smoothed_curve.getOriginalDataset()[0]) == result.global_step
    assert all(loss > 0 for loss in losses)
    assert len(monitor.loss_plot.validation_curve.getOriginalDataset()[0]) == 2
    assert len(monitor.metrics_plot.accuracy_curve.getOriginalDataset()[0]) == 2
    table = monitor.table
    assert table.rowCount() == 2
    assert [table.horizontalHeaderItem(c).text() for c in range(7)] == [
        "Training Loss", "Epoch", "Step", "Validation Loss", "Accuracy", "Baseline", "F1"]
    assert [table.item(row, 1).text() for row in range(2)] == ["1", "2"]
    assert [table.item(row, 2).text() for row in range(2)] == ["14", "28"]
    assert table.best_epoch == result.best_epoch and table.item(table.best_row(), 0).font().bold()
    assert (output / "config.json").is_file() and (output / "model.safetensors").is_file()
    assert (output / "training_config.json").is_file()
    assert monitor.progress.value() == monitor.progress.maximum()

    # the run's end offers the model: to Review (a handler is connected) and in the file manager
    assert monitor.result_bar.isVisible() and monitor.open_in_review_button.isVisible()
    assert not monitor.resume_button.isVisible()
    qtbot.mouseClick(monitor.open_in_review_button, qtbot_left())
    assert reviewed == [str(output)]
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    qtbot.mouseClick(monitor.show_folder_button, qtbot_left())
    assert opened == [QUrl.fromLocalFile(str(output.resolve()))]
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)  # no file manager: say where it is
    qtbot.mouseClick(monitor.show_folder_button, qtbot_left())
    assert tab.error_dialog.isVisible() and str(output.resolve()) in tab.error_dialog.text()
    tab.error_dialog.accept()
    assert tab.form.isEnabled() and tab.start_button.isEnabled()


def test_stop_mid_run_leaves_a_checkpoint_that_resume_continues(qtbot, window, tiny_model_dir, synthetic_csv,
                                                                 tmp_path):
    tab = window.training_tab
    output = tmp_path / "stopped"
    fill_form(qtbot, tab, **quick_settings(tiny_model_dir, synthetic_csv, output, num_epochs=4))
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        tab.start_button.click()
        qtbot.waitUntil(lambda: len(tab.monitor.history.steps) >= 2, timeout=RUN_TIMEOUT_MS)
        tab.stop_button.click()
        assert not tab.stop_button.isEnabled() and tab.stop_button.text() == "Stopping…"
    stopped = finished.args[0]
    qtbot.waitUntil(lambda: not tab.is_running, timeout=10_000)
    assert stopped.reason == "stopped" and 2 <= stopped.global_step < 56
    state = json.loads((output / "checkpoint" / "trainer_state.json").read_text())
    assert state["global_step"] == stopped.global_step
    monitor = tab.monitor
    assert monitor.resume_button.isVisible() and not monitor.open_in_review_button.isVisible()
    assert len(monitor.history.steps) == stopped.global_step

    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        monitor.resume_button.click()
    resumed = finished.args[0]
    qtbot.waitUntil(lambda: not tab.is_running, timeout=10_000)
    assert resumed.reason == "completed" and resumed.global_step == 56
    # the curve continues where it stopped: still exactly one point per step
    assert list(monitor.loss_plot.raw_curve.getOriginalDataset()[0]) == list(range(1, 57))
    assert monitor.table.rowCount() == 4
    assert not (output / "checkpoint").exists()  # a completed run needs no checkpoint


def test_an_invalid_field_keeps_start_disabled(qtbot, window, tiny_model_dir, synthetic_csv, tmp_path):
    tab = window.training_tab
    form = tab.form
    fill_form(qtbot, tab, **quick_settings(tiny_model_dir, synthetic_csv, tmp_path / "out"))
    learning_rate = form.fields["learning_rate"]

    for text, expected in (("fast", "not a number"), ("-1", "must be > 0"), ("", "enter a number")):
        learning_rate.line.setText(text)
        qtbot.waitUntil(lambda: expected in learning_rate.message.text())
        assert learning_rate.invalid and not tab.start_button.isEnabled()
        assert "Learning rate" in tab.problem_label.text()
        tab.start()  # even a direct call refuses: nothing runs
        assert not tab.is_running
        if tab.error_dialog is not None:
            tab.error_dialog.close()
    learning_rate.line.setText("3e-5")
    qtbot.waitUntil(lambda: tab.start_button.isEnabled())
    assert not learning_rate.invalid and not learning_rate.message.isVisible()

    form.fields["adam_beta2"].line.setText("1.5")
    qtbot.waitUntil(lambda: not tab.start_button.isEnabled())
    assert form.fields["adam_beta2"].invalid
    form.fields["adam_beta2"].line.setText("0.999")
    form.fields["output_dir"].line.setText("")
    qtbot.waitUntil(lambda: tab.problem_label.text() == "Choose an output folder.")
    assert not tab.start_button.isEnabled()


def test_a_failing_run_shows_the_error_and_makes_the_form_usable_again(qtbot, window, tiny_model_dir,
                                                                       synthetic_csv, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    tab = window.training_tab
    fill_form(qtbot, tab, **quick_settings(model, synthetic_csv, tmp_path / "out"))
    shutil.rmtree(model)  # gone after the form checked it: the worker fails
    with qtbot.waitSignal(tab.run_failed, timeout=RUN_TIMEOUT_MS) as failed:
        tab.start_button.click()
    qtbot.waitUntil(lambda: not tab.is_running, timeout=10_000)
    message = failed.args[0]
    assert str(model) in message and "no such model folder" in message
    dialog = tab.error_dialog
    assert dialog is not None and dialog.isVisible() and dialog.text() == message
    assert "failed" in tab.monitor.progress_label.text()
    dialog.accept()
    assert tab.form.isEnabled() and tab.start_button.isEnabled() and not tab.stop_button.isEnabled()


def test_closing_during_a_run_asks_stops_and_ends_the_thread(qtbot, window, tiny_model_dir, synthetic_csv,
                                                            tmp_path, monkeypatch):
    tab = window.training_tab
    output = tmp_path / "closing"
    fill_form(qtbot, tab, **quick_settings(tiny_model_dir, synthetic_csv, output, num_epochs=4))
    tab.start_button.click()
    worker_finished = []
    tab.run_worker.finished.connect(lambda: worker_finished.append(True))
    qtbot.waitUntil(lambda: len(tab.monitor.history.steps) >= 1, timeout=RUN_TIMEOUT_MS)

    answers = []
    monkeypatch.setattr(dialogs, "confirm", lambda *args, **kwargs: answers.append(args[1]) or False)
    window.close()  # "Keep training"
    assert window.isVisible() and tab.is_running and answers == ["Training is running"]

    monkeypatch.setattr(dialogs, "confirm", lambda *args, **kwargs: True)
    window.close()  # "Stop and quit": the window closes once the thread has finished
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=RUN_TIMEOUT_MS)
    assert worker_finished == [True] and not tab.is_running
    stopped = tab.last_result
    assert stopped is not None and stopped.reason == "stopped"
    assert (output / "checkpoint" / "trainer_state.json").is_file()

    # the next session offers to resume the stopped run in the remembered output folder, with its past
    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    tab = again.training_tab
    assert tab.form.values()["output_dir"] == str(output)
    assert tab.resume_button.isVisible()
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        tab.resume_button.click()
        assert tab.monitor.history.steps == list(range(1, stopped.global_step + 1))
    qtbot.waitUntil(lambda: not tab.is_running, timeout=10_000)
    assert finished.args[0].reason == "completed" and finished.args[0].global_step == 56
    assert tab.monitor.history.steps == list(range(1, 57)) and tab.monitor.table.rowCount() == 4


def test_the_data_page_previews_the_file_and_reports_it_before_training(qtbot, window, tiny_model_dir,
                                                                        synthetic_csv, tmp_path):
    tab = window.training_tab
    fill_form(qtbot, tab, **quick_settings(tiny_model_dir, synthetic_csv, tmp_path / "out"))
    preview = tab.data_panel.train_preview.table
    qtbot.waitUntil(lambda: preview.columnCount() == 2)
    assert [preview.horizontalHeaderItem(c).text() for c in range(2)] == ["text", "label"]
    assert preview.rowCount() == 20
    assert tab.form.fields["text_column"].combo.currentText() == "text"
    assert tab.form.fields["label_column"].columns() == ["text", "label"]
    qtbot.waitUntil(lambda: tab.data_panel.report_state == "ok", timeout=30_000)
    report = tab.data_panel.report.toPlainText()
    assert "rows read: 480" in report and "hate 240" in report and "validation rows: 48" in report

    one_class = tmp_path / "one-class.csv"
    one_class.write_text("text,label\n" + "".join(f"some text {i},hate\n" for i in range(10)))
    tab.form.fields["train_file"].line.setText(str(one_class))
    qtbot.waitUntil(lambda: tab.data_panel.report_state == "error", timeout=30_000)
    assert "single class" in tab.data_panel.report.toPlainText()
    qtbot.waitUntil(lambda: not tab.start_button.isEnabled())
    assert "data report" in tab.problem_label.text()

    tab.form.fields["train_file"].line.setText(str(tmp_path / "missing.csv"))
    qtbot.waitUntil(lambda: tab.form.fields["train_file"].invalid)
    assert "No such file" in tab.form.fields["train_file"].message.text()


def qtbot_left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_start_is_disabled_with_the_reason_for_a_folder_that_cannot_be_used(qtbot, window, tiny_model_dir,
                                                                             synthetic_csv, tmp_path):
    tab = window.training_tab
    fill_form(qtbot, tab, **quick_settings(tiny_model_dir, synthetic_csv, tmp_path / "out"))
    output = tab.form.fields["output_dir"]
    assert output.message.text() == "A new folder will be created."
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "README.md").write_text("my notes")
    for folder, expected in ((tmp_path / "mine", "not an earlier run of this app"),
                             (tiny_model_dir, "the base model's folder")):
        output.line.setText(str(folder))
        qtbot.waitUntil(lambda: expected in output.message.text() and not tab.start_button.isEnabled())
        assert output.invalid and '"Output folder"' in output.message.text()
        assert "--output" not in output.message.text() and "Output folder" in tab.problem_label.text()


def test_an_earlier_run_is_replaced_only_after_asking_and_the_hint_follows_the_run(
        qtbot, window, tiny_model_dir, synthetic_csv, tmp_path, monkeypatch):
    from moderator_app.core.training.engine import train
    from test_engine import tiny_config

    output = tmp_path / "out"
    train(tiny_config(tiny_model_dir, synthetic_csv, output, num_epochs=1, seed=1))
    tab = window.training_tab
    fill_form(qtbot, tab, **quick_settings(tiny_model_dir, synthetic_csv, output, num_epochs=1, seed=2))
    field = tab.form.fields["output_dir"]
    assert field.message.text() == "Holds an earlier run; Start asks before replacing it."

    asked = []
    monkeypatch.setattr(dialogs, "confirm", lambda *args, **kwargs: asked.append(args[2]) or False)
    tab.start_button.click()
    assert not tab.is_running and str(output) in asked[0]
    assert json.loads((output / "training_config.json").read_text())["seed"] == 1  # untouched

    monkeypatch.setattr(dialogs, "confirm", lambda *args, **kwargs: True)
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS):
        tab.start_button.click()
        assert field.message.text() == "This run writes into this folder."
    qtbot.waitUntil(lambda: not tab.is_running, timeout=10_000)
    assert json.loads((output / "training_config.json").read_text())["seed"] == 2
    assert field.message.text() == "Holds an earlier run; Start asks before replacing it."


def test_the_run_page_says_what_happens_while_no_steps_come(window):
    from moderator_app.core.training.events import StatusEvent, StepEvent

    monitor = window.training_tab.monitor
    monitor.begin(2, 1, resumed=False)
    monitor.handle_event(StepEvent(28, 50, 1.1, 0.5, 1e-5, 10.0, 20.0))
    monitor.flush()
    monitor.begin(2, 1, resumed=True)
    monitor.handle_event(StatusEvent("Restoring checkpoint…"))
    monitor.flush()
    assert monitor.progress_label.text() == "Restoring checkpoint…"


def test_the_form_offers_allow_pickle_and_names_settings_by_their_labels(window):
    from moderator_app.core.config import setting_label

    form = window.training_tab.form
    assert form.fields["allow_pickle"].value() is False
    assert form.fields["allow_pickle"].label.text() == setting_label("allow_pickle") == "Allow pickle weights"
    assert form.fields["max_length"].spin.maximum() == 8192 and form.fields["seed"].spin.maximum() == 2**31 - 1


def test_a_pickle_only_base_model_waits_for_the_pickle_checkbox(qtbot, window, tiny_model_dir, synthetic_csv,
                                                                 tmp_path):
    import torch
    from safetensors.torch import load_file

    model = tmp_path / "bin-model"
    shutil.copytree(tiny_model_dir, model)
    torch.save(load_file(model / "model.safetensors"), model / "pytorch_model.bin")
    (model / "model.safetensors").unlink()
    tab = window.training_tab
    tab.form.set_values(quick_settings(model, synthetic_csv, tmp_path / "out"))
    field = tab.form.fields["model_name_or_path"]
    qtbot.waitUntil(lambda: "pytorch_model.bin" in field.message.text(), timeout=30_000)
    assert field.invalid and "\"Allow pickle weights\"" in field.message.text() and not tab.start_button.isEnabled()
    tab.form.fields["allow_pickle"].check.setChecked(True)
    qtbot.waitUntil(lambda: tab.start_button.isEnabled(), timeout=30_000)
    assert not field.invalid
