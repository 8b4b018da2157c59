"""Lab fixtures: the demo network must be up (`make lab-up`, which `make test` runs first).

The audit of the whole demo network runs once per session through the real CLI; tests read its
report. Nothing here is a double of the product: real hosts, real SSH, real daemons.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest
import yaml
from tests.lab.labtools import ROOT, expected_failures, reachable, run_cli


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/lab/" in str(item.fspath):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab() -> dict[str, Any]:
    """lab/lab.yaml plus the demo inventory; fails (does not skip) when the lab is down."""
    spec = yaml.safe_load((ROOT / "lab" / "lab.yaml").read_text(encoding="utf-8"))
    hosts = yaml.safe_load((ROOT / "inventory" / "hosts.yaml").read_text(encoding="utf-8"))
    down = [name for name, entry in hosts.items() if not reachable(entry["hostname"])]
    assert not down, f"lab hosts not reachable: {down} — run `make lab-up` (as root) first"
    # A lab just brought up needs a few seconds until chrony has synchronised the clients.
    unsynced = [n for n in hosts if "TIME-SYNC" not in expected_failures(spec).get(n, set())]
    deadline = time.monotonic() + 60
    while unsynced and time.monotonic() < deadline:
        unsynced = [n for n in unsynced if "Leap status     : Normal" not in subprocess.run(
            [sys.executable, str(ROOT / "lab" / "labctl.py"), "exec", n, "--", "chronyc", "-n", "tracking"],
            capture_output=True, text=True, check=False).stdout]
        time.sleep(0.5 if unsynced else 0)
    assert not unsynced, f"chrony did not synchronise within 60 s on {unsynced}"
    return {"spec": spec, "hosts": hosts}


@pytest.fixture(scope="session")
def demo_audit(lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One audit of the whole demo network through the CLI: exit code, report, output dir."""
    out = tmp_path_factory.mktemp("demo-audit")
    proc = run_cli("audit", "--out", str(out), "--no-progress", "--timeout", "30")
    assert (out / "report.json").exists(), proc.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "out": out, "report": report}
