"""The history's schema version and its migrations: `migrations/NNNN_name.sql`, applied in order, each in one
transaction with its row in `schema_version`. A database written by a newer hardening (a version this code does
not know) is refused, never written to."""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources

from hardening.history.backends import Database
from hardening.history.errors import HistoryError

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, list[str]]]:
    """(version, file name, statements) of every migration shipped, in order; the versions run 1, 2, 3 …"""
    found = []
    for item in resources.files("hardening.history.migrations").iterdir():
        match = _NAME.match(item.name)
        if match:
            found.append((int(match.group(1)), item.name, _statements(item.read_text(encoding="utf-8"))))
    found.sort()
    if [v for v, _, _ in found] != list(range(1, len(found) + 1)):
        raise HistoryError(f"history migrations are not numbered 1..n: {[name for _, name, _ in found]}")
    return found


def _statements(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def latest_version() -> int:
    return len(migrations())


def current_version(db: Database) -> int:
    rows = db.execute("SELECT MAX(version) FROM schema_version")
    return int(rows[0][0] or 0)


def migrate(db: Database) -> int:
    """Bring the database to the code's schema; returns its version. Raises HistoryError when the database is
    newer than this code, or a migration fails (that migration is rolled back)."""
    known = migrations()
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
               "applied_at TEXT NOT NULL)")
    version = current_version(db)
    if version > len(known):
        raise HistoryError(f"{db.location}: the history's schema is version {version}, newer than this hardening "
                           f"knows ({len(known)}): upgrade hardening to use it (nothing was changed)")
    if version == len(known):
        return version
    db.begin()
    try:
        db.lock_schema()
        version = current_version(db)  # another process may have migrated while this one waited
        for number, name, statements in known[version:]:
            db.script(statements)
            db.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                       (number, name, dt.datetime.now(dt.UTC).isoformat()))
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return len(known)
