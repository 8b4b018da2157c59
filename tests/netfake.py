"""A fake IOS-style device behind a fake netmiko connection, for the plan/apply tests of network platforms.

The device keeps its running configuration as text (global lines, sections with one-space children, banners),
applies configuration lines the way IOS does for the commands the templates use (a line replaces the line of
the same key, `no X` removes X, some defaults are hidden, some negations are shown), keeps flash copies
(`copy running-config flash:X`, `configure replace flash:X force`) and has fault knobs:

- `reject`: a regex; a configuration line matching it is answered with `% Invalid input` and not applied;
- `drop_after`: the session dies (OSError) when that many configuration lines have been sent in it;
- `hang`: a regex; the device never answers a configuration line matching it (netmiko's ReadTimeout);
- `broken_replace`: `configure replace` answers success but changes nothing;
- `restore_noise`: a line the device adds to its configuration on every restore and refuses to remove (a
  restore that cannot be proven equal).

Its keys are its own (written from IOS behaviour), not the remediation data's, so a wrong key in the data
shows as a second plan that is not empty.

`FakeSession` and `fake_handler` serve the fetch tests of every netmiko platform (IOS, RTX, FortiOS): netmiko's
session as `NetmikoCapturePlatform` drives it (enable, find_prompt, send_command, the channel writes of a refused
`enable`), answering each command from a table of outputs, with the platform's own answer to a command it does
not know; `case_outputs` reads those outputs from a conformance case's capture.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hardening.platforms.common import netcli
from hardening.platforms.common.netcli import capture_file

# IOS: a later command of the same key replaces the earlier one (regexes over the line without `no `).
KEYS = [r"^exec-timeout\b", r"^transport input\b", r"^ip ssh version\b", r"^ip http server$", r"^service pad$",
        r"^ip bootp server$", r"^logging buffered\b", r"^service timestamps log\b",
        r"^security passwords min-length\b", r"^login block-for\b", r"^logging trap\b"]
HIDDEN = {"exec-timeout 10 0", "ip bootp server", "service pad", "logging trap informational",
          "logging on"}
SHOWN_NEGATIONS = {"no service pad", "no ip bootp server", "no ip http server", "no logging on"}
SECTIONS = re.compile(r"^(line|interface|router|ip access-list|vrf definition) ")
# IOS shows the configuration in its own order, whatever order the commands came in: a restored line goes back
# to its place. The fake's order (longest matching prefix of the line without `no `; the same rank keeps the
# order of arrival).
ORDER = ["version", "service", "hostname", "boot", "logging buffered", "logging", "enable", "username", "security",
         "login", "interface", "ip", "logging host", "ntp", "snmp-server", "banner", "line",
         # children of lines
         "exec-timeout", "password", "logging synchronous", "transport"]


@dataclass
class Node:
    text: str
    children: list[str] = field(default_factory=list)


def _key(line: str) -> str | None:
    body = line[3:] if line.startswith("no ") else line
    for pattern in KEYS:
        match = re.search(pattern, body)
        if match:
            return match.group(0)
    return None


def _rank(line: str) -> int:
    body = line[3:] if line.startswith("no ") else line
    found = [(len(p), i) for i, p in enumerate(ORDER) if body == p or body.startswith(p + " ")]
    return max(found)[1] if found else len(ORDER)


def _insert(lines: list[str], line: str) -> list[str]:
    rank = _rank(line)
    position = max((i + 1 for i, x in enumerate(lines) if _rank(x) <= rank), default=0)
    return [*lines[:position], line, *lines[position:]]


def _place(lines: list[str], line: str) -> list[str]:
    """`line` applied to a list of sibling lines."""
    if line.startswith("no "):
        body = line[3:]
        key = _key(line)
        kept = [x for x in lines if not (x == body or x.startswith(body + " ") or (key and _key(x) == key))]
        return _insert(kept, line) if line in SHOWN_NEGATIONS and line not in kept else kept
    key = _key(line)
    kept = [x for x in lines if not (key and _key(x) == key) and x != "no " + line]
    return kept if line in HIDDEN else _insert(kept, line)


class FakeDevice:
    def __init__(self, running: str, hostname: str = "rt1") -> None:
        self.hostname = hostname
        self.nodes = self.parse(running)
        self.flash: dict[str, list[Node]] = {}
        self.changes = 0
        self.saved: list[Node] | None = None
        self.reject: str | None = None
        self.drop_after: int | None = None
        self.broken_replace = False
        self.hang: str | None = None
        self.restore_noise: str | None = None
        self.log: list[str] = []
        self.connections = 0

    # -- configuration text ------------------------------------------------------------------------------

    @staticmethod
    def parse(text: str) -> list[Node]:
        nodes: list[Node] = []
        lines = text.split("\n")
        index = 0
        while index < len(lines):
            line = lines[index].rstrip()
            index += 1
            if (not line or line.startswith("!") or line in {"end", "Building configuration..."}
                    or line.startswith("Current configuration")):
                continue
            match = re.match(r"^banner (\S+) \^C$", line)
            if match:
                body = []
                while index < len(lines) and lines[index].rstrip() != "^C":
                    body.append(lines[index].rstrip())
                    index += 1
                index += 1
                nodes.append(Node("\n".join([line, *body, "^C"])))
            elif line.startswith(" ") and nodes:
                nodes[-1].children.append(line.strip())
            else:
                nodes.append(Node(line))
        return nodes

    def render(self) -> str:
        body = []
        for node in self.nodes:
            body.append(node.text)
            body += [" " + child for child in node.children]
            body.append("!")
        text = "\n".join(["!", f"! Last configuration change at 10:{self.changes:02d}:00 JST by audit", "!",
                          *body, "end"])
        return f"Building configuration...\n\nCurrent configuration : {len(text)} bytes\n{text}\n"

    def copy(self) -> list[Node]:
        return [Node(n.text, list(n.children)) for n in self.nodes]

    # -- configuration mode ------------------------------------------------------------------------------

    def apply(self, group: list[str], context: Node | None) -> tuple[str, Node | None]:
        """Apply one send group in `context`; (the device's answer, the new context)."""
        first = group[0].strip()
        refused = self.restore_noise and first == "no " + self.restore_noise
        if refused or (self.reject and re.search(self.reject, first)):
            return f"{first}\n                   ^\n% Invalid input detected at '^' marker.\n", context
        self.changes += 1
        banner = re.match(r"^banner (\S+) (\S)$", first)
        if banner:
            kind = banner.group(1)
            text = "\n".join([f"banner {kind} ^C", *group[1:-1], "^C"])
            self.nodes = [n for n in self.nodes if not n.text.startswith(f"banner {kind} ")]
            self._add(Node(text))
            return "", None
        if first in {"exit", "end"}:
            return "", None
        match = re.match(r"^no banner (\S+)$", first)
        if match:
            self.nodes = [n for n in self.nodes if not n.text.startswith(f"banner {match.group(1)} ")]
            return "", None
        if context is not None and not SECTIONS.match(first):
            context.children = _place(context.children, first)
            return "", context
        if SECTIONS.match(first):
            node = next((n for n in self.nodes if n.text == first), None)
            if node is None:
                node = Node(first)
                self._add(node)
            return "", node
        texts = _place([n.text for n in self.nodes], first)
        by_text = {n.text: n for n in self.nodes}
        self.nodes = [by_text.get(t, Node(t)) for t in texts]
        return "", None


    def _add(self, node: Node) -> None:
        texts = _insert([n.text for n in self.nodes], node.text)
        position = texts.index(node.text)
        self.nodes.insert(position, node)


class FakeConnection:
    """The netmiko methods the platforms call, against a FakeDevice."""

    def __init__(self, device: FakeDevice) -> None:
        self.device = device
        self.alive = True
        self.in_config = False
        self.context: Node | None = None
        self.sent_lines = 0
        self.pending: str | None = None
        device.connections += 1

    def _live(self) -> None:
        if not self.alive:
            raise OSError("Socket is closed")

    def is_alive(self) -> bool:
        return self.alive

    def enable(self) -> str:
        self._live()
        return ""

    def disconnect(self) -> None:
        self.alive = False

    def check_config_mode(self) -> bool:
        self._live()
        return self.in_config

    def config_mode(self) -> str:
        self._live()
        self.in_config, self.context = True, None
        return "configure terminal\nEnter configuration commands, one per line.  End with CNTL/Z.\n"

    def exit_config_mode(self) -> str:
        self._live()
        self.in_config, self.context = False, None
        return "end\n"

    def send_config_set(self, group: list[str], **_: Any) -> str:
        self._live()
        assert self.in_config, "configuration lines are sent in configuration mode"
        if self.device.drop_after is not None and self.sent_lines >= self.device.drop_after:
            self.alive = False
            raise OSError("Socket is closed")
        self.sent_lines += 1
        self.device.log.append(group[0])
        if self.device.hang and re.search(self.device.hang, group[0]):
            from netmiko.exceptions import ReadTimeout

            raise ReadTimeout(f"Pattern not detected: '{self.device.hostname}.*$' in output.\n\n"
                              "Things you might try to fix this: ...")
        output, self.context = self.device.apply(group, self.context)
        return output

    def send_command(self, command: str, **_: Any) -> str:
        self._live()
        if self.in_config:
            return "% Invalid input detected at '^' marker.\n"
        if command == "show running-config":
            return self.device.render()
        return self._exec(command)

    def send_command_timing(self, command: str, **_: Any) -> str:
        self._live()
        if self.pending is not None:
            name, self.pending = self.pending, None
            self.device.flash[name] = self.device.copy()
            return f"{len(self.device.render())} bytes copied in 0.1 secs\n{self.device.hostname}#"
        return self._exec(command)

    def _exec(self, command: str) -> str:
        self.device.log.append(command)
        match = re.match(r"^copy running-config flash:(\S+)$", command)
        if match:
            self.pending = match.group(1)
            return f"Destination filename [{match.group(1)}]? "
        match = re.match(r"^configure replace flash:(\S+) force$", command)
        if match:
            if match.group(1) not in self.device.flash:
                return f"%Error opening flash:{match.group(1)} (File not found)\n"
            if not self.device.broken_replace:
                self.device.nodes = [Node(n.text, list(n.children)) for n in self.device.flash[match.group(1)]]
            if self.device.restore_noise:
                self.device.nodes.append(Node(self.device.restore_noise))
            self.device.changes += 1
            return "Total number of passes: 1\nRollback Done\n"
        match = re.match(r"^delete /force flash:(\S+)$", command)
        if match:
            if self.device.flash.pop(match.group(1), None) is None:
                return f"%Error deleting flash:{match.group(1)} (No such file or directory)\n"
            return ""
        if command == "write memory":
            self.device.saved = self.device.copy()
            return "Building configuration...\n[OK]\n"
        return "% Invalid input detected at '^' marker.\n"


# --- the fetch side: netmiko's session as NetmikoCapturePlatform drives it -------------------------------------

IOS_INVALID = "% Invalid input detected at '^' marker.\n"


class FakeSession:
    """A netmiko session answering each command from `outputs` (a command it does not know gets `invalid`, the
    platform's own refusal); `fail` maps a command (or "enable") to the exception it raises. With `enable` the
    session starts at the user level (`NAME>`) and every command must come after enable() (`NAME#`); without
    (FortiOS: no enable level) it starts privileged. `vdoms` is what netmiko's fortinet driver found at login.
    `remote_conn` is None: the platforms read through send_command, not the SSH channel."""

    RETURN = "\n"
    remote_conn = None

    def __init__(self, outputs: Mapping[str, str], fail: Mapping[str, BaseException] | None = None, *,
                 name: str = "rt1", invalid: str = IOS_INVALID, enable: bool = True, vdoms: bool = False) -> None:
        self.outputs, self.fail = dict(outputs), dict(fail or {})
        self.name, self.invalid = name, invalid
        self.sent: list[str] = []
        self.enabled, self.closed = not enable, False
        self._vdoms = vdoms
        self.pending, self.current = "", ""

    def enable(self) -> None:
        if "enable" in self.fail:
            raise self.fail["enable"]
        self.enabled = True

    def find_prompt(self) -> str:
        return f"{self.name}#" if self.enabled else f"{self.name}>"

    def output(self, command: str) -> str:
        assert self.enabled, "every command runs at the privileged level"
        self.sent.append(command)
        return self.outputs.get(command, self.invalid)

    def write_channel(self, data: str) -> None:
        self.current = data.strip()
        self.pending += f"{self.current}\n{self.output(self.current)}\n{self.find_prompt()}"

    def read_channel(self) -> str:
        if self.current in self.fail:
            raise self.fail[self.current]
        data, self.pending = self.pending, ""
        return data

    def send_command(self, command: str, **_: Any) -> str:
        if command in self.fail:
            raise self.fail[command]
        return self.output(command)

    def disconnect(self) -> None:
        self.closed = True


def fake_handler(monkeypatch: pytest.MonkeyPatch, session: Any) -> list[dict[str, Any]]:
    """netmiko's ConnectHandler replaced (netcli._connect_handler): each connection gets `session`, or raises it
    when it is an exception. Returns the keyword arguments of every connection made."""
    calls: list[dict[str, Any]] = []

    def connect(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if isinstance(session, BaseException):
            raise session
        return session

    monkeypatch.setattr(netcli, "_connect_handler", lambda: connect)
    return calls


def case_outputs(raw: Path, commands: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The outputs a conformance case's capture (`raw`) holds for a command table (pseudo commands, which the
    device is never sent, left out)."""
    return {str(c["command"]): (raw / capture_file(str(c["command"]))).read_text(encoding="utf-8")
            for c in commands if (raw / capture_file(str(c["command"]))).is_file() and not c.get("pseudo")}
