"""Issue 11's history on the real lab: two audits of a host with one drift fixed and another introduced between
them; `hardening history` and `hardening diff` show exactly one resolved and one new, in SQLite and in a real
PostgreSQL server this test starts and stops (tests/pgserver.py). The host is a clean one (lab.yaml plants nothing
on it); the test's own sshd drop-in is its only change, and it is removed at the end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.lab.labtools import labctl, run_cli
from tests.pgserver import postgres_server

HOST = "jumin-ap01"
# 00-: read first, and sshd keeps the first value of a keyword, so it beats the base's 50-sakado.conf
DROPIN = "/etc/ssh/sshd_config.d/00-history-test.conf"
BEFORE = "Banner none\n"            # drift 1: LOGIN-BANNER fails (fixed between the audits)
AFTER = "PermitRootLogin yes\n"     # drift 2: PRIV-REMOTE-ROOT fails (introduced between the audits)


def _write_dropin(text: str) -> None:
    proc = labctl("exec", HOST, "--", "sh", "-c", f"printf '{text}' > {DROPIN}".replace("\n", "\\n"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture
def dropin(lab: dict[str, Any]) -> Iterator[None]:
    assert lab["spec"]["hosts"].get(HOST, ["absent"]) == [], f"{HOST} must be a clean lab host"
    assert labctl("exec", HOST, "--", "test", "-e", DROPIN).returncode != 0, f"{DROPIN} left over on {HOST}"
    try:
        yield
    finally:
        proc = labctl("exec", HOST, "--", "rm", "-f", DROPIN)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def _drift(location: str) -> dict[str, Any]:
    proc = run_cli("diff", "previous", "latest", "--history", location, "--json")
    assert proc.returncode == 2, proc.stderr  # new drift
    drift: dict[str, Any] = json.loads(proc.stdout)
    return {kind: [(c["host"], c["requirement"], c["before"], c["after"]) for c in drift[kind]]
            for kind in ("new", "resolved", "persisting", "unknown")}


def test_history_shows_the_fixed_and_the_introduced_drift(dropin: None, tmp_path: Path) -> None:
    with postgres_server() as server:
        locations = {"sqlite": str(tmp_path / "history.sqlite"), "postgresql": server.database()}
        for step, text in (("1", BEFORE), ("2", AFTER)):
            _write_dropin(text)
            for engine, location in locations.items():
                out = tmp_path / f"{engine}-{step}"
                proc = run_cli("audit", "-H", HOST, "--out", str(out), "--no-progress", "--history", location)
                assert proc.returncode == 2, proc.stderr  # drift, recorded (a recording failure would be 1)
        for engine, location in locations.items():
            assert _drift(location) == {"new": [(HOST, "PRIV-REMOTE-ROOT", "pass", "fail")],
                                        "resolved": [(HOST, "LOGIN-BANNER", "fail", "pass")],
                                        "persisting": [], "unknown": []}, engine
            text = run_cli("diff", "previous", "latest", "--history", location)
            assert text.returncode == 2, text.stderr
            assert "新規 (new): 1\n" in text.stdout
            assert "解消 (resolved): 1\n" in text.stdout
            assert f"  {HOST}  PRIV-REMOTE-ROOT  " in text.stdout
            assert f"  {HOST}  LOGIN-BANNER  " in text.stdout
            listing = run_cli("history", "--history", location)
            assert listing.returncode == 0, listing.stderr
            lines = listing.stdout.splitlines()
            assert lines[0].startswith("実行履歴 (runs): 2 件"), engine
            assert lines[1].endswith("新規 1 (new)  解消 1 (resolved)"), lines[1]
            assert lines[2].endswith("前回なし (no earlier run of this scope)"), lines[2]
