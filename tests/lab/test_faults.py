"""An unreachable host and a host whose probe hangs are `error`; the others are unaffected; exit 1."""

from __future__ import annotations

import json
import shutil
import time
from typing import Any

import pytest
import yaml
from tests.lab.labtools import ROOT, run_cli

TIMEOUT = 6


@pytest.fixture(scope="module")
def fault_audit(lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    inventory = tmp_path_factory.mktemp("faults") / "inventory"
    shutil.copytree(ROOT / "inventory", inventory)
    hosts = yaml.safe_load((inventory / "hosts.yaml").read_text(encoding="utf-8"))
    extra = lab["spec"]["extra_hosts"]["srv-hang01"]
    hosts["srv-hang01"] = {"hostname": extra["hostname"], "groups": ["kikan", "infra", "servers"],
                           "data": {"roles": ["app_server"]}}
    # 10.203.0.41: inside the lab's own subnet, no host there (the lab never creates it).
    hosts["srv-gone01"] = {"hostname": "10.203.0.41", "groups": ["kikan", "infra", "servers"],
                           "data": {"roles": ["app_server"]}}
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    out = inventory.parent / "out"
    start = time.monotonic()
    proc = run_cli("audit", "--inventory", str(inventory), "--out", str(out), "--no-progress",
                   "--timeout", str(TIMEOUT))
    elapsed = time.monotonic() - start
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {"code": proc.returncode, "report": report, "elapsed": elapsed, "stderr": proc.stderr}


def _host(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(h for h in report["hosts"] if h["name"] == name)


def test_exit_code_is_error(fault_audit: dict[str, Any]) -> None:
    assert fault_audit["code"] == 1, fault_audit["stderr"]
    assert fault_audit["report"]["summary"]["exit_code"] == 1


@pytest.mark.parametrize(("name", "kind"), [("srv-hang01", "DeviceTimeout"), ("srv-gone01", "DeviceUnreachable")])
def test_faulty_host_is_error_never_pass(fault_audit: dict[str, Any], name: str, kind: str) -> None:
    host = _host(fault_audit["report"], name)
    assert host["status"] == "error"
    assert host["error_kind"] == kind
    assert host["facts_file"] is None
    statuses = {f["status"] for f in fault_audit["report"]["findings"] if f["host"] == name}
    assert statuses <= {"error", "not_applicable"}
    assert "error" in statuses


def test_timeout_is_bounded(fault_audit: dict[str, Any]) -> None:
    assert _host(fault_audit["report"], "srv-hang01")["duration_s"] < TIMEOUT + 2
    assert fault_audit["elapsed"] < 60


def test_other_hosts_unaffected(fault_audit: dict[str, Any], demo_audit: dict[str, Any]) -> None:
    def verdicts(report: dict[str, Any]) -> dict[tuple[str, str], str]:
        return {(f["host"], f["requirement"]): f["status"] for f in report["findings"]
                if f["host"] not in ("srv-hang01", "srv-gone01")}

    assert verdicts(fault_audit["report"]) == verdicts(demo_audit["report"])

