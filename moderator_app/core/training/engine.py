"""The fine-tuning engine: a plain PyTorch loop that a GUI thread or the CLI can drive and stop.

Read `train()` top to bottom: set-up, the epoch loop, evaluation, checkpoints, the result.
Values are read back from the device only every `logging_steps` steps (`.item()` each step would
stall a GPU), and a stop request is honoured after the step in flight. What is done with a batch
(drawing an epoch's batches, the loss, the validation pass) is in core/training/batches.py.
"""

from __future__ import annotations

import json
import math
import shutil
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from moderator_app.core.config import TrainingConfig
from moderator_app.core.devices import resolve_device
from moderator_app.core.evaluation.operating_point import calibrate_trained_model
from moderator_app.core.errors import OutputNotWritableError, UserError, describe_failure, is_disk_full
from moderator_app.core.hub import ensure_model_available, hub_reachable
from moderator_app.core.precision import training_precision
from moderator_app.core.training import base_model, distributed
from moderator_app.core.training.batches import batch_loss, epoch_batches, evaluate_batches, found_inf, tokenize
from moderator_app.core.training.compiled import TrainingStep
from moderator_app.core.training.checkpoint import (TrainerState, load_trainer_state, restore_checkpoint,
                                                    save_checkpoint)
from moderator_app.core.training.data import load_training_data
from moderator_app.core.training.epoch_quality import (class_weights, degenerate_warning_for, majority_baseline,
                                                       per_source_metrics)
from moderator_app.core.training.evasion import EvasionCopies, training_families
from moderator_app.core.training.events import (CheckpointEvent, DataLoadedEvent, EpochEvent, EventCallback,
                                                FailedEvent, FinishedEvent, FunctionalTestsEvent, StatusEvent,
                                                StepEvent, TrainingEvent, event_to_dict)
from moderator_app.core.training.model_card import write_model_card, write_summary
from moderator_app.core.training.multi_label import (category_class_weights, epoch_figures, evaluate_multi_label,
                                                     multi_label_loss)
from moderator_app.core.training.run_folder import RunFolder
from moderator_app.core.training.suites_at_end import read_run_suites, run_suites_at_end
from moderator_app.core.training.votes import SOFT_TARGETS


class TrainingError(UserError):
    """A run that cannot start or go on for a reason the user can act on (no checkpoint to resume,
    a loss that is no longer a number)."""
    title = "Training failed"


def train(config: TrainingConfig, on_event: EventCallback | None = None,
          stop_event: threading.Event | None = None, resume_from: str | Path | None = None) -> FinishedEvent:
    """Fine-tune `config.model_name_or_path` on `config.train_file`, writing to `config.output_dir`.

    With `resume_from` (an earlier run's output folder) the run continues from its checkpoint with
    that run's configuration. Emits events to `on_event`; on failure emits FailedEvent and raises the
    error (a `UserError` for anything the user can fix; `describe_failure` words any of them)."""
    listeners = [on_event] if on_event else []
    try:
        if resume_from is not None:
            config = _config_for_resume(Path(resume_from))
        config.validate()
        # Under torchrun, join the other processes first: a failure after this reaches them as a lost peer.
        cluster = distributed.join(config.device)
        try:
            if resume_from is None and cluster.is_main:  # refuse an unusable output folder before loading the model
                ensure_model_available(config.model_name_or_path, base_model=True)
                RunFolder(config.output_dir).check_new_run(config.model_name_or_path, config.overwrite)
            return _Run(config, listeners, stop_event or threading.Event(), resume=resume_from is not None,
                        cluster=cluster).run()
        finally:
            cluster.close()
    except Exception as error:
        if distributed.is_peer_failure(error):
            error = distributed.lost_peer_error()
        failure = describe_failure(error)
        for listener in listeners:
            listener(FailedEvent(failure.message))
        raise error


def _config_for_resume(folder: Path) -> TrainingConfig:
    run_folder = RunFolder(folder)
    if not run_folder.is_resumable:
        literal = str(folder).replace("{", "{{").replace("}", "}}")
        raise TrainingError(f"{literal}: no checkpoint to resume from (expected {literal}/checkpoint). "
                            "Only a stopped run can be resumed.")
    config = TrainingConfig.load(run_folder.config_file)
    config.output_dir = str(folder)
    return config


def _absolute_if_local(name: str) -> str:
    """A local path as an absolute one (what the card records and a resume from elsewhere needs);
    a hub id as it is."""
    path = Path(name).expanduser()
    return str(path.resolve()) if name and path.exists() else name


class _Run:
    def __init__(self, config: TrainingConfig, listeners: list[EventCallback], stop_event: threading.Event,
                 resume: bool, cluster: distributed.Cluster = distributed.Cluster()):
        for name in ("model_name_or_path", "train_file", "validation_file"):
            setattr(config, name, _absolute_if_local(getattr(config, name)))
        config.sources = [dict(source, **{key: _absolute_if_local(source[key]) for key in ("path", "validation_path")
                                          if source.get(key)}) for source in config.sources]
        config.test_suites = [_absolute_if_local(path) for path in config.test_suites]
        self.config = config
        self.listeners = listeners
        self.stop_event = stop_event
        self.resume = resume
        self.folder = RunFolder(config.output_dir)
        self.output_dir = self.folder.path
        self.claimed = False  # whether this run has made the folder its own (only then may it clean up)
        self.created_folder = False
        self.cluster = cluster  # this process among the training processes (one, unless under torchrun)
        self.state = TrainerState(world_size=cluster.world_size)

    # -------------------------------------------------------------------------------------------
    def emit(self, event: TrainingEvent, log: bool = True) -> None:
        if not self.cluster.is_main:  # process 0 speaks for all of them
            return
        if log:
            with open(self.folder.metrics_file, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(event_to_dict(event)) + "\n")
        for listener in self.listeners:
            listener(event)

    def status(self, message: str) -> None:
        """Say what the run is doing while no steps come (shown live, not logged in metrics.jsonl)."""
        self.emit(StatusEvent(message), log=False)

    def run(self) -> FinishedEvent:
        """The run, and what a failure leaves: nothing when no epoch ended and no checkpoint was written
        (the folder is as before), and a write failure named by its folder."""
        try:
            return self._run()
        except BaseException as error:
            if self.claimed and self.state.best_epoch is None and not self.folder.checkpoint.exists():
                self.folder.discard(self.created_folder)
            if isinstance(error, OSError) or is_disk_full(error):
                raise self.folder.write_error(error) from error
            raise

    def _claim_output(self) -> None:
        """Make the output folder this run's, as late as possible (every input has been checked by now):
        an earlier run is removed (with `overwrite`) before anything of the new run is written."""
        self.created_folder = self.folder.claim(self.config.model_name_or_path, self.config.overwrite)
        self.claimed = True
        try:  # "x": of two runs started into one empty folder at once, only one gets it
            with open(self.folder.config_file, "x", encoding="utf-8") as handle:
                handle.write(json.dumps(self.config.to_dict(), indent=2) + "\n")
        except FileExistsError:
            self.claimed = False
            raise OutputNotWritableError(f"Another run has just started writing into "
                                         f"{str(self.output_dir).replace('{', '{{').replace('}', '}}')}.",
                                         "Choose another {output_dir}.", setting="output_dir") from None

    # -------------------------------------------------------------------------------------------
    def _run(self) -> FinishedEvent:
        import torch
        from transformers import DataCollatorWithPadding, get_scheduler, set_seed
        from transformers.utils import logging as hf_logging

        config, state = self.config, self.state
        hf_logging.set_verbosity_error()  # "newly initialized head" warnings are expected here
        hf_logging.disable_progress_bar()  # our callers show their own progress
        device = resolve_device(config.device)
        precision = training_precision(config.precision, device)  # core.precision: raises SettingsError
        self.cluster.check_batch_size(config.train_batch_size)
        if self.resume:  # before the long set-up: a different number of processes cannot resume
            self.cluster.check_resume(load_trainer_state(self.folder.checkpoint).world_size)
        set_seed(config.seed)

        # ---- model and data, each checked before anything is written; each phase said as it starts
        # (the first step comes tens of seconds after Start: the Run page and the CLI say what happens)
        name = config.model_name_or_path
        self.status(f"Loading the tokenizer of {_short(name)}…")
        ensure_model_available(name, base_model=True)
        base_model.check_weight_files(name, config.allow_pickle)
        local_only = not Path(name).expanduser().is_dir() and not hub_reachable()
        tokenizer = base_model.load_tokenizer(name, local_only)
        base_model.check_max_length(name, tokenizer, config.max_length, local_only)
        self.status("Reading the data…")
        data = load_training_data(config)
        labels = data.label_names
        # a suite tests the model and is never its training data: checked before anything is written
        multi_label = bool(config.categories)  # core/training/multi_label: masked BCE per category
        suites = read_run_suites(config.test_suites, labels, (data.train["text"], data.validation["text"]),
                                 multi_label)
        self.status(f"Loading the base model {_short(name)}…")
        model = base_model.load_model(name, labels, config.allow_pickle, local_only, multi_label)
        model.to(device)
        self.status(f"Tokenizing {len(data.train):,} training and {len(data.validation):,} validation rows…")
        (train_set, train_lengths), (val_set, val_lengths) = (tokenize(split, tokenizer, config.max_length)
                                                              for split in (data.train, data.validation))
        if data.train_targets:  # vote shares as soft targets (core/training/votes); validation keeps its labels
            train_set = train_set.add_column(SOFT_TARGETS, data.train_targets)
        collate = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8 if device == "cuda" else None)
        weights = (category_class_weights(data.train["label"], config.class_weighting) if multi_label
                   else class_weights(data.train["label"], len(labels), config.class_weighting))
        class_loss_weights = None if weights is None else torch.tensor(weights, dtype=torch.float32, device=device)

        copies = None  # evasion-robust training: each epoch's obfuscated copies (core/training/evasion)
        if config.evasion_augment > 0:
            copies = EvasionCopies(train_set, data.train["text"], config.evasion_augment, config.seed,
                                   lambda texts: dict(tokenizer(texts, truncation=True, max_length=config.max_length)),
                                   training_families(config))

        def batches_of(epoch: int) -> list[list[int]]:
            return epoch_batches(train_lengths, config, epoch, data.train_sources, data.source_weights, copies)

        # ---- optimisation: the recipe's Adam, linear schedule with warm-up, native AMP
        steps_per_epoch = len(batches_of(0))  # the same every epoch: source weights fix each share's size
        total_steps = steps_per_epoch * config.num_epochs
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                      betas=(config.adam_beta1, config.adam_beta2), eps=config.adam_epsilon,
                                      weight_decay=config.weight_decay,
                                      fused=device in ("cuda", "cpu") or None)  # one kernel, not one per tensor
        scheduler = get_scheduler(config.lr_scheduler, optimizer, num_warmup_steps=config.warmup_steps,
                                  num_training_steps=total_steps)
        # Autocast only: the weights and the optimiser's state stay fp32 (master weights) at every precision.
        scaler = torch.amp.GradScaler(device if device == "cuda" else "cpu", enabled=precision.scales_loss)
        autocast = precision.autocast_arguments()

        # ---- where we start: fresh, or exactly where a checkpoint left off
        if self.resume:
            self.status("Restoring checkpoint…")
            self.state = state = load_trainer_state(self.folder.checkpoint)
            restore_checkpoint(self.folder.checkpoint, model, optimizer, scheduler, scaler)
            if self.cluster.is_main:
                _truncate_metrics(self.folder.metrics_file, state.global_step)
        elif self.cluster.is_main:  # only process 0 writes
            self._claim_output()
        self.emit(DataLoadedEvent(data.report.summary(), data.report.to_dict()))

        def save_state() -> None:
            if not self.cluster.is_main:
                return
            save_checkpoint(self.folder.checkpoint, model, tokenizer, optimizer, scheduler, scaler, state)
            self.emit(CheckpointEvent(str(self.folder.checkpoint), state.global_step,
                                      state.epoch + state.step_in_epoch / steps_per_epoch))

        def finish(reason: str) -> FinishedEvent:
            if self.cluster.is_main:
                if reason != "stopped":  # a finished run needs no resumable state; it is 3× the model's size
                    shutil.rmtree(self.folder.checkpoint, ignore_errors=True)
                write_summary(self.output_dir, config, labels, state.best_epoch, state.best_metrics, state.history,
                              reason, data.report.to_dict())
                write_model_card(self.output_dir, config, labels, state.best_epoch, state.history, reason,
                                 precision.name, precision_reason=precision.reason, compilation=training_step.state)
                if reason != "stopped" and state.best_epoch:  # the best epoch's weights are in the folder
                    calibrate_trained_model(self.output_dir, data.validation["text"], data.validation["label"],
                                            config.threshold_rule, device, config.eval_batch_size)
                    if suites:  # on the final model, at the operating point just chosen
                        self.emit(StatusEvent("Running the functional test suites…"), log=False)
                        self.emit(FunctionalTestsEvent(run_suites_at_end(self.output_dir, suites, device,
                                                                         config.eval_batch_size)))
            event = FinishedEvent(str(self.output_dir), state.best_epoch, state.best_metrics, reason,
                                  state.global_step, str(self.folder.checkpoint), state.skipped_steps,
                                  warning=state.best_metrics.get("warning") if state.best_epoch else None)
            self.emit(event)
            return event

        # ---- the loop
        trained = self.cluster.wrap(model, device)  # DDP over several processes; `model` is what is saved
        # compiled (core/training/compiled) only when asked for, in a single process
        training_step = TrainingStep(trained, config.train_batch_size, config.compile_model, self.status,
                                     unavailable="not with several processes" if self.cluster.is_distributed else None)
        train_collate = training_step.collator(collate, config.max_length)
        skipped_on_device = torch.zeros((), device=device)
        started, steps_this_session = time.perf_counter(), 0
        interval_started = started

        def report_steps(pending: list[tuple[Any, float, int]]) -> None:
            """Emit one StepEvent per pending step. The only host synchronisation of the loop."""
            losses = self.cluster.mean_of_weighted(torch.stack([item[0] for item in pending]).float()).tolist()
            now = time.perf_counter()
            samples_per_second = sum(item[2] for item in pending) / max(now - interval_started, 1e-9)
            seconds_per_step = (now - started) / steps_this_session
            if scaler.is_enabled():
                state.skipped_steps = int(skipped_on_device.item())
            first_step = state.global_step - len(pending) + 1
            for offset, (step_loss, (_, rate, _)) in enumerate(zip(losses, pending)):
                step = first_step + offset
                _check_finite(step_loss, f"the training loss at step {step}", config)
                state.epoch_loss_sum += step_loss
                self.emit(StepEvent(step, total_steps, state.epoch + (step - state.epoch * steps_per_epoch)
                                    / steps_per_epoch, step_loss, rate, samples_per_second,
                                    seconds_per_step * (total_steps - step)))

        if state.epoch < config.num_epochs:
            # the slowest step by far, often the longest phase of the start: PyTorch allocates its memory and
            # picks (oneDNN on a CPU: compiles) its kernels in it
            self.status("Training: the first step (compiling it with torch.compile takes minutes)…"
                        if training_step.compiled is not None else
                        "Training: the first step (PyTorch sets up its kernels; the next ones are faster)…")
        while state.epoch < config.num_epochs:
            epoch_started = time.perf_counter()
            batches = batches_of(state.epoch)[state.step_in_epoch:]
            # This process's rows of each batch (all of them in a single process) and their loss weights.
            own_rows, loss_weights = self.cluster.shares(batches)
            # A generator of its own: creating a DataLoader iterator draws a seed, and from the global
            # generator that draw would shift dropout's random numbers after a resume.
            loader = torch.utils.data.DataLoader(copies.dataset(state.epoch) if copies else train_set,
                                                 batch_sampler=own_rows, collate_fn=train_collate,
                                                 pin_memory=device == "cuda", generator=torch.Generator())
            model.train()
            pending: list[tuple[Any, float, int]] = []  # (loss on device, learning rate, batch size)
            for batch, loss_weight, whole_batch in zip(loader, loss_weights, batches):
                batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
                learning_rate = scheduler.get_last_lr()[0]
                self.cluster.seed_step(config.seed, state.global_step)

                def forward_backward(module):
                    with torch.autocast(**autocast):
                        loss = (multi_label_loss(module, batch, class_loss_weights) if multi_label
                                else batch_loss(module, batch, class_loss_weights)) * loss_weight
                    scaler.scale(loss).backward()
                    return loss

                loss = training_step.run(len(batch["input_ids"]), forward_backward,
                                lambda: optimizer.zero_grad(set_to_none=True))
                if config.max_grad_norm > 0:
                    scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                if scaler.is_enabled():
                    skipped_on_device += found_inf(scaler, optimizer)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)

                state.global_step += 1
                state.step_in_epoch += 1
                steps_this_session += 1
                pending.append((loss.detach(), learning_rate, len(whole_batch)))
                mid_epoch = state.step_in_epoch < steps_per_epoch
                # Agreed by all processes (a stop on any of them stops all after this same step).
                stopping = self.cluster.any_rank(self.stop_event.is_set())
                # the session's first step at once (the progress bar then has a rate), then every logging_steps
                if len(pending) >= config.logging_steps or not mid_epoch or stopping or steps_this_session == 1:
                    report_steps(pending)
                    pending, interval_started = [], time.perf_counter()
                    stopping = self.cluster.any_rank(self.stop_event.is_set())  # a listener may have asked just now
                if stopping and mid_epoch:
                    save_state()
                    return finish("stopped")

            # ---- end of epoch: evaluate, keep the best weights, decide whether to go on
            if multi_label:  # per category on its known rows; the epoch's fields are their means
                val_loss, val_logits, val_targets = evaluate_multi_label(
                    model, val_set, val_lengths, collate, config.eval_batch_size, device, autocast, len(labels),
                    class_loss_weights, self.cluster)
                quality = epoch_figures(val_logits, val_targets, labels, data.validation_sources, data.source_names)
            else:
                metrics, val_loss, truth, predicted = evaluate_batches(model, val_set, val_lengths, collate, config,
                                                                       device, autocast, len(labels), self.cluster)
                quality = dict(accuracy=metrics.accuracy, precision=metrics.precision, recall=metrics.recall,
                               f1=metrics.f1, confusion_matrix=metrics.confusion_matrix,
                               majority_baseline=majority_baseline(metrics.confusion_matrix),
                               per_source=per_source_metrics(truth, predicted, data.validation_sources,
                                                             data.source_names, len(labels)) if data.source_names else {},
                               warning=degenerate_warning_for(metrics.confusion_matrix, labels))
            _check_finite(val_loss, f"the validation loss after epoch {state.epoch + 1}", config)
            improved = state.best_val_loss is None or val_loss < state.best_val_loss
            epoch_event = EpochEvent(
                epoch=state.epoch + 1, global_step=state.global_step,
                train_loss=state.epoch_loss_sum / steps_per_epoch, val_loss=val_loss, labels=labels,
                seconds=time.perf_counter() - epoch_started, is_best=improved,
                confusion_matrix=quality.pop("confusion_matrix", []), **quality)
            state.history.append(asdict(epoch_event))
            if improved and self.cluster.is_main:
                try:
                    model.save_pretrained(self.output_dir)
                    tokenizer.save_pretrained(self.output_dir)
                except BaseException:  # no half-written weights left to be loaded as a model
                    (self.output_dir / "model.safetensors").unlink(missing_ok=True)
                    raise
            if improved:
                state.best_val_loss, state.best_epoch = val_loss, state.epoch + 1
                state.best_metrics = {"val_loss": val_loss, "accuracy": epoch_event.accuracy,
                                      "precision": epoch_event.precision, "recall": epoch_event.recall,
                                      "f1": epoch_event.f1, "majority_baseline": epoch_event.majority_baseline,
                                      "warning": epoch_event.warning}
                if epoch_event.categories:
                    state.best_metrics["categories"] = epoch_event.categories
                state.epochs_without_improvement = 0
            else:
                state.epochs_without_improvement += 1
            self.emit(epoch_event)
            state.epoch, state.step_in_epoch, state.epoch_loss_sum = state.epoch + 1, 0, 0.0

            patience = config.early_stopping_patience
            if patience and state.epochs_without_improvement >= patience:
                return finish("early_stopping")
            if self.cluster.any_rank(self.stop_event.is_set()):
                save_state()
                return finish("stopped")
            if config.save_checkpoint_every_epoch and state.epoch < config.num_epochs:
                save_state()
        return finish("completed")


def _short(name: str) -> str:
    """A model for a status line: a hub id as it is, a folder by its last two parts."""
    path = Path(name)
    return name if len(path.parts) <= 2 else str(Path(*path.parts[-2:]))


def _check_finite(value: float, what: str, config: TrainingConfig) -> None:
    """Stop a diverged run with a clear message rather than save a model of NaN weights."""
    if not math.isfinite(value):
        raise TrainingError(f"Training stopped: {what} is {value} — the model diverged and its weights are "
                            "no longer numbers.",
                            f"Lower {{learning_rate}} (now {config.learning_rate:g}) and start again.")


def _truncate_metrics(path: Path, last_step: int) -> None:
    """Drop events logged after the checkpoint: the resumed run logs those steps again."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except ValueError:  # a line cut short when the process was killed
            continue
        if event.get("global_step", 0) <= last_step and event.get("kind") not in ("finished", "failed"):
            kept.append(line)
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
