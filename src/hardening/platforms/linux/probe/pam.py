"""Sections `password_policy` and `lockout`: the PAM stacks as Linux-PAM reads them, libpwquality /
pam_cracklib settings, and pam_faillock / pam_tally2 lockout.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Callable, Mapping

from .base import Ctx, int_or, to_int
from .includes import IncludeRule, IncludeWalk

_PAM_TOKEN_RE = re.compile(r"\[[^\]]*\]|\S+")


def parse_pam(text: str) -> list[dict[str, Any]]:
    """PAM service file -> list of entries.

    Entry: {"type", "control", "module", "args", "line"}; ``@include X`` gives
    {"type": "@include", "target": X}.  A leading "-" on the type (ignore if
    the module is missing) is dropped.  "#" starts a comment anywhere.
    """
    entries = []
    for n, line in enumerate(text.splitlines(), 1):
        if "#" in line:
            line = line[: line.index("#")]
        toks = _PAM_TOKEN_RE.findall(line.strip())
        if not toks:
            continue
        if toks[0] == "@include":
            if len(toks) > 1:
                entries.append({"type": "@include", "target": toks[1], "line": n})
            continue
        if len(toks) < 3:
            continue
        entries.append({
            "type": toks[0].lstrip("-").lower(),
            "control": toks[1],
            "module": toks[2],
            "args": toks[3:],
            "line": n,
        })
    return entries


# Linux-PAM: ``@include X`` / ``include X`` / ``substack X`` name a service file, relative to /etc/pam.d.
PAM_DIR = "/etc/pam.d"


def resolve_pam(
    service: str, read: Callable[[str], str | None], kind: str, pamdir: str = PAM_DIR
) -> list[dict[str, Any]]:
    """Entries of type ``kind`` of a PAM service, following @include/include/substack in place.

    ``read(path) -> text or None``.  Each entry gets "file".
    """
    rule = IncludeRule("literal", relative_to=pamdir)
    walk = IncludeWalk(read, lambda pattern: [])
    out = []  # type: list[dict[str, Any]]

    def handle(path: str, text: str) -> None:
        for e in parse_pam(text):
            if e["type"] == "@include":
                walk.include(rule, e["target"], path, handle)
                continue
            if e["type"] != kind:
                continue
            if e["control"] in ("include", "substack"):
                walk.include(rule, e["module"], path, handle)
                continue
            e = dict(e)
            e["file"] = path
            out.append(e)

    walk.include(rule, service, pamdir + "/", handle)
    return out


def pam_module(entry: dict[str, Any]) -> str:
    return os.path.basename(str(entry.get("module", "")))


def pam_control_enforces(control: str) -> bool:
    """A control under which a failing module makes the whole stack fail."""
    if control in ("requisite", "required"):
        return True
    if control.startswith("["):
        inner = control.strip("[]").split()
        kv = dict(x.split("=", 1) for x in inner if "=" in x)
        return kv.get("default") in ("die", "bad")
    return False


def pam_args(args: list[str]) -> dict[str, str | bool]:
    """Module args -> dict (flags -> True)."""
    out = {}  # type: dict[str, str | bool]
    for a in args:
        a = a.strip("[]")
        if "=" in a:
            k, v = a.split("=", 1)
            out[k.strip().lower()] = v.strip()
        else:
            out[a.strip().lower()] = True
    return out


def parse_kv_conf(text: str) -> dict[str, str | bool]:
    """libpwquality/pam_faillock style ``name = value`` file; bare names are flags (True)."""
    out = {}
    for line in text.splitlines():
        if "#" in line:
            line = line[: line.index("#")]
        line = line.strip()
        if not line:
            continue
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?:=\s*(.*))?$", line)
        if not m:
            m2 = re.match(r"^(\S+)\s+(.*)$", line)
            if not m2:
                continue
            out[m2.group(1).lower()] = m2.group(2).strip()
            continue
        out[m.group(1).lower()] = True if m.group(2) is None else m.group(2).strip()
    return out


PWQUALITY_DEFAULTS = {"minlen": 8, "dcredit": 0, "ucredit": 0, "lcredit": 0, "ocredit": 0,
                      "minclass": 0, "enforce_for_root": False, "dictcheck": 1}
# pam_cracklib does not read pwquality.conf; its built-in defaults differ.
CRACKLIB_DEFAULTS = {"minlen": 9, "dcredit": 1, "ucredit": 1, "lcredit": 1, "ocredit": 1,
                     "minclass": 0, "enforce_for_root": False, "dictcheck": 1}
PW_MIN_FLOOR = 6  # libpwquality clamps minlen to >= 6; cracklib's FascistCheck rejects < 6


def merge_pw_settings(base: dict[str, Any], *layers: Mapping[str, Any]) -> dict[str, Any]:
    """Apply setting layers (dicts from parse_kv_conf / pam_args) over ``base``.

    Later layers override earlier ones; unknown/garbled values are ignored.
    """
    s = dict(base)
    for layer in layers:
        for k, v in layer.items():
            if k == "enforce_for_root":
                s[k] = True
            elif k in ("minlen", "dcredit", "ucredit", "lcredit", "ocredit", "minclass", "dictcheck"):
                iv = to_int(v)
                if iv is not None:
                    s[k] = iv
    return s


def password_min_length(s: dict[str, Any]) -> int:
    """Shortest password the module can accept with settings ``s``.

    libpwquality: a password passes the length test when
    ``len + credits_earned >= minlen`` where each positive-credit class earns at
    most its credit (one per character).  So the shortest is ``minlen - sum of
    positive credits`` (also at least ceil(minlen/2): one char earns at most one
    credit), never below the dictionary check's hard floor of 6 (when dictcheck
    is on), and never below the characters that negative credits demand.
    """
    minlen = max(PW_MIN_FLOOR, int(s.get("minlen", 8)))
    credits = [int(s.get(k, 0)) for k in ("dcredit", "ucredit", "lcredit", "ocredit")]
    pos = sum(c for c in credits if c > 0)
    required_chars = sum(-c for c in credits if c < 0)
    shortest = max(minlen - pos, (minlen + 1) // 2, required_chars)
    if s.get("dictcheck", 1):
        shortest = max(shortest, PW_MIN_FLOOR)
    return shortest


def password_min_classes(s: dict[str, Any]) -> int:
    credits = [int(s.get(k, 0)) for k in ("dcredit", "ucredit", "lcredit", "ocredit")]
    neg = sum(1 for c in credits if c < 0)
    return min(4, max(int(s.get("minclass", 0)), neg))


def pwquality_files(ctx: Ctx) -> list[str]:
    """libpwquality's real read order: *.conf of pwquality.conf.d in ASCII order FIRST,
    then pwquality.conf itself -- so the main file overrides the drop-ins
    (libpwquality settings.c pwquality_read_config; pwquality.conf(5))."""
    files = [f for f in ctx.glob("/etc/security/pwquality.conf.d/*.conf")]
    files.sort()
    files.append("/etc/security/pwquality.conf")
    return files


def password_stack(ctx: Ctx) -> tuple[list[str], list[dict[str, Any]]]:
    """(files considered, password entries) of the system password stack."""
    read = ctx.read
    if ctx.exists("/etc/pam.d/common-password"):
        services = ["common-password"]
    else:
        services = [s for s in ("system-auth", "password-auth") if ctx.exists("/etc/pam.d/" + s)]
    entries = []
    for s in services:
        entries.extend(resolve_pam(s, read, "password"))
    return services, entries


def collect_password_policy(ctx: Ctx) -> None:
    ptr = "/password_policy"
    if not ctx.isdir("/etc/pam.d"):
        for k in ("enforced", "min_length", "min_char_classes", "enforce_for_root"):
            ctx.error(ptr + "/" + k, "no /etc/pam.d")
        return
    services, entries = password_stack(ctx)
    if not services:
        for k in ("enforced", "min_length", "min_char_classes", "enforce_for_root"):
            ctx.error(ptr + "/" + k, "no PAM password stack (common-password / system-auth / password-auth)")
        return
    for s in services:
        ctx.file_evidence(ptr, "/etc/pam.d/" + s)
    quality = [e for e in entries if pam_module(e) in ("pam_pwquality.so", "pam_cracklib.so")]
    enforcing = [e for e in quality if pam_control_enforces(e["control"])]
    ctx.fact(ptr + "/enforced", bool(enforcing))
    chosen = (enforcing or quality)[0] if (enforcing or quality) else None
    if chosen is not None and pam_module(chosen) == "pam_cracklib.so":
        settings = merge_pw_settings(CRACKLIB_DEFAULTS, pam_args(chosen["args"]))
        ctx.add_evidence(ptr, "file:" + chosen["file"], "pam_cracklib.so (ignores pwquality.conf) %s"
                         % " ".join(chosen["args"]))
    else:
        layers = []
        for f in pwquality_files(ctx):
            text = ctx.read(f)
            if text is None:
                continue
            layers.append(parse_kv_conf(text))
            ctx.file_evidence(ptr, f, text)
        if chosen is not None:
            layers.append(pam_args(chosen["args"]))  # module arguments override the files
        settings = merge_pw_settings(PWQUALITY_DEFAULTS, *layers)
    ctx.fact(ptr + "/min_length", password_min_length(settings))
    ctx.fact(ptr + "/min_char_classes", password_min_classes(settings))
    ctx.fact(ptr + "/enforce_for_root", bool(settings.get("enforce_for_root")))
    ctx.add_evidence(ptr, "probe:effective", json.dumps(
        {k: settings[k] for k in sorted(settings)}, sort_keys=True))


def lockout_from_stack(
    auth_entries: list[dict[str, Any]], faillock_conf: Mapping[str, Any]
) -> tuple[int, int | None, str]:
    """(threshold, duration_seconds or None, source) from auth entries.

    pam_faillock: faillock.conf ``deny`` (default 3) / ``unlock_time`` (default
    600, "never" = 0), module args override; deny=0 means no lockout.
    pam_tally2/pam_tally: deny= (default 0 = never), unlock_time= (default 0).
    Duration is None when there is no lockout at all (the value is meaningless).
    """
    fl = [e for e in auth_entries if pam_module(e) == "pam_faillock.so"]
    if fl:
        s = {"deny": "3", "unlock_time": "600"}
        s.update({k: v for k, v in faillock_conf.items() if isinstance(v, str)})
        for e in fl:  # args of later lines override earlier ones
            s.update({k: v for k, v in pam_args(e["args"]).items() if isinstance(v, str)})
        deny = int_or(s.get("deny"), 3)
        ut = str(s.get("unlock_time", "600")).lower()
        dur = 0 if ut == "never" else int_or(ut, 600)
        if deny <= 0:
            return 0, None, "pam_faillock deny=0"
        return deny, max(0, dur), "pam_faillock"
    tl = [e for e in auth_entries if pam_module(e) in ("pam_tally2.so", "pam_tally.so")]
    if tl:
        s = {}
        for e in tl:
            s.update({k: v for k, v in pam_args(e["args"]).items() if isinstance(v, str)})
        deny = int_or(s.get("deny"), 0)
        if deny <= 0:
            return 0, None, pam_module(tl[0]) + " without deny"
        return deny, max(0, int_or(s.get("unlock_time"), 0)), pam_module(tl[0])
    return 0, None, "no pam_faillock/pam_tally2 in the auth stack"


def collect_lockout(ctx: Ctx) -> None:
    ptr = "/login"
    if ctx.exists("/etc/pam.d/common-auth"):
        services = ["common-auth"]
    else:
        services = [s for s in ("system-auth", "password-auth") if ctx.exists("/etc/pam.d/" + s)]
    if not services:
        for k in ("lockout_threshold", "lockout_duration_seconds"):
            ctx.error(ptr + "/" + k, "no PAM auth stack (common-auth / system-auth / password-auth)")
        return
    entries = []
    for s in services:
        entries.extend(resolve_pam(s, ctx.read, "auth"))
        ctx.file_evidence("/login/lockout_threshold", "/etc/pam.d/" + s)
    conf_path = "/etc/security/faillock.conf"
    for e in entries:
        if pam_module(e) == "pam_faillock.so":
            conf_arg = pam_args(e["args"]).get("conf")
            if isinstance(conf_arg, str):
                conf_path = conf_arg
    conf_text = ctx.read(conf_path) or ""
    if conf_text:
        ctx.file_evidence("/login/lockout_threshold", conf_path, conf_text)
    threshold, duration, source = lockout_from_stack(entries, parse_kv_conf(conf_text))
    ctx.fact(ptr + "/lockout_threshold", threshold)
    # No lockout at all is a known state, not an unknown one: null (0 would read as "locked
    # until an administrator unlocks", the strictest value). Requirements then fail, not error.
    ctx.fact(ptr + "/lockout_duration_seconds", duration)
    ctx.add_evidence("/login/lockout_threshold", "probe:effective", source)
