"""Cisco IOS personality: what netmiko's real `cisco_ios` driver (and the hardening cisco_ios platform) drive.

User EXEC `host>` and privileged EXEC `host#` (`enable` asks `Password:`, three tries, then `% Bad secrets`);
`configure terminal` enters `host(config)#`, a section header (`interface X`, `line vty 0 4`, ...) enters
`host(config-if)#`/`host(config-line)#`, a global command in a section leaves it (like IOS), `end` returns.
Configuration lines are checked against the grammar below (keywords abbreviable, like IOS); anything else is
`% Invalid input detected at '^' marker.` with the caret under the first word IOS would not take.

The show outputs are generated from the configuration text in the documented IOS formats. Live state that a
configuration cannot give comes from the device's lab.yaml params:
  device_class: router | switch     (switches answer `show interfaces status`, routers reject it)
  links_up: [GigabitEthernet1/0/1, ...]   interfaces with a link (others not shut down are down/notconnect)
  ntp_reachable: [10.203.0.10, ...]       configured NTP servers that answer (the clock syncs to the first)
  software: "15.9(3)M4", model: "IOSv", image: "VIOS-ADVENTERPRISEK9-M"   (show version)
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from .core import (
    ConfigTree,
    EditRules,
    Grammar,
    Match,
    Node,
    NoMatch,
    Session,
    TreePersonality,
    time_now,
)

# --- the configuration grammar (data) -------------------------------------------------------------------
# `|` ends the key: a line with the same key replaces the old one (single-valued); `*` is the free rest.

GLOBAL = [
    "version | *", "hostname | {word}",
    "service timestamps debug | *", "service timestamps log | *", "service timestamps",
    "service {word}",
    "enable secret | *", "enable password | *",
    "username {word} | *",
    "aaa new-model", "aaa session-id | {word}",
    "aaa authentication login {word} | *", "aaa authentication enable {word} | *",
    "aaa authorization exec {word} | *", "aaa authorization commands {int} {word} | *",
    "aaa accounting exec {word} | *", "aaa accounting commands {int} {word} | *",
    "aaa local authentication attempts max-fail | {int:1-65535}", "aaa authentication attempts login | {int}",
    "login block-for | {int:1-65535} attempts {int:1-65535} within {int:1-65535}", "login delay | {int}",
    "login quiet-mode access-class | {word}",
    "login on-failure | *", "login on-success | *",
    "security passwords min-length | {int:0-16}", "security authentication failure rate | *",
    "ip ssh version | {int}", "ip ssh time-out | {int}", "ip ssh authentication-retries | {int}",
    "ip ssh source-interface | {word}", "ip ssh server algorithm {word} | *", "ip ssh logging events",
    "ip ssh dh min size | {int}", "ip scp server enable",
    "ip domain name | {word}", "ip domain-name | {word}", "ip domain lookup", "ip domain-lookup",
    "ip name-server *",
    "ip http server", "ip http secure-server", "ip http authentication | *", "ip http access-class | *",
    "ip bootp server", "ip finger", "ip rcmd rsh-enable", "ip rcmd rcp-enable", "ip source-route",
    "ip gratuitous-arps", "ip cef", "ipv6 cef", "ipv6 unicast-routing", "ip routing", "ip subnet-zero",
    "ip classless", "ip forward-protocol nd", "ip dhcp snooping *", "ip dhcp pool {word}",
    "ip route *", "ip default-gateway | {ip}", "ip tcp synwait-time | {int}",
    "ip access-list log-update | *",
    "ftp-server enable",
    "ntp server vrf {word} {ip|host} | *", "ntp server {ip|host} | *", "ntp peer {ip|host} | *",
    "ntp authenticate", "ntp authentication-key {int} | *", "ntp trusted-key | *", "ntp source | {word}",
    "ntp master *", "ntp update-calendar", "ntp access-group {word} | *", "ntp logging",
    "clock timezone | *", "clock summer-time | *", "clock calendar-valid",
    "logging host ipv6 {ipv6} | *", "logging host {ip|host} | *", "logging trap | {word}",
    "logging buffered | *", "logging console | *", "logging monitor | *", "logging facility | {word}",
    "logging source-interface | *", "logging on", "logging origin-id | *", "logging userinfo",
    "logging count", "logging rate-limit | *", "logging queue-limit | *", "logging persistent | *",
    "logging file | *", "logging history | *", "logging event | *", "logging {ip} | *",
    "snmp-server community {word} | *", "snmp-server location | *", "snmp-server contact | *",
    "snmp-server host {ip|host} | *", "snmp-server user {word} {word} | *", "snmp-server group {word} | *",
    "snmp-server enable traps *", "snmp-server view {word} | *", "snmp-server trap-source | {word}",
    "snmp-server ifindex persist", "snmp-server engineID local | {word}",
    "boot-start-marker", "boot-end-marker", "boot system *",
    "spanning-tree mode | {word}", "spanning-tree extend system-id", "spanning-tree portfast *",
    "spanning-tree vlan {word} priority | {int}",
    "vtp mode | {word}", "vtp domain | {word}", "vtp version | {int}",
    "access-list {int} *", "cdp run", "lldp run", "file prompt | *", "memory-size iomem | {int}",
    "multilink bundle-name authenticated", "license udi | *", "license boot level | *",
    "diagnostic bootup level | {word}", "errdisable recovery *", "system mtu | *", "switch {int} provision | *",
    "platform *", "call-home", "crypto pki *", "archive", "mmi *", "no-op",
]

SECTIONS = [
    ("interface {iface}", "if"), ("interface {word}", "if"),
    ("line vty {int} {int}", "line"), ("line vty {int}", "line"), ("line con {int}", "line"),
    ("line console {int}", "line"), ("line aux {int}", "line"), ("line tty {int} *", "line"),
    ("ip access-list standard {word}", "std-nacl"), ("ip access-list extended {word}", "ext-nacl"),
    ("router {word} *", "router"), ("vlan {int}", "vlan"), ("vrf definition {word}", "vrf"),
    ("aaa common-criteria policy {word}", "cc-policy"), ("control-plane", "cp"), ("redundancy", "red"),
    ("archive", "archive"), ("ip dhcp pool {word}", "dhcp"),
]

INTERFACE = [
    "description | *", "ip address dhcp", "ip address {ip} {ip} secondary", "ip address | {ip} {ip}",
    "ip address | *", "ipv6 address *", "ipv6 enable", "shutdown", "duplex | {word}", "speed | {word}",
    "negotiation auto", "switchport", "switchport mode | {word}", "switchport access vlan | {int}",
    "switchport trunk allowed vlan | *", "switchport trunk native vlan | {int}",
    "switchport trunk encapsulation | {word}", "switchport nonegotiate", "switchport voice vlan | *",
    "switchport port-security *", "spanning-tree portfast *", "spanning-tree bpduguard | {word}",
    "spanning-tree guard | {word}", "ip access-group {word} | *", "ip nat inside", "ip nat outside",
    "ip helper-address *", "ip ospf *", "ip redirects", "ip unreachables", "ip proxy-arp",
    "ip directed-broadcast", "ip mroute-cache", "ip route-cache *", "ip mtu | {int}",
    "ip tcp adjust-mss | {int}", "standby *", "channel-group | *", "media-type | {word}", "mtu | {int}",
    "bandwidth | {int}", "keepalive | *", "load-interval | {int}", "storm-control {word} | *",
    "vrf forwarding | {word}", "encapsulation | *", "cdp enable", "lldp transmit", "lldp receive",
    "mop enabled", "mop sysid", "power inline | *", "service-policy input/output | {word}", "auto qos *", "no-op",
]

LINE = [
    "exec-timeout | {int:0-35791} {int:0-2147483}", "exec-timeout | {int:0-35791}",
    "session-timeout | *", "absolute-timeout | *",
    "transport input | *", "transport output | *", "transport preferred | *",
    "access-class | *", "ipv6 access-class | *", "login | *", "login", "password | *",
    "logging synchronous *", "privilege level | {int}", "stopbits | {int}", "exec", "length | {int}",
    "width | {int}", "motd-banner", "exec-banner", "rotary | {int}", "authorization exec | *",
    "accounting exec | *", "escape-character | *", "speed | {int}", "flowcontrol | {word}", "modem *",
    "history size | {int}", "no-op",
]

SECTION_LINES = {
    "std-nacl": ["{int} *", "permit *", "deny *", "remark *"],
    "ext-nacl": ["{int} *", "permit *", "deny *", "remark *"],
    "router": ["network *", "router-id | {ip}", "passive-interface *", "redistribute *",
               "default-information *", "log-adjacency-changes *", "auto-summary", "neighbor *",
               "address-family *", "exit-address-family"],
    "vlan": ["name | *", "state | {word}"],
    "vrf": ["rd | *", "description | *", "address-family *", "exit-address-family", "route-target *"],
    "cc-policy": ["min-length | {int}", "max-length | {int}", "upper-case | {int}", "lower-case | {int}",
                  "numeric-count | {int}", "special-case | {int}", "char-changes | {int}", "lifetime | *",
                  "copy | *"],
    "cp": ["service-policy *"],
    "red": ["mode | {word}"],
    "archive": ["path | *", "maximum | {int}", "write-memory", "time-period | {int}"],
    "dhcp": ["network | *", "default-router | *", "dns-server | *", "lease | *", "domain-name | {word}"],
}

# Shown as `no <cmd>` in the configuration (the command is on by default).
STORED_NEGATIONS = {
    "": ["service pad", "service password-encryption", "ip bootp server", "ip http server", "ip http secure-server",
         "ip domain lookup", "ip domain-lookup", "ip source-route", "ip gratuitous-arps", "ip finger",
         "logging console", "logging monitor", "logging buffered", "logging on", "cdp run", "service config",
         "ip cef", "ip routing", "aaa new-model", "service dhcp", "ip forward-protocol nd"],
    "if": ["ip address", "ip redirects", "ip unreachables", "ip proxy-arp", "ip route-cache *", "cdp enable",
           "mop enabled", "keepalive", "switchport", "negotiation auto", "ip mroute-cache"],
    "line": ["exec", "login", "motd-banner", "exec-banner"],
}
# The positive form of those that is the default (applying it removes the `no` line and adds nothing).
DEFAULT_ON = {
    "": ["service pad", "ip bootp server", "ip domain lookup", "ip domain-lookup", "ip source-route",
         "ip gratuitous-arps", "logging console", "logging monitor", "logging on", "cdp run", "ip cef",
         "ip routing", "service dhcp", "ip forward-protocol nd"],
    "if": ["ip redirects", "ip unreachables", "ip proxy-arp", "cdp enable", "mop enabled", "keepalive"],
    "line": ["exec", "motd-banner", "exec-banner"],
}

# Lines IOS never displays because they are the default: applying one removes the line of its key instead.
HIDDEN_DEFAULTS = {
    "": ["logging trap informational", "ip ssh time-out 120", "ip ssh authentication-retries 3"],
    "line": ["exec-timeout 10 0", "exec-timeout 10"],
}

# The exec commands: template -> handler method; PRIVILEGED only after `enable`.
USER_EXEC = [
    ("enable", "cmd_enable"), ("enable {int}", "cmd_enable"), ("exit", "cmd_exit"), ("logout", "cmd_exit"),
    ("quit", "cmd_exit"), ("terminal length {int}", "cmd_terminal"), ("terminal width {int}", "cmd_terminal"),
    ("terminal monitor", "cmd_nothing"), ("terminal no monitor", "cmd_nothing"),
    ("show version", "show_version"), ("show privilege", "show_privilege"), ("show clock *", "show_clock"),
    ("show users *", "show_users"),
]
PRIVILEGED_EXEC = [
    ("disable", "cmd_disable"),
    ("show running-config *", "show_running"), ("show startup-config", "show_startup"),
    ("write terminal", "show_running"),
    ("show ntp status", "show_ntp_status"), ("show ntp associations *", "show_ntp_associations"),
    ("show logging *", "show_logging"), ("show ip interface brief *", "show_ip_interface_brief"),
    ("show control-plane host open-ports", "show_open_ports"), ("show ip ssh", "show_ip_ssh"),
    ("show hosts *", "show_hosts"), ("show archive", "show_archive"),
    ("configure terminal", "cmd_configure"), ("configure replace {file} *", "cmd_configure_replace"),
    ("write memory", "cmd_write"), ("write", "cmd_write"),
    ("copy running-config startup-config", "cmd_write_copy"), ("copy running-config {file}", "cmd_copy_run"),
    ("copy {file} running-config", "cmd_copy_to_run"), ("copy startup-config running-config", "cmd_copy_to_run"),
    ("more {file}", "cmd_more"), ("delete /force {file}", "cmd_delete"), ("delete {file}", "cmd_delete"),
    ("dir *", "cmd_dir"),
]
SWITCH_EXEC = [("show interfaces status *", "show_interfaces_status")]
CONFIG_MODE = [("end", "cmd_end"), ("exit", "cmd_config_exit"), ("do *", "cmd_do")]

COMMANDS = {"config": Grammar(CONFIG_MODE), "user": Grammar(USER_EXEC),
            "privileged": Grammar(USER_EXEC + PRIVILEGED_EXEC),
            "switch": Grammar(USER_EXEC + PRIVILEGED_EXEC + SWITCH_EXEC)}

FILE_SYSTEMS = ("flash:", "flash0:", "bootflash:", "disk0:")
SHORT_NAMES = [("GigabitEthernet", "Gi"), ("FastEthernet", "Fa"), ("TenGigabitEthernet", "Te"),
               ("TwoGigabitEthernet", "Tw"), ("FortyGigabitEthernet", "Fo"), ("Ethernet", "Et"),
               ("Port-channel", "Po"), ("Vlan", "Vl"), ("Loopback", "Lo")]
PORT_SERVICES = [  # (protocol, port, service name, when: a predicate name)
    ("tcp", 22, "SSH-Server", "ssh"), ("tcp", 23, "Telnet", "telnet"), ("tcp", 80, "HTTP CORE", "http"),
    ("tcp", 443, "HTTP CORE", "https"), ("tcp", 79, "Finger", "finger"), ("tcp", 7, "Echo", "tcp_small"),
    ("tcp", 9, "Discard", "tcp_small"), ("tcp", 19, "Chargen", "tcp_small"), ("udp", 123, "NTP", "ntp"),
    ("udp", 161, "SNMP", "snmp"), ("udp", 67, "DHCPD Receive", "bootp"), ("udp", 7, "Echo", "udp_small"),
]


def _grammars() -> dict[str, Grammar]:
    grammars = {"": Grammar(GLOBAL), "if": Grammar(INTERFACE), "line": Grammar(LINE)}
    grammars.update({kind: Grammar(lines) for kind, lines in SECTION_LINES.items()})
    return grammars


# The order IOS shows the lines of a section in (a new line goes to its place, not last).
ORDER = {
    "if": ["description", "switchport", "vrf forwarding", "ip address", "ip access-group", "ip helper-address",
           "ip redirects", "ip unreachables", "ip proxy-arp", "ip nat", "ip ospf", "ipv6", "standby", "shutdown",
           "duplex", "speed", "media-type", "negotiation", "channel-group", "spanning-tree", "service-policy"],
    "line": ["session-timeout", "access-class", "ipv6 access-class", "exec-timeout", "absolute-timeout",
             "privilege level", "password", "authorization", "accounting", "logging synchronous", "login",
             "exec", "length", "width", "history", "stopbits", "transport preferred", "transport input",
             "transport output"],
}

RULES = EditRules(grammars=_grammars(), sections=Grammar(SECTIONS), order=ORDER,
                  stored_negations=Grammar(STORED_NEGATIONS[""]), default_on=Grammar(DEFAULT_ON[""]))
# per section kind (the core rules take one grammar; IOS's negations depend on the section)
NEGATIONS = {kind: Grammar(ts) for kind, ts in STORED_NEGATIONS.items()}
HIDDEN = {kind: Grammar(ts, abbreviate=False) for kind, ts in HIDDEN_DEFAULTS.items()}
DEFAULTS = {kind: Grammar(ts) for kind, ts in DEFAULT_ON.items()}

BANNER = re.compile(r"^\s*banner\s+(motd|login|exec|incoming|slip-ppp)\s*(.*)$", re.I)
SECRET_FORMS = re.compile(r"^(\s*(?:enable|username)\b.*?\b(?:secret|password))\s+\S.*$")


def short_name(name: str) -> str:
    for long, short in SHORT_NAMES:
        if name.startswith(long):
            return short + name[len(long):]
    return name


def expand_interface(name: str) -> str:
    """`gi0/1` -> `GigabitEthernet0/1` (IOS stores the full name)."""
    match = re.fullmatch(r"([A-Za-z-]+)(\d[\d/.:]*)", name)
    if not match:
        return name
    prefix = match.group(1).lower()
    for long, short in SHORT_NAMES:
        if long.lower().startswith(prefix) or short.lower() == prefix:
            return long + match.group(2)
    return name


class IOSPersonality(TreePersonality):
    platform: ClassVar[str] = "cisco_ios"
    rules: ClassVar[EditRules] = RULES
    prompts: ClassVar[dict[str, str]] = {
        "exec": "{hostname}>", "privileged": "{hostname}#", "config": "{hostname}(config)#",
        "config-if": "{hostname}(config-if)#", "config-line": "{hostname}(config-line)#",
        "config-std-nacl": "{hostname}(config-std-nacl)#", "config-ext-nacl": "{hostname}(config-ext-nacl)#",
        "config-router": "{hostname}(config-router)#", "config-vlan": "{hostname}(config-vlan)#",
        "config-vrf": "{hostname}(config-vrf)#", "config-cc-policy": "{hostname}(config-cc-policy)#",
        "config-cp": "{hostname}(config-cp)#", "config-red": "{hostname}(config-red)#",
        "config-archive": "{hostname}(config-archive)#", "config-dhcp": "{hostname}(dhcp-config)#",
    }

    # -- identity / login --------------------------------------------------------------------------------

    def hostname(self) -> str:
        for line in self.state.running.splitlines():
            if line.startswith("hostname "):
                return line.split(None, 1)[1].strip()
        return "Router"

    def is_switch(self) -> bool:
        return self.device.params.get("device_class") == "switch"

    def banner_text(self, kind: str) -> str | None:
        for node in self.view().nodes:
            words = node.words()
            if words[:2] == ["banner", kind]:
                text = node.text.split(None, 2)[2] if len(node.text.split(None, 2)) > 2 else ""
                text = text[2:] if text.startswith("^C") else text
                return text.split("^C", 1)[0].strip("\n")
        return None

    def auth_banner(self) -> str | None:
        text = self.banner_text("login")
        return text + "\n" if text else None

    async def on_connect(self, session: Session) -> None:
        motd = self.banner_text("motd")
        if motd:
            session.writeln(motd)
        session.writeln()
        # A local user with privilege 15 lands in privileged EXEC.
        for line in self.state.running.splitlines():
            words = line.split()
            if words[:2] == ["username", session.username] and "privilege" in words:
                level = words[words.index("privilege") + 1] if words.index("privilege") + 1 < len(words) else ""
                session.privileged = level == "15"

    # -- dispatch --------------------------------------------------------------------------------------

    def commands(self, session: Session) -> Grammar:
        if session.mode != "exec":
            return COMMANDS["config"]
        if not session.privileged:
            return COMMANDS["user"]
        return COMMANDS["switch" if self.is_switch() else "privileged"]

    async def dispatch(self, session: Session, line: str) -> None:
        # `| include X` style filters on exec commands
        session.vars["filter"] = None
        if session.mode == "exec" and " | " in line:
            line, _, pipe = line.partition(" | ")
            session.vars["filter"] = pipe.strip()
        await super().dispatch(session, line)

    def output(self, session: Session, text: str) -> None:
        """Write a command's output through the session's `|` filter."""
        pipe = session.vars.get("filter")
        if pipe:
            kind, _, pattern = pipe.partition(" ")
            lines = text.splitlines()
            regex = re.compile(pattern.strip() or ".*")
            if "include".startswith(kind):
                lines = [x for x in lines if regex.search(x)]
            elif "exclude".startswith(kind):
                lines = [x for x in lines if not regex.search(x)]
            elif "begin".startswith(kind):
                start = next((i for i, x in enumerate(lines) if regex.search(x)), len(lines))
                lines = lines[start:]
            elif "section".startswith(kind):
                out, keep = [], False
                for x in lines:
                    if not x.startswith(" "):
                        keep = bool(regex.search(x))
                    if keep:
                        out.append(x)
                lines = out
            text = "\n".join(lines) + ("\n" if lines else "")
        session.write(text if text.endswith("\n") or not text else text + "\n")

    def invalid(self, session: Session, line: str, why: NoMatch) -> None:
        if why.kind == "incomplete":
            session.writeln("% Incomplete command.\n")
        elif why.kind == "ambiguous":
            session.writeln(f'% Ambiguous command:  "{line.strip()}"')
        elif session.mode == "exec" and why.column == len(line) - len(line.lstrip()) and len(line.split()) == 1:
            session.writeln(f'Translating "{line.strip()}"\n'
                            "% Unknown command or computer name, or unable to find computer address")
        else:
            column = len(self.prompt(session)) + why.column
            session.writeln(" " * column + "^\n% Invalid input detected at '^' marker.\n")

    # -- configuration lines: banners and IOS's per-section negations --------------------------------------

    async def apply_special(self, session: Session, tree: ConfigTree, container: Node | None,
                            line: str) -> NoMatch | bool | None:
        words = line.split()
        negated = words[0].lower() == "no"
        body = line.split(None, 1)[1] if negated and len(words) > 1 else line
        banner = BANNER.match(body)
        if banner:
            kind = banner.group(1).lower()
            text = None
            if not negated:
                text = await self.read_banner(session, banner.group(2))
                if text is None:
                    return NoMatch("incomplete", len(line))
                tree = self.tree()   # afresh: another session may have changed it while the text was typed
            for node in list(tree.nodes):
                if node.words()[:2] == ["banner", kind]:
                    tree.nodes.remove(node)
            if text is not None:
                tree.insert_top(Node(f"banner {kind} ^C{text}^C"))
            session.mode, session.context = "config", None
            self.set_running(session, tree.render())
            return None
        kind = self.section_kind(session)
        # interface names: IOS stores the full name (`int gi0/1` -> `interface GigabitEthernet0/1`)
        section = self.rules.sections.match(body)
        if isinstance(section, Match) and section.value == "if":
            name = expand_interface(section.words[1])
            if negated:
                tree.remove_section(["interface", name])
                session.mode, session.context = "config", None
            else:
                node = tree.open_section(f"interface {name}")
                session.mode, session.context = "config-if", node.text
            self.set_running(session, tree.render())
            return None
        # which grammar takes the line: the section's, else the global one (IOS leaves the section)
        target, where = kind, container
        if kind and not isinstance(self.rules.grammars[kind].match(body, negated), Match) and \
                isinstance(self.rules.grammars[""].match(body, negated), Match):
            target, where = "", None
        if negated:
            stored = NEGATIONS.get(target, Grammar([])).match(body)
            if isinstance(stored, Match):
                if target != kind:
                    session.mode, session.context = "config", None
                tree.remove_lines(where, stored.words, list(stored.key))
                negation = Match(stored.template, ["no", *stored.words], ("no", *stored.words), "", None, -1)
                if where is not None:
                    where.children.append(Node(negation.line))
                else:
                    tree.set_line(None, negation)
                self.set_running(session, tree.render())
                return None
        else:
            hidden = HIDDEN.get(target, Grammar([])).match(body)
            full = self.rules.grammars[target].match(body)
            if isinstance(hidden, Match) and isinstance(full, Match):
                if target != kind:
                    session.mode, session.context = "config", None
                tree.remove_lines(where, list(full.key), list(full.key))
                self.set_running(session, tree.render())
                return None
            default = DEFAULTS.get(target, Grammar([])).match(body)
            if isinstance(default, Match) and not default.rest:
                if target != kind:
                    session.mode, session.context = "config", None
                tree.remove_lines(where, ["no", *default.words], [])
                self.set_running(session, tree.render())
                return None
        return False

    async def read_banner(self, session: Session, rest: str) -> str | None:
        """The banner text after its delimiter (the first character, or `^C`), up to the closing one; IOS
        reads further lines without a prompt when the first does not close it."""
        if not rest:
            return None
        delimiter = "^C" if rest.startswith("^C") else rest[0]
        text = rest[len(delimiter):]
        if delimiter in text:
            return text.split(delimiter, 1)[0]
        session.writeln(f"Enter TEXT message.  End with the character '{delimiter}'.")
        parts = [text]
        while True:
            line = await session.readline()
            if delimiter in line:
                parts.append(line.split(delimiter, 1)[0])
                return "\n".join(parts)
            parts.append(line)

    # -- exec commands ---------------------------------------------------------------------------------

    async def cmd_enable(self, session: Session, match: Match) -> None:
        if session.privileged:
            return
        if not self.device.enable_secret:
            session.writeln("% No password set")
            return
        for _ in range(3):
            session.write("Password: ")
            if await session.readline(echo=False) == self.device.enable_secret:
                session.privileged = True
                return
        session.writeln("% Bad secrets\n")

    def cmd_disable(self, session: Session, match: Match) -> None:
        session.privileged = False

    def cmd_exit(self, session: Session, match: Match) -> None:
        session.closed = True
        session.process.exit(0)

    def cmd_nothing(self, session: Session, match: Match) -> None:
        return

    def cmd_terminal(self, session: Session, match: Match) -> None:
        value = int(match.words[-1])
        if match.words[1] == "width":
            session.terminal_width = value
        else:
            session.terminal_length = value

    def cmd_configure(self, session: Session, match: Match) -> None:
        session.writeln("Enter configuration commands, one per line.  End with CNTL/Z.")
        session.mode, session.context = "config", None

    def cmd_end(self, session: Session, match: Match) -> None:
        session.mode, session.context = "exec", None

    def cmd_config_exit(self, session: Session, match: Match) -> None:
        if session.mode == "config":
            session.mode = "exec"
        else:
            session.mode = "config"
        session.context = None

    async def cmd_do(self, session: Session, match: Match) -> None:
        mode, context = session.mode, session.context
        session.mode = "exec"
        try:
            await self.dispatch(session, match.rest)
        finally:
            if not session.closed:
                session.mode, session.context = mode, context

    # -- configuration text ------------------------------------------------------------------------------

    def _stamp(self, when: Any) -> str:
        return when.strftime("%H:%M:%S UTC %a %b %d %Y")

    def config_header(self) -> str:
        """The comment lines IOS puts before the configuration (volatile: dates)."""
        by = f" by {self.state.changed_by}" if self.state.changed_by else ""
        lines = ["!", f"! Last configuration change at {self._stamp(self.state.changed_at)}{by}"]
        if self.state.saved_at:
            lines.append(f"! NVRAM config last updated at {self._stamp(self.state.saved_at)}{by}")
        lines.append("!")
        return "\n".join(lines) + "\n"

    def show_config(self, body: str) -> str:
        text = self.config_header() + body
        return f"Building configuration...\n\nCurrent configuration : {len(text.encode())} bytes\n{text}"

    def show_running(self, session: Session, match: Match) -> None:
        self.output(session, self.show_config(self.state.running))

    def show_startup(self, session: Session, match: Match) -> None:
        text = self.config_header() + self.state.startup
        self.output(session, f"Using {len(text.encode())} out of 262144 bytes\n{text}")

    def cmd_write(self, session: Session, match: Match) -> None:
        self.state.save()
        session.writeln("Building configuration...\n[OK]")

    async def cmd_write_copy(self, session: Session, match: Match) -> None:
        if not self.quiet():
            session.write("Destination filename [startup-config]? ")
            await session.readline()
        self.cmd_write(session, match)

    def quiet(self) -> bool:
        return any(line.strip() == "file prompt quiet" for line in self.state.running.splitlines())

    def _file(self, session: Session, name: str) -> tuple[str, Any] | None:
        for fs in FILE_SYSTEMS:
            if name.startswith(fs):
                base = name[len(fs):].lstrip("/")
                path = self.state.file_path(base)
                if path is not None:
                    return base, path
        session.writeln(f"%Error opening {name} (Invalid argument)")
        return None

    async def cmd_copy_run(self, session: Session, match: Match) -> None:
        target = self._file(session, match.words[2])
        if target is None:
            return
        base, path = target
        if not self.quiet():
            session.write(f"Destination filename [{base}]? ")
            answer = (await session.readline()).strip()
            if answer:
                base, path = answer, self.state.file_path(answer.split(":")[-1].lstrip("/"))
                if path is None:
                    session.writeln(f"%Error opening {answer} (Invalid argument)")
                    return
            if path.exists():
                session.write("%Warning:There is a file already existing with this name \n"
                              "Do you want to over write? [confirm]")
                if (await session.readline()).strip().lower() not in {"", "y", "yes"}:
                    return
        text = self.config_header() + self.state.running
        path.write_text(text, encoding="utf-8")
        session.writeln(f"{len(text.encode())} bytes copied in 0.052 secs ({len(text.encode()) * 19} bytes/sec)")

    async def cmd_copy_to_run(self, session: Session, match: Match) -> None:
        """`copy flash:X running-config`: merge the file's lines, like typing them in configuration mode."""
        if match.words[1] == "startup-config":
            text = self.state.startup
        else:
            target = self._file(session, match.words[1])
            if target is None:
                return
            if not target[1].exists():
                session.writeln(f"%Error opening {match.words[1]} (No such file or directory)")
                return
            text = target[1].read_text(encoding="utf-8")
        if not self.quiet():
            session.write("Destination filename [running-config]? ")
            await session.readline()
        mode, context = session.mode, session.context
        session.mode, session.context = "config", None
        for raw in text.splitlines():
            if not raw.strip() or raw.strip().startswith("!") or raw.strip() == "end":
                continue
            if raw.startswith(" "):
                if session.mode == "config":
                    continue  # a section line whose header was rejected
            else:
                session.mode, session.context = "config", None
            error = await self.apply_line(session, raw.strip())
            if error is not None:
                self.invalid(session, raw.strip(), error)
        session.mode, session.context = mode, context
        session.writeln(f"{len(text.encode())} bytes copied in 0.040 secs")

    def cmd_configure_replace(self, session: Session, match: Match) -> None:
        target = self._file(session, match.words[2])
        if target is None:
            return
        if not target[1].exists():
            session.writeln(f"%Error opening {match.words[2]} (No such file or directory)")
            return
        text = target[1].read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        while lines and (lines[0].startswith("!") or not lines[0].strip() or
                         lines[0].startswith(("Building configuration", "Current configuration"))):
            lines.pop(0)
        body = "".join(lines)
        if not body.rstrip().endswith("end"):
            session.writeln("The input file is not a valid config file.")
            return
        self.set_running(session, body)
        session.writeln("Total number of passes: 1\nRollback Done\n")

    def cmd_more(self, session: Session, match: Match) -> None:
        target = self._file(session, match.words[1])
        if target is None:
            return
        if not target[1].exists():
            session.writeln(f"%Error opening {match.words[1]} (No such file or directory)")
            return
        self.output(session, target[1].read_text(encoding="utf-8"))

    async def cmd_delete(self, session: Session, match: Match) -> None:
        target = self._file(session, match.words[-1])
        if target is None:
            return
        base, path = target
        if "/force" not in match.words and not self.quiet():
            session.write(f"Delete filename [{base}]? ")
            await session.readline()
            session.write(f"Delete flash:/{base}? [confirm]")
            if (await session.readline()).strip().lower() not in {"", "y", "yes"}:
                return
        if not path.exists():
            session.writeln(f"%Error deleting flash:/{base} (No such file or directory)")
            return
        path.unlink()

    def cmd_dir(self, session: Session, match: Match) -> None:
        lines = ["Directory of flash:/", ""]
        used = 0
        for index, path in enumerate(self.state.files(), start=1):
            size = path.stat().st_size
            used += size
            when = time_now().fromtimestamp(path.stat().st_mtime).strftime("%b %d %Y %H:%M:%S")
            lines.append(f"{index:>6}  -rw-{size:>14}  {when} +00:00  {path.name}")
        lines += ["", f"2142715904 bytes total ({2142715904 - used} bytes free)"]
        self.output(session, "\n".join(lines) + "\n")

    # -- show commands from the configuration --------------------------------------------------------------

    def software(self) -> str:
        version = self.device.params.get("software")
        if version:
            return str(version)
        for line in self.state.running.splitlines():
            if line.startswith("version "):
                return line.split()[1] + "(4)M7"
        return "15.2(4)M7"

    def show_version(self, session: Session, match: Match) -> None:
        params = self.device.params
        image = params.get("image", "C2960X-UNIVERSALK9-M" if self.is_switch() else "VIOS-ADVENTERPRISEK9-M")
        model = params.get("model", "WS-C2960X-48TS-L" if self.is_switch() else "IOSv")
        version = self.software()
        xe = version.split(".")[0].isdigit() and int(version.split(".")[0]) >= 16
        family = "Cisco IOS XE Software" if xe else "Cisco IOS Software"
        uptime = int((time_now() - self.state.booted).total_seconds() // 60)
        text = f"""{family}, {model} Software ({image}), Version {version}, RELEASE SOFTWARE (fc2)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2024 by Cisco Systems, Inc.
Compiled Wed 12-Jun-24 10:11 by prod_rel_team


ROM: Bootstrap program is {model}

{self.hostname()} uptime is {uptime // 60} hours, {uptime % 60} minutes
System returned to ROM by reload
System image file is "flash:/{image.lower()}.bin"
Last reload reason: Reload Command

cisco {model} (revision 1.0) with 460137K/62464K bytes of memory.
Processor board ID 9S{abs(hash(self.device.name)) % 10**8:08d}
{len(self.interfaces())} Gigabit Ethernet interfaces
256K bytes of non-volatile configuration memory.
2097152K bytes of ATA System CompactFlash 0 (Read/Write)

Configuration register is 0x2102
"""
        self.output(session, text)

    def show_privilege(self, session: Session, match: Match) -> None:
        self.output(session, f"Current privilege level is {15 if session.privileged else 1}\n")

    def show_clock(self, session: Session, match: Match) -> None:
        now = time_now()
        self.output(session, now.strftime("*%H:%M:%S.000 UTC %a %b %d %Y") + "\n")

    def show_users(self, session: Session, match: Match) -> None:
        self.output(session, "    Line       User       Host(s)              Idle       Location\n"
                             f"*  2 vty 0     {session.username:<10} idle                 00:00:00 10.203.0.1\n")

    def show_hosts(self, session: Session, match: Match) -> None:
        self.output(session, "Default domain is not set\nName/address lookup uses static mappings\n\n"
                             "Codes: UN - unknown, EX - expired, OK - OK, ?? - revalidate\n"
                             "       temp - temporary, perm - permanent\n"
                             "       NA - Not Applicable None - Not defined\n\n"
                             "Host                      Port  Flags      Age Type   Address(es)\n")

    def show_archive(self, session: Session, match: Match) -> None:
        self.output(session, "The maximum archive configurations allowed is 10.\n"
                             "There are currently 0 archive configurations saved.\n")

    def show_ip_ssh(self, session: Session, match: Match) -> None:
        version = self.global_value(["ip", "ssh", "version"]) or "1.99"
        self.output(session, f"SSH Enabled - version {version if version != '2' else '2.0'}\n"
                             "Authentication methods:publickey,keyboard-interactive,password\n"
                             "Authentication timeout: 120 secs; Authentication retries: 3\n")

    # helpers over the configuration
    def global_lines(self) -> list[list[str]]:
        return [node.words() for node in self.view().nodes if not node.section]

    def global_value(self, prefix: list[str]) -> str | None:
        for words in self.global_lines():
            if words[:len(prefix)] == prefix and len(words) > len(prefix):
                return words[len(prefix)]
        return None

    def interfaces(self) -> dict[str, list[list[str]]]:
        return {node.words()[1]: [child.words() for child in node.children]
                for node in self.view().nodes if node.words()[:1] == ["interface"] and len(node.words()) > 1}

    def link_state(self, name: str, settings: list[list[str]]) -> str:
        """up | down | disabled."""
        if ["shutdown"] in settings:
            return "disabled"
        if name.startswith(("Loopback", "Vlan", "Tunnel")):
            return "up"
        return "up" if name in self.device.params.get("links_up", []) else "down"

    def ntp_servers(self) -> list[str]:
        servers = []
        for words in self.global_lines():
            if words[:2] in (["ntp", "server"], ["ntp", "peer"]) and len(words) > 2:
                servers.append(words[4] if words[2] == "vrf" and len(words) > 4 else words[2])
        return servers

    def show_ntp_status(self, session: Session, match: Match) -> None:
        servers = self.ntp_servers()
        if not servers:
            self.output(session, "%NTP is not enabled.\n")
            return
        reachable = [s for s in servers if s in self.device.params.get("ntp_reachable", [])]
        now = time_now()
        if reachable:
            text = f"""Clock is synchronized, stratum 3, reference is {reachable[0]}
nominal freq is 250.0000 Hz, actual freq is 250.0000 Hz, precision is 2**10
ntp uptime is 372000 (1/100 of seconds), resolution is 4000
reference time is E9A1B2C3.5D6E7F80 ({now.strftime('%H:%M:%S')}.365 UTC {now.strftime('%a %b %d %Y')})
clock offset is 0.4512 msec, root delay is 1.21 msec
root dispersion is 3.05 msec, peer dispersion is 0.51 msec
loopfilter state is 'CTRL' (Normal Controlled Loop), drift is 0.000000012 s/s
system poll interval is 64, last update was 33 sec ago.
"""
        else:
            text = """Clock is unsynchronized, stratum 16, no reference clock
nominal freq is 250.0000 Hz, actual freq is 250.0000 Hz, precision is 2**10
ntp uptime is 372000 (1/100 of seconds), resolution is 4000
reference time is 00000000.00000000 (00:00:00.000 UTC Mon Jan 1 1900)
clock offset is 0.0000 msec, root delay is 0.00 msec
root dispersion is 0.00 msec, peer dispersion is 0.00 msec
loopfilter state is 'FSET' (Drift set from file), drift is 0.000000000 s/s
system poll interval is 64, last update was 0 sec ago.
"""
        self.output(session, text)

    def show_ntp_associations(self, session: Session, match: Match) -> None:
        servers = self.ntp_servers()
        reachable = [s for s in servers if s in self.device.params.get("ntp_reachable", [])]
        lines = ["", "  address         ref clock       st   when   poll reach  delay  offset   disp"]
        for server in servers:
            if server in reachable:
                mark = "*" if server == reachable[0] else "+"
                lines.append(f"{mark}~{server:<15} .GPS.            1     33     64   377  1.210   0.451  0.510")
            else:
                lines.append(f" ~{server:<15} .INIT.          16      -   1024     0  0.000   0.000 15937.")
        lines.append(" * sys.peer, # selected, + candidate, - outlyer, x falseticker, ~ configured")
        self.output(session, "\n".join(lines) + "\n")

    def show_logging(self, session: Session, match: Match) -> None:
        lines = self.global_lines()
        on = ["no", "logging", "on"] not in lines
        buffered: str = "level debugging, 12 messages logged, xml disabled,\n                    filtering disabled"
        size = 4096
        for words in lines:
            if words[:2] == ["logging", "buffered"]:
                for word in words[2:]:
                    if word.isdigit() and int(word) > 7:
                        size = int(word)
                    elif not word.isdigit():
                        buffered = (f"level {word}, 12 messages logged, xml disabled,\n"
                                    "                    filtering disabled")
            if words == ["no", "logging", "buffered"]:
                buffered = "disabled"
        trap = self.global_value(["logging", "trap"]) or "informational"
        console = "disabled" if ["no", "logging", "console"] in lines else (
            "level debugging, 12 messages logged, xml disabled,\n                     filtering disabled")
        hosts = []
        for words in lines:
            if words[:2] == ["logging", "host"] and len(words) > 2:
                host = words[3] if words[2] == "ipv6" and len(words) > 3 else words[2]
                transport, port = "udp", "514"
                if "transport" in words and words.index("transport") + 1 < len(words):
                    transport = words[words.index("transport") + 1]
                    port = {"tcp": "601", "tls": "6514"}.get(transport, "514")
                if "port" in words and words.index("port") + 1 < len(words):
                    port = words[words.index("port") + 1]
                hosts.append((host, transport, port))
            elif len(words) == 2 and words[0] == "logging" and re.fullmatch(r"[\d.]+", words[1]):
                hosts.append((words[1], "udp", "514"))
        text = [f"Syslog logging: {'enabled' if on else 'disabled'} (0 messages dropped, 3 messages rate-limited, "
                "0 flushes, 0 overruns, xml disabled, filtering disabled)", "",
                "No Active Message Discriminator.", "", "", "No Inactive Message Discriminator.", "", "",
                f"    Console logging: {console}",
                "    Monitor logging: level debugging, 0 messages logged, xml disabled,\n"
                "                     filtering disabled",
                f"    Buffer logging:  {buffered}",
                "    Exception Logging: size (4096 bytes)",
                "    Count and timestamp logging messages: disabled",
                "    Persistent logging: disabled", "", "No active filter modules.", "",
                f"    Trap logging: level {trap}, 39 message lines logged"]
        for host, transport, port in hosts:
            text += [f"        Logging to {host}  ({transport} port {port}, audit disabled,",
                     "              link up),", "              3 message lines logged,",
                     "              0 message lines rate-limited,", "              0 message lines dropped-by-MD,",
                     "              xml disabled, sequence number disabled", "              filtering disabled"]
        text.append("        Logging Source-Interface:       VRF Name:")
        if buffered != "disabled":
            text += ["", f"Log Buffer ({size} bytes):", "",
                     f"*{time_now().strftime('%b %d %H:%M:%S.000')}: %SYS-5-CONFIG_I: Configured from console by "
                     f"{self.state.changed_by or 'console'} on vty0"]
        self.output(session, "\n".join(text) + "\n")

    def show_ip_interface_brief(self, session: Session, match: Match) -> None:
        rows = ["Interface              IP-Address      OK? Method Status                Protocol"]
        for name, settings in self.interfaces().items():
            address = next((w[2] for w in settings if w[:2] == ["ip", "address"] and len(w) > 3), "unassigned")
            method = "NVRAM" if address != "unassigned" else "unset"
            state = self.link_state(name, settings)
            status, proto = {"disabled": ("administratively down", "down"), "up": ("up", "up"),
                             "down": ("down", "down")}[state]
            rows.append(f"{name:<23}{address:<16}YES {method:<7}{status:<22}{proto}")
        self.output(session, "\n".join(rows) + "\n")

    def show_interfaces_status(self, session: Session, match: Match) -> None:
        rows = ["", "Port      Name               Status       Vlan       Duplex  Speed Type"]
        for name, settings in self.interfaces().items():
            if name.startswith(("Vlan", "Loopback", "Port-channel", "Tunnel")):
                continue
            description = next((" ".join(w[1:]) for w in settings if w[:1] == ["description"]), "")[:18]
            state = self.link_state(name, settings)
            status = {"disabled": "disabled", "up": "connected", "down": "notconnect"}[state]
            vlan = next((w[3] for w in settings if w[:3] == ["switchport", "access", "vlan"] and len(w) > 3), "1")
            if ["switchport", "mode", "trunk"] in settings:
                vlan = "trunk"
            duplex, speed = ("a-full", "a-1000") if state == "up" else ("auto", "auto")
            rows.append(f"{short_name(name):<10}{description:<19}{status:<13}{vlan:<11}{duplex:>6} {speed:>6} "
                        "10/100/1000BaseTX")
        self.output(session, "\n".join(rows) + "\n")

    def open_services(self) -> set[str]:
        lines = self.global_lines()
        on: set[str] = {"ssh"}
        for node in self.view().nodes:
            words = node.words()
            if words[:2] == ["line", "vty"]:
                transport = next((c.words()[2:] for c in node.children if c.words()[:2] == ["transport", "input"]),
                                 None)
                if transport is None:
                    version = self.global_value(["version"]) or "15.0"
                    transport = ["all"] if _older(version, "15.0") else ["ssh"]
                if {"telnet", "all"} & set(transport):
                    on.add("telnet")
        flags = {"http": ["ip", "http", "server"], "https": ["ip", "http", "secure-server"],
                 "finger": ["service", "finger"], "tcp_small": ["service", "tcp-small-servers"],
                 "udp_small": ["service", "udp-small-servers"]}
        on.update(name for name, words in flags.items() if words in lines)
        if ["ip", "finger"] in lines:
            on.add("finger")
        if self.ntp_servers():
            on.add("ntp")
        if any(w[:2] in (["snmp-server", "community"], ["snmp-server", "user"]) for w in lines):
            on.add("snmp")
        if ["no", "ip", "bootp", "server"] not in lines and ["no", "service", "dhcp"] not in lines:
            on.add("bootp")
        return on

    def show_open_ports(self, session: Session, match: Match) -> None:
        rows = ["Active internet connections (servers and established)",
                "Prot        Local Address      Foreign Address                  Service    State"]
        services = self.open_services()
        for protocol, port, name, when in PORT_SERVICES:
            if when in services:
                rows.append(f"{protocol:>4}{'*:' + str(port):>21}{'*:0':>21}{name:>21}   LISTEN")
        self.output(session, "\n".join(rows) + "\n")


def _older(version: str, than: str) -> bool:
    def parts(v: str) -> list[int]:
        return [int(x) for x in re.findall(r"\d+", v)[:2]]
    return parts(version) < parts(than)


PERSONALITY = IOSPersonality
