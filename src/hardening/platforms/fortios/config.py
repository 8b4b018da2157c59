"""FortiOS configuration text -> a tree of `config` tables, `edit` entries and `set` options (pure, no I/O).

FortiOS prints its configuration (`show`, `show full-configuration`, a `.conf` backup) as nested blocks::

    config system interface          a table (its path is the words after `config`)
        edit "port1"                 an entry of the table (name unquoted)
            set allowaccess ping https ssh      an option: its value is a list of words (quotes removed)
            config ipv6              a table nested inside an entry
                set ip6-allowaccess ping
            end
        next
    end

A quoted value may span lines (`set buffer "…` of a replacement message): inside it, a line reading `end` or
`next` is text, not a block end. A backslash escapes the next character inside quotes. `unset OPTION` drops an
option (its documented default applies again). Lines starting with `#` are comments or the backup's header
(`#config-version=…`). A VDOM-enabled device nests everything under `config global` and `config vdom` /
`edit <vdom>`; `Config.global_scope()` and `Config.vdoms()` give the effective scopes either way.

Malformed text (an `end` with no open block, a block left open, a quote never closed) raises ConfigSyntaxError
with the line number: a truncated backup is never read as a complete configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hardening.platforms.common.netcli import ConfigurationError


class ConfigSyntaxError(ConfigurationError):
    """The text is not a well-formed FortiOS configuration; `line` is 1-based."""


@dataclass
class Node:
    """A `config` table or an `edit` entry: its options, nested tables and (for tables) entries."""

    name: str
    line: int = 0
    options: dict[str, list[str]] = field(default_factory=dict)
    option_lines: dict[str, int] = field(default_factory=dict)
    tables: dict[str, Node] = field(default_factory=dict)
    entries: dict[str, Node] = field(default_factory=dict)

    def get(self, option: str) -> list[str] | None:
        """The option's words as set (None: not set here, so the documented default applies)."""
        return self.options.get(option)

    def value(self, option: str, default: str | None = None) -> str | None:
        """The option's value as one string (words joined by a space), or `default` when not set."""
        words = self.options.get(option)
        return " ".join(words) if words is not None else default

    def table(self, path: str) -> Node | None:
        return self.tables.get(path)


_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|([^\s"\']+)', re.S)
_COMPLETE = re.compile(r'\s*(?:(?:"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[^\s"\']+)\s*)*', re.S)
_ESCAPE = re.compile(r"\\(.)", re.S)
_SIMPLE = re.compile(r'"([^"]*)"|()([^\s"]+)')   # double quotes only, no escapes: the usual line


def _complete(text: str) -> bool:
    """Every quote of the text is closed (a value may go on over the next lines until it is)."""
    if "\\" not in text and "'" not in text:
        return text.count('"') % 2 == 0
    return _COMPLETE.fullmatch(text) is not None


def split_words(text: str, line: int) -> list[str]:
    """The words of one statement, quotes removed (`"a b" c` -> [`a b`, `c`]); backslash escapes in quotes.
    A word that is quoted only in part (`ab"c d"`) is one word, as FortiOS reads it."""
    if '"' not in text and "'" not in text:
        return text.split()
    if not _complete(text):
        raise ConfigSyntaxError(line, "a quoted value is never closed")
    simple = "\\" not in text and "'" not in text
    if simple:
        fast = _split_double_quoted(text)
        if fast is not None:
            return fast
    words: list[str] = []
    end = -1
    for match in (_SIMPLE if simple else _TOKEN).finditer(text):
        double, single, bare = match.groups()
        word = _ESCAPE.sub(r"\1", double if double is not None else single) if bare is None else bare
        if match.start() == end and words:  # no blank between: the same word continues
            words[-1] += word
        else:
            words.append(word)
        end = match.end()
    return words


def _split_double_quoted(text: str) -> list[str] | None:
    """`set service "HTTPS" "DNS"` without escapes: the parts between double quotes alternate bare and
    quoted; None when a quoted part touches a bare word (one word in part quoted: the general reader)."""
    parts = text.split('"')
    words: list[str] = []
    for index, part in enumerate(parts):
        if index % 2:
            words.append(part)
            continue
        if (index > 0 and part and not part[0].isspace()) or \
                (index < len(parts) - 1 and part and not part[-1].isspace()):
            return None
        words.extend(part.split())
    return words


def statements(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, words) of each statement; a quoted value running over line ends joins them."""
    result: list[tuple[int, list[str]]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if '"' not in stripped and "'" not in stripped:
                result.append((number, stripped.split()))
                continue
            start = number
            pending.append(stripped)
        else:
            pending.append(raw)
        joined = "\n".join(pending)
        if not _complete(joined):
            continue
        result.append((start, split_words(joined, start)))
        pending = []
    if pending:
        raise ConfigSyntaxError(start, "a quoted value is never closed")
    return result


@dataclass
class Config:
    """A parsed configuration: the top scope, the header lines (`#config-version=…`) and whether VDOMs are on."""

    root: Node
    header: dict[str, str]

    @property
    def vdom_mode(self) -> bool:
        return "global" in self.root.tables or "vdom" in self.root.tables

    def global_scope(self) -> Node:
        """Where global tables live: `config global` on a VDOM-enabled device, else the top."""
        return self.root.tables.get("global", self.root)

    def vdoms(self) -> dict[str, Node]:
        """Each VDOM's scope (name -> node); a device without VDOMs has the one scope `root` (the top)."""
        if "vdom" in self.root.tables:
            return dict(self.root.tables["vdom"].entries)
        return {"root": self.root}

    def table(self, path: str) -> Node | None:
        """A global table (`system global`), wherever the VDOM mode puts it."""
        return self.global_scope().table(path)


def parse_config(text: str) -> Config:
    """The configuration tree of `text`. Raises ConfigSyntaxError on malformed block structure."""
    header: dict[str, str] = {}
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") and "=" in stripped:
            key, _, value = stripped[1:].partition("=")
            header.setdefault(key.strip(), value.strip())
    reader = _Reader()
    for line, words in statements(text):
        if words:
            reader.statement(line, words[0], words[1:])
    return Config(reader.finish(), header)


# Script commands, not configuration: a saved configuration carries none of them.
_COMMANDS = frozenset({"delete", "purge", "rename", "clone", "move", "abort", "get", "show"})


class _Reader:
    """The open blocks while reading: a stack of (kind, node), kind top | table | entry."""

    def __init__(self) -> None:
        self.root = Node("")
        self.stack: list[tuple[str, Node]] = [("top", self.root)]

    def statement(self, line: int, keyword: str, rest: list[str]) -> None:
        kind, node = self.stack[-1]
        if keyword == "config":
            self.open_table(line, kind, node, rest)
        elif keyword == "edit":
            if kind != "table" or not rest:
                raise ConfigSyntaxError(line, "`edit` outside a `config` table")
            entry = node.entries.setdefault(" ".join(rest), Node(" ".join(rest), line))
            self.stack.append(("entry", entry))
        elif keyword == "next":
            if kind != "entry":
                raise ConfigSyntaxError(line, "`next` without an `edit`")
            self.stack.pop()
        elif keyword == "end":
            self.close_table(line, kind)
        elif keyword in {"set", "append", "select", "unselect", "unset"}:
            if kind == "top" or not rest:
                raise ConfigSyntaxError(line, f"`{keyword}` outside a `config` table")
            set_option(node, line, keyword, rest[0], rest[1:])
        elif keyword in _COMMANDS:
            raise ConfigSyntaxError(line, f"`{keyword}` is a command, not configuration")
        else:
            raise ConfigSyntaxError(line, f"unknown statement `{keyword}`")

    def open_table(self, line: int, kind: str, node: Node, rest: list[str]) -> None:
        if not rest:
            raise ConfigSyntaxError(line, "`config` without a table name")
        if kind == "table" and node.entries:
            raise ConfigSyntaxError(line, f"`config {' '.join(rest)}` between the entries of a table")
        path = " ".join(rest)
        # `config vdom` appears more than once in a backup (the list of VDOMs, then each one's settings):
        # the same table again continues it.
        self.stack.append(("table", node.tables.setdefault(path, Node(path, line))))

    def close_table(self, line: int, kind: str) -> None:
        if kind == "entry":  # `end` straight after an entry closes it and its table (script form)
            self.stack.pop()
            kind = self.stack[-1][0]
        if kind != "table":
            raise ConfigSyntaxError(line, "`end` without an open `config`")
        self.stack.pop()

    def finish(self) -> Node:
        if len(self.stack) > 1:
            kind, node = self.stack[-1]
            raise ConfigSyntaxError(node.line, f"`{'config' if kind == 'table' else 'edit'} {node.name}` "
                                               "is never closed (a truncated configuration?)")
        return self.root


def set_option(node: Node, line: int, keyword: str, option: str, values: list[str]) -> None:
    """`set` replaces, `append`/`select` add words, `unselect` removes words, `unset` drops the option."""
    if keyword == "unset":
        node.options.pop(option, None)
        node.option_lines.pop(option, None)
        return
    current = node.options.get(option)
    if keyword in {"append", "select"} and current is not None:
        values = current + values
    elif keyword == "unselect" and current is not None:
        values = [w for w in current if w not in values]
    node.options[option] = values
    node.option_lines[option] = line
