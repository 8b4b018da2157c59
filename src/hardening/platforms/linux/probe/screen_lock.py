"""Section `screen_lock`: GNOME's idle lock from the dconf system databases and their locks."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from .base import Ctx, bool_word, int_or

GNOME_DEFAULTS = {"idle-delay": 300, "lock-enabled": True, "lock-delay": 0}
DCONF_KEYS = {
    ("org/gnome/desktop/session", "idle-delay"): "idle-delay",
    ("org/gnome/desktop/screensaver", "lock-enabled"): "lock-enabled",
    ("org/gnome/desktop/screensaver", "lock-delay"): "lock-delay",
}


def parse_dconf_keyfile(text: str) -> dict[tuple[str, str], str]:
    """dconf keyfile -> {(section, key): raw GVariant text}."""
    out = {}
    section = None
    for line in text.splitlines():
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("[") and s.endswith("]"):
            section = s[1:-1].strip().strip("/")
            continue
        if "=" in s and section is not None:
            k, v = s.split("=", 1)
            out[(section, k.strip())] = v.strip()
    return out


def gvariant_value(raw: str) -> Any:
    """'uint32 300' -> 300, 'true' -> True, "'x'" -> 'x'."""
    v = raw.strip()
    b = bool_word(v) if v in ("true", "false") else None
    if b is not None:
        return b
    m = re.match(r"^(?:u?int(?:16|32|64)|byte)?\s*(-?\d+)$", v)
    if m:
        return int(m.group(1))
    return v.strip("'\"")


def parse_dconf_locks(text: str) -> set[str]:
    return set(ln.strip().rstrip("/") for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#"))


def dconf_profile_dbs(text: str) -> list[str]:
    """System db names of a dconf profile, in priority order (first = highest)."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("system-db:"):
            out.append(s.split(":", 1)[1].strip())
    return out


def screen_lock_from(
    dbs: list[tuple[str, dict[str, Any], set[str]]],
) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """dbs: [(name, values dict {short key: value}, locks set)] in profile priority order.

    The user's own db wins over system dbs unless a system db locks the key.
    enabled = lock-enabled and idle-delay > 0; idle_seconds = idle + lock delay;
    enforced = idle-delay and lock-enabled are both locked.
    """
    eff = dict(GNOME_DEFAULTS)
    for short in GNOME_DEFAULTS:
        for _, values, _ in dbs:  # first db in the profile has priority
            if short in values:
                eff[short] = values[short]
                break
    locked = set()
    for _, _, locks in dbs:
        for path in locks:
            for (section, key), short in DCONF_KEYS.items():
                full = "/%s/%s" % (section, key)
                if path == full or full.startswith(path + "/"):
                    locked.add(short)
    idle = int_or(eff["idle-delay"], 0) or 0
    lock_on = eff["lock-enabled"] is True
    enabled = lock_on and idle > 0
    return {
        "enabled": enabled,
        "idle_seconds": idle + (int_or(eff["lock-delay"], 0) or 0) if enabled else None,
        "enforced": "idle-delay" in locked and "lock-enabled" in locked,
    }, eff, locked


def collect_screen_lock(ctx: Ctx) -> None:
    ptr = "/screen_lock"
    db_dirs = ctx.glob("/etc/dconf/db/*.d")
    gnome = any(ctx.exists(p) for p in ("/usr/bin/gnome-shell", "/usr/bin/gnome-session"))
    sessions = ctx.glob("/usr/share/xsessions/*.desktop") + ctx.glob("/usr/share/wayland-sessions/*.desktop")
    desktop = gnome or bool(sessions)
    if not db_dirs and not desktop:
        ctx.fact(ptr + "/enabled", False)
        ctx.fact(ptr + "/idle_seconds", None)
        ctx.fact(ptr + "/enforced", False)
        ctx.add_evidence(ptr, "probe:effective", "no desktop session and no dconf database: no screen to lock")
        return
    if desktop and not gnome:
        for k in ("enabled", "idle_seconds", "enforced"):
            ctx.error(ptr + "/" + k, "non-GNOME desktop (%s): screen lock settings not supported by the probe"
                      % ", ".join(os.path.basename(s) for s in sessions[:3]))
        return
    profile = ctx.read("/etc/dconf/profile/user")
    if profile is None:
        names = []
        ctx.add_evidence(ptr, "file:/etc/dconf/profile/user",
                         "(missing: the user profile is only user-db:user; system databases do not apply)")
    else:
        names = dconf_profile_dbs(profile)
        ctx.file_evidence(ptr, "/etc/dconf/profile/user", profile)
    dbs = []
    for name in names:
        values = {}
        for f in ctx.glob("/etc/dconf/db/%s.d/*" % name):
            if not ctx.isfile(f):
                continue
            text = ctx.read(f) or ""
            kf = parse_dconf_keyfile(text)
            hit = False
            for (section, key), raw in kf.items():
                short = DCONF_KEYS.get((section, key))
                if short:
                    values[short] = gvariant_value(raw)  # later keyfile (name order) overrides
                    hit = True
            if hit:
                ctx.file_evidence(ptr, f, text)
        locks = set()
        for f in ctx.glob("/etc/dconf/db/%s.d/locks/*" % name):
            text = ctx.read(f) or ""
            locks |= parse_dconf_locks(text)
            ctx.file_evidence(ptr, f, text)
        db_file = "/etc/dconf/db/" + name
        newest_kf = max([ctx.mtime(f) or 0 for f in ctx.glob("/etc/dconf/db/%s.d/*" % name)] + [0])
        if ctx.mtime(db_file) is None or (ctx.mtime(db_file) or 0) < newest_kf:
            ctx.add_evidence(ptr, "file:" + db_file, "(compiled db missing or older than its keyfiles: "
                             "run `dconf update`; keyfile values reported)")
        dbs.append((name, values, locks))
    res, eff, locked = screen_lock_from(dbs)
    for k, v in res.items():
        ctx.fact(ptr + "/" + k, v)
    ctx.add_evidence(ptr, "probe:effective", "effective %s; locked %s" % (
        json.dumps(eff, sort_keys=True), sorted(locked)))
