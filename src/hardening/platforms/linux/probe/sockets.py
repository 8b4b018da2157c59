"""Section `network`: listening sockets (ss, else /proc/net) and which of them are exposed."""

from __future__ import annotations

import ipaddress
import re
import socket
import sys
from typing import Any, cast

from .base import Ctx


def split_hostport(local: str) -> tuple[str, str | None, int] | None:
    """'0.0.0.0:22' / '[::]:22' / '127.0.0.53%lo:53' / '*:22' -> (addr, iface, port) or None."""
    addr, sep, port = local.rpartition(":")
    if not sep or not port.isdigit():
        return None
    iface = None
    if addr.startswith("["):
        addr = addr[1:]
        if "]" in addr:
            addr = addr[: addr.index("]")]
    if "%" in addr:
        addr, iface = addr.split("%", 1)
    return addr, iface, int(port)


def is_loopback(addr: str, iface: str | None = None) -> bool:
    if iface == "lo":
        return True
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


_SS_USERS_RE = re.compile(r'\(\("([^"]*)"')


def parse_ss(text: str) -> list[dict[str, Any]]:
    """``ss -H -lntup`` output -> [{"proto", "addr", "iface", "port", "process"}]."""
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 5:
            continue
        proto = f[0].lower()
        if proto not in ("tcp", "udp"):
            continue
        hp = split_hostport(f[4])
        if hp is None:
            continue
        rest = " ".join(f[6:])
        m = _SS_USERS_RE.search(rest)
        out.append({"proto": proto, "addr": hp[0], "iface": hp[1], "port": hp[2],
                    "process": m.group(1) if m else None})
    return out


def _hex_addr(h: str, byteorder: str) -> str:
    raw = bytes.fromhex(h)
    words = [raw[i:i + 4] for i in range(0, len(raw), 4)]
    # the kernel prints each 32-bit word in host byte order
    fixed = b"".join(w[::-1] if byteorder == "little" else w for w in words)
    if len(fixed) == 4:
        return socket.inet_ntop(socket.AF_INET, fixed)
    return socket.inet_ntop(socket.AF_INET6, fixed)


def parse_proc_net(text: str, proto: str, byteorder: str = sys.byteorder) -> list[dict[str, Any]]:
    """/proc/net/{tcp,tcp6,udp,udp6} -> listening/bound entries (no process names).

    TCP: state 0A (LISTEN).  UDP: state 07 (unconnected, as ``ss -lu`` shows).
    """
    out = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 4:
            continue
        local, st = f[1], f[3].upper()
        if proto == "tcp" and st != "0A":
            continue
        if proto == "udp" and st != "07":
            continue
        try:
            h, p = local.split(":")
            addr = _hex_addr(h, byteorder)
            port = int(p, 16)
        except (ValueError, OSError):
            continue
        out.append({"proto": proto, "addr": addr, "iface": None, "port": port, "process": None})
    return out


def exposed_sockets(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop loopback-only listeners, dedupe by proto/port, sort by proto then port."""
    groups = {}  # type: dict[tuple[str, int], dict[str, Any]]
    for e in entries:
        if is_loopback(e["addr"], e.get("iface")):
            continue
        key = (e["proto"], e["port"])
        g = groups.setdefault(key, {"addresses": set(), "process": []})
        a = e["addr"] + ("%" + e["iface"] if e.get("iface") else "")
        g["addresses"].add(a)
        if e.get("process") and e["process"] not in g["process"]:
            g["process"].append(e["process"])
    out = []
    for (proto, port) in sorted(groups):
        g = groups[(proto, port)]
        out.append({
            "socket": "%s/%d" % (proto, port),
            "addresses": sorted(g["addresses"]),
            "process": ",".join(g["process"]) if g["process"] else None,
        })
    return out


def get_sockets(ctx: Ctx) -> list[dict[str, Any]] | None:
    """All listening entries (cached): from ss, else /proc/net; None if neither works."""
    if "sockets" in ctx._cache:
        return cast("list[dict[str, Any]] | None", ctx._cache["sockets"])
    entries = None  # type: list[dict[str, Any]] | None
    src = None
    res = ctx.run(["ss", "-H", "-lntup"])
    if res is not None and res.ok:
        entries = parse_ss(res.out)
        src = res
    else:
        got = []
        any_ok = False
        for name, proto in (("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp")):
            text = ctx.read("/proc/net/" + name)
            if text is None:
                continue
            any_ok = True
            got.extend(parse_proc_net(text, proto))
        if any_ok:
            entries = got
    ctx._cache["sockets"] = entries
    ctx._cache["sockets_src"] = src
    return entries


def collect_network(ctx: Ctx) -> None:
    ptr = "/network/exposed_sockets"
    entries = get_sockets(ctx)
    if entries is None:
        ctx.error(ptr, "neither `ss` nor /proc/net/{tcp,udp}[6] is available")
        return
    res = ctx._cache.get("sockets_src")
    if res is not None:
        ctx.cmd_evidence("/network", res)
    else:
        ctx.add_evidence("/network", "file:/proc/net/tcp,tcp6,udp,udp6",
                         "ss unavailable: parsed /proc/net (no process names); %d entries" % len(entries))
    ctx.fact(ptr, exposed_sockets(entries))
