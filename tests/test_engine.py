import json
import threading

import pytest

from moderator_app.core.config import TrainingConfig
from moderator_app.core.errors import DataError, ModelNotUsableError, OutputNotWritableError, describe_failure
from moderator_app.core.training.engine import TrainingError, train
from moderator_app.core.training.events import EpochEvent, FailedEvent, StepEvent
from tiny_models import synthetic_rows, write_csv

# auto resolves to bf16 or fp32 by the CPU: `make test` runs this module both ways (--cpu-bf16)
pytestmark = pytest.mark.precision


def tiny_config(tiny_model_dir, train_csv, output_dir, **overrides) -> TrainingConfig:
    settings = dict(train_file=str(train_csv), model_name_or_path=str(tiny_model_dir), output_dir=str(output_dir),
                    learning_rate=1e-3, train_batch_size=16, eval_batch_size=32, warmup_steps=5, num_epochs=2,
                    max_length=32, logging_steps=4)
    settings.update(overrides)
    return TrainingConfig(**settings)


class Recorder:
    def __init__(self, stop_at_step=None, stop_event=None):
        self.events = []
        self.stop_at_step, self.stop_event = stop_at_step, stop_event

    def __call__(self, event):
        self.events.append(event)
        if isinstance(event, StepEvent) and event.global_step == self.stop_at_step:
            self.stop_event.set()

    def of(self, kind):
        return [event for event in self.events if isinstance(event, kind)]


def test_engine_learns_a_learnable_task(tiny_model_dir, synthetic_csv, synthetic_val_csv, tmp_path):
    recorder = Recorder()
    config = tiny_config(tiny_model_dir, synthetic_csv, tmp_path / "out", num_epochs=4,
                         validation_file=str(synthetic_val_csv))
    result = train(config, recorder)
    epochs = recorder.of(EpochEvent)
    assert result.reason == "completed" and len(epochs) == 4
    assert max(epoch.accuracy for epoch in epochs) > 0.9
    steps = recorder.of(StepEvent)
    assert [step.global_step for step in steps] == list(range(1, 4 * 30 + 1))  # 480 rows / 16, one event per step
    assert steps[-1].epoch == pytest.approx(4.0)
    assert all(step.samples_per_second > 0 for step in steps)
    assert sum(epochs[-1].confusion_matrix[0]) + sum(epochs[-1].confusion_matrix[1]) == 120
    # The output is a plain Hugging Face folder that loads anywhere.
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(result.output_dir)
    tokenizer = AutoTokenizer.from_pretrained(result.output_dir)
    assert model.config.id2label == {0: "hate", 1: "not-hate"}
    assert model.config.label2id == {"hate": 0, "not-hate": 1}
    assert (tmp_path / "out" / "model.safetensors").exists()
    assert not (tmp_path / "out" / "checkpoint").exists()  # finished runs need no resumable state
    logits = model(**tokenizer(["we went to market vermin scum", "lovely weather today"], return_tensors="pt",
                                padding=True)).logits
    assert logits.argmax(-1).tolist() == [0, 1]


def test_early_stopping_keeps_the_best_epoch(tiny_model_dir, synthetic_csv, tmp_path):
    # Validation labels are the opposite of the training rule: the better the model learns,
    # the higher its validation loss, so early stopping must fire and keep an early epoch.
    flipped = [(text, "not-hate" if label == "hate" else "hate") for text, label in synthetic_rows(96, seed=3)]
    val_csv = write_csv(tmp_path / "flipped.csv", flipped)
    recorder = Recorder()
    config = tiny_config(tiny_model_dir, synthetic_csv, tmp_path / "out", num_epochs=12,
                         early_stopping_patience=2, validation_file=str(val_csv))
    result = train(config, recorder)
    epochs = recorder.of(EpochEvent)
    best = min(epochs, key=lambda epoch: epoch.val_loss)
    assert result.reason == "early_stopping"
    assert result.best_epoch == best.epoch and len(epochs) == best.epoch + 2 < 12
    assert [epoch.is_best for epoch in epochs].count(True) >= 1 and epochs[-1].is_best is False
    # The saved weights are the best epoch's: evaluating them reproduces its validation loss.
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(result.output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(result.output_dir)
    texts, labels = zip(*flipped)
    with torch.no_grad():
        batch = tokenizer(list(texts), truncation=True, max_length=32, padding=True, return_tensors="pt")
        targets = torch.tensor([model.config.label2id[label] for label in labels])
        loss = torch.nn.functional.cross_entropy(model(**batch).logits, targets).item()
    assert loss == pytest.approx(best.val_loss, abs=1e-4)
    summary = json.loads((tmp_path / "out" / "training_summary.json").read_text())
    assert summary["best_epoch"] == best.epoch and summary["stop_reason"] == "early_stopping"


def test_stop_mid_epoch_then_resume_reproduces_the_uninterrupted_run(tiny_model_dir, synthetic_csv, tmp_path):
    uninterrupted = Recorder()
    train(tiny_config(tiny_model_dir, synthetic_csv, tmp_path / "full", logging_steps=1), uninterrupted)

    stop = threading.Event()
    first_half = Recorder(stop_at_step=40, stop_event=stop)  # epoch 2 of 2, 27 steps per epoch
    stopped = train(tiny_config(tiny_model_dir, synthetic_csv, tmp_path / "parted", logging_steps=1),
                    first_half, stop_event=stop)
    assert stopped.reason == "stopped" and stopped.resumable
    assert stopped.global_step == 40  # honoured within the step in flight
    checkpoint = tmp_path / "parted" / "checkpoint"
    assert (checkpoint / "model.safetensors").exists() and (checkpoint / "optimizer.pt").exists()
    from transformers import AutoModelForSequenceClassification

    AutoModelForSequenceClassification.from_pretrained(checkpoint)  # usable as it is

    second_half = Recorder()
    resumed = train(TrainingConfig(), second_half, resume_from=tmp_path / "parted")
    assert resumed.reason == "completed"
    losses = [event.loss for event in first_half.of(StepEvent) + second_half.of(StepEvent)]
    assert losses == [event.loss for event in uninterrupted.of(StepEvent)]  # exactly, on the CPU
    assert [e.val_loss for e in first_half.of(EpochEvent) + second_half.of(EpochEvent)] == \
        [e.val_loss for e in uninterrupted.of(EpochEvent)]
    logged = [json.loads(line) for line in (tmp_path / "parted" / "metrics.jsonl").read_text().splitlines()]
    assert [event["global_step"] for event in logged if event["kind"] == "step"] == list(range(1, 55))


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    failures = []
    with pytest.raises(TrainingError, match="no checkpoint") as raised:
        train(TrainingConfig(), failures.append, resume_from=tmp_path)
    assert describe_failure(raised.value).is_user_error
    assert isinstance(failures[0], FailedEvent) and "no checkpoint" in failures[0].message


def test_failures_are_readable_events(tiny_model_dir, tmp_path):
    events = []
    config = tiny_config(tiny_model_dir, tmp_path / "missing.csv", tmp_path / "out")
    with pytest.raises(DataError, match="missing.csv: file not found"):
        train(config, events.append)
    assert isinstance(events[-1], FailedEvent)
    config = tiny_config(tmp_path / "no-such-model", tmp_path / "missing.csv", tmp_path / "out")
    with pytest.raises(ModelNotUsableError, match="no such model folder"):
        train(config)
    assert not (tmp_path / "out").exists()  # nothing written for a run that never started


def test_output_folder_with_foreign_files_is_refused(tiny_model_dir, synthetic_csv, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.docx").write_text("precious")
    with pytest.raises(OutputNotWritableError, match="already holds files that are not an earlier run"):
        train(tiny_config(tiny_model_dir, synthetic_csv, tmp_path / "out"))
    assert (tmp_path / "out" / "thesis.docx").read_text() == "precious"


def test_model_card_and_metrics_log(tiny_model_dir, synthetic_csv, tmp_path):
    result = train(tiny_config(tiny_model_dir, synthetic_csv, tmp_path / "out", num_epochs=2))
    card = (tmp_path / "out" / "README.md").read_text()
    assert "| Training Loss | Epoch | Step | Validation Loss | Accuracy | F1 |" in card
    assert card.count("**(best)**") == 1 and f"| {result.best_epoch}.0 **(best)**" in card
    for expected in ("learning_rate: 0.001", "train_batch_size: 16", "seed: 12345", "betas=(0.9,0.999)",
                     "lr_scheduler_warmup_steps: 5", "Transformers ", "Pytorch ", "base_model: "):
        assert expected in card
    kinds = [json.loads(line)["kind"] for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert kinds.count("step") == 54 and kinds.count("epoch") == 2 and kinds[0] == "data" and kinds[-1] == "finished"
    saved = TrainingConfig.load(tmp_path / "out" / "training_config.json")
    assert saved.learning_rate == 1e-3 and saved.num_epochs == 2


def test_the_first_step_is_reported_at_once_not_after_logging_steps(tiny_model_dir, synthetic_csv, tmp_path):
    """The progress starts with the first step (a stop asked on seeing it stops right there), not after
    `logging_steps` steps (ten by default, over a minute on a CPU for a large model)."""
    stop = threading.Event()
    recorder = Recorder(stop_at_step=1, stop_event=stop)
    config = tiny_config(tiny_model_dir, synthetic_csv, tmp_path / "out", num_epochs=1, logging_steps=10)
    result = train(config, recorder, stop_event=stop)
    assert result.reason == "stopped" and result.global_step == 1
    assert [step.global_step for step in recorder.of(StepEvent)] == [1]
