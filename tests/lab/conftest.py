"""Lab fixtures: the demo network must be up (`make lab-up`, which `make test` runs first).

The audit of the whole demo network runs once per session through the real CLI; tests read its
report. Nothing here is a double of the product: real hosts, real SSH, real daemons.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LAB_STATE = Path("/var/lib/hardening-lab")
LAB_ENV = {
    "HARDENING_VAULT": str(LAB_STATE / "vault.yml"),
    "HARDENING_VAULT_PASSWORD_FILE": str(LAB_STATE / "vault-pass"),
    "HARDENING_KNOWN_HOSTS": str(LAB_STATE / "known_hosts"),
    "HARDENING_HOST_KEY_POLICY": "accept-new",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/lab/" in str(item.fspath):
            item.add_marker(pytest.mark.lab)


TEST_STATE = Path(tempfile.mkdtemp(prefix="hardening-labtest-"))


def lab_env(**extra: str) -> dict[str, str]:
    """The environment an admin's scheduled job would have, with a ledger of this test session."""
    return {**os.environ, **LAB_ENV, "HARDENING_OPERATOR": "lab-test",
            "HARDENING_LEDGER": str(TEST_STATE / "ledger.jsonl"), **extra}


def run_cli(*args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `hardening …` as an admin would (a separate process, real exit code)."""
    return subprocess.run([sys.executable, "-m", "hardening.cli", *args], capture_output=True, text=True,
                          env=lab_env(**env), timeout=timeout, check=False, cwd=ROOT)


def _reachable(ip: str) -> bool:
    try:
        with socket.create_connection((ip, 22), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def lab() -> dict[str, Any]:
    """lab/lab.yaml plus the demo inventory; fails (does not skip) when the lab is down."""
    spec = yaml.safe_load((ROOT / "lab" / "lab.yaml").read_text(encoding="utf-8"))
    hosts = yaml.safe_load((ROOT / "inventory" / "hosts.yaml").read_text(encoding="utf-8"))
    down = [name for name, entry in hosts.items() if not _reachable(entry["hostname"])]
    assert not down, f"lab hosts not reachable: {down} — run `make lab-up` (as root) first"
    return {"spec": spec, "hosts": hosts}


@pytest.fixture(scope="session")
def demo_audit(lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One audit of the whole demo network through the CLI: exit code, report, output dir."""
    out = tmp_path_factory.mktemp("demo-audit")
    proc = run_cli("audit", "--out", str(out), "--no-progress", "--timeout", "30")
    assert (out / "report.json").exists(), proc.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "out": out, "report": report}


def expected_failures(spec: dict[str, Any]) -> dict[str, set[str]]:
    """host -> requirement ids its planted drifts break (from lab/lab.yaml, the one place)."""
    drifts = spec["drifts"]
    result: dict[str, set[str]] = {}
    for host, drift_ids in (spec.get("hosts") or {}).items():
        result[host] = {req for drift in drift_ids or [] for req in drifts[drift]["requirements"]}
    return result
