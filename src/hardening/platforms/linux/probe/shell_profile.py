"""Section `idle_timeout`: the TMOUT a bash login shell really gets from the system files."""

from __future__ import annotations

import re
from typing import Any

from .base import Ctx, strip_comment_lines
from .includes import IncludeRule, IncludeWalk

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


# bash reads the files a ``for`` loop over a glob expands to in glob order (``. FILE`` / ``source FILE``
# reads one file; only absolute paths without variables are followed).
SHELL_SOURCE_LOOP = IncludeRule("glob")


def login_shell_statements(ctx: Ctx, path: str = "/etc/profile") -> list[dict[str, Any]]:
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
    out = []  # type: list[dict[str, Any]]
    walk = IncludeWalk(ctx.read, ctx.glob, strict=False)

    def sources(path: str, n: int, target: str) -> None:
        out.append({"file": path, "line": n, "text": "(sources %s)" % target, "conditional": False,
                    "sources": target})
        walk.visit(target, handle)

    def handle(path: str, text: str) -> None:
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
                        for f in walk.expand(SHELL_SOURCE_LOOP, _unquote(pat), path):
                            if ctx.isfile(f):
                                sources(path, n, f)
                continue
            src = _SOURCE_RE.match(re.sub(r"^(then|else|do|\{)\s+", "", stripped))
            if src:
                target = _unquote(src.group(1))
                if target.startswith("/") and "$" not in target and ctx.isfile(target):
                    sources(path, n, target)
                continue
            opens = sum(1 for w in words if w in _OPENERS) + (1 if _FUNC_RE.match(stripped) else 0)
            closes = sum(1 for w in words if w in _CLOSERS) + (1 if stripped == "}" else 0)
            conditional = nest > 0 or opens > closes or opens > 0 and closes > 0
            out.append({"file": path, "line": n, "text": stripped, "conditional": conditional})
            nest = max(0, nest + opens - closes)

    walk.visit(path, handle)
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
