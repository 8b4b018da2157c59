"""Shared ground of every section: constants, pure helpers, and `Ctx`, the one door to the host
(files under a root prefix, commands, processes) that also gathers facts, errors and evidence.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    sys.dont_write_bytecode = True  # read-only on the host, even for lazy stdlib imports

import datetime  # noqa: E402
import fnmatch  # noqa: E402
import glob as _glob  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from typing import Any, cast  # noqa: E402

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
