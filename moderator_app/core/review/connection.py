"""The decision store's SQLite connection: where the store lives, opening it (for writing, or
read-only for the exports), one write transaction, the clock that stamps rows, and why a store cannot
be opened. The store, its queues and its exports share this, so none of them imports another to reach it."""

from __future__ import annotations

import os
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from moderator_app.core.errors import StoreNotWritableError
from moderator_app.core.review.schema import VERSION, ForeignDatabaseError, NewerStoreError, check_version, migrate


class DecisionStoreError(StoreNotWritableError):
    """The decision store cannot be opened or written; the message says where and why."""


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


def open_connection(path: Path, read_only: bool = False) -> sqlite3.Connection:
    """The store at `path`, checked and migrated; with `read_only` (the exports) opened for reading
    only: nothing is written to it, not even a migration (an older store is migrated in memory). Raises
    DecisionStoreError saying why it cannot be opened, after removing the empty log and index that
    SQLite left beside a file it could not use."""
    companions = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    had_companions = [companion.exists() for companion in companions]
    connection = None
    try:
        if read_only:
            connection = open_read_only(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False: the GUI writes from its own thread; sqlite3 serialises access.
            connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            check_version(connection)  # before anything is written to it
            connection.execute("PRAGMA journal_mode=WAL")
            # FULL: each decision is on disk when record() returns, even after a power cut; decisions
            # come at human speed, so the fsync per commit costs nothing noticeable.
            connection.execute("PRAGMA synchronous=FULL")
        # 64 MB of page cache instead of SQLite's 2 MB: opening a 20,000-item queue reads its items and
        # the model's decisions (about 10 MB), which then stay in memory instead of being read again
        connection.execute("PRAGMA cache_size=-65536")
        connection.execute("PRAGMA foreign_keys=ON")
        migrate(connection)
    except (OSError, sqlite3.Error, NewerStoreError, ForeignDatabaseError) as error:
        if connection is not None:
            connection.close()
        wal = companions[0]
        if not any(had_companions) and wal.exists() and wal.stat().st_size == 0:
            for companion in companions:  # SQLite's empty log and index of a file it could not use
                companion.unlink(missing_ok=True)
        raise store_open_error(path, error, read_only) from None
    return connection


def open_read_only(path: Path) -> sqlite3.Connection:
    """`path` opened read-only (SQLite's mode=ro). A WAL store in a folder we cannot write, with no
    shared-memory file left beside it, cannot be opened so; when no write-ahead log is left either
    (every decision is in the file itself) it is read as immutable. An older store is copied into
    memory and migrated there, leaving the file as it is."""
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    uri = "file:" + quote(str(path.resolve()))
    try:
        connection, version = connect_checked(uri + "?mode=ro")
    except sqlite3.OperationalError as error:
        if getattr(error, "sqlite_errorname", "") != "SQLITE_CANTOPEN" or path.with_name(path.name + "-wal").exists():
            raise
        connection, version = connect_checked(uri + "?immutable=1")
    if version < VERSION:
        memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        connection.backup(memory)
        connection.close()
        connection = memory
    return connection


def connect_checked(uri: str) -> tuple[sqlite3.Connection, int]:
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
