"""Cisco IOS / IOS-XE capture -> the shared normalised facts, by pure functions.

`parse_capture(outputs)` takes the saved command outputs (command -> text; `show running-config` is required)
and returns the unstamped facts document. Each section has its own function over the parsed configuration
(hardening.platforms.cisco_ios.config) and the platform data (platform.yaml): documented defaults count, every
line that can start a session counts, and what the configuration cannot decide is `manual`, never a value.
Facts only a running device gives (NTP synchronisation, logging status, link state, privilege level, open
ports) come from their command's output when it is in the capture, else they are named under `errors`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hardening.core.secrets import mask_config_secrets
from hardening.platforms.cisco_ios.access import any_any_permits, management_access
from hardening.platforms.cisco_ios.config import Config, interfaces, parse_config, release, truncation
from hardening.platforms.cisco_ios.data import platform_data
from hardening.platforms.cisco_ios.lines import Line, aaa_new_model, authentication, config_lines, remote_transports
from hardening.platforms.common import netcli
from hardening.platforms.common.netcli import ConfigurationError, Result

RUNNING = "show running-config"
INVALID = re.compile(r"^\s*% ?(Invalid input|Incomplete command|Ambiguous command|Unknown command)", re.M)


def mask_secrets(text: str) -> str:
    """Configuration text with every secret value masked (evidence excerpts never carry one): core's one table of
    secret-bearing directives (hardening.core.secrets.mask_config_secrets) serves every platform."""
    return mask_config_secrets(text)


def live_output(outputs: dict[str, str], command: str) -> tuple[str | None, str]:
    """A live command's output, or None and why it cannot be used."""
    return netcli.live_output(outputs, command, INVALID)


def _cfg(number: int) -> str:
    return f"cmd:{RUNNING} (line {number})"


# --- os ------------------------------------------------------------------------------------------------

def os_facts(config: Config, outputs: dict[str, str], result: Result) -> None:
    os: dict[str, Any] = {"family": "ios"}
    for block in config.globals("hostname"):
        os["hostname"] = block.line.split(None, 1)[1] if len(block.words()) > 1 else ""
    train = release(config)
    if train is not None:
        os["version"] = ".".join(map(str, train))
        os["name"] = "Cisco IOS XE" if train[0] >= 16 else "Cisco IOS"
    version_text, _ = live_output(outputs, "show version")
    if version_text:
        match = re.search(r"Cisco IOS[ -]XE Software.*?Version\s+([\w.()]+)", version_text)
        if match:
            os.update(name="Cisco IOS XE", version=match.group(1))
        else:
            match = re.search(r"Cisco IOS Software.*?Version\s+([\w.()]+)", version_text)
            if match:
                os.update(name="Cisco IOS", version=match.group(1))
    result.put("/os", os)


# --- lines: idle timeout, transports, line passwords -------------------------------------------------

def idle_timeout(lines: list[Line], result: Result) -> None:
    """The worst exec-timeout over every line that can start a session (0 = never is the worst)."""
    default = int(platform_data()["defaults"]["exec_timeout_seconds"])
    worst: tuple[int, Line] | None = None
    for line in lines:
        if not line.starts_sessions():
            continue
        seconds = default
        for setting in line.settings:  # the last one wins
            words = setting.split()
            if words[0] == "exec-timeout" and len(words) > 1 and all(w.isdigit() for w in words[1:3]):
                seconds = int(words[1]) * 60 + (int(words[2]) if len(words) > 2 else 0)
            elif words[:2] == ["no", "exec-timeout"]:
                seconds = 0  # `no exec-timeout` = exec-timeout 0: never
        if worst is None or _worse_timeout(seconds, worst[0]):
            worst = (seconds, line)
    if worst is None:
        result.manual["/login/idle_timeout"] = "no line in the configuration can start a session"
        return
    seconds, line = worst
    # A line's exec-timeout is configuration: a user's session cannot unset or change it.
    result.put("/login/idle_timeout", {"seconds": seconds, "readonly": True, "exported": True,
                                       "source": f"line {line.name}"})
    result.cite("/login/idle_timeout", _cfg(line.number), [f"line {line.name}", *line.settings])


def _worse_timeout(candidate: int, current: int) -> bool:
    if candidate == 0:
        return current != 0
    return current != 0 and candidate > current


def line_transports(config: Config, lines: list[Line]) -> tuple[list[tuple[Line, list[str], bool]], list[Line]]:
    """(line, the `transport input` keywords it accepts, whether configured) for every vty, aux and tty line that
    can start a session and accepts a network connection, and the vty lines whose default the configuration
    cannot decide."""
    decided: list[tuple[Line, list[str], bool]] = []
    undecided: list[Line] = []
    for line in lines:
        if line.kind == "con" or not line.starts_sessions():
            continue
        words, explicit = remote_transports(config, line)
        if words is None:
            undecided.append(line)
        elif words:
            decided.append((line, words, explicit))
    return decided, undecided


# --- management protocols and services ----------------------------------------------------------------

def _snmp_insecure(config: Config) -> list[dict[str, str]]:
    """SNMP v1/v2c communities, groups and users, and v3 groups without privacy (never the community itself)."""
    insecure = []
    for block in config.globals("snmp-server", "community"):
        access = next((w for w in block.words()[3:] if w in {"RO", "RW", "ro", "rw"}), "RO")
        insecure.append({"protocol": "snmp_v1_v2c", "how": "configured",
                         "detail": f"snmp-server community (***) {access.upper()} (line {block.number})"})
    for block in config.globals("snmp-server", "group") + config.globals("snmp-server", "user"):
        words = block.words()
        model = next((w for w in words[3:] if w in {"v1", "v2c", "v3"}), None)
        level = words[words.index("v3") + 1] if model == "v3" and words.index("v3") + 1 < len(words) else None
        name = f"snmp-server {words[1]} {words[2] if len(words) > 2 else ''}".strip()
        if model in {"v1", "v2c"}:
            insecure.append({"protocol": "snmp_v1_v2c", "how": "configured", "detail": f"{name} {model}"})
        elif model == "v3" and words[1] == "group" and level in {"noauth", "auth"}:
            insecure.append({"protocol": "snmp_v3_without_privacy", "how": "configured",
                             "detail": f"{name} v3 {level} (no encryption)"})
    return insecure


def _ssh_version(config: Config, result: Result) -> dict[str, str] | None:
    """/remote_access/ssh/protocol_version from `ip ssh version` or the documented default; the ssh1 item when
    SSH 1 is accepted."""
    default = str(platform_data()["defaults"]["ssh_version"])
    ssh_version = next((b.words()[3] for b in config.globals("ip", "ssh", "version") if len(b.words()) > 3),
                       default)
    protocol_version = 2 if ssh_version == "2" else 1
    result.put("/remote_access/ssh/protocol_version", protocol_version)
    if protocol_version == 2:
        return None
    detail = (f"ip ssh version {ssh_version}" if config.globals("ip", "ssh", "version")
              else f"no `ip ssh version`: the default {ssh_version} accepts SSH 1")
    return {"protocol": "ssh1", "how": "configured", "detail": detail}


def _services_on(config: Config) -> list[dict[str, str]]:
    """The unneeded services of the platform data that are on, configured or by default; TFTP servers."""
    found = []
    for service in platform_data()["services"]:
        last = config.last_of(service["enable"], service["disable"])
        on = last == service["enable"]
        if on or (service["default"] and last is None):
            detail = service["enable"] if on else f"{service['enable']} (on by default; no `{service['disable']}`)"
            found.append({"name": service["name"], "how": "configured" if on else "enabled", "detail": detail})
    for block in config.globals("tftp-server"):
        found.append({"name": "tftp", "how": "configured", "detail": f"tftp-server (line {block.number})"})
    return found


def management(config: Config, lines: list[Line], result: Result) -> None:
    data = platform_data()
    insecure: list[dict[str, str]] = []
    prohibited: list[dict[str, str]] = []
    decided, undecided = line_transports(config, lines)
    ssh_reachable = False
    for line, words, explicit in decided:
        how = "transport input " + " ".join(words) + ("" if explicit else " (the release's default)")
        for word in words:
            protocol = data["insecure_transports"].get(word)
            if protocol:
                item = {"protocol": protocol, "how": "configured", "detail": f"line {line.name}: {how}"}
                if item not in insecure:
                    insecure.append(item)
                if protocol == "telnet":
                    prohibited.append({"name": "telnet", "how": "configured", "detail": f"line {line.name}: {how}"})
            if word in {"ssh", "all"}:
                ssh_reachable = True
        result.cite("/management/insecure_protocols", _cfg(line.number), [f"line {line.name}", *line.settings])
    insecure.extend(_snmp_insecure(config))
    if config.last_of("ip http server", "no ip http server") == "ip http server":
        insecure.append({"protocol": "http", "how": "configured", "detail": "ip http server"})

    ssh1 = _ssh_version(config, result)
    if ssh1 and ssh_reachable:
        insecure.append(ssh1)

    if undecided:
        names = ", ".join(f"line {line.name}" for line in undecided)
        reason = (f"{names}: no `transport input`, and the default of this release is not documented in the "
                  "platform data: the configuration cannot decide whether telnet is accepted")
        result.manual["/management/insecure_protocols"] = reason
        result.manual["/services/prohibited_present"] = reason
    else:
        result.put("/management/insecure_protocols", insecure)

    for item in _services_on(config):
        if item not in prohibited:
            prohibited.append(item)
    if not undecided:
        result.put("/services/prohibited_present", prohibited)


# --- time ---------------------------------------------------------------------------------------------

_ADDRESS_WORDS = {"vrf": 2, "ip": 1, "ipv6": 1}


def ntp_servers(config: Config, result: Result) -> None:
    """`ntp server [vrf V] [ip|ipv6] ADDR …`, `ntp peer …`, `sntp server ADDR` in order."""
    servers: list[str] = []
    lines: list[str] = []
    for block in config.blocks:
        words = block.words()
        if words[:2] in (["ntp", "server"], ["ntp", "peer"], ["sntp", "server"]):
            rest = words[2:]
            while rest and rest[0] in _ADDRESS_WORDS:
                rest = rest[_ADDRESS_WORDS[rest[0]]:]
            if rest and rest[0] not in servers:
                servers.append(rest[0])
                lines.append(block.line)
    result.put("/time/ntp_servers", servers)
    if lines:
        result.cite("/time", f"cmd:{RUNNING}", lines)


def ntp_status(outputs: dict[str, str], result: Result) -> None:
    text, why = live_output(outputs, "show ntp status")
    live = ("/time/synchronized", "/time/offset_ms_abs", "/time/selected_source", "/time/stratum")
    if text is None:
        result.errors.update(dict.fromkeys(live, why))
        return
    result.cite("/time/synchronized", "cmd:show ntp status", text.strip().splitlines()[:6])
    if re.search(r"%?\s*NTP is not enabled", text):
        result.put("/time/synchronized", False)
        result.put("/time/selected_source", None)
        for pointer in ("/time/offset_ms_abs", "/time/stratum"):
            result.errors[pointer] = "NTP is not enabled on the device"
        return
    state = re.search(r"Clock is (synchronized|unsynchronized)", text)
    if not state:
        result.errors.update(dict.fromkeys(live, "`show ntp status` does not say whether the clock is synchronized"))
        return
    synchronized = state.group(1) == "synchronized"
    result.put("/time/synchronized", synchronized)
    first = next((x for x in text.splitlines() if "Clock is" in x), "")
    reference = re.search(r"reference is (\S+)", first)
    result.put("/time/selected_source", reference.group(1).rstrip(",") if synchronized and reference else None)
    stratum = re.search(r"stratum (\d+)", first)
    if stratum:
        result.put("/time/stratum", int(stratum.group(1)))
    else:
        result.errors["/time/stratum"] = "`show ntp status` gives no stratum"
    offset = re.search(r"(?:clock )?offset is (-?[\d.]+) msec", text)
    if not synchronized:
        result.errors["/time/offset_ms_abs"] = "the clock is unsynchronized: no reference, so no offset from one"
    elif offset:
        result.put("/time/offset_ms_abs", abs(float(offset.group(1))))
    else:
        result.errors["/time/offset_ms_abs"] = "`show ntp status` gives no clock offset"


# --- logging ------------------------------------------------------------------------------------------

_LOGGING_KEYWORDS = {"host", "buffered", "console", "monitor", "trap", "facility", "source-interface", "origin-id",
                     "on", "rate-limit", "queue-limit", "count", "userinfo", "event", "persistent", "file",
                     "history", "snmp-trap", "alarm", "discriminator", "filter", "synchronous", "esm", "reload",
                     "server-arp", "message-counter", "buginf", "exception", "delimiter", "cns-events", "dmvpn",
                     "ip", "ipv6", "smartlog", "hostnameprefix"}
_IP = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+)$")


def _severity(word: str) -> str:
    names: list[str] = platform_data()["severities"]
    return names[int(word)] if word.isdigit() and int(word) < len(names) else word


def _trap(config: Config) -> tuple[str, bool]:
    """The severity sent to syslog hosts and whether `no logging trap` stops them: `logging trap [LEVEL]` (no
    level: the default) and `no logging trap`, the last counts."""
    default = str(platform_data()["defaults"]["logging_trap"])
    trap, no_trap = default, False
    for block in config.blocks:
        words = block.words()
        if words[:2] == ["logging", "trap"]:
            trap, no_trap = (_severity(words[2]) if len(words) > 2 else default), False
        elif words[:3] == ["no", "logging", "trap"]:
            no_trap = True
    return trap, no_trap


def _target_words(words: list[str]) -> list[str] | None:
    """The words from the host on, of `logging host [vrf V] [ip|ipv6] ADDR …` or the old `logging ADDR`."""
    if words[:1] == ["host"]:
        rest = words[1:]
        while rest[:1] in (["ipv6"], ["ip"], ["vrf"]):
            rest = rest[2:] if rest[0] == "vrf" else rest[1:]
        return rest or None
    if words and words[0] not in _LOGGING_KEYWORDS and (_IP.match(words[0]) or "." in words[0]):
        return words  # the old form: `logging 10.0.0.1` / `logging syslog.example`
    return None


def remote_targets(config: Config, logging_off: bool, result: Result) -> None:
    ports = platform_data()["defaults"]["logging_port"]
    trap, no_trap = _trap(config)
    targets: list[dict[str, Any]] = []
    cited: list[str] = []
    for block in config.globals("logging"):
        rest = _target_words(block.words()[1:])
        if rest is None:
            continue
        protocol, port = "udp", None
        if "transport" in rest and rest.index("transport") + 1 < len(rest):
            protocol = rest[rest.index("transport") + 1]
        if "port" in rest and rest.index("port") + 1 < len(rest) and rest[rest.index("port") + 1].isdigit():
            port = int(rest[rest.index("port") + 1])
        if protocol not in {"udp", "tcp", "tls"}:
            protocol = "udp"
        cited.append(block.line)
        if not (logging_off or no_trap):
            targets.append({"host": rest[0], "port": port or int(ports.get(protocol, 514)), "protocol": protocol,
                            "selector": f"trap {trap}"})
    result.put("/logging/remote_targets", targets)
    if cited:
        result.cite("/logging/remote_targets", f"cmd:{RUNNING}", cited)


def _configured_buffer(config: Config) -> dict[str, Any]:
    """The local buffer the configuration gives: the last `logging buffered [discriminator D] [SIZE] [LEVEL]`
    or `no logging buffered`; the documented default when there is none (a size or level left out keeps the
    earlier or default one)."""
    buffer = dict(platform_data()["defaults"]["logging_buffer"])
    for block in config.blocks:
        words = block.words()
        if words[:3] == ["no", "logging", "buffered"]:
            buffer["enabled"] = False
        elif words[:2] == ["logging", "buffered"]:
            buffer["enabled"] = True
            rest = words[4:] if words[2:3] == ["discriminator"] else words[2:]
            for word in rest:
                if word.isdigit() and int(word) > 7:
                    buffer["size_bytes"] = int(word)
                elif word != "xml":
                    buffer["severity"] = _severity(word)
    return buffer


def _live_logging(text: str, buffer: dict[str, Any], result: Result) -> None:
    """`show logging`: syslog on/off, and the running buffer's state, level and size (they win over the
    configuration and the defaults)."""
    syslog = re.search(r"Syslog logging:\s*(enabled|disabled)", text)
    if syslog:
        result.put("/logging/running", syslog.group(1) == "enabled")
    else:
        result.errors["/logging/running"] = "`show logging` does not say whether syslog logging is enabled"
    live_buffer = re.search(r"Buffer logging:\s*(disabled|level (\w+))", text)
    if live_buffer:
        buffer["enabled"] = live_buffer.group(1) != "disabled"
        if live_buffer.group(2):
            buffer["severity"] = live_buffer.group(2)
    size = re.search(r"Log Buffer \((\d+) bytes\)", text)
    if size:
        buffer["size_bytes"] = int(size.group(1))
    result.cite("/logging/running", "cmd:show logging",
                [x for x in text.splitlines() if re.search(r"logging:|Log Buffer|Logging to", x)][:12])


def timestamps(config: Config, result: Result) -> None:
    """Timestamps of log messages (buffer, console, syslog alike): the last `service timestamps log …`."""
    setting: str | None = None
    for block in config.blocks:
        words = block.words()
        if words[:3] == ["service", "timestamps", "log"]:
            setting = " ".join(words[3:]) or "uptime"
        elif words[:4] == ["no", "service", "timestamps", "log"] or words == ["no", "service", "timestamps"]:
            setting = "none"
    source = "service timestamps log"
    if setting is None:
        setting = str(platform_data()["defaults"]["service_timestamps_log"])
        source = "service timestamps log (default)"
    keywords = setting.split()
    full = bool(keywords) and keywords[0] == "datetime" and "year" in keywords and "show-timezone" in keywords
    result.put("/logging/timestamp_formats", [{"log": "log messages (buffer, console, syslog)",
                                               "writer": "IOS logger", "format": setting, "full": full,
                                               "source": source}])


def logging(config: Config, outputs: dict[str, str], result: Result) -> None:
    # `no logging on` stops every destination but the console; the last of `logging on`/`no logging on` counts.
    logging_off = config.last_of("logging on", "no logging on") == "no logging on"
    remote_targets(config, logging_off, result)
    buffer = _configured_buffer(config)
    if logging_off:
        buffer["enabled"] = False
    text, why = live_output(outputs, "show logging")
    if text is None:
        result.errors["/logging/running"] = why
    else:
        _live_logging(text, buffer, result)
    if not buffer["enabled"]:
        buffer = {"enabled": False, "size_bytes": 0, "severity": None}
    result.put("/logging/local_buffer", buffer)
    timestamps(config, result)


# --- accounts and passwords ---------------------------------------------------------------------------

@dataclass
class User:
    name: str
    privilege: int = 1
    method: str | None = None  # hash method of the stored secret; None = no secret (nopassword)
    nopassword: bool = False
    policy: str | None = None
    number: int = 0


_ALGORITHMS = {"scrypt": "9", "sha256": "8", "md5": "5"}


def _secret_method(words: list[str], kind: str, encryption_service: bool, algorithm: str | None = None) -> str:
    """The stored method of `secret|password [TYPE] VALUE`: `words` are the words after the keyword;
    `algorithm` the `algorithm-type` given before `secret` (a handover text; the device shows the type)."""
    types: dict[str, str] = platform_data()["secret_types"]
    if kind == "secret" and words[:1] == ["0"] and len(words) >= 2:
        words = words[1:]  # `secret 0 TEXT` (typed in clear): the device stores a hash, as for `secret TEXT`
    if kind == "secret" and algorithm in _ALGORITHMS and not (len(words) >= 2 and words[0].isdigit()):
        return types[_ALGORITHMS[algorithm]]
    if len(words) >= 2 and words[0].isdigit():
        method = types.get(words[0], f"unknown:type{words[0]}")
    elif kind == "secret":
        method = "unknown:secret-without-type"
    else:
        method = "plaintext"
    if method == "plaintext" and encryption_service:
        method = "reversible"  # service password-encryption shows type 0 passwords as type 7
    return method


def users(config: Config, encryption_service: bool) -> dict[str, User]:
    found: dict[str, User] = {}
    for block in config.globals("username"):
        words = block.words()
        if len(words) < 2:
            continue
        user = found.setdefault(words[1], User(words[1], number=block.number))
        rest = words[2:]
        index = 0
        algorithm: str | None = None
        while index < len(rest):
            word = rest[index]
            if word == "privilege" and index + 1 < len(rest) and rest[index + 1].isdigit():
                user.privilege = int(rest[index + 1])
                index += 2
            elif word == "common-criteria-policy" and index + 1 < len(rest):
                user.policy = rest[index + 1]
                index += 2
            elif word == "nopassword":
                user.nopassword, user.method = True, None
                index += 1
            elif word == "algorithm-type" and index + 1 < len(rest):
                algorithm = rest[index + 1]
                index += 2
            elif word in {"secret", "password"}:
                user.method = _secret_method(rest[index + 1:], word, encryption_service, algorithm)
                user.nopassword = False
                break
            else:
                index += 1
    return found


def accounts(config: Config, lines: list[Line], result: Result) -> dict[str, User]:
    data = platform_data()
    encryption_service = config.last_of("service password-encryption",
                                        "no service password-encryption") == "service password-encryption"
    weak = set(data["weak_methods"])
    methods: list[dict[str, str]] = []
    weak_accounts: set[str] = set()
    empty: set[str] = set()

    def record(source: str, account: str, method: str) -> None:
        methods.append({"source": source, "method": method})
        if method in weak or method.startswith("unknown"):
            weak_accounts.add(account)

    for block in config.globals("enable"):
        words = block.words()
        algorithm = None
        if words[1:2] == ["algorithm-type"] and len(words) > 3:
            algorithm, words = words[2], [words[0], *words[3:]]
        if len(words) < 3 or words[1] not in {"secret", "password"}:
            continue
        rest = words[2:]
        level = ""
        if rest[:1] == ["level"] and len(rest) > 1:
            level, rest = f" level {rest[1]}", rest[2:]
        record(f"enable {words[1]}{level}", f"enable{level}",
               _secret_method(rest, words[1], encryption_service, algorithm))
    local = users(config, encryption_service)
    for user in local.values():
        if user.nopassword:
            empty.add(user.name)
        elif user.method:
            record(f"username {user.name}", user.name, user.method)
    for line in lines:
        line_password = line.get("password")
        if line_password:
            record(f"line {line.name} password", f"line {line.name}",
                   _secret_method(line_password, "password", encryption_service))
        if unauthenticated(config, line):
            empty.add(f"line {line.name}")
    result.put("/accounts/password_storage", {"hash_methods": methods, "weak_hash_accounts": sorted(weak_accounts),
                                              "empty_password_accounts": sorted(empty)})
    generic = {name.lower() for name in data["generic_admin_names"]}
    result.put("/accounts/generic_admin_names", sorted(u.name for u in local.values() if u.name.lower() in generic))
    return local


def password_policy(config: Config, local: dict[str, User], result: Result) -> None:
    """Effective rules for new login passwords of local users: `security passwords min-length` (every password)
    and the IOS-XE `aaa common-criteria policy` bound to each user, and `aaa password restriction` (with `aaa
    new-model`: every new local password needs characters of 3 of the 4 classes); the worst user counts."""
    defaults = platform_data()["defaults"]
    restriction = aaa_new_model(config) and config.has("aaa password restriction")
    restricted_classes = int(defaults["aaa_password_restriction_classes"]) if restriction else 0
    global_min: int | None = None
    for block in config.globals("security", "passwords", "min-length"):
        if len(block.words()) > 3 and block.words()[3].isdigit():
            global_min = int(block.words()[3])
    policies: dict[str, dict[str, int]] = {}
    for block in config.globals("aaa", "common-criteria", "policy"):
        if len(block.words()) < 4:
            continue
        policy = {"min-length": int(defaults["common_criteria_min_length"])}
        for child in block.children:
            words = child.split()
            if len(words) >= 2 and words[-1].isdigit():
                policy[words[0]] = int(words[-1])
        policies[block.words()[3]] = policy
    floor = int(defaults["min_length_without_rule"])
    per_user: list[tuple[bool, int, int]] = []
    for user in local.values():
        bound = policies.get(user.policy or "")
        length = max(global_min or 0, bound["min-length"] if bound else 0, floor)
        classes = sum(1 for key in ("upper-case", "lower-case", "numeric-count", "special-case")
                      if bound and bound.get(key, 0) >= 1)
        per_user.append((global_min is not None or bound is not None or restriction, length,
                         max(classes, restricted_classes)))
    if not per_user:
        per_user.append((global_min is not None or restriction, max(global_min or 0, floor), restricted_classes))
    result.put("/password_policy", {"enforced": all(u[0] for u in per_user), "min_length": min(u[1] for u in per_user),
                                    "min_char_classes": min(u[2] for u in per_user)})


def remote_line(config: Config, line: Line) -> bool:
    """A line a session can start on over the network: a vty or an aux/tty whose `transport input` admits one
    (undecided counts as remote: fail closed)."""
    if line.kind == "con" or not line.starts_sessions():
        return False
    return remote_transports(config, line)[0] != []


def unauthenticated(config: Config, line: Line) -> bool:
    """A network session on the line needs no password (`no login`, or an AAA list whose first method is `none`).
    The console is left out: it needs physical access (its login is a site's choice)."""
    return remote_line(config, line) and authentication(config, line)[0][:1] == ["none"]


def _login_paths(config: Config, lines: list[Line]) -> dict[str, list[str]]:
    """What the password of each way to log in is checked against: local | line (the line's own password, or the
    enable password) | group:NAME (an AAA server) -> the lines that use it. Lines without authentication have no
    password to guess and are left out."""
    paths: dict[str, list[str]] = {}
    for line in lines:
        if not line.starts_sessions() or (line.kind != "con" and not remote_line(config, line)):
            continue
        methods, _ = authentication(config, line)
        first = methods[0] if methods else "none"
        if first == "none":
            continue
        paths.setdefault("line" if first == "enable" else first, []).append(f"line {line.name}")
    return paths


def lockout(config: Config, lines: list[Line], local: dict[str, User], result: Result) -> None:
    """`aaa local authentication attempts max-fail N` locks local users until cleared, except privilege 15;
    `login block-for S attempts N within T` blocks every login for S seconds. The worst account of every way to
    log in counts: local users where a line checks them (`login local`, AAA `local`), the shared line password
    where a line uses it (`login` + `password`, AAA `line`/`enable`: max-fail never applies to it); an AAA
    server group decides its own lockout, which the configuration cannot show (manual)."""
    max_fail: int | None = None
    for block in config.globals("aaa", "local", "authentication", "attempts", "max-fail"):
        if len(block.words()) > 5 and block.words()[5].isdigit():
            max_fail = int(block.words()[5])
    block_for: tuple[int, int] | None = None
    for block in config.globals("login", "block-for"):
        match = re.match(r"login block-for (\d+) attempts (\d+) within (\d+)", block.line)
        if match:
            block_for = (int(match.group(2)), int(match.group(1)))
    paths = _login_paths(config, lines)
    servers = sorted(path for path in paths if path.startswith("group:"))
    if servers:
        why = (f"{', '.join(paths[servers[0]])} authenticate against the AAA server group {servers[0][6:]}: its "
               "lockout is set on the server, not in the device configuration")
        result.manual["/login/lockout_threshold"] = result.manual["/login/lockout_duration_seconds"] = why
        return
    accounts = [*(local.values() if "local" in paths or not paths else ()),
                *([User("(line password)", privilege=15)] if "line" in paths or not local else ())]
    worst: tuple[int, int | None] | None = None
    for user in accounts:
        options: list[tuple[int, int]] = []
        if max_fail is not None and user.privilege < 15 and user.name in local:
            options.append((max_fail, 0))
        if block_for is not None:
            options.append(block_for)
        mine: tuple[int, int | None] = min(options, key=lambda o: (o[0], -(o[1] or 10**9))) if options else (0, None)
        if worst is None or _worse_lockout(mine, worst):
            worst = mine
    if worst is None:  # accounts is never empty
        worst = (0, None)
    result.put("/login/lockout_threshold", worst[0])
    result.put("/login/lockout_duration_seconds", worst[1])


def _worse_lockout(candidate: tuple[int, int | None], current: tuple[int, int | None]) -> bool:
    if candidate[0] == 0 or current[0] == 0:
        return candidate[0] == 0 and current[0] != 0
    if candidate[0] != current[0]:
        return candidate[0] > current[0]
    return (candidate[1] or 10**9) < (current[1] or 10**9)  # 0 = stays locked: the longest


# --- banners ------------------------------------------------------------------------------------------

def banners(config: Config, result: Result) -> None:
    """Console, aux and telnet show the motd then the login banner before login; SSH 2 shows only the login
    banner before authentication (the motd comes after it)."""
    motd, login = config.banners.get("motd"), config.banners.get("login")
    console = "\n".join(b.text for b in (motd, login) if b is not None) or None
    result.put("/login/banners", [
        {"surface": "console", "context": "line con 0, line aux 0 and telnet (banner motd, then banner login)",
         "source": "banner motd + banner login", "text": console},
        {"surface": "ssh", "context": "SSH 2 connections to vty lines (banner login before authentication)",
         "source": "banner login", "text": login.text if login else None},
    ])
    for banner in (motd, login):
        if banner is not None:
            result.cite("/login/banners", _cfg(banner.number), [f"banner {banner.kind}", *banner.text.splitlines()])


# --- live: privilege, ports, interfaces ---------------------------------------------------------------

def privilege(outputs: dict[str, str], result: Result) -> int | None:
    text, why = live_output(outputs, "show privilege")
    match = re.search(r"privilege level is (\d+)", text or "")
    if match is None:
        result.errors["/management/privilege_level"] = why or "`show privilege` gives no level"
        return None
    level = int(match.group(1))
    result.put("/management/privilege_level", level)
    return level


def open_ports(outputs: dict[str, str], result: Result) -> None:
    text, why = live_output(outputs, "show control-plane host open-ports")
    if text is None:
        result.errors["/network/exposed_sockets"] = why
        return
    sockets: dict[str, dict[str, Any]] = {}
    for row in text.splitlines():
        match = re.match(r"^\s*(tcp|udp)\s+(\S+):(\d+)\s+\S+\s+(.*?)\s+(LISTEN|\S+)\s*$", row)
        if not match or match.group(5) != "LISTEN":
            continue
        address = match.group(2)
        if address.startswith("127.") or address == "::1":
            continue
        key = f"{match.group(1)}/{match.group(3)}"
        entry = sockets.setdefault(key, {"socket": key, "addresses": [], "process": match.group(4).strip() or None})
        if address not in entry["addresses"]:
            entry["addresses"].append(address)
    result.put("/network/exposed_sockets", sorted(sockets.values(), key=lambda s: s["socket"]))


def _long_name(name: str) -> str:
    match = re.fullmatch(r"([A-Za-z-]+)(\d[\d/.:]*)", name)
    if match:
        long = platform_data()["interface_abbreviations"].get(match.group(1))
        if long:
            return f"{long}{match.group(2)}"
    return name


_PORT_STATUSES = {"connected", "notconnect", "disabled", "err-disabled", "inactive", "monitoring", "sfpAbsent",
                  "xcvrAbsent", "noXcvr", "suspended"}


def _port_status(row: str, words: list[str], column: int | None) -> str | None:
    """The Status of a `show interfaces status` row: the word at the header's Status column (a port description
    such as `disabled-uplink` or `to connected AP` in the Name column before it is not a status); without a header,
    the first status word after the port."""
    if column is not None and len(row) > column and row[column - 1] == " ":
        word = row[column:].split()[:1]
        return word[0] if word and word[0] in _PORT_STATUSES else None
    return next((w for w in words[1:] if w in _PORT_STATUSES), None)


def link_states(outputs: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Interface -> up | down | disabled from `show interfaces status` or `show ip interface brief`."""
    states: dict[str, str] = {}
    used: list[str] = []
    text, _ = live_output(outputs, "show interfaces status")
    if text:
        used.append("show interfaces status")
        column: int | None = None  # where the Status column starts (the Name column before it is free text)
        for row in text.splitlines():
            words = row.split()
            if words[:2] == ["Port", "Name"] and "Status" in words:
                column = row.index(" Status") + 1
                continue
            status = _port_status(row, words, column)
            if words and status:
                states[_long_name(words[0])] = {"connected": "up", "monitoring": "up",
                                                 "disabled": "disabled"}.get(status, "down")
    text, _ = live_output(outputs, "show ip interface brief")
    if text:
        used.append("show ip interface brief")
        for row in text.splitlines():
            match = re.match(r"^(\S+)\s+\S+\s+\S+\s+\S+\s+(administratively down|up|down)\s+(up|down)", row)
            if match:
                state = "disabled" if match.group(2) == "administratively down" else (
                    "up" if match.group(3) == "up" else "down")
                states.setdefault(_long_name(match.group(1)), state)
    return states, used


def _natural(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def unused_ports(config: Config, outputs: dict[str, str], result: Result) -> None:
    """Physical ports left enabled without a link. Which ports are unused needs the live link state: an enabled
    port in a saved configuration alone is `manual`."""
    prefixes = tuple(platform_data()["physical_port_prefixes"])
    ports = {name: settings for name, settings in interfaces(config).items()
             if re.match(rf"^({'|'.join(map(re.escape, prefixes))})\d", name)}
    enabled = sorted(name for name, settings in ports.items() if "shutdown" not in settings)
    states, used = link_states(outputs)
    if not used:
        if enabled:
            result.manual["/network/unused_ports_enabled"] = (
                f"{len(enabled)} physical port(s) are not shut down; whether they are unused needs the live link "
                "state (`show interfaces status`), not in the capture")
        else:
            result.put("/network/unused_ports_enabled", [])
        return
    unused = sorted(name for name in set(enabled) | {n for n in states if n.startswith(prefixes)}
                    if states.get(name) == "down" and "shutdown" not in ports.get(name, []))
    result.put("/network/unused_ports_enabled", sorted(unused, key=_natural))


# --- the whole capture --------------------------------------------------------------------------------

def parse_outputs(outputs: dict[str, str]) -> tuple[Result, int | None]:
    """The facts of one capture: `outputs` maps each command to its saved output. A `show running-config` cut
    short is refused (ConfigurationError), never read as facts."""
    cut = truncation(outputs[RUNNING])
    if cut is not None:
        raise ConfigurationError(0, cut)
    config = parse_config(outputs[RUNNING])
    result = Result()
    level = privilege(outputs, result)
    os_facts(config, outputs, result)
    lines = config_lines(config)
    idle_timeout(lines, result)
    management(config, lines, result)
    ntp_servers(config, result)
    ntp_status(outputs, result)
    logging(config, outputs, result)
    local = accounts(config, lines, result)
    password_policy(config, local, result)
    lockout(config, lines, local, result)
    banners(config, result)
    open_ports(outputs, result)
    unused_ports(config, outputs, result)
    management_access(config, lines, result)
    any_any_permits(config, result)
    return result, level

