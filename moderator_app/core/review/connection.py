"""The decision store's connection: where the store lives (an SQLite file, or a `postgresql://` URL of
a shared store, core.review.server), opening it (for writing, or read-only for the exports), one
write transaction, the clock that stamps rows, and why a store cannot be opened. The store, its queues and its exports share this, so none of them imports another to reach it."""

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


def is_server_url(location) -> bool:
    """Whether `location` names a PostgreSQL store (postgresql://…) rather than an SQLite file."""
    return isinstance(location, str) and location.lower().startswith(
        ("postgresql://", "postgres://", "postgresql+psycopg://"))


def store_location(location: str | Path | None) -> str | Path:
    """A store's location as the store keeps and shows it: an SQLite file's Path (the app's default
    when none is given), or a server URL without any password written in it."""
    if is_server_url(location):
        from moderator_app.core.review.server import shown_url

        return shown_url(location)
    return Path(location) if location else default_store_path()


def store_errors() -> tuple[type[BaseException], ...]:
    """What a failed statement raises, on either engine."""
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    server = sys.modules.get("moderator_app.core.review.server")
    return errors + ((server.ServerStoreError,) if server else ())


def write_advice(location) -> str:
    return ("Check the connection to the database server, then save again." if is_server_url(str(location))
            else "Free disk space or check permissions.")


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


def open_connection(path: Path | str, read_only: bool = False, url: str | None = None) -> sqlite3.Connection:
    """The store at `path`, checked and migrated; with `read_only` (the exports) opened for reading
    only: nothing is written to it, not even a migration (an older store is migrated in memory). Raises
    DecisionStoreError saying why it cannot be opened, after removing the empty log and index that
    SQLite left beside a file it could not use. With `url` (a server store) the connection is
    core.review.server's, with the same calls."""
    if url is not None:
        return _open_server(url, path, read_only)
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


def _open_server(url: str, shown: str, read_only: bool):
    from moderator_app.core.review.server import ServerStoreError, open_error_advice, open_server

    where = str(shown).replace("{", "{{").replace("}", "}}")
    try:
        return open_server(url, read_only)
    except ServerStoreError as error:
        reason = error.reason.replace("{", "{{").replace("}", "}}")
        raise DecisionStoreError(f"Cannot open the decision store {where}: {reason}.",
                                 open_error_advice(error.reason)) from None
    except LookupError as missing:
        if str(missing) == "no store":
            raise DecisionStoreError(f"There is no decision store in the database {where} yet.",
                                     "Decisions are saved there once one is made in the Review tab.") from None
        raise DecisionStoreError(f"The decision store {where} is of an older version and is only read here.",
                                 "Open it once in the app (or with a decisions command that writes) to bring it up "
                                 "to date.") from None
    except (NewerStoreError, ForeignDatabaseError) as error:
        raise store_open_error(shown, error, read_only) from None


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


def store_open_error(path: Path | str, error: BaseException, read_only: bool = False) -> DecisionStoreError:
    """Why the store at `path` cannot be opened, in one sentence with what to do."""
    where = str(path).replace("{", "{{").replace("}", "}}")
    if isinstance(error, NewerStoreError):
        return DecisionStoreError(f"The decision store {where} was made by a newer version of moderator-app (store "
                                  f"version {error.version}; this version reads up to {VERSION}).",
                                  "Update moderator-app to open it; it was left as it is.")
    damaged = isinstance(error, ForeignDatabaseError) or getattr(error, "sqlite_errorname", "") in (
        "SQLITE_NOTADB", "SQLITE_CORRUPT")
    if damaged:
        if is_server_url(str(path)):
            return DecisionStoreError(f"The database {where} holds a table 'decisions' that is not a moderator-app "
                                      "store; it was left as it is.", "Give an empty database or the team's store.")
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
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK when the block raised (on a server store: BEGIN)."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def __enter__(self):
        self.connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, traceback):
        self.connection.execute("COMMIT" if kind is None else "ROLLBACK")
        return False
