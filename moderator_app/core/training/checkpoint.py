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

CHECKPOINT_FOLDER = "checkpoint"
STATE_FILE = "trainer_state.json"


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
    history: list[dict[str, Any]] = field(default_factory=list)  # EpochEvents as dicts


def checkpoint_dir(output_dir: str | Path) -> Path:
    return Path(output_dir) / CHECKPOINT_FOLDER


def save_checkpoint(folder: Path, model, tokenizer, optimizer, scheduler, scaler, state: TrainerState) -> None:
    """Write to a temporary folder, then swap it in: a crash while saving keeps the previous checkpoint."""
    import numpy as np
    import torch

    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict()}, partial / "optimizer.pt")
    rng = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save(rng, partial / "rng_state.pt")
    (partial / STATE_FILE).write_text(json.dumps(asdict(state), indent=2), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def load_trainer_state(folder: Path) -> TrainerState:
    return TrainerState(**json.loads((folder / STATE_FILE).read_text(encoding="utf-8")))


def restore_checkpoint(folder: Path, model, optimizer, scheduler, scaler) -> None:
    """Load weights, optimiser, schedule, loss scale and every random generator's state."""
    import numpy as np
    import torch
    from safetensors.torch import load_file

    weights = load_file(folder / "model.safetensors", device="cpu")
    missing, unexpected = model.load_state_dict(weights, strict=False)
    # Tied weights (e.g. embeddings) may be stored once; anything else missing is a broken checkpoint.
    if unexpected or any(not _is_tied(model, name) for name in missing):
        raise RuntimeError(f"{folder}: the checkpoint does not match the model (missing {missing[:3]}, "
                           f"unexpected {unexpected[:3]})")
    # Our own files, written by save_checkpoint; weights_only keeps arbitrary pickles out all the same.
    states = torch.load(folder / "optimizer.pt", map_location="cpu", weights_only=True)
    optimizer.load_state_dict(states["optimizer"])
    scheduler.load_state_dict(states["scheduler"])
    scaler.load_state_dict(states["scaler"])
    rng = torch.load(folder / "rng_state.pt", map_location="cpu", weights_only=False)
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


def _is_tied(model, name: str) -> bool:
    tied = getattr(model, "_tied_weights_keys", None) or {}
    return name in tied
