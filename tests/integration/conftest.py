"""Fixtures of the integration tests: local servers the tests start and stop themselves (no lab)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.pgserver import PostgresServer, postgres_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session (fails, never skips, when PostgreSQL is not installed)."""
    with postgres_server() as server:
        yield server
