"""Section `password_storage`: hash method for new passwords and the stored hashes'
methods (never the hashes).
"""

from __future__ import annotations

import re
from typing import cast

from .base import Ctx
from .pam import pam_module, password_stack

# Hash methods the catalog accepts (PW-STORE-PROTECT's enum): slow, salted, no known weakness.
STRONG_HASH_METHODS = ("yescrypt", "gost_yescrypt", "scrypt", "sha512")
# pam_unix's method arguments -> method (the last one given wins: they clear each other's bits).
PAM_UNIX_METHODS = {"md5": "md5", "bigcrypt": "bigcrypt", "sha256": "sha256", "sha512": "sha512",
                    "blowfish": "bcrypt", "gost_yescrypt": "gost_yescrypt", "yescrypt": "yescrypt"}
# login.defs ENCRYPT_METHOD values -> method
LOGIN_DEFS_METHODS = {"des": "des", "md5": "md5", "sha256": "sha256", "sha512": "sha512", "bcrypt": "bcrypt",
                      "yescrypt": "yescrypt"}
# crypt(5) prefixes -> method ($2a$/$2x$ are the buggy bcrypt variants)
CRYPT_PREFIXES = [("$y$", "yescrypt"), ("$gy$", "gost_yescrypt"), ("$7$", "scrypt"), ("$6$", "sha512"),
                  ("$5$", "sha256"), ("$2b$", "bcrypt"), ("$2y$", "bcrypt"), ("$2a$", "bcrypt_2a"),
                  ("$2x$", "bcrypt_2x"), ("$1$", "md5"), ("$md5", "sun_md5"), ("$sha1$", "sha1"),
                  ("$3$", "nt"), ("_", "bsdi_des")]
_CRYPT64 = "./0-9A-Za-z"


def password_field_method(field: str) -> str | None:
    """The hash method of a passwd/shadow password field; "" for an empty field (no password);
    None when the field holds no usable hash (``*``, ``!``, ``!!``, ``x``, ``*LK*`` …).

    A leading ``!`` only locks the account: ``!$1$…`` still stores an MD5 hash (crackable if the
    file leaks, restored by ``passwd -u``), so its method is md5.  An unknown ``$id$`` is
    "unknown" (never counted as strong).
    """
    if field == "":
        return ""
    h = field.lstrip("!")
    if not h or h.startswith("*"):
        return None
    for prefix, method in CRYPT_PREFIXES:
        if h.startswith(prefix):
            return method
    if h.startswith("$"):
        return "unknown"
    if re.match(r"^[%s]{13}$" % _CRYPT64, h):
        return "des"
    if len(h) > 13 and (len(h) - 2) % 11 == 0 and re.match(r"^[%s]+$" % _CRYPT64, h):
        return "bigcrypt"
    return None


def stored_password_states(passwd: str, shadow: str | None) -> dict[str, str | None]:
    """account -> method of its stored password ("" empty, None no usable hash).

    As pam_unix reads them: the passwd field, unless it is "x" (then the shadow entry; an "x"
    account without a shadow entry has no usable password).
    """
    shadow_fields = {}
    for line in (shadow or "").splitlines():
        f = line.split(":")
        if len(f) >= 2 and f[0]:
            shadow_fields[f[0]] = f[1]
    out = {}  # type: dict[str, str | None]
    for line in passwd.splitlines():
        f = line.split(":")
        if len(f) < 2 or not f[0] or f[0].startswith(("+", "-")):
            continue
        field = shadow_fields.get(f[0]) if f[1] == "x" else f[1]
        out[f[0]] = None if field is None else password_field_method(field)
    for name, field in shadow_fields.items():
        out.setdefault(name, password_field_method(field))
    return out


def login_defs_encrypt_method(text: str) -> tuple[str, str]:
    """(method, source) that shadow-utils uses: the last ``ENCRYPT_METHOD``; unset -> MD5 if
    ``MD5_CRYPT_ENAB yes`` else DES (login.defs(5))."""
    values = {}  # type: dict[str, tuple[str, int]]
    for n, line in enumerate(text.splitlines(), 1):
        f = line.split()
        if len(f) >= 2 and not f[0].startswith("#"):
            values[f[0].upper()] = (f[1], n)
    if "ENCRYPT_METHOD" in values:
        raw, n = values["ENCRYPT_METHOD"]
        return LOGIN_DEFS_METHODS.get(raw.lower(), "unknown:" + raw), "/etc/login.defs:%d ENCRYPT_METHOD %s" % (n, raw)
    md5 = values.get("MD5_CRYPT_ENAB")
    if md5 and md5[0].lower() == "yes":
        return "md5", "/etc/login.defs:%d MD5_CRYPT_ENAB yes (ENCRYPT_METHOD unset)" % md5[1]
    return "des", "/etc/login.defs: ENCRYPT_METHOD unset (shadow-utils default DES)"


def pam_unix_method(args: list[str], login_defs_method: str | None) -> tuple[str, str]:
    """(method, why) pam_unix hashes a new password with: its last method argument; without one,
    login.defs ENCRYPT_METHOD when pam_unix knows it (Linux-PAM >= 1.4), else crypt(3) DES."""
    chosen = None
    for a in args:
        m = PAM_UNIX_METHODS.get(a.strip().lower())
        if m:
            chosen = m
    if chosen:
        return chosen, "argument " + [a for a in args if PAM_UNIX_METHODS.get(a.lower()) == chosen][-1]
    if login_defs_method in PAM_UNIX_METHODS.values():
        return cast(str, login_defs_method), "no method argument: login.defs ENCRYPT_METHOD"
    return "des", "no method argument and no usable ENCRYPT_METHOD: pam_unix default crypt (DES)"


def collect_password_storage(ctx: Ctx) -> None:
    ptr = "/accounts/password_storage"
    # --- methods for new passwords
    ld_text = ctx.read("/etc/login.defs")
    methods = []  # type: list[dict[str, str]]
    ld_method = None
    if ld_text is None and ctx.exists("/usr/sbin/chpasswd"):
        ld_text = ""  # shadow-utils without login.defs uses its built-in defaults
    if ld_text is not None:
        ld_method, ld_src = login_defs_encrypt_method(ld_text)
        methods.append({"source": "login.defs ENCRYPT_METHOD", "method": ld_method})
        ctx.add_evidence(ptr + "/hash_methods", "file:/etc/login.defs", ld_src)
    if ctx.isdir("/etc/pam.d"):
        services, entries = password_stack(ctx)
        for e in entries:
            if pam_module(e) == "pam_unix.so":
                method, why = pam_unix_method(e["args"], ld_method)
                src = "%s:%d" % (e["file"], e["line"])
                methods.append({"source": "pam_unix " + src, "method": method})
                ctx.add_evidence(ptr + "/hash_methods", "file:" + e["file"],
                                 "line %d: password %s pam_unix.so %s -> %s (%s)" % (
                                     e["line"], e["control"], " ".join(e["args"]), method, why))
        if not services:
            ctx.add_evidence(ptr + "/hash_methods", "probe:effective", "no PAM password stack")
    if not methods:
        ctx.error(ptr + "/hash_methods", "neither /etc/login.defs nor a PAM password stack with pam_unix")
    else:
        ctx.fact(ptr + "/hash_methods", methods)
    # --- stored hashes (never excerpted: only counts and account names)
    passwd = ctx.read("/etc/passwd")
    shadow = ctx.read("/etc/shadow")
    defers = any(len(f) > 1 and f[1] == "x" for f in (line.split(":") for line in (passwd or "").splitlines()))
    if (shadow is None and ctx.exists("/etc/shadow")) or (passwd is None and shadow is None) or (
            shadow is None and defers):
        # fail closed: accounts whose passwd field is "x" keep their hash in /etc/shadow; without it (a backup
        # that left the sensitive file out) nothing can be said about them
        reason = ("cannot read /etc/shadow (not root?)" if ctx.exists("/etc/shadow") else
                  "no /etc/shadow although /etc/passwd accounts keep their hash there ('x')" if passwd is not None
                  else "no /etc/passwd")
        ctx.error(ptr + "/weak_hash_accounts", reason)
        ctx.error(ptr + "/empty_password_accounts", reason)
        return
    states = stored_password_states(passwd or "", shadow)
    weak = sorted(a for a, m in states.items() if m and m not in STRONG_HASH_METHODS)
    empty = sorted(a for a, m in states.items() if m == "")
    strong = sum(1 for m in states.values() if m in STRONG_HASH_METHODS)
    unusable = sum(1 for m in states.values() if m is None)
    by_method = {}  # type: dict[str, int]
    for m in states.values():
        if m:
            by_method[m] = by_method.get(m, 0) + 1
    ctx.fact(ptr + "/weak_hash_accounts", weak)
    ctx.fact(ptr + "/empty_password_accounts", empty)
    ctx.add_evidence(ptr, "probe:effective",
                     "/etc/passwd + /etc/shadow: %d accounts; %d strong hash, %d no usable hash (locked or "
                     "no password set), %d weak hash, %d empty password; methods: %s" % (
                         len(states), strong, unusable, len(weak), len(empty),
                         ", ".join("%s %d" % kv for kv in sorted(by_method.items())) or "none"))
