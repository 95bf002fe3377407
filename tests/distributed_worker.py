"""Started by torchrun in tests/test_distributed.py: the training engine on one of several processes,
with a stop requested on a chosen process after a chosen number of steps.

    python -m torch.distributed.run --nproc-per-node 2 tests/distributed_worker.py CONFIG.json RANK STEP

Each process writes its result to result-RANK.json beside CONFIG.json.
"""

import json
import os
import sys
import threading
from pathlib import Path

from moderator_app.core.config import TrainingConfig
from moderator_app.core.training.engine import train


class StopAfterSteps(threading.Event):
    """Set once the engine has asked `steps + 1` times; with logging_steps beyond an epoch's length the
    engine asks once per step, and once more after the session's first step (reported at once, so it
    asks again after its listeners heard it), so the stop request comes after exactly that step."""

    def __init__(self, steps: int):
        super().__init__()
        self.asked, self.steps = 0, steps + 1

    def is_set(self) -> bool:
        self.asked += 1
        if self.asked >= self.steps:
            self.set()
        return super().is_set()


def main() -> None:
    config_path, stop_rank, stop_step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rank = int(os.environ["RANK"])
    stop = StopAfterSteps(stop_step) if rank == stop_rank else threading.Event()
    result = train(TrainingConfig.load(config_path), stop_event=stop)
    # A file per process: two processes printing to one pipe may interleave their lines.
    Path(config_path).with_name(f"result-{rank}.json").write_text(
        json.dumps({"rank": rank, "reason": result.reason, "global_step": result.global_step}))


if __name__ == "__main__":
    main()
