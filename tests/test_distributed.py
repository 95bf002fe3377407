"""Data-parallel training on two CPU processes (gloo), started as a user would: `moderator-app train
--nproc 2` (torchrun's API) or `torchrun`. Every launch has a timeout, so a hang fails instead of waiting.

Each torchrun launch picks a free port itself (c10d rendezvous on localhost:0)."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from moderator_app.core.config import TrainingConfig
from moderator_app.core.training.distributed import Cluster
from moderator_app.core.errors import SettingsError
from moderator_app.core.training.engine import train
from tiny_models import synthetic_rows, write_csv

REPO = Path(__file__).resolve().parents[1]
LAUNCH_TIMEOUT = 240  # seconds; a launch normally takes 10–20 s, a hang is caught here

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="gloo over TCP with torchrun is tested on POSIX")


# ------------------------------------------------------------------------------------------------
def test_each_process_trains_its_share_of_every_batch_weighted_to_the_batch_mean():
    batches = [list(range(32)), list(range(32, 37)), [37]]
    ranks = [Cluster(rank=rank, world_size=2) for rank in (0, 1)]
    (rows0, weights0), (rows1, weights1) = (rank.shares(batches) for rank in ranks)
    assert rows0 == [list(range(16)), [32, 33, 34], [37]]
    assert rows1 == [list(range(16, 32)), [35, 36], [37]]
    # DDP averages over the 2 processes: Σ weight × share mean / 2 is the whole batch's mean loss.
    assert weights0 == [1.0, 2 * 3 / 5, 2.0] and weights1 == [1.0, 2 * 2 / 5, 0.0]  # an empty share weighs 0
    assert Cluster().shares(batches) == (batches, [1.0, 1.0, 1.0])


def test_a_batch_smaller_than_the_number_of_processes_is_refused():
    with pytest.raises(Exception, match="A batch of 2 texts cannot be shared by 4 processes"):
        Cluster(rank=0, world_size=4).check_batch_size(2)


# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp-data")
    # 157 rows: the last batch of 13 is shared 7/6, testing the weighting of unequal shares.
    return (write_csv(folder / "train.csv", synthetic_rows(157, seed=3)),
            write_csv(folder / "val.csv", synthetic_rows(41, seed=4)))


@pytest.fixture(scope="module")
def model_without_dropout(tiny_model_dir, tmp_path_factory):
    """Dropout draws differ between one process and two (each process draws for its own share), so the
    comparison with one process uses a model without dropout; all else is computed the same way."""
    import shutil

    folder = tmp_path_factory.mktemp("tiny-no-dropout") / "model"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def settings(model, data, output, **overrides) -> TrainingConfig:
    values = dict(train_file=str(data[0]), validation_file=str(data[1]), model_name_or_path=str(model),
                  output_dir=str(output), learning_rate=1e-3, train_batch_size=16, eval_batch_size=8,
                  warmup_steps=3, num_epochs=2, max_length=32, logging_steps=1000, device="cpu",
                  early_stopping_patience=0)
    values.update(overrides)
    return TrainingConfig(**values)


def environment() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    env.pop("WORLD_SIZE", None)
    return env


def moderator_app(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "moderator_app", "train", *args], cwd=REPO, env=environment(),
                          capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)


def torchrun(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", *args], cwd=REPO,
                          env=environment(), capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)


def events(output: Path, kind: str) -> list[dict]:
    lines = (output / "metrics.jsonl").read_text().splitlines()
    return [event for event in map(json.loads, lines) if event["kind"] == kind]


# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_process_run(model_without_dropout, data, tmp_path_factory):
    """A run on two processes through `moderator-app train --nproc 2`; the reference of the tests below."""
    folder = tmp_path_factory.mktemp("two-processes")
    settings(model_without_dropout, data, folder / "run").save(folder / "config.json")
    launched = moderator_app("--nproc", "2", "--config", str(folder / "config.json"))
    assert launched.returncode == 0, launched.stderr
    return folder, launched


def test_two_processes_write_one_model_folder_with_the_metrics_of_one_process(two_process_run, model_without_dropout,
                                                                              data, tmp_path):
    folder, launched = two_process_run
    two = folder / "run"
    assert "Model saved to" in launched.stdout and launched.stdout.count("Best epoch") == 1  # process 0 speaks
    # One folder, written once: one finished event, one epoch event per epoch, every step once.
    assert sorted(path.name for path in folder.iterdir()) == ["config.json", "run"]
    assert (two / "model.safetensors").exists() and not (two / "checkpoint").exists()
    assert len(events(two, "finished")) == 1 and len(events(two, "epoch")) == 2
    assert [step["global_step"] for step in events(two, "step")] == list(range(1, 2 * 10 + 1))

    single = train(settings(model_without_dropout, data, tmp_path / "one"))
    # Same batches, same weighting, gathered validation: the same numbers up to float summation order.
    for ours, theirs in zip(events(two, "step"), events(tmp_path / "one", "step"), strict=True):
        assert ours["loss"] == pytest.approx(theirs["loss"], abs=1e-4)
    for ours, theirs in zip(events(two, "epoch"), events(tmp_path / "one", "epoch"), strict=True):
        assert ours["val_loss"] == pytest.approx(theirs["val_loss"], abs=1e-4)
        assert ours["confusion_matrix"] == theirs["confusion_matrix"]  # all 41 predictions, gathered
        assert sum(map(sum, ours["confusion_matrix"])) == 41
    assert single.best_metrics["accuracy"] == pytest.approx(json.loads(
        (two / "training_summary.json").read_text())["best_metrics"]["accuracy"])
    from transformers import AutoModelForSequenceClassification

    assert AutoModelForSequenceClassification.from_pretrained(two).config.id2label == {0: "hate", 1: "not-hate"}


def test_a_stop_on_one_process_checkpoints_once_and_resuming_reproduces_the_losses(two_process_run,
                                                                                   model_without_dropout, data, tmp_path):
    uninterrupted, stopped = two_process_run[0] / "run", tmp_path / "stopped"
    settings(model_without_dropout, data, stopped).save(tmp_path / "stopped.json")

    # The second process is asked to stop after step 6 of 10 in the first epoch; both stop there.
    run = torchrun("tests/distributed_worker.py", str(tmp_path / "stopped.json"), "1", "6")
    assert run.returncode == 0, run.stderr
    results = [json.loads((tmp_path / f"result-{rank}.json").read_text()) for rank in (0, 1)]
    assert results == [{"rank": 0, "reason": "stopped", "global_step": 6},
                       {"rank": 1, "reason": "stopped", "global_step": 6}]
    assert len(events(stopped, "checkpoint")) == 1 and (stopped / "checkpoint").is_dir()

    with pytest.raises(SettingsError, match="stopped while training on 2 processes and is now resumed on one process"):
        train(TrainingConfig(), resume_from=stopped)

    resumed = moderator_app("--resume", str(stopped), "--nproc", "2")
    assert resumed.returncode == 0, resumed.stderr
    losses = [step["loss"] for step in events(stopped, "step")]
    assert [step["global_step"] for step in events(stopped, "step")] == list(range(1, 21))
    assert losses == pytest.approx([step["loss"] for step in events(uninterrupted, "step")], rel=1e-6)
    assert [epoch["val_loss"] for epoch in events(stopped, "epoch")] == pytest.approx(
        [epoch["val_loss"] for epoch in events(uninterrupted, "epoch")], rel=1e-6)


def test_dropout_draws_depend_on_seed_step_and_process_only():
    """What lets process 0's checkpoint resume every process exactly (the test above runs without dropout)."""
    import torch

    def draws(rank: int, step: int) -> list[float]:
        Cluster(rank=rank, world_size=2).seed_step(12345, step)
        return torch.rand(4).tolist()

    assert draws(1, 7) == draws(1, 7)
    assert draws(1, 7) != draws(0, 7) and draws(1, 7) != draws(1, 8)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the second process through /proc")
def test_a_process_that_dies_makes_the_others_exit_with_a_clear_message(tiny_model_dir, data, tmp_path):
    output = tmp_path / "out"
    # Batches of 2: an epoch of 79 steps, so that the process dies long before the first epoch ends.
    settings(tiny_model_dir, data, output, num_epochs=50, logging_steps=1, train_batch_size=2).save(
        tmp_path / "config.json")
    launcher = subprocess.Popen([sys.executable, "-m", "moderator_app", "train", "--nproc", "2", "--config",
                                 str(tmp_path / "config.json")], cwd=REPO, env=environment(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while not _has_steps(output):  # rank 0 logs every step: training is under way
            try:
                launcher.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"the run ended before a step was logged: {launcher.stderr.read()}")
        os.kill(_process_with_rank(launcher.pid, 1), signal.SIGKILL)  # as the out-of-memory killer would
        _, stderr = launcher.communicate(timeout=LAUNCH_TIMEOUT)
    finally:
        launcher.kill()
    assert launcher.returncode == 1
    assert "training process 2 of 2 was killed by signal 9" in stderr
    assert "Traceback" not in stderr
    # A run that fails before its first epoch ends leaves nothing behind; in no case a finished run.
    assert not output.exists() or not events(output, "finished")


def _has_steps(output: Path) -> bool:
    try:
        return bool(events(output, "step"))
    except (OSError, ValueError):  # not written yet, or a line being written
        return False


def _process_with_rank(ancestor: int, rank: int) -> int:
    """The pid of the process that torchrun started as `rank` under `ancestor`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            status = (entry / "status").read_text()
        except OSError:
            continue
        if f"RANK={rank}".encode() in environ and b"TORCHELASTIC_RUN_ID" in b" ".join(environ):
            parent = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
            if parent == ancestor:
                return int(entry.name)
    raise AssertionError(f"no process with RANK={rank} under {ancestor}")


def test_the_app_trains_on_two_processes_hears_process_0_once_and_stops_them_all(model_without_dropout, data,
                                                                                 tmp_path):
    """The desktop app's path: its training process starts two through torchrun's launcher API."""
    import threading

    from moderator_app.core.training.events import DataLoadedEvent, FinishedEvent, StepEvent
    from moderator_app.core.training.process import train_in_subprocess

    stop, seen = threading.Event(), []

    def on_event(event):
        seen.append(event)
        if isinstance(event, DataLoadedEvent):  # Stop as soon as the run starts: all processes stop together
            stop.set()

    output = tmp_path / "out"
    result = train_in_subprocess(settings(model_without_dropout, data, output, num_epochs=6, logging_steps=1),
                                 on_event, stop, processes=2)
    assert result.reason == "stopped" and result.global_step < 60
    steps = [event.global_step for event in seen if isinstance(event, StepEvent)]
    assert steps == list(range(1, result.global_step + 1))  # process 0's events, each once, in order
    assert [type(event) for event in seen].count(FinishedEvent) == 1
    assert (output / "checkpoint" / "trainer_state.json").exists()
    assert json.loads((output / "checkpoint" / "trainer_state.json").read_text())["world_size"] == 2


def test_the_form_offers_gpus_to_use_only_with_more_than_one_gpu(qtbot):
    from moderator_app.core.precision import Hardware
    from moderator_app.gui.common.checks import DeviceInfo
    from moderator_app.gui.common.tasks import BackgroundTasks
    from moderator_app.gui.training.form import TrainingForm

    form = TrainingForm(BackgroundTasks())
    qtbot.addWidget(form)
    form.show()
    choices = [("auto", "Auto (CUDA)"), ("cuda", "CUDA: two GPUs"), ("cpu", "CPU")]
    form._devices_ready(DeviceInfo(choices=choices[2:], auto_resolves_to="cpu", hardware=Hardware(cpu_bf16=False, cuda_bf16=False), gpu_count=0))
    assert not form.gpu_count.isVisible() and form.processes() == 1

    form._devices_ready(DeviceInfo(choices=choices, auto_resolves_to="cuda", hardware=Hardware(cpu_bf16=False, cuda_bf16=False), gpu_count=2))
    assert form.gpu_count.isVisible() and form.gpu_count.maximum() == 2
    form.gpu_count.setValue(2)
    assert form.processes() == 2
    form.fields["device"].set_value("cpu")  # CPU processes are for the command line
    assert form.processes() == 1
