"""YAMAHA RTX personality: what netmiko's real `yamaha` driver (and the hardening yamaha_rtx platform) drive.

The general-user prompt is `NAME> ` (NAME from `console prompt`, none by default: `> `); `administrator` asks
`Password:` (no echo) for the administrator password and gives `NAME# `; there is no configuration mode: in
administrator mode every configuration command applies at once (`no COMMAND` removes it). `save` writes the running
configuration to CONFIG0; `exit`/`quit` from administrator mode with unsaved changes asks `Save new configuration ?
(Y/N)` (netmiko answers N). `console lines infinity` (netmiko's paging off) is a session setting. `pp select N` /
`tunnel select N` select an interface: the lines that follow are stored indented under it, as `show config` shows.

Commands are full words (RTX does not take abbreviations). A line no template takes is rejected the way RTX
rejects it: an unknown command name gives `Error: Invalid command name` (`エラー: コマンド名を確認してください`
on a Japanese console), known words with wrong parameters `Error: Invalid parameter` (`エラー: パラメータが不適当
です`), a configuration command at the general-user prompt `Error: Permission denied` (`エラー: 権限がありません`).

Outputs generated from the configuration text: `show config` (the documented `#` header: model and revision, MAC
addresses, memory, reporting date), `show environment`, `show log` (the internal log: logins, administrator,
saves and the scheduled ntpdate runs, stamped `YYYY/MM/DD HH:MM:SS:`). Live settings from lab.yaml params:
  model: RTX830, revision: "15.02.26"     (show config header, show environment)
  ntp_reachable: [10.203.0.10, ...]       ntpdate servers that answer (the log records the adjustment)
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import zlib
from typing import ClassVar

from .core import (
    ConfigTree,
    Device,
    DeviceState,
    EditRules,
    Grammar,
    Match,
    Node,
    NoMatch,
    Session,
    SessionClosed,
    TreePersonality,
    time_now,
)

# --- the configuration grammar (data) -------------------------------------------------------------------
# `|` ends the key: a line with the same key replaces the old one; `*` is the free rest.
GLOBAL = [
    "login password | *", "administrator password | *", "login user {word} | *",
    "login timer | {word}", "security class | *",
    "console character | {word}", "console prompt | *", "console info | {word}", "console columns | {word}",
    "timezone | {word}",
    "ip route {word} | *", "ip {word} address | *", "ip {word} secure filter in | *",
    "ip {word} secure filter out | *", "ip {word} nat descriptor | *", "ip {word} mtu | *",
    "ip filter {int} | *", "ip filter dynamic {int} | *", "ip filter source-route | {word}",
    "ip filter directed-broadcast | {word}", "description {word} | *",
    "nat descriptor type {int} | *", "nat descriptor address outer {int} | *", "nat descriptor masquerade *",
    "telnetd service | {word}", "telnetd host | *", "telnetd listen | {int}", "telnetd session | {int}",
    "sshd service | {word}", "sshd host key generate | *", "sshd host | *", "sshd listen | {int}",
    "sshd auth method | *", "sftpd host | *",
    "httpd service | {word}", "httpd host | *", "httpd listen | {int}", "httpd timeout | {int}",
    "tftp host | *",
    "syslog host {word} | *", "syslog facility | {word}", "syslog notice | {word}", "syslog info | {word}",
    "syslog debug | {word}", "syslog local address | *",
    "snmp host | *", "snmp community read-only | *", "snmp community read-write | *",
    "snmp sysname | *", "snmp syslocation | *", "snmp syscontact | *",
    "snmpv1 host {word} | *", "snmpv2c host {word} | *", "snmpv2c community read-only | *",
    "snmpv2c community read-write | *", "snmpv3 host {word} | *", "snmpv3 usm user {int} | *",
    "snmpv3 vacm view {int} | *", "snmpv3 vacm access {int} | *", "snmpv3 engine id | *",
    "schedule at {int} | *", "sntpd service | {word}", "sntpd host | *",
    "dns server | *", "dns host | *", "dns service | *", "dns private address spoof | {word}",
    "dhcp service | {word}", "dhcp server rfc2131 compliant | *", "dhcp scope {int} | *",
    "statistics traffic | {word}", "statistics nat | {word}",
]
PP_LINES = [
    "description pp | *", "pp always-on | {word}", "pppoe use | {word}", "pppoe auto disconnect | {word}",
    "pp auth accept | *", "pp auth myname | *", "ppp lcp mru | *", "ppp ipcp ipaddress | {word}",
    "ppp ipcp msext | {word}", "ppp ccp type | {word}", "ip pp secure filter in | *",
    "ip pp secure filter out | *", "ip pp nat descriptor | *", "ip pp mtu | {int}", "pp enable | {int}",
    "pp keepalive interval | *",
]
TUNNEL_LINES = [
    "description tunnel | *", "tunnel encapsulation | {word}", "ipsec tunnel | {int}", "ipsec sa policy {int} | *",
    "ipsec ike {word} {int} | *", "ip tunnel secure filter in | *", "ip tunnel secure filter out | *",
    "ip tunnel tcp mss limit | *", "tunnel enable | {int}",
]
SECTIONS = [("pp select {word}", "pp"), ("tunnel select {word}", "tunnel")]

RULES = EditRules(grammars={"": Grammar(GLOBAL, abbreviate=False), "pp": Grammar(PP_LINES, abbreviate=False),
                            "tunnel": Grammar(TUNNEL_LINES, abbreviate=False)},
                  sections=Grammar(SECTIONS, abbreviate=False), separator=None, trailer=None, tail=())

# The exec commands: template -> handler method; ADMIN only after `administrator`.
USER_EXEC = [
    ("administrator", "cmd_administrator"), ("exit", "cmd_exit"), ("quit", "cmd_exit"),
    ("console lines {word}", "cmd_console_lines"), ("console character {word}", "cmd_console_character"),
    ("show environment", "show_environment"), ("show config", "show_config"), ("less config", "show_config"),
    ("show log", "show_log"), ("show log reverse", "show_log_reverse"),
]
ADMIN_EXEC = [
    ("save", "cmd_save"), ("save {word}", "cmd_save"), ("show config {int}", "show_startup"),
]
# First words that start a configuration command (a line starting with one that fits no template has wrong
# parameters; any other first word is an unknown command name).
MESSAGES = {
    "en": {"name": "Error: Invalid command name", "parameter": "Error: Invalid parameter",
           "incomplete": "Error: Invalid number of parameters", "permission": "Error: Permission denied",
           "password": "Incorrect password", "save": "Saving ... CONFIG0 Done ."},
    "ja": {"name": "エラー: コマンド名を確認してください", "parameter": "エラー: パラメータが不適当です",
           "incomplete": "エラー: パラメータの数が不適当です", "permission": "エラー: 権限がありません",
           "password": "パスワードが違います", "save": "セーブ中... CONFIG0 終了"},
}
DEFAULT_MODEL, DEFAULT_REVISION = "RTX830", "15.02.26"
BUILD_DATES = {"RTX830": "Tue Aug  1 12:00:00 2023", "RTX1210": "Fri Oct 13 10:07:42 2023",
               "RTX1300": "Mon Mar 11 16:43:03 2024", "RTX5000": "Wed Jun 14 18:21:05 2023"}
JST = dt.timezone(dt.timedelta(hours=9))


async def read_key(session: Session) -> str:
    """One key without Enter (the Y/N question takes a single key; netmiko's yamaha driver sends a bare `N`)."""
    while True:
        buffered = getattr(session, "_buffer", "")
        for index, char in enumerate(buffered):
            if char.strip():
                session._buffer = buffered[index + 1:].lstrip("\r\n")  # the core keeps no single-key read
                return char
        session._buffer = ""
        try:
            data = await session.process.stdin.read(1)
        except Exception:
            raise SessionClosed from None
        if not data:
            raise SessionClosed
        session._buffer = data


def _wrap(line: str, width: int = 80) -> list[str]:
    """`show config` breaks its long `# main:` header line at the console width, mid-word."""
    return [line[i:i + width] for i in range(0, len(line), width)]


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(JST).strftime("%Y/%m/%d %H:%M:%S")


class RTXPersonality(TreePersonality):
    platform: ClassVar[str] = "yamaha_rtx"
    rules: ClassVar[EditRules] = RULES
    prompts: ClassVar[dict[str, str]] = {"exec": "{hostname}> ", "privileged": "{hostname}# ",
                                         "config-pp": "{hostname}{context}# ", "config-tunnel": "{hostname}{context}# "}

    def __init__(self, device: Device, state: DeviceState) -> None:
        super().__init__(device, state)
        self.log: list[str] = [f"{_stamp(time_now())}: System started"]
        self.ntp_done: set[str] = set()

    # -- identity ------------------------------------------------------------------------------------------

    def setting(self, *prefix: str) -> list[str] | None:
        found = None
        for line in self.state.running.splitlines():
            words = line.split()
            if words[:len(prefix)] == list(prefix):
                found = words[len(prefix):]
        return found

    def hostname(self) -> str:
        words = self.setting("console", "prompt")
        return " ".join(words).strip('"') if words else ""

    def language(self, session: Session) -> str:
        character = session.vars.get("character") or (self.setting("console", "character") or ["ja.utf8"])[0]
        return "ja" if str(character).startswith("ja") else "en"

    def message(self, session: Session, key: str) -> str:
        return MESSAGES[self.language(session)][key]

    def model(self) -> tuple[str, str]:
        return (str(self.device.params.get("model", DEFAULT_MODEL)),
                str(self.device.params.get("revision", DEFAULT_REVISION)))

    def prompt(self, session: Session) -> str:
        if session.mode.startswith("config-") and session.privileged:
            kind, _, number = str(session.context or "").partition(" select ")
            return self.prompts[session.mode].format(hostname=self.hostname(), context=f"{kind}{number}")
        return super().prompt(session)

    # -- session -------------------------------------------------------------------------------------------

    async def on_connect(self, session: Session) -> None:
        model, revision = self.model()
        session.writeln()
        session.writeln(f"{model} Rev.{revision} ({BUILD_DATES.get(model, 'Mon Jan  1 00:00:00 2024')})")
        session.writeln("  Copyright (c) 1994-2024 Yamaha Corporation. All Rights Reserved.")
        session.writeln('To display the configuration, enter "show config"')
        session.writeln('To display the command list, enter "show command"')
        session.writeln()
        peer = session.process.get_extra_info("peername") or ("-", 0)
        self.record(f"Login succeeded as {session.username} for SSH: {peer[0]}")
        self.run_schedules()

    def record(self, text: str) -> None:
        self.log.append(f"{_stamp(time_now())}: {text}")
        del self.log[:-3000]

    def run_schedules(self) -> None:
        """The scheduled ntpdate runs since the simulator started: one log line per reachable server, once."""
        reachable = {str(x) for x in self.device.params.get("ntp_reachable", [])}
        for line in self.state.running.splitlines():
            words = line.split()
            if words[:2] != ["schedule", "at"] or "ntpdate" not in words:
                continue
            index = words.index("ntpdate")
            server = words[index + 1] if index + 1 < len(words) else ""
            if server and server not in self.ntp_done:
                self.ntp_done.add(server)
                self.record(f"NTP: Adjust time by {server}" if server in reachable
                            else f"NTP: Failed to adjust time by {server} (no response)")

    def commands(self, session: Session) -> Grammar:
        table = USER_EXEC + (ADMIN_EXEC if session.privileged else [])
        return Grammar(table, abbreviate=False)

    async def dispatch(self, session: Session, line: str) -> None:
        if not line.strip():
            return
        match = self.commands(session).match(line)
        if isinstance(match, Match):
            result = getattr(self, str(match.value))(session, match)
            if result is not None:
                await result
            return
        if not session.privileged:
            known = self.known_configuration(line)
            session.writeln(self.message(session, "permission" if known else "name"))
            return
        if session.mode == "exec":
            session.mode = "config"  # RTX has no configuration mode: every administrator line is configuration
        await self.configure(session, line, match)
        if session.mode == "config":
            session.mode = "exec"

    def known_configuration(self, line: str) -> bool:
        """The line starts with the name of a configuration command (its parameters may still be wrong)."""
        body = line.split()[1:] if line.split()[:1] == ["no"] else line.split()
        first = body[0] if body else ""
        return first in {"pp", "tunnel", "user"} or any(
            tokens[0] == first for grammar in self.rules.grammars.values() for _, tokens, _ in grammar.templates)

    def invalid(self, session: Session, line: str, why: NoMatch) -> None:
        if not self.known_configuration(line):
            session.writeln(self.message(session, "name"))
        elif why.kind == "incomplete":
            session.writeln(self.message(session, "incomplete"))
        else:
            session.writeln(self.message(session, "parameter"))

    async def apply_special(self, session: Session, tree: ConfigTree, container: Node | None,
                            line: str) -> NoMatch | bool | None:
        """`pp select none` / `tunnel select none` end the selection; `user attribute [USER] K=V …` is keyed by
        its user (none named = the anonymous user), which a template placeholder cannot tell from `K=V`."""
        words = line.split()
        if words[1:3] == ["select", "none"] and words[:1] in (["pp"], ["tunnel"]):
            session.mode, session.context = "exec", None
            return None
        negated = words[:1] == ["no"]
        body = words[1:] if negated else words
        if not negated and body[:2] == ["login", "user"] and len(body) == 4:
            # `login user NAME PASSWORD`: typed in clear, stored encrypted (shown as `login user NAME encrypted …`)
            encrypted = base64.b64encode(hashlib.sha256(f"{body[2]}:{body[3]}".encode()).digest()[:16]).decode()
            tree.set_line(None, Match("login user {word} | *", ["login", "user", body[2], "encrypted",
                                                                encrypted.rstrip("=")], ("login", "user", body[2]),
                                      "", None, -1))
            self.set_running(session, tree.render())
            return None
        if body[:2] != ["user", "attribute"]:
            return False
        user = body[2] if len(body) > 2 and "=" not in body[2] else ""
        if not negated and (len(body) < 3 or not all("=" in w for w in body[3 if user else 2:])
                            or len(body) == (3 if user else 2)):
            return NoMatch("invalid", len(line))

        def same_user(node: Node) -> bool:
            w = node.words()
            if w[:2] != ["user", "attribute"]:
                return False
            return (w[2] if len(w) > 2 and "=" not in w[2] else "") == user

        keep = [n for n in tree.nodes if not same_user(n)]
        if not negated:
            index = max((i for i, n in enumerate(keep) if n.words()[:2] in (["user", "attribute"], ["login", "user"])),
                        default=len(keep) - 1)
            keep.insert(index + 1, Node(" ".join(body)))
        tree.nodes[:] = keep
        self.set_running(session, tree.render())
        return None

    # -- exec commands ---------------------------------------------------------------------------------------

    async def cmd_administrator(self, session: Session, match: Match) -> None:
        if session.privileged:
            return
        session.write("Password: ")
        answer = await session.readline(echo=False)
        if self.device.enable_secret is not None and answer == self.device.enable_secret:
            session.privileged = True
            self.record(f"'administrator' succeeded for {session.username}: SSH")
            return
        self.record(f"'administrator' failed for {session.username}: SSH")
        session.writeln(self.message(session, "password"))

    async def cmd_exit(self, session: Session, match: Match) -> None:
        if session.privileged:
            if session.mode != "exec":
                session.mode, session.context = "exec", None
            if self.state.running != self.state.startup:
                session.write("Save new configuration ? (Y/N)")
                answer = await read_key(session)
                session.writeln(answer)
                if answer.upper() == "Y":
                    self.save(session)
            session.privileged = False
            return
        self.record(f"Logout from SSH: {session.username}")
        session.closed = True
        session.process.exit(0)

    def cmd_console_lines(self, session: Session, match: Match) -> None:
        value = match.words[-1]
        if value != "infinity" and not value.isdigit():
            session.writeln(self.message(session, "parameter"))
            return
        session.terminal_length = 0 if value == "infinity" else int(value)

    def cmd_console_character(self, session: Session, match: Match) -> None:
        session.vars["character"] = match.words[-1]

    def save(self, session: Session) -> None:
        self.state.save()
        self.record(f"Saved the configuration ({session.username})")

    def cmd_save(self, session: Session, match: Match) -> None:
        self.save(session)
        session.writeln(self.message(session, "save"))

    def header(self, when: dt.datetime) -> str:
        model, revision = self.model()
        seed = zlib.crc32(self.device.name.encode())
        serial = "S" + format(seed % 10**9, "09d")
        macs = [f"00:a0:de:{(seed >> (8 * i)) & 0xff:02x}:{i:02x}:01" for i in range(2)]
        return "\n".join([
            f"# {model} Rev.{revision} ({BUILD_DATES.get(model, 'Mon Jan  1 00:00:00 2024')})",
            f"# MAC Address : {', '.join(macs)}",
            "# Memory 256Mbytes, 2LAN",
            *_wrap(f"# main:  {model} ver=00 serial={serial} MAC-Address={macs[0]} MAC-Address={macs[1]}"),
            f"# Reporting Date: {when.astimezone(JST).strftime('%b %d %H:%M:%S %Y')}",
        ]) + "\n"

    def show_config(self, session: Session, match: Match) -> None:
        session.write(self.header(time_now()) + self.state.running)

    def show_startup(self, session: Session, match: Match) -> None:
        session.write(self.header(time_now()) + self.state.startup)

    def show_environment(self, session: Session, match: Match) -> None:
        model, revision = self.model()
        now = time_now()
        up = now - self.state.booted
        level = self.setting("security", "class") or ["1", "on", "off"]
        session.write("\n".join([
            f"{model} BootROM Ver.1.04",
            f"{model} Rev.{revision} ({BUILD_DATES.get(model, 'Mon Jan  1 00:00:00 2024')})",
            f"  main:  {model} ver=00 serial=S000000000 MAC-Address=00:a0:de:00:00:01 MAC-Address=00:a0:de:00:00:02",
            "CPU:   1%(5sec)   1%(1min)   1%(5min)    Memory: 20% used",
            "Packet-buffer:   0%(small)   0%(middle)   0%(large)   0%(huge) used",
            "Firmware: exec0  Config. file: config0",
            f"Boot time: {_stamp(self.state.booted)} +09:00",
            f"Current time: {_stamp(now)} +09:00",
            f"Elapsed time from boot: {up.days}days {str(dt.timedelta(seconds=up.seconds)).zfill(8)}",
            f"Security Class: {level[0]}, FORGET: {(level[1:2] or ['on'])[0].upper()}, "
            f"TELNET: {(level[2:3] or ['off'])[0].upper()}",
            "Inside Temperature(C.): 40",
        ]) + "\n")

    def show_log(self, session: Session, match: Match) -> None:
        self.run_schedules()
        session.write("\n".join(self.log) + "\n")

    def show_log_reverse(self, session: Session, match: Match) -> None:
        self.run_schedules()
        session.write("\n".join(reversed(self.log)) + "\n")


PERSONALITY = RTXPersonality
