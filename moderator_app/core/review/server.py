"""A decision store on a PostgreSQL server (`postgresql://user@host:port/database`), shared by a team:
the connection, its checks and its migrations. SQLAlchemy makes and remakes the connection (psycopg 3
underneath: libpq reads the password from PGPASSWORD or ~/.pgpass, so it never needs to be in a URL
or the settings); the store's SQL reaches it through ServerConnection, the few calls of Python's
sqlite3 connection that the store, its queues and exports make, so that both engines run the same code
and SQLite keeps its own driver (and its speed). Imported only for a server store: the SQLite path
never loads SQLAlchemy or psycopg."""

from __future__ import annotations

import functools
import re

from moderator_app.core.review.schema import HEAD, ForeignDatabaseError, NewerStoreError

SERVER_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
CONNECT_TIMEOUT_S = 5  # an unreachable server is said in seconds, not after the system's TCP timeout
# one key for every moderator-app store: two instances creating or migrating one database take turns
MIGRATION_LOCK = 0x6D6F6461  # "moda"


def is_server_url(location) -> bool:
    return isinstance(location, str) and location.lower().startswith(SERVER_SCHEMES)


def shown_url(url: str) -> str:
    """The URL as the app shows and saves it: a password, if one was given in it, left out."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)._replace(drivername="postgresql", password=None)
    return parsed.render_as_string(hide_password=False)


def driver_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


class ServerStoreError(Exception):
    """A statement failed on the server; `reason` is the driver's message in one line, `lost` whether
    the connection went away (the next statement connects again)."""

    def __init__(self, reason: str, lost: bool):
        super().__init__(reason)
        self.reason, self.lost = reason, lost


class ServerConnection:
    """The PostgreSQL store's connection with sqlite3's calls (execute/executemany with `?` or `?N`
    parameters, BEGIN/COMMIT/ROLLBACK as statements, outside them each statement its own transaction).
    A connection lost mid-session is dropped; the next statement makes a new one."""

    server = True

    def __init__(self, url: str, read_only: bool = False):
        from sqlalchemy import create_engine, event
        from sqlalchemy.pool import NullPool

        try:
            import psycopg  # noqa: F401 - the driver SQLAlchemy loads; said here, not as an ImportError
        except ImportError:
            raise ServerStoreError("the PostgreSQL driver psycopg is not installed", False) from None
        options = "-c default_transaction_read_only=on" if read_only else ""
        self._engine = create_engine(driver_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT",
                                     connect_args={"connect_timeout": CONNECT_TIMEOUT_S,
                                                   "application_name": "moderator-app", "options": options})
        event.listen(self._engine, "connect", _binary_lists)
        self._bound = None

    @property
    def engine(self):
        return self._engine

    def _connection(self):
        if self._bound is None:
            self._bound = self._engine.connect()
        return self._bound

    def execute(self, sql: str, parameters=()):
        statement, order = translate(sql)
        if statement in ("COMMIT", "ROLLBACK") and self._bound is None:
            if statement == "ROLLBACK":
                return None  # the connection (and its transaction) is gone already
        return self._run(lambda bound: bound.exec_driver_sql(statement, _ordered(parameters, order)))

    def executemany(self, sql: str, rows):
        statement, order = translate(sql)
        rows = [_ordered(row, order) for row in rows]
        if not rows:
            return None
        return self._run(lambda bound: bound.exec_driver_sql(statement, rows))

    def _run(self, call):
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError

        try:
            return call(self._connection())
        except DBAPIError as error:
            lost = bool(error.connection_invalidated) or _is_disconnect(error)
            if lost:
                self._drop()
            raise ServerStoreError(one_line(error.orig if error.orig is not None else error), lost) from None
        except SQLAlchemyError as error:
            raise ServerStoreError(one_line(error), False) from None

    def _drop(self) -> None:
        bound, self._bound = self._bound, None
        if bound is not None:
            try:
                bound.invalidate()
                bound.close()
            except Exception:  # noqa: BLE001 - the connection is gone already
                pass

    def close(self) -> None:
        if self._bound is not None:
            try:
                self._bound.close()
            except Exception:  # noqa: BLE001 - closing a connection the server dropped
                pass
            self._bound = None
        self._engine.dispose()


def _binary_lists(driver_connection, _record) -> None:
    """A list parameter (the texts a queue's decisions are looked up for) goes to the server as one
    binary array: psycopg's text form quotes and escapes each element in Python, which for 20,000 texts
    took longer than the lookup itself."""
    from psycopg.types.array import ListBinaryDumper

    driver_connection.adapters.register_dumper(list, ListBinaryDumper)


def _is_disconnect(error) -> bool:
    import psycopg

    original = getattr(error, "orig", None)
    return isinstance(original, psycopg.OperationalError) and getattr(original, "sqlstate", None) in (
        None, "57P01", "57P02", "57P03", "08000", "08003", "08006")


def _ordered(parameters, order):
    if order is None:
        return tuple(parameters)
    return tuple(parameters[index] for index in order)


@functools.lru_cache(maxsize=256)
def translate(sql: str) -> tuple[str, tuple[int, ...] | None]:
    """sqlite3's SQL as psycopg's: `?` and `?N` parameters as `%s` (with the order to pass the values
    in when numbered), `%` doubled, BEGIN IMMEDIATE as BEGIN (PostgreSQL's rows lock by themselves)."""
    if sql.strip().upper() == "BEGIN IMMEDIATE":
        return "BEGIN", None
    if "?" not in sql:  # run without parameters: psycopg reads no placeholders, so % stays as it is
        return sql, None
    sql = sql.replace("%", "%%")
    order: list[int] = []
    numbered = False
    position = 0

    def parameter(match: re.Match) -> str:
        nonlocal numbered, position
        if match.group(1):
            numbered = True
            order.append(int(match.group(1)) - 1)
        else:
            order.append(position)
        position += 1
        return "%s"

    translated = re.sub(r"\?(\d*)", parameter, sql)
    return translated, (tuple(order) if numbered else None)


def one_line(error) -> str:
    """The driver's message without libpq's prefixes, in one line."""
    text = " ".join(str(error).split())
    text = re.sub(r"^connection failed: ", "", text)
    text = re.sub(r"connection to server at \"[^\"]*\" \(?[^)]*\)?,? ?port \d+ failed: ", "", text)
    text = text.replace("FATAL: ", "").strip()
    return text.rstrip(".")


# ------------------------------------------------------------------------------ opening and migrating
def open_server(url: str, read_only: bool = False) -> ServerConnection:
    """The store in the database at `url`, checked and brought to the newest schema (a new database:
    created; `read_only`: nothing written, an older or missing store refused). Raises ServerStoreError
    (cannot connect), NewerStoreError, ForeignDatabaseError or LookupError (no store, read-only)."""
    connection = ServerConnection(url, read_only)
    try:
        state = _store_state(connection)
        if state != HEAD:
            if read_only:
                raise LookupError("no store" if state is None else "older store")
            _migrate(connection)
    except BaseException:
        connection.close()
        raise
    return connection


def _store_state(connection: ServerConnection) -> str | None:
    """The store's Alembic revision (None: an empty database); a revision newer than ours, or a
    database holding a `decisions` table that is not ours, raises."""
    has_versions, has_decisions = connection.execute(
        "SELECT to_regclass('alembic_version') IS NOT NULL, to_regclass('decisions') IS NOT NULL").fetchone()
    if not has_versions:
        if has_decisions:
            raise ForeignDatabaseError()
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    revision = row[0] if row else None
    if revision is not None and revision != HEAD:
        from moderator_app.core.review.schema import known_revisions

        if revision not in known_revisions():
            raise NewerStoreError(int(revision) if revision.isdigit() else 0)
    return revision


def _migrate(connection: ServerConnection) -> None:
    """Create or upgrade the store in one transaction, one instance at a time (an advisory lock)."""
    from sqlalchemy.exc import DBAPIError

    from moderator_app.core.review.schema import create_newest, upgrade

    try:
        with connection.engine.connect().execution_options(isolation_level="READ COMMITTED") as bound:
            with bound.begin():
                bound.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                state = _store_state(connection)  # again, under the lock: another instance may have done it
                if state is None:
                    create_newest(bound)
                elif state != HEAD:
                    upgrade(bound)
    except DBAPIError as error:
        raise ServerStoreError(one_line(error.orig if error.orig is not None else error), True) from None


def open_error_advice(reason: str) -> str:
    lowered = reason.lower()
    if "psycopg is not installed" in lowered:
        return "Install the team extra: pip install 'moderator-app[team]'."
    if "password" in lowered or "authentication" in lowered:
        return ("Put the password in the PGPASSWORD environment variable or in ~/.pgpass (it is never saved in the "
                "settings), and check the user name in the URL.")
    if "does not exist" in lowered and "database" in lowered:
        return "Create the database (createdb NAME on the server) or correct the database name in the URL."
    if "permission denied" in lowered:
        return "Ask the database's owner to grant this user access to it (or to its schema public)."
    return "Check that the server is running and reachable at the URL's host and port."
