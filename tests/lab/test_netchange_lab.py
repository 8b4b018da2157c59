"""Plan and apply of a drifted simulated IOS router (lab/netsim rt-ios-02) through real SSH and netmiko's real
`cisco_ios` driver: the exact lines, an apply that makes the facts comply and leaves nothing to plan, and the
faults (a rejected line, a session dropped mid-apply) that end in the device's prior configuration, proven
text-equal.

The catalog does not mark these requirements `fix: automated` for routers yet (the catalog's part), so
`hardening plan` cannot be used here: the platform's Remediator is called as core's plan and apply call it.
The device is reset to its planted configuration at the end (`labctl reset rt-ios-02`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from tests.lab.labtools import LAB_STATE, TEST_STATE, labctl, netsim_devices

from hardening.core.connections import ConnectionOptions
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import Remediator, Target, get_platform
from hardening.core.secrets import Credentials, Secret
from hardening.platforms.common.netchange import text_equal

DEVICE = "rt-ios-02"
FIX = ["LOG-FORWARD", "LOG-RETENTION", "LOG-TIMESTAMPS", "LOGIN-BANNER", "LOGIN-LOCKOUT", "LOGIN-TIMEOUT",
       "MGMT-SECURE-PROTOCOLS", "PW-LEN", "SVC-MINIMAL", "TIME-SYNC"]
PARAMETERS = {"idle_timeout_seconds": 900, "ntp_servers": ["10.203.0.10"], "log_hosts": ["10.203.0.11"],
              "min_length": 8, "lockout_threshold": 5, "lockout_duration_seconds": 900, "log_retention_days": 90,
              "log_buffer_min_bytes": 64000}


def reset() -> None:
    """The device back to its planted configuration. labctl restarts the simulator process for it; a start slower
    than labctl's wait (a loaded machine) is retried once."""
    proc = labctl("reset", DEVICE)
    if proc.returncode != 0 and "simulator not answering" in proc.stdout:
        proc = labctl("up")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def device(lab: dict[str, Any]) -> Iterator[dict[str, Any]]:
    found = netsim_devices(lab["spec"], lab["hosts"])[DEVICE]
    reset()   # start from the planted configuration whatever ran before
    yield found
    (found["state"] / "faults.json").unlink(missing_ok=True)
    reset()


def target(device: dict[str, Any], run: str) -> Target:
    credentials = device["credentials"]
    host = Host(name=DEVICE, hostname=device["ip"], port=22, platform="cisco_ios", device_class="router",
                zone="lgwan", classification={}, system=SystemInfo("情報基盤", "", ()), roles=("network_device",),
                groups=(), credentials=DEVICE)
    secrets = Credentials(name=DEVICE, username=credentials["username"], password=Secret(credentials["password"]),
                          enable_secret=Secret(credentials["enable_secret"]))
    options = ConnectionOptions(kind="netmiko", hostname=device["ip"], port=22,
                                extras={"known_hosts": str(LAB_STATE / "ssh" / "known_hosts"),
                                        "host_key_policy": "strict", "read_timeout": 20})
    return Target(host=host, credentials=secrets, timeout=60.0, connections={"netmiko": options},
                  backup_file=TEST_STATE / "netchange" / run / f"{DEVICE}.json")


def faults(device: dict[str, Any], **settings: Any) -> None:
    (device["state"] / "faults.json").write_text(json.dumps(settings), encoding="utf-8")


def ios() -> Any:
    platform = get_platform("cisco_ios")
    assert isinstance(platform, Remediator)
    return platform


def running(device: dict[str, Any], run: str) -> str:
    platform, where = ios(), target(device, run)
    connection = platform.connect(where)
    try:
        return str(platform.run_command(connection, where, "show running-config"))
    finally:
        connection.disconnect()


def assert_no_secret(device: dict[str, Any], *objects: Any) -> None:
    text = json.dumps([asdict(o) if hasattr(o, "__dataclass_fields__") else o for o in objects], default=str)
    secrets = [device["credentials"][k] for k in ("password", "enable_secret")]
    secrets += re.findall(r"\$9\$\S+", Path(device["state"] / "running.cfg").read_text(encoding="utf-8"))
    assert not [s for s in secrets if s in text]


def test_plan_shows_the_exact_lines_of_the_drifted_router(device: dict[str, Any]) -> None:
    planned = ios().plan(target(device, "plan"), FIX, PARAMETERS)
    by_id = {c.requirement: c.diff.splitlines() for c in planned}
    # rt-ios-02's planted drifts: telnet on vty 0 4 with exec-timeout 0 0, no login banner, no NTP server, no
    # log host, service pad on by default (lab/lab.yaml); its stricter settings (min-length 12, block-for) stay
    assert by_id["LOGIN-TIMEOUT"] == ["line vty 0 4", "  exec-timeout 15 0", "  exit"]
    assert by_id["MGMT-SECURE-PROTOCOLS"] == ["line vty 0 4", "  transport input ssh", "  exit"]
    assert by_id["TIME-SYNC"] == ["ntp server 10.203.0.10"]
    assert by_id["LOG-FORWARD"] == ["logging host 10.203.0.11"]
    assert "no service pad" in by_id["SVC-MINIMAL"]
    assert by_id["LOGIN-BANNER"][0] == "banner login ^C"
    assert "PW-LEN" not in by_id
    assert "LOGIN-LOCKOUT" not in by_id
    assert not [x for x in (line for lines in by_id.values() for line in lines)
                if re.match(r"\s*no (exec-timeout|transport input|banner)", x)]
    assert_no_secret(device, *planned)


@pytest.mark.parametrize(("fault", "expected"), [
    ({"reject": [r"^logging host 10\.203\.0\.11"]}, "rejected `logging host 10.203.0.11`"),
    ({"drop_after_config_lines": 3}, "session"),
])
def test_a_fault_mid_apply_ends_in_the_exact_prior_configuration(device: dict[str, Any], fault: dict[str, Any],
                                                                 expected: str) -> None:
    platform = ios()
    run = "fault-" + "-".join(fault)
    where = target(device, run)
    planned = platform.plan(where, FIX, PARAMETERS)
    before = running(device, run)
    faults(device, **fault)
    try:
        result = platform.apply(where, FIX, PARAMETERS, planned)
    finally:
        (device["state"] / "faults.json").unlink(missing_ok=True)
    assert result.failed is not None, "the fault made the apply fail"
    assert expected in result.failed
    assert result.rolled_back is True, result.rollback_problems
    after = running(device, run)
    equal, difference = text_equal(before, after, platform.volatile_lines())
    assert equal, difference
    assert after != before or "Last configuration change" not in before  # a real change and its undo happened
    backup = json.loads(Path(str(where.backup_file)).read_text(encoding="utf-8"))
    assert backup["running"] == before
    assert_no_secret(device, result)


def test_apply_fixes_the_router_and_the_second_plan_is_empty(device: dict[str, Any]) -> None:
    platform, where = ios(), target(device, "apply")
    planned = platform.plan(where, FIX, PARAMETERS)
    result = platform.apply(where, FIX, PARAMETERS, planned)
    assert result.failed is None, result.failed
    assert {c.key() for c in result.applied} == {c.key() for c in planned}
    assert platform.plan(where, FIX, PARAMETERS) == []
    # the facts a new audit reads now comply (the verdict comes from collect, never from apply's word)
    facts = platform.collect(where)["facts"]
    assert facts["management"]["insecure_protocols"] == []
    assert facts["services"]["prohibited_present"] == []
    assert 0 < facts["login"]["idle_timeout"]["seconds"] <= 900
    assert facts["time"]["ntp_servers"] == ["10.203.0.10"]
    assert "10.203.0.11" in [t["host"] for t in facts["logging"]["remote_targets"]]
    assert all(b["text"] and "Authorized" in b["text"] for b in facts["login"]["banners"])
    assert facts["logging"]["timestamp_formats"][0]["full"] is True
    startup = (device["state"] / "startup.cfg").read_text(encoding="utf-8")
    assert "logging host 10.203.0.11" in startup, "the change was saved (write memory)"
    assert_no_secret(device, result, *planned)
