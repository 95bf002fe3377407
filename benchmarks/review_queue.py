"""How fast a 20,000-item review queue opens, sorts by uncertainty, filters and takes a decision.

A queue of --items texts (TweetEval texts from ../shared/data, repeated and numbered; synthetic ones
without the data) is created in a fresh decision store with half of its items already decided, and
the scores its model gave them kept with it (as the Review tab keeps them); --log N adds N decisions
of other texts first (a store after months of work: the lookup then probes the queue's texts one by
one instead of reading the model's decisions). The store is then closed and opened again, as by the
next sitting, and each repeat times, in the Review tab's own objects (offscreen):
  open    reading the queue (state, items and its model's saved scores) from the store, filling the
          results table (ResultsPanel.show_results) and applying its decisions found by the store's
          lookup
  sort    ordering the table by uncertainty (closest to the threshold first)
  filter  showing only the undecided items
  decide  recording one decision in the store (one fsync'd transaction), showing it, and moving
          on to the next undecided item
Target (issue 14): each under 100 ms, median of three repeats. "open" is also given in its parts:
reading the queue and looking up its decisions run on the store thread (the window stays
responsive meanwhile); filling the table and showing the decisions run on the GUI thread.

    flock /tmp/bench.lock python benchmarks/review_queue.py [--items 20000] [--repeats 3] [--log N]
    python benchmarks/review_queue.py --quick     # 2,000 items, one repeat: checks the script runs

Prints one JSON object: the median and every repeat's milliseconds for each step, and the machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
LABELS = ["hate", "not-hate"]
TARGET_MS = 100.0


def queue_texts(count: int) -> list[str]:
    texts: list[str] = []
    source = DATA / "tweeteval_hate_train.csv"
    if source.exists():
        with open(source, newline="", encoding="utf-8") as handle:
            texts = [row["text"] for row in csv.DictReader(handle) if row["text"].strip()]
    if not texts:
        texts = [f"synthetic comment about topic {n % 97} with words {n % 13}" for n in range(1000)]
    return [f"{texts[n % len(texts)]} #{n}" for n in range(count)]  # numbered: every item a text of its own


def decide_rule(probabilities, threshold):
    """The classifier's own rule (Classifier.decide) for a binary model whose first label is flagged."""
    from moderator_app.core.labels import decide_labels

    return decide_labels(probabilities, LABELS, 0, threshold)


def run_once(items: int, work: Path, log: int = 0) -> dict[str, float]:
    import numpy as np

    from moderator_app.core.review.session import FILTER_UNDECIDED, SORT_UNCERTAINTY
    from moderator_app.core.review.store import Decision, StoreAccess
    from moderator_app.gui.review.results_panel import ResultsPanel, filter_key

    access = StoreAccess(work / "decisions.sqlite3")
    store = access.store()
    texts = queue_texts(items)
    columns = ["id", "author"]
    extras = [[str(n), f"@user{n % 500}"] for n in range(items)]
    queue = store.queues.create("benchmark", texts, columns, extras, source="benchmark.csv")
    rng = np.random.default_rng(12345)
    positive = rng.random(items).astype(np.float32)
    probabilities = np.stack([positive, 1 - positive], axis=1)
    model_id = "sha256:benchmark"
    store.queues.save_scores(queue.id, model_id, LABELS, probabilities)
    with store._transaction():  # the months before: decisions of other texts (in one transaction, to set up fast)
        store.connection.executemany(
            "INSERT INTO decisions (text, model_label, moderator_label, model_id, decided_at) VALUES (?, ?, ?, ?, ?)",
            ((f"an earlier text {n}", LABELS[0], LABELS[n % 2], model_id, "2026-01-01T00:00:00+00:00")
             for n in range(log)))
    for n in range(0, items, 2):  # half decided before
        store.record(Decision(texts[n], LABELS[0], float(positive[n]), LABELS[n % 4 // 2], model_id,
                              moderator="bench", queue=queue.name, queue_id=queue.id))
    access.close()  # as when the app closed after a sitting: the next one opens the store afresh
    access = StoreAccess(work / "decisions.sqlite3")
    store = access.store()
    panel = ResultsPanel()
    panel.resize(1200, 800)
    panel.show()
    panel.configure_for_labels(LABELS, 0)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    opened, queue_items = store.queues.get(queue.id, progress=False), store.queues.items(queue.id)
    scores = store.queues.scores(queue.id, model_id, LABELS, opened.items)
    read = time.perf_counter()
    panel.show_results(queue_items.texts, scores, LABELS, 0, decide_rule, queue_items.columns,
                       queue_items.extras, opened.columns)
    shown = time.perf_counter()
    current, earlier = access.lookup(queue_items.texts, model_id)
    looked_up = time.perf_counter()
    panel.apply_decisions(*panel.session.decisions_found(current))
    panel.show_earlier(earlier)
    finished = time.perf_counter()
    timings["open"] = (finished - started) * 1000
    # its parts: the store's on the store thread, the table's on the GUI thread
    timings["open: read the queue (store thread)"] = (read - started) * 1000
    timings["open: fill the table (GUI thread)"] = (shown - read + finished - looked_up) * 1000
    timings["open: look up decisions (store thread)"] = (looked_up - shown) * 1000
    assert panel.session.counts().decided == (items + 1) // 2

    started = time.perf_counter()
    panel.sort_by(SORT_UNCERTAINTY)
    timings["sort"] = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    panel.filter_combo.setCurrentIndex(panel.filter_combo.findData(filter_key(FILTER_UNDECIDED)))
    timings["filter"] = (time.perf_counter() - started) * 1000
    assert panel.model.rowCount() == items // 2

    panel.select_item(panel.model.item(0))
    started = time.perf_counter()
    item = panel.selected_items()[0]
    kept, decisions = panel.session.new_decisions([item], None, model_id, moderator="bench", queue=queue.name,
                                                  queue_id=queue.id)
    saved, error = access.record(decisions)
    assert error is None and saved
    panel.apply_decisions({item: saved[0].moderator_label}, {item: saved[0].model_label})
    panel.select_next_undecided()
    timings["decide"] = (time.perf_counter() - started) * 1000
    panel.close()
    access.close()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--log", type=int, default=0, help="decisions of other texts in the store before the queue's")
    parser.add_argument("--quick", action="store_true", help="2,000 items, one repeat: checks the script runs")
    args = parser.parse_args()
    if args.quick:
        args.items, args.repeats = 2_000, 1
    sys.path.insert(0, str(ROOT))
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])  # noqa: F841 (kept alive for the widgets)
    runs = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="moderator-review-queue-") as work:
            runs.append(run_once(args.items, Path(work), args.log))
    steps = list(runs[0])
    medians = {step: round(statistics.median(run[step] for run in runs), 1) for step in steps}
    print(json.dumps({"items": args.items, "log": args.log, "repeats": args.repeats, "median_ms": medians,
                      "runs_ms": [{step: round(value, 1) for step, value in run.items()} for run in runs],
                      "under_target": {step: value < TARGET_MS for step, value in medians.items()
                                       if ":" not in step},
                      "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                  "platform": platform.platform()}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
