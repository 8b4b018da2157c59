"""Remote log targets of rsyslog and syslog-ng, following their includes."""

from __future__ import annotations

import re
from typing import Any

from .base import Ctx, int_or
from .includes import IncludeRule, IncludeWalk


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


# $IncludeConfig / include(file=…): a glob, or a directory (all its files); rsyslogd runs in /, so a
# relative path is relative to /.  syslog-ng's @include takes the same, relative to its config dir.
RSYSLOG_INCLUDE = IncludeRule("glob_or_dir", relative_to="/")
SYSLOG_NG_INCLUDE = IncludeRule("glob_or_dir", relative_to="/etc/syslog-ng/")


def config_targets(ctx: Ctx, main: str, parse: Any, rule: IncludeRule) -> tuple[list[dict[str, Any]], list[str]]:
    """Forwarding targets of a syslog daemon's configuration, following its includes as `rule` says,
    each file once."""
    targets = []  # type: list[dict[str, Any]]
    walk = IncludeWalk(ctx.read, ctx.glob, isdir=ctx.isdir, listdir=ctx.listdir, once=True)

    def handle(path: str, text: str) -> None:
        t, inc = parse(text)
        targets.extend(t)
        for pat in inc:
            walk.include(rule, pat, path, handle)

    walk.visit(main, handle)
    return targets, walk.files


def rsyslog_targets(ctx: Ctx, main: str = "/etc/rsyslog.conf") -> tuple[list[dict[str, Any]], list[str]]:
    return config_targets(ctx, main, parse_rsyslog, RSYSLOG_INCLUDE)
