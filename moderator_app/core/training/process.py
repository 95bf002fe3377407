"""The training engine in a child process, behind the same call as `engine.train`.

On a thread of the desktop app's own process, the engine shares the interpreter lock with the GUI:
while transformers imports itself, loads weights or builds a tokenizer, long stretches of Python hold
that lock and the window stopped answering for up to 400 ms (benchmarks/gui_responsiveness.py). In a
process of its own it shares nothing with the window; this module only forwards its events over a
pipe. The child also gives its memory back to the system the moment a run ends. `run_in_subprocess`
is the same for any engine job (the learning-rate search runs its trials through it).

`spawn`, not `fork`, on every platform: forking a process that already runs Qt's and torch's threads
can deadlock the child, and spawn is what Windows and macOS use anyway.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from moderator_app.core.config import TrainingConfig
from moderator_app.core.training.events import EventCallback, FinishedEvent, StatusEvent
from moderator_app.core.training.local_processes import train_on_processes
from moderator_app.core.training.process_errors import TrainingProcessError, portable_error

# How often the parent looks at the stop request and at whether the child is still alive.
POLL_SECONDS = 0.1
# After the final message the child only closes files; waiting longer means it hangs.
EXIT_GRACE_SECONDS = 30


def train_in_subprocess(config: TrainingConfig, on_event: EventCallback | None = None,
                        stop_event: threading.Event | None = None,
                        resume_from: str | Path | None = None, processes: int = 1) -> FinishedEvent:
    """Run `engine.train` in a new process; same arguments, events, result and exceptions. With
    `processes` > 1, that process starts as many data-parallel ones (core/training/local_processes.py).

    Events reach `on_event` on the calling thread, in order. Setting `stop_event` stops the run
    after the step in flight, as with `engine.train`. An exception raised by the engine is raised
    here as the same type with the same message, its traceback text in `remote_traceback`."""
    # Several processes: the child starts them, which a daemonic process may not (it is joined anyway).
    return run_in_subprocess(_train_job, (config, None if resume_from is None else str(resume_from), processes),
                             on_event, stop_event, daemon=processes == 1)


def run_in_subprocess(job, args: tuple, on_event=None, stop_event=None, daemon: bool = True):
    """Run `job(*args, on_event=…, stop_event=…)` in a new process and return what it returns: the one
    way the app runs engine work off its own process (a training run, a learning-rate search).

    `job` is a module-level function (spawn imports it by name); its events and result must pickle.
    `stop_event` needs only `is_set()`: once it is true, the child's own stop event is set."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child_stop = context.Event()
    process = context.Process(target=_run_child, name="moderator-app-training", daemon=daemon,
                              args=(job, args, sender, child_stop))
    process.start()
    sender.close()  # the child holds the only sending end now: its exit ends the pipe
    try:
        while True:
            if stop_event is not None and stop_event.is_set():
                child_stop.set()
            if not receiver.poll(POLL_SECONDS):
                if process.is_alive() or receiver.poll(0):
                    continue
                raise _ended_without_result(process)
            try:
                kind, payload = receiver.recv()
            except EOFError:
                process.join(EXIT_GRACE_SECONDS)
                raise _ended_without_result(process) from None
            if kind == "event":
                if on_event is not None:
                    on_event(payload)
            elif kind == "finished":
                return payload
            else:
                raise payload
    finally:
        receiver.close()
        process.join(EXIT_GRACE_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()


def _ended_without_result(process: multiprocessing.process.BaseProcess) -> TrainingProcessError:
    code = process.exitcode
    if code is not None and code < 0:
        how = f"was killed by signal {-code}"
        if -code == signal.SIGKILL:
            how += ", usually because the computer ran out of memory"
    else:
        how = f"ended unexpectedly (exit code {code})"
    return TrainingProcessError(
        f"The training process {how}.", "If it ran out of memory, lower {train_batch_size} or {max_length} and "
        "start again; a stopped or interrupted run keeps its last checkpoint for Resume.")


def _train_job(config: TrainingConfig, resume_from: str | None, processes: int, on_event: EventCallback,
               stop_event: threading.Event) -> FinishedEvent:
    # imported here, in the child: the window imports this module to start a run, and the engine with all
    # it stands on (numpy, the data loaders, evaluation) would cost its start-up a few hundred milliseconds
    from moderator_app.core.training.engine import train

    if processes > 1:
        return train_on_processes(config, processes, on_event, stop_event=stop_event, resume_from=resume_from)
    return train(config, on_event=on_event, stop_event=stop_event, resume_from=resume_from)


def _run_child(job, args: tuple, sender: Connection, stop: threading.Event) -> None:
    # Ctrl-C in the terminal that started the app reaches this process too; the app decides what to do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        # the first seconds go to importing torch and transformers: say so before they start
        sender.send(("event", StatusEvent("Starting the training process: loading PyTorch and transformers…")))
        on_event = lambda event: sender.send(("event", event))  # noqa: E731
        message = ("finished", job(*args, on_event=on_event, stop_event=stop))
    except BaseException as error:  # the parent raises it; nothing may die silently here
        message = ("error", portable_error(error))
    try:
        sender.send(message)
    except OSError:
        pass  # the app went away; nobody is left to tell
    finally:
        sender.close()
