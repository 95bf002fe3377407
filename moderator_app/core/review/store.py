"""Moderators' decisions, kept as an append-only log, and the review queues they work through: in an
SQLite file (one desktop, the default) or in a PostgreSQL database that a team shares (a
`postgresql://` URL; core.review.server), with the same schema (core.review.tables) and the same code.

Every decision is a new row: who, when, the model's identity (a hash of its weights and labels), the
threshold and probabilities seen, the model's and the moderator's label, a note or policy category
and the queue. A changed mind is a later row and an undo a `revert` row; nothing is ever updated or
deleted, so the log answers an audit or an appeal. The current decision of a text for a model is its
latest row. Decisions are data: they become the next training set (core.review.export). Each
decision is one transaction (in SQLite a WAL-mode database), so a crash loses at most the decision
being made; each carries a uid made by the client, so that a write retried after a lost connection,
which may or may not have reached the server, stores it once."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

# Decision, REVERT, DecisionStoreError and default_store_path are imported from here by the front ends too
from moderator_app.core.review.connection import (DecisionStoreError, default_store_path, is_server_url, now,
                                                  open_connection, store_errors, store_location, transaction,
                                                  write_advice)
from moderator_app.core.review.decision import (COLUMNS, DECISION, REVERT, WRITTEN, Decision, decision_from_row, new_uid,
                                                stored_values, undo_of)
from moderator_app.core.review.export import ExportFilter, export_decisions
from moderator_app.core.review.queues import QueueTable
from moderator_app.core.review.team import hide_blind, is_blind, visible_history


class DecisionStore:
    """The decision store at `path`: an SQLite file, or a `postgresql://` URL (the password from
    PGPASSWORD or ~/.pgpass; `path` then is the URL without any password). With `read_only` (the
    exports) the store is opened for reading only: nothing is written to it, not even a migration (an
    older SQLite store is migrated in memory), so a store on a read-only disk or of another user can
    still be exported."""

    def __init__(self, path: str | Path | None = None, read_only: bool = False):
        self.path = store_location(path)
        self.read_only = read_only
        self.server = is_server_url(path)
        self._connection = open_connection(self.path, read_only, url=str(path) if self.server else None)
        self.queues = QueueTable(self._connection, self.path)

    @property
    def connection(self) -> sqlite3.Connection:
        return self._connection

    # ------------------------------------------------------------------------------ writing
    def record(self, decision: Decision) -> Decision:
        """Append one decision in its own transaction; returns it with its id and time. A decision
        whose uid is in the log already (a retry of a write whose answer was lost) is not written
        again: the stored row is returned."""
        stamped = replace(decision, decided_at=decision.decided_at or now(), id=None, uid=decision.uid or new_uid())
        values = stored_values(stamped)
        try:
            with self._transaction():
                inserted = self._connection.execute(
                    f"INSERT INTO decisions ({', '.join(WRITTEN)}) VALUES ({', '.join('?' * len(WRITTEN))}) "
                    "ON CONFLICT (uid) DO NOTHING RETURNING id", values).fetchone()
                if inserted is None:
                    stored = self._connection.execute(f"SELECT {COLUMNS} FROM decisions WHERE uid = ?",
                                                      (stamped.uid,)).fetchone()
        except store_errors() as error:
            raise DecisionStoreError(f"Cannot save the decision to {self.path}: {error}. The decision was not "
                                     "stored.", write_advice(self.path)) from None
        return replace(stamped, id=inserted[0]) if inserted is not None else decision_from_row(stored)

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
        return self.record(undo_of(reverted, None if before is None else decision_from_row(before), moderator))

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
        if self.server:
            return self._lookup_on_server(texts, model_id, with_model_labels)
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

    def _lookup_on_server(self, texts: list[str], model_id: str, with_model_labels: bool):
        """lookup_for_review on PostgreSQL, in one statement (one snapshot, one round trip): the texts
        asked about go once, as one binary array (core.review.server), and one pass over their rows
        keeps, per text, its latest row for this model and its latest row for any other model
        (DISTINCT ON, the row with the highest id of each (text, this model or not)). The texts are sorted
        bytewise (COLLATE "C": the same groups, without the database's locale rules; on a C.UTF-8
        database the statement took a sixth less time so)."""
        rows = self._connection.execute(
            'SELECT DISTINCT ON (text COLLATE "C", this_model) text, this_model, moderator_label, model_label, '
            "model_name FROM (SELECT text, model_id = ? AS this_model, id, moderator_label, model_label, model_name "
            'FROM decisions WHERE text = ANY(?::text[])) AS asked ORDER BY text COLLATE "C", this_model, id DESC',
            (model_id, list(dict.fromkeys(texts)))).fetchall()
        current = {text: ((label, seen) if with_model_labels else label)
                   for text, this_model, label, seen, _name in rows if this_model and label is not None}
        earlier = {text: (label, name) for text, this_model, label, _seen, name in rows
                   if not this_model and label is not None and text not in current}
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
        return export_decisions(self, destination, ExportFilter(), **options).rows

    def close(self) -> None:
        self._connection.close()

    def _transaction(self):
        return transaction(self._connection)


class StoreAccess:
    """The decision store, opened on first use (so that a store that cannot be opened is reported when
    a decision is made, not when the window opens). Not thread-safe: a front end calls it from one
    thread at a time, in order (the Review tab runs every call on its one store thread)."""

    def __init__(self, path: str | Path | None = None):
        self.server = is_server_url(path)
        self._location = path if self.server else None  # a URL as given (a password in it stays in memory)
        self.path = store_location(path)
        self._store: DecisionStore | None = None

    def store(self) -> DecisionStore:
        if self._store is None:
            self._store = DecisionStore(self._location if self.server else self.path)
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
        if self._store is None and not self.server and not self.path.exists():
            return None
        return self.store().last_undoable(moderator, model_id, queue_id)

    def lookup(self, texts: list[str], model_id: str, moderator: str | None = None, queue_id: int | None = None
               ) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
        """({text: (current label for this model, the model's label it was decided against)},
        {text: (label, model name) decided with another model}); with `moderator`, without the texts of
        the queue's blind double review they have not decided (core.review.double_review)."""
        store = self.store()
        found = store.lookup_for_review(texts, model_id, with_model_labels=True)
        return found if moderator is None else hide_blind(store, queue_id, moderator, *found)

    def history(self, text: str, moderator: str | None = None, queue_id: int | None = None) -> list[Decision]:
        """Every row about `text`; with `moderator`, only their own while they are blind to it."""
        store = self.store()
        return store.history(text) if moderator is None else visible_history(store, text, queue_id, moderator)

    def blind(self, text: str, moderator: str, queue_id: int | None) -> bool:
        """Whether the others' decisions of `text` are hidden from `moderator` (a double review's item)."""
        return is_blind(self.store(), text, queue_id, moderator)

    def export(self, destination: str | Path, **options) -> int:
        return self.store().export_training_csv(destination, **options)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
