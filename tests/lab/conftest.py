"""Lab fixtures: the demo network must be up (`make lab-up`, which `make test` runs first).

The audit of the whole demo network runs once per session through the real CLI; tests read its
report. Nothing here is a double of the product: real hosts, real SSH, real daemons.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from tests.lab.labtools import ROOT, management_port, reachable, run_cli, run_network_story, wait_synced


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/lab/" in str(item.fspath):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab() -> dict[str, Any]:
    """lab/lab.yaml plus the demo inventory; fails (does not skip) when the lab is down."""
    spec = yaml.safe_load((ROOT / "lab" / "lab.yaml").read_text(encoding="utf-8"))
    hosts = yaml.safe_load((ROOT / "inventory" / "hosts.yaml").read_text(encoding="utf-8"))
    down = [name for name, entry in hosts.items() if not reachable(entry["hostname"], management_port(entry))]
    assert not down, f"lab hosts not reachable: {down} — run `make lab-up` (as root) first"
    # A lab just brought up needs a few seconds until chrony has synchronised the clients.
    wait_synced(list(hosts))
    return {"spec": spec, "hosts": hosts}


@pytest.fixture(scope="session")
def demo_audit(lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One audit of the whole demo network through the CLI: exit code, report, output dir."""
    out = tmp_path_factory.mktemp("demo-audit")
    proc = run_cli("audit", "--out", str(out), "--no-progress", "--timeout", "30")
    assert (out / "report.json").exists(), proc.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "out": out, "report": report}


@pytest.fixture(scope="session")
def network_story(lab: dict[str, Any]) -> dict[str, Any]:
    """One change-control story on the drifted network devices (labtools.run_network_story), run when a test first
    needs it; test_network_change_control and test_network_round_trip assert on its record. The devices are back to
    their planted configurations when it returns."""
    return run_network_story(lab)
