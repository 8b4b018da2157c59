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


def split_words(text: str, line: int) -> list[str]:
    """The words of one statement, quotes removed (`"a b" c` -> [`a b`, `c`]); backslash escapes in quotes."""
    words: list[str] = []
    current: list[str] = []
    quote: str | None = None
    in_word = False
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and index + 1 < len(text):
                current.append(text[index + 1])
                index += 2
                continue
            if char == quote:
                quote = None
            else:
                current.append(char)
        elif char in "\"'":
            quote, in_word = char, True
        elif char in " \t":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(char)
            in_word = True
        index += 1
    if quote:
        raise ConfigSyntaxError(line, "a quoted value is never closed")
    if in_word:
        words.append("".join(current))
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
            start = number
        pending.append(raw.strip() if not pending else raw)
        joined = "\n".join(pending)
        if _open_quote(joined):
            continue
        result.append((start, split_words(joined, start)))
        pending = []
    if pending:
        raise ConfigSyntaxError(start, "a quoted value is never closed")
    return result


def _open_quote(text: str) -> bool:
    quote: str | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote and char == "\\":
            index += 2
            continue
        if quote and char == quote:
            quote = None
        elif not quote and char in "\"'":
            quote = char
        index += 1
    return quote is not None


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
    root = Node("")
    stack: list[tuple[str, Node]] = [("top", root)]  # (kind, node): kind is top, table or entry
    for line, words in statements(text):
        if not words:
            continue
        keyword, rest = words[0], words[1:]
        kind, node = stack[-1]
        if keyword == "config":
            if not rest:
                raise ConfigSyntaxError(line, "`config` without a table name")
            if kind == "table" and node.entries:
                raise ConfigSyntaxError(line, f"`config {' '.join(rest)}` between the entries of a table")
            path = " ".join(rest)
            # `config vdom` appears more than once in a backup (the list of VDOMs, then each one's settings):
            # the same table again continues it.
            table = node.tables.setdefault(path, Node(path, line))
            stack.append(("table", table))
        elif keyword == "edit":
            if kind != "table" or not rest:
                raise ConfigSyntaxError(line, "`edit` outside a `config` table")
            entry = node.entries.setdefault(" ".join(rest), Node(" ".join(rest), line))
            stack.append(("entry", entry))
        elif keyword == "next":
            if kind != "entry":
                raise ConfigSyntaxError(line, "`next` without an `edit`")
            stack.pop()
        elif keyword == "end":
            if kind == "entry":  # `end` straight after an entry closes it and its table (script form)
                stack.pop()
                kind, node = stack[-1]
            if kind != "table":
                raise ConfigSyntaxError(line, "`end` without an open `config`")
            stack.pop()
        elif keyword in {"set", "append", "select", "unselect"}:
            if kind == "top" or not rest:
                raise ConfigSyntaxError(line, f"`{keyword}` outside a `config` table")
            option = rest[0]
            if keyword in {"append", "select"} and option in node.options:
                node.options[option] = node.options[option] + rest[1:]
            elif keyword == "unselect" and option in node.options:
                node.options[option] = [w for w in node.options[option] if w not in rest[1:]]
            else:
                node.options[option] = rest[1:]
            node.option_lines[option] = line
        elif keyword == "unset":
            if kind == "top" or not rest:
                raise ConfigSyntaxError(line, "`unset` outside a `config` table")
            node.options.pop(rest[0], None)
            node.option_lines.pop(rest[0], None)
        elif keyword in {"delete", "purge", "rename", "clone", "move", "abort", "get", "show"}:
            # Script commands, not configuration: a saved configuration carries none of them.
            raise ConfigSyntaxError(line, f"`{keyword}` is a command, not configuration")
        else:
            raise ConfigSyntaxError(line, f"unknown statement `{keyword}`")
    if len(stack) > 1:
        _, node = stack[-1]
        raise ConfigSyntaxError(node.line, f"`{'config' if stack[-1][0] == 'table' else 'edit'} {node.name}` "
                                           "is never closed (a truncated configuration?)")
    return Config(root, header)
