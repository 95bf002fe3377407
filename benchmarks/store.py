"""The shared decision store (issue 25): decisions per second into PostgreSQL from concurrent writers,
and opening a large shared queue with a long log, on PostgreSQL and on SQLite.

  writers  --writers processes (default 4), each a moderator-app store of its own on one PostgreSQL
           database, record --per-writer decisions each (one transaction per decision, as the Review
           tab saves them), all starting together: decisions per second over all of them (from the
           first start to the last finish) and per writer; --repeats runs (default 3), each into an
           empty database of its own, and their median
  open     a queue of --items texts (default 20,000), half of them decided in it, in a log of --log
           decisions (default 100,000: the other half of them of other texts and other models), its
           model's scores kept; each repeat opens the store afresh and times what the Review tab's store
           thread does to open a queue: its state, items and saved scores, and the lookup of its
           decisions (the table filling on the GUI thread is the same for either engine; review_queue.py
           times it). Target: at most 150 ms on either engine, median of --repeats (default 3).

The PostgreSQL server is --postgres URL (an empty database; the password from PGPASSWORD or ~/.pgpass),
or, without it, a throwaway cluster started like the tests' (tests/postgres_server.py: initdb and pg_ctl,
as the postgres user when run as root) with fsync ON, so that each decision is on disk when it is
acknowledged, as on a real server.

    flock /tmp/bench.lock python benchmarks/store.py [--postgres URL] [--repeats 3]
    python benchmarks/store.py --quick     # 200 decisions per writer, a 2,000-item queue in a 10,000 log

Prints one JSON object: the figures, every repeat's, and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_MS = 150.0
LABELS = ["hate", "not-hate"]
MODEL = "sha256:benchmark"

WRITER = r"""
import sys, time
from moderator_app.core.review.store import Decision, DecisionStore
location, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = DecisionStore(location)
print("ready", flush=True)
sys.stdin.readline()  # go
started = time.time()
for n in range(count):
    store.record(Decision(f"{name} text {n}", "hate", 0.9, "hate" if n % 2 else "not-hate", "m1",
                          moderator=name, model_name="/models/m1", queue="shared"))
print(started, time.time(), flush=True)
store.close()
"""


def writers(url: str, processes: int, per_writer: int) -> dict:
    from moderator_app.core.review.store import DecisionStore

    DecisionStore(url).close()  # created before the writers start
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    started = [subprocess.Popen([sys.executable, "-c", WRITER, url, f"writer{w}", str(per_writer)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=environment)
               for w in range(processes)]
    for process in started:
        assert process.stdout.readline().strip() == "ready"
    for process in started:
        process.stdin.write("go\n")
        process.stdin.flush()
    spans = []
    for process in started:
        output, _ = process.communicate(timeout=3600)
        assert process.returncode == 0
        begin, end = map(float, output.split())
        spans.append((begin, end))
    store = DecisionStore(url)
    rows = len(store.decisions())
    store.close()
    assert rows == processes * per_writer, rows
    elapsed = max(end for _, end in spans) - min(begin for begin, _ in spans)
    return {"writers": processes, "decisions": rows, "seconds": round(elapsed, 3),
            "decisions_per_s": round(rows / elapsed, 1),
            "per_writer_per_s": [round(per_writer / (end - begin), 1) for begin, end in spans]}


def writer_runs(database, args, given: bool) -> dict:
    """The writers phase --repeats times, each into an empty database of its own: the median run's
    decisions per second, and every run."""
    runs = []
    for run in range(args.repeats):
        runs.append(writers(database(f"bench_writers_{run + 1}"), args.writers, args.per_writer))
        if given:
            _empty(args.postgres)
    rates = [run["decisions_per_s"] for run in runs]
    return {"median_decisions_per_s": round(statistics.median(rates), 1), "runs": runs}


def fill_queue(location: str, items: int, log: int) -> int:
    """The queue and the log, written in bulk (a setup, not what is timed)."""
    import numpy as np

    from moderator_app.core.review.decision import WRITTEN, new_uid
    from moderator_app.core.review.store import DecisionStore

    store = DecisionStore(location)
    texts = [f"shared queue text number {n} with some words" for n in range(items)]
    queue = store.queues.create("shared", texts, ["id"], [[str(n)] for n in range(items)], source="bench.csv")
    rng = np.random.default_rng(25)
    positive = rng.random(items).astype(np.float32)
    store.queues.save_scores(queue.id, MODEL, LABELS, np.stack([positive, 1 - positive], axis=1))
    in_queue = items // 2

    def row(n: int):
        if n < in_queue:  # half of the queue decided in it, by four moderators
            text, model, queue_name, queue_id = texts[2 * n], MODEL, "shared", queue.id
        else:  # the months before: other texts, and some of the queue's texts with an earlier model
            text = texts[n % items] if n % 10 == 0 else f"an earlier text {n}"
            model, queue_name, queue_id = "sha256:earlier", "", None
        values = {"text": text, "model_label": LABELS[0], "model_score": 0.7, "moderator_label": LABELS[n % 2],
                  "model_id": model, "decided_at": "2026-12-01T10:00:00+00:00", "moderator": f"mod{n % 4}",
                  "model_name": "/models/bench", "threshold": 0.5, "probabilities": None, "note": "",
                  "category": "", "queue": queue_name, "queue_id": queue_id, "kind": "decision", "reverts": None,
                  "uid": new_uid()}
        return [values[name] for name in WRITTEN]

    statement = f"INSERT INTO decisions ({', '.join(WRITTEN)}) VALUES ({', '.join('?' * len(WRITTEN))})"
    for start in range(0, log, 10_000):
        with store._transaction():
            store.connection.executemany(statement, [row(n) for n in range(start, min(log, start + 10_000))])
    if store.server:
        store.connection.execute("ANALYZE")
    queue_id = queue.id
    store.close()
    return queue_id


def open_queue(location: str, queue_id: int, repeats: int, items: int) -> dict:
    from moderator_app.core.review.store import DecisionStore
    from moderator_app.core.review.team import hide_blind

    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        store = DecisionStore(location)
        connected = time.perf_counter()
        opened = store.queues.get(queue_id, progress=False)
        queue_items = store.queues.items(queue_id)
        scores = store.queues.scores(queue_id, MODEL, LABELS, opened.items)
        read = time.perf_counter()
        # as StoreAccess.lookup does for the moderator at the window: the lookup, then what they are blind to
        current, earlier = hide_blind(store, queue_id, "mod0",
                                      *store.lookup_for_review(queue_items.texts, MODEL, with_model_labels=True))
        finished = time.perf_counter()
        assert scores is not None and len(queue_items.texts) == items and len(current) == items // 2, len(current)
        store.close()
        runs.append({"open the store": (connected - started) * 1000, "read the queue": (read - connected) * 1000,
                     "look up its decisions": (finished - read) * 1000, "open": (finished - connected) * 1000})
    median = {key: round(statistics.median(run[key] for run in runs), 1) for key in runs[0]}
    return {"median_ms": median, "runs_ms": [{key: round(value, 1) for key, value in run.items()} for run in runs],
            "target_ms": TARGET_MS, "met": median["open"] <= TARGET_MS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", metavar="URL", help="an empty PostgreSQL database (default: a throwaway cluster)")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--per-writer", type=int, default=2000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--log", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat: checks the script runs")
    args = parser.parse_args()
    if args.quick:
        args.per_writer, args.items, args.log, args.repeats = 200, 2000, 10_000, 1
    sys.path.insert(0, str(ROOT / "tests"))
    work = Path(tempfile.mkdtemp(prefix="moderator-app-store-bench-"))
    server = None
    try:
        if args.postgres:
            base = args.postgres.rsplit("/", 1)[0]
            make_url = None
        else:
            from postgres_server import start_server

            cluster = Path(tempfile.mkdtemp(prefix="moderator-app-bench-postgres-"))  # the postgres user's
            server = start_server(cluster, fsync=True)
            os.environ["PGPASSWORD"] = server.password
            base = server.url("").rstrip("/")
            make_url = server
        result: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                    "processor": platform.processor() or platform.machine()},
                        "sizes": {"writers": args.writers, "per_writer": args.per_writer, "items": args.items,
                                  "log": args.log, "repeats": args.repeats}}

        def database(name: str) -> str:
            if make_url is None:
                return args.postgres  # the one database given: used for one part at a time, emptied between
            with make_url.connect() as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            return f"{base}/{name}"

        result["postgres_writers"] = writer_runs(database, args, make_url is None)
        engines = {"sqlite": str(work / "decisions.sqlite3"), "postgres": database("bench_open")}
        for engine, location in engines.items():
            queue_id = fill_queue(location, args.items, args.log)
            result[f"{engine}_open"] = open_queue(location, queue_id, args.repeats, args.items)
        print(json.dumps(result, indent=2))
    finally:
        if server is not None:
            from postgres_server import stop_server

            stop_server(server)
            shutil.rmtree(server.folder, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def _empty(url: str) -> None:
    from moderator_app.core.review.server import ServerConnection

    connection = ServerConnection(url)
    connection.execute("DROP TABLE IF EXISTS queue_scores, queue_items, queues, decisions, alembic_version CASCADE")
    connection.close()


if __name__ == "__main__":
    main()
