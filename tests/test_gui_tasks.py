"""The one worker idiom: superqt workers on a BackgroundTasks pool, outcomes on the GUI thread."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QThread  # noqa: E402

from moderator_app.gui.common.tasks import BackgroundTasks, ReportingWorker  # noqa: E402


def test_only_the_latest_job_of_a_key_reports_and_callbacks_run_on_the_gui_thread(qtbot):
    tasks = BackgroundTasks(max_threads=2)
    release = threading.Event()
    delivered = []

    def slow(value):
        release.wait(10)
        return value

    tasks.submit(slow, "old", key="preview", on_done=delivered.append)
    tasks.submit(lambda: "new", key="preview",
                 on_done=lambda value: delivered.append((value, QThread.currentThread() is qtbot_thread())))
    qtbot.waitUntil(lambda: delivered == [("new", True)])
    release.set()
    assert tasks.wait(10_000)
    qtbot.wait(50)  # the superseded answer arrives now, and is dropped
    assert delivered == [("new", True)]

    errors = []
    tasks.submit(lambda: 1 / 0, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors))
    assert isinstance(errors[0], ZeroDivisionError) and errors[0].__traceback__ is not None


def test_a_reporting_worker_reports_and_a_cancelled_one_still_delivers_its_outcome(qtbot):
    tasks = BackgroundTasks(max_threads=1)
    started, reports, outcome, finished = threading.Event(), [], [], []

    def count(limit, report, cancelled):
        started.set()
        done = 0
        while done < limit and not cancelled():
            done += 1
            report(done, limit)
        return done

    worker = ReportingWorker(count, 10**9)
    tasks.start(worker, on_progress=lambda done, limit: reports.append(done), on_done=outcome.append,
                on_finished=lambda: finished.append(True))
    assert started.wait(10)
    worker.cancel()
    qtbot.waitUntil(lambda: bool(finished), timeout=10_000)
    assert outcome and 0 < outcome[0] < 10**9  # stopped early, and said how far it got
    assert reports and reports[-1] <= outcome[0]


def qtbot_thread():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance().thread()
