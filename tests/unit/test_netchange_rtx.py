"""Plan and apply of YAMAHA RTX (the flat remediation) through real SSH and netmiko's `yamaha` driver, against the
lab's RTX simulator run on loopback by this test (lab/netsim, not the shared lab): the exact lines, the second plan
empty, and a rejected line ending in the prior configuration proven text-equal.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from hardening.core.connections import ConnectionOptions
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import Remediator, Target, get_platform
from hardening.core.secrets import Credentials, Secret
from hardening.platforms.common.netchange import text_equal

ROOT = Path(__file__).resolve().parents[2]
NAME, USER, PASSWORD, ADMIN = "rt-rtx-02", "admin", "rtx02-login-pw", "rtx02-admin-pw"
COMMUNITY = "sakado-lab-rtx-ro"  # the drifted router's SNMPv2c community (its initial configuration)
PARAMETERS = {"idle_timeout_seconds": 900, "ntp_servers": ["10.203.0.10"], "log_hosts": ["10.203.0.11"],
              "log_retention_days": 90, "log_buffer_min_bytes": 64000}


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[dict[str, Any]]:
    pytest.importorskip("asyncssh")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    spec = {"devices": [{"name": NAME, "personality": "rtx", "address": "127.0.0.1", "port": port, "username": USER,
                         "password": PASSWORD, "enable_secret": ADMIN, "state_dir": str(tmp_path / NAME),
                         "initial_config": str(ROOT / "lab" / "netsim" / "devices" / f"{NAME}.cfg"),
                         "params": {"model": "RTX830", "revision": "15.02.26"}}]}
    (tmp_path / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    process = subprocess.Popen(  # our own simulator, on loopback
        [sys.executable, "-m", "lab.netsim", str(tmp_path / "spec.json"), "--ready", str(tmp_path / "ready"),
         "--log", str(tmp_path / "sim.log")], cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "ready").exists():
            assert process.poll() is None, (tmp_path / "sim.log").read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.05)
        yield {"port": port, "tmp": tmp_path, "state": tmp_path / NAME}
    finally:
        process.terminate()
        process.wait(timeout=10)


def target(sim: dict[str, Any], run: str) -> Target:
    host = Host(name=NAME, hostname="127.0.0.1", port=sim["port"], platform="yamaha_rtx", device_class="router",
                zone="", classification={}, system=SystemInfo("net", "", ()), roles=(), groups=(), credentials="net")
    credentials = Credentials(name="net", username=USER, password=Secret(PASSWORD), enable_secret=Secret(ADMIN))
    options = ConnectionOptions(kind="netmiko", hostname="127.0.0.1", port=sim["port"],
                                extras={"known_hosts": str(sim["tmp"] / "known_hosts"),
                                        "host_key_policy": "accept-new"})
    return Target(host=host, credentials=credentials, timeout=30.0, connections={"netmiko": options},
                  backup_file=sim["tmp"] / run / f"{NAME}.json")


def rtx() -> Any:
    platform = get_platform("yamaha_rtx")
    assert isinstance(platform, Remediator)
    return platform


def running(platform: Any, where: Target) -> str:
    connection = platform.connect(where)
    try:
        return str(platform.run_command(connection, where, platform.running_command))
    finally:
        connection.disconnect()


def test_rtx_plan_apply_and_second_plan_empty(sim: dict[str, Any]) -> None:
    platform, where = rtx(), target(sim, "apply")
    fix = sorted(platform.fixes)
    planned = platform.plan(where, fix, PARAMETERS)
    assert {c.requirement: c.diff.splitlines() for c in planned} == {
        "LOGIN-TIMEOUT": ["login timer 900"],
        "MGMT-SECURE-PROTOCOLS": ["no snmpv2c host any ***", "telnetd service off", "httpd host none"],
        "SVC-MINIMAL": ["telnetd service off"],
        "TIME-SYNC": ["schedule at 50 */* *:00 * ntpdate 10.203.0.10 syslog"],
        "LOG-FORWARD": ["syslog host 10.203.0.11"],
        "LOG-RETENTION": ["syslog info on"],
    }
    result = platform.apply(where, fix, PARAMETERS, planned)
    assert result.failed is None, result.failed
    assert platform.plan(where, fix, PARAMETERS) == []
    facts = platform.collect(where)["facts"]
    assert facts["login"]["idle_timeout"]["seconds"] == 900
    assert facts["management"]["insecure_protocols"] == []
    assert facts["services"]["prohibited_present"] == []
    assert facts["time"]["ntp_servers"] == ["10.203.0.10"]
    assert [t["host"] for t in facts["logging"]["remote_targets"]] == ["10.203.0.11"]
    assert "syslog info on" in (sim["state"] / "startup.cfg").read_text(encoding="utf-8"), "saved (`save`)"
    text = json.dumps([asdict(c) for c in planned]) + json.dumps(asdict(result))
    assert not [s for s in (COMMUNITY, PASSWORD, ADMIN) if s in text]


def test_rtx_rejected_line_is_rolled_back_by_the_reverse_remediation(sim: dict[str, Any]) -> None:
    platform, where = rtx(), target(sim, "reject")
    fix = sorted(platform.fixes)
    planned = platform.plan(where, fix, PARAMETERS)
    before = running(platform, where)
    (sim["state"] / "faults.json").write_text(json.dumps({"reject": ["^syslog host"]}), encoding="utf-8")
    try:
        result = platform.apply(where, fix, PARAMETERS, planned)
    finally:
        (sim["state"] / "faults.json").unlink()
    assert result.failed is not None
    assert result.failed.startswith("the device rejected `syslog host 10.203.0.11`")
    assert result.rolled_back is True, result.rollback_problems
    equal, difference = text_equal(before, running(platform, where), platform.volatile_lines())
    assert equal, difference
    assert COMMUNITY not in json.dumps(asdict(result))
