"""Network device simulators that speak real SSH (asyncssh), for the lab and the network benchmark.

One process hosts many devices; each device listens on its own address:port with its own host key,
username/password and (where the platform has one) enable/administrator secret. A platform is a
`Personality` subclass (lab/netsim/ios.py, rtx.py, fortios.py): prompts per mode, the login/privilege flow,
the exec command table, `show` outputs generated from the configuration text, and how a configuration line
changes the configuration. This module gives every platform the parts they share:

- the SSH server, the session's terminal I/O (the simulator echoes input itself; asyncssh's line editor is off
  because its echo raced the prompt), password prompts without echo, abrupt disconnects;
- the configuration store AS TEXT (running, startup, files on "flash"), persisted in the device's state dir
  after every change, so a restarted simulator keeps its state;
- fault injection read from `<state_dir>/faults.json` at every session start (tests flip it on a running lab):
  `{"drop_after_config_lines": N, "reject": ["regex", ...]}`;
- `Grammar`: command templates as data (`"logging host {ip} | *"`), matched with keyword abbreviation, giving
  the normalised line, its key (the words before `|`) or where the input stops being valid (the caret column of
  `% Invalid input detected at '^' marker.`);
- `ConfigTree`: an indented configuration (IOS style; a flat one like RTX's is the same with no sections) with
  the edit semantics as data: a single-valued command replaces the line with the same key, `no <cmd>` removes
  the lines it names (or is itself stored, for the platform's default-on commands), anything else is appended.

Run: `python -m lab.netsim SPEC.json` (see `load_spec` for the format; labctl writes it from lab.yaml).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import importlib
import json
import logging
import os
import re
import signal
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import asyncssh

LOG = logging.getLogger("netsim")

# ---------------------------------------------------------------------------------------------------------
# Devices and their state
# ---------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Device:
    """One simulated device (one entry of the spec)."""

    name: str
    personality: str                 # module under lab/netsim/ (ios, rtx, fortios)
    address: str
    port: int
    username: str
    password: str
    state_dir: Path
    initial_config: Path | None = None
    enable_secret: str | None = None  # IOS enable secret, RTX administrator password, ...
    host_keys: list[Path] = dataclasses.field(default_factory=list)  # private keys; none: one made in state_dir
    # personality-specific settings from lab.yaml (device_class, links_up, reachable NTP servers, ...)
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


class DeviceState:
    """The configuration AS TEXT: running, startup (saved) and files, persisted under state_dir.

    state_dir/running.cfg, startup.cfg, files/<name>, meta.json (times of the last change and save), faults.json
    (read by sessions, written by tests), ssh_host_key (the device's host key)."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.dir = device.state_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "files").mkdir(exist_ok=True)
        initial = device.initial_config.read_text(encoding="utf-8") if device.initial_config else ""
        self.running = self._read("running.cfg", initial)
        self.startup = self._read("startup.cfg", initial)
        meta = self._meta()
        now = time_now()
        self.booted = now
        self.changed_at = _parse_time(meta.get("changed_at")) or now
        self.changed_by = str(meta.get("changed_by", ""))
        self.saved_at = _parse_time(meta.get("saved_at"))
        if not (self.dir / "running.cfg").exists():
            self._persist()

    def _read(self, name: str, default: str) -> str:
        path = self.dir / name
        return path.read_text(encoding="utf-8") if path.exists() else default

    def _meta(self) -> dict[str, Any]:
        try:
            data = json.loads((self.dir / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _persist(self) -> None:
        _write_atomic(self.dir / "running.cfg", self.running)
        _write_atomic(self.dir / "startup.cfg", self.startup)
        meta = {"changed_at": self.changed_at.isoformat(), "changed_by": self.changed_by,
                "saved_at": self.saved_at.isoformat() if self.saved_at else None}
        _write_atomic(self.dir / "meta.json", json.dumps(meta))

    def set_running(self, text: str, by: str = "") -> None:
        if text != self.running:
            self.running = text
            self.changed_at = time_now()
            self.changed_by = by
        self._persist()

    def save(self) -> None:
        """`write memory`: running -> startup."""
        self.startup = self.running
        self.saved_at = time_now()
        self._persist()

    # files ("flash:")
    def file_path(self, name: str) -> Path | None:
        name = name.strip("/")
        if not name or "/" in name or name.startswith("."):
            return None
        return self.dir / "files" / name

    def files(self) -> list[Path]:
        return sorted(p for p in (self.dir / "files").iterdir() if p.is_file())

    def faults(self) -> dict[str, Any]:
        """The fault settings, read afresh (a test may have changed them since the last session)."""
        try:
            data = json.loads((self.dir / "faults.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            LOG.warning("%s: faults.json unreadable (%s): no faults", self.device.name, exc)
            return {}
        return data if isinstance(data, dict) else {}


def write_faults(state_dir: Path, **faults: Any) -> None:
    """Set a device's faults (for tests): e.g. write_faults(d, drop_after_config_lines=2, reject=["^ntp "])."""
    _write_atomic(Path(state_dir) / "faults.json", json.dumps(faults))


def clear_faults(state_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (Path(state_dir) / "faults.json").unlink()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def time_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _parse_time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------------------
# Grammar: command templates as data
# ---------------------------------------------------------------------------------------------------------

# Placeholder -> what a word must look like.
PLACEHOLDERS: dict[str, re.Pattern[str]] = {
    "word": re.compile(r"^\S+$"),
    "int": re.compile(r"^\d+$"),
    "ip": re.compile(r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$"),
    "ipv6": re.compile(r"^[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+$"),
    "host": re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_-]*$"),
    "iface": re.compile(r"^[A-Za-z][A-Za-z-]*\d[\d/.:]*$"),
    "file": re.compile(r"^[A-Za-z0-9_.:/-]+$"),
}


@dataclasses.dataclass(frozen=True)
class Match:
    """A line matched against a template."""

    template: str
    words: list[str]          # the words, keywords expanded to their full form
    key: tuple[str, ...]      # the words before `|` in the template (the identity of a single-valued command)
    rest: str                 # the raw text `*` took ("" when the template has none)
    value: Any = None         # what the template maps to (handler name, section kind, ...)
    head: int = -1            # how many words come before `rest` (-1: all)

    @property
    def line(self) -> str:
        """The normalised line: keywords in full, the `*` part verbatim."""
        if not self.rest:
            return " ".join(self.words)
        return " ".join([*self.words[:self.head], self.rest])


@dataclasses.dataclass(frozen=True)
class NoMatch:
    """Why a line matched no template: `column` is the offset in the line of the first word no template takes."""

    kind: str   # invalid | incomplete | ambiguous
    column: int
    word: str = ""


class Grammar:
    """Command templates: words are keywords (abbreviable to any unique prefix, like IOS), `{word}`, `{int}`,
    `{ip}`, ... (PLACEHOLDERS), `{int:LO-HI}` (a number in the range the CLI takes), `*` (the rest of the line,
    possibly empty, kept verbatim) and `|` (the key ends here: the words before it identify a single-valued
    command). The same grammar serves exec commands
    (`show running-config`) and configuration lines (`logging host {ip} | *`).

    A template may also be given as (template, value): the value comes back in Match.value."""

    def __init__(self, templates: Iterable[str | tuple[str, Any]], abbreviate: bool = True) -> None:
        self.abbreviate = abbreviate
        self.templates: list[tuple[str, list[str], Any]] = []
        for entry in templates:
            text, value = (entry, None) if isinstance(entry, str) else entry
            self.templates.append((text, text.split(), value))
        self._index()

    def _index(self) -> None:
        """The templates by their first word's keywords (None: a placeholder, any word may start it)."""
        self._first: list[tuple[tuple[str, ...] | None, tuple[str, list[str], Any]]] = []
        for template in self.templates:
            head = template[1][0] if template[1] else "*"
            keywords = None if head.startswith("{") or head in {"*", "|"} else tuple(
                k.lower() for k in (head.split("/") if "/" in head and not head.startswith("/") else [head]))
            self._first.append((keywords, template))

    def _candidates(self, first: str) -> list[tuple[str, list[str], Any]]:
        word = first.lower()
        return [template for keywords, template in self._first
                if keywords is None or any(k == word or (self.abbreviate and k.startswith(word)) for k in keywords)]

    def __add__(self, other: Grammar) -> Grammar:
        merged = Grammar([], self.abbreviate)
        merged.templates = self.templates + other.templates
        merged._index()
        return merged

    def match(self, line: str, allow_incomplete: bool = False) -> Match | NoMatch:
        """The best template for the line: an exact keyword beats an abbreviation; among the templates the
        line fits, the first listed wins. allow_incomplete: a line that stops early still matches (for `no`)."""
        spans = [(m.start(), m.group()) for m in re.finditer(r"\S+", line)]
        words = [w for _, w in spans]
        if not words:
            return NoMatch("incomplete", 0)
        furthest = -1
        incomplete = False
        candidates: list[tuple[int, Match]] = []
        ambiguous_at: int | None = None
        for text, tokens, value in self._candidates(words[0]):
            result = self._fit(tokens, words, spans, allow_incomplete)
            if isinstance(result, int):
                if result == len(words):
                    incomplete = True
                furthest = max(furthest, result)
                continue
            expanded, key, rest, exact, head = result
            candidates.append((exact, Match(text, expanded, key, rest, value, head)))
        if candidates:
            # Ambiguity: the same word abbreviates different keywords at the same place in different templates.
            ambiguous_at = self._ambiguous(words, [m for _, m in candidates])
            if ambiguous_at is not None:
                return NoMatch("ambiguous", spans[ambiguous_at][0], words[ambiguous_at])
            candidates.sort(key=lambda c: -c[0])
            return candidates[0][1]
        if incomplete:
            return NoMatch("incomplete", len(line))
        index = max(furthest, 0)
        return NoMatch("invalid", spans[index][0] if index < len(spans) else len(line))

    def _ambiguous(self, words: list[str], matches: list[Match]) -> int | None:
        for i, word in enumerate(words):
            fulls = {m.words[i] for m in matches if i < len(m.words) and not m.rest}
            if len(fulls) > 1 and word not in fulls and all(f.startswith(word) for f in fulls):
                # only keyword expansions count (placeholders take the word verbatim)
                return i
        return None

    def _fit(self, tokens: list[str], words: list[str], spans: list[tuple[int, str]],
             allow_incomplete: bool) -> tuple[list[str], tuple[str, ...], str, int, int] | int:
        """(expanded words, key, rest, exact keyword count, words before rest) or the index of the first word
        that does not fit."""
        expanded: list[str] = []
        key: tuple[str, ...] | None = None
        exact = 0
        i = 0
        for token in tokens:
            if token == "|":  # noqa: S105
                key = tuple(expanded)
                continue
            if token == "*":  # noqa: S105
                head = len(expanded)
                rest = _join_from(spans, i) if i < len(words) else ""
                expanded.extend(words[i:])
                return expanded, key if key is not None else tuple(expanded[:head]), rest, exact, head
            if i >= len(words):
                if allow_incomplete:
                    return expanded, key if key is not None else tuple(expanded), "", exact, -1
                return i  # incomplete
            word = words[i]
            if token.startswith("{") and token.endswith("}"):
                options = token[1:-1].split("|")
                if not any(_fits(o, word) for o in options):
                    return i
                expanded.append(word)
            else:
                alternatives = token.split("/") if "/" in token and not token.startswith("/") else [token]
                found = next((a for a in alternatives if a.lower() == word.lower()), None)
                if found is not None:
                    exact += 1
                elif self.abbreviate:
                    found = next((a for a in alternatives if a.lower().startswith(word.lower())), None)
                if found is None:
                    return i
                expanded.append(found)
            i += 1
        if i < len(words):
            return i
        return expanded, key if key is not None else tuple(expanded), "", exact, -1


def _fits(placeholder: str, word: str) -> bool:
    """`word` is what the placeholder takes: PLACEHOLDERS, or `int:LO-HI` (a number in the range the real CLI
    takes: out of it is invalid input, as IOS shows it)."""
    ranged = re.fullmatch(r"int:(\d+)-(\d+)", placeholder)
    if ranged:
        return word.isdigit() and int(ranged.group(1)) <= int(word) <= int(ranged.group(2))
    return bool(PLACEHOLDERS[placeholder].match(word))


def _join_from(spans: list[tuple[int, str]], first: int) -> str:
    """The words from the first-th to the end, with their original spacing."""
    out = spans[first][1]
    end = spans[first][0] + len(spans[first][1])
    for s, w in spans[first + 1:]:
        out += " " * (s - end) + w
        end = s + len(w)
    return out


# ---------------------------------------------------------------------------------------------------------
# Configuration as an indented tree of text lines
# ---------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Node:
    """One configuration line (`text` may span lines: a banner) and the lines under it (a section)."""

    text: str
    children: list[Node] = dataclasses.field(default_factory=list)
    section: bool = False

    def words(self) -> list[str]:
        return self.text.split("\n", 1)[0].split()


@dataclasses.dataclass
class EditRules:
    """How configuration lines change the configuration, as data.

    sections: templates that open a section (value = the section kind, selecting the grammar of its lines).
    grammars: section kind ("" = global) -> Grammar of the lines valid there.
    stored_negations: templates (global) whose `no` form is itself a configuration line (IOS `no service pad`:
        the command is on by default, so its negation is what the configuration shows).
    default_on: the positive forms of those: applying one removes the stored `no` line and adds nothing.
    indent: the indentation of section lines in the text.
    separator: the line between top-level sections (IOS `!`), or None.
    """

    grammars: dict[str, Grammar]
    sections: Grammar
    stored_negations: Grammar = dataclasses.field(default_factory=lambda: Grammar([]))
    default_on: Grammar = dataclasses.field(default_factory=lambda: Grammar([]))
    indent: str = " "
    separator: str | None = "!"
    trailer: str | None = "end"     # the last line of the configuration
    tail: tuple[str, ...] = ("line",)  # sections that stay last: new lines and sections go before them
    # section kind -> the order the device shows the lines of such a section in (leading words); lines with
    # none of them go last
    order: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    negation: str = "no"


class ConfigTree:
    """An indented configuration (IOS style) parsed from text, edited line by line, rendered back to text.
    Text that is not edited comes back unchanged (separators, order, spacing)."""

    BANNER = re.compile(r"^banner\s+\S+\s+(\S)")

    def __init__(self, text: str, rules: EditRules) -> None:
        self.rules = rules
        self.nodes: list[Node] = []
        self._parse(text)

    def _parse(self, text: str) -> None:
        lines = text.splitlines()
        i = 0
        current: Node | None = None
        while i < len(lines):
            raw = lines[i]
            i += 1
            if not raw.strip():
                self.nodes.append(Node(raw))
                current = None
                continue
            indented = raw.startswith((" ", "\t"))
            if indented and current is not None:
                indent = self.rules.indent
                current.children.append(Node(raw[len(indent):] if raw.startswith(indent) else raw.lstrip()))
                current.section = True
                continue
            node = Node(raw)
            banner = self.BANNER.match(raw)
            if banner:  # multi-line text up to the closing delimiter (IOS shows it as ^C)
                delimiter = banner.group(1)
                opener = raw[banner.start(1):]
                if delimiter.startswith("^C") or opener.startswith("^C"):
                    delimiter = "^C"
                body = raw[banner.start(1) + len(delimiter):]
                parts = [raw]
                while delimiter not in body and i < len(lines):
                    body = lines[i]
                    parts.append(body)
                    i += 1
                node = Node("\n".join(parts))
            self.nodes.append(node)
            node.section = isinstance(self.rules.sections.match(node.text.split("\n", 1)[0]), Match)
            current = None if banner or node.text == self.rules.separator else node

    def render(self) -> str:
        out: list[str] = []
        for node in self.nodes:
            out.append(node.text)
            out.extend(self.rules.indent + child.text for child in node.children)
        return "\n".join(out) + "\n"

    # -- lookups -------------------------------------------------------------------------------------------

    def top(self) -> list[Node]:
        sep = self.rules.separator
        return [n for n in self.nodes if n.text not in (sep, self.rules.trailer)]

    def find(self, prefix: list[str], where: list[Node] | None = None) -> list[Node]:
        """Nodes whose first words are `prefix`."""
        nodes = self.nodes if where is None else where
        return [n for n in nodes if n.words()[:len(prefix)] == prefix]

    def section(self, header: str) -> Node | None:
        return next((n for n in self.nodes if n.text == header), None)

    def sections(self, first_word: str) -> list[Node]:
        return [n for n in self.nodes if n.section and n.words()[:1] == [first_word]]

    # -- edits -------------------------------------------------------------------------------------------

    def open_section(self, header: str) -> Node:
        node = self.section(header)
        if node is None:
            node = Node(header, section=True)
            self.insert_top(node)
        return node

    def remove_section(self, header_prefix: list[str]) -> bool:
        found = [n for n in self.nodes if n.section and n.words()[:len(header_prefix)] == header_prefix]
        for node in found:
            index = self.nodes.index(node)
            del self.nodes[index]
            sep = self.rules.separator
            if sep and index < len(self.nodes) and self.nodes[index].text == sep and index > 0 \
                    and self.nodes[index - 1].text == sep:
                del self.nodes[index]
        return bool(found)

    def insert_top(self, node: Node) -> None:
        """After the last top-level line of the same kind (plain line or section) sharing the most leading
        words with it; else before the first of the rules' `tail` sections (IOS: `line`), else before the
        trailer."""
        words = node.words()
        best, best_len = None, 0
        for index, other in enumerate(self.nodes):
            if other.section != node.section:
                continue
            other_words = other.words()
            common = 0
            while common < min(len(words), len(other_words)) and words[common] == other_words[common]:
                common += 1
            if common and common >= best_len:
                best, best_len = index, common
        sep = self.rules.separator
        if best is not None:
            self.nodes[best + 1:best + 1] = [Node(sep), node] if node.section and sep else [node]
            return
        end = next((i for i, n in enumerate(self.nodes) if n.section and n.words()[:1] and
                    n.words()[0] in self.rules.tail), None)
        if end is None:
            end = len(self.nodes)
            if self.rules.trailer and self.nodes and self.nodes[-1].text == self.rules.trailer:
                end -= 1
        elif sep and end > 0 and self.nodes[end - 1].text == sep:
            end -= 1
        self.nodes[end:end] = [node, Node(sep)] if node.section and sep else [node]

    def set_line(self, container: Node | None, match: Match, kind: str = "") -> None:
        """A positive configuration line: replace the line with the same key (single-valued) or add it (in a
        section at the place the rules' `order` for its kind gives, else last); a stored negation of the same
        command (`no ip address` for `ip address …`) goes."""
        nodes = container.children if container is not None else self.nodes
        key = list(match.key)
        text = match.line
        negations = [[self.rules.negation, *match.words]] + ([[self.rules.negation, *key]] if key else [])
        nodes[:] = [n for n in nodes if n.words() not in negations]
        for index, node in enumerate(nodes):
            if node.words() == match.words or (key and node.words()[:len(key)] == key and
                                               len(key) < len(match.words)):
                nodes[index] = Node(text, node.children, node.section)
                return
        if container is None:
            self.insert_top(Node(text))
            return
        order = self.rules.order.get(kind)
        if order:
            rank = self._rank(match.words, order)
            index = next((i for i, n in enumerate(nodes) if self._rank(n.words(), order) > rank), len(nodes))
            nodes.insert(index, Node(text))
        else:
            nodes.append(Node(text))

    def _rank(self, words: list[str], order: list[str]) -> int:
        """Where a section line goes: the index of the first `order` entry its words start with."""
        if words[:1] == [self.rules.negation]:
            words = words[1:]
        for index, prefix in enumerate(order):
            if words[:len(prefix.split())] == prefix.split():
                return index
        return len(order)

    def remove_lines(self, container: Node | None, words: list[str], key: list[str]) -> int:
        """`no <words>`: remove the lines starting with the words, or with the same key."""
        nodes = container.children if container is not None else self.nodes
        keep: list[Node] = []
        removed = 0
        for node in nodes:
            w = node.words()
            if (w[:len(words)] == words and words) or (key and len(key) <= len(words) and w[:len(key)] == key
                                                        and not node.section):
                removed += 1
                continue
            keep.append(node)
        nodes[:] = keep
        return removed


# ---------------------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------------------


class SessionClosed(Exception):
    """The client went away (or the simulator dropped the connection)."""


class Session:
    """One SSH shell session on a device: terminal I/O, mode, privilege and the session's fault counters."""

    def __init__(self, server: DeviceServer, process: asyncssh.SSHServerProcess[str]) -> None:
        self.server = server
        self.device = server.device
        self.state = server.state
        self.personality = server.personality
        self.process = process
        self.username = server.username or ""
        self.mode = "exec"            # personality-defined: exec, config, config-if, ...
        self.context: Any = None      # personality-defined (the section being edited, ...)
        self.privileged = False
        self.config_lines = 0         # configuration lines received in this session
        self.faults = self.state.faults()
        self._closed = False
        self._pending: list[str] = []   # output written since the event loop last ran (see write)
        self._flush_scheduled = False
        self._broken = False
        self.terminal_width = 80
        self.terminal_length = 24
        self._buffer = ""
        self._line = ""
        self._last_cr = False
        self.vars: dict[str, Any] = {}  # personality scratch space

    # -- output --------------------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @closed.setter
    def closed(self, value: bool) -> None:
        if value and not self._closed:
            self.flush()                # what the session wrote before it ends still goes out (`exit`'s echo)
        self._closed = value

    def write(self, text: str) -> None:
        """Write text; newlines become CRLF like a terminal.

        What one turn of the session writes (the echo of a line, its output, the next prompt) goes out as one
        channel write when the event loop next runs (`flush`), as a device sends a command's answer in a few
        large segments, not one SSH packet per write: fewer packets for the client and the simulator to encrypt,
        authenticate and parse. The order of the output is unchanged."""
        if self._closed:
            return
        if self._broken:
            raise SessionClosed
        self._pending.append(text.replace("\r\n", "\n").replace("\n", "\r\n"))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Send the output written so far (called by the event loop after `write`, and before the session ends)."""
        self._flush_scheduled = False
        if not self._pending or self._closed or self._broken:
            self._pending.clear()
            return
        text = "".join(self._pending)
        self._pending.clear()
        try:
            self.process.stdout.write(text)
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            self._broken = True     # the next write or read ends the session

    def writeln(self, text: str = "") -> None:
        self.write(text + "\n")

    # -- input ---------------------------------------------------------------------------------------------

    async def readline(self, echo: bool = True) -> str:
        """One line of input (CR, LF or CRLF ends it). echo: write the line back once complete (off for
        passwords). Backspace/DEL edit the line. Raises SessionClosed at end of input."""
        while True:
            while self._buffer:
                char, self._buffer = self._buffer[0], self._buffer[1:]
                if char == "\n" and self._last_cr:
                    self._last_cr = False
                    continue
                self._last_cr = char == "\r"
                if char in "\r\n":
                    line, self._line = _edit(self._line), ""
                    self.write((line if echo else "") + "\n")
                    return line
                self._line += char
            if self._broken:
                raise SessionClosed
            try:
                data = await self.process.stdin.read(4096)
            except (asyncssh.BreakReceived, asyncssh.SignalReceived, asyncssh.TerminalSizeChanged):
                continue
            except (asyncssh.Error, ConnectionError):
                raise SessionClosed from None
            if not data:
                raise SessionClosed
            self._buffer += data

    def drop(self) -> None:
        """Close the connection abruptly (a device losing its session): no exit status, no goodbye."""
        self.closed = True      # sends what was written before the drop
        with contextlib.suppress(Exception):
            self.process.channel.get_connection().abort()
        raise SessionClosed

    # -- configuration faults --------------------------------------------------------------------------------

    def before_config_line(self) -> None:
        """Call before applying a configuration line: with `drop_after_config_lines: 0` the first one drops."""
        if self.faults.get("drop_after_config_lines") == 0:
            self.drop()

    def after_config_line(self) -> None:
        """Call after applying (or rejecting) a configuration line: the Nth line of the session with
        `drop_after_config_lines: N` closes the connection abruptly, the lines before it staying applied."""
        self.config_lines += 1
        limit = self.faults.get("drop_after_config_lines")
        if isinstance(limit, int) and not isinstance(limit, bool) and 0 < limit <= self.config_lines:
            LOG.info("%s: fault: dropping the session after %d configuration lines", self.device.name, limit)
            self.drop()

    def rejected_by_fault(self, line: str) -> bool:
        """True when the line matches one of the device's `reject` patterns (treated as invalid input)."""
        return any(re.search(str(pattern), line) for pattern in self.faults.get("reject") or [])


def _edit(line: str) -> str:
    """Apply backspace/DEL and drop other control characters."""
    out: list[str] = []
    for char in line:
        if char in "\x08\x7f":
            if out:
                out.pop()
        elif char == "\t" or char >= " ":
            out.append(char)
    return "".join(out)


# ---------------------------------------------------------------------------------------------------------
# Personality: what a platform subclasses
# ---------------------------------------------------------------------------------------------------------

Handler = Callable[["Session", Match], Any]


class Personality:
    """A platform's CLI. Subclasses set the data (prompts, grammars) and override the hooks they need.

    The session loop (`run`): `on_connect` (banner, initial mode), then repeatedly write `prompt(session)`,
    read a line, and `dispatch` it. `dispatch` looks the line up in `commands(session)` (a Grammar whose
    values are method names, called as handler(session, match)); in a configuration mode, lines that are not
    commands of that mode go to `configure(session, line)`.
    """

    platform: ClassVar[str] = "generic"
    # mode -> prompt template; {hostname} is filled in.
    prompts: ClassVar[dict[str, str]] = {"exec": "{hostname}>", "privileged": "{hostname}#"}

    def __init__(self, device: Device, state: DeviceState) -> None:
        self.device = device
        self.state = state

    # -- identity --------------------------------------------------------------------------------------------

    def hostname(self) -> str:
        return self.device.name

    def prompt(self, session: Session) -> str:
        mode = session.mode
        if mode == "exec" and session.privileged:
            mode = "privileged"
        return self.prompts.get(mode, self.prompts["exec"]).format(hostname=self.hostname())

    # -- authentication ------------------------------------------------------------------------------------

    def check_password(self, username: str, password: str) -> bool:
        return username == self.device.username and password == self.device.password

    def auth_banner(self) -> str | None:
        """Text sent before authentication (SSH userauth banner), or None."""
        return None

    # -- session ---------------------------------------------------------------------------------------------

    async def on_connect(self, session: Session) -> None:
        """After the shell opens: write any banner; set the initial mode and privilege."""

    async def run(self, session: Session) -> None:
        await self.on_connect(session)
        while not session.closed:
            session.write(self.prompt(session))
            line = await session.readline()
            await self.dispatch(session, line)

    def commands(self, session: Session) -> Grammar:
        """The commands valid in the session's current mode (values: handler method names)."""
        return Grammar([])

    async def dispatch(self, session: Session, line: str) -> None:
        if not line.strip():
            return
        grammar = self.commands(session)
        match = grammar.match(line)
        if isinstance(match, Match):
            result = getattr(self, str(match.value))(session, match)
            if asyncio.iscoroutine(result):
                await result
            return
        if session.mode != "exec":
            await self.configure(session, line, match)
            return
        self.invalid(session, line, match)

    async def configure(self, session: Session, line: str, why: NoMatch) -> None:
        """A line in a configuration mode that is not a command of the mode: a configuration line."""
        self.invalid(session, line, why)

    def invalid(self, session: Session, line: str, why: NoMatch) -> None:
        """How the platform reports a line it does not take (subclasses print their CLI's message)."""
        session.writeln("% Invalid input")

    # -- config text -------------------------------------------------------------------------------------

    def running_config(self) -> str:
        return self.state.running

    def set_running(self, session: Session | None, text: str) -> None:
        self.state.set_running(text, session.username if session else "")


class TreePersonality(Personality):
    """A CLI whose configuration is an indented (or flat) text edited line by line with `EditRules`
    (IOS, RTX). Configuration modes are named `config` (global) and `config-<section kind>`; subclasses give
    `rules` and may override `apply_special` for lines that are not plain edits (banners, ...)."""

    rules: ClassVar[EditRules]
    _view: tuple[str, ConfigTree] | None = None

    def tree(self) -> ConfigTree:
        """The running configuration parsed afresh (to edit)."""
        return ConfigTree(self.state.running, self.rules)

    def view(self) -> ConfigTree:
        """The running configuration parsed once per text (read only: do not edit it)."""
        text = self.state.running
        if self._view is None or self._view[0] is not text:
            self._view = (text, ConfigTree(text, self.rules))
        return self._view[1]

    def section_kind(self, session: Session) -> str:
        return "" if session.mode == "config" else session.mode.removeprefix("config-")

    async def configure(self, session: Session, line: str, why: NoMatch) -> None:
        session.before_config_line()
        error = None if not session.rejected_by_fault(line) else NoMatch("invalid", len(line) - len(line.lstrip()))
        if error is None:
            error = await self.apply_line(session, line)
        if error is not None:
            self.invalid(session, line, error)
        session.after_config_line()

    async def apply_line(self, session: Session, line: str) -> NoMatch | None:
        """Apply one configuration line in the session's mode; the NoMatch when it is not valid there."""
        tree = self.tree()
        kind = self.section_kind(session)
        container = tree.section(session.context) if kind else None
        stripped = line.strip()
        words = stripped.split()
        negated = words[0].lower() == self.rules.negation
        body = line[line.index(words[0]) + len(words[0]):] if negated else line
        offset = len(line) - len(body)

        special = await self.apply_special(session, tree, container, line)
        if special is not False:
            return special if isinstance(special, NoMatch) else None

        # a section header (from any mode: IOS leaves the current section for a global command)
        section = self.rules.sections.match(body, allow_incomplete=negated)
        if isinstance(section, Match):
            if negated:
                tree.remove_section(section.words)
                session.mode, session.context = "config", None
            else:
                node = tree.open_section(section.line)
                session.mode, session.context = f"config-{section.value}", node.text
            self.set_running(session, tree.render())
            return None

        grammars = [(kind, container)] + ([("", None)] if kind else [])
        first_error: NoMatch | None = None
        for grammar_kind, where in grammars:
            grammar = self.rules.grammars.get(grammar_kind, Grammar([]))
            match = grammar.match(body, allow_incomplete=negated)
            if isinstance(match, NoMatch):
                if first_error is None:
                    first_error = NoMatch(match.kind, match.column + offset, match.word)
                continue
            if where is None and kind:  # a global command in a section mode: back to global mode
                session.mode, session.context = "config", None
            if negated:
                stored = self.rules.stored_negations.match(body)
                if where is None and isinstance(stored, Match):
                    tree.remove_lines(None, stored.words, [])
                    tree.set_line(None, Match(stored.template, [self.rules.negation, *stored.words],
                                              (self.rules.negation, *stored.words), "", None, -1))
                else:
                    tree.remove_lines(where, match.words, list(match.key))
            else:
                default = self.rules.default_on.match(body)
                if where is None and isinstance(default, Match) and not default.rest:
                    tree.remove_lines(None, [self.rules.negation, *default.words], [])
                else:
                    tree.set_line(where, match, kind if where is not None else "")
            self.set_running(session, tree.render())
            return None
        return first_error

    async def apply_special(self, session: Session, tree: ConfigTree, container: Node | None,
                            line: str) -> NoMatch | bool | None:
        """Hook for lines that are not plain edits: return False when not handled, None when applied (the
        hook saved the tree itself), or a NoMatch to reject the line."""
        return False


# ---------------------------------------------------------------------------------------------------------
# SSH server
# ---------------------------------------------------------------------------------------------------------


class DeviceServer(asyncssh.SSHServer):
    """asyncssh server for one device: password authentication against the device's credentials."""

    def __init__(self, device: Device, state: DeviceState, personality: Personality) -> None:
        self.device = device
        self.state = state
        self.personality = personality
        self.username: str | None = None
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn

    def begin_auth(self, username: str) -> bool:
        banner = self.personality.auth_banner()
        if banner and self.conn is not None:
            self.conn.send_auth_banner(banner.replace("\n", "\r\n"))
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        ok = self.personality.check_password(username, password)
        if ok:
            self.username = username
        else:
            LOG.info("%s: authentication refused for %r", self.device.name, username)
        return ok


def load_personality(name: str) -> type[Personality]:
    """lab/netsim/<name>.py's PERSONALITY class."""
    module = importlib.import_module(f"lab.netsim.{name}")
    cls = module.PERSONALITY
    if not (isinstance(cls, type) and issubclass(cls, Personality)):
        raise TypeError(f"{module.__name__}.PERSONALITY is not a Personality subclass")
    return cls


def host_key(state_dir: Path) -> asyncssh.SSHKey:
    path = state_dir / "ssh_host_key"
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(path))
    path.chmod(0o600)
    key.write_public_key(str(state_dir / "ssh_host_key.pub"))
    return key


class Simulator:
    """Many devices in one process (one asyncssh listener per device)."""

    def __init__(self, devices: list[Device]) -> None:
        self.devices = devices
        self.servers: list[asyncssh.SSHAcceptor] = []
        self.states: dict[str, DeviceState] = {}

    async def start(self) -> None:
        for device in self.devices:
            await self.start_device(device)

    async def start_device(self, device: Device) -> None:
        state = DeviceState(device)
        personality = load_personality(device.personality)(device, state)
        self.states[device.name] = state
        keys = [asyncssh.read_private_key(str(p)) for p in device.host_keys] or [host_key(device.state_dir)]

        async def handle(process: asyncssh.SSHServerProcess[str]) -> None:
            server = process.get_extra_info("connection").get_owner()
            session = Session(server, process)
            try:
                await personality.run(session)
            except SessionClosed:
                pass
            except Exception:  # a simulator bug must not take the other devices down
                LOG.exception("%s: session failed", device.name)
            finally:
                if not session.closed:
                    session.closed = True
                    with contextlib.suppress(Exception):
                        process.exit(0)

        acceptor = await asyncssh.create_server(
            lambda: DeviceServer(device, state, personality), device.address, device.port,
            server_host_keys=keys, process_factory=handle, line_editor=False, encoding="utf-8",
            keepalive_interval=0, login_timeout=30, allow_scp=False, sftp_factory=None)
        self.servers.append(acceptor)
        LOG.info("%s (%s) listening on %s:%d", device.name, device.personality, device.address, device.port)

    async def stop(self) -> None:
        for server in self.servers:
            server.close()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self.servers.clear()


def load_spec(path: Path) -> list[Device]:
    """The spec labctl writes: {"devices": [{"name", "personality", "address", "port", "username", "password",
    "enable_secret"?, "state_dir", "initial_config"?, "host_keys"?, "params"?}, ...]}."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    devices = []
    for entry in data["devices"]:
        devices.append(Device(
            name=entry["name"], personality=entry["personality"], address=entry["address"],
            port=int(entry.get("port", 22)), username=entry["username"], password=entry["password"],
            enable_secret=entry.get("enable_secret"), state_dir=Path(entry["state_dir"]),
            initial_config=Path(entry["initial_config"]) if entry.get("initial_config") else None,
            host_keys=[Path(p) for p in entry.get("host_keys") or []],
            params=dict(entry.get("params") or {})))
    return devices


async def serve(devices: list[Device], ready: Path | None = None) -> None:
    sim = Simulator(devices)
    await sim.start()
    if ready is not None:
        ready.write_text(str(os.getpid()), encoding="utf-8")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sim.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="network device simulators (SSH)")
    parser.add_argument("spec", type=Path)
    parser.add_argument("--ready", type=Path, help="write the pid here once every device listens")
    parser.add_argument("--log", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, filename=str(args.log) if args.log else None,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    devices = load_spec(args.spec)
    asyncio.run(serve(devices, args.ready))
    return 0

