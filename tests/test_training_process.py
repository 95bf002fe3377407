"""The engine run in a child process (what the desktop app does) behaves like the engine in-process."""

import multiprocessing
import threading

import pytest

from moderator_app.core.config import ConfigError
from moderator_app.core.errors import DataError, describe_failure
from moderator_app.core.training.events import DataLoadedEvent, EpochEvent, FailedEvent, StatusEvent, StepEvent
from moderator_app.core.training.process import TrainingProcessError, train_in_subprocess
from test_engine import Recorder, tiny_config


def test_events_and_result_come_back_from_the_child(tiny_model_dir, synthetic_csv, tmp_path):
    recorder = Recorder()
    config = tiny_config(tiny_model_dir, synthetic_csv, tmp_path / "out", num_epochs=1)
    result = train_in_subprocess(config, recorder)
    assert result.reason == "completed" and result.output_dir == str(tmp_path / "out")
    # before the first step, each phase is said as it starts (the Run page shows them), the child's own first
    first_step = next(index for index, event in enumerate(recorder.events) if isinstance(event, StepEvent))
    before = [event.message if isinstance(event, StatusEvent) else type(event).__name__
              for event in recorder.events[:first_step]]
    assert before == ["Starting the training process: loading PyTorch and transformers…",
                      f"Loading the tokenizer of {tiny_model_dir.parent.name}/{tiny_model_dir.name}…",
                      "Reading the data…", f"Loading the base model {tiny_model_dir.parent.name}/{tiny_model_dir.name}…",
                      "Tokenizing 432 training and 48 validation rows…", "DataLoadedEvent",
                      "Training: the first step (PyTorch sets up its kernels; the next ones are faster)…"]
    steps = recorder.of(StepEvent)
    assert [step.global_step for step in steps] == list(range(1, result.global_step + 1))
    assert len(recorder.of(EpochEvent)) == 1
    assert (tmp_path / "out" / "model.safetensors").exists()
    assert not multiprocessing.active_children()  # the child is gone once the call returns


def test_stop_request_reaches_the_child(tiny_model_dir, synthetic_csv, tmp_path):
    stop = threading.Event()
    recorder = Recorder(stop_at_step=5, stop_event=stop)
    config = tiny_config(tiny_model_dir, synthetic_csv, tmp_path / "out", num_epochs=3)
    result = train_in_subprocess(config, recorder, stop_event=stop)
    assert result.reason == "stopped" and result.resumable
    # The child sees the request a little later than an in-process engine would, but well before the end.
    assert 5 <= result.global_step < 3 * 30
    assert (tmp_path / "out" / "checkpoint").is_dir()


def test_engine_errors_arrive_as_themselves(tiny_model_dir, tmp_path):
    recorder = Recorder()
    config = tiny_config(tiny_model_dir, tmp_path / "missing.csv", tmp_path / "out")
    with pytest.raises(DataError, match="missing.csv: file not found") as raised:
        train_in_subprocess(config, recorder)
    assert describe_failure(raised.value).is_user_error
    assert "Traceback" in raised.value.remote_traceback  # the child's traceback, for the details pane
    assert isinstance(recorder.events[-1], FailedEvent)


def test_a_killed_child_is_reported_not_waited_for(tiny_model_dir, synthetic_csv, tmp_path):
    def kill_the_child(event):
        if isinstance(event, DataLoadedEvent):
            for child in multiprocessing.active_children():
                child.kill()

    config = tiny_config(tiny_model_dir, synthetic_csv, tmp_path / "out", num_epochs=50)
    with pytest.raises(TrainingProcessError, match="killed by signal 9.*out of memory"):
        train_in_subprocess(config, kill_the_child)


def test_a_settings_error_keeps_its_class_field_and_hint_across_the_process(tiny_model_dir, synthetic_csv, tmp_path):
    # ConfigError takes other constructor arguments than its base; before UserError.__reduce__ it could not
    # be unpickled in the app and arrived as a TrainingProcessError ("Unexpected error").
    config = tiny_config(tiny_model_dir, synthetic_csv, tmp_path / "out", learning_rate=float("nan"))
    with pytest.raises(ConfigError) as raised:
        train_in_subprocess(config)
    assert raised.value.field == "learning_rate" and raised.value.setting == "learning_rate"
    assert describe_failure(raised.value, lambda name: f"<{name}>").message.startswith("<learning_rate>: must be")
