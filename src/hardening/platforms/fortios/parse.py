"""FortiOS capture -> the shared normalised facts, by pure functions.

`parse_outputs(outputs)` takes the saved command outputs (command -> text; the configuration, `show
full-configuration` or a plain `show`/backup, is required) and returns the facts. The configuration is read
as a tree (hardening.platforms.fortios.config); an option a plain `show` leaves out has its documented default
(platform.yaml `defaults`), so a terse backup and a full configuration give the same facts. On a VDOM-enabled
device the global tables come from `config global` and the per-VDOM ones (firewall policies) from every VDOM.
Facts only a running device gives (NTP synchronisation, the log daemon, link state) come from their command's
output when it is in the capture, else they are named under `errors`.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any

from hardening.platforms.common import netcli
from hardening.platforms.common.netcli import ConfigurationError, Result
from hardening.platforms.fortios.config import Config, Node, parse_config
from hardening.platforms.fortios.data import default, error_pattern, platform_data

RUNNING = "show full-configuration"
STATUS = "get system status"
NTP = "diagnose sys ntp status"
LOGD = "diagnose sys process pidof miglogd"
PHYSICAL = "get system interface physical"
ANY_V4 = "0.0.0.0/0"  # a source, not a bind address


def live_output(outputs: dict[str, str], command: str) -> tuple[str | None, str]:
    return netcli.live_output(outputs, command, error_pattern())


def option(node: Node | None, table: str, name: str) -> str:
    """The effective value of option `name` of a node of table `table`: as set, else the documented default
    ('' when neither: FortiOS leaves a string option empty)."""
    value = node.value(name) if node is not None else None
    if value is None:
        value = default(table, name)
    return value if value is not None else ""


def _cfg(node: Node | None, name: str | None = None) -> str:
    line = (node.option_lines.get(name, node.line) if name else node.line) if node else 0
    return f"cmd:{RUNNING} (line {line})" if line else f"cmd:{RUNNING}"


def _version(text: str) -> tuple[int, ...] | None:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(p) for p in match.groups() if p is not None) if match else None


# --- os ------------------------------------------------------------------------------------------------

def os_facts(config: Config, outputs: dict[str, str], result: Result) -> tuple[int, ...] | None:
    """/os from the configuration's header (`#config-version=FGT60F-7.0.12-FW-build0523-…`) and the global
    hostname; a live `get system status` wins. Returns the release (major, minor, patch) when known."""
    os: dict[str, Any] = {"family": "fortios", "name": "FortiOS"}
    hostname = config.table("system global")
    if hostname is not None and hostname.value("hostname") is not None:
        os["hostname"] = hostname.value("hostname")
    header = re.match(r"^([^-]+)-(\d+\.\d+\.\d+)-FW-build(\d+)", config.header.get("config-version", ""))
    if header:
        os["version"] = f"{header.group(2)} build{header.group(3)}"
    text, _ = live_output(outputs, STATUS)
    if text:
        version = re.search(r"^Version\s*:\s*\S+\s+v(\d+\.\d+\.\d+),build(\d+)", text, re.M)
        if version:
            os["version"] = f"{version.group(1)} build{version.group(2)}"
        name = re.search(r"^Hostname\s*:\s*(\S+)", text, re.M)
        if name:
            os["hostname"] = name.group(1)
    result.put("/os", os)
    return _version(os["version"]) if "version" in os else None


# --- password policy, lockout, idle timeout, banners -------------------------------------------------

def password_policy(config: Config, result: Result) -> None:
    """`config system password-policy` governs administrator passwords when `status enable` and `apply-to`
    names `admin-password`; otherwise FortiOS accepts any password."""
    table = "system password-policy"
    node = config.table(table)
    enforced = option(node, table, "status") == "enable" and \
        "admin-password" in option(node, table, "apply-to").split()
    if not enforced:
        result.put("/password_policy", {"enforced": False,
                                        "min_length": int(platform_data()["min_length_without_policy"]),
                                        "min_char_classes": 0})
    else:
        classes = sum(1 for name in ("min-upper-case-letter", "min-lower-case-letter", "min-number",
                                     "min-non-alphanumeric") if _int(option(node, table, name)) >= 1)
        result.put("/password_policy", {"enforced": True,
                                        "min_length": _int(option(node, table, "minimum-length")),
                                        "min_char_classes": classes})
    if node is not None:
        result.cite("/password_policy", _cfg(node), _render(table, node))


def _int(text: str) -> int:
    return int(text) if text.strip().isdigit() else 0


def _render(path: str, node: Node) -> list[str]:
    """A table's options as configuration lines (evidence; secrets are masked by Result.cite)."""
    return [f"config {path}", *(f"    set {k} {' '.join(v)}" for k, v in node.options.items()), "end"]


def login(config: Config, result: Result) -> None:
    """Lockout (`admin-lockout-threshold` failures from one address lock it out for `admin-lockout-duration`
    seconds), the idle timeout (`admintimeout` minutes, every admin session; `admin-console-timeout` seconds
    overrides it on the console) and the pre-login banner."""
    table = "system global"
    node = config.table(table)
    result.put("/login/lockout_threshold", _int(option(node, table, "admin-lockout-threshold")))
    result.put("/login/lockout_duration_seconds", _int(option(node, table, "admin-lockout-duration")))
    minutes = option(node, table, "admintimeout")
    if not minutes.isdigit() or int(minutes) == 0:  # never a value read as "no time at all"
        result.errors["/login/idle_timeout"] = f"system global admintimeout {minutes!r} is not a number of minutes"
        banners(config, node, result)
        return
    seconds = int(minutes) * 60
    source = "system global admintimeout" + ("" if node is not None and node.get("admintimeout") else " (default)")
    console = _int(option(node, table, "admin-console-timeout"))
    if console > seconds:
        seconds, source = console, "system global admin-console-timeout (console)"
    result.put("/login/idle_timeout", {"seconds": seconds, "readonly": True, "exported": True, "source": source})
    if node is not None:
        result.cite("/login/idle_timeout", _cfg(node, "admintimeout"),
                    [f"set {k} {' '.join(node.options[k])}" for k in ("admintimeout", "admin-console-timeout",
                                                                        "admin-lockout-threshold",
                                                                        "admin-lockout-duration")
                     if k in node.options])
    banners(config, node, result)


def banners(config: Config, node: Node | None, result: Result) -> None:
    """`set pre-login-banner enable` shows the replacement message admin `pre_admin-disclaimer-text` before
    the login on the console, SSH and the web GUI. A plain `show` leaves the message out when it is Fortinet's
    factory text: the configuration then cannot say what is shown (manual)."""
    if option(node, "system global", "pre-login-banner") != "enable":
        text: str | None = None
        source = "system global pre-login-banner disable"
    else:
        message = config.table('system replacemsg admin pre_admin-disclaimer-text')
        buffer = message.value("buffer") if message is not None else None
        if buffer is None:
            result.manual["/login/banners"] = (
                "pre-login-banner is enabled but the configuration carries no `config system replacemsg admin "
                "\"pre_admin-disclaimer-text\"` (a plain `show` leaves out the factory text): the text shown "
                "is not in the capture (take `show full-configuration`)")
            return
        text = buffer.strip("\n") or None
        source = 'system global pre-login-banner enable + replacemsg admin "pre_admin-disclaimer-text"'
        result.cite("/login/banners", _cfg(message), ["config system replacemsg admin \"pre_admin-disclaimer-text\"",
                                                      *(buffer or "").splitlines()[:20]])
    result.put("/login/banners", [
        {"surface": surface, "context": context, "source": source, "text": text}
        for surface, context in (("console", "console (serial) login"), ("ssh", "SSH administrator login"),
                                 ("gui", "web GUI administrator login (HTTPS)"))])


# --- management access, protocols, services ----------------------------------------------------------

def _cidr(words: list[str]) -> str | None:
    """`10.0.0.0 255.255.0.0` or `10.0.0.0/16` (or an IPv6 prefix) as a CIDR; None when unreadable."""
    try:
        if len(words) >= 2 and "/" not in words[0]:
            return str(ipaddress.ip_network(f"{words[0]}/{words[1]}", strict=False))
        if words:
            return str(ipaddress.ip_network(words[0], strict=False))
    except ValueError:
        return None
    return None


def interfaces(config: Config) -> dict[str, Node]:
    table = config.table("system interface")
    return dict(table.entries) if table is not None else {}


def _allowaccess(node: Node) -> tuple[list[str], list[str]]:
    """(IPv4 allowaccess keywords, IPv6 ip6-allowaccess keywords) of an interface that is up."""
    if option(node, "system interface", "status") == "down":
        return [], []
    ipv6 = node.table("ipv6")
    return node.get("allowaccess") or [], (ipv6.get("ip6-allowaccess") or []) if ipv6 is not None else []


def allowed_protocols(config: Config) -> tuple[dict[str, list[str]], dict[str, list[str]], list[str]]:
    """(protocol -> interfaces admitting it over IPv4, the same over IPv6, evidence lines) for the interfaces
    that are up; telnet only while `admin-telnet` is not disabled."""
    data = platform_data()
    telnet_on = option(config.table("system global"), "system global", "admin-telnet") != "disable"
    v4: dict[str, list[str]] = {}
    v6: dict[str, list[str]] = {}
    cited: list[str] = []
    for name, node in interfaces(config).items():
        allow4, allow6 = _allowaccess(node)
        for words, into in ((allow4, v4), (allow6, v6)):
            for word in words:
                protocol = data["admin_access"].get(word) or ("snmp" if word == "snmp" else None)
                if protocol and not (protocol == "telnet" and not telnet_on):
                    into.setdefault(protocol, []).append(name)
        if allow4 or allow6:
            cited.append(f"edit \"{name}\": allowaccess {' '.join(allow4)}"
                         + (f"; ip6-allowaccess {' '.join(allow6)}" if allow6 else ""))
    return v4, v6, cited


def management(config: Config, result: Result) -> None:
    """Each enabled way in (interfaces' allowaccess) for each administrator with its trusted hosts; clear-text
    protocols; SSH version; the services the policy treats as unneeded."""
    data = platform_data()
    glob = config.table("system global")
    v4, v6, cited = allowed_protocols(config)
    insecure: list[dict[str, str]] = []
    prohibited: list[dict[str, str]] = []
    for protocol in sorted(set(v4) | set(v6)):
        where = ", ".join(dict.fromkeys(v4.get(protocol, []) + v6.get(protocol, [])))
        if protocol in data["insecure_access"]:
            insecure.append({"protocol": protocol, "how": "configured",
                             "detail": f"system interface allowaccess {protocol}: {where}"})
        if protocol in data["prohibited_access"]:
            prohibited.append({"name": protocol, "how": "configured",
                               "detail": f"system interface allowaccess {protocol}: {where}"})
    ssh1 = option(glob, "system global", "admin-ssh-v1") == "enable"
    result.put("/remote_access/ssh/protocol_version", 1 if ssh1 else 2)
    if ssh1 and ("ssh" in v4 or "ssh" in v6):
        insecure.append({"protocol": "ssh1", "how": "configured", "detail": "system global admin-ssh-v1 enable"})
    snmp_access = snmp(config, insecure, "snmp" in v4 or "snmp" in v6)
    result.put("/management/insecure_protocols", insecure)
    result.put("/services/prohibited_present", prohibited)
    if cited:
        result.cite("/management/insecure_protocols", _cfg(config.table("system interface")), cited)
    admin_protocols = [p for p in ("ssh", "https", "http", "telnet") if p in v4 or p in v6]
    access = administrators_access(config, admin_protocols, bool(set(admin_protocols) & set(v6)), result)
    result.put("/management/access", access + snmp_access)


def administrators_access(config: Config, protocols: list[str], ipv6: bool, result: Result) -> list[dict[str, Any]]:
    """One item per administrator: the protocols the interfaces admit and the administrator's trusted hosts
    (`trusthost1..10`; `0.0.0.0 0.0.0.0` is an unused slot; all unused = any source). IPv6 sources count
    only where an interface admits administrators over IPv6 (`ip6-trusthost1..10`, `::/0` = any)."""
    table = config.table("system admin")
    if table is None or not protocols:
        return []
    items = []
    for name, node in table.entries.items():
        sources: list[str] = []
        for prefix, anything in (("trusthost", "0.0.0.0/0"), ("ip6-trusthost", "::/0")):
            if prefix == "ip6-trusthost" and not ipv6:
                continue
            slots = [_cidr(node.get(f"{prefix}{n}") or []) for n in range(1, 11)]
            unreadable = any(s is None and node.get(f"{prefix}{n}") for n, s in enumerate(slots, start=1))
            used = sorted({s for s in slots if s is not None and s != anything})
            sources.extend([anything] if unreadable or not used else used)
        sources = sorted(set(sources))
        items.append({"context": f"system admin {name}", "protocols": protocols,
                      "restricted": not ({"0.0.0.0/0", "::/0"} & set(sources)), "sources": sources,
                      "source": "config system admin: trusthost1..10"
                                + (", ip6-trusthost1..10" if ipv6 else "")})
        result.cite("/management/access", _cfg(node),
                    [f'edit "{name}"', *(f"    set {k} {' '.join(v)}" for k, v in node.options.items()
                                         if "trusthost" in k)])
    return items


def snmp(config: Config, insecure: list[dict[str, str]], allowed: bool) -> list[dict[str, Any]]:
    """SNMP v1/v2c communities and v3 users without privacy, where an interface admits SNMP. Community names
    are secrets: items name the community by its id, never by its name."""
    if not allowed:
        return []
    items: list[dict[str, Any]] = []
    communities = config.table("system snmp community")
    for number, node in (communities.entries if communities is not None else {}).items():
        table = "system snmp community"
        if option(node, table, "status") != "enable":
            continue
        versions = [v for v, key in (("v1", "query-v1-status"), ("v2c", "query-v2c-status"))
                    if option(node, table, key) == "enable"]
        if not versions:
            continue
        insecure.append({"protocol": "snmp_v1_v2c", "how": "configured",
                         "detail": f"system snmp community {number} (***): {'/'.join(versions)} queries"})
        hosts = node.table("hosts")
        # A host entry without `ip` (or an unreadable one) admits any address: 0.0.0.0/0.
        sources = sorted({_cidr(h.get("ip") or []) or ANY_V4
                          for h in (hosts.entries.values() if hosts is not None else [])}) or [ANY_V4]
        items.append({"context": f"system snmp community {number}", "protocols": ["snmp"],
                      "restricted": ANY_V4 not in sources, "sources": sources,
                      "source": "config system snmp community: config hosts"})
    users = config.table("system snmp user")
    for name, node in (users.entries if users is not None else {}).items():
        level = option(node, "system snmp user", "security-level")
        if option(node, "system snmp user", "status") == "enable" and level != "auth-priv":
            insecure.append({"protocol": "snmp_v3_without_privacy", "how": "configured",
                             "detail": f"system snmp user {name}: security-level {level}"})
    return items


# --- time ---------------------------------------------------------------------------------------------

def ntp_servers(config: Config, result: Result) -> None:
    table = "system ntp"
    node = config.table(table)
    if option(node, table, "ntpsync") != "enable":
        result.put("/time/ntp_servers", [])
    elif option(node, table, "type") == "fortiguard":
        result.put("/time/ntp_servers", list(platform_data()["fortiguard_ntp_servers"]))
    else:
        servers = node.table("ntpserver") if node is not None else None
        found = [entry.value("server") for entry in (servers.entries.values() if servers is not None else [])]
        result.put("/time/ntp_servers", list(dict.fromkeys(s for s in found if s)))
    if node is not None:
        result.cite("/time", _cfg(node), _render(table, node))


def ntp_status(outputs: dict[str, str], result: Result) -> None:
    """`diagnose sys ntp status`: `synchronized: yes|no`, then one block per server; the `selected` one gives
    the source, its `stratum=` and `clock offset is X sec`."""
    live = ("/time/synchronized", "/time/offset_ms_abs", "/time/selected_source", "/time/stratum")
    text, why = live_output(outputs, NTP)
    if text is None:
        result.errors.update(dict.fromkeys(live, why))
        return
    state = re.search(r"^\s*synchronized:\s*(yes|no)", text, re.M)
    if state is None:
        result.errors.update(dict.fromkeys(live, f"`{NTP}` does not say whether the clock is synchronized"))
        return
    result.cite("/time/synchronized", f"cmd:{NTP}", text.strip().splitlines()[:8])
    synchronized = state.group(1) == "yes"
    result.put("/time/synchronized", synchronized)
    blocks = re.split(r"^(?=\s*ipv[46] server\()", text, flags=re.M)
    selected = next((b for b in blocks if re.match(r"\s*ipv[46] server\(", b)
                     and re.search(r"^\s*ipv[46] server\(.*\bselected\b", b, re.M)), None)
    if not synchronized or selected is None:
        result.put("/time/selected_source", None)
        reason = "the clock is not synchronized: no selected server" if not synchronized else \
            f"`{NTP}` names no selected server"
        result.errors["/time/offset_ms_abs"] = reason
        result.errors["/time/stratum"] = reason
        return
    name = re.match(r"\s*ipv[46] server\(([^)]*)\)\s*(\S+)?", selected)
    result.put("/time/selected_source", (name.group(1) if name else None) or None)
    stratum = re.search(r"stratum=(\d+)", selected)
    if stratum:
        result.put("/time/stratum", int(stratum.group(1)))
    else:
        result.errors["/time/stratum"] = f"`{NTP}` gives no stratum for the selected server"
    offset = re.search(r"clock offset is (-?[\d.]+) sec", selected)
    if offset:
        result.put("/time/offset_ms_abs", round(abs(float(offset.group(1))) * 1000, 3))
    else:
        result.errors["/time/offset_ms_abs"] = f"`{NTP}` gives no clock offset for the selected server"


# --- logging ------------------------------------------------------------------------------------------

def _severity(word: str) -> str:
    names: dict[str, str] = platform_data()["severities"]
    return names.get(word, word)


def logging(config: Config, outputs: dict[str, str], release: tuple[int, ...] | None, result: Result) -> None:
    data = platform_data()
    targets: list[dict[str, Any]] = []
    for path in data["syslog_servers"]:
        node = config.table(path)
        table = "log syslogd setting"
        server = option(node, table, "server")
        if option(node, table, "status") != "enable" or not server:
            continue
        protocol = data["syslog_protocols"].get(option(node, table, "mode"), "udp")
        if protocol == "tcp" and option(node, table, "enc-algorithm") != "disable":
            protocol = "tls"
        flt = config.table(path.replace(" setting", " filter"))
        targets.append({"host": server, "port": _int(option(node, table, "port")), "protocol": protocol,
                        "selector": f"severity {_severity(option(flt, 'log syslogd filter', 'severity'))}"})
        result.cite("/logging/remote_targets", _cfg(node), _render(path, node) if node else [])
    result.put("/logging/remote_targets", targets)

    text, why = live_output(outputs, LOGD)
    if text is None:
        result.errors["/logging/running"] = why
    else:
        result.put("/logging/running", bool(re.search(r"^\s*\d+(\s+\d+)*\s*$", text, re.M)))
        result.cite("/logging/running", f"cmd:{LOGD}", text.strip().splitlines()[:3])

    memory, disk = config.table("log memory setting"), config.table("log disk setting")
    if option(memory, "log memory setting", "status") == "enable":
        buffer: dict[str, Any] = {"enabled": True, "severity": _severity(
            option(config.table("log memory filter"), "log memory filter", "severity"))}
        size = config.table("log memory global-setting")
        max_size = size.value("max-size") if size is not None else None
        if max_size is not None and max_size.isdigit():
            buffer["size_bytes"] = int(max_size)
    elif option(disk, "log disk setting", "status") == "enable":
        # Disk logging keeps logs by age and disk space, not a buffer size the configuration states.
        buffer = {"enabled": True, "severity": _severity(
            option(config.table("log disk filter"), "log disk filter", "severity"))}
    else:
        buffer = {"enabled": False, "size_bytes": 0, "severity": None}
    result.put("/logging/local_buffer", buffer)

    stamp = data["log_timestamp"]
    since = tuple(int(p) for p in str(stamp["full_since"]).split("."))
    if release is None:
        result.manual["/logging/timestamp_formats"] = (
            "the release is not known (no `#config-version` header, no `get system status`): the `tz` field "
            f"of log messages exists since FortiOS {stamp['full_since']}")
    else:
        result.put("/logging/timestamp_formats", [{
            "log": "log messages (memory, disk, syslog, FortiAnalyzer)", "writer": "FortiOS miglogd",
            "format": str(stamp["format"]), "full": release[:2] >= since, "source": "built in (no setting)"}])


# --- accounts -----------------------------------------------------------------------------------------

def _stored(words: list[str] | None, reversible: bool) -> str | None:
    """The method of `set password|passwd …`: ENC <prefix>… (hash or reversible encryption) or clear text."""
    if not words:
        return None
    if words[0] == "ENC" and len(words) > 1:
        if reversible:
            return "reversible"
        prefixes: dict[str, str] = platform_data()["admin_secret_prefixes"]
        return prefixes.get(words[1][:3], f"unknown:ENC {words[1][:3]}")
    return "plaintext"


def accounts(config: Config, release: tuple[int, ...] | None, result: Result) -> None:
    data = platform_data()
    weak = set(data["weak_methods"])
    methods: list[dict[str, str]] = []
    weak_accounts: set[str] = set()
    empty: set[str] = set()
    admins = config.table("system admin")
    names: list[str] = []
    for name, node in (admins.entries if admins is not None else {}).items():
        names.append(name)
        method = _stored(node.get("password"), reversible=False)
        if method is None:
            if option(node, "system admin", "remote-auth") != "enable":
                empty.add(name)
            continue
        methods.append({"source": f"system admin {name}", "method": method})
        if method in weak or method.startswith("unknown"):
            weak_accounts.add(name)
    users = config.table("user local")
    for name, node in (users.entries if users is not None else {}).items():
        if option(node, "user local", "status") != "enable" or option(node, "user local", "type") != "password":
            continue
        method = _stored(node.get("passwd"), reversible=True)
        if method is None:
            empty.add(f"user local {name}")
            continue
        methods.append({"source": f"user local {name}", "method": method})
        if method in weak:
            weak_accounts.add(f"user local {name}")
    result.put("/accounts/password_storage", {"hash_methods": methods, "weak_hash_accounts": sorted(weak_accounts),
                                              "empty_password_accounts": sorted(empty)})
    generic = {n.lower() for n in data["generic_admin_names"]}
    found = {n for n in names if n.lower() in generic}
    removed = tuple(int(p) for p in str(data["maintainer_removed_in"]).split("."))
    if (release is None or release < removed) and \
            option(config.table("system global"), "system global", "admin-maintainer") == "enable":
        found.add("maintainer")  # the console recovery account (an unknown release counts it: fail closed)
    result.put("/accounts/generic_admin_names", sorted(found))


# --- firewall policies --------------------------------------------------------------------------------

def any_any_permits(config: Config, result: Result) -> None:
    """Enabled accept policies from `all` to `all` for service `ALL` (not negated), in every VDOM."""
    permits: list[dict[str, Any]] = []
    table = "firewall policy"
    for vdom, scope in config.vdoms().items():
        for path in ("firewall policy", "firewall policy6"):
            policies = scope.table(path)
            for number, node in (policies.entries if policies is not None else {}).items():
                if option(node, table, "status") != "enable" or option(node, table, "action") != "accept":
                    continue
                src = (node.get("srcaddr") or []) + (node.get("srcaddr6") or [])
                dst = (node.get("dstaddr") or []) + (node.get("dstaddr6") or [])
                if not ("all" in src and "all" in dst and "ALL" in (node.get("service") or [])):
                    continue
                if any(option(node, table, f"{k}-negate") == "enable" for k in ("srcaddr", "dstaddr", "service")):
                    continue
                label = f"{path} {number}" + (f" ({node.value('name')})" if node.value("name") else "")
                if config.vdom_mode:
                    label = f"vdom {vdom}: {label}"
                applied = f"{' '.join(node.get('srcintf') or ['any'])} -> {' '.join(node.get('dstintf') or ['any'])}"
                permits.append({"rule": label, "applied_to": [applied],
                                "source": "srcaddr all, dstaddr all, service ALL, action accept, status enable"})
                result.cite("/network/any_any_permits", _cfg(node), _render(f"{path} (edit {number})", node))
    result.put("/network/any_any_permits", permits)


# --- ports open to the network ---------------------------------------------------------------------------

def _address(words: list[str] | None, interface: str) -> str:
    """The interface's own address (`10.0.0.1 255.255.255.0`, `10.0.0.1/24`, `2001:db8::1/64`); its name when
    it has none configured (DHCP, PPPoE)."""
    address = (words or [""])[0].split("/")[0]
    try:
        return interface if ipaddress.ip_address(address).is_unspecified else address
    except ValueError:
        return interface


def exposed_sockets(config: Config, release: tuple[int, ...] | None, result: Result) -> None:
    """The ports FortiOS opens on its interfaces: each allowaccess keyword of an interface that is up (the
    local-in rules FortiOS creates from it), SSL VPN on its source interfaces, IKE for IPsec interfaces and the
    NTP server mode. `diagnose sys tcpsock` is not used: it lists internal listeners (authd's 1040x/1050x …)
    that the local-in policy never admits from the network."""
    data = platform_data()
    glob = config.table("system global")
    telnet_on = option(glob, "system global", "admin-telnet") != "disable"
    sockets: dict[str, dict[str, Any]] = {}

    def add(socket: str, address: str, process: str) -> None:
        entry = sockets.setdefault(socket, {"socket": socket, "addresses": [], "process": process})
        if address not in entry["addresses"]:
            entry["addresses"].append(address)

    for name, node in interfaces(config).items():
        allow4, allow6 = _allowaccess(node)
        ipv6 = node.table("ipv6")
        for words, address in ((allow4, _address(node.get("ip"), name)),
                               (allow6, _address(ipv6.get("ip6-address") if ipv6 else None, name))):
            for word in words:
                port = data["access_ports"].get(word)
                if port is None or (word == "telnet" and not telnet_on):
                    continue
                number = port.get("port") or option(glob, "system global", str(port["option"]))
                add(f"{port['socket']}/{number}", address, str(port["process"]))
    def on(name: str) -> str:
        """An interface's address (its name when it has none configured, `*` for all)."""
        node = ports.get(name)
        return _address(node.get("ip") if node is not None else None, name)

    ports = interfaces(config)
    for vdom in config.vdoms().values():
        ssl = vdom.table("vpn ssl settings")
        if ssl is not None and ssl.get("source-interface") and ssl.value("status", "enable") != "disable":
            default = data["sslvpn_port"]["below_7"] if release and release[0] < 7 else data["sslvpn_port"]["default"]
            for name in ssl.get("source-interface") or []:
                add(f"tcp/{ssl.value('port', str(default))}", on(name), "sslvpnd")
        phase1 = vdom.table("vpn ipsec phase1-interface")
        for entry in (phase1.entries.values() if phase1 is not None else []):
            for socket in ("udp/500", "udp/4500"):
                add(socket, on(entry.value("interface") or "*"), "iked")
    ntp = config.table("system ntp")
    if option(ntp, "system ntp", "server-mode") == "enable":
        for name in (ntp.get("interface") if ntp is not None else None) or ["*"]:
            add("udp/123", on(name), "ntpd")
    result.put("/network/exposed_sockets", sorted(sockets.values(), key=lambda s: (s["socket"].split("/")[0],
                                                                                   int(s["socket"].split("/")[1]))))


# --- live: link state ---------------------------------------------------------------------------------

def link_states(outputs: dict[str, str]) -> dict[str, str] | None:
    """Port -> up | down from `get system interface physical` (`==[port1]` … `status: up`)."""
    text, _ = live_output(outputs, PHYSICAL)
    if text is None:
        return None
    states: dict[str, str] = {}
    current: str | None = None
    for row in text.splitlines():
        name = re.match(r"^\s*==\s*\[([^\]]+)\]", row)
        if name:
            current = name.group(1)
            continue
        status = re.match(r"^\s*status:\s*(up|down)", row)
        if status and current:
            states[current] = status.group(1)
    return states


def unused_ports(config: Config, outputs: dict[str, str], result: Result) -> None:
    """Physical ports administratively up without a link. From a saved configuration alone an enabled physical
    port is `manual`: whether it is unused needs the live link state."""
    enabled = [name for name, node in interfaces(config).items()
               if node.get("type") == ["physical"] and option(node, "system interface", "status") == "up"]
    states = link_states(outputs)
    if states is None:
        if enabled:
            result.manual["/network/unused_ports_enabled"] = (
                f"{len(enabled)} physical port(s) are up in the configuration; whether they are unused needs the "
                f"live link state (`{PHYSICAL}`), not in the capture")
        else:
            result.put("/network/unused_ports_enabled", [])
        return
    down = [name for name in enabled if states.get(name) == "down"]
    result.put("/network/unused_ports_enabled", sorted(down, key=_natural))


def _natural(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


# --- the whole capture --------------------------------------------------------------------------------

def full_view(config: Config) -> None:
    """Refuse a configuration shown to an administrator whose profile does not see all of it: the header's
    `user=` names who took it; FortiOS hides super_admin administrators from every other profile."""
    user = re.search(r"(?:^|:)user=([^:]+)", config.header.get("config-version", ""))
    admins = config.table("system admin")
    entry = admins.entries.get(user.group(1)) if user and admins is not None else None
    profile = entry.value("accprofile") if entry is not None else None
    wanted = str(platform_data()["full_view_profile"])
    if profile is not None and profile != wanted:
        raise ConfigurationError(0, f"taken by administrator {user.group(1) if user else '?'} with access profile "
                                    f"{profile}: FortiOS hides {wanted} administrators from other profiles, so "
                                    f"the configuration is partial (take it as a {wanted} administrator)")


def transcript_removed(text: str) -> str:
    """The configuration of a terminal log: its prompt lines and pager remnants (platform data `transcript_lines`)
    blanked, so that the line numbers of errors still count the file's lines."""
    return _transcript().sub("", text)


@functools.cache
def _transcript() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in platform_data()["transcript_lines"]), re.M)


def parse_outputs(outputs: dict[str, str]) -> tuple[Result, int | None]:
    """The facts of one capture (`outputs`: command -> saved output). FortiOS has no privilege levels (an
    administrator's access profile decides), so no level is returned. Raises ConfigSyntaxError when the
    configuration is malformed, ConfigurationError when it was shown to a profile that does not see all of it."""
    config = parse_config(transcript_removed(outputs[RUNNING]))
    full_view(config)
    result = Result()
    release = os_facts(config, outputs, result)
    password_policy(config, result)
    login(config, result)
    management(config, result)
    ntp_servers(config, result)
    ntp_status(outputs, result)
    logging(config, outputs, release, result)
    accounts(config, release, result)
    any_any_permits(config, result)
    unused_ports(config, outputs, result)
    exposed_sockets(config, release, result)
    without_global(config, result)
    return result, None


def without_global(config: Config, result: Result) -> None:
    """A text without `config system global` (an excerpt, one VDOM's part, a hand-made snippet) does not show the
    settings that block holds, and their documented defaults cannot be assumed: every FortiGate configuration has
    it (`show` lists at least its hostname), so a text lacking it is partial. The facts read from it (platform data
    `global_facts`) are errors, never a default's pass."""
    if config.table("system global") is not None:
        return
    for pointer in platform_data()["global_facts"]:
        if _present(result.facts, pointer) or pointer in result.manual:
            result.undetermined(pointer, "no `config system global` block in the configuration (a partial text): "
                                         "the settings it holds are unknown, FortiOS's defaults are not assumed")


def _present(facts: dict[str, Any], pointer: str) -> bool:
    node: Any = facts
    for part in pointer.strip("/").split("/"):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True
