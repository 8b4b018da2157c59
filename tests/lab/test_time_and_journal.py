"""systemd-timesyncd and journald hosts on the real lab, and the wait for chrony that `labctl up` does.

What each host is meant to show comes from lab/lab.yaml (the drifts that start `timesyncd` or `journald`),
never from a list of host names here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import time
from typing import Any

import pytest
from tests.lab.labtools import ROOT, expected_failures, labctl

CAP_SYS_TIME = 25


def _labctl_module() -> Any:
    spec = importlib.util.spec_from_file_location("labctl_under_test", ROOT / "lab" / "labctl.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _hosts_starting(spec: dict[str, Any], service: str) -> list[str]:
    return [host for host, drifts in spec["hosts"].items()
            if any(service in (spec["drifts"][d].get("start") or []) for d in drifts or [])]


def _findings(demo_audit: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["host"], f["requirement"]): f for f in demo_audit["report"]["findings"]}


def test_lab_has_both_directions(lab: dict[str, Any]) -> None:
    expected = expected_failures(lab["spec"])
    timesyncd = _hosts_starting(lab["spec"], "timesyncd")
    journald = _hosts_starting(lab["spec"], "journald")
    assert {("TIME-SYNC" in expected[h]) for h in timesyncd} == {True, False}
    assert {("LOG-RETENTION" in expected[h]) for h in journald} == {True, False}


def test_timesyncd_can_never_touch_the_machine_clock(lab: dict[str, Any]) -> None:
    """adjtimex-free evidence: the daemon holds no CAP_SYS_TIME, not even in its bounding set, and the
    kernel refused its clock_adjtime() (EPERM in its own log)."""
    for host in _hosts_starting(lab["spec"], "timesyncd"):
        status = labctl("exec", host, "--", "sh", "-c",
                        "grep -E '^Cap(Prm|Eff|Bnd|Amb):' /proc/$(pgrep -f -x /lib/systemd/systemd-timesyncd)/status")
        caps = dict(line.split(":\t") for line in status.stdout.splitlines())
        assert set(caps) == {"CapPrm", "CapEff", "CapBnd", "CapAmb"}, (host, status.stdout, status.stderr)
        assert all(not int(value, 16) >> CAP_SYS_TIME & 1 for value in caps.values()), (host, caps)
        log = labctl("exec", host, "--", "cat", "/var/log/lab-timesyncd.log").stdout
        assert "Failed to call clock_adjtime(): Operation not permitted" in log, host
        # the sync state the probe reads is the daemon's own (nothing planted): it owns the file
        owner = labctl("exec", host, "--", "stat", "-c", "%U", "/run/systemd/timesync/synchronized").stdout
        assert owner.strip() == "systemd-timesync", host


def test_timesyncd_verdicts(lab: dict[str, Any], demo_audit: dict[str, Any]) -> None:
    findings = _findings(demo_audit)
    expected = expected_failures(lab["spec"])
    for host in _hosts_starting(lab["spec"], "timesyncd"):
        finding = findings[(host, "TIME-SYNC")]
        assert finding["status"] != "error", finding["message"]
        facts = finding["actual"]
        if "TIME-SYNC" in expected[host]:
            assert finding["evaluated_status"] == "fail"
            [violation] = finding["violations"]
            assert violation["pointer"].startswith("/time/ntp_servers/")
            assert violation["actual"] not in facts["/time/ntp_servers"][:1]
            assert len(facts["/time/ntp_servers"]) > 1  # NTP= of a later drop-in adds, it does not replace
        else:
            assert finding["status"] == "pass"
            assert facts["/time/synchronized"] is True
        # the offset is measured (no D-Bus in the lab), and says so
        assert any(e["source"].startswith("probe:sntp") for e in finding["evidence"]), finding["evidence"]


def test_journald_verdicts(lab: dict[str, Any], demo_audit: dict[str, Any]) -> None:
    findings = _findings(demo_audit)
    expected = expected_failures(lab["spec"])
    for host in _hosts_starting(lab["spec"], "journald"):
        finding = findings[(host, "LOG-RETENTION")]
        facts = finding["actual"]
        assert facts["/logging/retention_days"] < 90  # the files alone would fail everywhere here
        assert facts["/logging/journal/running"] is True
        if "LOG-RETENTION" in expected[host]:
            assert finding["evaluated_status"] == "fail"
            pointers = {v["pointer"] for v in finding["violations"]}
            assert {"/logging/retention_days", "/logging/journal/persistent"} <= pointers
        else:
            assert finding["status"] == "pass"
            assert facts["/logging/journal/persistent"] is True
            assert facts["/logging/journal/max_retention_days"] == 365


def test_wait_sync_targets_come_from_lab_yaml(lab: dict[str, Any]) -> None:
    """labctl waits for exactly the chrony hosts no drift unsynchronises, and they are synchronised."""
    labctl_mod = _labctl_module()
    specs = labctl_mod.build_specs(lab["spec"], labctl_mod.DEFAULT_INVENTORY)[0]
    targets = {s.name for s in labctl_mod.sync_targets(lab["spec"], specs)}
    expected = expected_failures(lab["spec"])
    assert targets
    for s in specs:
        if "chronyd" in s.services:
            assert (s.name in targets) == ("TIME-SYNC" not in expected.get(s.name, set())), s.name
        else:
            assert s.name not in targets
    proc = labctl("wait-sync", "--timeout", "30")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"chrony synchronised on {len(targets)} host(s)" in proc.stdout + proc.stderr


def test_wait_sync_gives_up_with_a_clear_message(lab: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """A host that cannot synchronise (ntp-wrong-server), waited for as if it should: bounded, and said."""
    labctl_mod = _labctl_module()
    specs = labctl_mod.build_specs(lab["spec"], labctl_mod.DEFAULT_INVENTORY)[0]
    expected = expected_failures(lab["spec"])
    unsynced = [s for s in specs if "chronyd" in s.services and "TIME-SYNC" in expected.get(s.name, set())]
    assert unsynced
    pretend = dataclasses.replace(unsynced[0], drifts=[])  # as if nothing unsynchronised it on purpose
    started = time.monotonic()
    assert labctl_mod.report_time_sync(lab["spec"], [pretend], 2.0) is False
    assert time.monotonic() - started < 10
    out = capsys.readouterr()
    assert f"chrony still not synchronised after 2s on {pretend.name}" in out.out + out.err
