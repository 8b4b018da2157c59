"""Linux fact probe of `hardening`: collects the normalized facts of ONE host.

Why this file exists
--------------------
The auditor must learn the *effective* security settings of a Linux host
(what the daemons and PAM modules actually apply, not what a naive grep of one
file suggests) without installing anything there.  It sends this single,
self-contained file over ONE SSH exec as ``sudo -n python3 -`` (script on
stdin); the probe prints ONE JSON document on stdout: the facts document of
``schemas/facts.schema.json`` (format_version "1").  The auditor then
overwrites ``host`` with the inventory name and ``device_class`` with the
inventory's class.

Rules this file keeps (do not break them when editing)
-----------------------------------------------------
* Standard library only; runs on the target's python3, 3.7 or newer (no walrus,
  no ``match``, no ``f"{x=}"``, no ``list[str]`` evaluated at run time, no
  ``str.removeprefix``).
* Read-only: never writes anything on the host (no files, no bytecode caches),
  never prompts (every command gets stdin=/dev/null), every command has a
  timeout.  Meant to finish well under 0.5 s on a small host.
* "Cannot know" is not "known to be off": a fact that cannot be determined is
  LEFT OUT of ``facts`` and its JSON pointer (relative to facts, e.g.
  ``/time/offset_ms_abs``) goes into ``errors`` with a short reason.  A fact
  determined to be absent/disabled is a real value (false / null / []).
* An unexpected exception in one section becomes errors for that section's
  facts; it never crashes the whole probe.
* No secrets in evidence: /etc/shadow, private keys, vault and password files
  are never excerpted, inline secret values (``pwd="…"``, ``password: …``) are
  masked.  Config excerpts drop comment/blank lines and are capped (~1500
  characters).
* Typed for ``mypy --strict`` with string annotations (``from __future__ import
  annotations``) and ``# type:`` comments only, so nothing typed runs on 3.7.
* Effective values: each parser follows the consuming program's real rules
  (sshd first-value-wins across Include, libpwquality's read order, logrotate's
  first-rule-wins, kmod's directory precedence, dconf profiles and locks …);
  the docstrings say which rule and where a choice had to be made.
* Importable on the auditor: parsers are pure functions (text in, values out);
  I/O lives in thin collector functions that take a ``Ctx`` whose ``root``
  prefix (default "/") lets unit tests point them at a fake filesystem (where
  commands are simply unavailable).  ``main()`` only runs under
  ``if __name__ == "__main__":``.
"""
from __future__ import annotations

import sys

if __name__ == "__main__":
    sys.dont_write_bytecode = True  # read-only on the host, even for lazy stdlib imports

import datetime  # noqa: E402
import fnmatch  # noqa: E402
import glob as _glob  # noqa: E402
import ipaddress  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable, Mapping, cast  # noqa: E402

PROBE_NAME = "hardening-linux-probe"
PROBE_VERSION = "1.0.0"

CMD_TIMEOUT = 5.0
EXCERPT_MAX = 1500
EVIDENCE_PER_POINTER = 12
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Paths whose content must never appear in evidence (secrets).  PAM and
# pwquality files are configuration, not secrets, and stay excerptable.
_SENSITIVE_RE = re.compile(
    r"(^/etc/(g?shadow|gshadow-|shadow-|security/opasswd|sudoers)($|\.)|"
    r"/ssh_host_[^/]*_key$|/id_[a-z0-9]+$|\.(key|pem|p12|pfx|keytab|kdb|kdbx)$|/private/|"
    r"vault|secret|credential|token|"
    r"/[^/]*passw(or)?d[^/]*$|"
    r"chrony\.keys$|ntp\.keys$|"
    r"^/etc/snmp/|^/var/lib/(net-)?snmp/|^/usr/share/snmp/snmpd)",  # SNMP communities and USM keys
    re.IGNORECASE,
)
_NOT_SENSITIVE_PREFIXES = ("/etc/pam.d/", "/etc/security/pwquality.conf")
# Inline secrets in otherwise harmless config (e.g. rsyslog ommysql pwd="…"):
# the value of any key that ENDS in a secret-ish word is masked in excerpts.
_INLINE_SECRET_RE = re.compile(
    r"(?i)(\b[\w.-]*(?:pass|passwd|password|passphrase|pwd|secret|token|api[_-]?key|credentials?)"
    r"\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;)]+)"
)

# Facts each section is responsible for: used to turn an unexpected exception
# into errors for exactly the facts the section did not produce.
SECTION_FACTS = {
    "os": ["/os/family", "/os/name", "/os/version", "/os/kernel", "/os/hostname"],
    "password_policy": [
        "/password_policy/enforced",
        "/password_policy/min_length",
        "/password_policy/min_char_classes",
        "/password_policy/enforce_for_root",
    ],
    "lockout": ["/login/lockout_threshold", "/login/lockout_duration_seconds"],
    "ssh": [
        "/login/banner",
        "/login/last_login_shown",
        "/remote_access/ssh/enabled",
        "/remote_access/ssh/permit_root_login",
        "/remote_access/ssh/password_authentication",
        "/remote_access/ssh/max_auth_tries",
        "/remote_access/ssh/protocol_version",
        "/remote_access/ssh/contexts",
        "/remote_access/privileged_remote_login",
    ],
    "idle_timeout": [
        "/login/idle_timeout/seconds",
        "/login/idle_timeout/readonly",
        "/login/idle_timeout/exported",
        "/login/idle_timeout/source",
        "/login/idle_timeout_seconds",
    ],
    "banners": ["/login/banners"],
    "network": ["/network/exposed_sockets"],
    "services": ["/services/prohibited_present"],
    "time": [
        "/time/ntp_servers",
        "/time/synchronized",
        "/time/selected_source",
        "/time/offset_ms_abs",
        "/time/stratum",
    ],
    "logging": ["/logging/remote_targets", "/logging/retention_days", "/logging/retention_by_log",
                "/logging/journal/present", "/logging/journal/running", "/logging/journal/storage",
                "/logging/journal/persistent", "/logging/journal/max_retention_days"],
    "removable_media": ["/removable_media/usb_storage_blocked", "/removable_media/usb_storage_loaded"],
    "screen_lock": ["/screen_lock/enabled", "/screen_lock/idle_seconds", "/screen_lock/enforced"],
    "firmware": ["/firmware/admin_password_set", "/firmware/power_on_password_set", "/firmware/interface"],
    "disk_encryption": ["/disk_encryption/os_volume_encrypted", "/disk_encryption/method"],
    "antimalware": ["/antimalware/products", "/antimalware/resident", "/antimalware/signature_age_days"],
    "management": ["/management/insecure_protocols"],
    "password_storage": [
        "/accounts/password_storage/hash_methods",
        "/accounts/password_storage/weak_hash_accounts",
        "/accounts/password_storage/empty_password_accounts",
    ],
    "log_timestamps": ["/logging/timestamp_formats"],
}


# ---------------------------------------------------------------------------
# Generic helpers (pure)
# ---------------------------------------------------------------------------

def strip_comment_lines(text: str, comment_chars: str = "#") -> str:
    """Config text without blank lines and lines that start with a comment char."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s[0] in comment_chars:
            continue
        out.append(line.rstrip())
    return "\n".join(out)


def cap(text: str, limit: int = EXCERPT_MAX) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 14] + "\n…[truncated]"


def redact(text: str) -> str:
    """Mask inline secret values (key=value / key: value) in an excerpt."""
    return _INLINE_SECRET_RE.sub(lambda m: m.group(1) + "***", text)


def is_sensitive_path(path: str) -> bool:
    path = path or ""
    if path.startswith(_NOT_SENSITIVE_PREFIXES):
        return False
    return bool(_SENSITIVE_RE.search(path))


def to_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def int_or(value: Any, default: int) -> int:
    v = to_int(value)
    return default if v is None else v


def bool_word(value: Any) -> bool | None:
    """sshd/dconf style yes/no/true/false -> bool or None."""
    v = str(value).strip().strip("'\"").lower()
    if v in ("yes", "true", "on", "1"):
        return True
    if v in ("no", "false", "off", "0"):
        return False
    return None


def utc_text(ts: float, fmt: str) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(fmt)


def set_pointer(tree: dict[str, Any], pointer: str, value: Any) -> None:
    parts = pointer.strip("/").split("/")
    node = tree
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def has_pointer(tree: dict[str, Any], pointer: str) -> bool:
    node = tree
    for p in pointer.strip("/").split("/"):
        if not isinstance(node, dict) or p not in node:
            return False
        node = node[p]
    return True


# ---------------------------------------------------------------------------
# I/O context: everything that touches the host goes through here
# ---------------------------------------------------------------------------

class CmdResult(object):
    def __init__(self, rc: int | None, out: str, err: str, argv: list[str]) -> None:
        self.rc = rc
        self.out = out
        self.err = err
        self.argv = argv

    @property
    def ok(self) -> bool:
        return self.rc == 0


# Trees a saved copy of a file system cannot vouch for: the kernel's live views and the runtime state.
LIVE_ONLY_TREES = ("/proc", "/sys", "/run", "/dev")


def is_live_only_path(path: str) -> bool:
    """Whether a host path lies in a tree only a running system can show (offline mode hides them)."""
    norm = "/" + "/".join(x for x in path.split("/") if x and x != ".")
    return any(norm == t or norm.startswith(t + "/") for t in LIVE_ONLY_TREES)


class Proc(object):
    def __init__(self, pid: int, comm: str, cmdline: str) -> None:
        self.pid = pid
        self.comm = comm
        self.cmdline = cmdline


class Ctx(object):
    """Host access with a root prefix, plus the facts/errors/evidence being built.

    Paths given to the methods are *host* paths ("/etc/ssh/sshd_config"); they
    are resolved below ``root``.  Commands run only when root is "/" (unless
    ``commands`` says otherwise): under a fake root they are "not available".
    """

    def __init__(self, root: str = "/", commands: bool | None = None, now: float | None = None,
                 offline: bool = False) -> None:
        self.root = os.path.abspath(root)
        self.commands = (self.root == "/") if commands is None else bool(commands)
        # offline: root is a SAVED file tree (a backup), not a running system.  What only a running
        # system shows (the kernel's /proc and /sys, the runtime /run, device nodes) is stale or absent
        # there, so those trees read as missing and every fact drawn from them is "not collected".
        self.offline = bool(offline)
        if self.offline:
            self.commands = False
        self.now = now if now is not None else time.time()
        self.facts = {}  # type: dict[str, Any]
        self.errors = {}  # type: dict[str, str]
        self.evidence = {}  # type: dict[str, list[dict[str, str]]]
        self.manual = {}  # type: dict[str, str]
        self._cache = {}  # type: dict[str, Any]

    # -- paths ------------------------------------------------------------
    def _under(self, path: str) -> str:
        if self.root == "/":
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def p(self, path: str) -> str:
        if not self.offline:
            return self._under(path)
        # A saved tree is data, not this machine: its symlinks are resolved inside root (an absolute
        # link must never reach the auditor's own files), and the live-only trees read as absent.
        real = self.realpath(path)
        if is_live_only_path(path) or is_live_only_path(real) or os.path.islink(self._under(real)):
            return os.devnull + "/offline"  # never exists: /dev/null is not a directory
        return self._under(real)

    def unroot(self, real: str) -> str:
        if self.root == "/":
            return real
        rel = os.path.relpath(real, self.root)
        return "/" + rel if rel != "." else "/"

    def exists(self, path: str) -> bool:
        return os.path.exists(self.p(path))

    def isdir(self, path: str) -> bool:
        return os.path.isdir(self.p(path))

    def isfile(self, path: str) -> bool:
        return os.path.isfile(self.p(path))

    def read(self, path: str, limit: int = 2 * 1024 * 1024) -> str | None:
        try:
            with open(self.p(path), "r", encoding="utf-8", errors="replace") as fh:
                return fh.read(limit)
        except (IOError, OSError):
            return None

    def read_bytes(self, path: str, n: int) -> bytes | None:
        try:
            with open(self.p(path), "rb") as fh:
                return fh.read(n)
        except (IOError, OSError):
            return None

    def listdir(self, path: str) -> list[str] | None:
        try:
            return sorted(os.listdir(self.p(path)))
        except (IOError, OSError):
            return None

    def glob(self, pattern: str) -> list[str]:
        """Sorted host paths matching a glob (like glob(3) with default flags)."""
        if self.root == "/":
            return sorted(_glob.glob(pattern))
        if self.offline:
            return self._offline_glob(pattern)
        real = _glob.escape(self.root) + "/" + pattern.lstrip("/")
        return sorted(self.unroot(x) for x in _glob.glob(real))

    def _offline_glob(self, pattern: str) -> list[str]:
        """glob in a saved tree: one path component at a time, each directory resolved inside root."""
        found = ["/"]
        for part in [x for x in pattern.split("/") if x]:
            nxt = []  # type: list[str]
            for base in found:
                if not _glob.has_magic(part):
                    cand = base.rstrip("/") + "/" + part
                    if self.exists(cand):
                        nxt.append(cand)
                    continue
                names = self.listdir(base) or []
                nxt += [base.rstrip("/") + "/" + n for n in names
                        if fnmatch.fnmatchcase(n, part) and (part.startswith(".") or not n.startswith("."))]
            found = nxt
        return sorted(x for x in found if x != "/" and not is_live_only_path(x))

    def mtime(self, path: str) -> float | None:
        try:
            return os.stat(self.p(path)).st_mtime
        except (IOError, OSError):
            return None

    def realpath(self, path: str) -> str:
        """realpath of a host path, returned as a host path (symlinks resolved under root)."""
        if self.root == "/":
            return os.path.realpath(path)
        # Resolve symlinks manually so absolute link targets stay under root.
        parts = [x for x in path.split("/") if x]
        cur = "/"
        seen = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                cur = os.path.dirname(cur.rstrip("/")) or "/"
                continue
            if part == ".":
                continue
            cand = os.path.join(cur, part)
            real = self._under(cand)
            if os.path.islink(real):
                seen += 1
                if seen > 40:
                    return cand
                target = os.readlink(real)
                if target.startswith("/"):
                    cur = "/"
                parts = [x for x in target.split("/") if x] + parts
                continue
            cur = cand
        return cur

    # -- commands ---------------------------------------------------------
    def which(self, name: str) -> str | None:
        if not self.commands:
            return None
        return shutil.which(name, path=SAFE_PATH)

    def run(self, argv: list[str], timeout: float = CMD_TIMEOUT) -> CmdResult | None:
        """Run a command; None if it is not available (or commands are off)."""
        exe = self.which(argv[0])
        if exe is None:
            return None
        env = {"PATH": SAFE_PATH, "LC_ALL": "C", "LANG": "C"}
        try:
            cp = subprocess.run(
                [exe] + list(argv[1:]),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                timeout=timeout,
                env=env,
            )
        except subprocess.TimeoutExpired:
            return CmdResult(None, "", "timed out after %ss" % timeout, argv)
        except (OSError, ValueError) as exc:
            return CmdResult(None, "", str(exc), argv)
        return CmdResult(
            cp.returncode,
            cp.stdout.decode("utf-8", "replace"),
            cp.stderr.decode("utf-8", "replace"),
            argv,
        )

    # -- processes ----------------------------------------------------------
    def processes(self) -> list[Proc] | None:
        """[Proc] from <root>/proc/[0-9]*; None if /proc cannot be read."""
        if "procs" in self._cache:
            return cast("list[Proc] | None", self._cache["procs"])
        names = self.listdir("/proc")
        procs = None  # type: list[Proc] | None
        if names is not None:
            procs = []
            for name in names:
                if not name.isdigit():
                    continue
                comm = self.read("/proc/%s/comm" % name, 256)
                if comm is None:
                    continue
                cmd = self.read_bytes("/proc/%s/cmdline" % name, 4096) or b""
                cmdline = cmd.replace(b"\0", b" ").decode("utf-8", "replace").strip()
                procs.append(Proc(int(name), comm.strip(), cmdline))
            if not procs:
                procs = None  # a /proc without processes is not a real /proc
        self._cache["procs"] = procs
        return procs

    def running(self, *comms: str) -> bool | None:
        """True/False whether a process with one of these comm names runs; None if unknown."""
        procs = self.processes()
        if procs is None:
            return None
        wanted = set(c[:15] for c in comms)
        return any(p.comm in wanted for p in procs)

    # -- results ------------------------------------------------------------
    def fact(self, pointer: str, value: Any) -> None:
        set_pointer(self.facts, pointer, value)
        self.errors.pop(pointer, None)

    def error(self, pointer: str, reason: str) -> None:
        if not has_pointer(self.facts, pointer):
            self.errors[pointer] = str(reason)[:300]

    def needs_review(self, pointer: str, reason: str) -> None:
        """The configuration was read but the probe cannot judge it: a person must (the fact stays
        absent, so evaluation gives ``manual``, never ``pass``)."""
        if not has_pointer(self.facts, pointer):
            self.manual[pointer] = str(reason)[:300]

    def add_evidence(self, pointer: str, source: str, excerpt: str | None = None) -> None:
        items = self.evidence.setdefault(pointer, [])
        if len(items) >= EVIDENCE_PER_POINTER:
            return
        item = {"source": source}
        if excerpt is not None:
            if source.startswith("file:") and is_sensitive_path(source[5:]):
                excerpt = "(content withheld: sensitive file)"
            item["excerpt"] = cap(redact(excerpt))
        items.append(item)

    def file_evidence(self, pointer: str, path: str, text: str | None = None, strip: bool = True) -> None:
        if text is None:
            text = self.read(path)
        if text is None:
            self.add_evidence(pointer, "file:" + path, "(missing)")
            return
        body = strip_comment_lines(text) if strip else text
        self.add_evidence(pointer, "file:" + path, body if body.strip() else "(no active lines)")

    def cmd_evidence(self, pointer: str, res: CmdResult | None, limit: int = EXCERPT_MAX) -> None:
        if res is None:
            return
        text = res.out if res.ok else "rc=%s %s" % (res.rc, (res.err or res.out).strip())
        self.add_evidence(pointer, "cmd:" + " ".join(res.argv), cap(text, limit))


# ---------------------------------------------------------------------------
# os
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# PAM (password quality, lockout)
# ---------------------------------------------------------------------------

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


def resolve_pam(
    service: str, read: Callable[[str], str | None], kind: str, depth: int = 0, pamdir: str = "/etc/pam.d"
) -> list[dict[str, Any]]:
    """Entries of type ``kind`` of a PAM service, following @include/include/substack.

    ``read(path) -> text or None``.  Each entry gets "file".
    """
    if depth > 10:
        return []
    path = service if service.startswith("/") else pamdir + "/" + service
    text = read(path)
    if text is None:
        return []
    out = []
    for e in parse_pam(text):
        if e["type"] == "@include":
            out.extend(resolve_pam(e["target"], read, kind, depth + 1, pamdir))
            continue
        if e["type"] != kind:
            continue
        if e["control"] in ("include", "substack"):
            out.extend(resolve_pam(e["module"], read, kind, depth + 1, pamdir))
            continue
        e = dict(e)
        e["file"] = path
        out.append(e)
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


# ---------------------------------------------------------------------------
# sshd configuration (effective values in every connection context)
# ---------------------------------------------------------------------------

def sshd_split(line: str) -> tuple[str, list[str]] | None:
    """One sshd_config line -> (keyword, [args]) or None.

    Mirrors OpenSSH: the keyword ends at whitespace or one "="; arguments are
    whitespace separated, double quotes group, a token starting with "#" ends
    the line (argv_split with comment termination).
    """
    s = line.strip()
    if not s or s.startswith("#"):
        return None
    m = re.match(r"^([^\s=]+)[ \t]*(?:=[ \t]*)?(.*)$", s)
    if not m:
        return None
    kw, rest = m.group(1), m.group(2)
    args = []
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t":
            i += 1
        if i >= n:
            break
        if rest[i] == "#":
            break
        if rest[i] == '"':
            j = rest.find('"', i + 1)
            if j < 0:
                j = n
            args.append(rest[i + 1:j])
            i = j + 1
            continue
        j = i
        while j < n and rest[j] not in " \t":
            j += 1
        args.append(rest[i:j])
        i = j
    return kw, args


# Keywords sshd parses as another keyword (servconf.c keyword table).
_SSHD_ALIASES = {"challengeresponseauthentication": "kbdinteractiveauthentication",
                 "skeyauthentication": "kbdinteractiveauthentication"}
_SSHCFG_MATCH_ONLY = 1   # reprocessing for a connection, before the first Match of this file
_SSHCFG_NEVERMATCH = 2   # inside an Include that sits in a Match block that did not match


def _sshd_parse(
    main_path: str, read: Callable[[str], str | None], glob_: Callable[[str], list[str]], sshdir: str,
    connection: set[str] | None,
) -> dict[str, Any]:
    """One pass of sshd's own parser (servconf.c parse_server_config) over the file tree.

    connection None: the start-up parse.  No connection exists, so a Match
    matches only when it is ``Match all``; lines of other Match blocks are skipped.
    connection = a set of Match keys ("file:line"): the reprocessing sshd does
    for each connection (parse_server_match_config).  Lines before the first
    Match are skipped (they are the global values), a Match is active when it
    is ``all`` or its key is in the set.  Its values are then copied OVER the
    global ones (copy_set_server_options).

    Both passes: within the pass the first obtained value wins; an Include'd
    file cannot clobber the includer's Match state; an Include inside a Match
    block that does not match makes everything in the included files inactive,
    even their ``Match all`` (SSHCFG_NEVERMATCH).
    Returns {"values": {kw: {"args", "source"}}, "all": {kw: [..]}, "files": [..],
    "matches": [{"key", "args", "parents"}]}.
    """
    values = {}  # type: dict[str, dict[str, Any]]
    every = {}  # type: dict[str, list[dict[str, Any]]]
    files = []  # type: list[str]
    matches = []  # type: list[dict[str, Any]]
    state = {"active": connection is None}

    def process(path: str, depth: int, flags: int, parents: list[str]) -> None:
        if depth > 16:
            return
        text = read(path)
        if text is None:
            return
        files.append(path)
        current = None  # type: str | None
        for n, line in enumerate(text.splitlines(), 1):
            sp = sshd_split(line)
            if sp is None:
                continue
            kw, args = sp
            k = _SSHD_ALIASES.get(kw.lower(), kw.lower())
            if k == "match":
                key = "%s:%d" % (path, n)
                current = key
                matches.append({"key": key, "args": args, "parents": list(parents)})
                is_all = bool(args) and args[0].lower() == "all"
                if flags & _SSHCFG_NEVERMATCH:
                    state["active"] = False
                else:
                    state["active"] = is_all or (connection is not None and key in connection)
                flags &= ~_SSHCFG_MATCH_ONLY
                continue
            if k == "include":
                outer = state["active"]
                if flags & _SSHCFG_MATCH_ONLY:
                    inc_flags = _SSHCFG_MATCH_ONLY
                else:
                    inc_flags = 0 if outer else _SSHCFG_NEVERMATCH
                inner_parents = parents + ([current] if current else [])
                for pat in args:
                    if not pat.startswith("/") and not pat.startswith("~"):
                        pat = sshdir.rstrip("/") + "/" + pat
                    for f in glob_(pat):
                        process(f, depth + 1, inc_flags, inner_parents)
                        state["active"] = outer
                continue
            if not state["active"]:
                continue
            src = "%s:%d" % (path, n)
            every.setdefault(k, []).append({"args": args, "source": src})
            if k not in values:
                values[k] = {"args": args, "source": src}

    process(main_path, 0, 0 if connection is None else _SSHCFG_MATCH_ONLY, [])
    return {"values": values, "all": every, "files": files, "matches": matches}


def sshd_match_label(match: dict[str, Any]) -> str:
    """'Match Address 10.0.0.0/8 (/etc/ssh/sshd_config.d/10-x.conf:3)'."""
    return "Match %s (%s)" % (" ".join(match["args"]), match["key"])


def sshd_effective(
    main_path: str, read: Callable[[str], str | None], glob_: Callable[[str], list[str]], sshdir: str = "/etc/ssh"
) -> dict[str, Any]:
    """Effective sshd settings: the global context and one context per Match block.

    Returns {"values": {keyword_lower: {"args", "source"}}, "all": {kw: [..]},
    "files": [paths read], "missing": bool, "contexts": [ctx, ...]} where
    "values" is what a connection that matches no Match block gets (what
    ``sshd -T`` prints: the start-up values with ``Match all`` blocks copied
    over them), and each context is {"label", "key", "criteria", "values"}
    for a connection that matches that Match block (and the Match blocks an
    Include of it sits in), computed as sshd does for that connection.

    Semantics (OpenSSH servconf.c): keywords are case-insensitive; for almost
    every keyword the FIRST obtained value wins (later lines are ignored),
    across Include'd files; ``Include`` takes globs (sorted, glob(3)), relative
    paths are relative to /etc/ssh, processed recursively in place; ``Match``
    starts a conditional block that lasts to the next Match or the end of
    *that file*.  Per connection sshd parses again, keeps only matching Match
    blocks (first value wins among them) and copies their values over the
    global ones: so a Match value beats the global value even when the global
    line comes first, and ``Match all`` overrides the global value too.
    """
    startup = _sshd_parse(main_path, read, glob_, sshdir, None)

    def for_connection(keys: set[str]) -> dict[str, dict[str, Any]]:
        merged = dict(startup["values"])
        merged.update(_sshd_parse(main_path, read, glob_, sshdir, keys)["values"])
        return merged

    contexts = []
    seen = set()  # type: set[str]
    for m in startup["matches"]:
        if (m["args"] and m["args"][0].lower() == "all") or m["key"] in seen:
            continue
        seen.add(m["key"])
        keys = set([m["key"]] + m["parents"])
        by_key = dict((x["key"], x) for x in startup["matches"])
        criteria = []  # type: list[str]
        for k in m["parents"] + [m["key"]]:
            criteria.extend(by_key[k]["args"] if k in by_key else [])
        label = sshd_match_label(m)
        if m["parents"]:
            label += " inside " + ", ".join(sshd_match_label(by_key[p]) for p in m["parents"] if p in by_key)
        contexts.append({"label": label, "key": m["key"], "criteria": criteria, "values": for_connection(keys)})
    return {"values": for_connection(set()), "all": startup["all"], "files": startup["files"],
            "missing": not startup["files"], "contexts": contexts}


def sshd_get(eff: dict[str, Any], keyword: str, default: str) -> tuple[str, str]:
    """(first argument, source) of a keyword in one context's values, or (default, "default")."""
    k = _SSHD_ALIASES.get(keyword.lower(), keyword.lower())
    v = eff["values"].get(k)
    if v is None or not v["args"]:
        return default, "default"
    return v["args"][0], v["source"]


def normalize_permit_root_login(value: str) -> str:
    v = str(value).strip().lower()
    if v == "without-password":
        return "prohibit-password"
    return v


def sshd_password_auth(eff: dict[str, Any]) -> bool:
    """Whether a password can be used to log in over SSH (effective).

    PasswordAuthentication (default yes) -- or keyboard-interactive
    (KbdInteractiveAuthentication, default yes upstream) through PAM (UsePAM,
    default no upstream, Debian ships yes), which asks pam_unix for the
    password.  AuthenticationMethods without any password/keyboard-interactive
    method turns both off.
    """
    pa = bool_word(sshd_get(eff, "PasswordAuthentication", "yes")[0])
    kbd = bool_word(sshd_get(eff, "KbdInteractiveAuthentication", "yes")[0])
    pam = bool_word(sshd_get(eff, "UsePAM", "no")[0])
    methods_v = eff["values"].get("authenticationmethods")
    if methods_v and methods_v["args"] and methods_v["args"][0].lower() != "any":
        lists = " ".join(methods_v["args"]).lower()
        if "password" not in lists:
            pa = False
        if "keyboard-interactive" not in lists:
            kbd = False
    return bool(pa) or (bool(kbd) and bool(pam))


# --- sshd's own answer: sshd -T [-C spec] for one synthesized connection per Match block ---------

def parse_sshd_t(text: str, source: str) -> dict[str, dict[str, Any]]:
    """`sshd -T` output ("keyword value" lines) -> {keyword: {"args", "source"}} (first line wins)."""
    values = {}  # type: dict[str, dict[str, Any]]
    for line in text.splitlines():
        parts = line.split()
        if parts:
            values.setdefault(parts[0].lower(), {"args": parts[1:], "source": source})
    return values


def _pattern_matches(value: str, patterns: str, cidr: bool = False) -> bool:
    """OpenSSH match_pattern_list / addr_match_list: a negated match refuses, else any positive match."""
    hit = False
    for pat in patterns.split(","):
        neg = pat.startswith("!")
        pat = pat[1:] if neg else pat
        ok = fnmatch.fnmatchcase(value, pat)
        if cidr and "/" in pat:
            try:
                ok = ipaddress.ip_address(value) in ipaddress.ip_network(pat, strict=False)
            except ValueError:
                ok = False
        if ok and neg:
            return False
        hit = hit or ok
    return hit


def _candidates(patterns: str, cidr: bool = False) -> list[str]:
    """Values that might match a pattern list: its positive patterns with wildcards filled in."""
    out = []
    for pat in patterns.split(","):
        if not pat or pat.startswith("!"):
            continue
        if cidr and "/" in pat:
            try:
                net = ipaddress.ip_network(pat, strict=False)
                out.append(str(net.network_address + (1 if net.num_addresses > 1 else 0)))
            except ValueError:
                pass
            continue
        filled = pat.replace("*", "1" if cidr else "x").replace("?", "1" if cidr else "x")
        out.append(filled)
    out.extend(["192.0.2.1", "2001:db8::1"] if cidr else ["x"])
    return [c for c in out if _pattern_matches(c, patterns, cidr)]


_MATCH_ATTRIBUTES = ("user", "group", "host", "address", "localaddress", "localport", "rdomain")
_SPEC_KEY = {"host": "host", "address": "addr", "localaddress": "laddr", "localport": "lport", "rdomain": "rdomain"}


def _match_pairs(criteria: list[str]) -> list[tuple[str, str]] | None:
    """Match arguments -> [(attribute, pattern list)]; None for a criterion the probe does not know."""
    pairs = []
    i = 0
    while i < len(criteria):
        attrib = criteria[i].lower()
        if attrib == "all":
            i += 1
            continue
        if i + 1 >= len(criteria) or attrib not in _MATCH_ATTRIBUTES:
            return None
        pairs.append((attrib, criteria[i + 1]))
        i += 2
    return pairs


def _criterion_value(attrib: str, patterns: str) -> str | None:
    """A value that satisfies one non-user criterion, or None."""
    if attrib == "localport":
        return patterns if to_int(patterns) is not None else None
    cands = _candidates(patterns, cidr=attrib in ("address", "localaddress"))
    return cands[0] if cands else None


def sshd_connection_spec(
    criteria: list[str], group_members: Callable[[str], list[tuple[str, str]]],
) -> str | None:
    """A `sshd -T -C` spec (user=…,host=…,addr=…,laddr=…,lport=…) for a connection that
    satisfies every Match criterion, or None when the probe cannot synthesize one
    (an unknown criterion, a Group nobody on the host is a member of).

    group_members(patterns) -> [(user, group)] of the host's users whose group
    matches the pattern list.
    """
    pairs = _match_pairs(criteria)
    if pairs is None:
        return None
    spec = {"user": "sshd-probe-nomatch", "host": "", "addr": "192.0.2.10", "laddr": "192.0.2.20", "lport": "22"}
    users = None  # type: list[str] | None
    for attrib, pats in pairs:
        if attrib == "user":
            users = _candidates(pats) if users is None else [u for u in users if _pattern_matches(u, pats)]
        elif attrib == "group":
            members = [u for u, _ in group_members(pats)]
            users = members if users is None else [u for u in users if u in members]
        else:
            value = _criterion_value(attrib, pats)
            if value is None:
                return None
            spec[_SPEC_KEY[attrib]] = value
    if users is not None:
        if not users:
            return None
        spec["user"] = users[0]
    spec["host"] = spec["host"] or spec["addr"]
    return ",".join("%s=%s" % (k, v) for k, v in spec.items())


def host_group_members(ctx: Ctx) -> Callable[[str], list[tuple[str, str]]]:
    """group_members() for sshd_connection_spec from /etc/passwd and /etc/group."""
    passwd = [ln.split(":") for ln in (ctx.read("/etc/passwd") or "").splitlines() if ln.count(":") >= 6]
    groups = [ln.split(":") for ln in (ctx.read("/etc/group") or "").splitlines() if ln.count(":") >= 3]

    def members(patterns: str) -> list[tuple[str, str]]:
        out = []  # type: list[tuple[str, str]]
        for g in groups:
            if not _pattern_matches(g[0], patterns):
                continue
            names = [u for u in g[3].split(",") if u] + [p[0] for p in passwd if p[3] == g[2]]
            out.extend((u, g[0]) for u in names)
        return out

    return members


SSHD_T_MAX_CONTEXTS = 32


def sshd_contexts(ctx: Ctx, eff: dict[str, Any], pointer: str) -> list[dict[str, Any]]:
    """Every connection context with its effective values: [{"label", "how", "values"}].

    Live host: sshd's own answer (`sshd -T`, and `sshd -T -C spec` per Match
    block); a Match block the probe cannot synthesize a connection for, and
    every context when `sshd -T` fails (no root, missing host keys, no sshd
    binary, an offline --root), comes from the probe's parser, and the
    evidence says so.
    """
    out = []
    base = ctx.run(["sshd", "-T"]) if ctx.commands else None
    if base is not None and base.ok and base.out.strip():
        out.append({"label": "global (no Match block applies)", "how": "sshd -T",
                    "values": parse_sshd_t(base.out, "sshd -T")})
    else:
        why = ("commands unavailable (offline root)" if not ctx.commands else "no sshd binary" if base is None
               else "rc=%s %s" % (base.rc, (base.err or base.out).strip()[:200]))
        ctx.add_evidence(pointer, "probe:effective",
                         "sshd -T failed (%s): every context is from the probe's parser of the files" % why)
        base = None
        out.append({"label": "global (no Match block applies)", "how": "parser", "values": eff["values"]})
    members = host_group_members(ctx)
    for n, c in enumerate(eff["contexts"]):
        # a bounded number of sshd runs keeps the probe fast; the rest come from the parser (evidence says so)
        spec = sshd_connection_spec(c["criteria"], members) if base is not None and n < SSHD_T_MAX_CONTEXTS else None
        res = ctx.run(["sshd", "-T", "-C", spec]) if spec is not None else None
        if spec is not None and res is not None and res.ok and res.out.strip():
            how = "sshd -T -C " + spec
            out.append({"label": c["label"], "how": how, "values": parse_sshd_t(res.out, how)})
            continue
        if base is not None:
            why = ("more than %d Match blocks" % SSHD_T_MAX_CONTEXTS if n >= SSHD_T_MAX_CONTEXTS
                   else "no connection can be synthesized for it" if spec is None
                   else "sshd -T -C %s failed: %s" % (spec, (res.err if res else "")[:200]))
            ctx.add_evidence(pointer, "probe:effective", "%s: %s; values from the probe's parser" % (c["label"], why))
        out.append({"label": c["label"], "how": "parser", "values": c["values"]})
    return out


# Worst first: the order in which a value of a fact is less compliant.
_PRL_RANK = {"yes": 0, "prohibit-password": 1, "forced-commands-only": 2, "no": 3}


def sshd_context_facts(values: dict[str, Any]) -> dict[str, Any]:
    """The facts one context's values give (what collect_ssh reports per context)."""
    eff = {"values": values}
    banner = sshd_get(eff, "Banner", "none")[0]
    pll = bool_word(sshd_get(eff, "PrintLastLog", "yes")[0])
    return {
        "permit_root_login": normalize_permit_root_login(sshd_get(eff, "PermitRootLogin", "prohibit-password")[0]),
        "password_authentication": sshd_password_auth(eff),
        "max_auth_tries": int_or(sshd_get(eff, "MaxAuthTries", "6")[0], 6),
        "last_login_shown": True if pll is None else pll,
        "banner_file": None if banner.lower() == "none" else banner,
        "client_alive_interval": int_or(sshd_get(eff, "ClientAliveInterval", "0")[0], 0),
        "client_alive_count_max": int_or(sshd_get(eff, "ClientAliveCountMax", "3")[0], 3),
    }


def _worst(rows: list[dict[str, Any]], key: str, rank: Callable[[Any], Any]) -> dict[str, Any]:
    return sorted(rows, key=lambda r: rank(r[key]))[0]


_SSHD_WORST = {
    # fact pointer: (context key, rank: lower = worse)
    "/remote_access/ssh/permit_root_login": ("permit_root_login", lambda v: _PRL_RANK.get(v, -1)),
    "/remote_access/ssh/password_authentication": ("password_authentication", lambda v: 0 if v else 1),
    "/remote_access/ssh/max_auth_tries": ("max_auth_tries", lambda v: -v),
    "/login/last_login_shown": ("last_login_shown", lambda v: 1 if v else 0),
}


def collect_ssh(ctx: Ctx) -> None:
    main = "/etc/ssh/sshd_config"
    eff = sshd_effective(main, ctx.read, ctx.glob)
    installed = (not eff["missing"]) or ctx.exists("/usr/sbin/sshd")
    running = ctx.running("sshd")
    sockets = get_sockets(ctx)
    for f in eff["files"]:
        ctx.file_evidence("/remote_access/ssh", f)
    ctx._cache["ssh_banners"] = None
    if not installed:
        ctx.fact("/remote_access/ssh/enabled", False)
        ctx.fact("/remote_access/privileged_remote_login", False)
        for k in ("permit_root_login", "password_authentication", "max_auth_tries", "protocol_version", "contexts"):
            ctx.error("/remote_access/ssh/" + k, "sshd is not installed (no /etc/ssh/sshd_config)")
        ctx.error("/login/banner", "sshd is not installed (no /etc/ssh/sshd_config)")
        ctx.error("/login/last_login_shown", "sshd is not installed (no /etc/ssh/sshd_config)")
        ctx.add_evidence("/remote_access/ssh", "file:" + main, "(missing)")
        ctx._cache["ssh_banners"] = []  # nothing is shown over SSH: no SSH banner applies
        return
    if eff["missing"]:
        why = "sshd binary present but %s missing" % main
        for k in ("permit_root_login", "password_authentication", "max_auth_tries", "protocol_version", "contexts"):
            ctx.error("/remote_access/ssh/" + k, why)
        for p in ("/login/banner", "/login/last_login_shown", "/remote_access/privileged_remote_login"):
            ctx.error(p, why)
    else:
        collect_ssh_contexts(ctx, eff)
    # enabled: the daemon runs, or (config present and something listens on its port)
    ports = set()  # type: set[int]
    for item in eff["all"].get("port", []):
        for a in item["args"]:
            port = to_int(a)
            if port is not None:
                ports.add(port)
    ports = ports or {22}
    listening = None
    if sockets is not None:
        listening = any(s["proto"] == "tcp" and s["port"] in ports for s in sockets)
    if running or listening:
        ctx.fact("/remote_access/ssh/enabled", True)
    elif running is None and listening is None:
        ctx.error("/remote_access/ssh/enabled", "cannot read processes or listening sockets")
    else:
        ctx.fact("/remote_access/ssh/enabled", False)
    ctx.add_evidence("/remote_access/ssh/enabled", "probe:effective",
                     "sshd process running: %s; tcp listener on %s: %s" % (running, sorted(ports), listening))


def collect_ssh_contexts(ctx: Ctx, eff: dict[str, Any]) -> None:
    """Per-context sshd facts, and each existing fact pointer set to its WORST value over the contexts.

    The evidence of each fact names the context that gives the worst value
    (and how it was learnt: sshd -T -C … or the parser)."""
    contexts = sshd_contexts(ctx, eff, "/remote_access/ssh")
    rows = []
    for c in contexts:
        row = sshd_context_facts(c["values"])
        row["context"] = c["label"]
        row["how"] = c["how"]
        rows.append(row)
        summary = []
        for kw, d in (("PermitRootLogin", "prohibit-password"), ("PasswordAuthentication", "yes"),
                      ("KbdInteractiveAuthentication", "yes"), ("UsePAM", "no"),
                      ("AuthenticationMethods", "any"), ("MaxAuthTries", "6"),
                      ("PrintLastLog", "yes"), ("Banner", "none"), ("ClientAliveInterval", "0"),
                      ("ClientAliveCountMax", "3")):
            v, s = sshd_get({"values": c["values"]}, kw, d)
            summary.append("%s %s  (%s)" % (kw, v, s))
        ctx.add_evidence("/remote_access/ssh", "probe:effective", "%s [%s]\n%s" % (
            c["label"], c["how"], "\n".join(summary)))
    ctx.fact("/remote_access/ssh/contexts", rows)
    for pointer, (key, rank) in _SSHD_WORST.items():
        worst = _worst(rows, key, rank)
        ctx.fact(pointer, worst[key])
        ctx.add_evidence(pointer, "probe:effective", "worst over %d connection context(s): %s in %s [%s]" % (
            len(rows), json.dumps(worst[key]), worst["context"], worst["how"]))
    ctx.fact("/remote_access/privileged_remote_login", ctx.facts["remote_access"]["ssh"]["permit_root_login"] != "no")
    v1, why = sshd_accepts_protocol_1(ctx)
    if v1 is None:
        ctx.error("/remote_access/ssh/protocol_version", "cannot tell whether sshd accepts protocol 1: " + why)
    else:
        ctx.fact("/remote_access/ssh/protocol_version", 1 if v1 else 2)
    banners = []
    for row in rows:
        text = None  # type: str | None
        path = row["banner_file"]
        if path is not None:
            text = ctx.read(path, 64 * 1024)
            if text is None:
                ctx.add_evidence("/login/banner", "file:" + path, "(missing: sshd shows no banner)")
            else:
                ctx.add_evidence("/login/banner", "file:" + path, text)
        banners.append({"surface": "ssh", "context": row["context"],
                        "source": ("file:" + path) if path else "sshd: Banner none", "text": text})
    ctx._cache["ssh_banners"] = banners
    shown = [b["text"] for b in banners]
    # the worst SSH banner: none shown in some context, else the shortest text
    ctx.fact("/login/banner", None if None in shown else sorted(shown, key=lambda t: len(t.strip()))[0][:8000])


# ---------------------------------------------------------------------------
# Shell idle timeout (TMOUT) as a login shell really gets it
# ---------------------------------------------------------------------------

_SOURCE_RE = re.compile(r"^(?:\.|source)\s+(\"[^\"]+\"|'[^']+'|\S+)\s*$")
_FOR_RE = re.compile(r"^for\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\s+(.+?)\s*;?\s*(?:do)?\s*$")
_OPENERS = ("if", "case", "while", "until", "for", "select")
_CLOSERS = ("fi", "esac", "done")
_FUNC_RE = re.compile(r"^(?:function\s+)?[A-Za-z_][A-Za-z0-9_:-]*\s*\(\s*\)\s*\{?\s*$|^function\s+\S+\s*\{?\s*$")


def _shell_words(line: str) -> list[str]:
    s = re.sub(r"(^|\s)#.*$", "", line.strip())
    return re.findall(r"\"[^\"]*\"|'[^']*'|[^\s;&|()]+|&&|\|\||;", s)


def _unquote(word: str) -> str:
    return word[1:-1] if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'" else word


def login_shell_statements(ctx: Ctx, path: str = "/etc/profile", depth: int = 0) -> list[dict[str, Any]]:
    """The lines a bash login shell runs from the system files, in order: [{file, line, text, conditional}].

    Follows bash: /etc/profile is read; a ``. FILE`` / ``source FILE`` line reads
    FILE at that point (Debian's /etc/profile sources /etc/bash.bashrc for an
    interactive bash, before the loop); a ``for VAR in GLOB …; do … . $VAR …
    done`` loop reads every file the glob expands to, in glob order (Debian:
    /etc/profile.d/*.sh only; a file without .sh is never read).  Only loops and
    source lines that are really in the file count: a host whose /etc/profile
    has no such loop does not read /etc/profile.d at all.  A file sourced under
    a condition counts as read (Debian's PS1/BASH test is exactly the
    interactive bash login); a statement under a condition of its own is
    marked ``conditional``.  Users' own files (~/.profile …) are not read: a
    readonly TMOUT is what stops them from changing it.
    """
    if depth > 8:
        return []
    text = ctx.read(path)
    if text is None:
        return []
    out = []  # type: list[dict[str, Any]]
    lines = text.splitlines()
    nest = 0
    i = 0
    while i < len(lines):
        n = i + 1
        stripped = re.sub(r"(^|\s)#.*$", "", lines[i]).strip()
        i += 1
        if not stripped:
            continue
        words = _shell_words(stripped)
        loop = _FOR_RE.match(stripped)
        if loop:
            var, globs = loop.group(1), loop.group(2)
            body = []
            level = 1
            while i < len(lines) and level > 0:
                ws = _shell_words(lines[i])
                level += sum(1 for w in ws if w in ("for", "while", "until")) - sum(1 for w in ws if w == "done")
                body.append(lines[i])
                i += 1
            if re.search(r"(?:^|[\s;])(?:\.|source)\s+[\"']?\$\{?%s\}?[\"']?(?:\s|;|$)" % re.escape(var),
                         "\n".join(body), re.M):
                for pat in globs.split():
                    for f in ctx.glob(_unquote(pat)):
                        if ctx.isfile(f):
                            out.append({"file": path, "line": n, "text": "(sources %s)" % f, "conditional": False,
                                        "sources": f})
                            out.extend(login_shell_statements(ctx, f, depth + 1))
            continue
        src = _SOURCE_RE.match(re.sub(r"^(then|else|do|\{)\s+", "", stripped))
        if src:
            target = _unquote(src.group(1))
            if target.startswith("/") and "$" not in target and ctx.isfile(target):
                out.append({"file": path, "line": n, "text": "(sources %s)" % target, "conditional": False,
                            "sources": target})
                out.extend(login_shell_statements(ctx, target, depth + 1))
            continue
        opens = sum(1 for w in words if w in _OPENERS) + (1 if _FUNC_RE.match(stripped) else 0)
        closes = sum(1 for w in words if w in _CLOSERS) + (1 if stripped == "}" else 0)
        conditional = nest > 0 or opens > closes or opens > 0 and closes > 0
        out.append({"file": path, "line": n, "text": stripped, "conditional": conditional})
        nest = max(0, nest + opens - closes)
    return out


def _tmout_value(raw: str) -> int:
    v = _unquote(raw)
    # bash: a TMOUT that is not a number, or <= 0, means no timeout
    return int(v) if v.isdigit() else 0


def tmout_effect(words: list[str]) -> list[tuple[str, Any]]:
    """TMOUT effects of one simple command, in order.

    [("set", seconds) | ("readonly", None) | ("export", bool) | ("unset", None)].
    """
    if not words:
        return []
    cmd = words[0]
    if cmd.startswith("TMOUT="):
        # "TMOUT=5 cmd" only sets it for cmd
        return [("set", _tmout_value(cmd[6:]))] if len(words) == 1 else []
    if cmd in ("export", "readonly", "declare", "typeset"):
        return _declaration_effects(cmd, words[1:])
    if cmd == "unset" and "TMOUT" in words[1:] and "-f" not in words[1:]:
        return [("unset", None)]
    return []  # "local TMOUT=…" only lives in a function


def _declaration_effects(cmd: str, args: list[str]) -> list[tuple[str, Any]]:
    """export / readonly / declare / typeset with their options, for the TMOUT argument."""
    opts = "".join(w[1:] for w in args if w.startswith("-"))
    unopts = "".join(w[1:] for w in args if w.startswith("+"))
    effects = []  # type: list[tuple[str, Any]]
    for w in args:
        name, eq, val = w.partition("=")
        if name != "TMOUT":
            continue
        if eq:
            effects.append(("set", _tmout_value(val)))
        if cmd == "readonly" or (cmd != "export" and "r" in opts):
            effects.append(("readonly", None))
        if cmd == "export":
            effects.append(("export", "n" not in opts))
        elif "x" in opts or "x" in unopts:
            effects.append(("export", "x" in opts))
    return effects


def idle_timeout_from(statements: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """Replay the TMOUT statements in order: ({seconds, readonly, exported, source}, notes).

    bash rules: once readonly, every later assignment or unset fails; unset
    drops the value and the export attribute; TMOUT=0 or a non-number is no
    timeout.  Fail closed on conditions: a conditional statement (inside
    if/case/a loop/a function, or chained with && / ||) that would weaken the
    timeout (unset, a longer or zero value, export -n) counts, one that would
    strengthen it (a value, readonly, export) does not.
    """
    st = {"seconds": None, "readonly": False, "exported": False, "source": None}  # type: dict[str, Any]
    notes = []
    for s in statements:
        where = "%s:%d" % (s["file"], s["line"])
        for words, chained in _command_segments(s["text"]):
            for kind, val in tmout_effect(words):
                cond = s["conditional"] or chained
                if cond and not _weakens(st, kind, val):
                    notes.append("%s: conditional (not counted): %s" % (where, s["text"]))
                elif st["readonly"] and kind in ("set", "unset"):
                    notes.append("%s: TMOUT is readonly, so this fails: %s" % (where, s["text"]))
                else:
                    _apply_tmout(st, kind, val, where)
                    notes.append("%s: %s%s" % (where, s["text"], " (conditional: counted, it weakens)" if cond else ""))
    return st, notes


def _command_segments(text: str) -> list[tuple[list[str], bool]]:
    """Simple commands of a line: [(words, runs only depending on another command's status (&&, ||))]."""
    segments = []  # type: list[tuple[list[str], bool]]
    cur = []  # type: list[str]
    after_test = False
    for w in _shell_words(text):
        if w in (";", "&&", "||"):
            segments.append((cur, after_test or w != ";"))
            after_test = w != ";"
            cur = []
        elif cur or w not in ("then", "do", "else", "{", "if", "elif", "!"):
            cur.append(w)
    segments.append((cur, after_test))
    return segments


def _weakens(st: dict[str, Any], kind: str, val: Any) -> bool:
    if kind == "set":
        return bool(val <= 0 or (st["seconds"] is not None and val > st["seconds"]))
    return kind == "unset" or (kind == "export" and not val)


def _apply_tmout(st: dict[str, Any], kind: str, val: Any, where: str) -> None:
    if kind == "set":
        st["seconds"], st["source"] = val, where
    elif kind == "readonly":
        st["readonly"] = True
    elif kind == "export":
        st["exported"] = bool(val)
    elif kind == "unset":
        st["seconds"], st["exported"], st["source"] = None, False, where


def collect_idle_timeout(ctx: Ctx) -> None:
    # sshd's ClientAliveInterval/ClientAliveCountMax are NOT an idle timeout:
    # they only detect and drop dead peers (an idle but alive client answers the
    # keepalive).  Only the shell's TMOUT logs out an idle interactive session,
    # and only when users cannot change it (readonly) and it reaches the shell
    # as an exported variable of the login shell.
    ptr = "/login/idle_timeout"
    statements = login_shell_statements(ctx)
    read_files = ["/etc/profile"] + [s["sources"] for s in statements if s.get("sources")]
    if ctx.read("/etc/profile") is None:
        read_files = []
        ctx.add_evidence(ptr, "file:/etc/profile", "(missing: a login shell reads no system file)")
    ctx.add_evidence(ptr, "probe:effective", "files a bash login shell reads, in order: %s" % (
        ", ".join(read_files) or "(none)"))
    st, notes = idle_timeout_from(statements)
    for f in read_files:
        text = ctx.read(f) or ""
        if "TMOUT" in text:
            ctx.file_evidence(ptr, f, text)
    candidates = ctx.glob("/etc/profile.d/*") + ["/etc/bash.bashrc", "/etc/bashrc", "/etc/environment"]
    for f in candidates:
        if f in read_files or not ctx.isfile(f):
            continue
        text = ctx.read(f) or ""
        if re.search(r"\bTMOUT\b", strip_comment_lines(text)):
            ctx.add_evidence(ptr, "file:" + f, "(not read by a login shell: its TMOUT does not count)\n"
                             + strip_comment_lines(text))
    ctx.add_evidence(ptr, "probe:effective", "\n".join(notes) if notes else "no TMOUT statement in those files")
    ctx.fact(ptr, st)
    ok = st["readonly"] and st["exported"] and (st["seconds"] or 0) > 0
    ctx.fact("/login/idle_timeout_seconds", st["seconds"] if ok else None)


# ---------------------------------------------------------------------------
# Login banners: every pre-login text the host shows (SSH, console, GDM)
# ---------------------------------------------------------------------------

# agetty escapes in /etc/issue (\n host name, \l tty, \r release, \S{VAR} os-release …): replaced by
# the machine's own data at display time, never part of a warning.
_GETTY_ESCAPE_RE = re.compile(r"\\(?:[46SeO]\{[^}]*\}|[bdeslmnoOrtuUv46S\\])")
GDM_BINARIES = ("/usr/sbin/gdm3", "/usr/sbin/gdm", "/usr/bin/gdm")
GDM_DEFAULT_PROFILE = "user-db:user\nsystem-db:gdm\nfile-db:/usr/share/gdm/greeter-dconf-defaults\n"
# The compiled greeter defaults and the keyfile they are built from (Debian: gdm3's postinst).
GDM_DEFAULTS_SOURCES = {"/usr/share/gdm/greeter-dconf-defaults": ("/etc/gdm3/greeter.dconf-defaults",
                                                                  "/etc/gdm/greeter.dconf-defaults")}
BANNER_TEXT_MAX = 4000


def issue_display_text(raw: str) -> str:
    """/etc/issue as text without getty escapes ("Debian GNU/Linux 12 \\n \\l" -> "Debian GNU/Linux 12")."""
    return _GETTY_ESCAPE_RE.sub("", raw).strip()


def gdm_banner_from(dbs: list[tuple[str, dict[tuple[str, str], str]]]) -> tuple[bool, str, str]:
    """(enabled, text, source) of the GDM login banner: the first db in the profile that sets a key wins."""
    found = {}  # type: dict[str, tuple[Any, str]]
    for source, values in dbs:
        for key in ("banner-message-enable", "banner-message-text"):
            raw = values.get(("org/gnome/login-screen", key))
            if raw is not None and key not in found:
                found[key] = (gvariant_value(raw), source)
    enabled = found.get("banner-message-enable", (False, "default"))
    text = found.get("banner-message-text", ("", "default"))
    return enabled[0] is True, str(text[0]), "%s; %s" % (enabled[1], text[1])


def gdm_dconf_dbs(ctx: Ctx, pointer: str) -> list[tuple[str, dict[tuple[str, str], str]]]:
    """The keyfile values of each db of the gdm dconf profile, in profile order."""
    profile = None
    for path in ("/etc/dconf/profile/gdm", "/usr/share/dconf/profile/gdm"):
        profile = ctx.read(path)
        if profile is not None:
            ctx.file_evidence(pointer, path, profile)
            break
    if profile is None:
        profile = GDM_DEFAULT_PROFILE
        ctx.add_evidence(pointer, "probe:effective", "no gdm dconf profile file: GDM's built-in profile\n" + profile)
    dbs = []
    for line in profile.splitlines():
        kind, _, name = line.strip().partition(":")
        files = []  # type: list[str]
        if kind == "system-db":
            files = [f for f in ctx.glob("/etc/dconf/db/%s.d/*" % name.strip()) if ctx.isfile(f)]
        elif kind == "file-db":
            files = [f for f in GDM_DEFAULTS_SOURCES.get(name.strip(), ()) if ctx.isfile(f)][:1]
        values = {}  # type: dict[tuple[str, str], str]
        for f in files:  # later keyfile (name order) overrides
            text = ctx.read(f) or ""
            kf = parse_dconf_keyfile(text)
            if any(sec == "org/gnome/login-screen" for sec, _ in kf):
                ctx.file_evidence(pointer, f, text)
            for k, v in kf.items():
                values[k] = v
        if files:
            dbs.append(("%s (%s)" % (line.strip(), ", ".join(files)), values))
    return dbs


def collect_login_banners(ctx: Ctx) -> None:
    """/login/banners: one item per place a pre-login text is shown, each {surface, context, source, text}.

    ssh: the Banner file in every sshd connection context (from the ssh section);
    console: /etc/issue (+ /etc/issue.d/*.issue) as getty shows it, escapes removed;
    gui: the GDM greeter banner, only when GDM is installed (a gdm3/gdm binary).
    text null = nothing is shown there.
    """
    ptr = "/login/banners"
    ssh = ctx._cache.get("ssh_banners")
    if ssh is None:
        ctx.error(ptr, "the sshd banner could not be determined (see /remote_access/ssh)")
        return
    banners = list(ssh)
    parts = []
    for path in ["/etc/issue"] + ctx.glob("/etc/issue.d/*.issue"):
        raw = ctx.read(path, 64 * 1024)
        if raw is not None:
            ctx.add_evidence(ptr, "file:" + path, raw)
            parts.append(issue_display_text(raw))
    if not parts:
        ctx.add_evidence(ptr, "file:/etc/issue", "(missing: the console shows no text before login)")
    text = "\n".join(p for p in parts if p)
    banners.append({"surface": "console", "context": "local console login (getty)", "source": "file:/etc/issue",
                    "text": text[:BANNER_TEXT_MAX] if text else None})
    gdm = [b for b in GDM_BINARIES if ctx.exists(b)]
    if not gdm:
        ctx.add_evidence(ptr, "probe:effective", "GDM not installed (none of %s): no graphical login banner applies"
                         % ", ".join(GDM_BINARIES))
    else:
        enabled, gtext, source = gdm_banner_from(gdm_dconf_dbs(ctx, ptr))
        ctx.add_evidence(ptr, "probe:effective", "GDM installed (%s): banner-message-enable=%s (%s)" % (
            gdm[0], enabled, source))
        banners.append({"surface": "gui", "context": "GDM login screen", "source": source,
                        "text": gtext[:BANNER_TEXT_MAX] if enabled and gtext.strip() else None})
    ctx.fact(ptr, banners)


# ---------------------------------------------------------------------------
# Listening sockets
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Prohibited services
# ---------------------------------------------------------------------------

# canonical service name -> package names (fnmatch patterns; dpkg and rpm)
PROHIBITED_PACKAGES = [
    ("telnetd", ["telnetd", "inetutils-telnetd", "telnetd-ssl", "telnet-server"]),
    ("rshd", ["rsh-server", "rsh-redone-server"]),
    ("rlogind", ["rlogind"]),
    ("rexecd", ["rexecd"]),
    ("ftpd", ["vsftpd", "proftpd", "proftpd-*", "pure-ftpd", "pure-ftpd-*", "inetutils-ftpd", "ftpd", "ftpd-ssl",
              "tnftpd"]),
    ("tftpd", ["tftpd-hpa", "atftpd", "tftpd", "tftp-server"]),
    ("fingerd", ["fingerd", "cfingerd", "efingerd", "finger-server"]),
    ("talkd", ["talkd", "inetutils-talkd", "talk-server"]),
    ("nis", ["nis", "ypserv"]),
]
RPM_NAMES = ["telnet-server", "rsh-server", "vsftpd", "proftpd", "pure-ftpd", "tftp-server", "finger-server",
             "talk-server", "ypserv"]
PROHIBITED_PROCESSES = {
    "in.telnetd": "telnetd", "telnetd": "telnetd",
    "in.rshd": "rshd", "rshd": "rshd", "in.rlogind": "rlogind", "rlogind": "rlogind",
    "in.rexecd": "rexecd", "rexecd": "rexecd",
    "vsftpd": "ftpd", "proftpd": "ftpd", "pure-ftpd": "ftpd", "in.ftpd": "ftpd", "ftpd": "ftpd",
    "in.tftpd": "tftpd", "tftpd": "tftpd", "atftpd": "tftpd",
    "in.fingerd": "fingerd", "fingerd": "fingerd",
    "in.talkd": "talkd", "in.ntalkd": "talkd", "talkd": "talkd",
    "ypserv": "nis", "ypbind": "nis", "rpc.yppasswdd": "nis",
}
# inetd service names / server programs -> canonical name
INETD_SERVICES = {"telnet": "telnetd", "shell": "rshd", "login": "rlogind", "exec": "rexecd", "ftp": "ftpd",
                  "tftp": "tftpd", "finger": "fingerd", "talk": "talkd", "ntalk": "talkd"}


def parse_dpkg_status(text: str) -> set[str]:
    """Installed packages (Status: install ok installed) from /var/lib/dpkg/status."""
    installed = set()
    for para in re.split(r"\n\s*\n", text):
        pkg = status = None
        for line in para.splitlines():
            if line.startswith("Package:"):
                pkg = line.split(":", 1)[1].strip()
            elif line.startswith("Status:"):
                status = line.split(":", 1)[1].split()
        if pkg and status and status[-1] == "installed" and status[0] == "install":
            installed.add(pkg)
    return installed


def dpkg_status_text(ctx: Ctx) -> str | None:
    """/var/lib/dpkg/status (cached: big on desktops, read once per probe); None if unreadable."""
    if "dpkg_status" not in ctx._cache:
        ctx._cache["dpkg_status"] = ctx.read("/var/lib/dpkg/status", 64 * 1024 * 1024)
    return cast("str | None", ctx._cache["dpkg_status"])


def dpkg_installed_version(text: str, package: str) -> str | None:
    """Version of an installed package (Status: install ok installed) in dpkg's status file."""
    for para in re.split(r"\n\s*\n", text):
        fields = {}
        for line in para.splitlines():
            if ":" in line and not line.startswith(" "):
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.strip()
        if fields.get("package") == package and fields.get("status", "").split()[-1:] == ["installed"]:
            return fields.get("version")
    return None


def prohibited_packages(installed: set[str]) -> list[dict[str, str]]:
    out = []
    for name, pats in PROHIBITED_PACKAGES:
        for pkg in sorted(installed):
            if any(fnmatch.fnmatchcase(pkg, p) for p in pats):
                out.append({"name": name, "how": "installed", "detail": "package " + pkg})
    return out


def _service_for_program(prog: str) -> str | None:
    base = os.path.basename(prog)
    return PROHIBITED_PROCESSES.get(base)


def parse_inetd_conf(text: str) -> list[tuple[str, str]]:
    """Active inetd.conf entries for prohibited services -> [(name, line)]."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):  # also update-inetd's "#<off># " disabled lines
            continue
        f = s.split()
        if len(f) < 6:
            continue
        name = INETD_SERVICES.get(f[0].split("/")[0])
        if name is None:
            for prog in f[5:]:
                name = _service_for_program(prog)
                if name:
                    break
        if name:
            out.append((name, s))
    return out


def parse_xinetd(text: str) -> list[tuple[str, str]]:
    """Enabled xinetd services for prohibited servers -> [(name, service header)]."""
    out = []
    for m in re.finditer(r"service\s+(\S+)\s*\{([^}]*)\}", strip_comment_lines(text), re.S):
        svc, body = m.group(1), m.group(2)
        attrs = {}
        for line in body.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                attrs[k.strip().lower()] = v.strip()
        if attrs.get("disable", "no").lower() == "yes":
            continue
        name = INETD_SERVICES.get(svc) or _service_for_program(attrs.get("server", ""))
        if name:
            out.append((name, "service %s (server %s)" % (svc, attrs.get("server", "?"))))
    return out


def find_prohibited_services(ctx: Ctx) -> tuple[list[dict[str, str]], list[str]]:
    """(found, problems), cached: prohibited servers installed, running or configured in (x)inetd.

    ``problems`` names what could not be read (then ``found`` is incomplete).  Shared by the
    services section and the management-protocols section (telnet / r-services).
    """
    if "prohibited" in ctx._cache:
        return cast("tuple[list[dict[str, str]], list[str]]", ctx._cache["prohibited"])
    found = []
    problems = []
    if ctx.isdir("/var/lib/dpkg"):
        text = dpkg_status_text(ctx)
        if text is None:
            problems.append("cannot read /var/lib/dpkg/status")
        else:
            found.extend(prohibited_packages(parse_dpkg_status(text)))
            ctx.add_evidence("/services", "file:/var/lib/dpkg/status",
                             "checked %d package patterns" % sum(len(p) for _, p in PROHIBITED_PACKAGES))
    else:
        res = ctx.run(["rpm", "-q", "--qf", "%{NAME}\\n"] + RPM_NAMES)
        if res is None or res.rc is None:
            problems.append("no package database (no /var/lib/dpkg, no rpm)")
        else:
            ctx.cmd_evidence("/services", res)
            names = set(ln.strip() for ln in res.out.splitlines() if ln.strip() and " " not in ln.strip())
            found.extend(prohibited_packages(names))
    procs = ctx.processes()
    if procs is None:
        problems.append("cannot read /proc")
    else:
        inetd_running = any(p.comm in ("inetd", "xinetd") for p in procs)
        for p in procs:
            name = PROHIBITED_PROCESSES.get(p.comm)
            if name:
                found.append({"name": name, "how": "running", "detail": "process %s (pid %d)" % (p.comm, p.pid)})
        for f in ["/etc/inetd.conf"]:
            text = ctx.read(f)
            if text:
                for name, line in parse_inetd_conf(text):
                    found.append({"name": name, "how": "configured",
                                  "detail": "%s: %s (inetd %s)" % (f, line, "running" if inetd_running
                                                                    else "not running")})
                ctx.file_evidence("/services", f, text)
        for f in ctx.glob("/etc/xinetd.d/*"):
            text = ctx.read(f)
            if text:
                for name, desc in parse_xinetd(text):
                    found.append({"name": name, "how": "configured",
                                  "detail": "%s: %s (xinetd %s)" % (f, desc, "running" if inetd_running
                                                                     else "not running")})
    ctx._cache["prohibited"] = (found, problems)
    return found, problems


def collect_services(ctx: Ctx) -> None:
    ptr = "/services/prohibited_present"
    found, problems = find_prohibited_services(ctx)
    if problems:
        ctx.error(ptr, "; ".join(problems))
        return
    ctx.fact(ptr, found)


# ---------------------------------------------------------------------------
# systemd configuration files and time spans (journald, timesyncd)
# ---------------------------------------------------------------------------

# Where systemd daemons read <name> and <name>.d/*.conf drop-ins, highest priority first
# (systemd.syntax(7), "Configuration Directories and Precedence").
SYSTEMD_CONF_DIRS = ["/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd"]
# systemd time span units (time-util.c parse_time): case-sensitive, "m" is minutes, "M" months;
# a month is 30.44 days and a year 365.25 days.
TIMESPAN_UNITS = {
    "": 1.0, "s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
    "w": 604800.0, "week": 604800.0, "weeks": 604800.0,
    "M": 2629800.0, "month": 2629800.0, "months": 2629800.0,
    "y": 31557600.0, "year": 31557600.0, "years": 31557600.0,
    "ms": 0.001, "msec": 0.001, "us": 1e-6, "usec": 1e-6, "\u03bcs": 1e-6,
}
_TIMESPAN_PART_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z\u03bc]*)")


def parse_timespan_seconds(value: str) -> float | None:
    """systemd time span -> seconds ('1year', '2w 3d', '1.5h', '90', '5min 30s').

    A bare number is seconds.  Returns None for "infinity".  Raises ValueError
    on anything systemd would reject (unknown unit, garbage, empty).
    """
    text = value.strip()
    if text == "infinity":
        return None
    if not text:
        raise ValueError("empty time span")
    total = 0.0
    pos = 0
    while pos < len(text):
        m = _TIMESPAN_PART_RE.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError("bad time span %r" % value)
        unit = m.group(2)
        if unit not in TIMESPAN_UNITS:
            raise ValueError("bad time span %r (unknown unit %r)" % (value, unit))
        if not unit and m.end() < len(text) and not text[m.end()].isspace():
            raise ValueError("bad time span %r" % value)
        total += float(m.group(1)) * TIMESPAN_UNITS[unit]
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return total


def parse_timespan_days(value: str) -> int | None:
    """systemd time span -> whole days; 0 and "infinity" -> None (no time limit)."""
    seconds = parse_timespan_seconds(value)
    if seconds is None or seconds <= 0:
        return None
    return int(seconds // 86400)


def systemd_conf_files(ctx: Ctx, name: str) -> list[str]:
    """The files a systemd daemon reads for ``name`` (e.g. "journald.conf"), in parse order.

    The main file is the first of /etc/systemd/NAME, /run/systemd/NAME,
    /usr/local/lib/systemd/NAME, /usr/lib/systemd/NAME (systemd 252 reads only
    /etc; newer ones fall back to the others); then the ``NAME.d/*.conf``
    drop-ins of all four directories, a file name in an earlier directory
    hiding the same name in a later one (/etc over /run over /usr/lib), all
    sorted by file name.  Settings are applied in this order: the last wins.
    """
    files = []
    for d in SYSTEMD_CONF_DIRS:
        if ctx.isfile(d + "/" + name):
            files.append(d + "/" + name)
            break
    dropins = {}  # type: dict[str, str]
    for d in SYSTEMD_CONF_DIRS:
        for f in ctx.glob("%s/%s.d/*.conf" % (d, name)):
            base = os.path.basename(f)
            if base not in dropins and ctx.isfile(f):
                dropins[base] = f
    files.extend(dropins[b] for b in sorted(dropins))
    return files


def parse_systemd_conf(text: str, section: str) -> list[tuple[str, str]]:
    """[(key, value)] of one section of a systemd INI file (systemd.syntax(7)).

    Comment lines start with # or ;, a trailing backslash continues the line
    (joined with a space), keys and values are stripped.  Assignments outside
    ``[section]`` are ignored, as the daemon does.
    """
    out = []
    current = None  # type: str | None
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if pending:
            if line.startswith("#") or line.startswith(";"):
                continue  # comment lines inside a continuation are skipped
            line = pending + " " + line
            pending = ""
        elif not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if current != section or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out.append((key.strip(), value.strip()))
    if pending and current == section and "=" in pending:
        key, _, value = pending.partition("=")
        out.append((key.strip(), value.strip()))
    return out


def systemd_settings(ctx: Ctx, name: str, section: str, pointer: str) -> list[tuple[str, str, str]]:
    """Every assignment of ``[section]`` in the files of ``name``, in the order the daemon
    applies them: [(key, value, file)].  Each file read is added as evidence to ``pointer``."""
    out = []  # type: list[tuple[str, str, str]]
    for f in systemd_conf_files(ctx, name):
        text = ctx.read(f)
        if text is None:
            continue
        ctx.file_evidence(pointer, f, text)
        out.extend((k, v, f) for k, v in parse_systemd_conf(text, section))
    return out


def last_setting(settings: list[tuple[str, str, str]], key: str) -> tuple[str, str] | None:
    """(value, file) of the last assignment of ``key`` (the one that wins), or None."""
    found = None
    for k, v, f in settings:
        if k == key:
            found = (v, f)
    return found


# ---------------------------------------------------------------------------
# Time synchronisation
# ---------------------------------------------------------------------------

def parse_chrony_directives(text: str) -> list[tuple[str, list[str]]]:
    """chrony.conf text -> [(directive_lower, [args])] (comments: # ! ; %)."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s[0] in "#!;%":
            continue
        f = s.split()
        out.append((f[0].lower(), f[1:]))
    return out


def chrony_sources(
    main_path: str, read: Callable[[str], str | None], glob_: Callable[[str], list[str]]
) -> tuple[list[str], bool, list[str]]:
    """Configured time sources and whether `local` is configured.

    Follows ``include`` (glob), ``confdir`` (*.conf of the dirs) and
    ``sourcedir`` (*.sources of the dirs).  Returns (servers, local, files).
    """
    servers = []
    local = [False]
    files = []

    def process(path: str, depth: int, kinds: tuple[str, ...]) -> None:
        if depth > 10:
            return
        text = read(path)
        if text is None:
            return
        files.append(path)
        for d, args in parse_chrony_directives(text):
            if d in ("server", "pool", "peer") and args and d in kinds:
                if args[0] not in servers:
                    servers.append(args[0])
            elif d == "local" and "local" in kinds:
                local[0] = True
            elif d == "include" and args and "include" in kinds:
                for f in glob_(args[0]):
                    process(f, depth + 1, kinds)
            elif d == "confdir" and "include" in kinds:
                names = {}  # type: dict[str, str]
                for dirpath in args:  # same file name in several dirs: the first dir wins
                    for f in glob_(dirpath.rstrip("/") + "/*.conf"):
                        names.setdefault(os.path.basename(f), f)
                for n in sorted(names):
                    process(names[n], depth + 1, kinds)
            elif d == "sourcedir" and "include" in kinds:
                for dirpath in args:
                    for f in glob_(dirpath.rstrip("/") + "/*.sources"):
                        process(f, depth + 1, ("server", "pool", "peer"))

    process(main_path, 0, ("server", "pool", "peer", "local", "include"))
    return servers, local[0], files


TRACKING_FIELDS = ["ref_id", "ref_name", "stratum", "ref_time", "system_time", "last_offset", "rms_offset",
                   "frequency", "residual_freq", "skew", "root_delay", "root_dispersion", "update_interval",
                   "leap_status"]
LOCAL_REFID = "7F7F0101"


def parse_chronyc_tracking(text: str) -> dict[str, str]:
    """``chronyc -n -c tracking`` CSV -> dict (chronyc's field order, see client.c)."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    f = line.split(",")
    if len(f) < 14:
        raise ValueError("unexpected chronyc tracking output: %r" % line[:200])
    d = dict(zip(TRACKING_FIELDS, f[:14]))
    d["ref_id"] = d["ref_id"].upper()
    return d


def tracking_facts(tr: dict[str, str], local_configured: bool) -> dict[str, Any]:
    """Tracking dict -> {synchronized, selected_source, offset_ms_abs, stratum}.

    Synced: leap status not "Not synchronised" and a non-zero reference.  The
    local reference (7F7F0101) counts only on a host configured with
    ``local stratum N`` (an NTP server of last resort): selected_source "LOCAL".
    """
    leap = tr["leap_status"].strip()
    ref = tr["ref_id"]
    facts = {}  # type: dict[str, Any]
    try:
        off = abs(float(tr["system_time"]))
    except ValueError:
        off = abs(float(tr["last_offset"]))
    facts["offset_ms_abs"] = round(off * 1000.0, 6)
    facts["stratum"] = int_or(tr["stratum"], 0)
    if ref == LOCAL_REFID:
        facts["selected_source"] = "LOCAL"
        facts["synchronized"] = bool(local_configured) and leap == "Normal"
    elif ref in ("00000000", "") or leap.lower().startswith("not synch"):
        facts["selected_source"] = None
        facts["synchronized"] = False
    else:
        facts["selected_source"] = tr["ref_name"] or ref
        facts["synchronized"] = leap != "Not synchronised"
    return facts


def parse_ntpq_rv(text: str) -> dict[str, Any]:
    """``ntpq -c rv`` -> {synchronized, stratum, offset_ms_abs, selected_source}."""
    flat = " ".join(text.split())
    kv = dict(re.findall(r"(\w+)=\"?([^,\"]*)\"?", flat))
    synced = ("sync_unspec" not in flat and "leap_alarm" not in flat and
              re.search(r"\bsync_\w+", flat) is not None and kv.get("leap", "00") != "11")
    out = {"synchronized": bool(synced)}  # type: dict[str, Any]
    if "stratum" in kv:
        out["stratum"] = int_or(kv["stratum"], 16)
    if "offset" in kv:
        try:
            out["offset_ms_abs"] = abs(float(kv["offset"]))
        except ValueError:
            pass
    ref = kv.get("refid")
    out["selected_source"] = ref if synced and ref else None
    return out


def collect_time(ctx: Ctx) -> None:
    """The time client's sources and state: chrony, ntpd or systemd-timesyncd.

    The client is the one that runs (chronyd, ntpd, systemd-timesyncd, in that
    order); when none runs (or /proc cannot tell), the first one configured.
    """
    ptr = "/time"
    status_ptrs = ["/time/synchronized", "/time/selected_source", "/time/offset_ms_abs", "/time/stratum"]
    chrony_main = None
    for p in ("/etc/chrony/chrony.conf", "/etc/chrony.conf"):
        if ctx.exists(p):
            chrony_main = p
            break
    ntp_conf = next((p for p in ("/etc/ntpsec/ntp.conf", "/etc/ntp.conf") if ctx.exists(p)), None)
    timesyncd = any(ctx.exists(p) for p in TIMESYNCD_BINARIES + ("/etc/systemd/timesyncd.conf",))
    if timesyncd and ctx.running("systemd-timesyncd") and not ctx.running("chronyd", "ntpd"):
        collect_timesyncd(ctx, status_ptrs)
        return
    if chrony_main:
        servers, local, files = chrony_sources(chrony_main, ctx.read, ctx.glob)
        for f in files:
            ctx.file_evidence(ptr, f)
        ctx.fact("/time/ntp_servers", servers)
        running = ctx.running("chronyd")
        if running is False:
            for p in status_ptrs:
                ctx.error(p, "chronyd is not running")
            return
        res = ctx.run(["chronyc", "-n", "-c", "tracking"])
        if res is None:
            for p in status_ptrs:
                ctx.error(p, "chronyc is not available")
            return
        ctx.cmd_evidence(ptr, res)
        if not res.ok:
            for p in status_ptrs:
                ctx.error(p, "chronyc tracking failed: %s" % (res.err or res.out).strip()[:200])
            return
        for k, v in tracking_facts(parse_chronyc_tracking(res.out), local).items():
            ctx.fact("/time/" + k, v)
        return
    if ntp_conf:
        text = ctx.read(ntp_conf) or ""
        ctx.file_evidence(ptr, ntp_conf, text)
        servers = []
        for d, args in parse_chrony_directives(text):
            if d in ("server", "pool", "peer") and args and not args[0].startswith("127.127.") \
                    and args[0] not in servers:
                servers.append(args[0])
        ctx.fact("/time/ntp_servers", servers)
        if ctx.running("ntpd") is False:
            for p in status_ptrs:
                ctx.error(p, "ntpd is not running")
            return
        res = ctx.run(["ntpq", "-c", "rv"])
        if res is None or not res.ok:
            for p in status_ptrs:
                ctx.error(p, "ntpq is not available or failed")
            return
        ctx.cmd_evidence(ptr, res)
        for k, v in parse_ntpq_rv(res.out).items():
            ctx.fact("/time/" + k, v)
        for p in status_ptrs:
            ctx.error(p, "not reported by ntpq")
        return
    if timesyncd:
        collect_timesyncd(ctx, status_ptrs)
        return
    ctx.fact("/time/ntp_servers", [])
    for p in status_ptrs:
        ctx.error(p, "no time synchronisation daemon configured (chrony, ntpd, systemd-timesyncd)")


# -- systemd-timesyncd -------------------------------------------------------

TIMESYNCD_BINARIES = ("/lib/systemd/systemd-timesyncd", "/usr/lib/systemd/systemd-timesyncd")
TIMESYNCD_SYNCED_FILE = "/run/systemd/timesync/synchronized"
TIMESYNCD_CLOCK_FILE = "/var/lib/systemd/timesync/clock"
# What ntp_servers says when timesyncd falls back to the servers compiled into it (FallbackNTP= never
# assigned): the distribution's pool, never a site server, so TIME-SYNC fails on it.
TIMESYNCD_COMPILED_FALLBACK = "(systemd-timesyncd compiled-in FallbackNTP)"
TIMESYNCD_POLL_MAX = 2048.0  # PollIntervalMaxSec default (34min 8s)
NTP_EPOCH_OFFSET = 2208988800
SNTP_TIMEOUT = 1.0
SNTP_MAX_SERVERS = 3


def timesyncd_config(settings: list[tuple[str, str, str]]) -> dict[str, Any]:
    """timesyncd.conf [Time] assignments -> {"system", "fallback", "poll_max"}.

    ``NTP=``/``FallbackNTP=`` add to their list (duplicates dropped) and an
    empty assignment empties it (timesyncd-conf.c config_parse_servers).  The
    first ``FallbackNTP=`` replaces the compiled-in list, so ``FallbackNTP=``
    alone disables it; ``fallback`` is None while it was never assigned (the
    compiled-in servers are used).  ``poll_max``: PollIntervalMaxSec in seconds.
    """
    system = []  # type: list[str]
    fallback = None  # type: list[str] | None
    poll_max = TIMESYNCD_POLL_MAX
    for key, value, _f in settings:
        if key in ("NTP", "FallbackNTP"):
            if key == "FallbackNTP" and fallback is None:
                fallback = []
            target = system if key == "NTP" else cast("list[str]", fallback)
            if not value:
                del target[:]
            for word in value.split():
                if word not in target:
                    target.append(word)
        elif key == "PollIntervalMaxSec":
            try:
                seconds = parse_timespan_seconds(value)
            except ValueError:
                continue
            if seconds and seconds >= 16:
                poll_max = seconds
    return {"system": system, "fallback": fallback, "poll_max": poll_max}


def timesyncd_sources(runtime: list[str], system: list[str], link: list[str],
                      fallback: list[str] | None) -> list[str]:
    """The servers timesyncd cycles through (timesyncd-manager.c manager_connect): the runtime
    list, else the system list (NTP=), plus the per-link servers; only when all of those are
    empty, the fallback list (None = compiled-in)."""
    used = []  # type: list[str]
    for name in (runtime or system) + link:
        if name not in used:
            used.append(name)
    if used:
        return used
    return [TIMESYNCD_COMPILED_FALLBACK] if fallback is None else list(fallback)


def parse_key_values(text: str) -> dict[str, str]:
    """KEY=value lines (``timedatectl show-timesync --all``, networkd state files) -> dict."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.strip().startswith("#"):
            out[key.strip()] = value.strip()
    return out


def parse_timesync_status(text: str) -> dict[str, Any]:
    """``timedatectl timesync-status`` -> {server, stratum, offset_ms_abs, packets, leap}.

    The daemon's last NTP sample: "Offset: +1.234ms" (a systemd time span with a
    sign), "Stratum: 2" (the server's), "Packet count: 0" before any reply.
    """
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    out = {}  # type: dict[str, Any]
    if fields.get("server"):
        out["server"] = fields["server"].split()[0]
    if "packet count" in fields:
        out["packets"] = int_or(fields["packet count"], 0)
    if "leap" in fields:
        out["leap"] = fields["leap"]
    if to_int(fields.get("stratum")) is not None:
        out["stratum"] = int_or(fields["stratum"], 0)
    if fields.get("offset"):
        seconds = parse_timespan_seconds(fields["offset"].lstrip("+-"))
        if seconds is not None:
            out["offset_ms_abs"] = round(seconds * 1000.0, 6)
    return out


def _resolve(server: str, timeout: float) -> tuple[int, Any] | None:
    """(family, sockaddr) of an NTP server; a name is resolved in a thread so a slow resolver
    cannot hold the probe longer than ``timeout``."""
    import threading

    result = []  # type: list[Any]

    def work() -> None:
        try:
            result.append(socket.getaddrinfo(server, 123, 0, socket.SOCK_DGRAM)[0])
        except (OSError, IndexError) as exc:
            result.append(exc)

    worker = threading.Thread(target=work)
    worker.daemon = True
    worker.start()
    worker.join(timeout)
    if not result or isinstance(result[0], Exception):
        return None
    return result[0][0], result[0][4]


def sntp_query(server: str, timeout: float = SNTP_TIMEOUT) -> dict[str, Any]:
    """One SNTP client request (RFC 4330) to ``server``: {offset_ms_abs, stratum (the server's)}.

    Only reads the remote clock; the local clock is never touched.  Raises
    OSError (no answer) or ValueError (an answer that is not a synchronised
    server's reply to this request).
    """
    import struct

    server = server.strip("[]")
    where = _resolve(server, timeout)
    if where is None:
        raise OSError("cannot resolve %s" % server)
    family, addr = where
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.settimeout(timeout)
        request = bytearray(48)
        request[0] = (4 << 3) | 3  # LI 0, version 4, mode 3 (client)
        t1 = time.time()
        struct.pack_into("!II", request, 40, int(t1) + NTP_EPOCH_OFFSET, int((t1 % 1.0) * 2 ** 32))
        sock.sendto(bytes(request), addr)
        data = sock.recv(512)
        t4 = time.time()
    finally:
        sock.close()
    if len(data) < 48:
        raise ValueError("short NTP reply from %s" % server)
    leap, mode, stratum = data[0] >> 6, data[0] & 7, data[1]
    if mode != 4 or leap == 3 or not 1 <= stratum <= 15:
        raise ValueError("%s is not a synchronised NTP server (leap %d, stratum %d)" % (server, leap, stratum))
    if bytes(data[24:32]) != bytes(request[40:48]):
        raise ValueError("reply from %s does not answer this request" % server)

    def stamp(raw: bytes) -> float:
        sec, frac = struct.unpack("!II", raw)
        return float(sec - NTP_EPOCH_OFFSET + frac / 2.0 ** 32)

    t2, t3 = stamp(bytes(data[32:40])), stamp(bytes(data[40:48]))  # type: float, float
    offset = ((t2 - t1) + (t3 - t4)) / 2.0
    return {"offset_ms_abs": round(abs(offset) * 1000.0, 6), "stratum": stratum}


def timesyncd_lists(ctx: Ctx, props: dict[str, str] | None) -> tuple[list[str], float, str, bool]:
    """(servers timesyncd uses, PollIntervalMaxSec, where it came from, whether they are the
    fallback list): from the daemon over D-Bus when it answered, else from its configuration
    and networkd's state file (/run/systemd/netif/state NTP=, the per-link servers)."""
    ptr = "/time/ntp_servers"
    cfg = timesyncd_config(systemd_settings(ctx, "timesyncd.conf", "Time", ptr))
    if props is not None and "SystemNTPServers" in props:
        poll = cfg["poll_max"]
        try:
            poll = parse_timespan_seconds(props.get("PollIntervalMaxUSec", "")) or poll
        except ValueError:
            pass
        primary = [props.get("RuntimeNTPServers", "").split(), props["SystemNTPServers"].split(),
                   props.get("LinkNTPServers", "").split()]
        servers = timesyncd_sources(primary[0], primary[1], primary[2], props.get("FallbackNTPServers", "").split())
        return servers, poll, "timedatectl show-timesync", not any(primary)
    link = []  # type: list[str]
    state = ctx.read("/run/systemd/netif/state")
    if state is not None:
        link = parse_key_values(state).get("NTP", "").split()
        ctx.file_evidence(ptr, "/run/systemd/netif/state", state)
    servers = timesyncd_sources([], cfg["system"], link, cfg["fallback"])
    if not cfg["fallback"] and cfg["fallback"] is not None and not cfg["system"] and not link:
        ctx.add_evidence(ptr, "probe:effective", "no NTP= and an empty FallbackNTP=: timesyncd has no server")
    if servers == [TIMESYNCD_COMPILED_FALLBACK]:
        ctx.add_evidence(ptr, "probe:effective", "no NTP= and FallbackNTP= never assigned: timesyncd uses the "
                         "servers compiled into it (the distribution's pool, not the site's)")
    return servers, cfg["poll_max"], "timesyncd.conf", not (cfg["system"] or link)


def collect_timesyncd(ctx: Ctx, status_ptrs: list[str]) -> None:
    """Facts of a host whose time client is systemd-timesyncd (same facts as chrony's).

    Servers and the last sample come from the daemon over D-Bus (``timedatectl
    show-timesync --all`` / ``timesync-status``) when it answers; otherwise from
    timesyncd.conf + drop-ins, and the sync state from the files the daemon
    writes: /run/systemd/timesync/synchronized is touched at every accepted
    NTP sample (present = synchronised since boot, its mtime = the last one;
    older than twice PollIntervalMaxSec = no longer synchronising).  systemd
    252 touches it even when its clock_adjtime() fails (measured in the lab),
    so the file is not evidence of the clock's accuracy: the offset is.
    Without D-Bus the offset is measured by one SNTP request to the configured
    servers (NTP=, never the fallback pool); what cannot be determined is an
    error for that fact.
    """
    show = ctx.run(["timedatectl", "show-timesync", "--all"])
    props = parse_key_values(show.out) if show is not None and show.ok else None
    ctx.cmd_evidence("/time", show)  # also when it fails: why the daemon could not be asked
    servers, poll_max, origin, fallback_in_use = timesyncd_lists(ctx, props)
    ctx.fact("/time/ntp_servers", servers)
    running = ctx.running("systemd-timesyncd")
    if running is not True:
        reason = "systemd-timesyncd is not running" if running is False else \
            "cannot tell whether systemd-timesyncd runs (no readable /proc)"
        for p in status_ptrs:
            ctx.error(p, reason)
        return
    mtime = ctx.mtime(TIMESYNCD_SYNCED_FILE)
    if mtime is None:
        ctx.fact("/time/synchronized", False)
        ctx.add_evidence("/time/synchronized", "file:" + TIMESYNCD_SYNCED_FILE,
                         "(missing: timesyncd has accepted no NTP sample since boot)")
    else:
        age = ctx.now - mtime
        ctx.fact("/time/synchronized", age <= 2 * poll_max)
        ctx.add_evidence("/time/synchronized", "file:" + TIMESYNCD_SYNCED_FILE,
                         "last accepted NTP sample %s (%.0f s ago; PollIntervalMaxSec %.0f s from %s)"
                         % (utc_text(mtime, "%Y-%m-%dT%H:%M:%SZ"), age, poll_max, origin))
    clock = ctx.mtime(TIMESYNCD_CLOCK_FILE)
    if clock is not None:
        ctx.add_evidence("/time/synchronized", "file:" + TIMESYNCD_CLOCK_FILE,
                         "time saved %s" % utc_text(clock, "%Y-%m-%dT%H:%M:%SZ"))
    status = ctx.run(["timedatectl", "timesync-status"])
    sample = parse_timesync_status(status.out) if status is not None and status.ok else {}
    if "offset_ms_abs" in sample and sample.get("packets", 1) > 0:
        ctx.cmd_evidence("/time", status)
        ctx.fact("/time/offset_ms_abs", sample["offset_ms_abs"])
        if "stratum" in sample:
            ctx.fact("/time/stratum", sample["stratum"] + 1)
        ctx.fact("/time/selected_source", sample.get("server"))
    else:
        # never the fallback pool: the probe talks only to servers the site configured
        sntp_measure(ctx, [] if fallback_in_use else servers)
    for p in status_ptrs:
        ctx.error(p, "not reported by systemd-timesyncd without D-Bus (timedatectl timesync-status)")


def sntp_measure(ctx: Ctx, servers: list[str]) -> None:
    """/time/offset_ms_abs and /time/stratum measured by the probe itself (one SNTP request per
    server, the first that answers), when the daemon cannot report its own sample."""
    if not ctx.commands:
        return  # an offline root: no network either
    failures = []
    for server in servers[:SNTP_MAX_SERVERS]:
        try:
            got = sntp_query(server)
        except (OSError, ValueError) as exc:
            failures.append("%s: %s" % (server, exc))
            continue
        ctx.fact("/time/offset_ms_abs", got["offset_ms_abs"])
        ctx.fact("/time/stratum", got["stratum"] + 1)
        ctx.add_evidence("/time/offset_ms_abs", "probe:sntp " + server,
                         "offset %.3f ms, server stratum %d (measured by the probe: timedatectl did not answer)"
                         % (got["offset_ms_abs"], got["stratum"]))
        return
    if failures:
        ctx.add_evidence("/time/offset_ms_abs", "probe:sntp", "; ".join(failures)[:EXCERPT_MAX])


# ---------------------------------------------------------------------------
# Logging: remote targets
# ---------------------------------------------------------------------------

def _strip_rainer_comments(text: str) -> str:
    """Remove # comments (outside quotes) and /* */ blocks from rsyslog config."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    out = []
    for line in text.splitlines():
        q = None
        cut = len(line)
        for i, ch in enumerate(line):
            if q:
                if ch == q:
                    q = None
            elif ch in "\"'":
                q = ch
            elif ch == "#":
                cut = i
                break
        out.append(line[:cut])
    return "\n".join(out)


_LEGACY_FWD_RE = re.compile(r"^(@@?)(?:\(([^)]*)\))?(\[[^\]]+\]|[^:;\s]+)(?::(\d+))?")
_PARAM_RE = re.compile(r"([A-Za-z][A-Za-z0-9_.]*)\s*=\s*(\"[^\"]*\"|'[^']*'|\S+)")


def _params(body: str) -> dict[str, str]:
    return {k.lower(): v.strip("\"'") for k, v in _PARAM_RE.findall(body)}


def parse_rsyslog(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """rsyslog config text -> (targets, includes), both in file order.

    targets: [{"host", "port", "protocol", "selector"}] from legacy
    ``selector @host[:port]`` (udp) / ``@@host[:port]`` (tcp, tls after
    ``$ActionSendStreamDriverMode 1``), ``:omrelp:host:port`` and RainerScript
    ``action(type="omfwd"|"omrelp" target=… port=… protocol=…)``.
    includes: glob patterns of ``$IncludeConfig`` / ``include(file=…)``.
    """
    clean = _strip_rainer_comments(text)
    found = []  # type: list[tuple[int, str, Any]]  # (offset, "target"|"include", value)
    # RainerScript objects can span lines: scan action()/include() over the whole text.
    for m in re.finditer(r"\b(action|include)\s*\(([^)]*)\)", clean, re.S | re.I):
        kind, p = m.group(1).lower(), _params(m.group(2))
        if kind == "include":
            if p.get("file"):
                found.append((m.start(), "include", p["file"]))
            continue
        typ = p.get("type", "").lower()
        if typ not in ("omfwd", "omrelp") or not p.get("target"):
            continue
        if typ == "omrelp":
            proto = "tls" if p.get("tls", "off").lower() == "on" else "relp"
        else:
            proto = p.get("protocol", "udp").lower()
            if p.get("streamdrivermode") == "1" or p.get("streamdriver.mode") == "1":
                proto = "tls"
            if proto not in ("udp", "tcp", "tls"):
                proto = "udp"
        line_start = clean.rfind("\n", 0, m.start()) + 1
        prefix = clean[line_start:m.start()].strip()
        t = {"host": p["target"].strip("[]"), "port": int_or(p.get("port"), 514), "protocol": proto}
        prefix = prefix.rstrip("{; \t")
        if prefix:
            t["selector"] = re.sub(r"\s+", " ", prefix)
        found.append((m.start(), "target", t))
    tls_mode = False
    last_selector = None
    offset = 0
    for line in clean.splitlines(True):
        pos = offset
        offset += len(line)
        s = line.strip()
        if not s:
            continue
        if s.startswith("$"):
            f = s.split()
            d = f[0].lower()
            if d == "$includeconfig" and len(f) > 1:
                found.append((pos, "include", f[1]))
            elif d == "$actionsendstreamdrivermode" and len(f) > 1:
                tls_mode = f[1] == "1"
            continue
        first = s.split()[0]
        if "(" in first or first in ("{", "}") or re.match(
                r"^(action|include|module|input|global|template|ruleset|if|else|set|unset|call|stop|"
                r"main_queue|property|constant|type|parser)\b", first, re.I):
            continue  # RainerScript statements (actions were collected above)
        f = s.split(None, 1)
        if len(f) < 2:
            continue
        selector, action = f[0], f[1].strip()
        if selector == "&":
            selector = last_selector or "&"
        else:
            last_selector = selector
        if action.lower().startswith(":omrelp:"):
            rest = action[8:].split(";")[0]
            host, _, port = rest.rpartition(":")
            if not host:
                host, port = rest, "514"
            found.append((pos, "target", {"host": host.strip("[]"), "port": int_or(port, 514),
                                          "protocol": "relp", "selector": selector}))
            continue
        fwd = _LEGACY_FWD_RE.match(action)
        if fwd:
            proto = "udp" if fwd.group(1) == "@" else ("tls" if tls_mode else "tcp")
            found.append((pos, "target", {"host": fwd.group(3).strip("[]"), "port": int_or(fwd.group(4), 514),
                                          "protocol": proto, "selector": selector}))
    found.sort(key=lambda x: x[0])
    targets = [v for _, k, v in found if k == "target"]
    includes = [v for _, k, v in found if k == "include"]
    return targets, includes


def _balanced(text: str, start: int) -> str:
    """Content of the parenthesis group opening at text[start] == '('."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    return text[start + 1:]


def parse_syslog_ng(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """syslog-ng config -> (targets, includes); only destinations used in a log{} path count."""
    clean = "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith("#"))
    includes = re.findall(r"@include\s+\"([^\"]+)\"", clean)
    used = set(re.findall(r"destination\s*\(\s*([A-Za-z0-9_\-]+)\s*\)", clean))
    targets = []
    for m in re.finditer(r"destination\s+([A-Za-z0-9_\-]+)\s*\{", clean):
        name = m.group(1)
        body_start = m.end()
        depth, i = 1, body_start
        while i < len(clean) and depth:
            if clean[i] == "{":
                depth += 1
            elif clean[i] == "}":
                depth -= 1
            i += 1
        body = clean[body_start:i - 1]
        if name not in used:
            continue
        for d in re.finditer(r"\b(network|syslog|tcp6?|udp6?)\s*\(", body):
            inner = _balanced(body, d.end() - 1)
            hm = re.match(r"\s*[\"']?([^\"'\s)]+)", inner)
            if not hm:
                continue
            driver = d.group(1)
            tm = re.search(r"transport\s*\(\s*[\"']?(\w+)", inner)
            pm = re.search(r"port\s*\(\s*(\d+)", inner)
            if driver.startswith("udp"):
                proto = "udp"
            elif driver.startswith("tcp"):
                proto = "tcp"
            else:
                proto = (tm.group(1).lower() if tm else ("tcp" if driver == "syslog" else "udp"))
            if proto not in ("udp", "tcp", "tls"):
                proto = "tcp"
            default_port = 601 if driver == "syslog" and proto == "tcp" else (6514 if proto == "tls" else 514)
            targets.append({"host": hm.group(1), "port": int(pm.group(1)) if pm else default_port,
                            "protocol": proto, "selector": "destination " + name})
    return targets, includes


def config_targets(ctx: Ctx, main: str, parse: Any, base: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Forwarding targets of a syslog daemon's configuration, following its includes (globs or
    directories; relative paths are relative to `base`), at most 10 levels deep, each file once."""
    targets = []
    files = []
    seen = set()

    def process(path: str, depth: int) -> None:
        if depth > 10 or path in seen:
            return
        seen.add(path)
        text = ctx.read(path)
        if text is None:
            return
        files.append(path)
        t, inc = parse(text)
        targets.extend(t)
        for pat in inc:
            if not pat.startswith("/"):
                pat = base + pat
            for f in (ctx.glob(pat.rstrip("/") + "/*") if ctx.isdir(pat) else ctx.glob(pat)):
                process(f, depth + 1)

    process(main, 0)
    return targets, files


def rsyslog_targets(ctx: Ctx, main: str = "/etc/rsyslog.conf") -> tuple[list[dict[str, Any]], list[str]]:
    return config_targets(ctx, main, parse_rsyslog, "/")  # rsyslogd runs in /


# ---------------------------------------------------------------------------
# Logging: local retention (logrotate / journald)
# ---------------------------------------------------------------------------

MAIN_LOGS = ["/var/log/syslog", "/var/log/messages", "/var/log/auth.log", "/var/log/secure", "/var/log/kern.log"]
PERIOD_DAYS = {"hourly": 1.0 / 24, "daily": 1, "weekly": 7, "monthly": 30, "yearly": 365}
LOGROTATE_TABOO = [",v", ".bak", ".cfsaved", ".disabled", ".dpkg-bak", ".dpkg-del", ".dpkg-dist", ".dpkg-new",
                   ".dpkg-old", ".dpkg-tmp", ".new", ".old", ".orig", ".pacnew", ".pacorig", ".pacsave",
                   ".rhn-cfg-tmp-*", ".rpmnew", ".rpmorig", ".rpmsave", ".swp", ".ucf-dist", ".ucf-new",
                   ".ucf-old", "~"]
# logrotate's built-in defaults (config.c defConfig): size criterion (1 MB), rotate 0.
LOGROTATE_DEFAULTS = {"period": "size", "rotate": 0, "maxage": 0}
_LR_SCRIPTS = ("postrotate", "prerotate", "firstaction", "lastaction", "preremove")


def logrotate_apply(settings: dict[str, Any], line: str) -> None:
    f = line.split()
    if not f:
        return
    k = f[0].lower()
    if k in PERIOD_DAYS:
        settings["period"] = k
    elif k == "size" or k.startswith("size="):
        settings["period"] = "size"  # `size` replaces any time criterion (last one wins)
    elif k == "minutes":
        settings["period"] = "minutes:" + (f[1] if len(f) > 1 else "1")
    elif k == "rotate" and len(f) > 1:
        v = to_int(f[1])
        if v is not None:
            settings["rotate"] = v
    elif k == "maxage" and len(f) > 1:
        v = to_int(f[1])
        if v is not None:
            settings["maxage"] = v


def parse_logrotate(
    text: str, source: str, settings: dict[str, Any], rules: list[dict[str, Any]], include: Callable[[str], None]
) -> None:
    """Parse one logrotate file in place.

    ``settings``: the global settings dict, mutated by top-level directives
    (logrotate passes its global config into included files, so their top-level
    directives change the globals for what follows).  Each block copies the
    globals as they are at that point and applies its own directives.
    ``rules``: list to append {"patterns", "settings", "source"} to.
    ``include(path)``: callback for ``include``.
    """
    paths = []
    block = None
    in_script = False
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if in_script:
            if s.split()[0] == "endscript":
                in_script = False
            continue
        if block is not None:
            if s.startswith("}"):
                rules.append({"patterns": paths, "settings": block, "source": source})
                block, paths = None, []
                continue
            if s.split()[0] in _LR_SCRIPTS:
                in_script = True
                continue
            logrotate_apply(block, s)
            continue
        if "{" in s:
            before, _, after = s.partition("{")
            paths.extend(_lr_split_paths(before))
            block = dict(settings)
            after = after.strip()
            if after.endswith("}"):  # one-line block
                for part in after[:-1].split(";"):
                    logrotate_apply(block, part)
                rules.append({"patterns": paths, "settings": block, "source": source})
                block, paths = None, []
            elif after:
                logrotate_apply(block, after)
            continue
        first = s.split()[0]
        if first.startswith("/") or first.startswith('"') or first.startswith("'") or "*" in first:
            paths.extend(_lr_split_paths(s))
            continue
        if first.lower() == "include" and len(s.split()) > 1:
            include(s.split(None, 1)[1].strip().strip("\"'"))
            continue
        logrotate_apply(settings, s)


def _lr_split_paths(s: str) -> list[str]:
    out = []
    for m in re.finditer(r"\"([^\"]*)\"|'([^']*)'|(\S+)", s):
        out.append(m.group(1) or m.group(2) or m.group(3))
    return [p for p in out if p]


def logrotate_days(settings: dict[str, Any]) -> tuple[int | None, str]:
    """(days or None for unbounded, note) kept by a logrotate rule.

    days = rotate x period (hourly 1/24, daily 1, weekly 7, monthly 30, yearly
    365); ``maxage N`` caps it at N; ``rotate 0`` -> 0 (no old copy is kept);
    ``rotate -1`` -> old copies never removed (unbounded unless maxage).  A
    size-based rule has no period: assumed weekly (the usual cadence of the
    cron job), flagged in the note.
    """
    rotate = settings.get("rotate", 0)
    maxage = settings.get("maxage", 0) or 0
    period = settings.get("period", "size")
    note = "rotate %s %s" % (rotate, period)
    if period == "size":
        per = 7.0
        note += " (size-based: period assumed weekly)"
    elif period.startswith("minutes:"):
        per = (int_or(period.split(":", 1)[1], 1) or 1) / 1440.0
    else:
        per = float(PERIOD_DAYS.get(period, 7))
    if rotate < 0:
        days = None
    else:
        days = int(rotate * per)
    if maxage > 0:
        note += " maxage %d" % maxage
        days = maxage if days is None else min(days, maxage)
    return days, note


def logrotate_rules(ctx: Ctx, main: str = "/etc/logrotate.conf") -> tuple[list[dict[str, Any]], list[str]]:
    settings = dict(LOGROTATE_DEFAULTS)  # type: dict[str, Any]
    rules = []  # type: list[dict[str, Any]]
    files = []  # type: list[str]

    def read_path(path: str, depth: int) -> None:
        if depth > 10:
            return
        if ctx.isdir(path):
            for name in ctx.listdir(path) or []:
                if any(fnmatch.fnmatch(name, "*" + t) for t in LOGROTATE_TABOO):
                    continue
                full = path.rstrip("/") + "/" + name
                if ctx.isfile(full):
                    read_file(full, depth)
            return
        for f in ctx.glob(path) if any(c in path for c in "*?[") else [path]:
            read_file(f, depth)

    def read_file(path: str, depth: int) -> None:
        text = ctx.read(path)
        if text is None:
            return
        files.append(path)
        parse_logrotate(text, path, settings, rules, lambda p: read_path(p, depth + 1))

    if ctx.exists(main):
        read_file(main, 0)
    return rules, files


def retention_for_logs(rules: list[dict[str, Any]], logs: list[str]) -> list[dict[str, Any]]:
    """[{log, days, source}] for each log; the FIRST rule naming a file wins
    (logrotate rejects later duplicates)."""
    out = []  # type: list[dict[str, Any]]
    for log in logs:
        rule = None
        for r in rules:
            if any(fnmatch.fnmatchcase(log, p) for p in r["patterns"]):
                rule = r
                break
        if rule is None:
            out.append({"log": log, "days": None, "source": "no logrotate rule: never rotated (unbounded)"})
            continue
        days, note = logrotate_days(rule["settings"])
        out.append({"log": log, "days": days, "source": "file:%s (%s)" % (rule["source"], note)})
    return out


JOURNALD_BINARIES = ("/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald")
JOURNALD_STORAGE = ("volatile", "persistent", "auto", "none")


def journal_effective(settings: list[tuple[str, str, str]]) -> tuple[str, str, float | None, str]:
    """(storage, storage source, MaxRetentionSec seconds or None, its source) from journald.conf assignments.

    journald ignores (with a warning) a value it cannot parse, so an invalid
    assignment leaves the previous one in force; the last valid one wins.
    Storage= values are matched case-sensitively (systemd's string table
    lookup): "Persistent" and an empty "Storage=" are invalid, hence ignored.
    Defaults: Storage=auto, MaxRetentionSec=0 (no time limit).
    """
    storage, storage_src = "auto", "default"
    retention, retention_src = None, "default (unset)"  # type: float | None, str
    for key, value, f in settings:
        if key == "Storage" and value in JOURNALD_STORAGE:
            storage, storage_src = value, f
        elif key == "MaxRetentionSec":
            try:
                seconds = parse_timespan_seconds(value)
            except ValueError:
                continue
            retention, retention_src = (seconds if seconds else None), f
    return storage, storage_src, retention, retention_src


def collect_journal(ctx: Ctx) -> None:
    """/logging/journal: whether the systemd journal keeps the system log across reboots, and how long.

    ``persistent``: Storage=persistent, or Storage=auto with /var/log/journal
    present (volatile, none, or auto without that directory keep nothing
    across a reboot).  ``max_retention_days``: the effective MaxRetentionSec in
    whole days; null when unset or 0, which is NOT a retention period (the
    journal is then trimmed by size only, SystemMaxUse…), so it never passes.
    """
    ptr = "/logging/journal"
    if not any(ctx.exists(p) for p in JOURNALD_BINARIES):
        ctx.add_evidence(ptr, "probe:effective", "no systemd-journald on this host")
        for key, value in (("present", False), ("running", False), ("storage", None), ("persistent", False),
                           ("max_retention_days", None)):
            ctx.fact(ptr + "/" + key, value)
        return
    ctx.fact(ptr + "/present", True)
    running = ctx.running("systemd-journald")
    storage, storage_src, seconds, seconds_src = journal_effective(
        systemd_settings(ctx, "journald.conf", "Journal", ptr))
    persistent = storage == "persistent" or (storage == "auto" and ctx.isdir("/var/log/journal"))
    days = int(seconds // 86400) if seconds else None
    notes = ["Storage=%s (%s)" % (storage, storage_src)]
    if not persistent:
        notes.append("the journal is not kept across a reboot (%s)" % (
            "Storage=auto without /var/log/journal" if storage == "auto" else "Storage=" + storage))
    if days is None:
        notes.append("MaxRetentionSec unset or 0 (%s): journald then trims by size only, which is no "
                     "retention period" % seconds_src)
    else:
        notes.append("MaxRetentionSec = %d days (%s)" % (days, seconds_src))
    if running is False:
        notes.append("systemd-journald is not running: the journal records nothing")
    ctx.add_evidence(ptr, "probe:effective", "; ".join(notes))
    ctx.fact(ptr + "/storage", storage)
    ctx.fact(ptr + "/persistent", persistent)
    ctx.fact(ptr + "/max_retention_days", days)
    if running is None:
        ctx.error(ptr + "/running", "cannot tell whether systemd-journald runs (no readable /proc)")
    else:
        ctx.fact(ptr + "/running", running)


def collect_logging(ctx: Ctx) -> None:
    # --- remote targets
    if ctx.exists("/etc/rsyslog.conf"):
        targets, files = rsyslog_targets(ctx)
        for f in files:
            ctx.file_evidence("/logging/remote_targets", f)
        ctx.fact("/logging/remote_targets", targets)
    elif ctx.exists("/etc/syslog-ng/syslog-ng.conf"):
        targets, files = config_targets(ctx, "/etc/syslog-ng/syslog-ng.conf", parse_syslog_ng, "/etc/syslog-ng/")
        for f in files:
            ctx.file_evidence("/logging/remote_targets", f)
        ctx.fact("/logging/remote_targets", targets)
    else:
        ctx.fact("/logging/remote_targets", [])
        ctx.add_evidence("/logging/remote_targets", "probe:effective",
                         "no rsyslog or syslog-ng configuration: nothing forwards logs")
    # --- retention
    rules, files = logrotate_rules(ctx)

    def covers(rule: dict[str, Any], log: str) -> bool:
        return any(fnmatch.fnmatchcase(log, p) for p in rule["patterns"])

    main_sources = set(r["source"] for r in rules if any(covers(r, ln) for ln in MAIN_LOGS))
    for f in files:
        if f == "/etc/logrotate.conf" or f in main_sources:
            ctx.file_evidence("/logging/retention_days", f)
    logs = [ln for ln in MAIN_LOGS if ctx.exists(ln) or any(covers(r, ln) for r in rules)]
    collect_journal(ctx)
    if logs:
        by_log = retention_for_logs(rules, logs)
        ctx.fact("/logging/retention_by_log", by_log)
        known = [x["days"] for x in by_log if x["days"] is not None]
        ctx.fact("/logging/retention_days", min(known) if known else None)
        return
    ctx.fact("/logging/retention_by_log", [])
    if ctx.facts.get("logging", {}).get("journal", {}).get("present"):
        # the journal is judged on its own (/logging/journal): the files keep nothing
        ctx.fact("/logging/retention_days", 0)
        ctx.add_evidence("/logging/retention_days", "probe:effective",
                         "no main system log file (%s) and no logrotate rule for one: log files keep nothing; "
                         "only the journal can keep the system log" % ", ".join(MAIN_LOGS))
        return
    ctx.error("/logging/retention_days", "no main system log (%s) and no journald found" % ", ".join(MAIN_LOGS))


# ---------------------------------------------------------------------------
# Removable media (usb-storage)
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Screen lock (GNOME dconf system databases)
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Firmware (BIOS/UEFI passwords via firmware-attributes)
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Disk encryption of the OS volume
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Anti-malware
# ---------------------------------------------------------------------------

# process comm -> (product, resident scanner?)
AV_PROCESSES = {
    "clamonacc": ("clamav", True),   # ClamAV on-access scanner
    "clamd": ("clamav", False),      # on-demand daemon: real-time only with clamonacc
    "falcon-sensor": ("crowdstrike-falcon", True),
    "falcond": ("crowdstrike-falcon", True),
    "wdavdaemon": ("microsoft-defender", True),
    "mdatp": ("microsoft-defender", True),
    "ds_agent": ("trend-micro-deep-security", True),
    "ds_am": ("trend-micro-deep-security", True),
    "tmxagent": ("trend-micro", True),
    "savd": ("sophos", True),
    "sophos_threat_d": ("sophos", True),
    "soapd": ("sophos", True),
    "esets_daemon": ("eset", True),
    "esets": ("eset", True),
    "oaeventd": ("eset", True),
    "fsavd": ("f-secure", True),
    "fsaua": ("f-secure", True),
    "fsicd": ("f-secure", True),
    "mfetpd": ("trellix-mcafee", True),
    "cylancesvc": ("cylance", True),
    "sentinelone": ("sentinelone", True),
    "s1-agent": ("sentinelone", True),
}
CLAMAV_DB_EXT = (".cvd", ".cld", ".cud")
CLAMAV_CUSTOM_EXT = (".hdb", ".hsb", ".hdu", ".hsu", ".mdb", ".msb", ".ndb", ".ndu", ".ldb", ".ldu", ".cdb",
                     ".ign2", ".fp", ".sfp", ".yar", ".yara", ".pdb", ".gdb", ".wdb", ".ftm", ".idb", ".cbc")
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


def parse_cvd_header(data: bytes | None) -> float | None:
    """ClamAV .cvd/.cld header 'ClamAV-VDB:14 Mar 2024 08-24 +0000:27213:…' -> epoch seconds or None."""
    if not data:
        return None
    head = data[:512].decode("ascii", "replace")
    if not head.startswith("ClamAV-VDB:"):
        return None
    m = re.match(r"ClamAV-VDB:(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{1,2})-(\d{2}) ([+-])(\d{2})(\d{2})", head)
    if not m:
        return None
    day, mon, year, hh, mm, sign, oh, om = m.groups()
    month = _MONTHS.get(mon.lower())
    if not month:
        return None
    dt = datetime.datetime(int(year), month, int(day), int(hh), int(mm), tzinfo=datetime.timezone.utc)
    offset = (int(oh) * 60 + int(om)) * (1 if sign == "+" else -1)
    return (dt - datetime.timedelta(minutes=offset)).timestamp()


def clamav_db_dir(ctx: Ctx) -> tuple[str, str | None]:
    for conf in ("/etc/clamav/clamd.conf", "/etc/clamav/freshclam.conf", "/etc/clamd.d/scan.conf",
                 "/etc/freshclam.conf"):
        text = ctx.read(conf)
        if not text:
            continue
        for line in text.splitlines():
            m = re.match(r"^\s*DatabaseDirectory\s+(\S+)", line)
            if m:
                return m.group(1), conf
    return "/var/lib/clamav", None


def collect_antimalware(ctx: Ctx) -> None:
    ptr = "/antimalware"
    procs = ctx.processes()
    if procs is None:
        ctx.error(ptr + "/products", "cannot read /proc")
        ctx.error(ptr + "/resident", "cannot read /proc")
    else:
        products = []
        resident = False
        for p in procs:
            hit = AV_PROCESSES.get(p.comm)
            if hit is None:
                low = p.cmdline.lower()
                if "sophos" in low and "/opt/sophos" in low:
                    hit = ("sophos", True)
                elif "/opt/ds_agent/" in low:
                    hit = ("trend-micro-deep-security", True)
            if hit:
                if hit[0] not in products:
                    products.append(hit[0])
                resident = resident or hit[1]
                ctx.add_evidence(ptr, "file:/proc/%d/comm" % p.pid, p.comm)
        ctx.fact(ptr + "/products", sorted(products))
        # ClamAV's clamd alone scans only on request; resident needs clamonacc
        # (or a commercial agent, which are all real-time).
        ctx.fact(ptr + "/resident", resident)
    dbdir, conf = clamav_db_dir(ctx)
    newest = None  # type: float | None
    newest_src = ""
    for name in ctx.listdir(dbdir) or []:
        path = dbdir.rstrip("/") + "/" + name
        low = name.lower()
        ts = None
        if low.endswith(CLAMAV_DB_EXT):
            ts = parse_cvd_header(ctx.read_bytes(path, 512))
            if ts is None and low.endswith(".cud"):
                ts = ctx.mtime(path)
        elif low.endswith(CLAMAV_CUSTOM_EXT):
            ts = ctx.mtime(path)
        if ts is not None and (newest is None or ts > newest):
            newest, newest_src = ts, path
    if newest is None:
        ctx.fact(ptr + "/signature_age_days", None)
        ctx.add_evidence(ptr, "file:" + dbdir, "no ClamAV signature database found")
    else:
        age = max(0.0, (ctx.now - newest) / 86400.0)
        ctx.fact(ptr + "/signature_age_days", round(age, 2))
        ctx.add_evidence(ptr, "file:" + newest_src, "newest signatures built %s UTC (DatabaseDirectory from %s)" % (
            utc_text(newest, "%Y-%m-%d %H:%M"), conf or "default"))


# ---------------------------------------------------------------------------
# Management protocols (cleartext remote login, SNMP v1/v2c, SSH protocol 1)
# ---------------------------------------------------------------------------

# Prohibited servers of the services section that are remote-login/management protocols.
CLEARTEXT_LOGIN_SERVICES = {"telnetd": "telnet", "rlogind": "rlogin", "rshd": "rsh", "rexecd": "rexec"}
# Their well-known tcp ports.  tcp/514 is also rsyslog's TCP reception, so a listener there counts as
# rsh only when the process is an r-server or a super-server (inetd, xinetd, systemd sockets).
CLEARTEXT_LOGIN_PORTS = {23: "telnet", 512: "rexec", 513: "rlogin", 514: "rsh"}
_SUPER_SERVERS = ("inetd", "xinetd", "systemd", "in.rshd", "rshd")
# net-snmp directives that configure SNMPv1/v2c access (a community) or send v1/v2c traps/informs.
SNMP_COMMUNITY_DIRECTIVES = ("rocommunity", "rwcommunity", "rocommunity6", "rwcommunity6", "com2sec", "com2sec6",
                             "com2secunix")
SNMP_TRAP_DIRECTIVES = ("trapsink", "trap2sink", "informsink")
# net-snmp's default search path (SNMPCONFPATH) for snmpd, then its persistent directory.
SNMPD_CONF_DIRS = ["/etc/snmp", "/usr/share/snmp", "/usr/lib/x86_64-linux-gnu/snmp", "/usr/lib64/snmp",
                   "/usr/lib/snmp", "/var/lib/snmp", "/var/lib/net-snmp"]
SSH_V1_REMOVED = (7, 4)      # OpenSSH 7.4 removed the SSH-1 server; "Protocol" is ignored from then on
SSH_V1_OFF_BY_DEFAULT = (5, 4)  # before 5.4 the compiled-in default could include protocol 1


def parse_snmpd_conf(text: str, path: str) -> tuple[list[dict[str, str]], list[str], list[str]]:
    """snmpd.conf text -> (v1/v2c lines, includeFile paths, includeDir dirs).

    Each v1/v2c line is {"kind": directive, "where": "path:line"}: never the community itself.
    net-snmp matches directive names case-insensitively; "#" starts a comment line; ``[snmp]``
    style section headers switch the application and are skipped.
    """
    found = []
    files = []
    dirs = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#") or s.startswith("["):
            continue
        f = s.split()
        d = f[0].lower()
        if d in SNMP_COMMUNITY_DIRECTIVES or d in SNMP_TRAP_DIRECTIVES:
            if len(f) > 1:
                found.append({"kind": d, "where": "%s:%d" % (path, n)})
        elif d == "includefile" and len(f) > 1:
            files.append(f[1])
        elif d == "includedir" and len(f) > 1:
            dirs.append(f[1])
    return found, files, dirs


def snmpd_v1v2c(ctx: Ctx) -> tuple[list[dict[str, str]], list[str]]:
    """(v1/v2c lines, files read) of the snmpd configuration, following includeFile/includeDir.

    Files: ``-c FILE`` of a running snmpd (``-C``: only those), else snmpd.conf and snmpd.local.conf
    in each directory of net-snmp's search path.  includeDir reads the ``*.conf`` files in it.
    """
    explicit = []  # type: list[str]
    only_explicit = False
    for p in ctx.processes() or []:
        if p.comm != "snmpd":
            continue
        args = p.cmdline.split()
        for i, a in enumerate(args):
            if a == "-C":
                only_explicit = True
            elif a == "-c" and i + 1 < len(args):
                explicit.extend(args[i + 1].split(","))
    roots = list(explicit)
    if not only_explicit:
        for d in SNMPD_CONF_DIRS:
            roots += [d + "/snmpd.conf", d + "/snmpd.local.conf"]
    found = []  # type: list[dict[str, str]]
    files = []  # type: list[str]

    def process(path: str, depth: int) -> None:
        if depth > 10 or path in files:
            return
        text = ctx.read(path)
        if text is None:
            return
        files.append(path)
        lines, inc_files, inc_dirs = parse_snmpd_conf(text, path)
        found.extend(lines)
        for f in inc_files:
            process(f if f.startswith("/") else os.path.dirname(path) + "/" + f, depth + 1)
        for d in inc_dirs:
            for f in ctx.glob(d.rstrip("/") + "/*.conf"):
                process(f, depth + 1)

    for r in roots:
        process(r, 0)
    return found, files


def parse_openssh_version(text: str) -> tuple[int, int] | None:
    """(major, minor) from "OpenSSH_9.2p1" or a package version such as "1:9.2p1-2+deb12u3"."""
    m = re.search(r"OpenSSH_(\d+)\.(\d+)", text) or re.match(r"^(?:\d+:)?(\d+)\.(\d+)", text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def sshd_version(ctx: Ctx) -> tuple[tuple[int, int] | None, str]:
    """Installed OpenSSH server version and where it was read (cached): the package database, else
    the version string compiled into the binary."""
    if "sshd_version" not in ctx._cache:
        ctx._cache["sshd_version"] = _read_sshd_version(ctx)
    return cast("tuple[tuple[int, int] | None, str]", ctx._cache["sshd_version"])


def _read_sshd_version(ctx: Ctx) -> tuple[tuple[int, int] | None, str]:
    text = dpkg_status_text(ctx) if ctx.isdir("/var/lib/dpkg") else None
    if text:
        v = dpkg_installed_version(text, "openssh-server")
        if v and parse_openssh_version(v):
            return parse_openssh_version(v), "dpkg openssh-server " + v
    res = ctx.run(["rpm", "-q", "--qf", "%{VERSION}", "openssh-server"])
    if res is not None and res.ok and parse_openssh_version(res.out):
        return parse_openssh_version(res.out), "rpm openssh-server " + res.out.strip()
    for binary in ("/usr/sbin/sshd", "/usr/local/sbin/sshd"):
        data = ctx.read_bytes(binary, 8 * 1024 * 1024)
        if data:
            m = re.search(rb"OpenSSH_(\d+)\.(\d+)", data)
            if m:
                return (int(m.group(1)), int(m.group(2))), "%s (OpenSSH_%s.%s)" % (
                    binary, m.group(1).decode(), m.group(2).decode())
    return None, "no openssh-server package and no version string in sshd"


def ssh_protocol_1(version: tuple[int, int] | None, protocol_args: list[str] | None) -> bool | None:
    """Whether the SSH server accepts protocol 1; None if it cannot be told.

    OpenSSH >= 7.4 has no SSH-1 server at all (a ``Protocol`` line is ignored).  Older servers
    accept 1 when ``Protocol`` lists it, or when it is unset and the version predates 5.4.
    """
    if version is not None and version >= SSH_V1_REMOVED:
        return False
    if protocol_args:
        listed = ",".join(protocol_args).replace(" ", "").split(",")
        if "1" in listed:
            return True if version is not None else None
        return False
    if version is None:
        return None
    return version < SSH_V1_OFF_BY_DEFAULT


def sshd_accepts_protocol_1(ctx: Ctx) -> tuple[bool | None, str]:
    """(accepts SSH-1, explanation) of the installed sshd with its effective ``Protocol``."""
    eff = sshd_effective("/etc/ssh/sshd_config", ctx.read, ctx.glob)
    version, vsrc = sshd_version(ctx)
    proto = eff["values"].get("protocol")
    v1 = ssh_protocol_1(version, proto["args"] if proto else None)
    why = "sshd %s; Protocol %s" % (
        ("%d.%d (%s)" % (version[0], version[1], vsrc)) if version else "version unknown: " + vsrc,
        ("%s (%s)" % (" ".join(proto["args"]), proto["source"])) if proto else "unset")
    return v1, why


def collect_management(ctx: Ctx) -> None:
    """/management/insecure_protocols: every way the host offers cleartext or v1 management access.

    Items {"protocol", "how", "detail"}; details carry kinds and file:line only, never an SNMP
    community (the config files are withheld from evidence as sensitive).
    """
    ptr = "/management/insecure_protocols"
    items = []  # type: list[dict[str, str]]
    problems = []  # type: list[str]
    # telnet / r-services: the services section's findings, except "installed" alone (installed
    # but neither running nor configured serves nothing; SVC-MINIMAL still wants it removed).
    found, svc_problems = find_prohibited_services(ctx)
    problems.extend(svc_problems)
    for f in found:
        proto = CLEARTEXT_LOGIN_SERVICES.get(f["name"])
        if proto and f["how"] != "installed":
            items.append({"protocol": proto, "how": f["how"], "detail": f.get("detail", "")})
    sockets = get_sockets(ctx)
    if sockets is None:
        problems.append("neither `ss` nor /proc/net is available (listening sockets unknown)")
    else:
        for sock in exposed_sockets([e for e in sockets if e["proto"] == "tcp"]):
            port = int(sock["socket"].split("/")[1])
            proto = CLEARTEXT_LOGIN_PORTS.get(port)
            process = sock.get("process") or ""
            if proto == "rsh" and not any(x in process.split(",") for x in _SUPER_SERVERS):
                continue
            if proto:
                items.append({"protocol": proto, "how": "listening",
                              "detail": "%s (process %s)" % (sock["socket"], process or "unknown")})
    # SNMP v1/v2c: only where an SNMP agent is installed or running (a leftover config of a removed
    # package is served by nothing).
    agent = ctx.exists("/usr/sbin/snmpd") or bool(ctx.running("snmpd"))
    lines, files = snmpd_v1v2c(ctx)
    for line in lines:
        if agent:
            items.append({"protocol": "snmp_v1_v2c", "how": "configured",
                          "detail": "snmpd %s at %s" % (line["kind"], line["where"])})
    ctx.add_evidence("/management", "probe:effective",
                     "snmpd %s; files read: %s; v1/v2c lines: %s" % (
                         "installed or running" if agent else "not installed",
                         ", ".join(files) or "none",
                         ", ".join("%s at %s" % (x["kind"], x["where"]) for x in lines) or "none"))
    # SSH protocol 1
    if ctx.exists("/etc/ssh/sshd_config") or ctx.exists("/usr/sbin/sshd"):
        v1, why = sshd_accepts_protocol_1(ctx)
        ctx.add_evidence("/management", "probe:effective", why)
        if v1 is None:
            problems.append("cannot tell whether sshd accepts protocol 1: " + why)
        elif v1:
            items.append({"protocol": "ssh1", "how": "configured", "detail": why})
    if problems:
        ctx.error(ptr, "; ".join(problems))
        return
    ctx.fact(ptr, items)


# ---------------------------------------------------------------------------
# Password storage (hash methods for new passwords, stored hashes)
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Logging: timestamps (date with year, and time zone)
# ---------------------------------------------------------------------------

# rsyslog's built-in templates -> full timestamp (RFC 3339: year and UTC offset)? None = not judged.
RSYSLOG_BUILTIN_TEMPLATES = {
    "rsyslog_fileformat": True,                 # %TIMESTAMP:::date-rfc3339%
    "rsyslog_traditionalfileformat": False,     # %TIMESTAMP% = RFC 3164 "Nov 29 12:00:00": no year, no zone
    "rsyslog_forwardformat": True,
    "rsyslog_traditionalforwardformat": False,
    "rsyslog_syslogprotocol23format": True,
}
RSYSLOG_DEFAULT_FILE_TEMPLATE = "RSYSLOG_FileFormat"   # omfile's default when nothing overrides it
_TIME_PROPERTIES = ("timereported", "timestamp", "timegenerated")
# date formats: full (year + zone, or an absolute epoch), partial (one of them missing)
_FULL_DATE_FORMATS = ("rfc3339", "unixtimestamp")
_PARTIAL_DATE_FORMATS = ("", "rfc3164", "mysql", "pgsql", "subseconds", "utc")
_QUOTED = r"(?:\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^)\"'])*"
_RS_OBJECT_RE = re.compile(r"\b(action|include|module|template)\s*\((" + _QUOTED + r")\)(\s*\{[^}]*\})?", re.S | re.I)


def template_timestamp_full(kind: str, body: str) -> bool | None:
    """Whether a template writes the date with the year and the time zone.

    kind "string": property replacer ``%prop:from:to:options%``; kind "list": ``property(name=…
    dateFormat=…)`` statements.  True if a time property is written as RFC 3339 (or an epoch);
    False if every time property lacks the year or zone (RFC 3164, mysql …) or there is none at
    all; None when the template builds the time from pieces or system variables ($now, $year,
    date-year …): the probe cannot judge it, a person must.
    """
    uses = []  # type: list[str]
    other_time = False
    if kind == "string":
        for tok in re.findall(r"%([^%]+)%", body):
            parts = tok.split(":")
            name = parts[0].strip().lower()
            opts = [o.strip().lower() for o in (parts[3].split(",") if len(parts) > 3 else [])]
            if name.startswith("$") and name.lstrip("$").split("-")[0] in (
                    "now", "year", "month", "day", "hour", "hhour", "qhour", "minute", "wday"):
                other_time = True
            elif name in _TIME_PROPERTIES:
                fmts = [o[5:] for o in opts if o.startswith("date-")]
                uses.extend(fmts or [""])
    elif kind == "list":
        for m in re.finditer(r"\bproperty\s*\((" + _QUOTED + r")\)", body, re.S | re.I):
            p = _params(m.group(1))
            name = p.get("name", "").lower()
            if name.startswith("$"):
                other_time = other_time or name.lstrip("$").split("-")[0] in ("now", "year", "month", "day", "hour")
            elif name in _TIME_PROPERTIES:
                uses.append(p.get("dateformat", "").lower())
    else:
        return None
    if any(u in _FULL_DATE_FORMATS for u in uses):
        return True
    if other_time or any(u not in _PARTIAL_DATE_FORMATS for u in uses):
        return None
    return False


def parse_rsyslog_file_events(text: str) -> list[tuple[int, str, dict[str, Any]]]:
    """rsyslog config text -> ordered events that decide file timestamps, each (line, kind, data):

    * "include" {"pattern"} ($IncludeConfig, include(file=…))
    * "default" {"template", "via"} ($ActionFileDefaultTemplate; module(load="builtin:omfile" template=…))
    * "template" {"name", "kind", "body"} (legacy $template name,"…"; template(name=… type=…))
    * "file" {"log", "template" or None} (legacy selector/filter/if…then actions to a file or
      ?dynafile; action(type="omfile" file=/dynaFile=…))
    """
    clean = _strip_rainer_comments(text)
    events = []  # type: list[tuple[int, str, dict[str, Any]]]

    def line_of(offset: int) -> int:
        return clean.count("\n", 0, offset) + 1

    for m in _RS_OBJECT_RE.finditer(clean):
        kind, p = m.group(1).lower(), _params(m.group(2))
        at = line_of(m.start())
        if kind == "include" and p.get("file"):
            events.append((at, "include", {"pattern": p["file"]}))
        elif kind == "module" and p.get("load", "").lower() in ("builtin:omfile", "omfile") and p.get("template"):
            events.append((at, "default", {"template": p["template"], "via": "module(load=\"builtin:omfile\")"}))
        elif kind == "template" and p.get("name"):
            typ = p.get("type", "").lower()
            body = p.get("string", "") if typ == "string" else (m.group(3) or "")
            events.append((at, "template", {"name": p["name"], "kind": typ, "body": body}))
        elif kind == "action" and p.get("type", "").lower() == "omfile":
            log = p.get("file") or ("?" + p["dynafile"] if p.get("dynafile") else "?")
            events.append((at, "file", {"log": log, "template": p.get("template")}))
    last_selector = None
    for n, raw in enumerate(clean.splitlines(), 1):
        s = raw.strip()
        if not s:
            continue
        if s.startswith("$"):
            f = s.split(None, 1)
            d = f[0].lower()
            if d == "$includeconfig" and len(f) > 1:
                events.append((n, "include", {"pattern": f[1].strip()}))
            elif d == "$actionfiledefaulttemplate" and len(f) > 1:
                events.append((n, "default", {"template": f[1].strip(), "via": "$ActionFileDefaultTemplate"}))
            elif d == "$template" and len(f) > 1:
                tm = re.match(r"^([^,\s]+)\s*,\s*\"((?:[^\"\\]|\\.)*)\"", f[1])
                if tm:
                    events.append((n, "template", {"name": tm.group(1), "kind": "string", "body": tm.group(2)}))
            continue
        action = None
        if s.startswith(":"):
            fm = re.match(r"^:[^,]+,\s*!?\s*[\w-]+\s*,\s*\"(?:[^\"\\]|\\.)*\"\s*(.+)$", s)
            action = fm.group(1) if fm else None
        elif re.match(r"^if\b", s, re.I):
            tm2 = re.search(r"\bthen\s+(.+)$", s)
            action = tm2.group(1) if tm2 else None
        elif re.match(r"^(action|include|module|input|global|template|ruleset|else|set|unset|call|stop|"
                      r"main_queue|property|constant|type|parser|\{|\})", s, re.I):
            continue
        else:
            f = s.split(None, 1)
            if len(f) == 2 and (f[0] == "&" or re.match(r"^[\w*,;.!=<>-]+$", f[0])):
                if f[0] != "&":
                    last_selector = f[0]
                action = f[1] if (f[0] != "&" or last_selector) else None
        if not action:
            continue
        action = action.strip()
        target, _, tpl = action.partition(";")
        target = target.strip().lstrip("-")
        if target.startswith("/"):
            events.append((n, "file", {"log": target, "template": tpl.strip() or None}))
        elif target.startswith("?"):
            events.append((n, "file", {"log": target, "template": tpl.strip() or None}))
    events.sort(key=lambda e: e[0])
    return events


def rsyslog_file_formats(ctx: Ctx, main: str = "/etc/rsyslog.conf") -> tuple[list[dict[str, Any]], list[str]]:
    """(one item per file action, files read) with the template each action really uses.

    Unlike the forwarding targets (order irrelevant), the default file template depends on order:
    omfile takes, for an action without its own template, the module() template if set, else the
    last $ActionFileDefaultTemplate read BEFORE the action, else RSYSLOG_FileFormat (omfile.c
    getDfltTpl).  So includes are followed in place, where the include statement stands.
    """
    events = []  # type: list[tuple[str, int, str, dict[str, Any]]]
    files = []  # type: list[str]

    def walk(path: str, depth: int) -> None:
        if depth > 10 or path in files:
            return
        text = ctx.read(path)
        if text is None:
            return
        files.append(path)
        for line, kind, data in parse_rsyslog_file_events(text):
            if kind == "include":
                pat = data["pattern"]
                pat = pat if pat.startswith("/") else "/" + pat
                for f in (ctx.glob(pat.rstrip("/") + "/*") if ctx.isdir(pat) else ctx.glob(pat)):
                    walk(f, depth + 1)
            else:
                events.append((path, line, kind, data))

    walk(main, 0)
    templates = {}  # type: dict[str, tuple[str, str]]
    for _, _, kind, data in events:
        if kind == "template":
            templates[data["name"].lower()] = (data["kind"], data["body"])
    module_default = None  # type: str | None
    legacy_default = None  # type: str | None
    items = []  # type: list[dict[str, Any]]
    for path, line, kind, data in events:
        if kind == "default":
            if data["via"].startswith("module"):
                module_default = data["template"]
            else:
                legacy_default = data["template"]
            continue
        if kind != "file":
            continue
        name = data["template"] or module_default or legacy_default or RSYSLOG_DEFAULT_FILE_TEMPLATE
        key = name.lower()
        if key in templates:
            full = template_timestamp_full(*templates[key])
        else:
            full = RSYSLOG_BUILTIN_TEMPLATES.get(key)
        items.append({"log": data["log"], "writer": "rsyslog", "format": name, "full": full,
                      "source": "%s:%d" % (path, line)})
    return items, files


def collect_log_timestamps(ctx: Ctx) -> None:
    """/logging/timestamp_formats: each local log writer and whether its timestamps carry the date
    with the year and the time zone (full).  A writer the probe cannot judge makes the fact a
    ``manual`` review, unless another writer already fails for certain."""
    ptr = "/logging/timestamp_formats"
    items = []  # type: list[dict[str, Any]]
    if ctx.exists("/etc/rsyslog.conf"):
        found, files = rsyslog_file_formats(ctx)
        items.extend(found)
        ctx.add_evidence(ptr, "probe:effective", "rsyslog files read: %s; file actions: %s" % (
            ", ".join(files), "; ".join("%s -> %s (%s)" % (i["log"], i["format"], i["source"]) for i in found)
            or "none"))
    elif ctx.exists("/etc/syslog-ng/syslog-ng.conf"):
        text = _strip_rainer_comments(ctx.read("/etc/syslog-ng/syslog-ng.conf") or "")
        m = re.search(r"\bts[-_]format\s*\(\s*([\w-]+)\s*\)", text)
        fmt = m.group(1).lower() if m else "rfc3164"
        full = True if fmt in ("iso", "rfc3339") else False  # type: bool | None
        if re.search(r"\btemplate\s*\(", text) or re.search(r"@include\s+\"(?!scl\.conf)", text):
            full = None if full is False else full
        items.append({"log": "syslog-ng files", "writer": "syslog-ng", "format": "ts_format(%s)" % fmt,
                      "full": full, "source": "/etc/syslog-ng/syslog-ng.conf"})
    if any(ctx.exists(p) for p in JOURNALD_BINARIES):
        # the same reading of journald.conf and its drop-ins as /logging/journal (one parser for both)
        storage, src = journal_effective(systemd_settings(ctx, "journald.conf", "Journal", ptr))[:2]
        persistent = storage == "persistent" or (storage == "auto" and ctx.isdir("/var/log/journal"))
        ctx.add_evidence(ptr, "probe:effective", "journald Storage=%s (%s), /var/log/journal %s: %s" % (
            storage, src, "exists" if ctx.isdir("/var/log/journal") else "absent",
            "persistent" if persistent else "not persistent (keeps nothing to judge)"))
        if persistent:
            items.append({"log": "/var/log/journal", "writer": "journald", "format": "realtime usec UTC",
                          "full": True, "source": src})
    undecided = [i for i in items if i["full"] is None]
    if undecided and not any(i["full"] is False for i in items):
        ctx.needs_review(ptr, "cannot judge the timestamp of: %s" % ", ".join(
            "%s (template %s, %s)" % (i["log"], i["format"], i["source"]) for i in undecided))
        return
    ctx.fact(ptr, items)


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

SECTIONS = [
    ("os", collect_os),
    ("password_policy", collect_password_policy),
    ("lockout", collect_lockout),
    ("network", collect_network),
    ("ssh", collect_ssh),
    ("banners", collect_login_banners),
    ("idle_timeout", collect_idle_timeout),
    ("services", collect_services),
    ("time", collect_time),
    ("logging", collect_logging),
    ("removable_media", collect_removable_media),
    ("screen_lock", collect_screen_lock),
    ("firmware", collect_firmware),
    ("disk_encryption", collect_disk_encryption),
    ("antimalware", collect_antimalware),
    ("management", collect_management),
    ("password_storage", collect_password_storage),
    ("log_timestamps", collect_log_timestamps),
]


def run_section(ctx: Ctx, name: str, fn: Callable[[Ctx], None]) -> None:
    try:
        fn(ctx)
    except Exception as exc:  # noqa: BLE001 -- one section must never sink the probe
        reason = "probe error in section %s: %s: %s" % (name, type(exc).__name__, exc)
        for p in SECTION_FACTS.get(name, []):
            ctx.error(p, reason)


def collect(root: str = "/", now: float | None = None, commands: bool | None = None,
            offline: bool = False) -> dict[str, Any]:
    """Run every section and return the facts document (a dict).

    ``offline``: ``root`` is a saved file tree (no commands, no /proc, /sys, /run, /dev): facts only a
    running host gives are left out with an error, so they can never pass."""
    t0 = time.monotonic()
    ctx = Ctx(root, commands=commands, now=now, offline=offline)
    for name, fn in SECTIONS:
        run_section(ctx, name, fn)
    host = ctx.facts.get("os", {}).get("hostname") or socket.gethostname() or "unknown"
    collected = utc_text(ctx.now, "%Y-%m-%dT%H:%M:%SZ")
    return {
        "format_version": "1",
        "host": host,
        "platform": "linux",
        "device_class": "linux_server",
        "collected_at": collected,
        "probe": {"name": PROBE_NAME, "version": PROBE_VERSION,
                  "duration_ms": round((time.monotonic() - t0) * 1000.0, 1)},
        "facts": ctx.facts,
        "errors": ctx.errors,
        "manual": ctx.manual,
        "evidence": ctx.evidence,
    }


def main(argv: list[str] | None = None) -> int:
    """Print the facts document.  ``--root DIR`` reads a copied filesystem instead of "/"
    (commands are then unavailable): for debugging and tests, never used by the auditor."""
    argv = list(sys.argv[1:] if argv is None else argv)
    root = "/"
    if len(argv) >= 2 and argv[0] == "--root":
        root = argv[1]
    doc = collect(root)
    # ASCII-only JSON: the remote locale (sudo, C locale) cannot break stdout.
    sys.stdout.write(json.dumps(doc, ensure_ascii=True, sort_keys=False))
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
