"""The desktop app trains in a child process started with multiprocessing's `spawn`
(moderator_app/core/training/process.py). In a bundle, that child is the bundle's own executable,
started with `--multiprocessing-fork`: it must become the training process, not a second window or a
usage error. This script, run by build_bundle.sh with the build environment's Python, makes the
bundle's executable the spawn executable and trains the smoke test's tiny model through it.

    python packaging/check_bundle_spawn.py BUNDLE_EXECUTABLE SMOKE_FOLDER
"""

import multiprocessing
import sys
from pathlib import Path


def main() -> int:
    executable, folder = sys.argv[1], Path(sys.argv[2])
    # Start the way the bundle itself would: `spawn` builds a frozen program's command line as
    # `EXECUTABLE --multiprocessing-fork ...`, which the bundle's entry script must recognise. The
    # resource tracker (a helper process for semaphores) is started first, with this Python: its command
    # line repeats the parent interpreter's flags, which only a frozen parent shares with the bundle.
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    multiprocessing.set_executable(executable)
    sys.frozen = True

    from moderator_app.core.config import TrainingConfig
    from moderator_app.core.training.events import StepEvent
    from moderator_app.core.training.process import train_in_subprocess

    config = TrainingConfig(train_file=str(folder / "train.csv"), model_name_or_path=str(folder / "tiny-roberta"),
                            output_dir=str(folder / "run-spawned"), num_epochs=1, train_batch_size=16)
    events = []
    result = train_in_subprocess(config, events.append)
    steps = sum(isinstance(event, StepEvent) for event in events)
    if result.reason != "completed" or steps != result.global_step or not (folder / "run-spawned" / "config.json").exists():
        print(f"check_bundle_spawn: FAILED: {result}, {steps} step events", file=sys.stderr)
        return 1
    print(f"training in the bundle's executable as a spawned process: {steps} steps, {len(events)} events, "
          f"reason {result.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
