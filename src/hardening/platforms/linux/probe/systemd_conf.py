"""systemd configuration files with their drop-ins, and time spans: what journald and
timesyncd read.
"""

from __future__ import annotations

import os
import re

from .base import Ctx

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
