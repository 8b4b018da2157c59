"""The lab's simulated network devices (lab/netsim) driven by netmiko's real `cisco_ios` driver over real SSH.

Every device is checked through the lab's own known_hosts (strict) with the credentials labctl generated into
the vault. Tests that change a device restore it (`labctl reset` of the simulated devices at the end)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from netmiko import ConnectHandler
from netmiko.exceptions import ConfigInvalidException, NetmikoAuthenticationException, ReadTimeout
from tests.lab.labtools import LAB_STATE, TEST_STATE, labctl, netsim_devices, run_cli

from hardening.platforms.cisco_ios.data import platform_data
from hardening.platforms.cisco_ios.parse import parse_outputs

KNOWN_HOSTS = LAB_STATE / "ssh" / "known_hosts"
IOS = ("rt-ios-01", "rt-ios-02", "sw-ios-01")
INVALID = "% Invalid input detected at '^' marker."


@pytest.fixture(scope="module")
def devices(lab: dict[str, Any]) -> Iterator[dict[str, dict[str, Any]]]:
    found = netsim_devices(lab["spec"], lab["hosts"])
    assert set(IOS) <= set(found), "lab.yaml netsim.devices lists the IOS devices"
    yield found
    for device in found.values():
        (device["state"] / "faults.json").unlink(missing_ok=True)
    proc = labctl("reset", *IOS)     # back to the planted configurations for the other lab tests
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(autouse=True)
def no_faults(devices: dict[str, dict[str, Any]]) -> Iterator[None]:
    for device in devices.values():
        (device["state"] / "faults.json").unlink(missing_ok=True)
    yield
    for device in devices.values():
        (device["state"] / "faults.json").unlink(missing_ok=True)


def connect(device: dict[str, Any], **override: Any) -> Any:
    credentials = device["credentials"]
    parameters = {
        "device_type": "cisco_ios", "host": device["ip"], "username": credentials["username"],
        "password": credentials["password"], "secret": credentials.get("enable_secret", ""),
        "ssh_strict": True, "system_host_keys": False, "alt_host_keys": True, "alt_key_file": str(KNOWN_HOSTS),
        "allow_agent": False, "use_keys": False, "conn_timeout": 10, "auth_timeout": 10,
    }
    parameters.update(override)
    return ConnectHandler(**parameters)


def comparable(text: str) -> list[str]:
    """show running-config without the lines that change without a configuration change (platform data)."""
    volatile = [re.compile(p) for p in platform_data()["volatile_lines"]]
    return [line for line in text.splitlines() if line.strip() and not any(v.match(line) for v in volatile)]


def faults(device: dict[str, Any], **settings: Any) -> None:
    path: Path = device["state"] / "faults.json"
    path.write_text(json.dumps(settings), encoding="utf-8")


@pytest.mark.parametrize("name", IOS)
def test_connect_enable_show_run(devices: dict[str, dict[str, Any]], name: str) -> None:
    connection = connect(devices[name])
    try:
        connection.enable()
        assert connection.find_prompt() == f"{name}#"
        assert "Current privilege level is 15" in connection.send_command("show privilege")
        running = connection.send_command("show running-config")
        assert running.splitlines()[0] == "Building configuration..."
        assert re.search(r"^Current configuration : \d+ bytes$", running, re.M)
        assert re.search(r"^! Last configuration change at \d\d:\d\d:\d\d UTC ", running, re.M)
        assert f"\nhostname {name}\n" in running
        assert running.rstrip().endswith("end")
        outputs = {entry["command"]: connection.send_command(entry["command"]) for entry in platform_data()["commands"]}
    finally:
        connection.disconnect()
    # the platform's parser understands every output (the switch's port status, the router's rejection of it)
    result, level = parse_outputs(outputs)
    assert level == 15
    assert result.facts["os"]["hostname"] == name
    assert "/network/exposed_sockets" not in result.errors
    assert "/logging/running" not in result.errors
    assert "/time/synchronized" not in result.errors
    switch = name.startswith("sw-")
    assert (INVALID in outputs["show interfaces status"]) is not switch


def test_user_exec_needs_enable_and_a_wrong_secret_is_refused(devices: dict[str, dict[str, Any]]) -> None:
    device = devices["rt-ios-02"]    # its user logs in at privilege 1
    connection = connect(device, secret="not-the-secret", read_timeout_override=3)  # noqa: S106 - wrong on purpose
    try:
        assert connection.find_prompt() == "rt-ios-02>"
        assert "Current privilege level is 1" in connection.send_command("show privilege")
        # user EXEC has no `show running-config`: IOS puts the caret under the word it does not take
        refused = connection.send_command("show running-config")
        assert INVALID in refused
        # IOS asks `Password:` again (three tries, then `% Bad secrets`): netmiko, waiting for the prompt after
        # the one secret it sends, gives up with ReadTimeout
        with pytest.raises(ReadTimeout):
            connection.enable()
        connection.write_channel("\n\n")
        assert "% Bad secrets" in connection.read_until_pattern(pattern=r"rt-ios-02>", read_timeout=5)
        assert "Current privilege level is 1" in connection.send_command("show privilege")
    finally:
        connection.disconnect()


def test_wrong_password_is_an_authentication_failure(devices: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(NetmikoAuthenticationException):
        connect(devices["rt-ios-01"], password="not-the-password")  # noqa: S106 - a wrong one


def test_config_change_and_write_memory_persist_across_a_simulator_restart(
        devices: dict[str, dict[str, Any]]) -> None:
    device = devices["rt-ios-01"]
    connection = connect(device)
    try:
        connection.enable()
        output = connection.send_config_set(["logging host 10.203.0.99", "interface GigabitEthernet0/2",
                                             "description spare", "no service pad"])
        assert INVALID not in output
        assert "[OK]" in connection.save_config()
        startup = connection.send_command("show startup-config")
    finally:
        connection.disconnect()
    assert "logging host 10.203.0.99" in startup
    assert re.search(r"^interface GigabitEthernet0/2\n(?: .*\n)* description spare$", startup, re.M)
    # the simulator process stops; `labctl up` starts it again: the device keeps its configuration
    pids = subprocess.run(["ip", "netns", "pids", "hlab-netsim"], capture_output=True, text=True, check=True)
    for pid in pids.stdout.split():
        subprocess.run(["kill", pid], check=False)
    proc = labctl("up")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    connection = connect(device)
    try:
        running = connection.send_command("show running-config")
    finally:
        connection.disconnect()
    assert "logging host 10.203.0.99" in running
    assert "description spare" in running
    assert running.count("no service pad") == 1


def test_invalid_line_is_rejected_the_way_ios_prints_it(devices: dict[str, dict[str, Any]]) -> None:
    connection = connect(devices["rt-ios-02"])
    try:
        connection.enable()
        before = connection.send_command("show running-config")
        output = connection.send_config_set(["logging hots 10.203.0.98"])
        lines = output.splitlines()
        index = next(i for i, line in enumerate(lines) if line.endswith("#logging hots 10.203.0.98"))
        caret = lines[index + 1]
        assert caret.strip() == "^"
        # the caret stands under the first character IOS did not take ("hots"), counted from the prompt
        assert caret.index("^") == lines[index].index("hots")
        assert lines[index + 2] == INVALID
        with pytest.raises(ConfigInvalidException):
            connection.send_config_set(["logging host 10.203.0.92", "snmp-server communityy x",
                                        "snmp-server community x RO"], error_pattern=r"% Invalid input")
        connection.exit_config_mode()
        after = connection.send_command("show running-config")
    finally:
        connection.disconnect()
    assert "logging hots" not in after
    assert "logging host 10.203.0.92" in after   # applied before the invalid line, like IOS
    assert "snmp-server" not in after
    assert comparable(after) != comparable(before)


def test_drop_fault_closes_the_session_mid_configuration(devices: dict[str, dict[str, Any]]) -> None:
    device = devices["rt-ios-02"]
    faults(device, drop_after_config_lines=2)
    connection = connect(device, read_timeout_override=5)
    try:
        connection.enable()
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever netmiko raises for a lost session
            connection.send_config_set(["logging host 10.203.0.97", "logging host 10.203.0.96",
                                        "logging host 10.203.0.95"])
    finally:
        connection.disconnect()
    (device["state"] / "faults.json").unlink()
    connection = connect(device)
    try:
        connection.enable()
        running = connection.send_command("show running-config")
    finally:
        connection.disconnect()
    assert "logging host 10.203.0.97" in running
    assert "logging host 10.203.0.96" in running
    assert "logging host 10.203.0.95" not in running


def test_reject_fault_refuses_matching_lines(devices: dict[str, dict[str, Any]]) -> None:
    device = devices["sw-ios-01"]
    faults(device, reject=[r"^logging host 10\.203\.0\.94"])
    connection = connect(device)
    try:
        connection.enable()
        output = connection.send_config_set(["logging host 10.203.0.93", "logging host 10.203.0.94"])
        running = connection.send_command("show running-config")
    finally:
        connection.disconnect()
    assert output.count(INVALID) == 1
    assert "logging host 10.203.0.93" in running
    assert "logging host 10.203.0.94" not in running


def test_configure_replace_restores_the_exact_text(devices: dict[str, dict[str, Any]]) -> None:
    connection = connect(devices["sw-ios-01"])
    try:
        connection.enable()
        before = connection.send_command("show running-config")
        out = connection.send_command("copy running-config flash:hardening-rollback.cfg",
                                      expect_string=r"Destination filename \[hardening-rollback\.cfg\]\?")
        out += connection.send_command("\n", expect_string=r"#")
        assert "bytes copied" in out
        assert "hardening-rollback.cfg" in connection.send_command("dir flash:")
        saved = connection.send_command("more flash:hardening-rollback.cfg")
        assert comparable(saved) == comparable(before)
        connection.send_config_set(["no username admin", "interface GigabitEthernet1/0/6", "shutdown",
                                    "line vty 5 15", "access-class MGMT-ONLY in", "no banner login",
                                    "banner motd #", "Authorized use only.", "#"])
        changed = connection.send_command("show running-config")
        assert "username admin" not in changed
        assert "banner motd ^C\nAuthorized use only.\n^C" in changed
        replaced = connection.send_command("configure replace flash:hardening-rollback.cfg force")
        assert "Rollback Done" in replaced
        after = connection.send_command("show running-config")
        connection.send_command("delete /force flash:hardening-rollback.cfg")
        listing = connection.send_command("dir flash:")
    finally:
        connection.disconnect()
    assert comparable(after) == comparable(before)
    assert "hardening-rollback.cfg" not in listing


def test_audit_of_the_ios_devices_gives_facts_for_each(devices: dict[str, dict[str, Any]]) -> None:
    out = TEST_STATE / "netsim-audit"
    proc = run_cli("audit", *[arg for name in IOS for arg in ("-H", name)], "--out", str(out), "--no-progress",
                   "--timeout", "30")
    assert (out / "report.json").exists(), proc.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    hosts = {host["name"]: host for host in report["hosts"]}
    assert set(hosts) == set(IOS)
    for name in IOS:
        assert hosts[name]["error"] is None, hosts[name]["error"]
        facts = json.loads((out / hosts[name]["facts_file"]).read_text(encoding="utf-8"))
        assert facts["facts"]["os"]["hostname"] == name
        assert facts["facts"]["management"]["privilege_level"] == 15
    assert not [f for f in report["findings"] if f["status"] == "error"]
    # the drifted switch: generic admin name, unused port left up
    switch = json.loads((out / hosts["sw-ios-01"]["facts_file"]).read_text(encoding="utf-8"))["facts"]
    assert switch["accounts"]["generic_admin_names"] == ["admin"]
    assert switch["network"]["unused_ports_enabled"] == ["GigabitEthernet1/0/6"]
    router = json.loads((out / hosts["rt-ios-02"]["facts_file"]).read_text(encoding="utf-8"))["facts"]
    assert {"protocol": "telnet"}.items() <= router["management"]["insecure_protocols"][0].items()
    assert router["time"]["synchronized"] is False
    secrets = [d["credentials"][k] for d in devices.values() for k in ("password", "enable_secret")
               if k in d["credentials"]]  # FortiOS devices have no enable secret
    texts = [proc.stdout, proc.stderr] + [p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file()]
    assert not [s for s in secrets if any(s in text for text in texts)]
