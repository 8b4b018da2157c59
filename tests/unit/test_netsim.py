"""The lab's network device simulator (lab/netsim): grammar, configuration edits, and the IOS personality driven by
netmiko's real `cisco_ios` driver over SSH on loopback (no lab needed)."""

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
from lab.netsim import ios
from lab.netsim.core import ConfigTree, Device, Grammar, Match, NoMatch, Simulator

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "platforms" / "cisco_ios" / "cases"
INVALID = "% Invalid input detected at '^' marker."
PASSWORD, SECRET = "pw-unit-1", "en-unit-1"


# --- grammar --------------------------------------------------------------------------------------------

def test_grammar_expands_abbreviations_and_prefers_exact_keywords() -> None:
    grammar = Grammar([("show running-config *", "run"), ("show version", "version"),
                       ("copy running-config {file}", "copy"), ("copy running-config startup-config", "save")])
    match = grammar.match("sh run")
    assert isinstance(match, Match)
    assert (match.value, match.line) == ("run", "show running-config")
    match = grammar.match("copy running-config startup-config")
    assert isinstance(match, Match)
    assert match.value == "save"        # the keyword beats the {file} placeholder
    match = grammar.match("copy run flash:x.cfg")
    assert isinstance(match, Match)
    assert match.value == "copy"


def test_grammar_reports_where_the_input_stops_being_valid() -> None:
    grammar = Grammar(ios.GLOBAL)
    why = grammar.match("logging hots 10.0.0.1")
    assert isinstance(why, NoMatch)
    assert (why.kind, why.column) == ("invalid", len("logging "))
    why = grammar.match("ntp sever 10.0.0.1")
    assert isinstance(why, NoMatch)
    assert why.column == len("ntp ")
    assert isinstance(grammar.match("logging trap"), NoMatch)
    assert grammar.match("logging trap").kind == "incomplete"  # type: ignore[union-attr]
    ambiguous = Grammar(["show version", "show vlan"]).match("show v")
    assert isinstance(ambiguous, NoMatch)
    assert ambiguous.kind == "ambiguous"


@pytest.mark.parametrize(("line", "column"), [
    ("security passwords min-length 17", len("security passwords min-length ")),   # IOS: <0-16>
    ("login block-for 0 attempts 5 within 120", len("login block-for ")),          # <1-65535> each
    ("login block-for 900 attempts 5 within 65536", len("login block-for 900 attempts 5 within ")),
    ("aaa local authentication attempts max-fail 0", len("aaa local authentication attempts max-fail ")),
    ("security passwords min-length 16", None),
    ("login block-for 900 attempts 5 within 120", None),
])
def test_the_ios_grammar_takes_numbers_in_the_range_ios_takes(line: str, column: int | None) -> None:
    """A number out of the real CLI's range is invalid input at that number (a remediation the device would
    refuse must not pass in the lab); one in range is a line with its key."""
    found = Grammar(ios.GLOBAL).match(line)
    if column is None:
        assert isinstance(found, Match)
        assert found.key == tuple(line.split()[:len(found.key)])
    else:
        assert isinstance(found, NoMatch)
        assert (found.kind, found.column) == ("invalid", column)
    timeout = Grammar(ios.LINE)
    assert isinstance(timeout.match("exec-timeout 35791 0"), Match)
    assert isinstance(timeout.match("exec-timeout 35792 0"), NoMatch)


def test_grammar_key_identifies_single_valued_commands() -> None:
    grammar = Grammar(ios.GLOBAL)
    match = grammar.match("logging host 10.1.1.1 transport tcp port 601")
    assert isinstance(match, Match)
    assert match.key == ("logging", "host", "10.1.1.1")
    assert match.line == "logging host 10.1.1.1 transport tcp port 601"
    match = grammar.match("hostname R1")
    assert isinstance(match, Match)
    assert match.key == ("hostname",)


# --- the configuration text ------------------------------------------------------------------------------

def _body(text: str) -> str:
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("version "))
    return "".join(lines[start:])


def _device_output(case: Path) -> bool:
    """The case's configuration is a device's `show running-config` (it has the `version` line), not a handover
    text typed as CLI input (`configure terminal`, `exit`, `write memory`), which the simulator never renders."""
    path = case / "raw" / "show_running-config.txt"
    return path.is_file() and any(line.startswith("version ") for line in path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if _device_output(p)))
def test_config_tree_gives_back_real_configurations_unchanged(case: str) -> None:
    """Banners, nested sections (vrf address-family), `!` lines: what is not edited comes back byte for byte."""
    raw = (CASES / case / "raw" / "show_running-config.txt").read_text(encoding="utf-8")
    body = _body(raw)
    assert ConfigTree(body, ios.RULES).render() == body


def test_config_tree_edit_semantics() -> None:
    tree = ConfigTree("version 15.2\nhostname A\n!\nline vty 0 4\n exec-timeout 0 0\n!\nend\n", ios.RULES)
    grammar = ios.RULES.grammars[""]
    hostname = grammar.match("hostname B")
    assert isinstance(hostname, Match)
    tree.set_line(None, hostname)
    logging = grammar.match("logging host 10.0.0.1")
    assert isinstance(logging, Match)
    tree.set_line(None, logging)
    vty = tree.section("line vty 0 4")
    timeout = ios.RULES.grammars["line"].match("exec-timeout 10 0")
    assert isinstance(timeout, Match)
    tree.set_line(vty, timeout)
    text = tree.render()
    assert "hostname B\n" in text
    assert "hostname A" not in text
    assert " exec-timeout 10 0\n" in text
    assert " exec-timeout 0 0" not in text
    assert text.index("logging host 10.0.0.1") < text.index("line vty 0 4")   # before the line sections
    assert text.endswith("end\n")
    tree.remove_lines(None, ["logging", "host", "10.0.0.1"], ["logging", "host", "10.0.0.1"])
    assert "logging host" not in tree.render()


# --- the IOS personality over SSH ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lab:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = _free_port()
        self.device = Device(name="rt", personality="ios", address="127.0.0.1", port=self.port, username="netops",
                             password=PASSWORD, enable_secret=SECRET, state_dir=tmp / "rt",
                             initial_config=ROOT / "lab" / "netsim" / "devices" / "rt-ios-02.cfg",
                             params={"device_class": "router", "links_up": ["GigabitEthernet0/0"]})
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.simulator: Simulator | None = None
        self.start()

    def start(self) -> None:
        self.simulator = Simulator([self.device])
        asyncio.run_coroutine_threadsafe(self.simulator.start(), self.loop).result(timeout=30)

    def stop(self) -> None:
        assert self.simulator is not None
        asyncio.run_coroutine_threadsafe(self.simulator.stop(), self.loop).result(timeout=30)

    def connect(self, **override: Any) -> Any:
        from netmiko import ConnectHandler

        parameters = {"device_type": "cisco_ios", "host": "127.0.0.1", "port": self.port, "username": "netops",
                      "password": PASSWORD, "secret": SECRET, "ssh_strict": False, "allow_agent": False,
                      "use_keys": False, "fast_cli": True, "read_timeout_override": 5}
        parameters.update(override)
        return ConnectHandler(**parameters)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    running = Lab(tmp_path)
    yield running
    running.stop()
    running.loop.call_soon_threadsafe(running.loop.stop)


def test_ios_session_configuration_and_rejection(lab: Lab) -> None:
    connection = lab.connect()
    try:
        assert connection.find_prompt() == "rt-ios-02>"
        connection.enable()
        output = connection.send_config_set([
            "no service pad", "int gi0/2", "description spare", "ip address 192.0.2.1 255.255.255.0", "no shutdown",
            "line vty 0 4", "exec-timeout 10 0",
            "line vty 5 15", "exec-timeout 7 0", "exec-timeout 5 0",
            "logging hots 10.0.0.1", "logging host 10.203.0.11", "ip bootp server", "no ip http server"])
        running = connection.send_command("show running-config")
        logging = connection.send_command("show logging")
        ports = connection.send_command("show control-plane host open-ports")
    finally:
        connection.disconnect()
    lines = output.splitlines()
    index = next(i for i, line in enumerate(lines) if line.endswith("#logging hots 10.0.0.1"))
    assert lines[index + 1].index("^") == lines[index].index("hots")
    assert lines[index + 2] == INVALID
    assert "\nno service pad\n" in running
    # a new line goes where IOS shows it (description first), not last; an address replaces `no ip address`;
    # `no shutdown` removes `shutdown`
    assert re.search(r"^interface GigabitEthernet0/2\n description spare\n ip address 192.0.2.1 255.255.255.0\n"
                     r" duplex auto\n speed auto\n!", running, re.M)
    # exec-timeout 10 0 is the default IOS does not display: applying it removes `exec-timeout 0 0`
    assert re.search(r"^line vty 0 4\n access-class MGMT-ONLY in\n transport input telnet ssh\nline vty 5 15\n"
                     r" access-class MGMT-ONLY in\n exec-timeout 5 0\n transport input ssh\n", running, re.M)
    assert "no ip bootp server" not in running      # the default came back: the `no` line goes, nothing added
    assert running.count("no ip http server") == 1
    assert "logging hots" not in running
    assert "Logging to 10.203.0.11  (udp port 514" in logging
    assert re.search(r"tcp\s+\*:23\s+\*:0\s+Telnet\s+LISTEN", ports)


def test_ios_state_survives_a_restart_and_write_memory_saves(lab: Lab) -> None:
    connection = lab.connect()
    try:
        connection.enable()
        connection.send_config_set(["hostname rt-renamed"], exit_config_mode=False)
        connection.write_channel("end\n")
        connection.read_until_pattern(pattern=r"rt-renamed#")   # the prompt follows the hostname at once
        connection.set_base_prompt()
        assert connection.find_prompt() == "rt-renamed#"
        assert "[OK]" in connection.save_config()
    finally:
        connection.disconnect()
    lab.stop()
    lab.start()
    connection = lab.connect()
    try:
        assert connection.find_prompt() == "rt-renamed>"
    finally:
        connection.disconnect()
    assert "hostname rt-renamed" in (lab.device.state_dir / "startup.cfg").read_text(encoding="utf-8")


def test_ios_faults_drop_and_reject(lab: Lab) -> None:
    (lab.device.state_dir / "faults.json").write_text(json.dumps({"reject": ["^ntp "]}), encoding="utf-8")
    connection = lab.connect()
    try:
        connection.enable()
        output = connection.send_config_set(["ntp server 10.203.0.10", "logging host 10.203.0.11"])
    finally:
        connection.disconnect()
    assert output.count(INVALID) == 1
    (lab.device.state_dir / "faults.json").write_text(json.dumps({"drop_after_config_lines": 1}), encoding="utf-8")
    connection = lab.connect()
    try:
        connection.enable()
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever netmiko raises for a lost session
            connection.send_config_set(["logging host 10.203.0.12", "logging host 10.203.0.13"])
    finally:
        connection.disconnect()
    running = (lab.device.state_dir / "running.cfg").read_text(encoding="utf-8")
    assert "logging host 10.203.0.12" in running
    assert "logging host 10.203.0.13" not in running
    assert "ntp server" not in running


def test_ios_wrong_credentials(lab: Lab) -> None:
    from netmiko.exceptions import NetmikoAuthenticationException, ReadTimeout

    with pytest.raises(NetmikoAuthenticationException):
        lab.connect(password="wrong")  # noqa: S106 - wrong on purpose
    connection = lab.connect(secret="wrong", read_timeout_override=2)  # noqa: S106 - wrong on purpose
    try:
        with pytest.raises(ReadTimeout):   # IOS asks `Password:` again; netmiko waits for a prompt
            connection.enable()
    finally:
        connection.disconnect()
