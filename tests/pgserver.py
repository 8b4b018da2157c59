"""A real PostgreSQL server for the tests (Debian's postgresql package): initdb into a temporary directory,
pg_ctl start listening only on a Unix socket in that directory, one fresh database per test, pg_ctl stop -m fast
and the directory removed at the end. It never touches a system cluster. Imported as tests.pgserver; the fixtures
live in tests/integration/conftest.py and in the lab test of the history."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[4]))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install Debian's "
                           "postgresql package (`python lab/labctl.py machine` does, as `make venv`/`make test` do)")
    return Path(found[-1]).parent


class PostgresServer:
    """A running server; `database()` creates an empty database and returns its URL."""

    def __init__(self, directory: Path, user: str) -> None:
        self.directory = directory
        self.socket_dir = directory
        self.user = user
        self._names = itertools.count(1)

    def url(self, database: str) -> str:
        return f"postgresql:///{database}?host={self.socket_dir}&user={self.user}"

    def database(self) -> str:
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a throw-away server (as the `postgres` OS user when running as root: initdb refuses root)."""
    bindir = _bin_dir()
    owner = "postgres" if os.geteuid() == 0 else None
    directory = Path(tempfile.mkdtemp(prefix="hpg-", dir="/tmp"))  # short: a socket path has 107 bytes at most
    data = directory / "data"
    if owner:
        shutil.chown(directory, owner, owner)
    user = "hardening"
    started = False
    try:
        _run(_as_owner([str(bindir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8",
                        "--locale=C.UTF-8", "--no-sync"], owner), "initdb")
        options = f"-c listen_addresses='' -c unix_socket_directories={directory} -c fsync=off"
        _run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"), "-o", options,
                        "-w", "-t", "60", "start"], owner), "pg_ctl start", directory / "server.log")
        started = True
        _wait_ready(bindir, directory, user)
        yield PostgresServer(directory, user)
    finally:
        if started:
            subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], owner),
                           capture_output=True, check=False, timeout=120)
        shutil.rmtree(directory, ignore_errors=True)


def _run(command: list[str], what: str, log: Path | None = None) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, check=False, timeout=180)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise RuntimeError(f"{what} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}\n{tail}")


def _wait_ready(bindir: Path, directory: Path, user: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        proc = subprocess.run([str(bindir / "pg_isready"), "-h", str(directory), "-U", user, "-d", "postgres"],
                              capture_output=True, check=False)
        if proc.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL in {directory} not ready after {timeout:g} s")
        time.sleep(0.2)
