"""Section `disk_encryption`: whether the OS volume sits on dm-crypt."""

from __future__ import annotations

import os

from .base import Ctx


def parse_mountinfo_root(text: str) -> dict[str, str] | None:
    """The "/" mount of /proc/self/mountinfo (the last one: it is on top) -> dict or None."""
    found = None
    for line in text.splitlines():
        f = line.split()
        if len(f) < 10 or f[4] != "/":
            continue
        try:
            sep = f.index("-", 6)
        except ValueError:
            continue
        found = {"majmin": f[2], "fstype": f[sep + 1], "source": f[sep + 2] if len(f) > sep + 2 else "",
                 "line": line}
    return found


def crypt_method(dm_uuid: str | None) -> str | None:
    """dm uuid 'CRYPT-LUKS2-<uuid>-<name>' -> 'luks2'; None if not a dm-crypt device."""
    if not dm_uuid or not dm_uuid.upper().startswith("CRYPT-"):
        return None
    parts = dm_uuid.split("-")
    return parts[1].lower() if len(parts) > 1 and parts[1] else "dm-crypt"


def find_crypt(ctx: Ctx, sysdev: str, depth: int = 0) -> tuple[str | None, list[str]]:
    """Walk a /sys/block device and its slaves; (method or None, [uuids seen])."""
    if depth > 8:
        return None, []
    uuid = (ctx.read(sysdev + "/dm/uuid") or "").strip()
    seen = [uuid] if uuid else []
    m = crypt_method(uuid)
    if m:
        return m, seen
    for s in ctx.listdir(sysdev + "/slaves") or []:
        sm, ss = find_crypt(ctx, ctx.realpath(sysdev + "/slaves/" + s), depth + 1)
        seen.extend(ss)
        if sm:
            return sm, seen
    return None, seen


def collect_disk_encryption(ctx: Ctx) -> None:
    ptr = "/disk_encryption"
    text = ctx.read("/proc/self/mountinfo")
    root = parse_mountinfo_root(text or "")
    if root is None:
        for k in ("os_volume_encrypted", "method"):
            ctx.error(ptr + "/" + k, "cannot find / in /proc/self/mountinfo")
        return
    ctx.add_evidence(ptr, "file:/proc/self/mountinfo", root["line"])
    dev = "/sys/dev/block/" + root["majmin"]
    if not ctx.exists(dev) and root["source"].startswith("/dev/") and ctx.root == "/":
        try:
            st = os.stat(root["source"])
            dev = "/sys/dev/block/%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        except OSError:
            pass
    if not ctx.exists(dev):
        for k in ("os_volume_encrypted", "method"):
            ctx.error(ptr + "/" + k, "root filesystem is not on a block device the probe can resolve "
                      "(%s %s on %s)" % (root["fstype"], root["source"], root["majmin"]))
        return
    real = ctx.realpath(dev)
    method, uuids = find_crypt(ctx, real)
    ctx.add_evidence(ptr, "file:" + dev, "-> %s; dm uuids: %s" % (real, ", ".join(uuids) or "none"))
    crypttab = ctx.read("/etc/crypttab")
    if crypttab:
        ctx.file_evidence(ptr, "/etc/crypttab", crypttab)
    ctx.fact(ptr + "/os_volume_encrypted", method is not None)
    ctx.fact(ptr + "/method", method)
