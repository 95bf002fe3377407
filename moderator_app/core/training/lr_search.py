"""Find a learning rate: short, seeded trials of the unchanged training engine over a log-spaced range.

Each trial is the start of the real run — the same model, settings and seed — on a stratified subset
of the training split (`steps` batches of it, or a `fraction` of an epoch), validated on a stratified
subset of the validation split. Every trial starts from the same weights and sees the same batches, so
the learning rate is the only difference between them. The trial runs `engine.train` as it is: the
subsets are written as JSON Lines into a temporary folder, each trial trains into a folder inside it,
and the whole folder is removed at the end, whether the search finished, failed or was cancelled —
nothing is written near the user's data or output folder. The folder is named by the process id, so
that the next search removes one left by a process that was killed.
Several training sources are sampled together, as read (their
weights shape an epoch of the real run, not these subsets). A multi-label run (`categories`) is sampled
by each row's yes/no/unknown pattern and its subsets keep the unknowns, so that each trial trains and is
scored with the run's masked loss (core/training/multi_label), as the real run would be.

Why a plain log-spaced grid and not Optuna: the product is the curve of validation loss against the
learning rate, over the whole range, to read where training starts to work and where it diverges;
Optuna's sampler would cluster trials near its current best and leave the curve uneven, and it pays
off after dozens of trials, not the handful a CPU affords. Its pruning needs a measure during each
trial, which the unchanged engine gives only as the training loss (validation runs at the end of an
epoch); the search uses exactly that to end a diverging trial early (the training loss, smoothed,
rising to `DIVERGENCE_FACTOR` times its lowest), the one pruning that saves time here.

A trial holds the peak rate constant after its warm-up (`constant_with_warmup`): in the real run the
first fraction of an epoch is still near the peak of a linear or cosine decay over many epochs, and
decaying it to zero within a short trial would blur the differences being measured.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from moderator_app.core.config import FIELD_SPECS, ConfigError, TrainingConfig
from moderator_app.core.errors import SettingsError
from moderator_app.core.files.atomic import process_is_alive  # the rule the atomic outputs use
from moderator_app.core.training.events import EpochEvent, StepEvent
from moderator_app.core.training.process import run_in_subprocess

RECIPE_LEARNING_RATE: float = FIELD_SPECS["learning_rate"]["default"]  # the recipe's 2e-5
DIVERGENCE_FACTOR = 4.0  # a trial whose smoothed training loss reaches this × its lowest has diverged
SMOOTHING = 0.9  # EMA weight of the past for that smoothed loss (as the Run page's plot)
MAX_TRIALS = 50
WORK_PREFIX = "moderator-app-lr-search-"  # then the process id: a folder whose process is gone is removed


@dataclass
class SearchSettings:
    """The range and the size of the trials. Exactly one of `steps` (optimiser steps per trial) and
    `fraction` (of an epoch of the training split) sets how much each trial trains."""

    min_lr: float = 1e-6
    max_lr: float = 1e-3
    trials: int = 7  # log-spaced over the range: 7 over 1e-6 … 1e-3 is two per decade
    steps: int | None = 30
    fraction: float | None = None
    validation_rows: int = 512  # the stratified validation subset each trial is scored on
    include_recipe: bool = True  # also try the recipe's 2e-5 when it lies in the range

    def check(self) -> "SearchSettings":
        """Raise a SettingsError naming the first bad setting (as ``{min_lr}`` …)."""
        for name in ("min_lr", "max_lr"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 < value <= 1:
                raise SettingsError(f"{{{name}}} must be a learning rate between 0 and 1, got {value!r}.",
                                    setting=name)
        if self.min_lr >= self.max_lr:
            raise SettingsError(f"The range is empty: {{min_lr}} ({self.min_lr:g}) must be below {{max_lr}} "
                                f"({self.max_lr:g}).", setting="min_lr")
        if not isinstance(self.trials, int) or not 2 <= self.trials <= MAX_TRIALS:
            raise SettingsError(f"{{trials}} must be between 2 and {MAX_TRIALS}, got {self.trials!r}.",
                                setting="trials")
        if (self.steps is None) == (self.fraction is None):
            raise SettingsError("Give either {steps} or {fraction}, not both.", setting="steps")
        if self.steps is not None and (not isinstance(self.steps, int) or self.steps < 1):
            raise SettingsError(f"{{steps}} must be a whole number of at least 1, got {self.steps!r}.",
                                setting="steps")
        if self.fraction is not None and not (isinstance(self.fraction, (int, float)) and 0 < self.fraction <= 1):
            raise SettingsError(f"{{fraction}} must be a fraction of an epoch above 0 and at most 1, got "
                                f"{self.fraction!r}.", setting="fraction")
        if not isinstance(self.validation_rows, int) or self.validation_rows < 2:
            raise SettingsError(f"{{validation_rows}} must be at least 2, got {self.validation_rows!r}.",
                                setting="validation_rows")
        return self

    def learning_rates(self) -> list[float]:
        """The trials' learning rates, ascending: log-spaced over the range, plus the recipe's 2e-5 when
        it lies inside and no grid point is within 10 % of it."""
        import numpy as np

        rates = [float(rate) for rate in np.geomspace(self.min_lr, self.max_lr, self.trials)]
        recipe = RECIPE_LEARNING_RATE
        if self.include_recipe and self.min_lr <= recipe <= self.max_lr and \
                all(abs(rate / recipe - 1) > 0.1 for rate in rates):
            rates.append(recipe)
        return sorted(rates)


@dataclass
class TrialProgress:
    """A trial under way: `step` of `steps` (0 while its model loads), its latest training loss."""

    trial: int  # 1-based
    trials: int
    learning_rate: float
    step: int
    steps: int
    loss: float | None = None
    kind: str = "lr_progress"


@dataclass
class TrialResult:
    """One trial's outcome. `val_loss` is None for a trial that diverged (loss not a number, or the
    training loss running away), which is then not scored."""

    learning_rate: float
    val_loss: float | None
    accuracy: float | None
    f1: float | None
    train_loss: float | None  # the last smoothed training loss
    steps: int
    diverged: bool
    seconds: float
    kind: str = "lr_trial"

    @property
    def is_recipe(self) -> bool:
        return math.isclose(self.learning_rate, RECIPE_LEARNING_RATE, rel_tol=1e-9)


@dataclass
class SearchResult:
    trials: list[TrialResult]
    best: float | None  # the lowest validation loss's learning rate
    recommended: float | None
    reason: str  # why the recommendation, in one or two sentences
    cancelled: bool
    train_rows: int  # rows each trial trained on, of `train_rows_total`
    train_rows_total: int
    validation_rows: int
    steps: int  # optimiser steps per trial
    labels: list[str] = field(default_factory=list)

    @property
    def fraction_of_epoch(self) -> float:
        return self.train_rows / max(self.train_rows_total, 1)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["recipe_learning_rate"] = RECIPE_LEARNING_RATE
        data["fraction_of_epoch"] = self.fraction_of_epoch
        for trial, record in zip(self.trials, data["trials"]):
            record["is_recipe"] = trial.is_recipe
            record.pop("kind")
        return data


ProgressCallback = Callable[[Any], None]  # TrialProgress while a trial runs, TrialResult after it


def search_learning_rates(config: TrainingConfig, settings: SearchSettings | None = None,
                          on_progress: ProgressCallback | None = None,
                          stop_event: threading.Event | None = None) -> SearchResult:
    """Run the trials of `settings` for `config` (its output folder is not used) and recommend a rate.

    `stop_event` cancels after the step in flight: the result then holds the trials done, with
    `cancelled` set. Raises a UserError for bad settings or data, as training would."""
    settings = (settings or SearchSettings()).check()
    check_config(config)
    report = on_progress or (lambda _item: None)
    stop = stop_event or threading.Event()
    remove_abandoned_searches()
    work = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-"))
    try:
        plan = _prepare_subsets(config, settings, work)
        rates = settings.learning_rates()
        trials: list[TrialResult] = []
        for index, rate in enumerate(rates, start=1):
            if stop.is_set():
                break
            trial = _run_trial(config, plan, rate, index, len(rates), work / f"trial-{index}", report, stop)
            if trial is None:  # cancelled during the trial
                break
            trials.append(trial)
            report(trial)
        best, recommended, reason = recommend(trials)
        return SearchResult(trials, best, recommended, reason, cancelled=stop.is_set(),
                            train_rows=plan.train_rows, train_rows_total=plan.train_rows_total,
                            validation_rows=plan.validation_rows, steps=plan.steps, labels=plan.labels)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def search_in_subprocess(config: TrainingConfig, settings: SearchSettings | None = None,
                         on_progress: ProgressCallback | None = None, stop_event=None) -> SearchResult:
    """`search_learning_rates` in a child process (what the desktop app runs), as training runs there."""
    return run_in_subprocess(_search_job, (config, settings), on_progress, stop_event)


def _search_job(config: TrainingConfig, settings: SearchSettings | None, on_event, stop_event) -> SearchResult:
    import signal
    import sys

    # The app ends its children with SIGTERM when it quits: leave through `finally`, removing the trials.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return search_learning_rates(config, settings, on_event, stop_event)


def remove_abandoned_searches() -> list[Path]:
    """Remove the temporary folders of searches whose process was killed (it had no chance to)."""
    pattern = re.compile(rf"^{re.escape(WORK_PREFIX)}(\d+)-")
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(WORK_PREFIX + "*"):
        match = pattern.match(folder.name)
        if match and folder.is_dir() and not process_is_alive(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


# ----------------------------------------------------------------------------------------------------
def check_config(config: TrainingConfig) -> None:
    """The training settings, every one but the output folder (trials write into their own)."""
    found = config.problems()
    found.pop("output_dir", None)
    if found:
        first = next(iter(found))
        raise ConfigError(first, found[first], problems=found)


@dataclass
class _Plan:
    train_file: str
    validation_file: str
    train_rows: int
    train_rows_total: int
    validation_rows: int
    steps: int
    labels: list[str]


def _prepare_subsets(config: TrainingConfig, settings: SearchSettings, work: Path) -> _Plan:
    """Read the data as training does, draw the seeded stratified subsets, write them for the trials."""
    # lazy for start-up speed: the Training tab imports this module as the window opens (the learning-rate finder),
    # and the data loader with all it stands on would slow that down
    from moderator_app.core.training.data import load_training_data

    data = load_training_data(config)
    multi_label = bool(config.categories)
    # a multi-label row's stratum is its pattern of yes / no / unknown over the categories
    stratum = (lambda label: ",".join(str(round(value)) for value in label)) if multi_label else (lambda label: label)
    train_labels = [stratum(label) for label in data.train["label"]]
    val_labels = [stratum(label) for label in data.validation["label"]]
    batch = config.train_batch_size
    wanted = settings.steps * batch if settings.steps is not None else max(1, round(settings.fraction * len(train_labels)))
    train_rows = _stratified_rows(train_labels, wanted, config.seed)
    val_rows = _stratified_rows(val_labels, settings.validation_rows, config.seed)
    names = data.label_names
    train_file, validation_file = work / "train.jsonl", work / "validation.jsonl"
    for path, split, rows in ((train_file, data.train, train_rows), (validation_file, data.validation, val_rows)):
        texts, labels = split[rows]["text"], split[rows]["label"]
        with open(path, "w", encoding="utf-8") as handle:
            for text, label in zip(texts, labels):
                row = ({"text": text, **_category_cells(label)} if multi_label else {"text": text, "label": names[label]})
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return _Plan(str(train_file), str(validation_file), len(train_rows), len(train_labels), len(val_rows),
                 math.ceil(len(train_rows) / batch), names)


def _category_column(position: int) -> str:
    """A subset file's column of the category at `position` (not its name: a category may be called 'text')."""
    return f"category {position + 1}"


def _category_cells(targets) -> dict[str, str | None]:
    """A multi-label row's targets as the subset file's yes / no cells, None (blank: unknown) where unknown."""
    return {_category_column(position): "yes" if value == 1 else "no" if value == 0 else None
            for position, value in enumerate(targets)}


def _stratified_rows(labels: list, wanted: int, seed: int) -> list[int]:
    """`wanted` row indices keeping each label's share (scikit-learn's stratified split, seeded), in
    ascending order; all rows when that leaves too few of a label out to stratify."""
    from sklearn.model_selection import train_test_split

    every = list(range(len(labels)))
    classes = len(set(labels))
    if wanted >= len(labels) - classes:
        return every
    try:
        chosen, _ = train_test_split(every, train_size=max(wanted, classes), stratify=labels, random_state=seed)
    except ValueError:  # a label with a single row cannot be stratified: a seeded plain sample
        chosen, _ = train_test_split(every, train_size=wanted, random_state=seed)
    # A label too rare for its share to round to a row still gets one: a trial without it would train
    # another classifier (and a validation row of it would stop the trial).
    missing = set(labels) - {labels[row] for row in chosen}
    chosen = list(chosen) + [labels.index(label) for label in sorted(missing)]
    return sorted(chosen)


def _trial_config(config: TrainingConfig, plan: _Plan, rate: float, output: Path) -> TrainingConfig:
    schedule = "constant" if config.lr_scheduler == "constant" else "constant_with_warmup"
    data = dict(train_file=plan.train_file, validation_file=plan.validation_file, sources=[])
    if config.categories:  # one source read by yes/no rules, its validation file the validation subset
        data = dict(train_file="", validation_file="", sources=[dict(
            path=plan.train_file, validation_path=plan.validation_file, text_column="text",
            categories={name: {"column": _category_column(position)} for position, name in enumerate(plan.labels)})])
    return dataclasses.replace(
        config, **data, text_column="text", label_column="label", output_dir=str(output), overwrite=False,
        learning_rate=rate, num_epochs=1,
        early_stopping_patience=0, save_checkpoint_every_epoch=False, logging_steps=1, lr_scheduler=schedule,
        warmup_steps=min(config.warmup_steps, plan.steps // 2),
        compile_model=False)  # a short trial never pays for a compilation (core/training/compiled.py)


def _run_trial(config: TrainingConfig, plan: _Plan, rate: float, index: int, count: int, output: Path,
               report: ProgressCallback, stop: threading.Event) -> TrialResult | None:
    """One trial; None when cancelled during it."""
    # lazy for start-up speed, as the data loader above: the engine is imported when a trial runs
    from moderator_app.core.training.engine import TrainingError, train

    trial_stop = threading.Event()  # the engine's: set on cancel, or when the loss runs away
    ema: list[float] = []
    smoothed: list[float] = []  # the EMA of the training loss, debiased
    lowest = [math.inf]
    epochs: list[EpochEvent] = []
    running_away = []

    def on_event(event) -> None:
        if isinstance(event, StepEvent):
            ema.append(SMOOTHING * (ema[-1] if ema else 0.0) + (1 - SMOOTHING) * event.loss)
            smoothed.append(ema[-1] / (1 - SMOOTHING ** len(ema)))
            lowest[0] = min(lowest[0], smoothed[-1])
            if smoothed[-1] > DIVERGENCE_FACTOR * lowest[0] and event.global_step < event.total_steps:
                running_away.append(event.global_step)
                trial_stop.set()
            report(TrialProgress(index, count, rate, event.global_step, event.total_steps, event.loss))
        elif isinstance(event, EpochEvent):
            epochs.append(event)
        if stop.is_set():
            trial_stop.set()

    report(TrialProgress(index, count, rate, 0, plan.steps))
    started = time.perf_counter()
    try:
        finished = train(_trial_config(config, plan, rate, output), on_event, trial_stop)
        steps = finished.global_step
    except TrainingError as error:
        if "diverged" not in str(error):  # anything but a loss that is no longer a number stops the search
            raise
        steps = len(smoothed) + 1
        running_away.append(steps)
    finally:
        shutil.rmtree(output, ignore_errors=True)  # a trial's model is of no use once it is scored
    if stop.is_set() and not epochs:
        return None
    last = smoothed[-1] if smoothed else None
    seconds = time.perf_counter() - started
    if running_away or not epochs:
        return TrialResult(rate, None, None, None, last, steps, True, seconds)
    epoch = epochs[-1]
    if not math.isfinite(epoch.val_loss):
        return TrialResult(rate, None, None, None, last, steps, True, seconds)
    return TrialResult(rate, epoch.val_loss, epoch.accuracy, epoch.f1, last, steps, False, seconds)


def recommend(trials: list[TrialResult]) -> tuple[float | None, float | None, str]:
    """(best, recommended, why). The best is the lowest validation loss. It is recommended, unless the
    next higher rate diverged or did worse than the lowest rate tried: then the best sits at the edge of
    divergence, where a full run of many epochs often diverges later, and one step lower is recommended."""
    ordered = sorted(trials, key=lambda trial: trial.learning_rate)
    usable = [trial for trial in ordered if not trial.diverged]
    if not usable:
        return None, None, ("Every trial diverged." if ordered else "No trial finished.") + \
            " Lower the range of learning rates."
    best = min(usable, key=lambda trial: trial.val_loss)
    position = ordered.index(best)
    above = ordered[position + 1] if position + 1 < len(ordered) else None
    below = ordered[position - 1] if position > 0 else None
    at_edge = above is not None and (above.diverged or above.val_loss > usable[0].val_loss)
    reason = f"{best.learning_rate:.2g} gave the lowest validation loss ({best.val_loss:.4f})"
    if at_edge and below is not None and not below.diverged:
        why = "diverged" if above.diverged else "did worse than the lowest rate tried"
        reason += (f", but {above.learning_rate:.2g} {why}: it sits at the edge of divergence, where a full run "
                   f"of many epochs often diverges later, so one step lower, {below.learning_rate:.2g}, is safer.")
        recommended = below.learning_rate
    else:
        reason += "."
        recommended = best.learning_rate
    if above is None and len(ordered) > 1:
        reason += " It is the highest rate tried: the loss may fall further above it; raise the top of the range."
    elif below is None and len(ordered) > 1:
        reason += " It is the lowest rate tried: lower the bottom of the range to see whether lower is better still."
    return best.learning_rate, recommended, reason
