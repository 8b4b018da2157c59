"""FortiOS personality: what netmiko's real `fortinet` driver (and the hardening fortios platform) drive.

The prompt is `HOST # ` at the top; `config system global` enters `HOST (global) # `, `edit "port1"` inside
`config system interface` enters `HOST (port1) # `, `next` closes the entry, `end` the table (changes are
kept when the block is closed, `abort` drops them). `set`/`unset`/`append`/`edit`/`delete` are checked
against the table schema below (data): an unknown table or option is `command parse error before '<word>'`
with `Command fail. Return code -61`, a bad value `value parse error before '<value>'` with `Command fail.
Return code -651`, an unknown top-level command `Unknown action 0` with `Command fail. Return code -1`, as
FortiOS prints them. Tables the schema does not describe are kept and shown as they are in the device's
initial configuration, but cannot be edited.

The state is the configuration text (a plain `show`: options at their documented default are left out);
`show full-configuration` adds every default of the described tables, `show` leaves them out, both in the
schema's option order, with the backup header (`#config-version=…`, `#conf_file_ver=…` counts changes).
Live state that a configuration cannot give comes from the device's lab.yaml params:
  model: FGT60F, software: "7.2.8", build: "1639"   (`get system status`, the header)
  links_up: [internal1, ...]        physical ports with a link (others that are up are `status: down` live)
  ntp_reachable: [10.203.0.10, ...] configured NTP servers that answer (the clock syncs to the first)
  logd_running: true                whether `diagnose sys process pidof miglogd` prints PIDs
netmiko's session preparation (`get system status | grep Virtual|Version`, `get system console`, `config
system console` / `set output standard` / `end`, and the cleanup back to `set output more`) works unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .core import Grammar, Match, NoMatch, Personality, Session, time_now

# --- the table schema (data) -----------------------------------------------------------------------------
# option -> (type, default or None). Types: str (printed quoted), strs (several quoted words), enum:a|b,
# enums:a|b|c (several of them), int:LO-HI, ipmask (address and mask or CIDR), ip, ip6, ip6net, password
# (stored `ENC …`), passwd (a local user's reversible `ENC …`), text (a quoted multi-line buffer).
# "entries": the table holds `edit` entries; "tables": nested tables (in the table, or in each entry).

ENABLE = "enum:enable|disable"
TRUSTHOSTS = {f"trusthost{n}": ("ipmask", "0.0.0.0 0.0.0.0") for n in range(1, 11)}
IP6_TRUSTHOSTS = {f"ip6-trusthost{n}": ("ip6net", "::/0") for n in range(1, 11)}
SEVERITY = "enum:emergency|alert|critical|error|warning|notification|information|debug"

SCHEMA: dict[str, dict[str, Any]] = {
    "system global": {"options": {
        "admin-console-timeout": ("int:0-300", "0"), "admin-https-redirect": (ENABLE, "enable"),
        "admin-lockout-duration": ("int:1-2147483647", "60"), "admin-lockout-threshold": ("int:1-10", "3"),
        "admin-port": ("int:1-65535", "80"),  # no admin-maintainer: removed in 7.2.4
        "admin-sport": ("int:1-65535", "443"), "admin-ssh-port": ("int:1-65535", "22"),
        "admin-telnet": (ENABLE, "enable"), "admin-telnet-port": ("int:1-65535", "23"),
        "admintimeout": ("int:1-480", "5"), "alias": ("str", None), "hostname": ("str", None),
        "post-login-banner": (ENABLE, "disable"), "pre-login-banner": (ENABLE, "disable"),
        "strong-crypto": (ENABLE, "enable"), "timezone": ("str", None)}},
    "system console": {"options": {"output": ("enum:standard|more", "more"),
                                   "login": (ENABLE, "enable")}},
    "system password-policy": {"options": {
        "status": (ENABLE, "disable"), "apply-to": ("enums:admin-password|ipsec-preshared-key", "admin-password"),
        "minimum-length": ("int:8-128", "8"), "min-lower-case-letter": ("int:0-128", "0"),
        "min-upper-case-letter": ("int:0-128", "0"), "min-non-alphanumeric": ("int:0-128", "0"),
        "min-number": ("int:0-128", "0"), "expire-status": (ENABLE, "disable"),
        "expire-day": ("int:1-999", "90"), "reuse-password": (ENABLE, "enable")}},
    "system interface": {"entries": True, "options": {
        "vdom": ("str", "root"), "mode": ("enum:static|dhcp|pppoe", "static"), "ip": ("ipmask", "0.0.0.0 0.0.0.0"),
        "allowaccess": ("enums:ping|https|ssh|snmp|http|telnet|fgfm|radius-acct|probe-response|fabric|ftm", ""),
        "status": ("enum:up|down", "up"), "type": ("enum:physical|vlan|aggregate|loopback|tunnel|hard-switch",
                                                   "vlan"),
        "role": ("enum:lan|wan|dmz|undefined", "undefined"), "description": ("str", ""), "alias": ("str", ""),
        "snmp-index": ("int:0-2147483647", None)},
        "tables": {"ipv6": {"options": {
            "ip6-mode": ("enum:static|dhcp|pppoe|delegated", "static"), "ip6-address": ("ip6net", "::/0"),
            "ip6-allowaccess": ("enums:ping|https|ssh|snmp|http|telnet|fgfm|fabric", "")}}}},
    "system admin": {"entries": True, "options": {
        "remote-auth": (ENABLE, "disable"), **TRUSTHOSTS, **IP6_TRUSTHOSTS,
        "accprofile": ("str", ""), "comments": ("str", ""), "vdom": ("strs", "root"),
        "password": ("password", None)}},
    "system replacemsg admin pre_admin-disclaimer-text": {"options": {
        "buffer": ("text", None), "header": ("enum:none|http|8bit", "none"), "format": ("enum:none|text|html",
                                                                                       "text")}},
    "system replacemsg admin post_admin-disclaimer-text": {"options": {
        "buffer": ("text", None), "header": ("enum:none|http|8bit", "none"), "format": ("enum:none|text|html",
                                                                                       "text")}},
    "system ntp": {"options": {
        "ntpsync": (ENABLE, "disable"), "type": ("enum:fortiguard|custom", "fortiguard"),
        "syncinterval": ("int:1-1440", "60"), "source-ip": ("ip", "0.0.0.0"), "server-mode": (ENABLE, "disable")},
        "tables": {"ntpserver": {"entries": True, "options": {
            "server": ("str", ""), "ntpv3": (ENABLE, "disable"), "authentication": (ENABLE, "disable")}}}},
    "system snmp sysinfo": {"options": {"status": (ENABLE, "disable"), "location": ("str", "")}},
    "system snmp community": {"entries": True, "options": {
        "name": ("str", ""), "status": (ENABLE, "enable"), "query-v1-status": (ENABLE, "enable"),
        "query-v2c-status": (ENABLE, "enable")},
        "tables": {"hosts": {"entries": True, "options": {"ip": ("ipmask", "0.0.0.0 0.0.0.0")}}}},
    "log syslogd setting": {"options": {
        "status": (ENABLE, "disable"), "server": ("str", ""), "mode": ("enum:udp|legacy-reliable|reliable", "udp"),
        "port": ("int:0-65535", "514"), "facility": ("str", "local7"),
        "format": ("enum:default|csv|cef|rfc5424", "default"),
        "enc-algorithm": ("enum:high-medium|high|low|disable", "disable")}},
    "log syslogd filter": {"options": {"severity": (SEVERITY, "information")}},
    "log memory setting": {"options": {"status": (ENABLE, "disable")}},
    "log memory global-setting": {"options": {"max-size": ("int:0-4294967295", "163840")}},
    "log memory filter": {"options": {"severity": (SEVERITY, "information")}},
    "log disk setting": {"options": {"status": (ENABLE, "disable"), "maximum-log-age": ("int:0-3650", "7")}},
    "firewall policy": {"entries": True, "options": {
        "name": ("str", ""), "uuid": ("str", None), "srcintf": ("strs", ""), "dstintf": ("strs", ""),
        "action": ("enum:accept|deny|ipsec", "deny"), "srcaddr": ("strs", ""), "dstaddr": ("strs", ""),
        "srcaddr-negate": (ENABLE, "disable"), "dstaddr-negate": (ENABLE, "disable"),
        "status": (ENABLE, "enable"), "schedule": ("str", ""), "service": ("strs", ""),
        "service-negate": (ENABLE, "disable"), "logtraffic": ("enum:all|utm|disable", "utm"),
        "nat": (ENABLE, "disable"), "comments": ("str", "")}},
}

RC_PARSE = "Command fail. Return code -61"
RC_VALUE = "Command fail. Return code -651"


# --- the configuration tree --------------------------------------------------------------------------------

@dataclass
class Block:
    """A `config` table or an `edit` entry: options (raw words as typed, quotes removed), nested blocks."""

    name: str
    options: dict[str, list[str]] = field(default_factory=dict)
    tables: dict[str, Block] = field(default_factory=dict)
    entries: dict[str, Block] = field(default_factory=dict)

    def copy(self) -> Block:
        return Block(self.name, {k: list(v) for k, v in self.options.items()},
                     {k: v.copy() for k, v in self.tables.items()}, {k: v.copy() for k, v in self.entries.items()})


def words_of(text: str) -> list[str] | None:
    """The words of a statement, quotes removed (backslash escapes inside quotes); None: a quote is open."""
    words: list[str] = []
    current: list[str] = []
    quote: str | None = None
    started = False
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and index + 1 < len(text):
                current.append(text[index + 1])
                index += 1
            elif char == quote:
                quote = None
            else:
                current.append(char)
        elif char in "\"'":
            quote, started = char, True
        elif char in " \t":
            if started:
                words.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
        index += 1
    if quote:
        return None
    if started:
        words.append("".join(current))
    return words


def parse_text(text: str) -> Block:
    """The device's stored configuration text as a tree (the simulator's own text: well formed)."""
    root = Block("")
    stack = [root]
    pending = ""
    for raw in text.splitlines():
        if not pending and (not raw.strip() or raw.strip().startswith("#")):
            continue
        pending = f"{pending}\n{raw}" if pending else raw.strip()
        words = words_of(pending)
        if words is None:
            continue
        pending = ""
        keyword, rest = words[0], words[1:]
        node = stack[-1]
        if keyword == "config":
            stack.append(node.tables.setdefault(" ".join(rest), Block(" ".join(rest))))
        elif keyword == "edit":
            stack.append(node.entries.setdefault(" ".join(rest), Block(" ".join(rest))))
        elif keyword in {"next", "end"}:
            stack.pop()
        elif keyword == "set" and rest:
            node.options[rest[0]] = rest[1:]
    return root


def quote(word: str) -> str:
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_value(kind: str, words: list[str]) -> str:
    if kind in {"str", "strs", "text"}:
        return " ".join(quote(w) for w in words) if words else "''"
    if kind in {"password", "passwd"}:
        return " ".join(words)
    return " ".join(words)


def render(block: Block, schema: dict[str, Any] | None, full: bool, depth: int, out: list[str]) -> None:
    """The options and nested blocks of `block` as FortiOS prints them (schema order; full: defaults too)."""
    pad = "    " * depth
    options = (schema or {}).get("options")
    if options is None:
        for name, words in block.options.items():
            shown = " ".join(w if re.fullmatch(r"[A-Za-z0-9.:/_-]+", w) else quote(w) for w in words)
            out.append(f"{pad}set {name} {shown}".rstrip())
    else:
        for name, (kind, default) in options.items():
            if name in block.options:
                words = block.options[name]
            elif full and default is not None:
                words = default.split() if kind not in {"str", "text"} else ([default] if default else [])
            else:
                continue
            if not full and default is not None and " ".join(words) == default:
                continue
            out.append(f"{pad}set {name} {render_value(kind, words)}".rstrip() if words or kind in {"str", "strs"}
                       else f"{pad}set {name} ")
    nested = (schema or {}).get("tables", {})
    for name, table in block.tables.items():
        out.append(f"{pad}config {name}")
        render_table(table, nested.get(name), full, depth + 1, out)
        out.append(f"{pad}end")


def render_table(table: Block, schema: dict[str, Any] | None, full: bool, depth: int, out: list[str]) -> None:
    pad = "    " * (depth - 1)
    if table.entries or (schema or {}).get("entries"):
        for name, entry in table.entries.items():
            out.append(f"{pad}    edit {name if name.isdigit() else quote(name)}")
            render(entry, schema, full, depth + 1, out)
            out.append(f"{pad}    next")
    else:
        render(table, schema, full, depth, out)


def render_config(root: Block, full: bool, only: str | None = None) -> str:
    out: list[str] = []
    for path, table in root.tables.items():
        if only is not None and path != only:
            continue
        head = path
        if path.startswith("system replacemsg "):
            group, _, message = path.rpartition(" ")
            head = f"{group} {quote(message)}"
        body: list[str] = []
        render_table(table, SCHEMA.get(path), full, 1, body)
        if body or full or only is not None:
            out += [f"config {head}", *body, "end"]
    return "\n".join(out) + ("\n" if out else "")


# --- values --------------------------------------------------------------------------------------------------

def _ip(word: str) -> bool:
    parts = word.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def check_value(kind: str, words: list[str]) -> str | None:
    """The first word FortiOS would refuse for an option of this type (None: all fine)."""
    base, _, arg = kind.partition(":")
    if base == "enum":
        return None if len(words) == 1 and words[0] in arg.split("|") else (words[1] if len(words) > 1 and
                                                                             words[0] in arg.split("|")
                                                                             else (words or [""])[0])
    if base == "enums":
        return next((w for w in words if w not in arg.split("|")), None)
    if base == "int":
        low, high = (int(x) for x in arg.split("-"))
        ok = len(words) == 1 and words[0].isdigit() and low <= int(words[0]) <= high
        return None if ok else (words or [""])[0]
    if base == "ip":
        return None if len(words) == 1 and _ip(words[0]) else (words or [""])[0]
    if base == "ipmask":
        if len(words) == 1 and "/" in words[0]:
            address, _, bits = words[0].partition("/")
            return None if _ip(address) and bits.isdigit() and int(bits) <= 32 else words[0]
        return None if len(words) == 2 and _ip(words[0]) and _ip(words[1]) else (words or [""])[0]
    if base in {"ip6", "ip6net"}:
        return None if len(words) == 1 and ":" in words[0] else (words or [""])[0]
    return None if words else ""


def normalise_value(kind: str, words: list[str]) -> list[str]:
    """What the device stores: masks for CIDR, hashed/encrypted passwords."""
    if kind == "ipmask" and len(words) == 1:
        address, _, bits = words[0].partition("/")
        mask = (0xFFFFFFFF << (32 - int(bits))) & 0xFFFFFFFF
        return [address, ".".join(str((mask >> s) & 0xFF) for s in (24, 16, 8, 0))]
    if kind == "password" and words and words[0] != "ENC":
        digest = hashlib.sha256(b"netsim-salt" + " ".join(words).encode()).digest()
        return ["ENC", "SH2" + base64.b64encode(b"netsim-salt!" + digest).decode()]
    if kind == "passwd" and words and words[0] != "ENC":
        return ["ENC", base64.b64encode(bytes(b ^ 0x5A for b in " ".join(words).encode())).decode()]
    return words


def unknown_word(root: Block, words: list[str], command: str) -> str:
    """The word FortiOS names in `command parse error before '…'`: the first one no table path continues."""
    known = [path.split() for path in [*SCHEMA, *root.tables]]
    depth = max((n for path in known for n in range(len(words) + 1) if path[:n] == words[:n]), default=0)
    return words[depth] if depth < len(words) else command


# --- the session ---------------------------------------------------------------------------------------------

@dataclass
class Frame:
    """An open `config` table or `edit` entry in the session: the node edited and its schema."""

    path: str            # schema path of the table (`system interface`, `system interface ipv6`)
    node: Block
    schema: dict[str, Any] | None
    entry: bool = False
    label: str = ""


TOP = Grammar([
    ("get system status", "cmd_status"), ("get system console", "cmd_console"),
    ("get system interface physical", "cmd_physical"),
    ("show full-configuration *", "cmd_show_full"), ("show *", "cmd_show"),
    ("diagnose sys ntp status", "cmd_ntp"), ("diagnose sys process pidof {word}", "cmd_pidof"),
    ("execute date", "cmd_date"),
    ("config *", "cmd_config"), ("exit", "cmd_exit"),
], abbreviate=False)


class FortiOSPersonality(Personality):
    platform: ClassVar[str] = "fortios"
    prompts: ClassVar[dict[str, str]] = {"exec": "{hostname} # "}

    # -- state -------------------------------------------------------------------------------------------

    def tree(self) -> Block:
        return parse_text(self.state.running)

    def store(self, session: Session | None, root: Block) -> None:
        self.set_running(session, render_config(root, full=False))

    def hostname(self) -> str:
        glob = self.tree().tables.get("system global")
        name = glob.options.get("hostname") if glob else None
        return name[0] if name else self.device.params.get("model", "FGT60F")

    def prompt(self, session: Session) -> str:
        frames: list[Frame] = session.vars.get("frames", [])
        if not frames:
            return f"{self.hostname()} # "
        return f"{self.hostname()} ({frames[-1].label}) # "

    def option(self, root: Block, path: str, name: str) -> str:
        table = root.tables.get(path)
        words = table.options.get(name) if table else None
        if words is not None:
            return " ".join(words)
        default = SCHEMA.get(path, {}).get("options", {}).get(name, ("", None))[1]
        return default or ""

    def banner(self, root: Block, which: str) -> str | None:
        if self.option(root, "system global", f"{which}-login-banner") != "enable":
            return None
        table = root.tables.get(f"system replacemsg admin {which}_admin-disclaimer-text")
        words = table.options.get("buffer") if table else None
        return words[0] if words else None

    def auth_banner(self) -> str | None:
        text = self.banner(self.tree(), "pre")
        return text + "\n" if text else None

    async def on_connect(self, session: Session) -> None:
        session.vars["frames"] = []
        text = self.banner(self.tree(), "post")
        if text:
            session.writeln(text)
            while True:
                session.write("(Press 'a' to accept):")
                answer = await session.readline()
                if answer.strip().lower() == "a":
                    break

    # -- dispatch ------------------------------------------------------------------------------------------

    async def dispatch(self, session: Session, line: str) -> None:
        if not line.strip():
            return
        frames: list[Frame] = session.vars.setdefault("frames", [])
        if frames:
            self.config_line(session, line)
            return
        session.vars["grep"] = None
        if " | grep " in line:
            line, _, pattern = line.partition(" | grep ")
            session.vars["grep"] = pattern.strip()
        match = TOP.match(line.strip())
        if isinstance(match, Match):
            getattr(self, str(match.value))(session, match)
            return
        session.writeln("Unknown action 0")
        session.writeln("Command fail. Return code -1")

    def output(self, session: Session, text: str) -> None:
        pattern = session.vars.get("grep")
        if pattern:
            flags = 0
            words = pattern.split()
            if words and words[0] == "-i":
                flags, words = re.I, words[1:]
            regex = re.compile(" ".join(words).strip("'\""), flags)
            text = "".join(x + "\n" for x in text.splitlines() if regex.search(x))
        session.write(text if text.endswith("\n") or not text else text + "\n")

    def fail(self, session: Session, what: str, word: str, code: str = RC_PARSE) -> None:
        session.writeln(f"{what} error before '{word}'")
        session.writeln(code)

    # -- configuration -------------------------------------------------------------------------------------

    def cmd_config(self, session: Session, match: Match) -> None:
        words = words_of(match.rest) or []
        path = " ".join(words)
        root = self.tree()
        schema = SCHEMA.get(path)
        if schema is None and path not in root.tables:
            self.fail(session, "command parse", unknown_word(root, words, "config"))
            return
        table = root.tables.get(path) or Block(path)
        label = words[-1] if words else path
        session.vars["frames"] = [Frame(path, table.copy(), schema, label=label)]

    def config_line(self, session: Session, line: str) -> None:
        session.before_config_line()
        words = words_of(line.strip())
        if words is None:
            self.fail(session, "command parse", line.strip().split()[0])
        elif session.rejected_by_fault(line):
            self.fail(session, "command parse", words[0])
        else:
            self.apply(session, words)
        session.after_config_line()

    def apply(self, session: Session, words: list[str]) -> None:
        """One line inside `config`: a verb of the table (set/unset/append), of a table of entries
        (edit/delete), a nested `config`, or a block end (next/end/abort), else a parse error."""
        frames: list[Frame] = session.vars["frames"]
        frame = frames[-1]
        keyword, rest = words[0], words[1:]
        holds_entries = bool((frame.schema or {}).get("entries")) and not frame.entry
        if keyword in {"set", "unset", "append"} and not holds_entries:
            self.set_option(session, frame, keyword, rest)
        elif keyword in {"edit", "delete"} and holds_entries and rest:
            self.entry(session, frames, keyword, " ".join(rest))
        elif keyword == "config" and rest and not holds_entries:
            nested = (frame.schema or {}).get("tables", {}).get(" ".join(rest))
            if nested is None:
                self.fail(session, "command parse", rest[0])
                return
            table = frame.node.tables.setdefault(" ".join(rest), Block(" ".join(rest)))
            frames.append(Frame(f"{frame.path} {' '.join(rest)}", table, nested, label=rest[-1]))
        elif keyword in {"next", "end", "abort"} and (keyword != "next" or frame.entry):
            self.close(session, frames, keyword)
        elif keyword in {"show", "get"}:
            out: list[str] = []
            full = keyword == "get" or rest[:1] == ["full-configuration"]
            if frame.entry:
                render(frame.node, frame.schema, full, 1, out)
            else:
                render_table(frame.node, frame.schema, full, 1, out)
            self.output(session, "\n".join(out) + "\n" if out else "")
        else:
            self.fail(session, "command parse", keyword)

    def set_option(self, session: Session, frame: Frame, keyword: str, rest: list[str]) -> None:
        options: dict[str, tuple[str, str | None]] = (frame.schema or {}).get("options", {})
        if not rest or rest[0] not in options:
            self.fail(session, "command parse", rest[0] if rest else keyword)
            return
        name, values = rest[0], rest[1:]
        kind = options[name][0]
        if keyword == "unset":
            frame.node.options.pop(name, None)
            return
        if keyword == "append":
            values = frame.node.options.get(name, []) + values
        bad = None if kind == "enums" and not values else check_value(kind, values)
        if bad is not None:
            self.fail(session, "value parse", bad, RC_VALUE)
            return
        frame.node.options[name] = normalise_value(kind, values)

    def entry(self, session: Session, frames: list[Frame], keyword: str, name: str) -> None:
        frame = frames[-1]
        if keyword == "delete":
            if frame.node.entries.pop(name, None) is None:
                session.writeln("entry not found in datasource")
                session.writeln(RC_VALUE)
            return
        if name not in frame.node.entries:
            session.writeln(f"new entry '{name}' added")
            frame.node.entries[name] = Block(name)
        frames.append(Frame(frame.path, frame.node.entries[name], frame.schema, entry=True, label=name))

    def close(self, session: Session, frames: list[Frame], keyword: str) -> None:
        """`next` closes an entry, `end` a table (and the entry it is in), both keeping the changes; `abort`
        leaves the whole `config` block dropping what was not yet kept."""
        if keyword == "abort":
            frames.clear()
            return
        top = frames[0]
        if frames[-1].entry:
            frames.pop()
        if keyword == "end":
            frames.pop()
        self.commit(session, top)

    def commit(self, session: Session, top: Frame) -> None:
        """`next`/`end`: the session's copy of the outermost table replaces the stored one."""
        root = self.tree()
        root.tables[top.path] = top.node.copy()
        self.store(session, root)

    # -- exec commands -------------------------------------------------------------------------------------

    def version(self) -> tuple[str, str, str]:
        params = self.device.params
        return str(params.get("model", "FGT60F")), str(params.get("software", "7.2.8")), str(params.get("build",
                                                                                                       "1639"))

    def header(self, session: Session) -> str:
        model, software, build = self.version()
        changes = int(self.state.changed_at.timestamp())
        return (f"#config-version={model}-{software}-FW-build{build}-240313:opmode=0:vdom=0:user={session.username}\n"
                f"#conf_file_ver={changes}\n#buildno={build}\n#global_vdom=1\n")

    def cmd_show_full(self, session: Session, match: Match) -> None:
        self.show(session, match.rest, full=True)

    def cmd_show(self, session: Session, match: Match) -> None:
        self.show(session, match.rest, full=False)

    def show(self, session: Session, rest: str, full: bool) -> None:
        root = self.tree()
        if full:  # every described table, at its defaults when the text has none (after the stored ones)
            for path, schema in SCHEMA.items():
                if not schema.get("entries") and not path.startswith("system replacemsg"):
                    root.tables.setdefault(path, Block(path))
        words = words_of(rest) or []
        if words:
            path = " ".join(words)
            if path not in root.tables and path not in SCHEMA:
                self.fail(session, "command parse", unknown_word(root, words, "show"))
                return
            self.output(session, render_config(root, full, only=path))
            return
        self.output(session, self.header(session) + render_config(root, full))

    def cmd_console(self, session: Session, match: Match) -> None:
        root = self.tree()
        self.output(session, f"output              : {self.option(root, 'system console', 'output')}\n"
                             f"login               : {self.option(root, 'system console', 'login')}\n")

    def cmd_status(self, session: Session, match: Match) -> None:
        model, software, build = self.version()
        now = time_now()
        self.output(session, f"""Version: FortiGate-{model.removeprefix('FGT')} v{software},build{build},240313 (GA.M)
Firmware Signature: certified
Virus-DB: 92.03241(2024-11-28 09:27)
Serial-Number: {model}TK22000001
BIOS version: 05000019
Log hard disk: Not available
Hostname: {self.hostname()}
Private Encryption: Disable
Operation Mode: NAT
Current virtual domain: root
Max number of virtual domains: 10
Virtual domains status: 1 in NAT mode, 0 in TP mode
Virtual domain configuration: disable
FIPS-CC mode: disable
Current HA mode: standalone
Branch point: {build}
Release Version Information: GA
System time: {now.strftime('%a %b %d %H:%M:%S %Y')}
Last reboot reason: warm reboot
""")

    def cmd_date(self, session: Session, match: Match) -> None:
        self.output(session, f"current date is: {time_now().strftime('%Y-%m-%d')}\n")

    def ntp_servers(self, root: Block) -> list[str]:
        if self.option(root, "system ntp", "ntpsync") != "enable":
            return []
        if self.option(root, "system ntp", "type") == "fortiguard":
            return ["ntp1.fortiguard.com", "ntp2.fortiguard.com"]
        table = root.tables.get("system ntp")
        servers = table.tables.get("ntpserver") if table else None
        return [e.options["server"][0] for e in (servers.entries.values() if servers else [])
                if e.options.get("server")]

    def cmd_ntp(self, session: Session, match: Match) -> None:
        root = self.tree()
        servers = self.ntp_servers(root)
        reachable = [s for s in servers if s in self.device.params.get("ntp_reachable", [])]
        sync = self.option(root, "system ntp", "ntpsync") == "enable"
        lines = [f"synchronized: {'yes' if reachable else 'no'}, ntpsync: {'enabled' if sync else 'disabled'}, "
                 f"server-mode: disabled", ""]
        for server in servers:
            if server in reachable:
                mark = " selected" if server == reachable[0] else ""
                lines += [f"ipv4 server({server}) {server} -- reachable(0xff) S:4 T:24{mark}",
                          "        server-version=4, stratum=3",
                          "        clock offset is 0.000451 sec, correction is 0 msec",
                          "        round trip delay is 0.000612 sec", ""]
            else:
                lines += [f"ipv4 server({server}) {server} -- unreachable(0x0) S:0 T:24", "        no data", ""]
        self.output(session, "\n".join(lines))

    def cmd_pidof(self, session: Session, match: Match) -> None:
        if match.words[-1] == "miglogd" and self.device.params.get("logd_running", True):
            self.output(session, "208 211 212\n")
        else:
            self.output(session, "")

    def cmd_physical(self, session: Session, match: Match) -> None:
        root = self.tree()
        table = root.tables.get("system interface")
        lines = ["== [onboard]"]
        for name, entry in (table.entries.items() if table else []):
            if entry.options.get("type") != ["physical"]:
                continue
            up = entry.options.get("status", ["up"]) == ["up"] and name in self.device.params.get("links_up", [])
            ip = " ".join(entry.options.get("ip", ["0.0.0.0", "0.0.0.0"]))
            lines += [f"\t==[{name}]", f"\t\tmode: {' '.join(entry.options.get('mode', ['static']))}",
                      f"\t\tip: {ip}", "\t\tipv6: ::/0", f"\t\tstatus: {'up' if up else 'down'}",
                      f"\t\tspeed: {'1000Mbps (Duplex: full)' if up else 'n/a'}"]
        self.output(session, "\n".join(lines) + "\n")

    def cmd_exit(self, session: Session, match: Match) -> None:
        session.closed = True
        session.process.exit(0)

    def invalid(self, session: Session, line: str, why: NoMatch) -> None:
        session.writeln("Unknown action 0")
        session.writeln("Command fail. Return code -1")


PERSONALITY = FortiOSPersonality
