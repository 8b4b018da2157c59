"""Section `firmware`: BIOS/UEFI passwords via the kernel's firmware-attributes class."""

from __future__ import annotations

from .base import Ctx


def classify_auth(name: str, role: str | None) -> str | None:
    n = name.lower()
    r = (role or "").strip().lower()
    if r == "bios-admin" or n in ("admin", "setup password", "supervisor", "bios admin password"):
        return "admin"
    if r == "power-on" or n in ("power-on", "poweron", "system", "power-on password", "power on password"):
        return "power_on"
    return None


def collect_firmware(ctx: Ctx) -> None:
    ptr = "/firmware"
    base = "/sys/class/firmware-attributes"
    drivers = ctx.listdir(base)
    if drivers is None:
        reason = ("no firmware-attributes interface (kernel >= 5.11 with dell-wmi-sysman/think-lmi/hp-bioscfg "
                  "needed)")
        for k in ("admin_password_set", "power_on_password_set", "interface"):
            ctx.error(ptr + "/" + k, reason)
        return
    drivers = [d for d in drivers if not d.startswith(".") and ctx.isdir(base + "/" + d)]
    found = {}  # type: dict[str, bool]
    iface = None
    for drv in drivers:
        auth = base + "/" + drv + "/authentication"
        for entry in ctx.listdir(auth) or []:
            d = auth + "/" + entry
            role = ctx.read(d + "/role")
            kind = classify_auth(entry, role)
            enabled = (ctx.read(d + "/is_enabled") or "").strip()
            if kind is None or enabled not in ("0", "1"):
                continue
            iface = iface or drv
            found[kind] = found.get(kind, False) or enabled == "1"
            ctx.add_evidence(ptr, "file:" + d + "/is_enabled", "%s (role %s): %s" % (
                entry, (role or "?").strip(), enabled))
    if iface:
        ctx.fact(ptr + "/interface", iface)
    elif drivers:
        ctx.fact(ptr + "/interface", drivers[0])
    else:
        ctx.error(ptr + "/interface", "firmware-attributes has no driver")
    for kind, key in (("admin", "admin_password_set"), ("power_on", "power_on_password_set")):
        if kind in found:
            ctx.fact(ptr + "/" + key, found[kind])
        else:
            ctx.error(ptr + "/" + key, "the firmware interface reports no %s password entry"
                      % kind.replace("_", "-"))
