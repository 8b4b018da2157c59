"""The simulated YAMAHA RTX routers of the lab audited through the CLI: netmiko's real `yamaha` driver over SSH
(administrator mode with the vault's administrator password), the yamaha_rtx platform's facts of the compliant
rt-rtx-01 and the drifted rt-rtx-02, and the same configured facts from an offline audit of the saved facts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.lab.labtools import reachable, run_cli


def _facts(out: Path, host: str) -> dict[str, Any]:
    found = sorted(out.rglob(f"{host}.json"))
    assert found, f"no facts file for {host} under {out}"
    return json.loads(found[0].read_text(encoding="utf-8"))


def test_audit_of_the_rtx_routers(tmp_path: Path) -> None:
    # Only the two simulated routers are needed (not the `lab` fixture's wait for chrony on the Linux hosts).
    assert reachable("10.203.20.41"), "run `labctl up` (as root) first"
    assert reachable("10.203.20.42"), "run `labctl up` (as root) first"
    out = tmp_path / "audit"
    proc = run_cli("audit", "-H", "rt-rtx-01", "-H", "rt-rtx-02", "--out", str(out), "--no-progress",
                   "--timeout", "60", "--lang", "en")
    assert (out / "report.json").exists(), proc.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    errors = [f for f in report["findings"] if f["status"] == "error" and "collect" in json.dumps(f).lower()]
    assert proc.returncode in (0, 2), proc.stderr
    assert not [e for e in errors if "authentication" in json.dumps(e).lower()], errors

    good = _facts(out, "rt-rtx-01")
    facts = good["facts"]
    assert good["platform"] == "yamaha_rtx"
    assert facts["management"]["privilege_level"] == 15
    assert facts["os"]["family"] == "rtx"
    assert [(a["protocols"], a["sources"]) for a in facts["management"]["access"]] == [(["ssh"], ["10.203.0.0/16"])]
    assert facts["time"]["ntp_servers"] == ["10.203.0.10"]
    assert [t["host"] for t in facts["logging"]["remote_targets"]] == ["10.203.0.11"]
    assert facts["logging"]["running"] is True

    bad = _facts(out, "rt-rtx-02")["facts"]
    assert bad["management"]["privilege_level"] == 15
    assert {p["protocol"] for p in bad["management"]["insecure_protocols"]} >= {"telnet", "snmp_v1_v2c"}
    assert bad["logging"]["remote_targets"] == []
    assert bad["time"]["ntp_servers"] == []
    assert bad["login"]["idle_timeout"]["seconds"] == 0
    assert [p["rule"] for p in bad["network"]["any_any_permits"]] == ["ip filter 200099"]
    text = (out / "report.json").read_text(encoding="utf-8") + json.dumps(bad)
    for secret in ("sakado-lab-rtx-ro", "admin-pass", "rtx-admin", "sakado-rtx"):
        # as a word: FortiOS's remediation text names its option `admin-password`
        assert not re.search(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", text), secret
