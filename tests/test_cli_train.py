import json

import pytest

from moderator_app.cli import main
from moderator_app.core.hub import installed_base_model

# auto resolves to bf16 or fp32 by the CPU: `make test` runs this module both ways (--cpu-bf16)
pytestmark = pytest.mark.precision


def test_train_end_to_end(tiny_model_dir, synthetic_csv, tmp_path, capsys):
    output = tmp_path / "model"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"learning_rate": 1e-3, "num_epochs": 5, "max_length": 32}))
    status = main(["train", "--data", str(synthetic_csv), "--model", str(tiny_model_dir), "--output", str(output),
                   "--config", str(config), "--epochs", "2", "--train-batch-size", "16", "--warmup-steps", "4"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "rows read: 480" in captured.err  # the data report
    # the epoch table marks the epoch of lowest validation loss (as degenerate when it predicts one class)
    assert "Training Loss |" in captured.err and ("← best" in captured.err or "but degenerate" in captured.err)
    assert "Model saved to" in captured.out
    saved = json.loads((output / "training_config.json").read_text())
    assert saved["num_epochs"] == 2 and saved["learning_rate"] == 1e-3 and saved["max_length"] == 32  # flags > file
    assert saved["train_batch_size"] == 16 and saved["seed"] == 12345  # recipe default kept
    assert (output / "model.safetensors").exists()


@pytest.mark.parametrize("arguments, message", [
    (["--learning-rate", "-1"], "--learning-rate: must be > 0"),
    (["--precision", "fp8"], "--precision: one of auto, fp16, bf16, fp32"),
    (["--label-column", "verdict"], "no column named 'verdict'; the columns are 'text', 'label'"),
])
def test_bad_input_exits_2_with_one_line(arguments, message, tiny_model_dir, synthetic_csv, tmp_path, capsys):
    status = main(["train", "--data", str(synthetic_csv), "--model", str(tiny_model_dir),
                   "--output", str(tmp_path / "out"), *arguments])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_missing_data_file_and_unreachable_model(tmp_path, capsys, synthetic_csv):
    assert main(["train", "--data", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o"),
                 "--model", str(tmp_path)]) == 2
    assert "is not a Hugging Face model folder" in capsys.readouterr().err
    assert main(["train", "--data", str(synthetic_csv), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "distilroberta-base" in err and "local model folder" in err
    # and the base model that trains offline, installed with the app, named with its flag (issue 22)
    assert f"The installed all-MiniLM-L6-v2 trains offline: set --model to {installed_base_model()}." in err


def test_resume_from_cli(tiny_model_dir, synthetic_csv, tmp_path, capsys, monkeypatch):
    from moderator_app.core.training import engine

    # Simulate Ctrl-C: stop requested as soon as training starts.
    original = engine.train

    def train_and_interrupt(config, on_event=None, stop_event=None, resume_from=None):
        if resume_from is None:
            stop_event.set()
        return original(config, on_event, stop_event, resume_from)

    monkeypatch.setattr(engine, "train", train_and_interrupt)
    output = tmp_path / "model"
    args = ["train", "--data", str(synthetic_csv), "--model", str(tiny_model_dir), "--output", str(output),
            "--epochs", "1", "--max-length", "32"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"moderator-app train --resume {output}" in out
    assert main(["train", "--resume", str(output)]) == 0
    assert "Model saved to" in capsys.readouterr().out
    assert not (output / "checkpoint").exists()


def test_a_flag_that_does_not_parse_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["train", "--epochs", "three"])
    err = capsys.readouterr().err.strip()
    assert raised.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith("moderator-app train: error: argument --epochs: invalid int value: 'three'")
