"""The history's tests (tests/unit/history/test_history_store.py) against a real PostgreSQL server that the
session starts and stops (tests/pgserver.py): the same test functions, each with a fresh database; the SQLite-only
ones (file modes, bad file paths) are left out. Plus the COPY path with many hosts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.pgserver import PostgresServer, postgres_server
from tests.unit.history import test_history_store as base

from hardening.history import open_history

for _name in dir(base):
    if _name.startswith("test_") and not _name.startswith("test_sqlite_"):
        globals()[_name] = getattr(base, _name)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for this module (fails, never skips, when PostgreSQL is not installed)."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def location(postgres: PostgresServer) -> str:
    return postgres.database()


def test_the_server_is_postgresql(location: str) -> None:
    with open_history(location) as history:
        assert history.engine == "postgresql"
        assert history._db.execute("SELECT current_setting('server_version_num')")[0][0].isdigit()


def test_many_hosts_go_through_copy(location: str) -> None:
    rows: dict[tuple[str, str], str] = {(f"host{i:04}", f"R{j}"): ("fail" if (i * j) % 7 == 0 else "pass")
                                        for i in range(1200) for j in range(1, 11)}
    report: dict[str, Any] = base.make_report(1, "2026-11-01T12:00:00+00:00", rows)
    with open_history(location) as history:
        history.record(report)
        assert history.report(base.run_id(1)) == report
        [run] = history.runs()
    assert run["hosts"] == 1200
    assert run["findings"]["fail"] == sum(1 for s in rows.values() if s == "fail")
