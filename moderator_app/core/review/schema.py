"""The decision store's schema versions, and the migrations that bring an older store up to the newest.

The newest schema is core.review.tables (SQLAlchemy Core, one schema for SQLite and PostgreSQL); a new
store of either engine is created from it. Versions 1 to 4 existed only as SQLite files, versioned by
`PRAGMA user_version`, and are brought to version 4 here by hand, as before; from version 4 on the
steps are Alembic revisions (core/review/migrations/versions), which both engines run, and Alembic's
`alembic_version` table records where a store is (an SQLite store keeps `user_version` in step, so
that opening an up-to-date file reads one pragma and imports neither SQLAlchemy nor Alembic).

History. Version 1 (the store until the review-queue work) kept one row per (text, model folder) with
`UNIQUE … ON CONFLICT REPLACE`: a changed decision replaced the earlier one. Version 2 is an
append-only log (a change or an undo is a new row; the current decision of a text is its latest row)
plus persistent review queues. Migrating copies every version-1 row into the log, unchanged, with the
moderator unknown and the model named by the folder path it was keyed by. Version 3 adds
`queue_scores`, the class probabilities a model gave a queue's items, so that reopening a queue does
not classify every item again (a cache: not part of the log), and carries the moderator's label in the
by-model index, so that looking up a queue's decisions reads the index alone. Version 4 carries the
model's label in that index too. Version 5 (Alembic revision 0005) gives each decision a
client-generated `uid`, unique, so that a retried write is stored once: the shared store's writes.
Version 7 (Alembic revision 0007) adds a team's queues: `queue_assignments` and `queue_review` (the
model a queue's table shows, the share drawn for a blind double review); an adjudication is a
decision row of kind 'adjudication'. Version 8 (0008) adds a multi-label model's decision (the sets
of categories, as JSON), version 9 (0009) a queue's per-category thresholds, version 10 (0010) no table
change but an adjudication that may be undone (older apps would read an undone one as in force, so they
must refuse the store). VERSION is the number of
the newest revision (HEAD), so that a revision added before it is one `down_revision` line in the
newest revision file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

VERSION = 10
HEAD = f"{VERSION:04d}"  # the Alembic revision of VERSION
LEGACY_VERSION = 4  # the last version migrated by hand; Alembic's baseline revision
MIGRATIONS = Path(__file__).with_name("migrations")


class NewerStoreError(Exception):
    """The store's schema is newer than this version of the app knows (`version` > VERSION)."""

    def __init__(self, version: int):
        super().__init__(f"store version {version}")
        self.version = version


class ForeignDatabaseError(Exception):
    """An SQLite database with tables of its own and none of ours: someone else's file."""

# Version 4 as the legacy migrations create it (the newest schema is core.review.tables)
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
    """Bring an SQLite store to VERSION in one transaction (a failed migration leaves it as it was)."""
    version = check_version(connection)
    if version == VERSION:
        return
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    # SQLAlchemy on the store's own connection; its transaction is ours (BEGIN IMMEDIATE below), never
    # rolled back behind our back when the SQLAlchemy connection is let go
    engine = create_engine("sqlite://", creator=lambda: connection, poolclass=StaticPool, pool_reset_on_return=None)
    with engine.connect() as bound:
        bound.begin()
        bound.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            if not _has_table(connection, "decisions"):
                create_newest(bound)
            else:
                if version < LEGACY_VERSION:
                    _migrate_legacy(connection)
                if not _has_table(connection, "alembic_version"):
                    stamp(bound, f"{LEGACY_VERSION:04d}")
                upgrade(bound)
            connection.execute(f"PRAGMA user_version = {VERSION}")
            bound.commit()
        except BaseException:
            bound.rollback()
            raise


def _migrate_legacy(connection: sqlite3.Connection) -> None:
    """Versions 1-3 to version 4, inside the caller's transaction."""
    if not _has_column(connection, "decisions", "kind"):
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


# ------------------------------------------------------------------------------ Alembic, both engines
def create_newest(bound) -> None:
    """A new store: the newest tables (core.review.tables), stamped at HEAD."""
    from moderator_app.core.review.tables import metadata

    metadata.create_all(bound)
    stamp(bound, HEAD)


def _script():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config, ScriptDirectory.from_config(config)


def known_revisions() -> set[str]:
    return {script.revision for script in _script()[1].walk_revisions()}


def stamp(bound, revision: str) -> None:
    from alembic.runtime.migration import MigrationContext

    MigrationContext.configure(bound).stamp(_script()[1], revision)


def upgrade(bound) -> None:
    """Alembic's upgrade to HEAD on `bound` (a SQLAlchemy connection already in the caller's transaction)."""
    from alembic.runtime.environment import EnvironmentContext

    from moderator_app.core.review.tables import metadata

    config, script = _script()
    with EnvironmentContext(config, script, fn=lambda revision, _context: script._upgrade_revs(HEAD, revision),
                            destination_rev=HEAD) as environment:
        environment.configure(connection=bound, target_metadata=metadata)
        with environment.begin_transaction():
            environment.run_migrations()


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
