"""Network devices (the lab's simulators, real SSH through netmiko): the offline audit of what a live audit
captured gives the live verdicts except where a fact only a running device gives, and no secret of a device
(login password, enable/administrator secret, a password or community in its configuration) reaches any
artifact: report, facts, captures, CSV/HTML/JUnit, plan, its markdown, the ledger, the terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tests.lab.labtools import TEST_STATE, netsim_secrets, run_cli

NETWORK_CLASSES = ("router", "switch", "firewall")


def _devices(lab: dict[str, Any]) -> list[str]:
    return sorted((lab["spec"].get("netsim") or {}).get("devices") or {})


def _class_args() -> list[str]:
    return [arg for c in NETWORK_CLASSES for arg in ("-c", c)]


@pytest.fixture(scope="module")
def offline_from_captures(demo_audit: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("network-offline")
    captures = Path(demo_audit["out"]) / "captures"
    proc = run_cli("audit", "--from", str(captures), *_class_args(), "--out", str(out), "--no-progress",
                   HARDENING_KNOWN_HOSTS="/nonexistent/known_hosts")
    assert (out / "report.json").exists(), proc.stderr
    return {"code": proc.returncode, "stderr": proc.stderr, "stdout": proc.stdout, "out": out,
            "report": json.loads((out / "report.json").read_text(encoding="utf-8"))}


def test_every_device_was_audited_live_with_its_capture_kept(lab: dict[str, Any], demo_audit: dict[str, Any]) -> None:
    hosts = {h["name"]: h for h in demo_audit["report"]["hosts"]}
    for name in _devices(lab):
        assert hosts[name]["status"] in ("pass", "fail"), (name, hosts[name])
        folder = Path(demo_audit["out"]) / "captures" / name
        assert any(folder.glob("*.txt")), f"{folder}: no capture kept"


def test_offline_verdicts_equal_live_except_live_only_facts(lab: dict[str, Any], demo_audit: dict[str, Any],
                                                             offline_from_captures: dict[str, Any]) -> None:
    """The captures hold the live outputs too, so an offline audit of them is the live audit; with the live
    outputs removed (a configuration backup), every difference is a fact only a running device gives."""
    devices = set(_devices(lab))
    live = {(f["host"], f["requirement"]): f for f in demo_audit["report"]["findings"] if f["host"] in devices}
    offline = {(f["host"], f["requirement"]): f for f in offline_from_captures["report"]["findings"]}
    assert set(offline) == set(live)
    assert {k: f["status"] for k, f in offline.items()} == {k: f["status"] for k, f in live.items()}


@pytest.fixture(scope="module")
def backup_only_audit(lab: dict[str, Any], demo_audit: dict[str, Any],
                      tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each device's saved configuration alone (the running-config file of its capture), as a backup is."""
    from hardening.core.platform import platform_class
    from hardening.platforms.common.netcli import capture_file

    folder = tmp_path_factory.mktemp("network-backups")
    platforms = {h["name"]: h["platform"] for h in demo_audit["report"]["hosts"]}
    for name in _devices(lab):
        cls = platform_class(platforms[name])
        running = capture_file(cls.running_command)
        (folder / name).mkdir()
        (folder / name / running).write_bytes((Path(demo_audit["out"]) / "captures" / name / running).read_bytes())
    out = tmp_path_factory.mktemp("network-backup-audit")
    proc = run_cli("audit", "--from", str(folder), *_class_args(), "--out", str(out), "--no-progress")
    assert (out / "report.json").exists(), proc.stderr
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_a_backup_gives_the_live_verdicts_except_live_only_facts(lab: dict[str, Any], demo_audit: dict[str, Any],
                                                                  backup_only_audit: dict[str, Any]) -> None:
    devices = set(_devices(lab))
    live = {(f["host"], f["requirement"]): f for f in demo_audit["report"]["findings"] if f["host"] in devices}
    offline = {(f["host"], f["requirement"]): f for f in backup_only_audit["findings"]}
    assert set(offline) == set(live)
    same = [k for k in live if live[k]["status"] == offline[k]["status"]]
    differ = [k for k in live if live[k]["status"] != offline[k]["status"]]
    assert same, "nothing agrees: the backups were not parsed like the live captures"
    for key in differ:
        finding = offline[key]
        # A live-only fact is never a value from a backup: error or manual, naming the live state it lacks.
        assert finding["status"] in ("error", "manual"), (key, live[key]["status"], finding["status"])
        assert "live" in finding["message"]["en"], (key, finding["message"]["en"])
    for key in same:
        assert offline[key]["status"] != "pass" or live[key]["status"] == "pass"


def test_no_device_secret_in_any_artifact(lab: dict[str, Any], demo_audit: dict[str, Any],
                                          offline_from_captures: dict[str, Any]) -> None:
    secrets = netsim_secrets(lab)
    assert len(secrets) >= len(_devices(lab)), secrets and "the lab planted no secrets?"
    plan = TEST_STATE / "network-plan.json"
    planned = run_cli("plan", *_class_args(), "-o", str(plan), "--no-progress")
    assert planned.returncode in (0, 2), planned.stderr
    shown = run_cli("show", str(plan), "-f", "markdown")
    assert shown.returncode == 0, shown.stderr
    texts: dict[str, str] = {
        "audit stdout": demo_audit["stdout"], "audit stderr": demo_audit["stderr"],
        "offline stdout": offline_from_captures["stdout"], "offline stderr": offline_from_captures["stderr"],
        "plan stdout": planned.stdout, "plan stderr": planned.stderr, "show": shown.stdout + shown.stderr,
    }
    # Not searched: apply's pre-change backups (TEST_STATE/backups/, and netchange/ of test_netchange_lab), mode 0600,
    # which must hold the device's real configuration to restore it exactly; they are no report, plan or log.
    restore_data = (TEST_STATE / "backups", TEST_STATE / "netchange")
    for folder in (Path(demo_audit["out"]), offline_from_captures["out"], TEST_STATE):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if any(path.is_relative_to(d) for d in restore_data):
                assert path.stat().st_mode & 0o077 == 0, f"{path}: a configuration backup readable by others"
                continue
            texts[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    assert any("captures" in name for name in texts)
    leaks = sorted({(name, secret) for name, text in texts.items() for secret in secrets
                    if re.search(rf"(?<![\w$]){re.escape(secret)}(?![\w$])", text)})
    assert leaks == []
