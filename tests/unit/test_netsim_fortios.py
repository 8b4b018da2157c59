"""The FortiOS simulator (lab/netsim/fortios.py) on loopback: netmiko's real `fortinet` driver, the CLI's error
texts, configuration edits kept as text, and the platform's parse of what it serves (no lab needed)."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab.netsim.core import Device, Simulator
from lab.netsim.fortios import parse_text, render_config

from hardening.platforms.common.netcli import capture_file
from hardening.platforms.fortios.data import commands
from hardening.platforms.fortios.driver import FortiOSPlatform

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-sim-Fgt1"  # noqa: S105 - a test credential


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def device(tmp_path: Path) -> Iterator[dict[str, Any]]:
    port = free_port()
    spec = Device(name="fw-fgt-01", personality="fortios", address="127.0.0.1", port=port, username="netops",
                  password=PASSWORD, state_dir=tmp_path / "state",
                  initial_config=ROOT / "lab" / "netsim" / "devices" / "fw-fgt-01.cfg",
                  params={"model": "FGT60F", "software": "7.2.8", "build": "1639", "links_up": ["internal1"],
                          "ntp_reachable": ["10.203.0.10"]})
    loop = asyncio.new_event_loop()
    simulator = Simulator([spec])
    loop.run_until_complete(simulator.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield {"port": port, "state": tmp_path / "state"}
    finally:
        asyncio.run_coroutine_threadsafe(simulator.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def connect(port: int) -> Any:
    from netmiko import ConnectHandler

    return ConnectHandler(device_type="fortinet", host="127.0.0.1", port=port, username="netops",
                          password=PASSWORD, ssh_strict=False, system_host_keys=False, allow_agent=False,
                          use_keys=False)


def test_netmiko_fortinet_fetch_and_parse(device: dict[str, Any], tmp_path: Path) -> None:
    connection = connect(device["port"])
    try:
        assert connection.find_prompt() == "fw-fgt-01 #"
        outputs = {c["command"]: connection.send_command(c["command"]) for c in commands()}
    finally:
        connection.disconnect()
    capture = tmp_path / "capture"
    capture.mkdir()
    for command, text in outputs.items():
        (capture / capture_file(command)).write_text(text, encoding="utf-8")
    document = FortiOSPlatform().parse(capture)
    assert document["errors"] == {}
    assert document["facts"]["time"]["synchronized"] is True
    assert document["facts"]["network"]["unused_ports_enabled"] == ["wan1"]
    assert outputs["show full-configuration"].startswith("#config-version=FGT60F-7.2.8-FW-build1639-")
    # offline: the saved configuration alone gives the same facts except the live ones (named as errors/manual)
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "show.txt").write_text(connection_free_show(device), encoding="utf-8")
    offline = FortiOSPlatform().parse(backup)
    live_only = {"/time/synchronized", "/time/selected_source", "/time/stratum", "/time/offset_ms_abs",
                 "/logging/running", "/network/unused_ports_enabled"}
    assert set(offline["errors"]) | set(offline["manual"]) == live_only
    assert strip(offline["facts"], live_only) == strip(document["facts"], live_only)
    # netmiko's cleanup put the console back to `more`: the stored configuration is unchanged
    state = (device["state"] / "running.cfg").read_text(encoding="utf-8")
    assert "config system console" not in state


def connection_free_show(device: dict[str, Any]) -> str:
    """A plain `show` backup of the device (defaults left out), as an administrator would save it."""
    connection = connect(device["port"])
    try:
        return str(connection.send_command("show"))
    finally:
        connection.disconnect()


def strip(facts: dict[str, Any], pointers: set[str]) -> dict[str, Any]:
    out = json.loads(json.dumps(facts))
    for pointer in pointers:
        *parents, leaf = pointer.strip("/").split("/")
        node = out
        for part in parents:
            node = node.get(part, {})
        node.pop(leaf, None)
    return out


def test_cli_errors_edits_and_abort(device: dict[str, Any]) -> None:
    connection = connect(device["port"])
    try:
        out = connection.send_config_set(["config system global", "set admintimeout 999", "set bogus 1",
                                          "set admintimeout 15", "end"])
        assert "value parse error before '999'\nCommand fail. Return code -651" in out.replace("\r", "")
        assert "command parse error before 'bogus'\nCommand fail. Return code -61" in out.replace("\r", "")
        out = connection.send_config_set(["config system admin", "edit \"ops2\"", "set trusthost1 10.203.0.0/16",
                                          "set password Secr3t-Value!", "next", "end"])
        assert "new entry 'ops2' added" in out
        connection.send_config_set(["config system ntp", "set ntpsync disable", "abort"])
        assert "Unknown action 0" in connection.send_command("frobnicate")
        assert "command parse error before 'nonsense'" in connection.send_command("show system nonsense")
    finally:
        connection.disconnect()
    state = (device["state"] / "running.cfg").read_text(encoding="utf-8")
    root = parse_text(state)
    assert root.tables["system global"].options["admintimeout"] == ["15"]
    admin = root.tables["system admin"].entries["ops2"]
    assert admin.options["trusthost1"] == ["10.203.0.0", "255.255.0.0"]
    assert admin.options["password"][0] == "ENC"
    assert "Secr3t-Value!" not in state
    assert root.tables["system ntp"].options["ntpsync"] == ["enable"]  # abort kept nothing


def test_text_round_trip_of_the_lab_configurations() -> None:
    for name in ("fw-fgt-01", "fw-fgt-02"):
        text = (ROOT / "lab" / "netsim" / "devices" / f"{name}.cfg").read_text(encoding="utf-8")
        rendered = render_config(parse_text(text), full=False)
        assert render_config(parse_text(rendered), full=False) == rendered
        assert parse_text(rendered).tables.keys() == parse_text(text).tables.keys()


def test_session_reads_the_table_at_one_prompt_as_send_command_would(device: dict[str, Any], tmp_path: Path) -> None:
    """FortiOS without VDOMs: the platform's session (the prompt read once, each command by read_output over
    netmiko's real `fortinet` driver) gives what netmiko's send_command gives for every command."""
    from hardening.core.connections import ConnectionOptions
    from hardening.core.models import Host, SystemInfo
    from hardening.core.platform import Target
    from hardening.core.secrets import Credentials, Secret

    host = Host(name="fw-fgt-01", hostname="127.0.0.1", port=device["port"], platform="fortios",
                device_class="firewall", zone="", classification={}, system=SystemInfo("net", "", ()), roles=(),
                groups=(), credentials="net")
    options = ConnectionOptions(kind="netmiko", hostname="127.0.0.1", port=device["port"],
                                extras={"known_hosts": str(tmp_path / "known_hosts"), "host_key_policy": "accept-new"})
    where = Target(host=host, credentials=Credentials(name="net", username="netops", password=Secret(PASSWORD)),
                   timeout=30.0, connections={"netmiko": options})
    platform = FortiOSPlatform()
    used: list[str] = []
    read = platform.read_command

    def read_command(connection: Any, target: Any, command: str, prompt: str) -> str:
        used.append(prompt)
        return read(connection, target, command, prompt)

    platform.read_command = read_command  # type: ignore[method-assign]
    outputs = platform.session_outputs(where)
    assert used == ["fw-fgt-01 #"] * len(commands())
    connection = connect(device["port"])
    try:
        expected = {c["command"]: connection.send_command(c["command"]) for c in commands()}
    finally:
        connection.disconnect()
    volatile = [re.compile(v) for v in platform.platform_data()["volatile_lines"]]

    def untimed(texts: dict[str, str]) -> dict[str, str]:
        """The clock moved between the two sessions, and each session's paging setup counts as a change."""
        return {command: "\n".join(re.sub(r"\d\d:\d\d:\d\d", "hh:mm:ss", line) for line in text.splitlines()
                                   if not any(v.match(line) for v in volatile))
                for command, text in texts.items()}

    assert untimed(outputs) == untimed(expected)
    assert len(outputs["show full-configuration"]) > 1000
