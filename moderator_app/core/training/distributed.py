"""Data-parallel training: the same run on several processes (one per GPU, or CPU processes), started by
torchrun, by the command line's launcher (commands/train_launch) or by the app (local_processes).

Plain PyTorch DDP rather than Accelerate: the engine already owns its loop, AMP, clipping and
checkpoints, and the few things data parallelism adds — wrap the model, give each process its part of
every batch, gather validation predictions, agree on stopping, let one process write — fit in this
module and a handful of calls in the engine, with no new dependency and no second way of doing AMP.

What stays exactly as in one process:
- **The batches.** The engine draws each epoch's (length-grouped) batches of `train_batch_size` texts
  from (seed, epoch) as before; each process trains on its contiguous share of every batch (shares
  differ by at most one text). Each share's mean loss is weighted by its share of the batch, so that
  DDP's gradient average is the gradient of the whole batch's mean loss, as in one process. A global
  batch of 32 therefore stays 32 whatever the number of processes, and no gradient accumulation is
  needed to make it divide.
- **Validation.** Each process evaluates every n-th batch; predictions and labels are gathered and
  the metrics computed on all of them, not averaged per process.
- **Resuming.** Each process's dropout draws are seeded from (seed, step, rank) at every step, so the
  checkpoint that process 0 writes alone resumes every process exactly. The number of processes is
  stored with it and must be the same on resume (the shares, and so the draws, depend on it).

Only process 0 writes (model folder, metrics, checkpoints, card) and emits events; the others train
and take part in the collective calls. Stopping is agreed at every step over a CPU (gloo) group, so
a stop requested on any process stops all of them after the same step without waiting for the GPU.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from dataclasses import dataclass
from typing import Any

from moderator_app.core.devices import resolve_device
from moderator_app.core.errors import SettingsError

# How long a collective call waits for the other processes. Long enough for process 0 to write a
# large model while the others wait; a process that dies is noticed at once (its connections close).
COLLECTIVE_TIMEOUT = datetime.timedelta(minutes=10)


class ProcessGroupLostError(RuntimeError):
    """Another training process ended or stopped answering; this one cannot go on alone."""


@dataclass
class Cluster:
    """This process's place among the training processes; a single process is a cluster of one."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    control_group: Any = None  # a gloo group for host-side agreement (None: the default group)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    # --------------------------------------------------------------------------------------------
    def wrap(self, model, device: str):
        """The module to run training steps through: `model` itself, or DDP around it (which
        averages gradients across processes in backward). Save, evaluate and restore `model`."""
        if not self.is_distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[self.local_rank] if device == "cuda" else None)

    def check_batch_size(self, batch_size: int) -> None:
        if batch_size < self.world_size:
            raise SettingsError(f"A batch of {batch_size} texts cannot be shared by {self.world_size} processes.",
                                f"Raise {{train_batch_size}} to at least {self.world_size} or use fewer processes.",
                                setting="train_batch_size")

    def shares(self, batches: list[list[int]]) -> tuple[list[list[int]], list[float]]:
        """This process's rows of each global batch and the weight of their mean loss.

        Weight = world size × (share / batch), so that DDP's average over processes of the weighted
        means is the batch's mean loss. A process whose share is empty (a last batch smaller than the
        number of processes) runs one row with weight 0: every process must take part in each step."""
        if not self.is_distributed:
            return batches, [1.0] * len(batches)
        rows, weights = [], []
        for batch in batches:
            size, extra = divmod(len(batch), self.world_size)
            start = self.rank * size + min(self.rank, extra)
            mine = batch[start:start + size + (self.rank < extra)]
            rows.append(mine or batch[:1])
            weights.append(self.world_size * len(mine) / len(batch))
        return rows, weights

    def seed_step(self, seed: int, global_step: int) -> None:
        """Seed this process's random draws (dropout) for one step from (seed, step, rank), so that
        resuming needs no per-process random state. A single process keeps one stream, as before."""
        if not self.is_distributed:
            return
        import torch

        digest = hashlib.blake2b(f"{seed}/{global_step}/{self.rank}".encode(), digest_size=8).digest()
        torch.manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))

    def any_rank(self, flag: bool) -> bool:
        """True on every process when `flag` is True on any of them (a stop request)."""
        if not self.is_distributed:
            return flag
        import torch
        import torch.distributed as dist

        value = torch.tensor([int(flag)])
        self._collective(dist.all_reduce, value, op=dist.ReduceOp.MAX, group=self.control_group)
        return bool(value.item())

    def mean_of_weighted(self, values):
        """The sum over processes of their weighted losses divided by the world size: each step's
        loss over its whole batch (see `shares`). A single process's values are returned as they are."""
        if not self.is_distributed:
            return values
        import torch.distributed as dist

        total = values.clone()
        self._collective(dist.all_reduce, total)
        return total / self.world_size

    def sum(self, value):
        if not self.is_distributed:
            return value
        import torch.distributed as dist

        total = value.clone()
        self._collective(dist.all_reduce, total)
        return total

    def own_batches(self, batches: list[list[int]]) -> list[list[int]]:
        """Every n-th evaluation batch: each process evaluates a similar mix of lengths."""
        return batches[self.rank::self.world_size]

    def gather(self, values):
        """All processes' 1-D tensors concatenated (in rank order), on every process."""
        if not self.is_distributed:
            return values
        import torch
        import torch.distributed as dist

        size = torch.tensor([values.numel()], device=values.device)
        sizes = [torch.zeros_like(size) for _ in range(self.world_size)]
        self._collective(dist.all_gather, sizes, size)
        longest = int(max(sizes).item())
        padded = torch.zeros(longest, dtype=values.dtype, device=values.device)
        padded[:values.numel()] = values
        parts = [torch.zeros_like(padded) for _ in range(self.world_size)]
        self._collective(dist.all_gather, parts, padded)
        return torch.cat([part[:int(count.item())] for part, count in zip(parts, sizes)])

    def check_resume(self, saved_world_size: int) -> None:
        if saved_world_size != self.world_size:
            def processes(count: int) -> str:
                return "one process" if count == 1 else f"{count} processes"

            raise SettingsError(
                f"This run was stopped while training on {processes(saved_world_size)} and is now resumed on "
                f"{processes(self.world_size)}; each process's share of the batches and its random draws depend "
                "on that number, so the run could not continue exactly.",
                f"Resume it on {processes(saved_world_size)}, or start a new run.")

    def close(self) -> None:
        """Wait for every process (process 0 may still be writing), then leave the group."""
        if not self.is_distributed:
            return
        import torch.distributed as dist

        if dist.is_initialized():
            try:
                self._collective(dist.barrier, group=self.control_group)
            finally:
                dist.destroy_process_group()

    # --------------------------------------------------------------------------------------------
    def _collective(self, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - torch raises several types; all mean a lost peer
            if is_peer_failure(error):
                raise lost_peer_error() from error
            raise


def join(device_choice: str) -> Cluster:
    """Join the process group that torchrun described in the environment (WORLD_SIZE, RANK,
    LOCAL_RANK, MASTER_ADDR/PORT), or return a cluster of one when there is none."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Cluster()
    import torch
    import torch.distributed as dist

    device = resolve_device(device_choice)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device == "mps":
        raise SettingsError("Training on several processes needs CUDA GPUs or the CPU; Apple's MPS has no "
                            "multi-process backend.", "Choose cuda or cpu for {device}.", setting="device")
    if device == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise SettingsError(f"{int(os.environ.get('LOCAL_WORLD_SIZE', world_size))} processes on this computer "
                                f"need as many GPUs; it has {torch.cuda.device_count()}.",
                                "Start one process per GPU, or choose cpu for {device}.", setting="device")
        torch.cuda.set_device(local_rank)  # "cuda" now means this process's own GPU
    backend = "nccl" if device == "cuda" else "gloo"
    dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
    # Stop requests are agreed on the host each step: a gloo group keeps that off the GPU's queue.
    control = dist.new_group(backend="gloo", timeout=COLLECTIVE_TIMEOUT) if backend != "gloo" else None
    return Cluster(rank, world_size, local_rank, control)


def is_peer_failure(error: BaseException) -> bool:
    """Whether a collective failed because another process went away (gloo: connection closed or
    reset; NCCL: remote error or timeout), as opposed to a fault of this process."""
    import torch.distributed as dist

    if isinstance(error, ProcessGroupLostError):
        return True
    if isinstance(error, getattr(dist, "DistError", ())):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and any(
        sign in text for sign in ("connection closed by peer", "connection reset by peer", "broken pipe",
                                  "gloo", "nccl", "timed out", "process group"))


def lost_peer_error() -> ProcessGroupLostError:
    rank, world_size = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    return ProcessGroupLostError(
        f"Training process {rank + 1} of {world_size} lost contact with the others: another process ended or "
        "stopped answering (its own message says why), so this one stops too.")


def process_label() -> str:
    """"process 2 of 4" under torchrun, "" in a single process (for prefixing messages)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    return f"process {int(os.environ.get('RANK', '0')) + 1} of {world_size}" if world_size > 1 else ""


def is_main_process() -> bool:
    """True except on the processes other than the first one of a torchrun launch."""
    return int(os.environ.get("RANK", "0")) == 0
