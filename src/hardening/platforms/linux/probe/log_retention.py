"""Section `logging`: local retention (logrotate rules, journald storage) and forwarding."""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Callable

from .base import Ctx, int_or, to_int
from .includes import IncludeRule, IncludeWalk
from .log_forwarding import SYSLOG_NG_INCLUDE, config_targets, parse_syslog_ng, rsyslog_targets
from .systemd_conf import parse_timespan_seconds, systemd_settings

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


# logrotate's include: a directory brings in its regular files in name order (hidden ones too) except
# the taboo names; otherwise a glob, or the one path as written.
LOGROTATE_INCLUDE = IncludeRule("glob_or_dir", hidden=True, skip=tuple("*" + t for t in LOGROTATE_TABOO),
                                files_only=True)


def logrotate_rules(ctx: Ctx, main: str = "/etc/logrotate.conf") -> tuple[list[dict[str, Any]], list[str]]:
    settings = dict(LOGROTATE_DEFAULTS)  # type: dict[str, Any]
    rules = []  # type: list[dict[str, Any]]
    walk = IncludeWalk(ctx.read, ctx.glob, isdir=ctx.isdir, listdir=ctx.listdir, isfile=ctx.isfile)

    def handle(path: str, text: str) -> None:
        def include(pattern: str) -> None:
            walk.include(LOGROTATE_INCLUDE, pattern, path, handle)

        parse_logrotate(text, path, settings, rules, include)

    if ctx.exists(main):
        walk.visit(main, handle)
    return rules, walk.files


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
        targets, files = config_targets(ctx, "/etc/syslog-ng/syslog-ng.conf", parse_syslog_ng, SYSLOG_NG_INCLUDE)
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
