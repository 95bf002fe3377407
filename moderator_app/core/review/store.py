"""Moderators' decisions, kept in SQLite as an append-only log, and the review queues they work through.

Every decision is a new row: who, when, the model's identity (a hash of its weights and labels), the
threshold and probabilities seen, the model's and the moderator's label, a note or policy category
and the queue. A changed mind is a later row and an undo a `revert` row; nothing is ever updated or
deleted, so the log answers an audit or an appeal. The current decision of a text for a model is its
latest row. Decisions are data: they become the next training set (core.review.export). Each
decision is one transaction in a WAL-mode database, so a crash loses at most the decision being made."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from moderator_app.core.errors import StoreNotWritableError
from moderator_app.core.review.schema import VERSION, ForeignDatabaseError, NewerStoreError, check_version, migrate

DECISION, REVERT = "decision", "revert"
COLUMNS = ("text, model_label, model_score, moderator_label, model_id, decided_at, moderator, model_name, threshold, "
           "probabilities, note, category, queue, queue_id, kind, reverts, id")
WRITTEN = COLUMNS.rsplit(", ", 1)[0].split(", ")  # all but id

class DecisionStoreError(StoreNotWritableError):
    """The decision store cannot be opened or written; the message says where and why."""


@dataclass(frozen=True)
class Decision:
    """One row of the decision log. `moderator_label` None: an undo left the text undecided."""

    text: str
    model_label: str
    model_score: float | None
    moderator_label: str | None
    model_id: str  # the model's identity (model_info.model_identity), not its folder
    decided_at: str = ""
    moderator: str = ""
    model_name: str = ""  # where the model was loaded from, for people to read
    threshold: float | None = None
    probabilities: dict[str, float] | None = None
    note: str = ""
    category: str = ""
    queue: str = ""  # the queue's name when decided
    queue_id: int | None = None
    kind: str = DECISION
    reverts: int | None = None  # the row an undo reverts
    id: int | None = None

    @property
    def accepted(self) -> bool:
        return self.model_label == self.moderator_label

    @property
    def decided(self) -> bool:
        return self.moderator_label is not None


def default_store_path() -> Path:
    """decisions.sqlite3 in the user's data folder (XDG on Linux, Application Support on macOS,
    %APPDATA% on Windows); MODERATOR_APP_DATA overrides it."""
    if override := os.environ.get("MODERATOR_APP_DATA"):
        base = Path(override)
    elif sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "moderator-app"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "moderator-app"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "moderator-app"
    return base / "decisions.sqlite3"


class DecisionStore:
    """The decision store at `path`. With `read_only` (the exports) the file is opened for reading
    only: nothing is written to it, not even a migration (an older store is migrated in memory), so a
    store on a read-only disk or of another user can still be exported."""

    def __init__(self, path: str | Path | None = None, read_only: bool = False):
        self.path = Path(path) if path else default_store_path()
        self.read_only = read_only
        companions = [self.path.with_name(self.path.name + suffix) for suffix in ("-wal", "-shm")]
        had_companions = [companion.exists() for companion in companions]
        try:
            if read_only:
                self._connection = _open_read_only(self.path)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # check_same_thread=False: the GUI writes from its own thread; sqlite3 serialises access.
                self._connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                check_version(self._connection)  # before anything is written to it
                self._connection.execute("PRAGMA journal_mode=WAL")
                # FULL: each decision is on disk when record() returns, even after a power cut; decisions
                # come at human speed, so the fsync per commit costs nothing noticeable.
                self._connection.execute("PRAGMA synchronous=FULL")
            # 64 MB of page cache instead of SQLite's 2 MB: opening a 20,000-item queue reads its items and
            # the model's decisions (about 10 MB), which then stay in memory instead of being read again
            self._connection.execute("PRAGMA cache_size=-65536")
            self._connection.execute("PRAGMA foreign_keys=ON")
            migrate(self._connection)
        except (OSError, sqlite3.Error, NewerStoreError, ForeignDatabaseError) as error:
            connection = getattr(self, "_connection", None)
            if connection is not None:
                connection.close()
            wal = companions[0]
            if not any(had_companions) and wal.exists() and wal.stat().st_size == 0:
                for companion in companions:  # SQLite's empty log and index of a file it could not use
                    companion.unlink(missing_ok=True)
            raise store_open_error(self.path, error, read_only) from None
        from moderator_app.core.review.queues import QueueTable

        self.queues = QueueTable(self._connection, self.path)

    @property
    def connection(self) -> sqlite3.Connection:
        return self._connection

    # ------------------------------------------------------------------------------ writing
    def record(self, decision: Decision) -> Decision:
        """Append one decision in its own transaction; returns it with its id and time."""
        stamped = replace(decision, decided_at=decision.decided_at or now(), id=None)
        values = [getattr(stamped, name) for name in WRITTEN]
        values[WRITTEN.index("probabilities")] = (None if stamped.probabilities is None
                                                  else json.dumps(stamped.probabilities))
        try:
            with self._transaction():
                cursor = self._connection.execute(
                    f"INSERT INTO decisions ({', '.join(WRITTEN)}) VALUES ({', '.join('?' * len(WRITTEN))})", values)
        except sqlite3.Error as error:
            raise DecisionStoreError(f"Cannot save the decision to {self.path}: {error}. The decision was not "
                                     "stored.", "Free disk space or check permissions.") from None
        return replace(stamped, id=cursor.lastrowid)

    def revert(self, row_id: int, moderator: str = "") -> Decision:
        """Undo the decision `row_id`: append a `revert` row that restores the label its text had for
        that model before it (None: undecided). The reverted row stays in the log."""
        reverted = self.row(row_id)
        if reverted is None:
            raise DecisionStoreError(f"The decision store {self.path} has no decision {row_id} to undo.",
                                     "Reload the queue; another window may have changed it.")
        before = self._connection.execute(
            f"SELECT {COLUMNS} FROM decisions WHERE text = ? AND model_id = ? AND id < ? ORDER BY id DESC LIMIT 1",
            (reverted.text, reverted.model_id, row_id)).fetchone()
        if before is None:
            restored = replace(reverted, moderator_label=None)
        else:  # the decision before, with the model's label, score and threshold it was made against
            earlier = decision_from_row(before)
            restored = replace(reverted, moderator_label=earlier.moderator_label, model_label=earlier.model_label,
                               model_score=earlier.model_score, threshold=earlier.threshold,
                               probabilities=earlier.probabilities)
        return self.record(replace(restored, moderator=moderator, decided_at="", note="", category="", kind=REVERT,
                                   reverts=row_id))

    def last_undoable(self, moderator: str, model_id: str, queue_id: int | None = None) -> Decision | None:
        """`moderator`'s latest decision for this model (in the queue `queue_id`, when given) that is
        still its text's current one (not changed or undone since): what Undo takes back after a
        restart, one decision at a time."""
        in_queue = "" if queue_id is None else " AND queue_id = ?"
        found = self._connection.execute(
            f"SELECT {COLUMNS} FROM decisions AS d WHERE moderator = ? AND model_id = ? AND kind = ?{in_queue} "
            "AND moderator_label IS NOT NULL AND id = (SELECT MAX(id) FROM decisions AS later "
            "WHERE later.text = d.text AND later.model_id = d.model_id) ORDER BY id DESC LIMIT 1",
            (moderator, model_id, DECISION, *(() if queue_id is None else (queue_id,)))).fetchone()
        return None if found is None else decision_from_row(found)

    # ------------------------------------------------------------------------------ reading
    def row(self, row_id: int) -> Decision | None:
        found = self._connection.execute(f"SELECT {COLUMNS} FROM decisions WHERE id = ?", (row_id,)).fetchone()
        return None if found is None else decision_from_row(found)

    def decisions(self, model_id: str | None = None) -> list[Decision]:
        """The whole log (of one model), oldest first."""
        query = f"SELECT {COLUMNS} FROM decisions"
        rows = (self._connection.execute(query + " WHERE model_id = ? ORDER BY id", (model_id,)) if model_id
                else self._connection.execute(query + " ORDER BY id"))
        return [decision_from_row(row) for row in rows]

    def history(self, text: str) -> list[Decision]:
        """Every row about `text`, for every model, oldest first."""
        return [decision_from_row(row) for row in self._connection.execute(
            f"SELECT {COLUMNS} FROM decisions WHERE text = ? ORDER BY id", (text,))]

    def current(self, texts: list[str], model_id: str) -> dict[str, Decision]:
        """The current decision (latest row) of each of `texts` decided for this model; texts whose
        latest row is an undo back to undecided are left out."""
        found = self._latest(texts, "model_id = ?", (model_id,))
        return {text: decision for text, decision in found.items() if decision.decided}

    def earlier(self, texts: list[str], model_id: str) -> dict[str, Decision]:
        """For texts with no current decision for this model: the latest decision made with another model."""
        decided = self.current(texts, model_id)
        rest = [text for text in texts if text not in decided]
        found = self._latest(rest, "model_id != ? AND moderator_label IS NOT NULL", (model_id,))
        return found

    def lookup(self, texts: list[str], model_id: str) -> dict[str, str]:
        """The moderator's current label for each of `texts` decided for this model."""
        return self.lookup_for_review(texts, model_id)[0]

    def lookup_for_review(self, texts: list[str], model_id: str, with_model_labels: bool = False
                          ) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
        """What a table of `texts` shows: ({text: current label for this model}, {text: (label, model name)}
        of the latest decision made with another model, for texts not decided for this one). With
        `with_model_labels`, the current label is (moderator's label, the model's label the decision was
        made against): whether it accepted or relabelled is read from the log, not recomputed.

        Each half is found the cheaper of two ways, as a query planner would if SQLite could count
        first: when the log holds fewer decisions of those models than there are texts, by reading
        those decisions (index ranges, the latest row per text kept) and keeping the texts asked about; otherwise
        by looking each text up (a temporary table of the texts joined to the index)."""
        connection = self._connection
        wanted = set(texts)
        connection.execute("BEGIN")  # one read snapshot; the temporary table's rows are not committed one by one
        try:
            this_model = connection.execute("SELECT COUNT(*) FROM decisions WHERE model_id = ?",
                                            (model_id,)).fetchone()[0]
            other_models = connection.execute("SELECT COUNT(*) FROM decisions WHERE model_id < ?1 OR model_id > ?1",
                                              (model_id,)).fetchone()[0]
            probe = max(this_model, other_models) > len(wanted)
            if probe:
                self._fill_lookup_texts(list(dict.fromkeys(texts)))
            if this_model <= len(wanted):  # in index order (text, then id): a text's last row, its latest, wins
                latest = {text: (label, seen) for text, label, seen in connection.execute(
                    "SELECT text, moderator_label, model_label FROM decisions WHERE model_id = ? ORDER BY text, id",
                    (model_id,))}
            else:  # CROSS JOIN: walk the texts and probe the index, never scan the whole log; with MAX(id),
                # SQLite takes the other columns from that same (the latest) row
                latest = {text: (label, seen) for text, _latest, label, seen in connection.execute(
                    "SELECT t.text, MAX(e.id), e.moderator_label, e.model_label FROM lookup_texts t CROSS JOIN "
                    "decisions e ON e.model_id = ? AND e.text = t.text GROUP BY t.rowid", (model_id,))}
            current = {text: (labels if with_model_labels else labels[0]) for text, labels in latest.items()
                       if labels[0] is not None and text in wanted}
            earlier: dict[str, tuple[str, str]] = {}
            if other_models:
                if other_models <= len(wanted):  # two index ranges, in id order: the latest row per text wins
                    rows = sorted(connection.execute(
                        "SELECT text, id, moderator_label, model_name FROM decisions WHERE model_id < ?1 UNION ALL "
                        "SELECT text, id, moderator_label, model_name FROM decisions WHERE model_id > ?1",
                        (model_id,)), key=lambda row: row[1])
                    rows = {row[0]: row for row in rows}.values()
                else:
                    rows = connection.execute("SELECT t.text, MAX(e.id), e.moderator_label, e.model_name "
                                              "FROM lookup_texts t CROSS JOIN decisions e ON e.text = t.text "
                                              "AND e.model_id != ? GROUP BY t.rowid",
                                              (model_id,))
                earlier = {text: (label, model) for text, _latest, label, model in rows if label is not None}
            if probe:
                connection.execute("DELETE FROM lookup_texts")
        finally:
            connection.execute("COMMIT")
        earlier = {text: found for text, found in earlier.items() if text in wanted and text not in current}
        return current, earlier

    def _fill_lookup_texts(self, texts: list[str]) -> None:
        """The texts (each once), in rowid order, so that grouping by rowid needs no sort."""
        self._connection.execute("CREATE TEMP TABLE IF NOT EXISTS lookup_texts (text TEXT NOT NULL)")
        self._connection.execute("DELETE FROM lookup_texts")
        self._connection.executemany("INSERT INTO lookup_texts VALUES (?)", ((text,) for text in texts))

    def _latest(self, texts: list[str], condition: str, parameters: tuple) -> dict[str, Decision]:
        found: dict[str, Decision] = {}
        unique = list(dict.fromkeys(texts))
        for start in range(0, len(unique), 500):  # SQLite limits the number of bound parameters
            chunk = unique[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._connection.execute(
                    f"SELECT {COLUMNS} FROM decisions WHERE id IN (SELECT MAX(id) FROM decisions "
                    f"WHERE {condition} AND text IN ({marks}) GROUP BY text)", (*parameters, *chunk)):
                decision = decision_from_row(row)
                found[decision.text] = decision
        return found

    # ------------------------------------------------------------------------------ export
    def export_training_csv(self, destination: str | Path, **options) -> int:
        """The current decisions as a `text,label` training CSV (core.review.export)."""
        from moderator_app.core.review.export import ExportFilter, export_decisions

        return export_decisions(self, destination, ExportFilter(), **options).rows

    def close(self) -> None:
        self._connection.close()

    def _transaction(self):
        return transaction(self._connection)


def _open_read_only(path: Path) -> sqlite3.Connection:
    """`path` opened read-only (SQLite's mode=ro). A WAL store in a folder we cannot write, with no
    shared-memory file left beside it, cannot be opened so; when no write-ahead log is left either
    (every decision is in the file itself) it is read as immutable. An older store is copied into
    memory and migrated there, leaving the file as it is."""
    from urllib.parse import quote

    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    uri = "file:" + quote(str(path.resolve()))
    try:
        connection, version = _connect_checked(uri + "?mode=ro")
    except sqlite3.OperationalError as error:
        if getattr(error, "sqlite_errorname", "") != "SQLITE_CANTOPEN" or path.with_name(path.name + "-wal").exists():
            raise
        connection, version = _connect_checked(uri + "?immutable=1")
    if version < VERSION:
        memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        connection.backup(memory)
        connection.close()
        connection = memory
    return connection


def _connect_checked(uri: str) -> tuple[sqlite3.Connection, int]:
    """A connection to `uri` and the store's version; nothing stays open when it is no usable store."""
    connection = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    try:
        return connection, check_version(connection)
    except BaseException:
        connection.close()
        raise


def store_open_error(path: Path, error: BaseException, read_only: bool = False) -> DecisionStoreError:
    """Why the store at `path` cannot be opened, in one sentence with what to do."""
    where = str(path).replace("{", "{{").replace("}", "}}")
    if isinstance(error, NewerStoreError):
        return DecisionStoreError(f"The decision store {where} was made by a newer version of moderator-app (store "
                                  f"version {error.version}; this version reads up to {VERSION}).",
                                  "Update moderator-app to open it; it was left as it is.")
    damaged = isinstance(error, ForeignDatabaseError) or getattr(error, "sqlite_errorname", "") in (
        "SQLITE_NOTADB", "SQLITE_CORRUPT")
    if damaged:
        return DecisionStoreError(f"{where} is not a moderator-app decision store (or is damaged); it was left as "
                                  "it is.", "Give the app's store, or move this file aside (the app then starts a "
                                  "new, empty store there) and restore the store from a backup if it was one.")
    if isinstance(error, FileNotFoundError) and read_only:
        return DecisionStoreError(f"There is no decision store at {where}.",
                                  "Decisions are saved there once one is made in the Review tab.")
    wal = path.with_name(path.name + "-wal")
    if read_only and getattr(error, "sqlite_errorname", "") == "SQLITE_CANTOPEN" and wal.exists():
        return DecisionStoreError(f"The decision store {where} cannot be read here: its write-ahead log {wal.name} "
                                  "holds decisions not yet in the file, and SQLite cannot create the index it needs "
                                  "to read it in that folder.", "Copy the store with its -wal file to a folder you "
                                  "can write to and export from there, or open the app on it once.")
    reason = (getattr(error, "strerror", None) or str(error)).replace("{", "{{").replace("}", "}}")
    advice = ("Check that the file can be read." if read_only
              else "Check that the folder exists and is writable.")
    return DecisionStoreError(f"Cannot open the decision store {where}: {reason}.", advice)


def decision_from_row(row) -> Decision:
    """A Decision from a `SELECT {COLUMNS}` row."""
    values = dict(zip(COLUMNS.split(", "), row))
    if values["probabilities"] is not None:
        values["probabilities"] = json.loads(values["probabilities"])
    return Decision(**values)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK when the block raised."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def __enter__(self):
        self.connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, traceback):
        self.connection.execute("COMMIT" if kind is None else "ROLLBACK")
        return False


class StoreAccess:
    """The decision store, opened on first use (so that a store that cannot be opened is reported when
    a decision is made, not when the window opens). Not thread-safe: a front end calls it from one
    thread at a time, in order (the Review tab runs every call on its one store thread)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_store_path()
        self._store: DecisionStore | None = None

    def store(self) -> DecisionStore:
        if self._store is None:
            self._store = DecisionStore(self.path)
        return self._store

    def record(self, decisions: list[Decision]) -> tuple[list[Decision], DecisionStoreError | None]:
        """Store each decision in its own transaction. Returns the stored ones and, if one failed,
        the error (those after it are not tried)."""
        saved: list[Decision] = []
        try:
            store = self.store()
            for decision in decisions:
                saved.append(store.record(decision))
        except DecisionStoreError as error:
            return saved, error
        return saved, None

    def revert(self, row_ids: list[int], moderator: str) -> list[Decision]:
        store = self.store()
        return [store.revert(row_id, moderator) for row_id in row_ids]

    def last_undoable(self, moderator: str, model_id: str, queue_id: int | None = None) -> Decision | None:
        """The moderator's last decision for this model (and queue) that Undo can still take back
        (None: none, or no store yet)."""
        if self._store is None and not self.path.exists():
            return None
        return self.store().last_undoable(moderator, model_id, queue_id)

    def lookup(self, texts: list[str], model_id: str) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
        """({text: (current label for this model, the model's label it was decided against)},
        {text: (label, model name) decided with another model})."""
        return self.store().lookup_for_review(texts, model_id, with_model_labels=True)

    def history(self, text: str) -> list[Decision]:
        return self.store().history(text)

    def export(self, destination: str | Path, **options) -> int:
        return self.store().export_training_csv(destination, **options)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
