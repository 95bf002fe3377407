import csv
import sqlite3

import pytest

from moderator_app.core.review.schema import VERSION
from moderator_app.core.review.store import Decision, DecisionStore, DecisionStoreError


def test_decisions_survive_reopening_and_a_changed_mind_is_a_new_row(tmp_path, store_location):
    store = DecisionStore(store_location)
    store.record(Decision("you are vermin", "hate", 0.93, "hate", "model-a"))
    store.record(Decision("nice weather", "hate", 0.61, "not-hate", "model-a"))
    store.record(Decision("nice weather", "hate", 0.61, "hate", "model-a"))  # changed their mind
    store.close()
    reopened = DecisionStore(store_location)
    decisions = reopened.decisions()
    assert [(d.text, d.moderator_label) for d in decisions] == [("you are vermin", "hate"),
                                                                ("nice weather", "not-hate"), ("nice weather", "hate")]
    assert decisions[0].accepted and decisions[0].decided_at
    assert reopened.lookup(["nice weather", "unknown"], "model-a") == {"nice weather": "hate"}
    assert reopened.lookup(["nice weather"], "model-b") == {}
    if not reopened.server:
        assert sqlite3.connect(store_location).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_export_is_a_training_csv(tmp_path, store_location):
    store = DecisionStore(store_location)
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


# ------------------------------------------------------------------------ stores that cannot be used
def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def export_command(store, output):
    from moderator_app.cli import main

    return main(["decisions", "export", "--store", str(store), "--output", str(output)])


def test_a_store_of_a_newer_version_is_refused_by_name_and_left_as_it_is(tmp_path, capsys):
    path = tmp_path / "d.sqlite3"
    store = DecisionStore(path)
    store.record(Decision("text", "hate", 0.9, "hate", "m"))
    store.close()
    newer = sqlite3.connect(path)
    newer.execute("ALTER TABLE decisions RENAME COLUMN moderator TO reviewer")  # what a later version might do
    newer.execute(f"PRAGMA user_version = {VERSION + 1}")
    newer.commit()
    newer.close()
    before = path.read_bytes()
    with pytest.raises(DecisionStoreError, match="made by a newer version of moderator-app"):
        DecisionStore(path)
    assert export_command(path, tmp_path / "out.csv") == 2
    line = one_error_line(capsys)
    assert f"{path} was made by a newer version of moderator-app (store version {VERSION + 1}" in line
    assert "no such column" not in line
    assert path.read_bytes() == before and not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "someone else's database"])
def test_a_file_that_is_no_store_is_named_without_sqlites_words(tmp_path, capsys, damage):
    import os

    path = tmp_path / "d.sqlite3"
    if damage == "garbage":
        path.write_bytes(os.urandom(8192))
    elif damage == "truncated":
        store = DecisionStore(path)
        store.record(Decision("text " * 2000, "hate", 0.9, "hate", "m"))
        store.close()
        path.write_bytes(path.read_bytes()[:6000])
    else:
        other = sqlite3.connect(path)
        other.execute("CREATE TABLE contacts (name TEXT)")
        other.commit()
        other.close()
    before = path.read_bytes()
    with pytest.raises(DecisionStoreError, match=r"is not a moderator-app decision store \(or is damaged\)") as raised:
        DecisionStore(path)
    assert "writable" not in str(raised.value) and "file is not a database" not in str(raised.value)
    assert export_command(path, tmp_path / "out.csv") == 2
    line = one_error_line(capsys)
    assert f"{path} is not a moderator-app decision store (or is damaged)" in line and "malformed" not in line
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["d.sqlite3"]


def test_exports_only_read_the_store(tmp_path, capsys):
    """An export opens the store read-only: an older store is migrated in memory, the file stays as it was."""
    from moderator_app.cli import main
    from test_review_log import VERSION_1_SCHEMA

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(VERSION_1_SCHEMA)
    old.execute("INSERT INTO decisions (text, model_label, model_score, moderator_label, model_id, decided_at) "
                "VALUES ('vermin', 'hate', 0.9, 'hate', '/models/m', '2026-11-01T10:00:00+00:00')")
    old.commit()
    old.close()
    before = path.read_bytes()
    assert export_command(path, tmp_path / "out.csv") == 0
    assert main(["decisions", "conflicts", "--store", str(path), "--output", str(tmp_path / "c.csv")]) == 0
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [["text", "label"], ["vermin", "hate"]]
    assert path.read_bytes() == before  # not migrated, not switched to WAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "old.sqlite3", "out.csv"]
    assert export_command(tmp_path / "none.sqlite3", tmp_path / "x.csv") == 2
    assert "There is no decision store at" in capsys.readouterr().err


def test_a_read_only_store_in_a_read_only_folder_exports(tmp_path):
    import os
    import stat

    folder = tmp_path / "shared"
    folder.mkdir()
    store = DecisionStore(folder / "d.sqlite3")
    store.record(Decision("vermin", "hate", 0.9, "hate", "m"))
    store.close()  # the last connection removes the -wal and -shm files
    (folder / "d.sqlite3").chmod(stat.S_IRUSR)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user whom permissions do not stop (root)")
        assert export_command(folder / "d.sqlite3", tmp_path / "out.csv") == 0
        assert (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines() == ["text,label", "vermin,hate"]
    finally:
        folder.chmod(stat.S_IRWXU)
