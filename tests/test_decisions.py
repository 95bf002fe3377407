import csv
import sqlite3

import pytest

from moderator_app.core.review.store import Decision, DecisionStore, DecisionStoreError


def test_decisions_survive_reopening_and_a_changed_mind_is_a_new_row(tmp_path):
    store = DecisionStore(tmp_path / "d.sqlite3")
    store.record(Decision("you are vermin", "hate", 0.93, "hate", "model-a"))
    store.record(Decision("nice weather", "hate", 0.61, "not-hate", "model-a"))
    store.record(Decision("nice weather", "hate", 0.61, "hate", "model-a"))  # changed their mind
    store.close()
    reopened = DecisionStore(tmp_path / "d.sqlite3")
    decisions = reopened.decisions()
    assert [(d.text, d.moderator_label) for d in decisions] == [("you are vermin", "hate"),
                                                                ("nice weather", "not-hate"), ("nice weather", "hate")]
    assert decisions[0].accepted and decisions[0].decided_at
    assert reopened.lookup(["nice weather", "unknown"], "model-a") == {"nice weather": "hate"}
    assert reopened.lookup(["nice weather"], "model-b") == {}
    mode = sqlite3.connect(tmp_path / "d.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_export_is_a_training_csv(tmp_path):
    store = DecisionStore(tmp_path / "d.sqlite3")
    store.record(Decision('a "quoted", text\nwith a newline', "hate", 0.9, "not-hate", "m"))
    store.record(Decision("NA", "not-hate", 0.1, "not-hate", "m"))
    assert not (tmp_path / "out.csv").exists()
    assert store.export_training_csv(tmp_path / "out.csv") == 2
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["text", "label"], ['a "quoted", text\nwith a newline', "not-hate"], ["NA", "not-hate"]]
    assert [path.name for path in tmp_path.iterdir() if "partial" in path.name] == []


def test_unwritable_store_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DecisionStoreError, match="Cannot open the decision store"):
        DecisionStore(blocker / "sub" / "d.sqlite3")


def test_default_location_follows_the_environment(tmp_path, monkeypatch):
    from moderator_app.core.review.store import default_store_path

    monkeypatch.setenv("MODERATOR_APP_DATA", str(tmp_path))
    assert default_store_path() == tmp_path / "decisions.sqlite3"
