"""Section `log_timestamps`: whether each local log writer's timestamps carry the year
and the time zone.
"""

from __future__ import annotations

import re
from typing import Any

from .base import Ctx
from .includes import IncludeWalk
from .log_forwarding import RSYSLOG_INCLUDE, _params, _strip_rainer_comments
from .log_retention import JOURNALD_BINARIES, journal_effective
from .systemd_conf import systemd_settings

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

    walk = IncludeWalk(ctx.read, ctx.glob, isdir=ctx.isdir, listdir=ctx.listdir, once=True)

    def handle(path: str, text: str) -> None:
        for line, kind, data in parse_rsyslog_file_events(text):
            if kind == "include":
                walk.include(RSYSLOG_INCLUDE, data["pattern"], path, handle)
            else:
                events.append((path, line, kind, data))

    walk.visit(main, handle)
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
    return items, walk.files


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
