"""A real, throwaway PostgreSQL server for the tests (a pytest plugin, loaded by conftest.py).

`postgres_server` (one per test session) runs `initdb` into a fresh temporary folder and starts the
cluster with `pg_ctl` on a free loopback port, with password authentication only (scram-sha-256) and
its socket in that folder, and stops it and removes the folder at the end. `postgres_url` gives each
test an empty database of its own on it, as a `postgresql://` URL without the password (the password
is in PGPASSWORD, as a user of the app would have it).

initdb refuses to run as root, and tests and CI run as root: then the server runs as the existing
unprivileged `postgres` user (Debian's postgresql package makes it), through runuser, in a folder
given to that user. Where no server binaries are found (PATH, or Debian's /usr/lib/postgresql/N/bin)
or no unprivileged user can run them, the tests that need the server skip and say why; `.ci/run`
installs the package when it is missing, so that in CI they never skip."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

USER, PASSWORD = "moderator_test", "not-a-secret-test-password"


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    bin: Path
    folder: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=database, autocommit=True)


def server_binaries() -> Path | None:
    """The folder of initdb/pg_ctl/postgres: on PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0)
    return candidates[-1].parent if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *command] if user else command


def start_server(folder: Path, fsync: bool = False) -> PostgresServer:
    """initdb + pg_ctl start in `folder` (empty, and not inside a folder only root can enter); raises
    RuntimeError with initdb's or the server's own words when it cannot. Without `fsync` (the tests)
    a commit is not waited onto disk; benchmarks/store.py turns it on."""
    binaries = server_binaries()
    if binaries is None:
        raise LookupError("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin; "
                          "install Debian's postgresql package")
    run_as = None
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # initdb refuses root: run as the unprivileged postgres user
        import pwd  # POSIX only (a Windows run of the suite still loads this plugin)

        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            raise LookupError("running as root and there is no unprivileged 'postgres' user to run the server as") \
                from None
        if shutil.which("runuser") is None:
            raise LookupError("running as root and runuser (util-linux) is missing")
        run_as = "postgres"
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)
    data, password_file, log = folder / "data", folder / "password", folder / "server.log"
    password_file.write_text(PASSWORD + "\n")
    if run_as:
        os.chown(password_file, entry.pw_uid, entry.pw_gid)
    environment = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
    environment.pop("PGPASSWORD", None)

    def run(*command: str) -> None:
        result = subprocess.run(_as_server_user(list(command), run_as), env=environment, capture_output=True,
                                text=True, cwd=folder)
        if result.returncode != 0:
            words = (result.stderr or result.stdout).strip().splitlines()[-3:]
            tail = log.read_text().strip().splitlines()[-3:] if log.exists() else []
            raise RuntimeError(f"{Path(command[0]).name} failed: {' / '.join(words + tail)}")

    run(str(binaries / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={password_file}",
        "--auth=scram-sha-256", "-E", "UTF8", *(() if fsync else ("--no-sync",)))
    port = _free_port()
    # loopback only, the socket in our own folder (not /var/run/postgresql), no fsync: a throwaway cluster
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync={'on' if fsync else 'off'} -c max_connections=60"
    run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
    return PostgresServer("127.0.0.1", port, USER, PASSWORD, binaries, folder)


def stop_server(server: PostgresServer) -> None:
    run_as = "postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    subprocess.run(_as_server_user([str(server.bin / "pg_ctl"), "-D", str(server.folder / "data"), "-m", "fast",
                                    "-w", "stop"], run_as), capture_output=True, cwd=server.folder)


@pytest.fixture(scope="session")
def postgres_server():
    """The session's PostgreSQL server (skips, with the reason, where none can be started)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("no PostgreSQL driver for these tests: pip install -e '.[team]' (psycopg)")
    folder = Path(tempfile.mkdtemp(prefix="moderator-app-postgres-"))  # not under pytest's root-only tmp
    try:
        server = start_server(folder)
    except LookupError as reason:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"no PostgreSQL server for these tests: {reason}")
    except RuntimeError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        yield server
    finally:
        stop_server(server)
        shutil.rmtree(folder, ignore_errors=True)


_databases = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server, monkeypatch) -> str:
    """An empty database of this test's own on the session's server, as a URL without the password
    (which is in PGPASSWORD for the test and the processes it starts)."""
    name = f"test_{os.getpid()}_{next(_databases)}"
    with postgres_server.connect() as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    yield postgres_server.url(name)
    with postgres_server.connect() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
