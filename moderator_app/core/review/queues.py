"""Review queues, kept in the decision store: a named set of items (pasted or imported, with the
imported file's other columns), the model and threshold they were reviewed with (a multi-label model's
per-category thresholds, store version 9), the filter and sort in use and the position, so that a
moderator reopens the app where they left off.

Deleting a queue removes its items and state, never a decision: the log outlives the queue."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from moderator_app.core.errors import StoreNotWritableError
from moderator_app.core.review.connection import now, store_errors, transaction, write_advice
from moderator_app.core.review.double_review import blind_texts

STATE_FIELDS = ("model_name", "threshold", "filter", "search", "sort_key", "descending", "position",
                "shown_columns", "category_thresholds")


@dataclass
class QueueState:
    """What a moderator was looking at: saved as they work, restored when the queue opens."""

    model_name: str = ""
    threshold: float | None = None
    filter: str = "all"
    search: str = ""
    sort_key: str | None = None
    descending: bool = False
    position: int = 0  # the item selected last
    shown_columns: list[str] = field(default_factory=list)
    # the identity of the model whose decisions the table shows (kept in queue_review; None: not known)
    model_identity: str | None = None
    # a multi-label model's thresholds in use, {category: threshold} (None: a single-label model, or a
    # queue saved before store version 9)
    category_thresholds: dict[str, float] | None = None

    def thresholds_for(self, model_thresholds: dict[str, float]) -> tuple[dict[str, float], list[str]]:
        """The thresholds the queue flags a multi-label model's categories at (`model_thresholds`, the
        model's own): the saved one of each category the queue has, the model's for the others; and the
        saved categories the model does not have, which are not restored."""
        saved = self.category_thresholds or {}
        restored = {name: float(saved.get(name, own)) for name, own in model_thresholds.items()}
        return restored, [name for name in saved if name not in model_thresholds]


@dataclass
class Queue:
    id: int
    name: str
    created_at: str
    state: QueueState
    columns: list[str]  # the imported file's other columns
    source: str = ""
    items: int = 0
    # items the table shows decided: whose current decision for the queue's model is a label, less
    # those a moderator is blind to (a double review's items they have not decided); None: not counted
    reviewed: int | None = 0
    assigned: list[str] = field(default_factory=list)  # the moderators the queue is assigned to

    @property
    def progress(self) -> str:
        if self.reviewed is None:
            return f"{self.items:,} items"
        return f"{self.reviewed:,} of {self.items:,} reviewed"


@dataclass
class QueueItems:
    texts: list[str]
    extras: Sequence[list[str]]  # per item, the values of `columns`
    columns: list[str]


class JsonRows(Sequence):
    """Per item, the values of the other columns, each parsed from the store's JSON when first read:
    opening a 20,000-item queue does not parse the rows nobody scrolls to."""

    def __init__(self, raw: list[str]):
        self._raw = raw
        self._parsed: dict[int, list[str]] = {}

    def __len__(self) -> int:
        return len(self._raw)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(len(self._raw)))]
        if index < 0:
            index += len(self._raw)
        row = self._parsed.get(index)
        if row is None:
            row = self._parsed[index] = json.loads(self._raw[index])
        return row

    def __iter__(self) -> Iterator[list[str]]:
        return (self[index] for index in range(len(self._raw)))


class QueueError(StoreNotWritableError):
    """A queue cannot be created, changed or found."""


class QueueTable:
    def __init__(self, connection: sqlite3.Connection, path: Path):
        self._connection = connection
        self.path = path

    def create(self, name: str, texts: Sequence[str], columns: Sequence[str] = (),
               extras: Sequence[Sequence[str]] | None = None, source: str = "",
               state: QueueState | None = None) -> Queue:
        name = self.free_name(name)
        state = state or QueueState()
        with self._writing("create the queue"), transaction(self._connection):
            queue_id = self._connection.execute(
                "INSERT INTO queues (name, created_at, columns, source) VALUES (?, ?, ?, ?) RETURNING id",
                (name, now(), json.dumps(list(columns)), source)).fetchone()[0]
            self._insert_items(queue_id, 0, texts, extras)
            self._write_state(queue_id, state)
        return self.get(queue_id)

    def add_items(self, queue_id: int, texts: Sequence[str], extras: Sequence[Sequence[str]] | None = None) -> Queue:
        """Append items to a queue (an import into a queue that holds work, when the moderator chose to add)."""
        with self._writing("add to the queue"), transaction(self._connection):
            start = self._connection.execute("SELECT COALESCE(MAX(item) + 1, 0) FROM queue_items WHERE queue_id = ?",
                                             (queue_id,)).fetchone()[0]
            self._insert_items(queue_id, start, texts, extras)
        return self.get(queue_id)

    def _insert_items(self, queue_id: int, start: int, texts: Sequence[str], extras) -> None:
        self._connection.executemany(
            "INSERT INTO queue_items (queue_id, item, text, extra) VALUES (?, ?, ?, ?)",
            ((queue_id, start + index, text, None if extras is None else json.dumps(list(extras[index])))
             for index, text in enumerate(texts)))

    def save_state(self, queue_id: int, state: QueueState) -> None:
        with self._writing("save the queue's position"), transaction(self._connection):
            self._write_state(queue_id, state)

    def _write_state(self, queue_id: int, state: QueueState) -> None:
        values = [getattr(state, name) for name in STATE_FIELDS]
        values[STATE_FIELDS.index("shown_columns")] = json.dumps(state.shown_columns)
        values[STATE_FIELDS.index("descending")] = int(state.descending)
        if state.category_thresholds is not None:
            values[STATE_FIELDS.index("category_thresholds")] = json.dumps(state.category_thresholds)
        assignments = ", ".join(f"{name} = ?" for name in STATE_FIELDS)
        self._connection.execute(f"UPDATE queues SET {assignments} WHERE id = ?", (*values, queue_id))
        if state.model_identity:
            self._connection.execute(
                "INSERT INTO queue_review (queue_id, model_identity) VALUES (?, ?) ON CONFLICT (queue_id) "
                "DO UPDATE SET model_identity = excluded.model_identity", (queue_id, state.model_identity))

    def rename(self, queue_id: int, name: str) -> Queue:
        name = name.strip()
        if not name:
            raise QueueError("A queue needs a name.", "Type a name for the queue.")
        if self.find(name) not in (None, queue_id):
            raise QueueError(f"There is already a queue called '{name}'.", "Choose another name.")
        with self._writing("rename the queue"), transaction(self._connection):
            self._connection.execute("UPDATE queues SET name = ? WHERE id = ?", (name, queue_id))
        return self.get(queue_id)

    def delete(self, queue_id: int) -> None:
        """The queue and its items; its decisions stay in the log."""
        with self._writing("delete the queue"), transaction(self._connection):
            self._connection.execute("DELETE FROM queue_scores WHERE queue_id = ?", (queue_id,))
            self._connection.execute("DELETE FROM queue_items WHERE queue_id = ?", (queue_id,))
            self._connection.execute("DELETE FROM queues WHERE id = ?", (queue_id,))

    # ------------------------------------------------------------------------------ saved scores
    def save_scores(self, queue_id: int, model_identity: str, labels: Sequence[str], probabilities) -> None:
        """Keep the class probabilities a model gave the queue's first len(probabilities) items, so that
        reopening the queue with that model shows them at once instead of classifying every item again.
        A cache, not the log: a later classification by the same model replaces it."""
        values = np.ascontiguousarray(probabilities, dtype=np.float32)
        with self._writing("keep the queue's scores"), transaction(self._connection):
            self._connection.execute(
                "INSERT INTO queue_scores (queue_id, model_identity, labels, items, probabilities) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (queue_id, model_identity) DO UPDATE SET labels = excluded.labels, "
                "items = excluded.items, probabilities = excluded.probabilities", (queue_id, model_identity, json.dumps(list(labels)), len(values),
                                           values.tobytes()))

    def scores(self, queue_id: int, model_identity: str, labels: Sequence[str], items: int) -> np.ndarray | None:
        """The saved probabilities of this model (same identity and labels) for all `items` of the queue,
        or None when it has not classified them all (items were added since, or never)."""
        row = self._connection.execute(
            "SELECT labels, items, probabilities FROM queue_scores WHERE queue_id = ? AND model_identity = ?",
            (queue_id, model_identity)).fetchone()
        if row is None or json.loads(row[0]) != list(labels) or row[1] != items:
            return None
        values = np.frombuffer(row[2], dtype=np.float32)
        if values.size != items * len(labels):
            return None
        return values.reshape(items, len(labels)).copy()

    # ------------------------------------------------------------------------------ reading
    def find(self, name: str) -> int | None:
        row = self._connection.execute("SELECT id FROM queues WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    def free_name(self, name: str) -> str:
        name = name.strip() or "Queue"
        candidate, number = name, 2
        while self.find(candidate) is not None:
            candidate, number = f"{name} ({number})", number + 1
        return candidate

    def all(self, moderator: str | None = None) -> list[Queue]:
        """Every queue, the most recently created first, with its progress (as `moderator` sees it)."""
        ids = [row[0] for row in self._connection.execute("SELECT id FROM queues ORDER BY id DESC")]
        return [self.get(queue_id, moderator=moderator) for queue_id in ids]

    def get(self, queue_id: int, progress: bool = True, moderator: str | None = None) -> Queue:
        """A queue with its state; `progress` False leaves `reviewed` uncounted (opening a queue counts
        its decisions in the table instead: one pass over its items less). `moderator`: whose table the
        count is of (blind items they have not decided are not counted as reviewed)."""
        row = self._connection.execute(
            f"SELECT id, name, created_at, columns, source, {', '.join(STATE_FIELDS)} FROM queues WHERE id = ?",
            (queue_id,)).fetchone()
        if row is None:
            raise QueueError(f"The decision store {self.path} has no queue {queue_id}.",
                             "It may have been deleted in another window; choose another queue.")
        state = QueueState(**dict(zip(STATE_FIELDS, row[5:])))
        state.descending = bool(state.descending)
        state.shown_columns = json.loads(state.shown_columns or "[]")
        if state.category_thresholds is not None:
            state.category_thresholds = json.loads(state.category_thresholds)
        state.model_identity = self.model_identity(queue_id)
        items = self._connection.execute("SELECT COUNT(*) FROM queue_items WHERE queue_id = ?",
                                         (queue_id,)).fetchone()[0]
        return Queue(row[0], row[1], row[2], state, json.loads(row[3] or "[]"), row[4], items,
                     self.reviewed(queue_id, moderator, state.model_identity) if progress else None,
                     self.assigned(queue_id))

    def model_identity(self, queue_id: int) -> str | None:
        found = self._connection.execute("SELECT model_identity FROM queue_review WHERE queue_id = ?",
                                         (queue_id,)).fetchone()
        return None if found is None else found[0]

    def assigned(self, queue_id: int) -> list[str]:
        return [name for name, in self._connection.execute(
            "SELECT moderator FROM queue_assignments WHERE queue_id = ? ORDER BY moderator", (queue_id,))]

    def reviewed(self, queue_id: int, moderator: str | None = None, model_identity: str | None = None) -> int:
        """What the queue's table shows decided: items whose current decision (latest row) for the
        queue's model is a label, whichever queue it was made in, as the table looks decisions up; less,
        for `moderator`, the double review's items they are blind to. A queue whose model is not known
        (shown last before store version 7) counts its items whose latest decision made in it is a label."""
        if model_identity is None:
            latest = ("SELECT q.text, d.moderator_label FROM queue_items q JOIN decisions d ON d.id = ("
                      "SELECT MAX(id) FROM decisions WHERE queue_id = ? AND text = q.text) WHERE q.queue_id = ?")
            parameters: tuple = (queue_id, queue_id)
        else:
            latest = ("SELECT q.text, d.moderator_label FROM queue_items q JOIN decisions d ON d.id = ("
                      "SELECT MAX(id) FROM decisions WHERE model_id = ? AND text = q.text) WHERE q.queue_id = ?")
            parameters = (model_identity, queue_id)
        decided = [text for text, label in self._connection.execute(latest, parameters) if label is not None]
        blind = blind_texts(self._connection, queue_id, moderator, decided) if moderator is not None and decided else ()
        return sum(1 for text in decided if text not in blind)  # items, as the table counts them

    def items(self, queue_id: int) -> QueueItems:
        row = self._connection.execute("SELECT columns FROM queues WHERE id = ?", (queue_id,)).fetchone()
        if row is None:
            raise QueueError(f"The decision store {self.path} has no queue {queue_id}.",
                             "It may have been deleted in another window; choose another queue.")
        columns = json.loads(row[0] or "[]")
        # the other columns as one string, split in C: JSON escapes every control character, so the
        # record separator (char 30) cannot occur inside a row
        default = json.dumps([""] * len(columns))
        if getattr(self._connection, "server", False):
            # one statement, two values: the texts as one JSON array (parsed in C) instead of 20,000 rows
            # through the driver and SQLAlchemy, which took longer than the server to read them
            texts_json, extras = self._connection.execute(
                "SELECT json_agg(text ORDER BY item)::text, string_agg(COALESCE(extra, ?), chr(30) ORDER BY item) "
                "FROM queue_items WHERE queue_id = ?", (default, queue_id)).fetchone()
            texts = json.loads(texts_json) if texts_json else []
        else:
            texts = [text for text, in self._connection.execute(
                "SELECT text FROM queue_items WHERE queue_id = ? ORDER BY item", (queue_id,))]
            extras = self._connection.execute(
                "SELECT group_concat(COALESCE(extra, ?), char(30)) FROM "
                "(SELECT extra FROM queue_items WHERE queue_id = ? ORDER BY item)", (default, queue_id)).fetchone()[0]
        return QueueItems(texts, JsonRows(extras.split("\x1e") if texts else []), columns)

    def _writing(self, what: str):
        path = self.path

        class Writing:
            def __enter__(self):
                return self

            def __exit__(self, kind, value, traceback):
                if kind is not None and issubclass(kind, store_errors()):
                    raise QueueError(f"Cannot {what} in {path}: {value}.",
                                     write_advice(path)) from None
                return False

        return Writing()
