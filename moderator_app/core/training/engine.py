"""The fine-tuning engine: a plain PyTorch loop that a GUI thread or the CLI can drive and stop.

Read `train()` top to bottom: set-up, the epoch loop, evaluation, checkpoints, the result.
Values are read back from the device only every `logging_steps` steps (`.item()` each step would
stall a GPU), and a stop request is honoured after the step in flight.
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

from moderator_app.core.training.checkpoint import (TrainerState, checkpoint_dir, load_trainer_state, restore_checkpoint,
                                           save_checkpoint)
from moderator_app.core.config import ConfigError, TrainingConfig
from moderator_app.core.training.data import DataError, load_training_data
from moderator_app.core.training.events import (CheckpointEvent, DataLoadedEvent, EpochEvent, EventCallback, FailedEvent, FinishedEvent,
                                       StepEvent, TrainingEvent, event_to_dict)
from moderator_app.core.evaluation.operating_point import OPERATING_POINT_FILE, calibrate_trained_model
from moderator_app.core.files.formats import DataFileError
from moderator_app.core.hub import ModelNotAvailableError, ensure_model_available
from moderator_app.core.training.metrics import metrics_from_predictions
from moderator_app.core.training.model_card import CONFIG_FILE, METRICS_FILE, write_model_card, write_summary


class TrainingError(RuntimeError):
    """A run that could not finish; the message is meant for the user. `bad_input` marks problems
    with what the user gave (data, settings, model name) rather than failures along the way."""

    def __init__(self, message: str, bad_input: bool = False):
        super().__init__(message)
        self.bad_input = bad_input


def train(config: TrainingConfig, on_event: EventCallback | None = None,
          stop_event: threading.Event | None = None, resume_from: str | Path | None = None) -> FinishedEvent:
    """Fine-tune `config.model_name_or_path` on `config.train_file`, writing to `config.output_dir`.

    With `resume_from` (an earlier run's output folder) the run continues from its checkpoint with
    that run's configuration. Emits events to `on_event`; on failure emits FailedEvent and raises
    TrainingError."""
    listeners = [on_event] if on_event else []
    try:
        if resume_from is not None:
            config = _config_for_resume(Path(resume_from))
        config.validate()
        return _Run(config, listeners, stop_event or threading.Event(), resume=resume_from is not None).run()
    except Exception as error:  # every failure reaches the user as one readable message
        failure = _as_training_error(error, config)
        for listener in listeners:
            listener(FailedEvent(str(failure)))
        raise failure from error


def _config_for_resume(folder: Path) -> TrainingConfig:
    state_folder = checkpoint_dir(folder)
    if not (state_folder / "trainer_state.json").exists():
        raise TrainingError(f"{folder}: no checkpoint to resume from (expected {state_folder}). "
                            "Only a stopped run can be resumed.", bad_input=True)
    config = TrainingConfig.load(folder / CONFIG_FILE)
    config.output_dir = str(folder)
    return config


def _as_training_error(error: Exception, config: TrainingConfig) -> TrainingError:
    if isinstance(error, TrainingError):
        return error
    if isinstance(error, (DataError, DataFileError, ConfigError, ModelNotAvailableError)):
        return TrainingError(str(error), bad_input=True)
    name = type(error).__name__
    if name == "OutOfMemoryError" or "out of memory" in str(error).lower():
        return TrainingError(f"The GPU ran out of memory with batch size {config.train_batch_size} and max length "
                             f"{config.max_length}. Lower the batch size or the max length and try again.")
    if isinstance(error, OSError) and config.model_name_or_path in str(error):
        return TrainingError(f"Cannot load the model '{config.model_name_or_path}': {str(error).splitlines()[0]}",
                             bad_input=True)
    return TrainingError(f"Training failed: {name}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": "))


def resolve_precision(precision: str, device: str) -> str:
    """"auto" is the recipe's native AMP (fp16 with loss scaling) on CUDA, fp32 elsewhere."""
    if precision == "auto":
        return "fp16" if device == "cuda" else "fp32"
    if precision == "fp16" and device != "cuda":
        raise ConfigError("precision", f"fp16 mixed precision needs a CUDA GPU, not {device}; use fp32 or auto")
    if precision == "bf16":
        from moderator_app.core.devices import bf16_supported

        if not bf16_supported(device):
            raise ConfigError("precision", f"bf16 is not supported on this {device}; use fp16 or auto")
    return precision


class _Run:
    def __init__(self, config: TrainingConfig, listeners: list[EventCallback], stop_event: threading.Event,
                 resume: bool):
        self.config = config
        self.listeners = listeners
        self.stop_event = stop_event
        self.resume = resume
        self.output_dir = Path(config.output_dir)
        self.metrics_path = self.output_dir / METRICS_FILE

    # -------------------------------------------------------------------------------------------
    def emit(self, event: TrainingEvent) -> None:
        with open(self.metrics_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event_to_dict(event)) + "\n")
        for listener in self.listeners:
            listener(event)

    # -------------------------------------------------------------------------------------------
    def run(self) -> FinishedEvent:
        import torch
        from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                                  get_scheduler, set_seed)
        from transformers.utils import logging as hf_logging

        from moderator_app.core.devices import resolve_device

        config = self.config
        hf_logging.set_verbosity_error()  # "newly initialized head" warnings are expected here
        hf_logging.disable_progress_bar()  # our callers show their own progress
        device = resolve_device(config.device)
        precision = resolve_precision(config.precision, device)
        set_seed(config.seed)

        # ---- data and model
        ensure_model_available(config.model_name_or_path)
        data = load_training_data(config)
        self.data_report = data.report
        tokenizer = AutoTokenizer.from_pretrained(config.model_name_or_path)
        labels = data.label_names
        model = AutoModelForSequenceClassification.from_pretrained(
            config.model_name_or_path, num_labels=len(labels), id2label=dict(enumerate(labels)),
            label2id={label: index for index, label in enumerate(labels)}, ignore_mismatched_sizes=True)
        model.to(device)
        (train_set, train_lengths), (val_set, val_lengths) = (_tokenize(split, tokenizer, config.max_length)
                                                              for split in (data.train, data.validation))
        collate = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8 if device == "cuda" else None)

        # ---- optimisation: the recipe's Adam, linear schedule with warm-up, native AMP
        steps_per_epoch = math.ceil(len(train_set) / config.train_batch_size)
        total_steps = steps_per_epoch * config.num_epochs
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                      betas=(config.adam_beta1, config.adam_beta2), eps=config.adam_epsilon,
                                      weight_decay=config.weight_decay,
                                      fused=device in ("cuda", "cpu") or None)  # one kernel, not one per tensor
        scheduler = get_scheduler(config.lr_scheduler, optimizer, num_warmup_steps=config.warmup_steps,
                                  num_training_steps=total_steps)
        scaler = torch.amp.GradScaler(device if device == "cuda" else "cpu", enabled=precision == "fp16")
        autocast = dict(device_type=device if device != "mps" else "cpu", enabled=precision in ("fp16", "bf16"),
                        dtype=torch.float16 if precision == "fp16" else torch.bfloat16)

        # ---- where we start: fresh, or exactly where a checkpoint left off
        self.output_dir.mkdir(parents=True, exist_ok=True)
        state = TrainerState()
        if self.resume:
            state = load_trainer_state(checkpoint_dir(self.output_dir))
            restore_checkpoint(checkpoint_dir(self.output_dir), model, optimizer, scheduler, scaler)
            _truncate_metrics(self.metrics_path, state.global_step)
        else:
            _prepare_output_dir(self.output_dir)
            config.save(self.output_dir / CONFIG_FILE)
        self.emit(DataLoadedEvent(data.report.summary(), data.report.to_dict()))

        def save_state(reason: str) -> None:
            save_checkpoint(checkpoint_dir(self.output_dir), model, tokenizer, optimizer, scheduler, scaler, state)
            self.emit(CheckpointEvent(str(checkpoint_dir(self.output_dir)), state.global_step,
                                      state.epoch + state.step_in_epoch / steps_per_epoch))

        def finish(reason: str) -> FinishedEvent:
            if reason != "stopped":  # a finished run needs no resumable state; it is 3× the model's size
                shutil.rmtree(checkpoint_dir(self.output_dir), ignore_errors=True)
            write_summary(self.output_dir, config, labels, state.best_epoch, state.best_metrics, state.history,
                          reason, self.data_report.to_dict())
            write_model_card(self.output_dir, config, labels, state.best_epoch, state.history, reason, precision)
            if reason != "stopped" and state.best_epoch:  # the best epoch's weights are in the folder
                calibrate_trained_model(self.output_dir, data.validation["text"], data.validation["label"],
                                        config.threshold_rule, device, config.eval_batch_size)
            event = FinishedEvent(str(self.output_dir), state.best_epoch, state.best_metrics, reason,
                                  state.global_step, str(checkpoint_dir(self.output_dir)), state.skipped_steps)
            self.emit(event)
            return event

        # ---- the loop
        skipped_on_device = torch.zeros((), device=device)
        started, steps_this_session = time.perf_counter(), 0
        interval_started = started

        def report_steps(pending: list[tuple[Any, float, int]]) -> None:
            """Emit one StepEvent per pending step. The only host synchronisation of the loop."""
            losses = torch.stack([item[0] for item in pending]).float().tolist()
            now = time.perf_counter()
            samples_per_second = sum(item[2] for item in pending) / max(now - interval_started, 1e-9)
            seconds_per_step = (now - started) / steps_this_session
            if scaler.is_enabled():
                state.skipped_steps = int(skipped_on_device.item())
            first_step = state.global_step - len(pending) + 1
            for offset, (step_loss, (_, rate, _)) in enumerate(zip(losses, pending)):
                step = first_step + offset
                state.epoch_loss_sum += step_loss
                self.emit(StepEvent(step, total_steps, state.epoch + (step - state.epoch * steps_per_epoch)
                                    / steps_per_epoch, step_loss, rate, samples_per_second,
                                    seconds_per_step * (total_steps - step)))

        while state.epoch < config.num_epochs:
            epoch_started = time.perf_counter()
            batches = _epoch_batches(train_lengths, config, state.epoch)[state.step_in_epoch:]
            # A generator of its own: creating a DataLoader iterator draws a seed, and from the global
            # generator that draw would shift dropout's random numbers after a resume.
            loader = torch.utils.data.DataLoader(train_set, batch_sampler=batches, collate_fn=collate,
                                                 pin_memory=device == "cuda", generator=torch.Generator())
            model.train()
            pending: list[tuple[Any, float, int]] = []  # (loss on device, learning rate, batch size)
            for batch in loader:
                batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
                learning_rate = scheduler.get_last_lr()[0]
                with torch.autocast(**autocast):
                    loss = model(**batch).loss
                scaler.scale(loss).backward()
                if config.max_grad_norm > 0:
                    scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                if scaler.is_enabled():
                    skipped_on_device += _found_inf(scaler, optimizer)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)

                state.global_step += 1
                state.step_in_epoch += 1
                steps_this_session += 1
                pending.append((loss.detach(), learning_rate, len(batch["labels"])))
                mid_epoch = state.step_in_epoch < steps_per_epoch
                if len(pending) >= config.logging_steps or not mid_epoch or self.stop_event.is_set():
                    report_steps(pending)
                    pending, interval_started = [], time.perf_counter()
                if self.stop_event.is_set() and mid_epoch:  # may have been set by a listener just now
                    save_state("stopped")
                    return finish("stopped")

            # ---- end of epoch: evaluate, keep the best weights, decide whether to go on
            metrics, val_loss = _evaluate(model, val_set, val_lengths, collate, config, device, autocast,
                                             len(labels))
            improved = state.best_val_loss is None or val_loss < state.best_val_loss
            epoch_event = EpochEvent(
                epoch=state.epoch + 1, global_step=state.global_step,
                train_loss=state.epoch_loss_sum / steps_per_epoch, val_loss=val_loss, accuracy=metrics.accuracy,
                precision=metrics.precision, recall=metrics.recall, f1=metrics.f1,
                confusion_matrix=metrics.confusion_matrix, labels=labels,
                seconds=time.perf_counter() - epoch_started, is_best=improved)
            state.history.append(asdict(epoch_event))
            if improved:
                state.best_val_loss, state.best_epoch = val_loss, state.epoch + 1
                state.best_metrics = {"val_loss": val_loss, "accuracy": metrics.accuracy,
                                      "precision": metrics.precision, "recall": metrics.recall, "f1": metrics.f1}
                state.epochs_without_improvement = 0
                model.save_pretrained(self.output_dir)
                tokenizer.save_pretrained(self.output_dir)
            else:
                state.epochs_without_improvement += 1
            self.emit(epoch_event)
            state.epoch, state.step_in_epoch, state.epoch_loss_sum = state.epoch + 1, 0, 0.0

            patience = config.early_stopping_patience
            if patience and state.epochs_without_improvement >= patience:
                return finish("early_stopping")
            if self.stop_event.is_set():
                save_state("stopped")
                return finish("stopped")
            if config.save_checkpoint_every_epoch and state.epoch < config.num_epochs:
                save_state("epoch")
        return finish("completed")


# ----------------------------------------------------------------------------------------------------
def _tokenize(dataset, tokenizer, max_length: int):
    """Token ids without padding (the collator pads each batch to its own longest text), and each
    row's length in tokens for batching by length."""
    tokenized = dataset.map(lambda rows: tokenizer(rows["text"], truncation=True, max_length=max_length),
                            batched=True, remove_columns=["text"], desc=None)
    return tokenized, [len(ids) for ids in tokenized["input_ids"]]


def _epoch_batches(lengths: list[int], config: TrainingConfig, epoch: int) -> list[list[int]]:
    """This epoch's batches as lists of row indices, a pure function of (seed, epoch) so that a
    resumed run sees exactly the batches the interrupted one would have.

    With group_by_length, batches hold texts of similar length (less padding: faster), in random
    order, as transformers.Trainer's group_by_length."""
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    generator = torch.Generator().manual_seed(config.seed + epoch)
    if config.group_by_length:
        order = list(LengthGroupedSampler(config.train_batch_size, lengths=lengths, generator=generator))
    else:
        order = torch.randperm(len(lengths), generator=generator).tolist()
    size = config.train_batch_size
    return [order[start:start + size] for start in range(0, len(order), size)]


def _evaluate(model, val_set, lengths: list[int], collate, config: TrainingConfig, device: str, autocast: dict, num_labels: int):
    """Validation loss (mean over examples) and metrics; batches of similar length, one host transfer."""
    import torch

    model.eval()
    by_length = sorted(range(len(val_set)), key=lengths.__getitem__)
    batches = [by_length[start:start + config.eval_batch_size] for start in range(0, len(by_length), config.eval_batch_size)]
    loader = torch.utils.data.DataLoader(val_set, batch_sampler=batches, collate_fn=collate,
                                         generator=torch.Generator())
    loss_sum = torch.zeros((), device=device)
    all_labels, all_predictions = [], []
    with torch.inference_mode(), torch.autocast(**autocast):
        for batch in loader:
            batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
            labels = batch.pop("labels")
            logits = model(**batch).logits.float()
            loss_sum += torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
            all_labels.append(labels)
            all_predictions.append(logits.argmax(dim=-1))
    model.train()
    metrics = metrics_from_predictions(torch.cat(all_labels), torch.cat(all_predictions), num_labels)
    return metrics, loss_sum.item() / len(val_set)


def _found_inf(scaler, optimizer):
    """1 when this fp16 step's gradients overflowed (the scaler will skip it), as a device tensor.

    The scaler records this per device when unscaling; reading it here costs no synchronisation."""
    import torch

    if not scaler._per_optimizer_states[id(optimizer)]["found_inf_per_device"]:
        scaler.unscale_(optimizer)
    found = scaler._per_optimizer_states[id(optimizer)]["found_inf_per_device"]
    return torch.stack([value.to(next(iter(found.values())).device) for value in found.values()]).sum()


def _prepare_output_dir(folder: Path) -> None:
    """A fresh run may reuse an output folder only if it holds nothing of value or an earlier run of ours."""
    stale = [folder / name for name in (METRICS_FILE, "checkpoint", "checkpoint.partial", OPERATING_POINT_FILE)]
    foreign = [p.name for p in folder.iterdir()
               if p.name not in {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                                 "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt",
                                 "training_config.json", "training_summary.json", "README.md", "metrics.jsonl",
                                 "checkpoint", "checkpoint.partial", "generation_config.json", OPERATING_POINT_FILE}]
    if foreign:
        raise TrainingError(f"{folder}: the output folder already holds other files ({', '.join(sorted(foreign)[:5])}). "
                            "Choose an empty or new folder.", bad_input=True)
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _truncate_metrics(path: Path, last_step: int) -> None:
    """Drop events logged after the checkpoint: the resumed run logs those steps again."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("global_step", 0) <= last_step and event.get("kind") not in ("finished", "failed"):
            kept.append(line)
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
