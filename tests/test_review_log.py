"""The decision log (append-only, undo, history, earlier models), the migration of a version-1 store,
queues, uncertainty order and exports: core only, no window."""

import csv
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from test_inference import tiny_classifier_dir  # noqa: F401 (fixture)

from moderator_app.core.review.export import ExportFilter, export_conflicts, export_decisions
from moderator_app.core.review.queues import QueueState
from moderator_app.core.review.session import SORT_UNCERTAINTY, ReviewSession
from moderator_app.core.review.store import REVERT, Decision, DecisionStore

# The store's schema before the review queues (git show a69b821:moderator_app/core/review/store.py)
VERSION_1_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    model_label TEXT NOT NULL,
    model_score REAL,
    moderator_label TEXT NOT NULL,
    model_id TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    UNIQUE (text, model_id) ON CONFLICT REPLACE
);
"""


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def decision(text, label, moderator="ann", model="m1", model_label="hate", **more):
    return Decision(text, model_label, 0.9, label, model, moderator=moderator, model_name=f"/models/{model}", **more)


def test_a_decision_changed_twice_leaves_three_rows_and_the_latest_wins(tmp_path, store_location):
    store = DecisionStore(store_location)
    for label in ("hate", "not-hate", "hate"):
        store.record(decision("you people", label, threshold=0.4, probabilities={"hate": 0.9, "not-hate": 0.1},
                              note="slur", category="harassment", queue="today"))
    store.close()
    store = DecisionStore(store_location)
    rows = store.history("you people")
    assert [row.moderator_label for row in rows] == ["hate", "not-hate", "hate"]
    assert rows[0].probabilities == {"hate": 0.9, "not-hate": 0.1} and rows[0].threshold == 0.4
    assert rows[0].moderator == "ann" and rows[0].category == "harassment" and rows[0].decided_at
    store.record(decision("you people", "not-hate", moderator="bob"))
    assert store.lookup(["you people"], "m1") == {"you people": "not-hate"}


def test_undo_appends_a_revert_and_restores_the_label_before(tmp_path, store_location):
    store = DecisionStore(store_location)
    first = store.record(decision("text", "hate"))
    second = store.record(decision("text", "not-hate"))
    undo = store.revert(second.id, "ann")
    assert undo.kind == REVERT and undo.reverts == second.id and undo.moderator_label == "hate"
    assert store.lookup(["text"], "m1") == {"text": "hate"}
    store.revert(first.id, "ann")  # undoing the first decision leaves the text undecided
    assert store.lookup(["text"], "m1") == {}
    assert len(store.history("text")) == 4  # nothing deleted


def test_decisions_of_an_earlier_model_are_decided_before_not_this_models(tmp_path, store_location):
    store = DecisionStore(store_location)
    store.record(decision("old text", "hate", model="old"))
    current, earlier = store.current(["old text"], "new"), store.earlier(["old text"], "new")
    assert current == {} and earlier["old text"].model_name == "/models/old"


def test_a_version_1_store_migrates_without_losing_a_row(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(VERSION_1_SCHEMA)
    rows = [(f"text {n}", "hate", 0.5 + n / 100, "not-hate" if n % 3 else "hate", f"/models/m{n % 2}",
             f"2026-11-0{1 + n % 9}T10:00:00+00:00") for n in range(25)]
    old.executemany("INSERT INTO decisions (text, model_label, model_score, moderator_label, model_id, decided_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)", rows)
    old.commit()
    old.close()
    store = DecisionStore(path)
    migrated = store.decisions()
    assert [(d.text, d.model_label, d.model_score, d.moderator_label, d.model_id, d.decided_at)
            for d in migrated] == rows
    assert all(d.model_name == d.model_id for d in migrated)
    store.record(decision("text 0", "not-hate", model="/models/m0"))  # no longer replaces
    assert len(store.decisions()) == 26
    store.close()
    assert len(DecisionStore(path).decisions()) == 26  # a second open does not migrate again


def test_a_queue_keeps_items_columns_state_and_progress(tmp_path, store_location):
    store = DecisionStore(store_location)
    queue = store.queues.create("Monday", ["a", "b", "c"], ["id", "author"], [["1", "x"], ["2", "y"], ["3", "z"]],
                                source="comments.csv")
    store.queues.save_state(queue.id, QueueState("/models/m1", 0.3, "undecided", "", SORT_UNCERTAINTY, False, 2,
                                                 ["author"]))
    store.record(decision("a", "hate", queue="Monday", queue_id=queue.id))
    undone = store.record(decision("b", "hate", queue="Monday", queue_id=queue.id))
    store.revert(undone.id, "ann")
    store.close()
    store = DecisionStore(store_location)
    reopened = store.queues.get(queue.id)
    assert reopened.progress == "1 of 3 reviewed"
    assert reopened.state.threshold == 0.3 and reopened.state.position == 2 and reopened.state.shown_columns == ["author"]
    assert store.queues.items(queue.id).extras[2] == ["3", "z"]
    assert store.queues.create("Monday", ["d"]).name == "Monday (2)"
    renamed = store.queues.rename(queue.id, "Monday morning")
    assert renamed.name == "Monday morning" and store.queues.add_items(queue.id, ["d"]).items == 4
    store.queues.delete(queue.id)
    assert [q.name for q in store.queues.all()] == ["Monday (2)"]
    assert len(store.decisions()) == 3  # the log outlives the queue


def test_a_queues_items_come_back_exactly_as_they_went_in_and_in_order(tmp_path, store_location):
    texts = ["b", 'a "quoted" \\ back\\slash', "new\nline\ttab\r", "\x1e\x1f\x01 control", "émoji 🙂 ünïcode",
             "[\"not\", \"json\"]", "   ", "", "b", "a, comma"] + [f"text {n}" for n in range(500, 0, -1)]
    store = DecisionStore(store_location)
    queue = store.queues.create("Awkward", texts, ["id"], [[str(n)] for n in range(len(texts))])
    items = store.queues.items(queue.id)
    assert items.texts == texts and list(items.extras) == [[str(n)] for n in range(len(texts))]
    assert store.queues.items(store.queues.create("Empty", []).id).texts == []
    store.close()


def test_a_queue_keeps_a_models_scores_until_its_items_change(tmp_path, store_location):
    store = DecisionStore(store_location)
    queue = store.queues.create("Monday", ["a", "", "c"])
    probabilities = np.array([[0.9, 0.1], [np.nan, np.nan], [0.25, 0.75]], dtype=np.float32)
    store.queues.save_scores(queue.id, "sha256:m1", ["hate", "not-hate"], probabilities)
    store.close()
    store = DecisionStore(store_location)
    kept = store.queues.scores(queue.id, "sha256:m1", ["hate", "not-hate"], 3)
    np.testing.assert_array_equal(kept, probabilities)  # NaN rows (empty texts) too
    assert store.queues.scores(queue.id, "sha256:m2", ["hate", "not-hate"], 3) is None  # another model
    assert store.queues.scores(queue.id, "sha256:m1", ["not-hate", "hate"], 3) is None  # other labels
    store.queues.add_items(queue.id, ["d"])
    assert store.queues.scores(queue.id, "sha256:m1", ["hate", "not-hate"], 4) is None  # "d" was never scored
    store.queues.delete(queue.id)
    assert store.connection.execute("SELECT COUNT(*) FROM queue_scores").fetchone()[0] == 0


def test_a_version_2_store_gains_the_scores_table_and_keeps_its_rows(tmp_path):
    from moderator_app.core.review.schema import VERSION

    path = tmp_path / "d.sqlite3"
    store = DecisionStore(path)
    queue = store.queues.create("Monday", ["a", "b"])
    store.record(decision("a", "hate", queue="Monday", queue_id=queue.id))
    store.connection.execute("DROP TABLE queue_scores")  # as the previous release left it:
    store.connection.execute("DROP INDEX decisions_by_model_labels")
    store.connection.execute("CREATE INDEX decisions_by_model ON decisions (model_id, text, id)")
    store.connection.execute("PRAGMA user_version = 2")
    store.close()
    store = DecisionStore(path)
    assert store.connection.execute("PRAGMA user_version").fetchone()[0] == VERSION == 10
    indexes = {name for name, in store.connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "decisions_by_model_labels" in indexes and "decisions_by_model" not in indexes
    assert len(store.decisions()) == 1 and store.queues.items(queue.id).texts == ["a", "b"]
    store.queues.save_scores(queue.id, "sha256:m1", ["hate", "not-hate"], np.zeros((2, 2)))
    assert store.queues.scores(queue.id, "sha256:m1", ["hate", "not-hate"], 2).shape == (2, 2)


def test_uncertainty_order_puts_the_closest_to_the_threshold_first():
    session = ReviewSession()
    positive = np.array([0.9, 0.45, 0.05, 0.62, 0.5])
    probabilities = np.stack([1 - positive, positive], axis=1)

    def decide(probs, threshold):
        return ["hate" if p >= threshold else "ok" for p in probs[:, 1]], probs[:, 1]

    session.load(["a", "b", "c", "d", "e"], probabilities, ["ok", "hate"], 1, decide, threshold=0.6)
    session.sort(SORT_UNCERTAINTY)
    assert list(session.order) == [3, 4, 1, 0, 2]
    session.set_threshold(0.4)  # the order follows the threshold
    assert list(session.order) == [1, 4, 3, 2, 0]
    session.set_decisions({1: "ok"})
    assert session.next_undecided(0) == 1  # row 1 is item 4
    assert session.counts().disagreement == 1.0


def test_export_filters_and_provenance_columns(tmp_path, store_location):
    store = DecisionStore(store_location)
    store.record(decision("a", "hate", moderator="ann", queue="q1"))
    store.record(decision("b", "not-hate", moderator="bob", queue="q2", model="m2"))
    store.record(decision("a", "not-hate", moderator="bob", queue="q1"))
    undone = store.record(decision("c", "hate", moderator="ann", queue="q1"))
    store.revert(undone.id, "ann")
    summary = export_decisions(store, tmp_path / "all.csv", ExportFilter())
    assert read_csv(tmp_path / "all.csv") == [["text", "label"], ["b", "not-hate"], ["a", "not-hate"]]
    assert summary.rows == 2 and summary.undone == 1
    export_decisions(store, tmp_path / "ann.csv", ExportFilter(moderator="ann", queue="q1"), provenance=True)
    rows = read_csv(tmp_path / "ann.csv")
    assert rows[0] == ["text", "label", "moderator", "decided_at", "model", "model_id", "queue"]
    assert [row[:3] + row[4:] for row in rows[1:]] == [["a", "hate", "ann", "/models/m1", "m1", "q1"]]
    export_decisions(store, tmp_path / "m2.csv", ExportFilter(model="/models/m2"))
    assert read_csv(tmp_path / "m2.csv")[1:] == [["b", "not-hate"]]
    export_decisions(store, tmp_path / "none.csv", ExportFilter(until="2000-01-01"))
    assert read_csv(tmp_path / "none.csv") == [["text", "label"]]
    assert export_conflicts(store, tmp_path / "conflicts.csv", ExportFilter()).rows == 1
    conflicts = read_csv(tmp_path / "conflicts.csv")
    assert [row[:3] for row in conflicts[1:]] == [["a", "ann", "hate"], ["a", "bob", "not-hate"]]
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_export_never_replaces_a_file_unless_told(tmp_path):
    from moderator_app.core.errors import OutputNotWritableError

    store = DecisionStore(tmp_path / "d.sqlite3")
    mine = tmp_path / "mine.csv"
    mine.write_text("keep me")
    with pytest.raises(OutputNotWritableError, match="exists already"):
        export_decisions(store, mine, ExportFilter(), overwrite=False)
    assert mine.read_text() == "keep me"
    with pytest.raises(Exception, match="not a date"):
        export_decisions(store, tmp_path / "x.csv", ExportFilter(since="yesterday"))


def test_the_command_line_exports_decisions_and_conflicts(tmp_path, store_location, capsys):
    from moderator_app.cli import main

    store = DecisionStore(store_location)
    store.record(decision("a", "hate", moderator="ann", queue="q1"))
    store.record(decision("a", "not-hate", moderator="bob", queue="q1"))
    store.record(decision("b", "hate", moderator="bob", queue="q2"))
    store.close()
    common = ["--store", store_location]
    assert main(["decisions", "export", "--output", str(tmp_path / "out.csv"), "--queue", "q1", "--provenance",
                 *common]) == 0
    rows = read_csv(tmp_path / "out.csv")
    assert [row[:3] for row in rows] == [["text", "label", "moderator"], ["a", "not-hate", "bob"]]
    assert "Wrote 1 decisions" in capsys.readouterr().out
    assert main(["decisions", "conflicts", "--output", str(tmp_path / "c.csv"), *common]) == 0
    assert len(read_csv(tmp_path / "c.csv")) == 3
    assert main(["decisions", "export", "--output", str(tmp_path / "out.csv"), *common]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "exists already" in error and "--overwrite" in error
    assert main(["decisions", "export", "--output", str(tmp_path / "x.csv"), "--since", "monday", *common]) == 2
    assert "--since" in capsys.readouterr().err
    assert main(["decisions", "export", "--output", str(tmp_path / "x.csv"), "--store", str(tmp_path / "no")]) == 2


def command_line_store(tmp_path) -> list[str]:
    store = DecisionStore(tmp_path / "d.sqlite3")
    store.record(decision("=HYPERLINK(\"http://x\")", "hate", moderator="@ann"))
    store.record(decision("plain", "not-hate", moderator="bob"))
    store.record(decision("plain", "hate", moderator="ann"))
    store.close()
    return ["--store", str(tmp_path / "d.sqlite3")]


def test_decisions_export_has_labels_excel_safe_option(tmp_path):
    from moderator_app.cli import main

    common = command_line_store(tmp_path)
    assert main(["decisions", "export", "--output", str(tmp_path / "safe.csv"), "--provenance", "--excel-safe",
                 *common]) == 0
    rows = read_csv(tmp_path / "safe.csv")
    assert rows[1][:3] == ["'=HYPERLINK(\"http://x\")", "hate", "'@ann"] and rows[2][:2] == ["plain", "hate"]
    assert main(["decisions", "conflicts", "--output", str(tmp_path / "c.csv"), "--excel-safe", *common]) == 0
    assert main(["decisions", "export", "--output", str(tmp_path / "raw.csv"), *common]) == 0
    assert read_csv(tmp_path / "raw.csv")[1][0] == "=HYPERLINK(\"http://x\")"  # as decided, without the option


def test_an_export_ended_by_sigterm_leaves_nothing_and_a_killed_ones_leftover_is_cleaned(tmp_path, capsys,
                                                                                         monkeypatch):
    import os
    import signal
    import subprocess
    import sys

    from moderator_app.cli import main

    common = command_line_store(tmp_path)
    target = tmp_path / "out.csv"
    real_writer = csv.writer

    def terminated_while_writing(handle, *args, **kwargs):
        assert any(name.endswith(".part") for name in os.listdir(tmp_path))  # mid-export: the hidden file exists
        os.kill(os.getpid(), signal.SIGTERM)
        return real_writer(handle, *args, **kwargs)

    monkeypatch.setattr(csv, "writer", terminated_while_writing)
    assert main(["decisions", "export", "--output", str(target), *common]) == 130
    assert "interrupted; no output was written" in capsys.readouterr().err
    outputs = lambda: sorted(name for name in os.listdir(tmp_path) if not name.startswith("d.sqlite3"))  # noqa: E731
    assert outputs() == [] and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    monkeypatch.undo()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.csv.{dead.pid}-0123abcd.part"  # what a killed export leaves
    stale.write_text("text,label\npartial")
    assert main(["decisions", "export", "--output", str(target), *common]) == 0
    assert outputs() == ["out.csv"]


def test_exports_get_the_users_usual_permissions(tmp_path):
    import os
    import stat

    from moderator_app.cli import main

    common = command_line_store(tmp_path)
    previous = os.umask(0o027)
    try:
        assert main(["decisions", "export", "--output", str(tmp_path / "out.csv"), *common]) == 0
        assert main(["decisions", "conflicts", "--output", str(tmp_path / "c.csv"), *common]) == 0
    finally:
        os.umask(previous)
    for name in ("out.csv", "c.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640  # 0666 & ~umask, not mkstemp's 0600


def test_retrain_from_decisions_prepares_the_data_and_the_comparison_runs(tmp_path, tiny_classifier_dir,
                                                                          tiny_model_dir):
    import json
    import shutil

    from tiny_models import synthetic_rows, write_csv

    from moderator_app.core.review.retrain import compare_models, prepare_retrain

    original_rows = synthetic_rows(30, seed=41)
    train = write_csv(tmp_path / "train.csv", original_rows)
    validation = write_csv(tmp_path / "val.csv", synthetic_rows(12, seed=42))
    model = shutil.copytree(tiny_classifier_dir, tmp_path / "model")
    (model / "training_config.json").write_text(json.dumps({
        "model_name_or_path": str(tiny_model_dir), "train_file": str(train), "validation_file": str(validation),
        "max_length": 64, "num_epochs": 2}))
    store = DecisionStore(tmp_path / "d.sqlite3")
    relabelled = original_rows[0][0]
    flipped = "not-hate" if original_rows[0][1] == "hate" else "hate"
    store.record(decision(relabelled, flipped, queue="q"))
    new_texts = [f"new text number {n}" for n in range(12)]
    for n, text in enumerate(new_texts):
        store.record(decision(text, "hate" if n % 2 else "not-hate", queue="q"))
    store.record(decision("another queue's text", "hate", queue="other"))

    plan = prepare_retrain(store, model, ["hate", "not-hate"], "q")
    assert plan.config.output_dir.startswith(str(model) + "-retrained-") and not Path(plan.config.output_dir).exists()
    assert plan.config.model_name_or_path == str(tiny_model_dir) and plan.config.num_epochs == 2
    assert plan.config.validation_file == str(validation) and plan.config.train_file == str(plan.train_file)
    held_out = read_csv(plan.held_out_file)[1:]
    trained = read_csv(plan.decisions_file)[1:]
    assert len(held_out) == 2 and len(trained) == 11 and not {tuple(r) for r in held_out} & {tuple(r) for r in trained}
    merged = read_csv(plan.train_file)[1:]
    held_texts = {text for text, _ in held_out}
    assert all(text not in held_texts for text, _ in merged)
    assert "another queue's text" not in {text for text, _ in merged}
    if relabelled not in held_texts:
        assert [relabelled, flipped] in merged and any("take the moderator's label" in line for line in plan.report)
    assert len(merged) == len(original_rows) - sum(t == relabelled for t in held_texts) + sum(
        text in new_texts for text, _ in trained)

    comparisons = compare_models(model, model, str(validation), plan.held_out_file)
    assert [c.rows for c in comparisons] == [12, 2]
    assert comparisons[0].old == comparisons[0].new  # the same model twice: the same numbers


def test_retrain_of_a_model_trained_on_sources_adds_the_decisions_as_one_more_source(tmp_path, tiny_classifier_dir,
                                                                                       tiny_model_dir):
    import json
    import shutil

    from tiny_models import synthetic_rows, write_csv

    from moderator_app.core.review.retrain import prepare_retrain

    first = write_csv(tmp_path / "first.csv", synthetic_rows(20, seed=1))
    second = write_csv(tmp_path / "second.csv", synthetic_rows(20, seed=2))
    sources = [{"path": str(first)}, {"path": str(second), "label_map": {"hate": "hate", "not-hate": "not-hate"}}]
    model = shutil.copytree(tiny_classifier_dir, tmp_path / "model")
    (model / "training_config.json").write_text(json.dumps({
        "model_name_or_path": str(tiny_model_dir), "sources": sources, "max_length": 64}))
    store = DecisionStore(tmp_path / "d.sqlite3")
    for n in range(12):
        store.record(decision(f"decided text {n}", "hate" if n % 2 else "not-hate", queue="q"))
    plan = prepare_retrain(store, model, ["hate", "not-hate"], "q")
    assert plan.config.sources[:2] == sources
    assert plan.config.sources[2] == {"path": str(plan.decisions_file), "text_column": "text", "label_column": "label"}
    assert plan.config.problems() == {}
    assert len(read_csv(plan.decisions_file)) - 1 + len(read_csv(plan.held_out_file)) - 1 == 12
    assert any("one more source" in line for line in plan.report)


def test_retrain_needs_the_models_training_config(tmp_path, tiny_classifier_dir):
    import shutil

    from moderator_app.core.errors import ModelNotUsableError
    from moderator_app.core.review.retrain import prepare_retrain

    model = shutil.copytree(tiny_classifier_dir, tmp_path / "model")
    (model / "training_config.json").unlink()
    with pytest.raises(ModelNotUsableError, match="training_config.json"):
        prepare_retrain(DecisionStore(tmp_path / "d.sqlite3"), model, ["hate", "not-hate"], None)


def test_a_store_that_cannot_be_written_records_nothing_and_says_so(tmp_path):
    from moderator_app.core.review.store import DecisionStoreError, StoreAccess

    access = StoreAccess(tmp_path / "d.sqlite3")
    access.store().connection.execute("PRAGMA query_only = ON")  # every write fails, as on a full or read-only disk
    saved, error = access.record([decision("a", "hate"), decision("b", "hate")])
    assert saved == [] and isinstance(error, DecisionStoreError) and "not stored" in str(error)
    from moderator_app.core.errors import StoreNotWritableError

    with pytest.raises(StoreNotWritableError, match="Cannot create the queue"):
        access.store().queues.create("q", ["a"])
    access.store().connection.execute("PRAGMA query_only = OFF")
    assert access.store().decisions() == []


def test_uncertainty_of_a_multi_class_model_is_the_margin_of_its_two_most_probable_labels():
    session = ReviewSession()
    probabilities = np.array([[0.8, 0.1, 0.1], [0.4, 0.35, 0.25], [0.5, 0.1, 0.4], [0.0, 0.0, 0.0]])
    names = ["a", "b", "c"]

    def decide(probs, threshold):
        labels = [names[int(row.argmax())] if row.any() else "" for row in probs]
        return labels, np.where(probs.any(axis=1), probs.max(axis=1), np.nan)

    session.load(["x", "y", "z", ""], probabilities, names, None, decide)
    session.sort(SORT_UNCERTAINTY)
    assert list(session.order) == [1, 2, 0, 3]  # margins 0.05, 0.1, 0.7; the empty text last


def test_the_review_lookup_takes_the_latest_decision_per_text_and_model(tmp_path, store_location):
    store = DecisionStore(store_location)
    store.record(decision("changed", "hate"))
    store.record(decision("changed", "not-hate"))  # the latest for m1 wins
    store.record(decision("undone", "hate", model="old"))
    store.record(decision("undone", "not-hate", model="older"))  # the latest of the other models
    taken_back = store.record(decision("undone", "hate"))
    store.revert(taken_back.id, "ann")  # undecided for m1 again: its other models' decision shows
    store.record(decision("only before", "hate", model="old"))
    store.record(decision("both", "hate", model="old"))
    store.record(decision("both", "not-hate"))  # decided for m1: not "decided before"
    texts = ["changed", "undone", "only before", "both", "never", "changed"]  # a text twice
    current, earlier = store.lookup_for_review(texts, "m1")
    assert current == {"changed": "not-hate", "both": "not-hate"}
    assert earlier == {"undone": ("not-hate", "/models/older"), "only before": ("hate", "/models/old")}
    assert store.lookup_for_review(["changed"], "m1") == ({"changed": "not-hate"}, {})  # nothing left over
    # the same answers whichever way each half is found: reading the models' decisions (more texts than
    # decisions) or looking each text up (fewer)
    assert store.lookup_for_review(texts + [f"filler {n}" for n in range(20)], "m1") == (current, earlier)
    assert store.lookup_for_review(texts[:4], "m1") == (current, earlier)
    assert store.lookup_for_review(["undone", "only before", "both"], "m1") == (
        {"both": "not-hate"}, {"undone": ("not-hate", "/models/older"), "only before": ("hate", "/models/old")})
    store.revert(store.record(decision("only before", "not-hate", model="older")).id, "bob")
    for asked in (texts, ["only before"]):  # the other models' latest row is an undo: nothing shows as before
        assert "only before" not in store.lookup_for_review(asked, "m1")[1]
    if store.server:
        return  # below: SQLite's plan of its per-text lookup
    plans = [" ".join(row[-1] for row in store._connection.execute(f"EXPLAIN QUERY PLAN SELECT t.text, MAX(e.id) "
                                                                    f"FROM lookup_texts t CROSS JOIN decisions e "
                                                                    f"ON {condition} GROUP BY t.rowid", ("m1",)))
             for condition in ("e.model_id = ? AND e.text = t.text", "e.text = t.text AND e.model_id != ?")]
    assert all("SCAN t" in plan and "SEARCH e USING" in plan and "TEMP B-TREE" not in plan for plan in plans), plans


def test_the_last_undoable_decision_is_the_moderators_own_and_still_current(tmp_path, store_location):
    store = DecisionStore(store_location)
    first = store.record(Decision("a", "hate", 0.9, "hate", "m1", moderator="ann", queue_id=1))
    second = store.record(Decision("b", "hate", 0.8, "not-hate", "m1", moderator="ann", queue_id=1))
    store.record(Decision("c", "hate", 0.7, "hate", "m1", moderator="bob", queue_id=1))  # someone else's
    store.record(Decision("d", "hate", 0.7, "hate", "m2", moderator="ann", queue_id=1))  # another model
    assert store.last_undoable("ann", "m1").id == second.id
    store.revert(second.id, "ann")
    assert store.last_undoable("ann", "m1").id == first.id  # the undone one is no longer current
    assert store.last_undoable("ann", "m1", queue_id=2) is None
    store.record(Decision("a", "hate", 0.9, "not-hate", "m1", moderator="bob", queue_id=1))  # changed since
    assert store.last_undoable("ann", "m1") is None


def test_an_undo_restores_the_model_label_the_earlier_decision_saw(tmp_path, store_location):
    store = DecisionStore(store_location)
    store.record(Decision("a", "not-hate", 0.45, "not-hate", "m1", threshold=0.5))
    later = store.record(Decision("a", "hate", 0.45, "hate", "m1", threshold=0.3))
    reverted = store.revert(later.id, "ann")
    assert (reverted.moderator_label, reverted.model_label, reverted.threshold) == ("not-hate", "not-hate", 0.5)
    assert reverted.accepted


def test_a_version_3_store_gets_the_index_with_the_models_label_and_keeps_its_rows(tmp_path):
    path = tmp_path / "d.sqlite3"
    store = DecisionStore(path)
    store.record(decision("a", "hate"))
    store.connection.execute("DROP INDEX decisions_by_model_labels")  # as version 3 left it
    store.connection.execute("CREATE INDEX decisions_by_model_label ON decisions (model_id, text, id, moderator_label)")
    store.connection.execute("PRAGMA user_version = 3")
    store.close()
    store = DecisionStore(path)
    indexes = {name for name, in store.connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "decisions_by_model_labels" in indexes and "decisions_by_model_label" not in indexes
    assert len(store.decisions()) == 1
    plan = " ".join(row[-1] for row in store.connection.execute(
        "EXPLAIN QUERY PLAN SELECT text, moderator_label, model_label FROM decisions WHERE model_id = ? "
        "ORDER BY text, id", ("m1",)))
    assert "COVERING INDEX decisions_by_model_labels" in plan  # the lookup reads the index alone
