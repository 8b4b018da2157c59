"""The two database engines of the history behind one small interface: SQLite (a file, the default) and
PostgreSQL (a site's server, through psycopg 3). The SQL is written once with `?` placeholders; the PostgreSQL
connection turns them into psycopg's. Nothing here prints a password: locations are shown through `display`."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import urllib.parse
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hardening.history.errors import HistoryError

Row = tuple[Any, ...]

DEFAULT_LOCATION = "/var/lib/hardening/history.sqlite"


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def display(location: str) -> str:
    """The location as it may be printed: a URL without its password (user, host, port and database stay)."""
    if not is_postgres(location):
        return location
    shown = re.sub(r"^(postgres(?:ql)?://[^:/@?]*):[^/?]*@", r"\1:***@", location)  # up to the last @
    return re.sub(r"([?&]password=)[^&]*", r"\1***", shown, flags=re.IGNORECASE)


class Database:
    """One connection. Transactions are explicit: `begin()` … `commit()`/`rollback()`; anything outside one is a
    single-statement transaction of its own (reads never hold a transaction open)."""

    engine: str
    location: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def bulk_insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert many rows (inside the caller's transaction)."""
        marks = ", ".join("?" for _ in columns)
        self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608

    def script(self, statements: Iterable[str]) -> None:
        for statement in statements:
            self.execute(statement)

    def begin(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")

    def lock_schema(self) -> None:
        """Called first inside the migration transaction: one process migrates at a time."""

    def close(self) -> None:
        raise NotImplementedError


class SQLiteDatabase(Database):
    engine = "sqlite"

    def __init__(self, path: Path) -> None:
        self.location = str(path)
        self._conn = _open_sqlite(path)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.location}: {_sqlite_reason(exc)}") from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.location}: {_sqlite_reason(exc)}") from None

    def begin(self) -> None:
        self.execute("BEGIN IMMEDIATE")  # the write lock now: a second writer waits (timeout) instead of failing late

    def close(self) -> None:
        self._conn.close()


def _sqlite_reason(exc: sqlite3.Error) -> str:
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
        return "not a history database (not an SQLite file)"
    return text


def _open_sqlite(path: Path) -> sqlite3.Connection:
    """Open (or create: 0600, in a 0700 directory when the directory is new too) the SQLite file, in WAL mode."""
    where = str(path)
    if path.is_dir():
        raise HistoryError(f"{where}: is a directory (give the history database file)")
    if not path.exists():
        parent = path.parent
        try:
            if not parent.exists():
                parent.mkdir(mode=0o700, parents=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass  # another process created it in between: open it
        except OSError as exc:
            raise HistoryError(f"{where}: cannot create the history database ({exc.strerror})") from None
    elif not stat.S_ISREG(path.stat().st_mode):
        raise HistoryError(f"{where}: not a regular file")
    try:
        conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL").fetchall()
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        raise HistoryError(f"{where}: cannot open the history database ({_sqlite_reason(exc)})") from None
    return conn


class PostgresDatabase(Database):
    engine = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg

        self.location = display(url)
        self._psycopg = psycopg
        options: dict[str, Any] = {"autocommit": True, "connect_timeout": 30}
        password = os.environ.get("HARDENING_HISTORY_PASSWORD")
        if password:
            options["password"] = password
        try:
            self._conn = psycopg.connect(url, **options)
        except psycopg.Error as exc:
            raise HistoryError(f"{self.location}: cannot connect ({self._reason(exc, url)})") from None

    def _reason(self, exc: Exception, url: str = "") -> str:
        text = " ".join(str(exc).split())
        parts = urllib.parse.urlsplit(url) if url else None
        secrets = [parts.password] if parts else []
        if parts:
            secrets += [v for k, v in urllib.parse.parse_qsl(parts.query) if k.lower() == "password"]
        for value in (*secrets, os.environ.get("HARDENING_HISTORY_PASSWORD")):
            if value:
                text = text.replace(value, "***")
        return text[:400]

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            cursor = self._conn.execute(self._sql(sql), tuple(params))
            return list(cursor.fetchall()) if cursor.description else []
        except self._psycopg.Error as exc:
            raise HistoryError(f"{self.location}: {self._reason(exc)}") from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(self._sql(sql), [tuple(r) for r in rows])
        except self._psycopg.Error as exc:
            raise HistoryError(f"{self.location}: {self._reason(exc)}") from None

    def bulk_insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """COPY … FROM STDIN (binary-safe through psycopg's row writer): far faster than INSERTs."""
        try:
            with self._conn.cursor() as cursor, \
                    cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except self._psycopg.Error as exc:
            raise HistoryError(f"{self.location}: {self._reason(exc)}") from None

    def begin(self) -> None:
        self.execute("BEGIN")

    def lock_schema(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (0x68697374,))  # 'hist': one migrating process at a time

    def close(self) -> None:
        self._conn.close()


def connect(location: str) -> Database:
    """The database of a location: a postgresql:// or postgres:// URL, else an SQLite file path."""
    if is_postgres(location):
        return PostgresDatabase(location)
    if not location.strip():
        raise HistoryError("history location is empty (give a file path or a postgresql:// URL)")
    return SQLiteDatabase(Path(location))
