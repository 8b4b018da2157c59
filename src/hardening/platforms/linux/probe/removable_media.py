"""Section `removable_media`: whether usb-storage can load (modprobe.d as kmod reads it)."""

from __future__ import annotations

import os
import re
from typing import Any

from .base import Ctx, strip_comment_lines

MODPROBE_DIRS = ["/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/usr/lib/modprobe.d",
                 "/lib/modprobe.d"]
_BLOCK_CMDS = ("/bin/false", "/bin/true", "/usr/bin/false", "/usr/bin/true", "false", "true")


def modname(name: str) -> str:
    return name.replace("-", "_")


def parse_modprobe(text: str) -> dict[str, Any]:
    """modprobe.d text -> {"install": {mod: command}, "blacklist": set(mod)} (names with _)."""
    install = {}  # type: dict[str, str]
    blacklist = set()  # type: set[str]
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        f = s.split()
        if f[0] == "install" and len(f) >= 3:
            install.setdefault(modname(f[1]), " ".join(f[2:]))
        elif f[0] == "blacklist" and len(f) >= 2:
            blacklist.add(modname(f[1]))
    return {"install": install, "blacklist": blacklist}


def install_blocks(command: str) -> bool:
    """Whether an install command prevents loading (it runs instead of insmod)."""
    first = command.split(";", 1)[0].split("&&", 1)[0].split()
    return bool(first) and first[0] in _BLOCK_CMDS


def modprobe_files(ctx: Ctx) -> list[str]:
    """kmod order: a file name in an earlier dir hides the same name in later dirs; all sorted by name."""
    names = {}  # type: dict[str, str]
    for d in MODPROBE_DIRS:
        for f in ctx.glob(d + "/*.conf"):
            names.setdefault(os.path.basename(f), f)
    return [names[n] for n in sorted(names)]


def collect_removable_media(ctx: Ctx) -> None:
    ptr = "/removable_media"
    merged_install = {}  # type: dict[str, str]
    blacklist = set()  # type: set[str]
    for f in modprobe_files(ctx):
        text = ctx.read(f)
        if text is None:
            continue
        parsed = parse_modprobe(text)
        relevant = [ln for ln in strip_comment_lines(text).splitlines()
                    if re.search(r"usb[-_]storage|\buas\b", ln)]
        if relevant:
            ctx.add_evidence(ptr, "file:" + f, "\n".join(relevant))
        for m, c in parsed["install"].items():
            merged_install.setdefault(m, c)  # kmod uses the first install command for a module
        blacklist |= parsed["blacklist"]
    # Built-in drivers with parameters (usb-storage has some) appear in /sys/module
    # but never in /proc/modules; a built-in driver cannot be blocked by modprobe.d.
    in_sysfs = ctx.exists("/sys/module/usb_storage")
    modules_text = ctx.read("/proc/modules")
    no_module_support = False
    loaded = None  # type: bool | None
    builtin = False
    if modules_text is not None:
        loaded_mods = set(ln.split()[0] for ln in modules_text.splitlines() if ln.strip())
        builtin = in_sysfs and "usb_storage" not in loaded_mods
        loaded = "usb_storage" in loaded_mods or builtin
        ctx.add_evidence(ptr, "file:/proc/modules", "usb_storage loaded: %s; uas loaded: %s"
                         % ("usb_storage" in loaded_mods, "uas" in loaded_mods))
    elif ctx.exists("/proc/self/stat") and ctx.isdir("/sys/module"):
        # A real /proc without /proc/modules: the kernel has no loadable-module
        # support, so usb-storage is loaded only if it is built in.  Blocking
        # still requires the modprobe.d directive (below): the control is the
        # configuration, which must hold after the next kernel change.
        no_module_support = True
        builtin = in_sysfs
        loaded = in_sysfs
        ctx.add_evidence(ptr, "file:/sys/module", "no /proc/modules (kernel without loadable modules); "
                         "usb_storage built in: %s" % in_sysfs)
    kver = ctx.facts.get("os", {}).get("kernel") or (ctx.read("/proc/sys/kernel/osrelease") or "").strip()
    module_missing = False
    if kver:
        bi = ctx.read("/lib/modules/%s/modules.builtin" % kver)
        if bi and re.search(r"/usb-storage\.ko", bi):
            builtin = True
        dep = ctx.read("/lib/modules/%s/modules.dep" % kver)
        if dep is not None and not builtin and not re.search(r"/usb-storage\.ko", dep):
            module_missing = True
    # `blacklist usb-storage` alone does NOT block: it only stops loading by
    # alias (udev hot-plug); `modprobe usb-storage` and loading as a dependency
    # (uas needs usb-storage) still work.  Only an `install` override that runs
    # /bin/false or /bin/true instead of insmod blocks every modprobe path.
    cmd = merged_install.get("usb_storage")
    directive = cmd is not None and install_blocks(cmd)
    uas_cmd = merged_install.get("uas")
    ctx.add_evidence(ptr, "probe:effective", "install usb-storage: %s (blocks: %s); install uas: %s; "
                     "blacklisted: %s; built-in: %s; module file absent: %s; loadable modules: %s"
                     % (cmd, directive, uas_cmd, sorted(blacklist & {"usb_storage", "uas"}), builtin,
                        module_missing, not no_module_support))
    if loaded is None:
        reason = "cannot read /proc/modules (and no /sys/module to tell a module-less kernel)"
        ctx.error(ptr + "/usb_storage_loaded", reason)
        ctx.error(ptr + "/usb_storage_blocked", reason)
        return
    ctx.fact(ptr + "/usb_storage_loaded", loaded)
    blocked = (directive or module_missing) and not builtin and not loaded
    ctx.fact(ptr + "/usb_storage_blocked", bool(blocked))
