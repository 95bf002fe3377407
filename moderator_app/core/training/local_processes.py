"""One training run on several processes of this computer (one per GPU), started from the app through
torchrun's launcher API, behind the same call as `engine.train`.

The desktop app calls this inside its training process (core/training/process.py), so torch never
loads in the window's own process. The processes are the ones torchrun would start on this computer
(torch.distributed.launcher, c10d rendezvous on a free local port); process 0's events come back over
a queue, in order, and a stop request reaches all of them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import uuid
from pathlib import Path

from moderator_app.core.config import TrainingConfig
from moderator_app.core.training.distributed import ProcessGroupLostError
from moderator_app.core.training.events import EventCallback, FinishedEvent
from moderator_app.core.training.process_errors import TrainingProcessError, portable_error

# How often the caller's thread looks at the stop request while no event arrives.
POLL_SECONDS = 0.1
_DONE = "done"


def train_on_processes(config: TrainingConfig, processes: int, on_event: EventCallback | None = None,
                       stop_event: threading.Event | None = None,
                       resume_from: str | Path | None = None) -> FinishedEvent:
    """Run `engine.train` on `processes` local processes; same events (process 0's), result and errors.

    The first error raised by a process, in rank order and preferring a cause over "lost contact with
    the others", is raised here with its own type and message."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    # torchrun's agent warns that on a thread it cannot install signal handlers: the app stops the run itself.
    logging.getLogger("torch.distributed.elastic").setLevel(logging.ERROR)
    context = multiprocessing.get_context("spawn")
    messages, stop = context.Queue(), context.Event()
    launch = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=processes, run_id=uuid.uuid4().hex,
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0, start_method="spawn",
                          monitor_interval=POLL_SECONDS)
    outcome: dict[str, object] = {}

    def launch_and_wait() -> None:  # torchrun's agent on a thread of its own; this thread relays events
        try:
            outcome["results"] = elastic_launch(launch, _process_main)(
                config, messages, stop, None if resume_from is None else str(resume_from))
        except ChildFailedError as error:
            outcome["failed"] = error
        except BaseException as error:  # noqa: BLE001 - raised on the caller's thread below
            outcome["error"] = error
        finally:
            messages.put((_DONE, None))

    agent = threading.Thread(target=launch_and_wait, name="moderator-app-launcher", daemon=True)
    agent.start()
    errors: dict[int, BaseException] = {}
    while True:
        if stop_event is not None and stop_event.is_set():
            stop.set()
        try:
            kind, payload = messages.get(timeout=POLL_SECONDS)
        except queue.Empty:
            continue
        if kind == _DONE:
            break
        if kind == "event":
            if on_event is not None:
                on_event(payload)
        else:  # ("error", (rank, exception))
            errors[payload[0]] = payload[1]
    agent.join()
    if "results" in outcome:
        return outcome["results"][0]  # type: ignore[index]
    raise _root_cause(errors) or outcome.get("error") or _describe(outcome["failed"], processes)


def _process_main(config: TrainingConfig, messages, stop, resume_from: str | None) -> FinishedEvent:
    """One process: the engine, with process 0's events and every process's error sent back."""
    from moderator_app.core.training.engine import train  # in the child only: see process._train_job

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the app's terminal: the app decides
    rank = int(os.environ["RANK"])
    threading.Thread(target=_stop_when_orphaned, args=(stop,), name="orphan-watch", daemon=True).start()
    try:
        return train(config, on_event=lambda event: messages.put(("event", event)), stop_event=stop,
                     resume_from=resume_from)
    except BaseException as error:
        messages.put(("error", (rank, portable_error(error))))
        raise


def _stop_when_orphaned(stop, poll_seconds: float = 1.0) -> None:
    """Stop (with a checkpoint) if the process that started this one goes away: nobody would hear of
    the run any more, and it would hold a GPU."""
    parent = os.getppid()
    while not stop.wait(poll_seconds):
        if os.getppid() != parent:
            stop.set()


def _root_cause(errors: dict[int, BaseException]) -> BaseException | None:
    ranked = sorted(errors.items(), key=lambda item: (_is_lost_contact(item[1], ProcessGroupLostError), item[0]))
    return ranked[0][1] if ranked else None


def _is_lost_contact(error: BaseException, lost_type: type) -> bool:
    return isinstance(error, lost_type) or "lost contact with the others" in str(error)


def _describe(failure, processes: int) -> RuntimeError:
    rank, first = failure.get_first_failure()
    code = first.exitcode
    how = f"was killed by signal {-code}" if code < 0 else f"ended with exit status {code}"
    return TrainingProcessError(f"Training process {rank + 1} of {processes} {how}; the others were stopped. If it "
                                "ran out of memory, lower the training batch size or the maximum length.")
