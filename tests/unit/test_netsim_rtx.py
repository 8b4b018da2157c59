"""The RTX simulator (lab/netsim/rtx.py) on loopback, driven by netmiko's real `yamaha` driver through the
yamaha_rtx platform: the lab devices' facts, the offline parse of their saved configuration, and the CLI's
rejections. One simulator process for the module (loopback only; not the shared lab)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hardening.core.errors import AuthenticationFailed
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import Target, get_platform
from hardening.core.secrets import Credentials, Secret

ROOT = Path(__file__).resolve().parents[2]
DEVICES = {"rt-rtx-01": ("netops", "rtx01-login-pw", "rtx01-admin-pw"),
           "rt-rtx-02": ("admin", "rtx02-login-pw", "rtx02-admin-pw")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    pytest.importorskip("asyncssh")
    tmp = tmp_path_factory.mktemp("netsim")
    ports = {name: _free_port() for name in DEVICES}
    spec = {"devices": [
        {"name": name, "personality": "rtx", "address": "127.0.0.1", "port": ports[name], "username": user,
         "password": password, "enable_secret": admin, "state_dir": str(tmp / name),
         "initial_config": str(ROOT / "lab" / "netsim" / "devices" / f"{name}.cfg"),
         "params": {"model": "RTX830", "revision": "15.02.26", "ntp_reachable": ["10.203.0.10"]}}
        for name, (user, password, admin) in DEVICES.items()]}
    (tmp / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    process = subprocess.Popen(  # our own simulator, on loopback
        [sys.executable, "-m", "lab.netsim", str(tmp / "spec.json"), "--ready", str(tmp / "ready"),
         "--log", str(tmp / "sim.log")], cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while not (tmp / "ready").exists():
            assert process.poll() is None, (tmp / "sim.log").read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.05)
        yield {"ports": ports, "tmp": tmp}
    finally:
        process.terminate()
        process.wait(timeout=10)


def target(sim: dict[str, Any], name: str, admin: str | None = None) -> Target:
    from hardening.core.connections import ConnectionOptions

    user, password, secret = DEVICES[name]
    host = Host(name=name, hostname="127.0.0.1", port=sim["ports"][name], platform="yamaha_rtx",
                device_class="router", zone="", classification={}, system=SystemInfo("net", "", ()), roles=(),
                groups=(), credentials="net")
    credentials = Credentials(name="net", username=user, password=Secret(password),
                              enable_secret=Secret(admin or secret))
    options = ConnectionOptions(kind="netmiko", hostname="127.0.0.1", port=sim["ports"][name],
                                extras={"known_hosts": str(sim["tmp"] / "known_hosts"),
                                        "host_key_policy": "accept-new"})
    return Target(host=host, credentials=credentials, timeout=30.0, connections={"netmiko": options})


def test_compliant_and_drifted_devices_live(sim: dict[str, Any], tmp_path: Path) -> None:
    platform = get_platform("yamaha_rtx")
    good = platform.collect(target(sim, "rt-rtx-01"))
    facts = good["facts"]
    assert facts["management"]["privilege_level"] == 15
    assert facts["os"] == {"family": "rtx", "name": "YAMAHA RTX830", "version": "15.02.26", "hostname": "rt-rtx-01"}
    assert [(a["protocols"], a["sources"]) for a in facts["management"]["access"]] == [(["ssh"], ["10.203.0.0/16"])]
    assert facts["management"]["insecure_protocols"] == []
    assert facts["time"]["ntp_servers"] == ["10.203.0.10"]
    assert [t["host"] for t in facts["logging"]["remote_targets"]] == ["10.203.0.11"]
    assert facts["logging"]["running"] is True
    assert facts["login"]["idle_timeout"]["seconds"] == 600
    assert facts["network"]["any_any_permits"] == []
    assert facts["accounts"]["generic_admin_names"] == []
    assert "/time/synchronized" in good["manual"]

    bad = platform.collect(target(sim, "rt-rtx-02"))["facts"]
    assert {p["protocol"] for p in bad["management"]["insecure_protocols"]} == {"telnet", "http", "snmp_v1_v2c"}
    telnet = next(a for a in bad["management"]["access"] if a["protocols"] == ["telnet"])
    assert (telnet["context"], telnet["restricted"]) == ("telnetd (default host any)", False)
    assert bad["logging"]["remote_targets"] == []
    assert bad["time"]["ntp_servers"] == []
    assert bad["login"]["idle_timeout"]["seconds"] == 0
    assert [p["rule"] for p in bad["network"]["any_any_permits"]] == ["ip filter 200099"]
    assert bad["accounts"]["generic_admin_names"] == ["(anonymous)", "admin"]
    assert set(bad["accounts"]["password_storage"]["weak_hash_accounts"]) == {"(anonymous)", "administrator"}
    text = json.dumps(bad)
    assert "sakado-lab-rtx-ro" not in text
    assert "admin-pass" not in text

    # The saved configuration alone gives the same configured facts; the live ones become errors.
    into = tmp_path / "rt-rtx-01"
    into.mkdir()
    platform.fetch(target(sim, "rt-rtx-01"), into)
    (into / "show_environment.txt").unlink()
    (into / "show_log.txt").unlink()
    (into / "prompt.txt").unlink()
    offline = platform.parse(into)
    live_only = {"management": ["privilege_level"], "logging": ["running"]}
    for section, value in facts.items():
        expected = {k: v for k, v in value.items() if k not in live_only.get(section, [])} \
            if isinstance(value, dict) else value
        assert offline["facts"][section] == expected, section
    assert {"/management/privilege_level", "/logging/running"} <= set(offline["errors"])


def test_wrong_administrator_password_is_refused(sim: dict[str, Any]) -> None:
    with pytest.raises(AuthenticationFailed, match="administrator password is wrong"):
        get_platform("yamaha_rtx").collect(target(sim, "rt-rtx-01", admin="not-the-password"))


def test_the_cli_rejects_invalid_input_and_keeps_state_as_text(sim: dict[str, Any]) -> None:
    from netmiko import ConnectHandler

    user, password, admin = DEVICES["rt-rtx-02"]
    connection = ConnectHandler(device_type="yamaha", host="127.0.0.1", port=sim["ports"]["rt-rtx-02"],
                                username=user, password=password, secret=admin, ssh_strict=False,
                                system_host_keys=False, alt_host_keys=False, allow_agent=False, use_keys=False)
    try:
        assert connection.send_command("telnetd host any").strip() == "Error: Permission denied"
        connection.enable()
        assert connection.find_prompt() == "rt-rtx-02#"
        assert connection.send_command("shw config").strip() == "Error: Invalid command name"
        assert connection.send_command("login timer").strip() == "Error: Invalid number of parameters"
        assert connection.send_command("telnetd host 10.203.0.0/16").strip() == ""
        assert connection.send_command("no syslog host").strip() == ""
        assert connection.send_command("syslog host 10.203.0.11").strip() == ""
        assert connection.send_command("login user ops2 Typed-In-Clear").strip() == ""
        config = connection.send_command("show config")
        assert {"telnetd host 10.203.0.0/16", "syslog host 10.203.0.11"} <= set(config.splitlines())
        assert config.startswith("# RTX830 Rev.15.02.26 (")
        assert "Typed-In-Clear" not in config
        assert any(x.startswith("login user ops2 encrypted ") for x in config.splitlines())
        assert "Done" in connection.save_config()
        connection.send_command("syslog host 10.203.0.12")
        connection.exit_enable_mode()  # unsaved: `Save new configuration ? (Y/N)`, netmiko answers a bare N
        assert connection.find_prompt() == "rt-rtx-02>"
    finally:
        connection.disconnect()
    state = sim["tmp"] / "rt-rtx-02"
    saved = (state / "startup.cfg").read_text(encoding="utf-8")
    assert "telnetd host 10.203.0.0/16" in saved
    assert "syslog host 10.203.0.12" not in saved, "answered N: not saved"
    assert "syslog host 10.203.0.12" in (state / "running.cfg").read_text(encoding="utf-8")
