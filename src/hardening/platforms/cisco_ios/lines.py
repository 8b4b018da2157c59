"""IOS terminal lines (console, aux, tty, vty): each line's effective settings and how a session starts on it.

`line vty 0 4`, `line vty 5 15`, `line vty 16 31`, `line 1 8` (async ttys, also `line tty 1 8`, `line 0/0/0`),
`line console 0` (shown `line con 0`) are read as the device keeps them: per line number. Blocks whose ranges
overlap (a handover text typing `line vty 0 15` and then `line vty 0 4`) are applied in order, a later setting
replacing an earlier one of the same command (`login local` replaces `login`, `no exec` replaces `exec`,
`transport input ssh` replaces `transport input telnet`); then line numbers with the same history form one range
again, named as the device names it. Pure functions over the parsed configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hardening.platforms.cisco_ios.config import Config, release
from hardening.platforms.cisco_ios.data import platform_data

_KINDS = {"con": "con", "console": "con", "aux": "aux", "vty": "vty", "tty": "tty"}


@dataclass
class Line:
    name: str  # "con 0", "vty 5 15", "1 8" (as `show running-config` names it after `line`)
    kind: str  # con, aux, vty, tty
    settings: list[str]  # effective: one per command, in the order given
    number: int  # configuration line of the (last) block that set it; 0 = not in the configuration

    def get(self, keyword: str) -> list[str] | None:
        """The words after `keyword` in the setting of that command (not its `no` form), or None."""
        wanted, key = keyword.split(), setting_key(keyword)
        for setting in self.settings:
            words = setting.split()
            if words[:len(wanted)] == wanted and setting_key(setting) == key:
                return words[len(wanted):]
        return None

    def access_class(self, family: int) -> tuple[str, list[str]] | None:
        """The ACL `access-class NAME in [vrf-also]` (`ipv6 access-class NAME in`) sets for incoming
        connections, and its other words."""
        key = "access-class in" if family == 4 else "ipv6 access-class in"
        for setting in self.settings:
            words = setting.split()
            if words[0] != "no" and setting_key(setting) == key:
                words = words[1:] if family == 4 else words[2:]
                if words:
                    return words[0], words[1:]
        return None

    def negated(self, key: str) -> bool:
        """The line gives the `no` form of the command `key` (`no login`, `no exec`)."""
        return any(s.split()[:1] == ["no"] and setting_key(s) == key for s in self.settings)

    def starts_sessions(self) -> bool:
        """An EXEC can start on it: not `no exec`, and a vty accepts some transport."""
        if "no exec" in self.settings:
            return False
        transport = self.get("transport input")
        return not (self.kind == "vty" and transport == ["none"])


def setting_key(setting: str) -> str:
    """The command a line setting sets (its `no` form sets the same one): a later one with the same key wins."""
    words = setting.split()
    if words[:1] == ["no"] and len(words) > 1:
        words = words[1:]
    if words[0] == "transport" and len(words) > 1:
        return " ".join(words[:2])
    if words[0] == "login" and words[1:2] == ["authentication"]:
        return "login authentication"
    if words[0] == "ipv6" and len(words) > 1:
        return " ".join(words[:2]) + (" out" if "out" in words else " in")
    if words[0] == "access-class":
        return "access-class" + (" out" if "out" in words else " in")
    return words[0]


def _line_spec(words: list[str]) -> tuple[str, str, tuple[int, int] | str] | None:
    """`line` words -> (kind, the name's prefix, numeric range, or the name of a slot/port form `0/0/0`)."""
    if not words:
        return None
    if words[0] in _KINDS:
        kind, prefix, numbers = _KINDS[words[0]], _KINDS[words[0]], words[1:]
        if kind == "tty":
            prefix = ""
    elif re.fullmatch(r"\d+(/\d+)*", words[0]):
        kind, prefix, numbers = "tty", "", words
    else:
        return None
    if numbers and all(n.isdigit() for n in numbers[:2]):
        first = int(numbers[0])
        return kind, prefix, (first, int(numbers[1]) if len(numbers) > 1 else first)
    return kind, prefix, " ".join(numbers) if numbers else (0, 0)


def config_lines(config: Config) -> list[Line]:
    """Every line range with its effective settings, in the order of the configuration."""
    # (kind, name prefix, line number or a slot/port name) -> (blocks that set it, effective settings, line no.)
    per_line: dict[tuple[str, str, int | str], tuple[list[int], list[str], int]] = {}
    for index, block in enumerate(config.globals("line")):
        spec = _line_spec(block.words()[1:])
        if spec is None:
            continue
        kind, prefix, numbers = spec
        if isinstance(numbers, str):
            keys: list[tuple[str, str, int | str]] = [(kind, prefix, numbers)]
        else:
            keys = [(kind, prefix, n) for n in range(numbers[0], numbers[1] + 1)]
        for key in keys:
            history, settings, _ = per_line.get(key, ([], [], 0))
            for child in block.children:
                settings = [s for s in settings if setting_key(s) != setting_key(child)] + [child]
            per_line[key] = ([*history, index], settings, block.number)
    # Consecutive numbers set by the same blocks form one range again: `vty 0 4`, `vty 5 15`.
    segments: list[tuple[tuple[str, str, int | str], int | str]] = []  # (first key, last position)
    for key in per_line:
        if segments:
            first, last = segments[-1]
            if (isinstance(key[2], int) and isinstance(last, int) and key[:2] == first[:2] and key[2] == last + 1
                    and per_line[(first[0], first[1], last)][0] == per_line[key][0]):
                segments[-1] = (first, key[2])
                continue
        segments.append((key, key[2]))
    lines: list[Line] = []
    for (kind, prefix, start), end in segments:
        _, settings, number = per_line[(kind, prefix, end)]
        name = " ".join(str(w) for w in (prefix, start, end if end != start else "") if w != "")
        lines.append(Line(name, kind, settings, number))
    # Every IOS device has the console and vty 0 4; a configuration text that leaves them out leaves them
    # at their defaults (`show running-config` always lists them).
    for kind, name in (("con", "con 0"), ("vty", "vty 0 4")):
        if (kind, kind, 0) not in per_line:
            lines.append(Line(name, kind, [], 0))
    return lines


def _release_default(config: Config, rules: list[dict[str, object]]) -> list[str] | None:
    train = release(config)
    for rule in rules:
        below = tuple(int(p) for p in str(rule["below"]).split("."))
        if train is not None and train < below:
            return [str(v) for v in rule["value"]]  # type: ignore[attr-defined]
    return None


def remote_transports(config: Config, line: Line) -> tuple[list[str] | None, bool]:
    """The `transport input` keywords a line accepts connections with ([] = none) and whether the configuration
    sets them; None when the configuration cannot decide (a vty without `transport input` on a release whose
    default the platform data does not document). Console lines accept no network connection."""
    if line.kind == "con":
        return [], False
    words = line.get("transport input")
    if words is not None:
        return ([] if words == ["none"] else words), True
    defaults = platform_data()["defaults"]
    if line.kind == "vty":
        return _release_default(config, defaults["vty_transport_input"]), False
    # aux and tty lines: no incoming network connection unless `transport input` admits one (IOS 11.1 on).
    value = _release_default(config, defaults["tty_transport_input"])
    return (value if value is not None else []), False


def aaa_new_model(config: Config) -> bool:
    return config.last_of("aaa new-model", "no aaa new-model") == "aaa new-model"


def authentication(config: Config, line: Line) -> tuple[list[str], str]:
    """How a session on the line authenticates: the methods in order (local, line, enable, none, group:NAME)
    and what configures them. Without `aaa new-model`: `login local` = the local users, `login` = the line's
    password, `no login` = none (the default of con/aux/tty; vty lines default to `login`). With it: the line's
    `login authentication LIST` (else `default`) from `aaa authentication login LIST …`; no default list = local."""
    if not aaa_new_model(config):
        words = line.get("login")
        setting = line.get("no login")
        if setting is not None or (words is None and line.kind != "vty"):
            return ["none"], "no login" if setting is not None else "no `login` (the default of this line)"
        if words and words[0] in {"local", "local-case"}:
            return ["local"], "login local"
        if words and words[0] == "tacacs":
            return ["group:tacacs"], "login tacacs"
        return ["line"], "login" if words is not None else "login (the default of vty lines)"
    named = line.get("login authentication")
    list_name = named[0] if named else "default"
    lists: dict[str, list[str]] = {}
    for block in config.globals("aaa", "authentication", "login"):
        words = block.words()
        if len(words) > 4:
            lists[words[3]] = words[4:]
    methods: list[str] = []
    given = lists.get(list_name)
    if given is None:
        return ["local"], f"aaa new-model without `aaa authentication login {list_name}`: the local users"
    index = 0
    while index < len(given):
        word = given[index]
        if word == "group" and index + 1 < len(given):
            methods.append(f"group:{given[index + 1]}")
            index += 2
            continue
        methods.append({"local-case": "local", "tacacs+": "group:tacacs+", "radius": "group:radius"}.get(word, word))
        index += 1
    return methods, f"aaa authentication login {list_name} {' '.join(given)}"
