"""The decision store's tables, and the migrations that bring an older store file up to them.

Version 1 (the store until the review-queue work) kept one row per (text, model folder) with
`UNIQUE … ON CONFLICT REPLACE`: a changed decision replaced the earlier one. Version 2 is an
append-only log (a change or an undo is a new row; the current decision of a text is its latest row)
plus persistent review queues. Migrating copies every version-1 row into the log, unchanged, with the
moderator unknown and the model named by the folder path it was keyed by. Version 3 adds
`queue_scores`, the class probabilities a model gave a queue's items, so that reopening a queue does
not classify every item again (a cache: not part of the log), and carries the moderator's label in the
by-model index, so that looking up a queue's decisions reads the index alone. Version 4 carries the
model's label in that index too: a decision's mark (accepted or relabelled) is read from the label
the moderator saw, still from the index alone."""

from __future__ import annotations

import sqlite3

VERSION = 4


class NewerStoreError(Exception):
    """The store's schema is newer than this version of the app knows (`version` > VERSION)."""

    def __init__(self, version: int):
        super().__init__(f"store version {version}")
        self.version = version


class ForeignDatabaseError(Exception):
    """An SQLite database with tables of its own and none of ours: someone else's file."""

TABLES = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    model_label TEXT NOT NULL,
    model_score REAL,
    moderator_label TEXT,              -- NULL: an undo that left the text undecided
    model_id TEXT NOT NULL,            -- the model's identity: a hash of its weights and labels
    decided_at TEXT NOT NULL,
    moderator TEXT NOT NULL DEFAULT '',
    model_name TEXT NOT NULL DEFAULT '',  -- the folder or hub id it was loaded from, for people to read
    threshold REAL,
    probabilities TEXT,                -- JSON {label: probability} as the moderator saw them
    note TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    queue TEXT NOT NULL DEFAULT '',    -- the queue's name when the decision was made
    queue_id INTEGER,                  -- the queue (no foreign key: the log outlives a deleted queue)
    kind TEXT NOT NULL DEFAULT 'decision',  -- 'decision' or 'revert' (an undo)
    reverts INTEGER REFERENCES decisions(id)
);
CREATE INDEX IF NOT EXISTS decisions_by_text ON decisions (text, id);
CREATE INDEX IF NOT EXISTS decisions_by_model_labels ON decisions (model_id, text, id, moderator_label, model_label);
CREATE INDEX IF NOT EXISTS decisions_by_queue ON decisions (queue_id, text, id);
CREATE TABLE IF NOT EXISTS queues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    model_name TEXT NOT NULL DEFAULT '',
    threshold REAL,
    filter TEXT NOT NULL DEFAULT 'all',
    search TEXT NOT NULL DEFAULT '',
    sort_key TEXT,
    descending INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,  -- the item selected last
    columns TEXT NOT NULL DEFAULT '[]',   -- JSON: the imported file's other columns
    shown_columns TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS queue_items (
    queue_id INTEGER NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    item INTEGER NOT NULL,
    text TEXT NOT NULL,
    extra TEXT,                        -- JSON list: the other columns' values, in `columns` order
    PRIMARY KEY (queue_id, item)
);
CREATE TABLE IF NOT EXISTS queue_scores (
    queue_id INTEGER NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    model_identity TEXT NOT NULL,      -- the model's identity (a hash of its weights and labels)
    labels TEXT NOT NULL,              -- JSON list: the model's labels, the columns of `probabilities`
    items INTEGER NOT NULL,            -- how many of the queue's items (in item order) they cover
    probabilities BLOB NOT NULL,       -- float32, items x labels, row-major (NaN rows: empty texts)
    PRIMARY KEY (queue_id, model_identity)
);
"""


def migrate(connection: sqlite3.Connection) -> None:
    """Bring the store to VERSION in one transaction (a failed migration leaves it as it was)."""
    version = check_version(connection)
    if version == VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        if _has_table(connection, "decisions") and not _has_column(connection, "decisions", "kind"):
            connection.execute("ALTER TABLE decisions RENAME TO decisions_v1")
            _create_tables(connection)
            connection.execute(
                "INSERT INTO decisions (text, model_label, model_score, moderator_label, model_id, decided_at, "
                "model_name) SELECT text, model_label, model_score, moderator_label, model_id, decided_at, "
                "model_id FROM decisions_v1 ORDER BY id")
            connection.execute("DROP TABLE decisions_v1")
        else:
            connection.execute("DROP INDEX IF EXISTS decisions_by_model")  # version 2's, without the label
            connection.execute("DROP INDEX IF EXISTS decisions_by_model_label")  # version 3's, without the model's
            _create_tables(connection)
        connection.execute(f"PRAGMA user_version = {VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def check_version(connection: sqlite3.Connection) -> int:
    """The store's schema version; a newer one than ours, or a database that is not a store, raises."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > VERSION:
        raise NewerStoreError(version)
    if version == 0 and not _has_table(connection, "decisions") and connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetchone():
        raise ForeignDatabaseError()
    return version


def _create_tables(connection: sqlite3.Connection) -> None:
    # statement by statement: executescript() would commit the migration's transaction half-way
    for statement in TABLES.split(";"):
        if statement.strip():
            connection.execute(statement)


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    return connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                              (name,)).fetchone() is not None


def _has_column(connection: sqlite3.Connection, table: str, column: str) -> bool:
    return any(row[1] == column for row in connection.execute(f"PRAGMA table_info({table})"))
