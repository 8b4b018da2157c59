"""IOS access lists: read every ACL of a configuration and resolve what it admits, by pure functions.

Forms read: numbered standard (`access-list 1-99|1300-1999 permit|deny SRC [WILDCARD] [log]`), numbered extended
(`access-list 100-199|2000-2699 [dynamic N] permit|deny PROTO SRC [ports] DST [ports] [options]`), named
`ip access-list standard|extended NAME` with or without sequence numbers (entries evaluated in sequence order,
as the device does), `ipv6 access-list NAME` (`[sequence N] permit|deny PROTO SRC DST …`) and `remark` lines.
Addresses: `any`, `host A`, `A WILDCARD` (IPv4), `P/len` (IPv6), `object-group N` (not resolved).

What an ACL admits is resolved fail-closed, first match wins: a permit adds its source network less every earlier
unconditional deny; a deny that matches only some traffic (a protocol, ports, a destination, options) removes
nothing; a source the parser cannot turn into a network (a non-contiguous wildcard, an object group) counts as any
(`0.0.0.0/0`, `::/0`) for a permit and is said in the notes.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from hardening.platforms.cisco_ios.config import Config

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ANY = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}

# Options after the addresses that do not narrow what an entry matches.
_NEUTRAL = {"log", "log-input"}
_PORT_OPERATORS = {"eq": 1, "neq": 1, "lt": 1, "gt": 1, "range": 2}
_PORT_PROTOCOLS = {"tcp", "udp"}
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


@dataclass(frozen=True)
class Address:
    """One address field: the networks it matches, or None when the parser cannot resolve it (and why)."""

    networks: tuple[Network, ...] | None
    note: str = ""

    def is_any(self, family: int) -> bool:
        return self.networks == (ANY[family],)


@dataclass(frozen=True)
class Entry:
    action: str  # permit | deny
    protocol: str  # "ip"/"ipv6" for every protocol; "" for a standard ACL (addresses only)
    source: Address
    destination: Address | None  # None in a standard ACL
    conditional: bool  # ports, options or a protocol narrow it beyond its addresses
    label: str  # as `show access-lists` numbers it: "access-list 101 sequence 30" (numbered: 10, 20 … in
    #             order, remarks left out), "ip access-list extended X sequence 30"
    text: str

    def matches_everything(self, family: int) -> bool:
        """Unconditional any-to-any: `permit ip any any` (log allowed), `deny ipv6 any any`, std `permit any`."""
        everything = self.protocol in {"", "ip", "ipv6"} and not self.conditional
        return everything and self.source.is_any(family) and (self.destination is None
                                                              or self.destination.is_any(family))


@dataclass
class AccessList:
    name: str
    kind: str  # standard | extended | ipv6
    number: int  # configuration line where it starts
    entries: list[Entry] = field(default_factory=list)

    @property
    def family(self) -> int:
        return 6 if self.kind == "ipv6" else 4

    def title(self) -> str:
        if self.name.isdigit():
            return f"access-list {self.name}"
        return f"ipv6 access-list {self.name}" if self.kind == "ipv6" else f"ip access-list {self.kind} {self.name}"


def _wildcard_prefix(wildcard: str) -> int | None:
    """`0.0.0.255` -> 24; None when the wildcard's bits are not contiguous host bits (`0.0.255.0`)."""
    value = int(ipaddress.IPv4Address(wildcard))
    if value & (value + 1):
        return None
    return 32 - value.bit_length()


def _address(words: list[str], index: int, family: int, standard: bool = False) -> tuple[Address, int]:
    """The address field starting at words[index] and the index after it."""
    if index >= len(words):
        return Address(None, "the entry ends before its address"), index
    word = words[index]
    if word == "any":
        return Address((ANY[family],)), index + 1
    if word in {"host", "object-group", "addrgroup"} and index + 1 < len(words):
        if word != "host":
            return Address(None, f"{word} {words[index + 1]} is not resolved: counted as any"), index + 2
        try:
            host = ipaddress.ip_address(words[index + 1])
        except ValueError:
            return Address(None, f"host {words[index + 1]} is not an address"), index + 2
        return Address((ipaddress.ip_network(host),)), index + 2
    if family == 6:
        try:
            return Address((ipaddress.ip_network(word, strict=False),)), index + 1
        except ValueError:
            return Address(None, f"{word} is not an IPv6 prefix"), index + 1
    if not _IPV4.match(word):
        return Address(None, f"{word} is not an address"), index + 1
    wildcard = words[index + 1] if index + 1 < len(words) and _IPV4.match(words[index + 1]) else None
    if wildcard is None:
        if standard:  # a standard entry's bare address is one host
            return Address((ipaddress.ip_network(word),)), index + 1
        return Address(None, f"{word} has no wildcard"), index + 1
    prefix = _wildcard_prefix(wildcard)
    if prefix is None:
        return Address(None, f"{word} {wildcard}: a non-contiguous wildcard is not a network; counted as any"), \
            index + 2
    return Address((ipaddress.ip_network(f"{word}/{prefix}", strict=False),)), index + 2


def _address_start(word: str) -> bool:
    return word in {"any", "host", "object-group", "addrgroup"} or bool(_IPV4.match(word)) or ":" in word


def _ports(words: list[str], index: int) -> tuple[bool, int]:
    """Skip a port operator at words[index] (`eq www 443` may list several ports): (whether there was one,
    the index after it)."""
    if index >= len(words) or words[index] not in _PORT_OPERATORS:
        return False, index
    after = index + 1 + _PORT_OPERATORS[words[index]]
    if words[index] in {"eq", "neq"}:
        while after < len(words) and not _address_start(words[after]) and words[after] not in _NEUTRAL:
            after += 1
    return True, after


def parse_entry(words: list[str], kind: str, label: str) -> Entry | None:
    """One `permit|deny …` entry (words without the sequence number); None for a remark or an unknown line."""
    if not words or words[0] not in {"permit", "deny"}:
        return None
    action, family = words[0], 6 if kind == "ipv6" else 4
    text = " ".join(words)
    if kind == "standard":
        source, index = _address(words, 1, 4, standard=True)
        return Entry(action, "", source, None, any(w not in _NEUTRAL for w in words[index:]), label, text)
    index = 1
    protocol = words[index] if index < len(words) else ""
    index += 2 if protocol == "object-group" else 1
    source, index = _address(words, index, family)
    source_ports, index = _ports(words, index)
    destination, index = _address(words, index, family)
    destination_ports, index = _ports(words, index)
    options = [w for w in words[index:] if w not in _NEUTRAL]
    conditional = protocol not in {"ip", "ipv6"} or source_ports or destination_ports or bool(options)
    return Entry(action, protocol, source, destination, conditional, label, text)


def _numbered_kind(number: int) -> str | None:
    if 1 <= number <= 99 or 1300 <= number <= 1999:
        return "standard"
    if 100 <= number <= 199 or 2000 <= number <= 2699:
        return "extended"
    return None


def _numbered_entry(found: dict[tuple[int, str], AccessList], words: list[str], number: int) -> None:
    """`access-list N [dynamic NAME [timeout M]] permit|deny …` / `access-list N remark …`."""
    kind = _numbered_kind(int(words[1]))
    if kind is None:
        return
    acl = found.setdefault((4, words[1]), AccessList(words[1], kind, number))
    rest = words[2:]
    if rest[:1] == ["dynamic"] and len(rest) > 2:
        rest = rest[2:]
        if rest[:1] == ["timeout"] and len(rest) > 2:
            rest = rest[2:]
    entry = parse_entry(rest, kind, f"access-list {words[1]} sequence {(len(acl.entries) + 1) * 10}")
    if entry:
        acl.entries.append(entry)


def _named(kind: str, name: str, number: int, children: list[str]) -> AccessList:
    """`ip access-list standard|extended NAME` / `ipv6 access-list NAME` with its entries in sequence order
    (`10 permit …`, `sequence 10 permit …`, or unnumbered: the next multiple of 10)."""
    acl = AccessList(name, kind, number)
    ordered: list[tuple[int, Entry]] = []
    for child in children:
        words = child.split()
        sequence = None
        if words[:1] == ["sequence"] and len(words) > 1 and words[1].isdigit():
            sequence, words = int(words[1]), words[2:]
        elif words[:1] and words[0].isdigit():
            sequence, words = int(words[0]), words[1:]
        if sequence is None:
            sequence = (ordered[-1][0] // 10 + 1) * 10 if ordered else 10
        entry = parse_entry(words, kind, f"{acl.title()} sequence {sequence}")
        if entry:
            ordered.append((sequence, entry))
    acl.entries = [entry for _, entry in sorted(ordered, key=lambda item: item[0])]
    return acl


def access_lists(config: Config) -> dict[tuple[int, str], AccessList]:
    """(address family, name) -> the ACL, for every ACL of the configuration (numbered by their number).
    Read-only: computed once per configuration."""
    if "access_lists" in config.memo:
        return config.memo["access_lists"]  # type: ignore[no-any-return]
    found: dict[tuple[int, str], AccessList] = config.memo.setdefault("access_lists", {})
    for block in config.blocks:
        words = block.words()
        if words[:1] == ["access-list"] and len(words) >= 3 and words[1].isdigit():
            _numbered_entry(found, words, block.number)
        elif words[:2] == ["ip", "access-list"] and len(words) >= 4 and words[2] in {"standard", "extended"}:
            found[(4, words[3])] = _named(words[2], words[3], block.number, block.children)
        elif words[:2] == ["ipv6", "access-list"] and len(words) >= 3:
            found[(6, words[2])] = _named("ipv6", words[2], block.number, block.children)
    return found


def _subtract(networks: list[Network], denied: Network) -> list[Network]:
    remaining: list[Network] = []
    for network in networks:
        if network.version != denied.version or not network.overlaps(denied):
            remaining.append(network)
        elif not network.subnet_of(denied):  # type: ignore[arg-type]
            remaining.extend(network.address_exclude(denied))  # type: ignore[arg-type]
    return remaining


def cidrs(networks: list[Network]) -> list[str]:
    """Sorted, deduplicated CIDR strings (IPv4 first), adjacent networks merged."""
    v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    return [str(n) for n in ipaddress.collapse_addresses(v4)] + [str(n) for n in ipaddress.collapse_addresses(v6)]


def admitted_sources(acl: AccessList) -> tuple[list[Network], list[str]]:
    """The source networks the ACL permits (first match wins; deny is implicit at the end), and notes on what
    was counted fail-closed. An ACL without a permit or deny entry filters nothing: any."""
    family = acl.family
    if not acl.entries:
        return [ANY[family]], [f"{acl.title()} has no permit or deny entry: it filters nothing"]
    permitted: list[Network] = []
    denied: list[Network] = []
    notes: list[str] = []
    for entry in acl.entries:
        networks = entry.source.networks
        if networks is None:
            if entry.action == "permit":
                permitted.append(ANY[family])
                notes.append(f"{entry.label}: {entry.source.note}")
            else:
                notes.append(f"{entry.label}: {entry.source.note}; the deny removes nothing")
            continue
        if entry.action == "permit":
            remaining = list(networks)
            for network in denied:
                remaining = _subtract(remaining, network)
            permitted.extend(remaining)
        elif entry.conditional or (entry.destination is not None and not entry.destination.is_any(family)):
            notes.append(f"{entry.label}: a deny for part of the traffic only removes no source")
        else:
            denied.extend(networks)
    return permitted, notes
