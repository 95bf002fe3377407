"""Waiting for the app inside a benchmark or screenshot script, with the event loop running."""

from __future__ import annotations

import time
from typing import Callable


def wait_until(condition: Callable[[], bool], seconds: float, poll_ms: int = 50) -> bool:
    """Run Qt's event loop until `condition()` holds or `seconds` pass; the condition's last value."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        loop = QEventLoop()
        QTimer.singleShot(poll_ms, loop.quit)
        loop.exec()
    return condition()
