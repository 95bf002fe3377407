"""Events the training engine emits. Plain dataclasses, so the CLI prints them, the GUI turns
them into Qt signals and `metrics.jsonl` stores them, all without knowing about each other."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class DataLoadedEvent:
    """The data was read and split; `summary` is the report to show before training starts."""

    summary: str
    report: dict[str, Any]
    kind: str = "data"


@dataclass
class StepEvent:
    """One optimiser step. Losses are read from the device in groups of `logging_steps`,
    so StepEvents arrive in bursts, one per step, each with its own loss."""

    global_step: int
    total_steps: int
    epoch: float  # fractional: 1.5 is half-way through the second epoch
    loss: float
    learning_rate: float
    samples_per_second: float
    seconds_left: float  # estimate for the whole run (all epochs, without early stopping)
    kind: str = "step"


@dataclass
class EpochEvent:
    """End of an epoch, with the validation metrics."""

    epoch: int  # 1-based
    global_step: int
    train_loss: float  # mean training loss over the epoch
    val_loss: float
    accuracy: float
    precision: float  # macro
    recall: float  # macro
    f1: float  # macro
    confusion_matrix: list[list[int]]  # rows: true label, columns: predicted label
    labels: list[str]
    seconds: float
    is_best: bool
    kind: str = "epoch"
    majority_baseline: float = 0.0  # accuracy of predicting the most frequent validation label everywhere
    # per training source (several sources): name -> n, accuracy, precision, recall, f1, majority_baseline,
    # confusion_matrix
    per_source: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    warning: str | None = None  # the model predicts one class for (nearly) all rows or does not beat the baseline
    # a multi-label run: per category, its precision, recall, F1, AP, prevalence … on its known validation rows
    # (core/training/multi_label.epoch_figures); the fields above are then the categories' means
    categories: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


@dataclass
class CheckpointEvent:
    path: str
    global_step: int
    epoch: float
    kind: str = "checkpoint"


@dataclass
class FinishedEvent:
    """The run ended: completed, stopped early by validation loss, or stopped on request."""

    output_dir: str
    best_epoch: int | None  # None when stopped before the first epoch ended
    best_metrics: dict[str, Any]
    reason: str  # "completed", "early_stopping" or "stopped"
    global_step: int
    checkpoint_dir: str  # resume from here
    skipped_steps: int = 0  # fp16 steps skipped by the GradScaler because of inf/nan gradients
    kind: str = "finished"
    warning: str | None = None  # the best epoch's model is degenerate (see EpochEvent.warning): not a success

    @property
    def resumable(self) -> bool:
        return self.reason == "stopped"


@dataclass
class StatusEvent:
    """What the run is doing while no steps are coming (loading the model, restoring a checkpoint).
    Shown live, not logged in metrics.jsonl."""

    message: str
    kind: str = "status"


@dataclass
class FunctionalTestsEvent:
    """The run's functional test suites, run on the final model at its operating point: one entry per
    suite, as core.evaluation.suite_results.SuiteResult.to_dict (with its first failing cases)."""

    suites: list[dict[str, Any]]
    kind: str = "tests"


@dataclass
class FailedEvent:
    message: str  # readable, one paragraph, says what to do
    kind: str = "failed"


TrainingEvent = (DataLoadedEvent | StepEvent | EpochEvent | CheckpointEvent | FinishedEvent | FailedEvent
                 | StatusEvent | FunctionalTestsEvent)
EventCallback = Callable[[TrainingEvent], None]


def event_to_dict(event: TrainingEvent) -> dict[str, Any]:
    return dataclasses.asdict(event)


_EVENT_TYPES: dict[str, type] = {cls.kind: cls for cls in  # type: ignore[attr-defined]
                                 (DataLoadedEvent, StepEvent, EpochEvent, CheckpointEvent, FinishedEvent, FailedEvent,
                                  StatusEvent, FunctionalTestsEvent)}


def event_from_dict(record: dict[str, Any]) -> TrainingEvent:
    """The inverse of `event_to_dict`, for replaying a run's `metrics.jsonl` through the same handler
    that shows live events. Unknown keys (from a newer version) are ignored; a record of an unknown kind
    or missing a field raises ValueError."""
    cls = _EVENT_TYPES.get(record.get("kind", ""))
    if cls is None:
        raise ValueError(f"unknown event kind {record.get('kind')!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{key: value for key, value in record.items() if key in names})
    except TypeError as error:
        raise ValueError(f"incomplete {cls.__name__}: {error}") from None
