"""Short background jobs (reading a file preview, checking a model, probing devices) on a thread
pool, with their results delivered back on the GUI thread.

    tasks.submit(fn, arg, on_done=show, on_error=complain, key="preview")

Callbacks always run on the GUI thread. With a `key`, only the most recent job of that key reports:
results of jobs superseded while they ran are dropped, so a slow old answer never overwrites a new one.
"""

from __future__ import annotations

import itertools
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot


class BackgroundTasks(QObject):
    _report = Signal(int, bool, object)

    def __init__(self, parent: QObject | None = None, max_threads: int = 2):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._tickets = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable | None, Callable | None, str | None]] = {}
        self._latest: dict[str, int] = {}
        self._report.connect(self._deliver)  # emitted on pool threads: queued to this object's thread

    def submit(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None, key: str | None = None) -> int:
        ticket = next(self._tickets)
        self._callbacks[ticket] = (on_done, on_error, key)
        if key is not None:
            self._latest[key] = ticket

        def job() -> None:
            try:
                result, ok = fn(*args), True
            except BaseException as error:  # reported to on_error on the GUI thread
                error.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
                result, ok = error, False
            try:
                self._report.emit(ticket, ok, result)
            except RuntimeError:  # the receiver was deleted while the job ran
                pass

        self._pool.start(job)
        return ticket

    def is_pending(self, key: str) -> bool:
        ticket = self._latest.get(key)
        return ticket is not None and ticket in self._callbacks

    def forget(self, key: str) -> None:
        """Drop the result of the running job of `key`, if any."""
        self._latest.pop(key, None)

    def wait(self, msecs: int = -1) -> bool:
        """Block until every job has ended (or `msecs` passed); True when all ended."""
        return self._pool.waitForDone(msecs)

    @Slot(int, bool, object)
    def _deliver(self, ticket: int, ok: bool, result: object) -> None:
        on_done, on_error, key = self._callbacks.pop(ticket, (None, None, None))
        if key is not None:
            if self._latest.get(key) != ticket:
                return
            del self._latest[key]
        if ok and on_done is not None:
            on_done(result)
        elif not ok:
            if on_error is not None:
                on_error(result)  # type: ignore[arg-type]
            else:
                print(getattr(result, "__traceback_text__", repr(result)))
