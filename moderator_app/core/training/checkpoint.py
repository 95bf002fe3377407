"""Resumable training state: everything needed to continue a run as if it never stopped.

A checkpoint folder is also a plain Hugging Face model folder (weights, config, tokenizer), so a run
stopped before its first epoch ended still leaves a model that loads."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from moderator_app.core.errors import UserError, is_out_of_memory

CHECKPOINT_FOLDER = "checkpoint"
STATE_FILE = "trainer_state.json"
RNG_TENSORS_FILE = "rng_state.safetensors"
RNG_STATE_FILE = "rng_state.json"


class CheckpointError(UserError):
    """A checkpoint that cannot be resumed from: missing, damaged, or not made by this app."""
    title = "Cannot resume"


@dataclass
class TrainerState:
    global_step: int = 0
    epoch: int = 0  # 0-based epoch in progress
    step_in_epoch: int = 0  # batches of `epoch` already trained
    epoch_loss_sum: float = 0.0  # running sum of this epoch's step losses (for its mean)
    best_val_loss: float | None = None
    best_epoch: int | None = None  # 1-based
    best_metrics: dict[str, Any] = field(default_factory=dict)
    epochs_without_improvement: int = 0
    skipped_steps: int = 0
    world_size: int = 1  # training processes; a resumed run must use as many (core/training/distributed.py)
    history: list[dict[str, Any]] = field(default_factory=list)  # EpochEvents as dicts


def save_checkpoint(folder: Path, model, tokenizer, optimizer, scheduler, scaler, state: TrainerState) -> None:
    """Write to a temporary folder, then swap it in: a crash while saving keeps the previous checkpoint."""
    import torch

    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict()}, partial / "optimizer.pt")
        _save_rng_state(partial)
        (partial / STATE_FILE).write_text(json.dumps(asdict(state), indent=2), encoding="utf-8")
    except BaseException:  # a full disk, a kill: the half-written checkpoint goes, the previous one stays
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def load_trainer_state(folder: Path) -> TrainerState:
    try:
        return TrainerState(**json.loads((folder / STATE_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, RecursionError) as error:
        raise CheckpointError(f"{str(folder / STATE_FILE).replace('{', '{{').replace('}', '}}')} cannot be read "
                              f"({type(error).__name__}).", "Start a new run instead of resuming.") from None


def restore_checkpoint(folder: Path, model, optimizer, scheduler, scaler) -> None:
    """Load weights, optimiser, schedule, loss scale and every random generator's state. Raises
    CheckpointError for a damaged or foreign checkpoint (never repeating torch's advice to unpickle)."""
    try:
        _restore(folder, model, optimizer, scheduler, scaler)
    except CheckpointError:
        raise
    except Exception as error:  # noqa: BLE001 - any failure here means the same: this checkpoint is unusable
        if is_out_of_memory(error):
            raise
        raise CheckpointError(f"The checkpoint in {str(folder).replace('{', '{{').replace('}', '}}')} cannot "
                              f"be restored ({type(error).__name__}): it is damaged, incomplete or holds more "
                              "than plain data.", "Start a new run instead of resuming.") from None


def _restore(folder: Path, model, optimizer, scheduler, scaler) -> None:
    import torch
    from safetensors.torch import load_file

    weights = load_file(folder / "model.safetensors", device="cpu")
    missing, unexpected = model.load_state_dict(weights, strict=False)
    # Tied weights (e.g. embeddings) may be stored once; anything else missing is a broken checkpoint.
    if unexpected or any(not _is_tied(model, name) for name in missing):
        raise CheckpointError(f"{folder}: the checkpoint does not match the model (missing {missing[:3]}, "
                           f"unexpected {unexpected[:3]})")
    # Our own files, written by save_checkpoint; weights_only keeps arbitrary pickles out all the same.
    states = torch.load(folder / "optimizer.pt", map_location="cpu", weights_only=True)
    optimizer.load_state_dict(states["optimizer"])
    scheduler.load_state_dict(states["scheduler"])
    scaler.load_state_dict(states["scaler"])
    _restore_rng_state(folder)


def _save_rng_state(folder: Path) -> None:
    """Every random generator's state as plain data: tensors in safetensors, the rest in JSON, so that
    Resume unpickles nothing (optimizer.pt holds only tensors and numbers and loads with weights_only)."""
    import numpy as np
    import torch
    from safetensors.torch import save_file

    kind, key, position, has_gauss, cached_gaussian = np.random.get_state()
    tensors = {"numpy_key": torch.from_numpy(np.asarray(key, dtype=np.uint32).astype(np.int64)),
               "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors.update({f"cuda_{index}": state for index, state in enumerate(torch.cuda.get_rng_state_all())})
    save_file(tensors, str(folder / RNG_TENSORS_FILE))
    version, python_state, gauss = random.getstate()
    plain = {"python": [version, list(python_state), gauss],
             "numpy": [kind, int(position), int(has_gauss), float(cached_gaussian)]}
    (folder / RNG_STATE_FILE).write_text(json.dumps(plain), encoding="utf-8")


def _restore_rng_state(folder: Path) -> None:
    import numpy as np
    import torch
    from safetensors.torch import load_file

    tensors = load_file(str(folder / RNG_TENSORS_FILE), device="cpu")
    plain = json.loads((folder / RNG_STATE_FILE).read_text(encoding="utf-8"))
    version, python_state, gauss = plain["python"]
    random.setstate((version, tuple(python_state), gauss))
    kind, position, has_gauss, cached_gaussian = plain["numpy"]
    np.random.set_state((kind, tensors["numpy_key"].numpy().astype(np.uint32), position, has_gauss,
                         cached_gaussian))
    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[f"cuda_{index}"] for index in range(len(tensors)) if f"cuda_{index}" in tensors]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def _is_tied(model, name: str) -> bool:
    tied = getattr(model, "_tied_weights_keys", None) or {}
    return name in tied
