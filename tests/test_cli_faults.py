"""`label` and `classify` under faults and bad input: one line, exit 2, nothing of the user's replaced,
no temporary file left behind."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from test_inference import tiny_classifier_dir  # noqa: F401 (fixture)
from tiny_models import synthetic_rows, write_csv

from moderator_app.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def only_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def one_line_error(capsys) -> str:
    """The error line (a `label` run prints the model's description before it, and nothing else)."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line and not line.startswith("Model ")]
    assert len(lines) == 1 and ": error: " in lines[0] and "Traceback" not in lines[0], lines
    return lines[0]


# ------------------------------------------------------------------------ outputs
def test_a_result_finished_meanwhile_is_not_replaced(tmp_path, tiny_classifier_dir, capsys, monkeypatch):
    """Two runs to the same output both exited 0 and one silently replaced the other: the final name
    is now claimed atomically and fails when someone else claimed it first."""
    from moderator_app.core.inference import labelling

    source = write_csv(tmp_path / "in.csv", synthetic_rows(10))
    target = tmp_path / "out.csv"
    real_count = labelling.Progress.reached

    def other_run_finishes_first(progress, rows_done):
        if not target.exists():
            target.write_text("the other run's result")
        real_count(progress, rows_done)

    monkeypatch.setattr(labelling.Progress, "reached", other_run_finishes_first)
    status = main(["label", str(source), "--model", str(tiny_classifier_dir), "-o", str(target)])
    assert status == 2 and "was created by someone else" in one_line_error(capsys)
    assert target.read_text() == "the other run's result" and only_files(tmp_path) == ["in.csv", "out.csv"]
    assert main(["label", str(source), "--model", str(tiny_classifier_dir), "-o", str(target), "--overwrite"]) == 0
    assert target.read_text().startswith("text,label,predicted_label")


def test_sigterm_is_handled_like_ctrl_c(tmp_path, tiny_classifier_dir, capsys, monkeypatch):
    from moderator_app.core.inference.classifier import Classifier

    source = write_csv(tmp_path / "in.csv", synthetic_rows(10))
    real = Classifier.predict_probabilities

    def terminated_while_running(self, *args, **kwargs):
        result = real(self, *args, **kwargs)
        assert any(name.endswith(".part") for name in only_files(tmp_path))  # mid-run: the hidden file exists
        os.kill(os.getpid(), signal.SIGTERM)
        return result

    monkeypatch.setattr(Classifier, "predict_probabilities", terminated_while_running)
    assert main(["label", str(source), "--model", str(tiny_classifier_dir)]) == 130
    assert "interrupted; no output was written" in capsys.readouterr().err
    assert only_files(tmp_path) == ["in.csv"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_killed_runs_temporary_file_is_cleaned_at_the_next_start(tmp_path, tiny_classifier_dir):
    source = write_csv(tmp_path / "in.csv", synthetic_rows(4))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # a process id that is gone once it is waited for
    dead.wait()
    stale = tmp_path / f".in.labelled.csv.{dead.pid}-0123abcd.part"
    alive = tmp_path / f".in.labelled.csv.{os.getppid()}-0123abcd.part"  # a run still going
    users = tmp_path / ".in.labelled.csv.backup.part"  # not our pattern
    for path in (stale, alive, users):
        path.write_text("partial")
    assert main(["label", str(source), "--model", str(tiny_classifier_dir)]) == 0
    assert not stale.exists() and alive.exists() and users.exists()


def test_a_full_disk_names_the_output_folder(tmp_path, tiny_classifier_dir, capsys, monkeypatch):
    from moderator_app.core.files import writers

    source = write_csv(tmp_path / "in.csv", synthetic_rows(4))

    def disk_full(self, frame):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writers.CsvSink, "_write", disk_full)
    assert main(["label", str(source), "--model", str(tiny_classifier_dir)]) == 2
    err = one_line_error(capsys)
    assert "No space left" in err and f"folder {tmp_path}" in err
    assert only_files(tmp_path) == ["in.csv"]


def test_an_unreadable_input_is_one_line_and_exit_2(tmp_path, tiny_classifier_dir, capsys, monkeypatch):
    from moderator_app.core.files import formats

    source = write_csv(tmp_path / "in.csv", synthetic_rows(4))

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(source))

    monkeypatch.setattr(formats, "open", denied, raising=False)
    assert main(["label", str(source), "--model", str(tiny_classifier_dir)]) == 2
    assert "cannot be read (Permission denied)" in one_line_error(capsys)


def test_label_checks_the_text_column_before_loading_the_model(tmp_path, capsys):
    source = write_csv(tmp_path / "in.csv", [("1", "a")], header=("id", "body_text"))
    assert main(["label", str(source), "--model", str(tmp_path / "no-such-model")]) == 2
    err = one_line_error(capsys)
    assert "which column holds the text" in err and "--text-column" in err and "model" not in err.split(":")[-1]
    broken = tmp_path / "open.csv"
    broken.write_text('text,label\n"a quote left open,x\nnext "row",y\n')
    assert main(["label", str(broken), "--model", str(tmp_path / "no-such-model")]) == 2
    assert "lines 2 to 3: a quoted field does not end" in one_line_error(capsys)


# ------------------------------------------------------------------------ broken model folders
def broken_copy(source: Path, folder: Path, breakage: str) -> Path:
    shutil.copytree(source, folder)
    weights = folder / "model.safetensors"
    if breakage == "truncated":
        weights.write_bytes(weights.read_bytes()[:2000])
    elif breakage == "garbage":
        weights.write_bytes(os.urandom(4096))
    elif breakage == "label count":
        config = json.loads((folder / "config.json").read_text())
        config["id2label"] = {"0": "a", "1": "b", "2": "c"}
        config["label2id"] = {"a": 0, "b": 1, "c": 2}
        (folder / "config.json").write_text(json.dumps(config))
    elif breakage == "deeply nested config":
        text = (folder / "config.json").read_text().rstrip().rstrip("}")
        (folder / "config.json").write_text(text + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    elif breakage == "no tokenizer":
        for path in folder.iterdir():
            if path.name.startswith(("tokenizer", "vocab", "merges", "special_tokens")):
                path.unlink()
    return folder


@pytest.mark.parametrize("breakage, expected", [
    ("truncated", "damaged or incomplete"), ("garbage", "damaged or incomplete"),
    ("label count", "config.json does not match the weights"), ("no tokenizer", "holds no tokenizer"),
    ("deeply nested config", "config or tokenizer) is nested too deeply to read"),
])
def test_broken_model_folders_are_one_line(tmp_path, tiny_classifier_dir, capsys, breakage, expected):
    folder = broken_copy(tiny_classifier_dir, tmp_path / "model", breakage)
    assert main(["classify", "hello", "--model", str(folder)]) == 2
    assert expected in one_line_error(capsys)


class Payload:
    def __reduce__(self):
        return (os.system, ("echo ran > /dev/null",))


def test_a_malicious_pickle_is_refused_without_torchs_advice(tmp_path, tiny_classifier_dir, capsys):
    import torch

    folder = broken_copy(tiny_classifier_dir, tmp_path / "model", "none")
    (folder / "model.safetensors").unlink()
    torch.save({"weight": Payload()}, folder / "pytorch_model.bin")
    assert main(["classify", "hello", "--model", str(folder), "--allow-pickle"]) == 2
    err = one_line_error(capsys)
    assert "could run code; they were refused" in err and "weights_only=False" not in err


# ------------------------------------------------------------------------ classify's streams
def run_classify(model: Path, stdin: bytes, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "moderator_app", "classify", "--model", str(model), *extra],
                          input=stdin, capture_output=True, cwd=PROJECT_ROOT, timeout=300)


def test_classify_refuses_invalid_utf8_on_stdin(tiny_classifier_dir):
    result = run_classify(tiny_classifier_dir, b"fine text\n\xff\xfe not utf-8\n")
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.count("\n") == 1 and "standard input, line 2: not UTF-8" in err


def test_classify_into_a_closed_pipe_is_not_an_error(tiny_classifier_dir, tmp_path):
    """`classify | head -1`: the reader closes the pipe after one line; that is no error."""
    lines = tmp_path / "lines.txt"
    lines.write_bytes(b"vermin scum\n" * 20_000)  # more output than a pipe holds
    with open(lines, "rb") as stdin:
        reader = subprocess.Popen([sys.executable, "-m", "moderator_app", "classify", "--model",
                                   str(tiny_classifier_dir)], stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, cwd=PROJECT_ROOT)
        assert reader.stdout.readline().startswith(b"hate\tP(hate)=")
        reader.stdout.close()  # what `head -1` does after its line
        assert reader.wait(timeout=300) == 0
    assert reader.stderr.read() == b""


def test_label_outputs_get_the_users_usual_permissions(tmp_path, tiny_classifier_dir):
    import stat

    source = write_csv(tmp_path / "in.csv", synthetic_rows(4))
    previous = os.umask(0o027)
    try:
        assert main(["label", str(source), "--model", str(tiny_classifier_dir)]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "in.labelled.csv").stat().st_mode) == 0o640  # 0666 & ~umask


def test_a_read_only_output_folder_is_named(tmp_path, tiny_classifier_dir, capsys, monkeypatch):
    from moderator_app.core.files import atomic

    source = write_csv(tmp_path / "in.csv", synthetic_rows(4))

    def read_only(*args, **kwargs):
        raise PermissionError(errno.EROFS, "Read-only file system", str(args[0]))

    monkeypatch.setattr(atomic, "open", read_only, raising=False)
    assert main(["label", str(source), "--model", str(tiny_classifier_dir)]) == 2
    assert f"{tmp_path}: this folder cannot be written to (Read-only file system)" in one_line_error(capsys)


def test_classify_reports_not_a_number_instead_of_an_empty_label(tiny_classifier_dir, capsys, monkeypatch):
    import numpy as np

    from moderator_app.core.inference.classifier import Classifier

    def diverged(self, texts, *args, **kwargs):
        return np.full((len(texts), 2), np.nan, dtype=np.float32)

    monkeypatch.setattr(Classifier, "predict_probabilities", diverged)
    assert main(["classify", "some text", "--model", str(tiny_classifier_dir)]) == 2
    assert "not a number (NaN) for text 1" in one_line_error(capsys)
    assert capsys.readouterr().out == ""
