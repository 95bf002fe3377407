"""Moderators' decisions, kept in SQLite: the model's label, the moderator's, and when.

Decisions are data: they become the next training set (`export_training_csv`). Each decision is one
transaction in a WAL-mode database, so a crash loses at most the decision being made."""

from __future__ import annotations

import csv
import os
import sqlite3
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from moderator_app.core.errors import StoreNotWritableError

SCHEMA = """
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


class DecisionStoreError(StoreNotWritableError):
    """The decision store cannot be opened or written; the message says where and why."""


@dataclass(frozen=True)
class Decision:
    text: str
    model_label: str
    model_score: float | None
    moderator_label: str
    model_id: str
    decided_at: str = ""

    @property
    def accepted(self) -> bool:
        return self.model_label == self.moderator_label


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
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_store_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False: the GUI writes from its own thread; sqlite3 serialises access.
            self._connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._connection.execute("PRAGMA journal_mode=WAL")
            # FULL: each decision is on disk when record() returns, even after a power cut; decisions
            # come at human speed, so the fsync per commit costs nothing noticeable.
            self._connection.execute("PRAGMA synchronous=FULL")
            self._connection.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise DecisionStoreError(f"Cannot open the decision store {self.path}: {error}.",
                                     "Check that the folder exists and is writable.") from None

    def record(self, decision: Decision) -> Decision:
        """Store one decision in its own transaction. Deciding the same text again for the same
        model replaces the earlier decision."""
        stamped = Decision(decision.text, decision.model_label, decision.model_score, decision.moderator_label,
                           decision.model_id, decision.decided_at or datetime.now(timezone.utc).isoformat())
        try:
            with self._transaction():
                self._connection.execute(
                    "INSERT INTO decisions (text, model_label, model_score, moderator_label, model_id, decided_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (stamped.text, stamped.model_label, stamped.model_score, stamped.moderator_label,
                     stamped.model_id, stamped.decided_at))
        except sqlite3.Error as error:
            raise DecisionStoreError(f"Cannot save the decision to {self.path}: {error}. The decision was not "
                                     "stored.", "Free disk space or check permissions.") from None
        return stamped

    def decisions(self, model_id: str | None = None) -> list[Decision]:
        query = "SELECT text, model_label, model_score, moderator_label, model_id, decided_at FROM decisions"
        rows = (self._connection.execute(query + " WHERE model_id = ? ORDER BY id", (model_id,)) if model_id
                else self._connection.execute(query + " ORDER BY id"))
        return [Decision(*row) for row in rows]

    def lookup(self, texts: list[str], model_id: str) -> dict[str, str]:
        """The moderator's label for each of `texts` already decided for this model."""
        found: dict[str, str] = {}
        for start in range(0, len(texts), 500):  # SQLite limits the number of bound parameters
            chunk = texts[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for text, label in self._connection.execute(
                    f"SELECT text, moderator_label FROM decisions WHERE model_id = ? AND text IN ({marks})",
                    (model_id, *chunk)):
                found[text] = label
        return found

    def export_training_csv(self, destination: str | Path) -> int:
        """Write `text,label` rows (the moderators' labels) that the Training tab accepts as they are.
        Returns the number of rows. Written to a temporary file first, so a failed export leaves
        no half file behind."""
        destination = Path(destination)
        if destination.resolve() == self.path.resolve():
            raise DecisionStoreError(f"{destination} is the decision store itself.",
                                     "Choose a CSV file to export to.")
        partial = destination.with_name(destination.name + ".partial")
        rows = self._connection.execute("SELECT text, moderator_label FROM decisions ORDER BY id").fetchall()
        try:
            with open(partial, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["text", "label"])
                writer.writerows(rows)
            partial.replace(destination)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise DecisionStoreError(f"Cannot write {destination}: {error.strerror}.",
                                     "Choose a folder you can write to.") from None
        return len(rows)

    def close(self) -> None:
        self._connection.close()

    def _transaction(self):
        connection = self._connection

        class Transaction:
            def __enter__(self):
                connection.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind, value, traceback):
                connection.execute("COMMIT" if kind is None else "ROLLBACK")
                return False

        return Transaction()


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

    def lookup(self, texts: list[str], model_id: str) -> dict[str, str]:
        return self.store().lookup(texts, model_id)

    def export(self, destination: str | Path) -> int:
        return self.store().export_training_csv(destination)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
