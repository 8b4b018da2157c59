"""Reading IOS configuration text: banners, blocks of sub-mode lines, line ranges, interface ranges.

Pure functions over text, shared by the parser of every section (hardening.platforms.cisco_ios.parse).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Block:
    """One global configuration line and the sub-mode lines below it (deeper levels flattened, stripped)."""

    line: str
    number: int  # 1-based line number in the configuration text
    children: list[str] = field(default_factory=list)
    split: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.split = tuple(self.line.split())  # split once: every section reads the words

    def words(self) -> list[str]:
        return list(self.split)


@dataclass(frozen=True)
class Banner:
    kind: str  # motd, login, exec, incoming …
    text: str
    number: int


@dataclass
class Config:
    blocks: list[Block]
    banners: dict[str, Banner]
    by_first: dict[str, list[Block]] = field(init=False, repr=False, compare=False)
    # Derived views several sections read (interfaces, access lists), computed once per configuration.
    memo: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.memo = {}
        self.by_first = {}
        for block in self.blocks:
            self.by_first.setdefault(block.split[0], []).append(block)

    def globals(self, *prefix: str) -> list[Block]:
        """Blocks whose words start with `prefix`, in configuration order."""
        return [b for b in self.by_first.get(prefix[0], []) if b.split[:len(prefix)] == prefix]

    def has(self, line: str) -> bool:
        wanted = tuple(line.split())
        return any(b.split == wanted for b in self.by_first.get(wanted[0], []))

    def last_of(self, *lines: str) -> str | None:
        """Which of `lines` the configuration gives last (a later command overrides an earlier one)."""
        wanted = {tuple(line.split()): line for line in lines}
        candidates = sorted((b for first in {key[0] for key in wanted} for b in self.by_first.get(first, [])),
                            key=lambda b: b.number)
        found = None
        for block in candidates:
            found = wanted.get(block.split, found)
        return found


_BANNER = re.compile(r"^banner\s+(\S+)\s?(.*)$")


def _banner(kind_and_rest: re.Match[str], lines: list[str], index: int) -> tuple[Banner | None, int]:
    """The banner starting at lines[index]: the delimiter is the first character after the keyword (`^C`
    as IOS displays Ctrl-C counts as one), the text runs to its next occurrence. Returns the index after."""
    kind, rest = kind_and_rest.group(1), kind_and_rest.group(2)
    if kind not in {"motd", "login", "exec", "incoming", "slip-ppp", "prompt-timeout", "config-save"}:
        # `banner ^C text ^C` without a keyword is the motd banner.
        rest = f"{kind} {rest}" if rest else kind
        kind = "motd"
    rest = rest.lstrip()
    if not rest:
        return None, index + 1
    delimiter = "^C" if rest.startswith("^C") else rest[0]
    body = rest[len(delimiter):]
    collected: list[str] = []
    current = index
    while True:
        end = body.find(delimiter)
        if end >= 0:
            collected.append(body[:end])
            break
        collected.append(body)
        current += 1
        if current >= len(lines):  # unterminated: IOS would still be reading; keep what was given
            break
        body = lines[current]
    text = "\n".join(collected)
    if text.startswith("\n"):
        text = text[1:]
    return Banner(kind, text.rstrip("\n"), index + 1), current + 1


def parse_config(text: str) -> Config:
    """Blocks and banners of a `show running-config` (or a handed-over configuration text)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    banners: dict[str, Banner] = {}
    index = 0
    while index < len(lines):
        raw = lines[index]
        stripped = raw.strip()
        match = _BANNER.match(stripped) if not raw[:1].isspace() else None
        if match:
            banner, index = _banner(match, lines, index)
            if banner is not None:
                banners[banner.kind] = banner
            continue
        index += 1
        if not stripped or stripped.startswith("!") or stripped in {"end", "exit"}:
            continue
        if raw[:1].isspace():
            if blocks and stripped not in {"exit", "exit-address-family"}:
                blocks[-1].children.append(stripped)
            continue
        blocks.append(Block(stripped, index))
    return Config(blocks, banners)


_HEADER = re.compile(r"^\s*Current configuration\s*:\s*\d+\s+bytes\s*$")


def truncation(text: str) -> str | None:
    """Why a `show running-config` output is cut short, or None when it is whole (or cannot be judged).

    IOS opens the whole configuration with `Current configuration : N bytes` and closes it with a top-level `end`
    line. An output with that header whose last line is not such an `end` (a line of a banner does not count,
    an unterminated banner is cut) lost its tail: a prompt-like line inside it taken for the end of the output,
    a session lost, a backup file cut. A text without the header (a handed-over configuration, an excerpt) is
    not judged."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = next((i for i, line in enumerate(lines) if _HEADER.match(line)), None)
    if start is None:
        return None
    last = ""
    index = start + 1
    while index < len(lines):
        raw = lines[index]
        match = _BANNER.match(raw.strip()) if not raw[:1].isspace() else None
        if match:
            _, index = _banner(match, lines, index)
            last = "a banner not closed by its delimiter" if index > len(lines) else f"banner {match.group(1)}"
            continue
        index += 1
        if raw.strip():
            last = raw.rstrip()
    if last == "end":
        return None
    return (f"the configuration stops after {last[:60]!r} without its closing `end` line: the output was cut "
            "short" if last else "the configuration is empty after its `Current configuration` line")


def release(config: Config) -> tuple[int, ...] | None:
    """The release train of the `version 15.2` line, as numbers."""
    for block in config.globals("version"):
        words = block.words()
        if len(words) >= 2 and re.fullmatch(r"\d+(\.\d+)*", words[1]):
            return tuple(int(part) for part in words[1].split("."))
    return None


def expand_interface_range(spec: str) -> list[str]:
    """`GigabitEthernet1/0/1 - 24 , GigabitEthernet1/0/30` -> each interface name."""
    names: list[str] = []
    for part in spec.split(","):
        match = re.fullmatch(r"\s*([A-Za-z-]+)\s*([\d/.]*?)(\d+)\s*(?:-\s*(\d+))?\s*", part)
        if not match:
            continue
        kind, prefix, first, last = match.groups()
        for number in range(int(first), int(last or first) + 1):
            names.append(f"{kind}{prefix}{number}")
    return names


def interfaces(config: Config) -> dict[str, list[str]]:
    """Interface name -> its settings, `interface range` blocks applied to each interface they name
    (in order: a later block adds to or overrides an earlier one, as the device applies them). Read-only:
    computed once per configuration."""
    if "interfaces" in config.memo:
        return config.memo["interfaces"]  # type: ignore[no-any-return]
    result: dict[str, list[str]] = config.memo.setdefault("interfaces", {})
    for block in config.globals("interface"):
        words = block.words()
        if len(words) >= 3 and words[1] == "range":
            names = expand_interface_range(block.line.split(None, 2)[2])
        elif len(words) >= 2:
            names = [" ".join(words[1:])]
        else:
            continue
        for name in names:
            settings = result.setdefault(name, [])
            for child in block.children:
                if child in {"shutdown", "no shutdown"}:
                    settings[:] = [s for s in settings if s not in {"shutdown", "no shutdown"}]
                settings.append(child)
    return result
