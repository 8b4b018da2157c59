"""YAMAHA RTX capture -> the shared normalised facts, by pure functions.

`parse_outputs(outputs)` takes the saved command outputs (command -> text; `show config` is required) and returns
the facts accumulator and the privilege level the capture was taken at. Each section reads the flat configuration
(hardening.platforms.yamaha_rtx.config) with the platform data (platform.yaml): documented defaults count (telnetd
and httpd are on when the configuration says nothing, `login timer` is 300 s …), the last line of a command wins,
and what the router cannot show is an error with the reason, never a value.

Live facts: the privilege level (the session's prompt, `#` = administrator), whether the internal log runs
(`show log`), the firmware (`show environment`, else the configuration header). RTX keeps no NTP synchronisation
state (its clock is set by `ntpdate`, one exchange per run) and lists no listening sockets or link state in a form
this parser reads: those facts are errors or manual items, on a live capture as on a backup.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from hardening.core.secrets import mask_config_secrets
from hardening.platforms.common import netcli
from hardening.platforms.common.netcli import Result
from hardening.platforms.yamaha_rtx.config import Config, Line, model_and_revision, parse_config
from hardening.platforms.yamaha_rtx.data import platform_data

RUNNING = "show config"
ANY = "0.0.0.0/0"


def _invalid() -> re.Pattern[str]:
    return re.compile("|".join(platform_data()["error_markers"]), re.M)


def live_output(outputs: dict[str, str], command: str) -> tuple[str | None, str]:
    return netcli.live_output(outputs, command, _invalid())


def _src(line: Line) -> str:
    return f"cmd:{RUNNING} (line {line.number})"


def _cite(result: Result, pointer: str, lines: list[Line]) -> None:
    if lines:
        result.cite(pointer, f"cmd:{RUNNING}", [mask_config_secrets(x.text) for x in lines])


# --- os and privilege ---------------------------------------------------------------------------------

def os_facts(config: Config, outputs: dict[str, str], result: Result) -> None:
    os: dict[str, Any] = {"family": "rtx"}
    model, revision = model_and_revision(config)
    text, _ = live_output(outputs, "show environment")
    if text:
        match = re.search(r"^((?:RTX|NVR|RT|FWX)\S*)\s+Rev\.(\S+)", text, re.M)
        if match:
            model, revision = match.group(1), match.group(2)
    if model:
        os["name"] = f"YAMAHA {model}"
    if revision:
        os["version"] = revision
    prompt = config.last("console", "prompt")
    if prompt and len(prompt.words) > 2:
        os["hostname"] = prompt.words[2]
    result.put("/os", os)


def privilege(outputs: dict[str, str], result: Result) -> int | None:
    """The prompt the session ended at: `…#` administrator (every command, the whole configuration) = 15,
    `…>` a general user = 1."""
    text, why = live_output(outputs, "prompt")
    prompt = (text or "").strip().splitlines()[-1:] if text else []
    if not prompt:
        result.errors["/management/privilege_level"] = why or "the session recorded no prompt"
        return None
    if prompt[0].endswith("#"):
        level = 15
    elif prompt[0].endswith(">"):
        level = 1
    else:
        result.errors["/management/privilege_level"] = "the recorded prompt is neither `>` nor `#`"
        return None
    result.put("/management/privilege_level", level)
    return level


# --- addresses and interfaces ------------------------------------------------------------------------

def _networks(config: Config) -> dict[str, str | None]:
    """Interface -> its directly connected network (`ip lan1 address 192.168.100.1/24`); None when the address
    is not a static one this parser reads (`dhcp`)."""
    cached = config.cache.get("networks")
    if isinstance(cached, dict):
        return cached
    found: dict[str, str | None] = {}
    config.cache["networks"] = found
    for line in config.find("ip"):
        words = line.words
        if len(words) >= 4 and words[0] == "ip" and words[2] == "address":
            try:
                found[words[1]] = str(ipaddress.ip_interface(words[3]).network)
            except ValueError:
                found[words[1]] = None
    return found


def _default_route_interfaces(config: Config, networks: dict[str, str | None]) -> set[str]:
    """Interfaces the default route leaves by: what arrives there can come from anywhere."""
    found: set[str] = set()
    for line in config.find("ip", "route", "default", context=None) + config.find("ip", "route", "0.0.0.0/0",
                                                                               context=None):
        words = line.words
        if "gateway" not in words:
            continue
        rest = list(words[words.index("gateway") + 1:])
        if rest[:1] == ["dhcp"] and len(rest) > 1:
            found.add(rest[1])
        elif rest[:1] in (["pp"], ["tunnel"]) and len(rest) > 1:
            found.add(f"{rest[0]}{rest[1]}")
        elif rest:
            try:
                address = ipaddress.ip_address(rest[0])
            except ValueError:
                continue
            found.update(name for name, net in networks.items() if net and address in ipaddress.ip_network(net))
    return found


def resolve_hosts(config: Config, tokens: list[str]) -> tuple[bool, list[str]]:
    """(admits anybody at all, the permitted sources as CIDR) of a `… host` list. `none` admits nobody;
    `any`, a pp/tunnel peer, an interface the default route leaves by or one whose network is unknown admit
    every source (fail closed)."""
    networks = _networks(config)
    outside = _default_route_interfaces(config, networks)
    sources: set[str] = set()
    if not tokens or tokens == ["none"]:
        return False, []
    for word in tokens:
        if word == "none":
            continue
        if word == "any":
            sources.add(ANY)
        elif word == "lan" or re.fullmatch(r"(lan|bridge|vlan)\d+(/\d+)?", word):
            names = [name for name in networks if name.startswith("lan")] if word == "lan" else [word]
            for name in names or [word]:
                network = networks.get(name)
                sources.add(network if network and name not in outside else ANY)
        elif "-" in word and not word.startswith("-"):
            first, _, last = word.partition("-")
            try:
                start, end = ipaddress.ip_address(first), ipaddress.ip_address(last)
                sources.update(str(n) for n in ipaddress.summarize_address_range(start, end))
            except (ValueError, TypeError):
                sources.add(ANY)
        else:
            try:
                sources.add(str(ipaddress.ip_network(word, strict=False)))
            except ValueError:
                sources.add(ANY)  # pp1, tunnel1, a name: whatever arrives there
    if ANY in sources:
        return True, [ANY]
    return bool(sources), sorted(sources, key=lambda s: (ipaddress.ip_network(s).version,
                                                         ipaddress.ip_network(s)))


# --- management access, insecure protocols, services ---------------------------------------------------

@dataclass
class Service:
    name: str
    on: bool
    how: str          # "configured" (a line says so) or "enabled" (on by default)
    host_tokens: list[str]
    lines: list[Line]
    spec: dict[str, Any]


def _switch(config: Config, name: str, default: bool) -> tuple[bool, Line | None]:
    line = config.last(name, "service")
    if line is None or len(line.words) < 3:
        return default, None
    return line.words[2] == "on", line


def services(config: Config) -> dict[str, Service]:
    found: dict[str, Service] = {}
    for spec in platform_data()["management_services"]:
        name = spec["name"]
        # `sshd host key generate …` is the host key, not the host list
        hosts = [x for x in config.find(name, "host") if x.words[2:3] != ("key",)]
        host = hosts[-1] if hosts else None
        tokens = list(host.words[2:]) if host is not None else [str(spec["host_default"])]
        lines = [host] if host is not None else []
        if spec.get("requires"):
            required = found[spec["requires"]]
            on, how = required.on, required.how
        elif spec["service_default"] is None:
            on, how = True, "configured"
        else:
            on, line = _switch(config, name, bool(spec["service_default"]))
            how = "configured" if line is not None else "enabled"
            if line is not None:
                lines.insert(0, line)
        found[name] = Service(name, on, how, tokens, lines, spec)
    return found


def _security_class(config: Config, outputs: dict[str, str]) -> tuple[int, str]:
    level = int(platform_data()["defaults"]["security_class"]["level"])
    source = "security class (default)"
    line = config.last("security", "class")
    if line is not None and len(line.words) > 2 and line.words[2].isdigit():
        level, source = int(line.words[2]), line.text
    text, _ = live_output(outputs, "show environment")
    match = next((m for m in (re.search(label, text or "", re.I)
                              for label in platform_data()["security_class_labels"]) if m), None)
    if match:
        level, source = int(match.group(1)), "show environment: Security Class"
    return level, source


def management(config: Config, outputs: dict[str, str], result: Result) -> None:
    data = platform_data()
    found = services(config)
    level, level_source = _security_class(config, outputs)
    console_only = level in data["security_class_console_only"]
    access: list[dict[str, Any]] = []
    insecure: list[dict[str, str]] = []
    prohibited: list[dict[str, str]] = []
    for service in found.values():
        admits, sources = resolve_hosts(config, service.host_tokens)
        if not service.on or not admits:
            continue
        if console_only and service.name in data["remote_login_services"]:
            continue  # security class 3: logins only on the console
        host_text = " ".join(service.host_tokens)
        context = (f"{service.name} host {host_text}" if any(x.words[1:2] == ("host",) for x in service.lines)
                   else f"{service.name} (default host {host_text})")
        restricted = ANY not in sources
        access.append({"context": context, "protocols": list(service.spec["protocols"]), "restricted": restricted,
                       "sources": sources,
                       "source": "; ".join(x.text for x in service.lines) or f"{service.name}: documented default"})
        on_text = (f"{service.name} service on" if service.how == "configured" and service.spec["service_default"]
                   is not None else f"{service.name} (on by default)" if service.how == "enabled" else service.name)
        detail = f"{on_text}, host {host_text}"
        if service.spec.get("insecure"):
            insecure.append({"protocol": str(service.spec["insecure"]), "how": service.how, "detail": detail})
        if service.spec.get("prohibited"):
            prohibited.append({"name": str(service.spec["prohibited"]), "how": service.how, "detail": detail})
        _cite(result, "/management/access", service.lines)
    snmp(config, access, insecure, result)
    result.put("/management/access", sorted(access, key=lambda a: str(a["context"])))
    result.put("/management/insecure_protocols", insecure)
    result.put("/services/prohibited_present", prohibited)
    result.put("/remote_access/ssh/protocol_version", int(data["defaults"]["ssh_protocol_version"]))
    result.put("/remote_access/ssh/enabled", any("ssh" in a["protocols"] for a in access))
    if level != int(data["defaults"]["security_class"]["level"]):
        result.cite("/management/access", "security class", [level_source])


def snmp(config: Config, access: list[dict[str, Any]], insecure: list[dict[str, str]], result: Result) -> None:
    """`snmp host` (SNMPv1, the older form), `snmpv1 host`, `snmpv2c host`, `snmpv3 host`: each a way in; v1/v2c
    send the community in clear, v3 users without a privacy algorithm send data unencrypted."""
    users_without_privacy: set[str] = set()
    for line in config.find("snmpv3", "usm", "user"):
        words = line.words
        if len(words) < 5:
            continue
        if not any(w.lower().startswith(("aes", "des")) for w in words[5:]):
            users_without_privacy.add(words[3])
    for version, keyword in (("v1", "snmp"), ("v1", "snmpv1"), ("v2c", "snmpv2c"), ("v3", "snmpv3")):
        for line in config.find(keyword, "host"):
            items = list(line.words)
            if len(items) < 3 or items[2] == "none":
                continue
            admits, sources = resolve_hosts(config, [items[2]])
            if not admits:
                continue
            access.append({"context": f"{keyword} host", "protocols": ["snmp"], "restricted": ANY not in sources,
                           "sources": sources, "source": f"{keyword} host {items[2]} (line {line.number})"})
            if version in {"v1", "v2c"}:
                insecure.append({"protocol": "snmp_v1_v2c", "how": "configured",
                                 "detail": f"{keyword} host {items[2]} (community ***) (line {line.number})"})
            else:
                ids = items[items.index("user") + 1:] if "user" in items else []
                weak = sorted(set(ids) & users_without_privacy) if ids else sorted(users_without_privacy)
                if weak:
                    insecure.append({"protocol": "snmp_v3_without_privacy", "how": "configured",
                                     "detail": f"snmpv3 host {items[2]}: usm user {', '.join(weak)} has no privacy "
                                               "algorithm"})


# --- filters: any-to-any pass rules in force ---------------------------------------------------------

_PASS = {"pass", "pass-log", "pass-nolog", "restrict", "restrict-log", "restrict-nolog"}
_REJECT = {"reject", "reject-log", "reject-nolog"}


def _filters(config: Config, family: str) -> dict[str, tuple[str, bool, Line]]:
    """Filter number -> (action, matches every packet, line) of `ip filter` or `ipv6 filter`."""
    found: dict[str, tuple[str, bool, Line]] = {}
    for line in config.find(family, "filter"):
        words = line.words
        if len(words) < 4 or not words[2].isdigit():
            continue  # ip filter dynamic / ip filter set / ip filter directed-broadcast …
        fields = list(words[4:9])
        everything = all(f == "*" for f in fields)  # an omitted field is `*`
        found[words[2]] = (words[3], everything, line)
    return found


def _applied_lists(config: Config) -> dict[tuple[str, str, str], Line]:
    """(family, interface, direction) -> the last `ip|ipv6 IF secure filter in|out …` line (pp/tunnel lines are
    named by their `pp select` / `tunnel select` context)."""
    found: dict[tuple[str, str, str], Line] = {}
    for line in config.lines:
        words = line.words
        if len(words) < 5 or words[0] not in {"ip", "ipv6"} or words[2:4] != ("secure", "filter") \
                or words[4] not in {"in", "out"}:
            continue
        interface = words[1]
        if interface in {"pp", "tunnel"} and line.context:
            interface = line.context.replace(" ", "")
        found[(words[0], interface, words[4])] = line
    for line in config.lines:  # `no ip lan2 secure filter in` removes the list
        words = line.words
        if words[:1] == ("no",) and len(words) >= 6 and words[3:5] == ("secure", "filter"):
            interface = line.context.replace(" ", "") if words[2] in {"pp", "tunnel"} and line.context else words[2]
            found.pop((words[1], interface, words[5]), None)
    return found


def any_any(config: Config, result: Result) -> None:
    """Filters that pass every packet (`ip filter N pass * * * * *`, omitted fields are `*`; pass-log, pass-nolog
    and restrict alike) in an applied static list before any reject-everything filter (the first match decides)."""
    filters = {family: _filters(config, family) for family in ("ip", "ipv6")}
    permits: dict[tuple[str, str], dict[str, Any]] = {}
    cited: list[Line] = []
    for (family, interface, direction), line in _applied_lists(config).items():
        numbers = list(line.words[5:])
        if "dynamic" in numbers:
            numbers = numbers[:numbers.index("dynamic")]
        for number in numbers:
            action, everything, rule = filters[family].get(number, ("", False, line))
            if not everything:
                continue
            if action in _REJECT:
                break  # the rest of the list is never reached
            if action in _PASS:
                entry = permits.setdefault((family, number), {"rule": f"{family} filter {number}", "applied_to": [],
                                                              "source": rule.text})
                where = f"{interface} {direction}" if family == "ip" else f"{interface} {direction} (IPv6)"
                if where not in entry["applied_to"]:
                    entry["applied_to"].append(where)
                cited += [rule, line]
                break
    ordered = sorted(permits, key=lambda k: (k[0], int(k[1])))
    result.put("/network/any_any_permits", [permits[k] for k in ordered])
    _cite(result, "/network/any_any_permits", cited)


# --- time ---------------------------------------------------------------------------------------------

def _recurring(date: str | None, time: str) -> bool:
    """`schedule at` runs more than once: no date or a date with `*` (`*/*`, `*/mon-fri`, `1/*`), or a time with
    `*`; `startup` runs once per boot and a full date `2024/12/31` once."""
    if time == "startup" or time.startswith("+"):
        return False
    if date is None:
        return True
    return "*" in date or date.count("/") == 1


def ntp_servers(config: Config, result: Result) -> None:
    """The servers of every RECURRING `schedule at N [DATE] TIME * ntpdate SERVER [syslog]` (RTX has no NTP
    client daemon: the clock is set by each ntpdate run). A one-time or startup-only ntpdate does not keep the
    clock synchronised and is not counted."""
    servers: list[str] = []
    cited: list[Line] = []
    for line in config.find("schedule", "at"):
        words = list(line.words)
        if "ntpdate" not in words:
            continue
        at = words.index("ntpdate")
        head = words[3:at]  # [DATE] TIME (* | pp N | tunnel N)
        if head[-1:] == ["*"]:
            head = head[:-1]
        elif len(head) >= 2 and head[-2] in {"pp", "tunnel"}:
            head = head[:-2]
        if not head:
            continue
        date, time = (head[0], head[1]) if len(head) >= 2 else (None, head[0])
        cited.append(line)
        if not _recurring(date, time):
            continue
        arguments = [w for w in words[at + 1:] if w != "syslog"]
        if arguments and arguments[0] not in servers:
            servers.append(arguments[0])
    result.put("/time/ntp_servers", servers)
    _cite(result, "/time", cited)
    # Not an error (nothing failed) and never a value: a person confirms synchronisation from the log's
    # ntpdate results, while a missing or wrong server schedule is still a definite fail.
    why = ("RTX keeps no NTP synchronisation state: its clock is set by `ntpdate` (one exchange per run, "
           "scheduled with `schedule at`) and no command shows whether it is synchronised, to which source, "
           "its stratum or its offset: confirm the scheduled ntpdate runs succeed in `show log`")
    for pointer in ("/time/synchronized", "/time/selected_source", "/time/offset_ms_abs", "/time/stratum"):
        result.manual[pointer] = why


# --- logging ------------------------------------------------------------------------------------------

def _syslog_switches(config: Config) -> dict[str, bool]:
    switches = {k: bool(v) for k, v in platform_data()["defaults"]["syslog"].items()}
    for kind in switches:
        line = config.last("syslog", kind)
        if line is not None and len(line.words) > 2:
            switches[kind] = line.words[2] == "on"
    return switches


def logging(config: Config, outputs: dict[str, str], result: Result) -> None:
    data = platform_data()
    switches = _syslog_switches(config)
    enabled = [kind for kind in ("info", "notice", "debug") if switches[kind]]
    selector = "types " + ",".join(enabled) if enabled else "no info/notice/debug types (syslog * off)"
    targets: list[dict[str, Any]] = []
    lines = config.find("syslog", "host")
    for line in lines:
        words = list(line.words[2:])
        for index, word in enumerate(words):
            if word.isdigit():
                continue
            port = int(words[index + 1]) if index + 1 < len(words) and words[index + 1].isdigit() \
                else int(data["defaults"]["syslog_port"])
            targets.append({"host": word, "port": port, "protocol": "udp", "selector": selector})
    result.put("/logging/remote_targets", targets)
    _cite(result, "/logging/remote_targets", lines + [x for k in ("info", "notice", "debug")
                                                      for x in config.find("syslog", k)])

    severity = ("debugging" if switches["debug"] else "informational" if switches["info"]
                else "notifications" if switches["notice"] else "errors")
    # The internal log is always kept (it cannot be switched off) and holds a fixed number of entries, not a
    # size in bytes: size_bytes is left out.
    result.put("/logging/local_buffer", {"enabled": True, "severity": severity})

    stamp = data["log_timestamp"]
    result.put("/logging/timestamp_formats", [{"log": "internal log (show log) and syslog messages",
                                               "writer": "RTX syslog", "format": str(stamp["format"]),
                                               "full": bool(stamp["full"]), "source": "firmware (fixed format)"}])

    text, why = live_output(outputs, "show log")
    if text is None:
        result.errors["/logging/running"] = why
    elif re.search(r"^\s*\d{4}/\d{2}/\d{2} \d{1,2}:\d{2}:\d{2}:", text, re.M):
        result.put("/logging/running", True)
        result.cite("/logging/running", "cmd:show log", text.strip().splitlines()[-3:])
    else:
        result.errors["/logging/running"] = "`show log` holds no log entry"


# --- accounts, passwords, login ------------------------------------------------------------------------

def _method(words: tuple[str, ...], after: int) -> str:
    methods: dict[str, str] = platform_data()["secret_methods"]
    return methods["encrypted"] if words[after:after + 1] == ("encrypted",) else methods["plain"]


def _attributes(config: Config) -> dict[str, dict[str, str]]:
    """`user attribute [USER] KEY=VALUE …` by user ("" = the anonymous user, "*" = every user)."""
    found: dict[str, dict[str, str]] = {}
    for line in config.find("user", "attribute"):
        rest = list(line.words[2:])
        user = "" if not rest or "=" in rest[0] else rest.pop(0)
        for item in rest:
            key, _, value = item.partition("=")
            found.setdefault(user, {})[key] = value
    return found


def _users(config: Config) -> dict[str, Line]:
    users: dict[str, Line] = {}
    for line in config.find("login", "user"):
        if len(line.words) >= 3:
            users[line.words[2]] = line
    return users


def _anonymous_enabled(attributes: dict[str, dict[str, str]]) -> bool:
    return attributes.get("", {}).get("connection", "all") != "off"


def accounts(config: Config, result: Result) -> None:
    data = platform_data()
    weak = set(data["weak_methods"])
    anonymous = str(data["anonymous_account"])
    attributes = _attributes(config)
    users = _users(config)
    methods: list[dict[str, str]] = []
    weak_accounts: set[str] = set()
    empty: set[str] = set()
    cited: list[Line] = []

    def record(source: str, account: str, method: str) -> None:
        methods.append({"source": source, "method": method})
        if method in weak or method.startswith("unknown"):
            weak_accounts.add(account)

    administrator = config.last("administrator", "password")
    if administrator is None or len(administrator.words) < 3:
        empty.add("administrator")  # factory setting: `administrator` asks for nothing
    else:
        record("administrator password", "administrator", _method(administrator.words, 2))
        cited.append(administrator)
    if _anonymous_enabled(attributes):
        login = config.last("login", "password")
        if login is None or len(login.words) < 3:
            empty.add(anonymous)
        else:
            record("login password", anonymous, _method(login.words, 2))
            cited.append(login)
    for name, line in users.items():
        if len(line.words) < 4:
            empty.add(name)
            continue
        method = str(data["secret_methods"]["encrypted"]) if data["login_user_always_encrypted"] \
            else _method(line.words, 3)
        record(f"login user {name}", name, method)
    result.put("/accounts/password_storage", {"hash_methods": methods, "weak_hash_accounts": sorted(weak_accounts),
                                              "empty_password_accounts": sorted(empty)})
    _cite(result, "/accounts/password_storage", cited)
    generic = {name.lower() for name in data["generic_admin_names"]}
    names = [*users, anonymous] if _anonymous_enabled(attributes) else list(users)
    result.put("/accounts/generic_admin_names", sorted(n for n in names if n.lower() in generic))

    policy = data["password_policy"]
    result.put("/password_policy", {"enforced": bool(policy["enforced"]), "min_length": int(policy["min_length"]),
                                    "min_char_classes": int(policy["min_char_classes"])})
    lockout = data["lockout"]
    result.put("/login/lockout_threshold", int(lockout["threshold"]))
    result.put("/login/lockout_duration_seconds", lockout["duration_seconds"])


def _seconds(value: str) -> int | None:
    if value == "clear":
        return 0
    return int(value) if value.isdigit() else None


def idle_timeout(config: Config, result: Result) -> None:
    """The worst idle logout over every account that can log in: `user attribute [USER] login-timer=` for that
    user (or `*`), else the global `login timer` (default 300 s; `clear` = never, the worst)."""
    data = platform_data()
    anonymous = str(data["anonymous_account"])
    attributes = _attributes(config)
    seconds, source = int(data["defaults"]["login_timer_seconds"]), "login timer (default 300)"
    line = config.last("login", "timer")
    if line is not None and len(line.words) > 2 and _seconds(line.words[2]) is not None:
        seconds, source = _seconds(line.words[2]) or 0, line.text
    names = [*_users(config)] + ([anonymous] if _anonymous_enabled(attributes) else [])
    worst: tuple[int, str] | None = None
    for name in names or [anonymous]:
        # `*` stands for every named user; the anonymous user's attributes are the ones given without a name
        own = attributes.get("", {}).get("login-timer") if name == anonymous else \
            attributes.get(name, {}).get("login-timer") or attributes.get("*", {}).get("login-timer")
        value = _seconds(own) if own is not None else None
        candidate = (value, f"user attribute {name} login-timer={own}") if value is not None else (seconds, source)
        if worst is None or (candidate[0] == 0 and worst[0] != 0) or (worst[0] != 0 and candidate[0] > worst[0]):
            worst = candidate
    if worst is None:  # names is never empty
        worst = (seconds, source)
    result.put("/login/idle_timeout", {"seconds": worst[0], "readonly": True, "exported": True, "source": worst[1]})
    _cite(result, "/login/idle_timeout", [line] if line is not None else [])


def banners(result: Result) -> None:
    """RTX shows no configurable text before login (no banner command on telnet, SSH or the console)."""
    result.put("/login/banners", [
        {"surface": "console", "context": "console (serial) and telnet logins", "source": "RTX: no banner command",
         "text": None},
        {"surface": "ssh", "context": "SSH logins (sshd)", "source": "RTX: no banner command", "text": None},
    ])


def live_only(result: Result) -> None:
    result.manual["/network/exposed_sockets"] = (
        "RTX has no command that lists its listening sockets: review the servers the configuration turns on "
        "(telnetd, sshd, httpd, sftpd, tftp, dns service, sntpd, snmp) against the allowed ports")
    result.manual["/network/unused_ports_enabled"] = (
        "RTX LAN ports have no shutdown setting in the configuration; which ports are unused needs their link "
        "state (`show status lanN`), which this platform does not read")


# --- the whole capture --------------------------------------------------------------------------------

def parse_outputs(outputs: dict[str, str]) -> tuple[Result, int | None]:
    """The facts of one capture: `outputs` maps each command to its saved output."""
    config = parse_config(outputs[RUNNING])
    result = Result()
    level = privilege(outputs, result)
    os_facts(config, outputs, result)
    idle_timeout(config, result)
    management(config, outputs, result)
    any_any(config, result)
    ntp_servers(config, result)
    logging(config, outputs, result)
    accounts(config, result)
    banners(result)
    live_only(result)
    return result, level
