"""How responsive the Review tab stays while it batch-labels a 200,000-row file.

A CSV of --rows rows is made from the TweetEval texts in ../shared/data (repeated), the Review tab
(offscreen) loads --model and batch-labels the file exactly as the "Batch-label to a file…" button
does, while a 10 ms QTimer probe records how late each of its ticks fires (event-loop latency).
Every few seconds a moderator-sized job is done in the same window — 20 pasted texts classified,
the table's sort flipped — and timed. The run ends when the file is done, or after --seconds, when
Cancel is clicked and the time until the tab reports "cancelled" is measured.

    flock /tmp/bench.lock python benchmarks/review_responsiveness.py --model runs/minilm-hate [--seconds 90]

Prints one JSON object: rows/s, progress updates per second, probe latency (median, 99th percentile,
worst), classification and sort times during the run, cancel latency, and whether any output was
left behind after a cancel.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from qt_wait import wait_until

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PROBE_INTERVAL_MS = 10
SOURCES = ("tweeteval_hate_train.csv", "tweeteval_hate_test.csv", "tweeteval_hate_val.csv")


def make_file(target: Path, rows: int) -> Path:
    texts: list[str] = []
    for name in SOURCES:
        with open(DATA / name, newline="", encoding="utf-8") as handle:
            texts.extend(row["text"] for row in csv.DictReader(handle))
    with open(target, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "text"])
        for index, text in zip(range(rows), itertools.cycle(texts)):
            writer.writerow([index, text])
    return target


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a trained classifier folder")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=0, help="cancel after this long (0: label the whole file)")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    if not (DATA / SOURCES[0]).exists():
        print(f"skipped: needs {DATA}/{SOURCES[0]}")
        return 0

    from PySide6.QtCore import QElapsedTimer, Qt, QTimer

    from moderator_app.gui.common import settings
    from moderator_app.gui.app import create_application
    from moderator_app.gui.main_window import MainWindow
    from moderator_app.gui.review.window_links import add_review_tab

    work = Path(tempfile.mkdtemp(prefix="moderator-review-bench-"))
    os.environ["MODERATOR_APP_DATA"] = str(work / "data")
    settings.use_settings_file(work / "settings.ini")
    app = create_application([sys.argv[0]])
    source = make_file(work / "comments.csv", args.rows)
    output = work / "out" / "comments.labelled.csv"
    output.parent.mkdir()

    window = MainWindow()
    tab = add_review_tab(window)
    window.resize(1500, 950)
    window.show()
    window.tabs.setCurrentWidget(tab)


    tab.load_model(args.model)
    if not wait_until(lambda: tab.handle is not None or tab.model_panel.error, 300, poll_ms=20) or tab.handle is None:
        print("the model did not load:", tab.model_panel.error)
        return 1

    # the event-loop probe
    lateness: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    late_at: list[float] = []

    def tick() -> None:
        now = clock.nsecsElapsed()
        lateness.append(max(0.0, (now - last[0]) / 1e6 - PROBE_INTERVAL_MS))
        late_at.append(time.monotonic() - started)
        last[0] = now

    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.timeout.connect(tick)

    outcome: list[str] = []
    tab.batch_ended.connect(outcome.append)
    classify_seconds: list[float] = []
    sort_seconds: list[float] = []
    texts = ["@user you people are vermin and should go back", "lovely morning at the market",
             "women like her should shut up", "great game last night"] * 5

    started = time.monotonic()
    last[0] = clock.nsecsElapsed()
    probe.start(PROBE_INTERVAL_MS)
    tab.batch_label(str(source), "text", str(output))
    last_done = [0]
    tab.batch_panel.worker.reports.progress.connect(lambda values: last_done.__setitem__(0, values[0]))
    cancelled_at = None
    next_job = time.monotonic() + 3
    while not outcome:
        wait_until(lambda: bool(outcome), 0.2, poll_ms=20)
        now = time.monotonic()
        if args.seconds and cancelled_at is None and now - started >= args.seconds:
            cancelled_at = time.monotonic()
            tab.batch_panel.cancel_button.click()
        if cancelled_at is None and now >= next_job and not outcome:
            tab.input.text_edit.setPlainText("\n".join(texts))
            generation = tab.results.generation
            asked = time.monotonic()
            tab.input.classify_pasted()
            if wait_until(lambda: tab.results.generation != generation, 120, poll_ms=20):
                classify_seconds.append(time.monotonic() - asked)
                order = Qt.SortOrder.DescendingOrder if len(sort_seconds) % 2 == 0 else Qt.SortOrder.AscendingOrder
                asked = time.perf_counter()
                tab.results.table.sortByColumn(3, order)
                sort_seconds.append(time.perf_counter() - asked)
            next_job = time.monotonic() + 3
    ended = time.monotonic()
    probe.stop()
    panel = tab.batch_panel
    running_seconds = (cancelled_at or ended) - started
    result = {
        "model": args.model, "rows_in_file": args.rows, "outcome": outcome[0],
        "rows_labelled": args.rows if outcome[0] == "finished" else last_done[0],
        "seconds": round(ended - started, 2),
        "rows_per_second": round((args.rows if outcome[0] == "finished" else last_done[0]) / running_seconds, 1),
        "progress_updates_per_second": round(panel.updates / running_seconds, 2),
        "probe_ticks": len(lateness),
        "probe_late_ms_median": round(statistics.median(lateness), 2) if lateness else None,
        "probe_late_ms_p99": round(percentile(lateness, 0.99), 2),
        "probe_late_ms_max": round(max(lateness), 2) if lateness else None,
        "probe_worst_ticks": [(round(late_at[i], 2), round(lateness[i], 1))
                              for i in sorted(range(len(lateness)), key=lateness.__getitem__)[-5:]],
        "probe_late_over_50ms": sum(1 for value in lateness if value > 50),
        "classify_20_texts_during_run_s": [round(s, 2) for s in classify_seconds],
        "sort_table_during_run_ms": [round(s * 1000, 2) for s in sort_seconds],
        "cancel_to_cancelled_s": round(ended - cancelled_at, 2) if cancelled_at else None,
        "files_left_after_cancel": sorted(p.name for p in output.parent.iterdir()) if outcome[0] == "cancelled"
        else None,
        "summary": panel.summary.text(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
