"""The decision store shared by a team (PostgreSQL, a real server: tests/postgres_server.py) and the
migrations of every earlier SQLite store: concurrent writers, a writer killed mid-decision, a server
lost mid-session, retried writes stored once, clear lines for a server that cannot be used."""

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import store_schemas
from moderator_app.core.review.schema import HEAD, VERSION
from moderator_app.core.review.store import Decision, DecisionStore, DecisionStoreError, StoreAccess

ROOT = Path(__file__).resolve().parents[1]
WRITER = Path(__file__).with_name("store_writer.py")


def decision(text, label="hate", moderator="ann", **more):
    return Decision(text, "hate", 0.9, label, "m1", moderator=moderator, model_name="/models/m1", **more)


def writer_environment() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


# version 8's columns of `decisions`; the last is also version 9's of `queues` (left out of every table)
CATEGORY_COLUMNS = ("moderator_categories", "model_categories", "category_thresholds")


def table_rows(connection, table: str, leave_out=("uid", *CATEGORY_COLUMNS)) -> list[tuple]:
    columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})") if row[1] not in leave_out]
    order = "id" if "id" in columns else "1, 2"
    return [tuple(row) for row in connection.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")]


# ------------------------------------------------------------------------------ migrations (SQLite)
def build_old_store(path: Path, version: int) -> None:
    """A store as release `version` left it, with decisions (an undo among them), a queue and its scores."""
    old = sqlite3.connect(path)
    old.executescript(getattr(store_schemas, f"VERSION_{version}"))
    if version == 1:
        old.executemany("INSERT INTO decisions (text, model_label, model_score, moderator_label, model_id, decided_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [(f"text {n}", "hate", n / 40, "hate" if n % 3 else "not-hate", f"/models/m{n % 2}",
                          f"2026-11-{1 + n % 28:02d}T10:00:00+00:00") for n in range(40)])
    else:
        old.execute("INSERT INTO queues (name, created_at, columns, source) VALUES ('Monday', '2026-11-01', "
                    "'[\"id\"]', 'comments.csv')")
        old.executemany("INSERT INTO queue_items (queue_id, item, text, extra) VALUES (1, ?, ?, ?)",
                        [(n, f"text {n}", f'["{n}"]') for n in range(30)])
        old.executemany(
            "INSERT INTO decisions (text, model_label, model_score, moderator_label, model_id, decided_at, moderator, "
            "model_name, threshold, probabilities, note, category, queue, queue_id, kind, reverts) "
            "VALUES (?, 'hate', 0.7, ?, 'sha256:m1', ?, ?, '/models/m1', 0.5, '{\"hate\": 0.7}', ?, '', 'Monday', 1, "
            "?, ?)",
            [(f"text {n % 30}", None if n == 39 else ("hate" if n % 2 else "not-hate"),
              f"2026-11-{1 + n % 28:02d}T10:00:00+00:00", "ann" if n % 3 else "bob", f"note {n}",
              "revert" if n == 39 else "decision", 38 if n == 39 else None) for n in range(40)])
        if version >= 3:
            old.execute("INSERT INTO queue_scores VALUES (1, 'sha256:m1', '[\"hate\", \"not-hate\"]', 30, ?)",
                        (bytes(range(240)),))
    old.execute(f"PRAGMA user_version = {version}")
    old.commit()
    old.close()


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_a_store_of_each_earlier_version_migrates_keeping_every_row(tmp_path, version):
    path = tmp_path / f"v{version}.sqlite3"
    build_old_store(path, version)
    before = sqlite3.connect(path)
    tables = ["decisions"] + (["queues", "queue_items"] if version >= 2 else []) + (
        ["queue_scores"] if version >= 3 else [])
    rows = {table: table_rows(before, table) for table in tables}
    before.close()

    exported = DecisionStore(path, read_only=True)  # read-only: migrated in memory, the file left as it is
    assert len(exported.decisions()) == len(rows["decisions"])
    exported.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == version

    store = DecisionStore(path)
    migrated = store.connection
    for table in tables:
        after = table_rows(migrated, table)
        if version == 1 and table == "decisions":  # into the log: the same values, the new columns defaulted
            after = [row[:7] for row in table_rows(migrated, table, leave_out=("uid", "moderator", "model_name",
                                                                               "threshold", "probabilities", "note",
                                                                               "category", "queue", "queue_id",
                                                                               "kind", "reverts", *CATEGORY_COLUMNS))]
            assert [row[1:] for row in after] == [row[1:] for row in rows[table]]
        else:
            assert after == rows[table], table
    assert migrated.execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert migrated.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD
    assert migrated.execute("SELECT COUNT(*) FROM decisions WHERE uid IS NOT NULL").fetchone()[0] == 0
    assert migrated.execute("SELECT COUNT(*) FROM decisions WHERE moderator_categories IS NOT NULL OR "
                            "model_categories IS NOT NULL OR category_thresholds IS NOT NULL").fetchone()[0] == 0
    assert migrated.execute("SELECT COUNT(*) FROM queues WHERE category_thresholds IS NOT NULL").fetchone()[0] == 0
    indexes = {name for name, in migrated.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"decisions_by_uid", "decisions_by_model_labels", "decisions_by_text", "decisions_by_queue"} <= indexes
    fresh = store.record(decision("a new one"))
    assert fresh.uid and store.row(fresh.id).uid == fresh.uid
    store.close()
    assert len(DecisionStore(path).decisions()) == len(rows["decisions"]) + 1  # opened again: not migrated again


# ------------------------------------------------------------------------------ both engines
def test_a_retried_write_is_stored_once(store_location):
    store = DecisionStore(store_location)
    made = decision("retried")
    first = store.record(made)
    again = store.record(made)  # the same decision again, as after an answer lost on the way back
    assert again.id == first.id and again.uid == first.uid
    assert len(store.history("retried")) == 1
    other = store.record(decision("retried"))  # a new decision of the same text is a new row
    assert other.id != first.id and len(store.history("retried")) == 2
    store.close()


# ------------------------------------------------------------------------------ PostgreSQL
def test_postgres_four_writers_of_500_decisions_each_leave_2000_rows_in_their_own_order(postgres_url):
    DecisionStore(postgres_url).close()  # created once; the writers open it as it is
    writers = [subprocess.Popen([sys.executable, str(WRITER), postgres_url, f"writer{w}", "500"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=writer_environment())
               for w in range(4)]
    outputs = [writer.communicate(timeout=600) for writer in writers]
    assert [writer.returncode for writer in writers] == [0] * 4, [error[-2000:] for _out, error in outputs]
    store = DecisionStore(postgres_url)
    rows = store.decisions()
    assert len(rows) == 2000
    for w, (output, _error) in enumerate(outputs):
        mine = [row for row in rows if row.moderator == f"writer{w}"]  # in id (log) order
        assert [row.text for row in mine] == [f"writer{w} {n}" for n in range(500)]
        assert [row.uid for row in mine] == output.split()  # every acknowledged one, once
    assert len({row.uid for row in rows}) == 2000
    store.close()


def test_postgres_a_writer_killed_mid_decision_loses_at_most_that_one(postgres_url):
    DecisionStore(postgres_url).close()
    writer = subprocess.Popen([sys.executable, str(WRITER), postgres_url, "killed", "100000"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=writer_environment())
    acknowledged = [writer.stdout.readline().strip() for _ in range(60)]
    writer.send_signal(signal.SIGKILL)  # wherever it is: between decisions or inside one
    remaining, _ = writer.communicate(timeout=60)
    acknowledged += remaining.split()
    store = DecisionStore(postgres_url)
    stored = [row.uid for row in store.decisions()]
    assert stored[:len(acknowledged)] == acknowledged  # every acknowledged decision, in its order
    assert len(stored) - len(acknowledged) in (0, 1)  # at most the one it was making, never a partial row
    store.close()


def test_postgres_lost_mid_session_says_so_and_the_decision_is_saved_on_retry(postgres_url, postgres_server):
    access = StoreAccess(postgres_url)
    saved, error = access.record([decision("before")])
    assert error is None and len(saved) == 1
    database = postgres_url.rsplit("/", 1)[1]
    with postgres_server.connect() as admin:  # the server goes away for this store: no new connections
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = %s",
                      (database,))  # waits until the backend is gone
    pending = decision("during the outage")
    for _attempt in range(2):  # the dropped connection, then a refused new one
        saved, error = access.record([pending])
        assert saved == [] and isinstance(error, DecisionStoreError)
        message = str(error)
        assert "\n" not in message and "Cannot save the decision to postgresql://" in message
        assert "was not stored" in message and "Check the connection to the database server" in error.hint
        assert postgres_server.password not in message
    with postgres_server.connect() as admin:
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
    saved, error = access.record([pending])  # the moderator saves it again
    assert error is None and saved[0].uid == pending.uid
    assert [row.text for row in access.store().decisions()] == ["before", "during the outage"]
    access.close()


def test_postgres_a_second_instance_sees_the_first_ones_decisions(postgres_url):
    first, second = DecisionStore(postgres_url), DecisionStore(postgres_url)
    queue = first.queues.create("Shared", ["a", "b", "c"])
    assert [q.name for q in second.queues.all()] == ["Shared"]
    first.record(decision("b", queue="Shared", queue_id=queue.id, moderator="ann"))
    assert second.lookup_for_review(second.queues.items(queue.id).texts, "m1")[0] == {"b": "hate"}
    assert second.queues.get(queue.id).progress == "1 of 3 reviewed"
    first.close()
    second.close()


def test_postgres_a_queues_decisions_are_looked_up_in_one_statement_the_texts_sent_once_in_binary(postgres_url):
    """Opening a large queue on a server: one round trip and the texts sent once, as a binary array
    (psycopg's text form quotes each of 20,000 texts in Python: slower than the lookup itself)."""
    from psycopg import pq
    from psycopg.adapt import PyFormat
    from sqlalchemy import event

    store = DecisionStore(postgres_url)
    store.record(decision("a"))
    store.record(Decision("b", "hate", 0.9, "not-hate", "m0", moderator="bob", model_name="/models/m0"))
    sent = []
    event.listen(store.connection.engine, "before_cursor_execute",
                 lambda _connection, _cursor, statement, parameters, _context, _many: sent.append(parameters))
    texts = ["a", "b", "c", "a"] + [f"text {n}, with a comma and a \"quote\"" for n in range(1000)]
    assert store.lookup_for_review(texts, "m1") == ({"a": "hate"}, {"b": ("not-hate", "/models/m0")})
    assert len(sent) == 1, sent  # one statement: no BEGIN, COMMIT or second query
    arrays = [value for value in sent[0] if isinstance(value, list)]
    assert len(arrays) == 1 and len(arrays[0]) == 1003  # each text once
    driver = store.connection._connection().connection.dbapi_connection
    assert driver.adapters.get_dumper(list, PyFormat.AUTO).format == pq.Format.BINARY
    assert store.lookup_for_review([], "m1") == ({}, {})
    store.close()


@pytest.mark.parametrize("fault", ["wrong password", "no password", "missing database", "unreachable"])
def test_postgres_a_store_that_cannot_be_opened_is_one_line_and_exit_2(postgres_server, postgres_url, tmp_path,
                                                                         capsys, monkeypatch, fault):
    from moderator_app.cli import main

    url = postgres_url
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    if fault == "wrong password":
        monkeypatch.setenv("PGPASSWORD", "wrong")
    elif fault == "no password":
        monkeypatch.delenv("PGPASSWORD")
    elif fault == "missing database":
        url = postgres_server.url("no_such_database")
    else:
        with __import__("socket").socket() as probe:  # a loopback port nothing listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        url = f"postgresql://{postgres_server.user}@127.0.0.1:{port}/x"
    assert main(["decisions", "export", "--output", str(tmp_path / "out.csv"), "--store", url]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Cannot open the decision store postgresql://" in error, error
    assert "Traceback" not in error and postgres_server.password not in error
    advice = {"wrong password": "PGPASSWORD", "no password": "PGPASSWORD", "missing database": "Create the database",
              "unreachable": "server is running"}[fault]
    assert advice in error, error
    assert not (tmp_path / "out.csv").exists()


def test_postgres_a_password_in_the_url_is_never_shown_and_a_newer_store_is_refused(postgres_server, postgres_url):
    with_password = postgres_url.replace(f"{postgres_server.user}@",
                                         f"{postgres_server.user}:{postgres_server.password}@")
    store = DecisionStore(with_password)
    assert postgres_server.password not in str(store.path) and str(store.path) == postgres_url
    store.close()
    database = postgres_url.rsplit("/", 1)[1]
    with postgres_server.connect(database) as admin:
        admin.execute("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(DecisionStoreError, match="made by a newer version of moderator-app"):
        DecisionStore(postgres_url)


def test_postgres_exports_and_agreement_from_the_command_line(postgres_url, tmp_path, capsys):
    from moderator_app.cli import main

    store = DecisionStore(postgres_url)
    for text in ("a", "b", "c", "d"):
        store.record(decision(text, "hate", moderator="ann"))
        store.record(decision(text, "hate" if text != "d" else "not-hate", moderator="bob"))
    store.close()
    assert main(["decisions", "conflicts", "--output", str(tmp_path / "c.csv"), "--store", postgres_url]) == 0
    assert "Wrote 1 texts" in capsys.readouterr().out
    assert main(["decisions", "agreement", "--resamples", "0", "--store", postgres_url]) == 0
    assert "4 texts decided by 2 moderators" in capsys.readouterr().out


def test_the_servers_statements_are_sqlites_with_psycopgs_placeholders():
    from moderator_app.core.review.server import translate

    assert translate("SELECT a FROM t WHERE b = ? AND c LIKE 'x%'") == (
        "SELECT a FROM t WHERE b = %s AND c LIKE 'x%%'", None)
    assert translate("SELECT 1 WHERE a < ?1 OR a > ?1 AND b = ?2") == ("SELECT 1 WHERE a < %s OR a > %s AND b = %s",
                                                                       (0, 0, 1))
    assert translate("SELECT 'no parameters, 100%'") == ("SELECT 'no parameters, 100%'", None)
    assert translate("BEGIN IMMEDIATE") == ("BEGIN", None)
