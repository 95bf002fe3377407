"""Issue 12 for `train`: no code from a model or a run folder runs, nothing a user owns is overwritten,
nothing silently wrong, one line and exit 2 for every bad input, faults leave nothing half-written."""

import builtins
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from moderator_app.cli import main
from moderator_app.core.errors import OutputNotWritableError, describe_failure
from moderator_app.core.training.engine import TrainingError, train
from moderator_app.core.training.events import StatusEvent
from test_engine import Recorder, tiny_config
from tiny_models import build_tiny_roberta, synthetic_rows, write_csv

ROOT = Path(__file__).resolve().parents[1]


class Payload:
    """A pickle that, once unpickled, creates `marker` (what a malicious file in a shared folder would do)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def run_cli(*arguments: str) -> tuple[int, str]:
    return run_cli_with_output(*arguments)[:2]


def run_cli_with_output(*arguments: str) -> tuple[int, str, str]:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        status = main(["train", *map(str, arguments)])
    return status, err.getvalue().strip(), out.getvalue()


def one_line(err: str) -> str:
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def small_csv(tmp_path):
    return write_csv(tmp_path / "small.csv", synthetic_rows(96, seed=5))


def quick(tiny_model_dir, data, output, **overrides):
    settings = dict(num_epochs=1, train_batch_size=32, logging_steps=1)
    settings.update(overrides)
    return tiny_config(tiny_model_dir, data, output, **settings)


def stopped_run(tiny_model_dir, data, output, **overrides):
    """A run stopped after its first step: a checkpoint to resume from."""
    stop = threading.Event()
    train(quick(tiny_model_dir, data, output, num_epochs=2, **overrides), Recorder(stop_at_step=1, stop_event=stop),
          stop_event=stop)
    return output


# ---------------------------------------------------------------------------------------- point 1
def test_resume_never_unpickles_what_the_run_folder_holds(tiny_model_dir, small_csv, tmp_path):
    output = stopped_run(tiny_model_dir, small_csv, tmp_path / "run")
    checkpoint = output / "checkpoint"
    assert not list(checkpoint.glob("rng_state*.pt"))  # random state is stored as plain data
    marker = tmp_path / "payload-ran"
    (checkpoint / "rng_state.pt").write_bytes(pickle.dumps({"python": Payload(marker)}))
    train(quick(tiny_model_dir, small_csv, output), resume_from=output)
    assert not marker.exists()


def test_a_malicious_optimizer_state_is_refused_without_torch_advice(tiny_model_dir, small_csv, tmp_path):
    import torch

    output = stopped_run(tiny_model_dir, small_csv, tmp_path / "run")
    marker = tmp_path / "payload-ran"
    torch.save({"optimizer": Payload(marker)}, output / "checkpoint" / "optimizer.pt")
    status, err = run_cli("--resume", output)
    assert status == 2 and "cannot be restored" in one_line(err)
    assert "weights_only" not in err and not marker.exists()


def test_a_model_that_needs_its_own_code_is_refused_without_a_prompt(tmp_path, small_csv, monkeypatch):
    model = build_tiny_roberta(tmp_path / "custom")
    config = json.loads((model / "config.json").read_text())
    config.update(model_type="evil-roberta", auto_map={"AutoConfig": "evil.EvilConfig",
                                                        "AutoModelForSequenceClassification": "evil.EvilModel"})
    (model / "config.json").write_text(json.dumps(config))
    marker = tmp_path / "code-ran"
    (model / "evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n"
                                   "from transformers import RobertaConfig as EvilConfig\n"
                                   "from transformers import RobertaForSequenceClassification as EvilModel\n")

    def no_prompt(*args):
        raise AssertionError("transformers asked whether to run the model's code")

    monkeypatch.setattr(builtins, "input", no_prompt)
    status, err = run_cli("--data", small_csv, "--model", model, "--output", tmp_path / "out")
    assert status == 2 and "never runs code that comes with a model" in one_line(err)
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_pickle_weights_need_allow_pickle(tiny_model_dir, small_csv, tmp_path):
    import shutil

    from safetensors.torch import load_file
    import torch

    model = tmp_path / "bin-model"
    shutil.copytree(tiny_model_dir, model)
    torch.save(load_file(model / "model.safetensors"), model / "pytorch_model.bin")
    (model / "model.safetensors").unlink()
    status, err = run_cli("--data", small_csv, "--model", model, "--output", tmp_path / "out")
    assert status == 2 and "pytorch_model.bin" in one_line(err) and "--allow-pickle" in err
    status, err = run_cli("--data", small_csv, "--model", model, "--output", tmp_path / "out", "--allow-pickle",
                          "--epochs", "1", "--max-length", "32")
    assert status == 0, err
    # allowed, but a pickle that holds more than tensors is still not unpickled, and said so in one line
    marker = tmp_path / "payload-ran"
    torch.save({"embeddings.word_embeddings.weight": Payload(marker)}, model / "pytorch_model.bin")
    status, err = run_cli("--data", small_csv, "--model", model, "--output", tmp_path / "out2", "--allow-pickle")
    assert status == 2 and "hold more than plain tensors" in one_line(err.splitlines()[-1])
    assert "weights_only" not in err and not marker.exists() and not (tmp_path / "out2").exists()


# ---------------------------------------------------------------------------------------- point 2
def test_the_base_models_folder_is_never_an_output(tiny_model_dir, small_csv, tmp_path):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    before = (model / "model.safetensors").read_bytes()
    for output in (model, model / "inside"):
        status, err, out = run_cli_with_output("--data", small_csv, "--model", model, "--output", output)
        assert status == 2 and "base model's folder" in one_line(err)
        assert out == ""  # refused before anything is said about the run
    assert (model / "model.safetensors").read_bytes() == before and not (model / "inside").exists()


@pytest.mark.parametrize("name", ["README.md", "config.json"])
def test_a_users_file_is_never_overwritten(tiny_model_dir, small_csv, tmp_path, name):
    output = tmp_path / "out"
    output.mkdir()
    (output / name).write_text("mine")
    for extra in ([], ["--overwrite"]):
        status, err = run_cli("--data", small_csv, "--model", tiny_model_dir, "--output", output, *extra)
        assert status == 2 and "not an earlier run of this app" in one_line(err)
    assert (output / name).read_text() == "mine" and os.listdir(output) == [name]


def test_an_earlier_run_is_replaced_only_when_asked_and_removed_before_the_new_one_writes(
        tiny_model_dir, small_csv, tmp_path):
    output = tmp_path / "out"
    train(quick(tiny_model_dir, small_csv, output))
    status, err = run_cli("--data", small_csv, "--model", tiny_model_dir, "--output", output)
    assert status == 2 and "holds an earlier run" in one_line(err) and "--overwrite" in err
    # replaced, and stopped at once: the folder describes the new stopped run only, no old weights beside it
    stop = threading.Event()
    result = train(quick(tiny_model_dir, small_csv, output, overwrite=True, num_epochs=2),
                   Recorder(stop_at_step=1, stop_event=stop), stop_event=stop)
    assert result.reason == "stopped"
    assert not (output / "model.safetensors").exists() and (output / "checkpoint" / "model.safetensors").exists()
    kinds = [json.loads(line)["kind"] for line in (output / "metrics.jsonl").read_text().splitlines()]
    assert kinds.count("finished") == 1 and kinds.count("epoch") == 0


def test_output_naming_a_file_is_refused(tiny_model_dir, small_csv, tmp_path):
    (tmp_path / "file").write_text("x")
    status, err = run_cli("--data", small_csv, "--model", tiny_model_dir, "--output", tmp_path / "file")
    assert status == 2 and "is a file, not a folder" in one_line(err)


# ---------------------------------------------------------------------------------------- point 3
@pytest.mark.parametrize("flag, value", [("--learning-rate", "inf"), ("--learning-rate", "1e10"),
                                         ("--learning-rate", "nan"), ("--weight-decay", "nan")])
def test_non_finite_and_absurd_settings_are_refused_up_front(flag, value, tiny_model_dir, small_csv, tmp_path):
    status, err = run_cli("--data", small_csv, "--model", tiny_model_dir, "--output", tmp_path / "out", flag, value)
    assert status == 2 and one_line(err).startswith(f"moderator-app train: error: {flag}: must be")
    assert not (tmp_path / "out").exists()


def test_a_run_whose_loss_is_not_finite_stops_and_leaves_nothing(tiny_model_dir, small_csv, tmp_path, monkeypatch):
    import torch

    from moderator_app.core.training import base_model

    original = base_model.load_model

    def poisoned(*args, **kwargs):
        model = original(*args, **kwargs)
        with torch.no_grad():
            model.classifier.out_proj.weight.fill_(float("nan"))
        return model

    monkeypatch.setattr(base_model, "load_model", poisoned)
    with pytest.raises(TrainingError, match="training loss at step 1 is nan") as raised:
        train(quick(tiny_model_dir, small_csv, tmp_path / "out"))
    assert "{learning_rate}" not in describe_failure(raised.value).message
    assert not (tmp_path / "out").exists()  # no NaN model saved


def test_a_half_precision_base_model_trains_in_fp32(tiny_model_dir, small_csv, tmp_path):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    half = tmp_path / "half"
    AutoModel.from_pretrained(tiny_model_dir).half().save_pretrained(half)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(half)
    assert load_file(half / "model.safetensors")["embeddings.word_embeddings.weight"].dtype == torch.float16
    result = train(quick(half, small_csv, tmp_path / "out"))
    weights = load_file(Path(result.output_dir) / "model.safetensors")
    assert {tensor.dtype for tensor in weights.values()} == {torch.float32}


# ---------------------------------------------------------------------------------------- point 4
def test_max_length_beyond_the_models_positions_names_both_numbers(tiny_model_dir, small_csv, tmp_path):
    status, err = run_cli("--data", small_csv, "--model", tiny_model_dir, "--output", tmp_path / "out",
                          "--max-length", "600")
    assert status == 2 and "--max-length is 600" in one_line(err) and "at most 512 tokens" in err
    assert not (tmp_path / "out").exists()


def test_a_validation_split_too_small_for_the_labels_says_which(tiny_model_dir, tmp_path):
    rows = [(f"text number {index}", f"class{index % 9}") for index in range(36)]
    data = write_csv(tmp_path / "nine.csv", rows)
    status, err = run_cli("--data", data, "--model", tiny_model_dir, "--output", tmp_path / "out")
    assert status == 2 and "leaves 4 of 36 rows for validation, fewer than the 9 labels" in one_line(err)
    assert "class0 4" in err and "--validation-split" in err and "test_size" not in err


def test_a_config_key_is_named_as_a_key(tiny_model_dir, small_csv, tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"epochs": 3}))
    status, err = run_cli("--config", config, "--data", small_csv, "--model", tiny_model_dir, "--output", tmp_path)
    assert status == 2 and "has the key 'epochs', which is no setting" in one_line(err)
    assert "num_epochs" in err and "--epochs:" not in err
    config.write_text(json.dumps({"num_epochs": -2}))
    status, err = run_cli("--config", config, "--data", small_csv, "--model", tiny_model_dir, "--output", tmp_path)
    assert status == 2 and f"{config}: 'num_epochs' must be ≥ 1" in one_line(err)


def test_a_utf16_config_file_is_read_and_a_garbled_one_is_one_line(tmp_path):
    from moderator_app.core.config import TrainingConfig

    config = tmp_path / "utf16.json"
    config.write_text(json.dumps({"num_epochs": 3}), encoding="utf-16")
    assert TrainingConfig.load(config).num_epochs == 3
    config.write_bytes(b'{"num_epochs": 3, "text_column": "\xff\xfe\xfa"}')
    status, err = run_cli("--config", config, "--data", "x.csv", "--output", tmp_path / "o")
    assert status == 2 and "is not UTF-8 text" in one_line(err)


@pytest.mark.parametrize("number, expected", [("ENOSPC", "No space left on the disk while writing into"),
                                              ("EROFS", "Cannot write into")])
def test_a_full_or_read_only_disk_during_the_first_epoch_is_one_line_naming_the_folder_and_leaves_nothing(
        tiny_model_dir, small_csv, tmp_path, monkeypatch, number, expected):
    import errno

    from transformers import PreTrainedModel

    def disk_full(self, *args, **kwargs):
        raise OSError(getattr(errno, number), os.strerror(getattr(errno, number)))

    monkeypatch.setattr(PreTrainedModel, "save_pretrained", disk_full)
    output = tmp_path / "out"
    status, err = run_cli("--data", small_csv, "--model", tiny_model_dir, "--output", output, "--epochs", "1")
    last = err.splitlines()[-1]  # after the data report and the progress bar
    assert status == 2 and f"{expected} {output}" in last and "Errno" not in last
    assert not output.exists()  # the run created the folder, and removed it again


@pytest.mark.parametrize("saving", ["the best epoch's model", "a checkpoint"])
def test_a_full_disk_reported_by_safetensors_is_one_line_naming_the_folder(tiny_model_dir, small_csv, tmp_path,
                                                                           monkeypatch, saving):
    """safetensors says "No space left" in a SafetensorError, not an OSError: it was 'Unexpected error', exit 1."""
    from safetensors import SafetensorError
    from transformers import PreTrainedModel

    real = PreTrainedModel.save_pretrained

    def disk_full(self, folder, *args, **kwargs):
        if saving == "the best epoch's model" or str(folder).endswith("checkpoint.partial"):
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / "model.safetensors").write_bytes(b"half")
            raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
        return real(self, folder, *args, **kwargs)

    monkeypatch.setattr(PreTrainedModel, "save_pretrained", disk_full)
    output = tmp_path / "out"
    status, err = run_cli("--data", small_csv, "--model", tiny_model_dir, "--output", output, "--epochs", "2",
                          "--save-checkpoint-every-epoch")
    last = err.splitlines()[-1]
    assert status == 2 and f"No space left on the disk while writing into {output}" in last, err
    assert "Unexpected error" not in err and "SafetensorError" not in last
    if output.exists():  # the first epoch's model stays; nothing half-written does
        assert not (output / "checkpoint.partial").exists() and (output / "model.safetensors").read_bytes() != b"half"


# ---------------------------------------------------------------------------------------- point 5
def test_sigterm_checkpoints_and_stops_like_ctrl_c(tiny_model_dir, small_csv, tmp_path):
    output = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen([sys.executable, "-m", "moderator_app", "train", "--data", str(small_csv),
                                "--model", str(tiny_model_dir), "--output", str(output), "--epochs", "3",
                                "--max-length", "32"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    for line in process.stdout:  # the handler is in place once the command prints anything
        if line.startswith("Loading"):
            process.send_signal(signal.SIGTERM)
            break
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert "--resume" in out and (output / "checkpoint" / "trainer_state.json").is_file()


# ---------------------------------------------------------------------------------------- point 6
def test_resume_says_it_is_restoring_and_the_card_names_the_base_model_absolutely(
        tiny_model_dir, small_csv, tmp_path, monkeypatch):
    import shutil

    shutil.copytree(tiny_model_dir, tmp_path / "base")
    monkeypatch.chdir(tmp_path)
    stopped_run("base", small_csv, "out")
    events = Recorder()
    train(quick("base", small_csv, "out"), events, resume_from="out")
    assert "Restoring checkpoint…" in [event.message for event in events.of(StatusEvent)]
    card = (tmp_path / "out" / "README.md").read_text()
    assert f"base_model: {tmp_path / 'base'}\n" in card


def test_the_data_report_adds_up(tiny_model_dir, synthetic_csv, synthetic_val_csv, tmp_path):
    from moderator_app.core.config import TrainingConfig
    from moderator_app.core.training.data import load_training_data

    rows = synthetic_rows(100, seed=4) + [("", "hate")] * 3
    data = write_csv(tmp_path / "with-empty.csv", rows)
    report = load_training_data(TrainingConfig(train_file=str(data), validation_file=str(synthetic_val_csv))).report
    assert report.rows_read == 223 and report.rows_dropped == 3
    assert sum(report.label_counts.values()) == report.train_rows + report.validation_rows == 220
    assert "rows read: 223 = 100 for training + 120 for validation + 3 dropped" in report.summary()


def test_output_problems_are_user_errors_that_name_the_setting():
    from moderator_app.core.training.run_folder import RunFolder

    with pytest.raises(OutputNotWritableError) as raised:
        RunFolder(__file__).check_new_run()
    assert raised.value.setting == "output_dir"
    assert "<Output folder>" in describe_failure(raised.value, lambda name: "<Output folder>").message


def test_run_folder_states_and_events(tiny_model_dir, tmp_path):
    from moderator_app.core.training.events import DataLoadedEvent, StepEvent, event_to_dict
    from moderator_app.core.training.run_folder import FolderState, RunFolder

    folder = RunFolder(tmp_path / "run")
    assert folder.state() is FolderState.NEW and folder.new_run_problem() is None
    folder.path.mkdir()
    assert folder.state() is FolderState.EMPTY
    folder.config_file.write_text("{}")
    (folder.path / "model.safetensors").write_bytes(b"")
    assert folder.state() is FolderState.FINISHED_RUN and "{overwrite}" in folder.new_run_problem()
    assert folder.new_run_problem(overwrite=True) is None
    (folder.checkpoint).mkdir()
    (folder.checkpoint / "trainer_state.json").write_text("{}")
    assert folder.state() is FolderState.STOPPED_RUN and folder.is_resumable
    (folder.path / "notes.txt").write_text("mine")
    assert folder.state() is FolderState.FOREIGN and "notes.txt" in folder.new_run_problem(overwrite=True)
    assert RunFolder(tiny_model_dir).state(str(tiny_model_dir)) is FolderState.BASE_MODEL
    assert RunFolder(tiny_model_dir).state() is FolderState.BASE_MODEL  # a model folder, whoever's it is

    events = [DataLoadedEvent("summary", {}), StepEvent(1, 10, 0.1, 0.7, 1e-5, 30.0, 9.0)]
    folder.metrics_file.write_text("".join(json.dumps(event_to_dict(event)) + "\n" for event in events)
                                   + '{"kind": "step", "global_st')  # a line cut short by kill -9
    assert folder.read_events() == events


def test_a_finished_run_with_its_operating_point_is_a_run_of_ours(tiny_model_dir, small_csv, tmp_path):
    from moderator_app.core.inference import saved_operating_point as operating_point
    from moderator_app.core.training import run_folder

    assert run_folder.OPERATING_POINT_FILE == operating_point.OPERATING_POINT_FILE
    output = tmp_path / "out"
    train(quick(tiny_model_dir, small_csv, output))
    assert (output / run_folder.OPERATING_POINT_FILE).exists()
    assert run_folder.RunFolder(output).state() is run_folder.FolderState.FINISHED_RUN
    train(quick(tiny_model_dir, small_csv, output, overwrite=True))  # replaced when asked


def deeply_nested(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [600, 100_000])  # parses (but is no setting), and beyond the JSON parser's limit
def test_a_deeply_nested_config_is_one_line_naming_the_file(tmp_path, depth):
    config = tmp_path / "deep.json"
    config.write_text('{"learning_rate": ' + deeply_nested(depth) + "}")
    status, err = run_cli("--config", config, "--data", "x.csv", "--output", tmp_path / "o")
    line = one_line(err)
    assert status == 2 and str(config) in line and "RecursionError" not in line and len(line) < 400, line


@pytest.mark.parametrize("where", ["label map file", "label map in --source", "source in the config"])
def test_a_deeply_nested_label_map_or_source_is_one_line_naming_it(tmp_path, where):
    deep_map = '{"a": ' * 100_000 + '"hate"' + "}" * 100_000
    if where == "label map file":
        (tmp_path / "map.json").write_text(deep_map)
        arguments = ["--source", f"x.csv;label_map={tmp_path / 'map.json'}"]
        named = str(tmp_path / "map.json")
    elif where == "label map in --source":
        arguments = ["--source", "x.csv;label_map=" + '{"a": ' * 600 + '"hate"' + "}" * 600]
        named = "x.csv"
    else:
        config = tmp_path / "deep.json"
        config.write_text('{"sources": [{"path": "x.csv", "label_map": ' + deep_map + "}]}")
        arguments = ["--config", config]
        named = str(config)
    status, err = run_cli(*arguments, "--data", "y.csv", "--output", tmp_path / "o")
    line = one_line(err)
    assert status == 2 and named in line and "Unexpected" not in line and len(line) < 400, line


def test_a_deeply_nested_json_lines_record_is_a_bad_row(tmp_path):
    from moderator_app.core.training.data import read_table

    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "fine", "label": "hate"}\n{"text": ' + deeply_nested() + ', "label": "x"}\n')
    with pytest.raises(Exception, match=r"line 2 \(JSON nested too deeply to read\)"):
        read_table(data).values(["text", "label"])
