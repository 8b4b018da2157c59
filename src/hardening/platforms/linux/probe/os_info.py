"""Section `os`: distribution, family, kernel and host name (/etc/os-release, uname)."""

from __future__ import annotations

import os
import socket

from .base import Ctx, strip_comment_lines


def parse_os_release(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        out[k.strip()] = v.replace('\\"', '"')
    return out


def os_family(osr: dict[str, str]) -> str:
    ids = [osr.get("ID", "").lower()] + osr.get("ID_LIKE", "").lower().split()
    for fam, members in (
        ("debian", ("debian", "ubuntu")),
        ("rhel", ("rhel", "fedora", "centos", "rocky", "almalinux", "ol")),
        ("suse", ("suse", "sles", "opensuse")),
        ("alpine", ("alpine",)),
        ("arch", ("arch",)),
    ):
        if any(i in members for i in ids):
            return fam
    return ids[0] or "linux"


def collect_os(ctx: Ctx) -> None:
    text = ctx.read("/etc/os-release") or ctx.read("/usr/lib/os-release")
    if text is None:
        for k in ("family", "name", "version"):
            ctx.error("/os/" + k, "no /etc/os-release")
    else:
        osr = parse_os_release(text)
        ctx.add_evidence("/os", "file:/etc/os-release", strip_comment_lines(text))
        ctx.fact("/os/family", os_family(osr))
        ctx.fact("/os/name", osr.get("NAME") or osr.get("PRETTY_NAME") or osr.get("ID", "linux"))
        if osr.get("VERSION_ID"):
            ctx.fact("/os/version", osr["VERSION_ID"])
        else:
            ctx.error("/os/version", "os-release has no VERSION_ID")
    kernel = (ctx.read("/proc/sys/kernel/osrelease") or "").strip()
    if not kernel and ctx.root == "/":
        kernel = os.uname()[2]
    if kernel:
        ctx.fact("/os/kernel", kernel)
    else:
        ctx.error("/os/kernel", "cannot read /proc/sys/kernel/osrelease")
    host = (ctx.read("/proc/sys/kernel/hostname") or "").strip()
    if not host:
        host = (ctx.read("/etc/hostname") or "").strip()
    if not host and ctx.root == "/":
        host = socket.gethostname()
    if host:
        ctx.fact("/os/hostname", host)
    else:
        ctx.error("/os/hostname", "cannot read the hostname")
