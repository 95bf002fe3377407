"""Work off the GUI thread, done one way everywhere: superqt's thread workers.

A job is a plain function run by a superqt `FunctionWorker`, or, when it reports as it goes (batch
labelling, classifying, a training run), by a `ReportingWorker`: a superqt `WorkerBase` whose function
gets a `report(*values)` callable, delivered as a `progress` signal, and a `cancelled()` callable that
turns True once `worker.cancel()` was called. Signals reach the GUI thread queued; their receivers
throttle what they show with superqt's `qthrottled`.

`BackgroundTasks` runs such workers on a pool of its own (one thread where jobs must not overlap,
such as the decision store's writes, or one model's jobs) and routes their outcome to callbacks:

    tasks.submit(fn, arg, on_done=show, on_error=complain, key="preview")

Callbacks always run on the GUI thread. With a `key`, only the most recent job of that key reports:
results of jobs superseded while they ran are dropped, so a slow old answer never overwrites a new one."""

from __future__ import annotations

import itertools
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThreadPool, Signal
from shiboken6 import isValid
from superqt.utils import FunctionWorker, WorkerBase, create_worker


class _OrphanSafe:
    """superqt's run() emits `errored` from its except clause; if the worker's signals were deleted
    meanwhile (the application quit while the job ran), that emit raises out of the pool thread. Nobody
    is left to tell: end quietly."""

    def run(self) -> None:
        try:
            super().run()  # type: ignore[misc]
        except RuntimeError:
            pass


class FunctionJob(_OrphanSafe, FunctionWorker):
    """superqt's FunctionWorker: runs `func(*args, **kwargs)`."""


class _Reports(QObject):
    progress = Signal(tuple)  # the values of one report(*values)


class ReportingWorker(_OrphanSafe, WorkerBase):
    """Runs `func(*args, report, cancelled, **kwargs)` on a pool thread: `report(*values)` emits
    `reports.progress(values)`; `cancelled()` turns True once `cancel()` was called. Unlike superqt's
    `quit()`, which drops what the function returns, a cancelled function's outcome still arrives
    (a labeller that finished just before it noticed has written its file, and says so)."""

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any):
        super().__init__()
        self.reports = _Reports()  # created on the GUI thread: reports are queued to it
        self._func, self._args, self._kwargs = func, args, kwargs
        self._cancelled = False

    def cancel(self) -> None:
        """Thread-safe: ask the function to stop at its next check."""
        self._cancelled = True

    def cancelled(self) -> bool:
        return self._cancelled

    def work(self) -> Any:
        return self._func(*self._args, self.report, self.cancelled, **self._kwargs)

    def report(self, *values: Any) -> None:
        self.reports.progress.emit(values)


class BackgroundTasks(QObject):
    # workers referenced until they finished, as superqt's own start() does: even when their
    # BackgroundTasks is deleted first, a running job still has signals to emit
    _alive: set[WorkerBase] = set()

    def __init__(self, parent: QObject | None = None, max_threads: int = 2):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._tickets = itertools.count(1)
        self._latest: dict[str, int] = {}

    def submit(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None, key: str | None = None) -> WorkerBase:
        """Run `fn(*args)` in a superqt FunctionWorker."""
        worker = create_worker(fn, *args, _start_thread=False, _ignore_errors=True, _worker_class=FunctionJob)
        return self.start(worker, on_done=on_done, on_error=on_error, key=key)

    def start(self, worker: WorkerBase, on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[BaseException], None] | None = None,
              on_progress: Callable[..., None] | None = None, on_finished: Callable[[], None] | None = None,
              key: str | None = None) -> WorkerBase:
        """Run a superqt worker on this pool; `on_progress(*values)` for a ReportingWorker's reports,
        `on_finished()` after its outcome, whatever it was (even when superseded)."""
        ticket = next(self._tickets)
        if key is not None:
            self._latest[key] = ticket

        def current() -> bool:
            """Still wanted: not superseded, and its owner (a widget's child) not deleted meanwhile."""
            return isValid(self) and (key is None or self._latest.get(key) == ticket)

        def returned(result: Any) -> None:
            if current():
                self._latest.pop(key, None)
                if on_done is not None:
                    on_done(result)

        def errored(error: BaseException) -> None:
            if not current():
                return
            self._latest.pop(key, None)
            if on_error is not None:
                on_error(error)
            else:
                traceback.print_exception(type(error), error, error.__traceback__)

        def finished() -> None:
            BackgroundTasks._alive.discard(worker)
            if on_finished is not None and isValid(self):
                on_finished()

        worker.returned.connect(returned)
        worker.errored.connect(errored)
        if on_progress is not None:
            worker.reports.progress.connect(lambda values: current() and on_progress(*values))
        worker.finished.connect(finished)
        BackgroundTasks._alive.add(worker)
        self._pool.start(worker)
        return worker

    def forget(self, key: str) -> None:
        """Drop the outcome of the running job of `key`, if any."""
        self._latest.pop(key, None)

    def wait(self, msecs: int = -1) -> bool:
        """Block until every job has ended (or `msecs` passed); True when all ended."""
        return self._pool.waitForDone(msecs)
