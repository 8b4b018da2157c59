"""The flat configuration of a YAMAHA RTX router (`show config`, a saved config file or a handover text).

RTX configuration is one command per line. Comment lines start with `#` (the header `show config` prints:
model and revision, MAC addresses, memory, reporting date). `pp select N`, `tunnel select N` (and `ipsec ike …`
inside them) select an interface: the lines `show config` indents under it, and in a typed text the commands about
the selected interface (`ip pp …`, `pp …`, `tunnel …`), set that interface until the next `… select` (`pp select
none` ends it); every other command is global wherever it stands. A later line of the same command replaces an earlier
one (the router keeps the last); `no COMMAND …` removes it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    number: int       # 1-based line number in the text
    text: str         # the command, stripped
    words: tuple[str, ...]
    context: str      # "" (global), "pp 1", "tunnel 2"


@dataclass
class Config:
    lines: list[Line] = field(default_factory=list)
    header: list[str] = field(default_factory=list)  # the `#` comment lines, stripped of "# "
    # command word -> its lines and the `no` lines that name it, in order (find reads only these)
    index: dict[str, list[Line]] = field(default_factory=dict)
    cache: dict[str, object] = field(default_factory=dict)   # derived values parsers compute once

    def add(self, line: Line) -> None:
        self.lines.append(line)
        words = line.words[1:] if line.words[:1] == ("no",) else line.words
        if words:
            self.index.setdefault(words[0], []).append(line)

    def find(self, *prefix: str, context: str | None = "") -> list[Line]:
        """The lines whose words start with `prefix` (in `context`; None = any), after `no` lines removed
        what they negate: `no WORDS` drops every earlier line of its context that starts with WORDS (`no telnetd
        host` every `telnetd host …`, `no syslog host 10.0.0.1` that host only)."""
        found: list[Line] = []
        size = len(prefix)
        for line in self.index.get(prefix[0], []) if prefix else self.lines:
            if context is not None and line.context != context:
                continue
            if line.words[:1] == ("no",):
                negated = line.words[1:]
                found = [x for x in found if x.context != line.context or x.words[:len(negated)] != negated]
            elif line.words[:size] == prefix:
                found.append(line)
        return found

    def last(self, *prefix: str, context: str | None = "") -> Line | None:
        found = self.find(*prefix, context=context)
        return found[-1] if found else None

    def contexts(self, kind: str) -> list[str]:
        return sorted({line.context for line in self.lines if line.context.startswith(kind + " ")})


_SELECT = re.compile(r"^(pp|tunnel)\s+select\s+(\S+)$")
_CONTINUATION = re.compile(r"^[A-Za-z-]*=\S*(\s+[A-Za-z-]+=\S*)*$")


def words(text: str) -> tuple[str, ...]:
    """The words of a command: double quotes group ("description lan1 \"LAN side\"")."""
    if '"' not in text and "'" not in text:
        return tuple(text.split())
    try:
        return tuple(shlex.split(text, comments=False, posix=True))
    except ValueError:
        return tuple(text.split())


_RELATIVE = (("ip", "pp"), ("ip", "tunnel"), ("ipv6", "pp"), ("ipv6", "tunnel"), ("pp",), ("ppp",), ("pppoe",),
             ("tunnel",), ("ipsec", "tunnel"))
_RELATIVE_FIRST = frozenset(prefix[0] for prefix in _RELATIVE)


def _relative(split: tuple[str, ...]) -> bool:
    """A command about the selected pp/tunnel interface (`ip pp secure filter in …`, `pp enable 1` …)."""
    body = split[1:] if split[:1] == ("no",) else split
    if not body or body[0] not in _RELATIVE_FIRST:
        return False
    return any(body[:len(prefix)] == prefix for prefix in _RELATIVE)


def parse_config(text: str) -> Config:
    config = Config()
    context = ""
    previous = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped.startswith("#") or (previous.startswith("# main:") and _CONTINUATION.match(stripped)):
            # `show config` wraps the long `# main:` header line at 80 columns: the rest (`ess=… MAC-Address=…`)
            # is the header too, not a command
            config.header.append(stripped.lstrip("#").strip())
            previous = stripped if stripped.startswith("#") else ""
            continue
        previous = ""
        select = _SELECT.match(stripped)
        if select:
            context = "" if select.group(2) == "none" else f"{select.group(1)} {select.group(2)}"
            continue
        split = words(stripped)
        # `show config` indents the selected interface's lines; a typed text does not, and there the selection
        # only applies to the commands about the selected interface (global commands stay global)
        relative = raw[:1] in {" ", "\t"} or _relative(split)
        config.add(Line(number, stripped, split, context if relative else ""))
    return config


def model_and_revision(config: Config) -> tuple[str | None, str | None]:
    """(`RTX830`, `15.02.22`) from the `# RTX830 Rev.15.02.22 (date)` header line."""
    for line in config.header:
        match = re.match(r"^((?:RTX|NVR|RT|FWX)\S*)\s+Rev\.(\S+)", line)
        if match:
            return match.group(1), match.group(2)
    return None, None
