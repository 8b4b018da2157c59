"""Who may reach the device and what its traffic filters let through: /management/access, /network/any_any_permits.

/management/access: every enabled way in to manage the device, with the sources it admits as CIDR.
  - each vty range that can start a session, and each aux/tty range whose `transport input` admits a network
    connection: `access-class ACL in [vrf-also]` (IPv4), `ipv6 access-class ACL in` (IPv6);
  - `ip http server` / `ip http secure-server`: `ip http access-class ACL` (also `ipv4 ACL`, `ipv6 ACL`);
  - the SNMP agent: each `snmp-server community X [view V] [RO|RW] [ipv6 NACL] [ACL]` and each `snmp-server
    group G v1|v2c|v3 … [access [ipv6 NACL] [priority N] ACL]` (v3 users are not shown in the configuration, so
    a group is the way in);
  - NETCONF (`netconf-yang`: `netconf-yang ssh ipv4|ipv6 access-list name ACL`; old `netconf ssh [acl N]`).
  A filter that names an ACL the configuration does not define filters nothing (IOS permits all), and so does one
  without entries. IPv6 counts only where an interface has IPv6 (`ipv6 address`/`ipv6 enable`): then a way without
  an IPv6 filter admits `::/0`. `restricted` = every reachable address family has a defined filter that does
  not admit any source.
  `vrf-also` lets the ACL filter connections arriving in a VRF (without it they are refused): it never widens.

/network/any_any_permits: `permit ip any any` (also `permit ip 0.0.0.0 255.255.255.255 any`, `permit ipv6 any
  any`, a standard `permit any`) that is reached (no earlier unconditional deny-all) in an ACL applied with `ip
  access-group ACL in|out` / `ipv6 traffic-filter ACL in|out` on an interface, or matched by a zone-based
  firewall class (`match access-group`) whose action is `inspect` or `pass`, and a `class class-default` that
  passes or inspects; an applied ACL that is not defined permits all and is listed too.
"""

from __future__ import annotations

from typing import Any

from hardening.platforms.cisco_ios.acl import ANY, AccessList, Network, access_lists, admitted_sources, cidrs
from hardening.platforms.cisco_ios.config import Config, interfaces
from hardening.platforms.cisco_ios.data import platform_data
from hardening.platforms.cisco_ios.lines import Line, remote_transports
from hardening.platforms.common.netcli import Result

RUNNING = "show running-config"


def ipv6_reachable(config: Config) -> bool:
    return any(s.startswith(("ipv6 address", "ipv6 enable")) for settings in interfaces(config).values()
               for s in settings)


class Resolver:
    """Turns the filters of one way in into (restricted, sources, why) over the configuration's ACLs."""

    def __init__(self, config: Config) -> None:
        self.acls = access_lists(config)
        self.families = (4, 6) if ipv6_reachable(config) else (4,)

    def filter(self, by_family: dict[int, str | None]) -> tuple[bool, list[str], list[str]]:
        restricted = True
        networks: list[Network] = []
        notes: list[str] = []
        for family in self.families:
            name = by_family.get(family)
            acl = self.acls.get((family, name)) if name else None
            if name is None:
                restricted = False
                networks.append(ANY[family])
                notes.append(f"no IPv{family} filter: any source")
            elif acl is None:
                restricted = False
                networks.append(ANY[family])
                notes.append(f"IPv{family} ACL {name} is not defined: the device permits all")
            else:
                admitted, why = admitted_sources(acl)
                networks.extend(admitted)
                notes.extend(why)
        sources = cidrs(networks)
        # `restricted` false = any source gets in: also when a filter admits everything (`permit any`, an entry
        # counted as any fail-closed, an ACL without entries).
        return restricted and not any(str(ANY[f]) in sources for f in self.families), sources, notes


def _item(context: str, protocols: list[str] | None, filtered: tuple[bool, list[str], list[str]],
          source: str) -> dict[str, Any]:
    restricted, sources, notes = filtered
    item: dict[str, Any] = {"context": context}
    if protocols is not None:
        item["protocols"] = protocols
    item.update(restricted=restricted, sources=sources,
                source="; ".join([source, *notes]) if notes else source)
    return item


def _line_access(config: Config, lines: list[Line], resolver: Resolver) -> list[dict[str, Any]]:
    items = []
    for line in lines:
        if line.kind == "con" or not line.starts_sessions():
            continue
        transports, explicit = remote_transports(config, line)
        if transports == []:
            continue
        v4, v6 = line.access_class(4), line.access_class(6)
        given = [" ".join(["access-class", v4[0], *v4[1]])] if v4 else []
        given += [" ".join(["ipv6 access-class", v6[0], *v6[1]])] if v6 else []
        how = ("transport input " + " ".join(transports) + ("" if explicit else " (the release's default)")
               if transports is not None else "no `transport input` and no documented default: protocols undecided")
        items.append(_item(f"line {line.name}", transports, resolver.filter({4: v4[0] if v4 else None,
                                                                              6: v6[0] if v6 else None}),
                           ", ".join([how, *given])))
    return items


def _http_access(config: Config, resolver: Resolver) -> list[dict[str, Any]]:
    by_family: dict[int, str | None] = {4: None, 6: None}
    given: list[str] = []
    for block in config.globals("ip", "http", "access-class"):
        words = block.words()[3:]
        if words[:1] in (["ipv4"], ["ipv6"]) and len(words) > 1:
            by_family[4 if words[0] == "ipv4" else 6] = words[1]
        elif words:
            by_family[4] = words[0]
        given.append(block.line)
    items = []
    for server in platform_data()["management_servers"]:
        last = config.last_of(server["enable"], server["disable"])
        if last == server["enable"] or (last is None and server["default"]):
            source = server["enable"] if last else f"{server['enable']} (on by default)"
            items.append(_item(server["enable"], list(server["protocols"]), resolver.filter(by_family),
                               ", ".join([source, *given])))
    return items


def _snmp_filter(words: list[str]) -> dict[int, str | None]:
    """`[ipv6 NACL] [priority N] ACL` at the end of a community or group access clause."""
    found: dict[int, str | None] = {4: None, 6: None}
    index = 0
    while index < len(words):
        if words[index] == "ipv6" and index + 1 < len(words):
            found[6] = words[index + 1]
            index += 2
        elif words[index] == "priority" and index + 1 < len(words):
            index += 2
        else:
            found[4] = words[index]
            index += 1
    return found


def _snmp_access(config: Config, resolver: Resolver) -> list[dict[str, Any]]:
    items = []
    for block in config.globals("snmp-server", "community"):
        words = block.words()[3:]  # never the community itself
        view = ""
        if words[:1] == ["view"] and len(words) > 1:
            view, words = f" view {words[1]}", words[2:]
        mode = "RO"
        if words[:1] and words[0].upper() in {"RO", "RW"}:
            mode, words = words[0].upper(), words[1:]
        context = f"snmp-server community (***){view} {mode}"
        items.append(_item(context, ["snmp"], resolver.filter(_snmp_filter(words)),
                           f"{context} {' '.join(words)}".strip() + f" (line {block.number})"))
    for block in config.globals("snmp-server", "group"):
        words = block.words()
        if len(words) < 4:
            continue
        model = " ".join(words[3:5]) if words[3] == "v3" and len(words) > 4 else words[3]
        clause = words[words.index("access") + 1:] if "access" in words else []
        context = f"snmp-server group {words[2]} {model}"
        items.append(_item(context, ["snmp"], resolver.filter(_snmp_filter(clause)), block.line))
    return items


def _netconf_access(config: Config, resolver: Resolver) -> list[dict[str, Any]]:
    items = []
    if config.has("netconf-yang"):
        by_family: dict[int, str | None] = {4: None, 6: None}
        given = []
        for block in config.globals("netconf-yang", "ssh"):
            words = block.words()
            if len(words) >= 6 and words[2] in {"ipv4", "ipv6"} and words[3:5] == ["access-list", "name"]:
                by_family[4 if words[2] == "ipv4" else 6] = words[5]
                given.append(block.line)
        items.append(_item("netconf-yang", ["netconf"], resolver.filter(by_family), ", ".join(["netconf-yang",
                                                                                              *given])))
    for block in config.globals("netconf", "ssh"):
        words = block.words()
        acl = words[words.index("acl") + 1] if "acl" in words and words.index("acl") + 1 < len(words) else None
        items.append(_item("netconf ssh", ["netconf"], resolver.filter({4: acl}), block.line))
    return items


def management_access(config: Config, lines: list[Line], result: Result) -> None:
    resolver = Resolver(config)
    items = [*_line_access(config, lines, resolver), *_http_access(config, resolver),
             *_snmp_access(config, resolver), *_netconf_access(config, resolver)]
    result.put("/management/access", items)
    result.cite("/management/access", f"cmd:{RUNNING}", [f"{i['context']}: {i['source']}" for i in items])


# --- any-to-any permits --------------------------------------------------------------------------------------

def _any_any(acl: AccessList) -> str | None:
    """The label of the entry that permits everything, if one is reached."""
    for entry in acl.entries:
        if entry.matches_everything(acl.family):
            return entry.label if entry.action == "permit" else None
    return None


def _inspect_classes(config: Config) -> dict[str, list[str]]:
    """`class-map type inspect` name -> the ACLs it matches (a match-all class of several conditions is
    narrower than its ACL and left out)."""
    classes: dict[str, list[str]] = {}
    for block in config.globals("class-map", "type", "inspect"):
        words = block.words()
        matches = [c.split() for c in block.children if c.split()[:1] == ["match"]]
        if "match-any" not in words and len(matches) > 1:
            continue
        classes[words[-1]] = [m[-1] for m in matches if m[:2] == ["match", "access-group"]]
    return classes


def _inspect_policies(config: Config) -> dict[str, list[str]]:
    """`policy-map type inspect` name -> the classes whose action lets traffic through (inspect, pass)."""
    policies: dict[str, list[str]] = {}
    for block in config.globals("policy-map", "type", "inspect"):
        current: str | None = None
        acting: list[str] = []
        for child in block.children:
            words = child.split()
            if words[:1] == ["class"]:
                current = words[-1]
            elif current and words[:1] in (["inspect"], ["pass"]):
                acting.append(current)
        policies[block.words()[-1]] = acting
    return policies


def _zone_firewall(config: Config) -> list[tuple[str, str]]:
    """(ACL name, zone pair) for each ACL a zone pair's inspect policy passes or inspects, plus
    ("class-default", pair) where the policy's class-default passes or inspects everything."""
    classes, policies = _inspect_classes(config), _inspect_policies(config)
    found: list[tuple[str, str]] = []
    for block in config.globals("zone-pair", "security"):
        words = block.words()
        pair = f"zone-pair {words[2]}" if len(words) > 2 else "zone-pair"
        if "source" in words and "destination" in words:
            pair += f" ({words[words.index('source') + 1]} -> {words[words.index('destination') + 1]})"
        for child in block.children:
            cwords = child.split()
            if cwords[:3] != ["service-policy", "type", "inspect"] or len(cwords) < 4:
                continue
            for klass in policies.get(cwords[3], []):
                found.extend([("class-default", pair)] if klass == "class-default" else
                             [(acl, pair) for acl in classes.get(klass, [])])
    return found


class _Permits:
    """The any-to-any rules found so far, each with where it is applied."""

    def __init__(self, config: Config) -> None:
        self.acls = access_lists(config)
        self.applied: dict[str, dict[str, Any]] = {}

    def add(self, rule: str, where: str) -> None:
        entry = self.applied.setdefault(rule, {"rule": rule, "applied_to": []})
        if where not in entry["applied_to"]:
            entry["applied_to"].append(where)

    def check(self, family: int, name: str, where: str) -> None:
        """The ACL `name` applied at `where`: an undefined or empty ACL permits all; else its reached
        unconditional any-to-any permit, if any."""
        acl = self.acls.get((family, name))
        if acl is None:
            self.add(f"{'ipv6 ' if family == 6 else ''}access-list {name} (not defined: the device permits all)",
                     where)
        elif not acl.entries:
            self.add(f"{acl.title()} (no entries: the device permits all)", where)
        else:
            label = _any_any(acl)
            if label:
                self.add(label, where)


def _interface_filters(config: Config) -> list[tuple[int, str, str]]:
    """(family, ACL, "interface X in|out") for every `ip access-group` and `ipv6 traffic-filter`."""
    found = []
    for name, settings in interfaces(config).items():
        for setting in settings:
            words = setting.split()
            if len(words) >= 4 and words[3] in {"in", "out"} and words[:2] in (["ip", "access-group"],
                                                                               ["ipv6", "traffic-filter"]):
                found.append((6 if words[0] == "ipv6" else 4, words[2], f"interface {name} {words[3]}"))
    return found


def any_any_permits(config: Config, result: Result) -> None:
    permits = _Permits(config)
    for family, name, where in _interface_filters(config):
        permits.check(family, name, where)
    for name, pair in _zone_firewall(config):
        if name == "class-default":
            permits.add("class class-default (inspect/pass: every traffic)", pair)
        elif (4, name) in permits.acls:  # a class matching an undefined ACL matches nothing known
            permits.check(4, name, pair)
    items = list(permits.applied.values())
    result.put("/network/any_any_permits", items)
    if items:
        result.cite("/network/any_any_permits", f"cmd:{RUNNING}",
                    [f"{i['rule']} -> {', '.join(i['applied_to'])}" for i in items])
