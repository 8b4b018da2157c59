"""Section `time`: configured sources and synchronisation state (chrony, ntpd,
systemd-timesyncd, a direct SNTP measurement).
"""

from __future__ import annotations

import os
import re
import socket
import time
from typing import Any, Callable, cast

from .base import EXCERPT_MAX, Ctx, int_or, to_int, utc_text
from .includes import IncludeRule, IncludeWalk
from .systemd_conf import parse_timespan_seconds, systemd_settings


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


# chrony: ``include`` takes a glob; ``confdir`` / ``sourcedir`` read the *.conf / *.sources of directories.
CHRONY_INCLUDE = IncludeRule("glob")


def chrony_sources(
    main_path: str, read: Callable[[str], str | None], glob_: Callable[[str], list[str]]
) -> tuple[list[str], bool, list[str]]:
    """Configured time sources and whether `local` is configured.

    Follows ``include`` (glob), ``confdir`` (*.conf of the dirs) and
    ``sourcedir`` (*.sources of the dirs).  Returns (servers, local, files).
    """
    servers = []
    local = [False]
    walk = IncludeWalk(read, glob_)

    def handler(kinds: tuple[str, ...]) -> Callable[[str, str], None]:
        def handle(path: str, text: str) -> None:
            for d, args in parse_chrony_directives(text):
                if d in ("server", "pool", "peer") and args and d in kinds:
                    if args[0] not in servers:
                        servers.append(args[0])
                elif d == "local" and "local" in kinds:
                    local[0] = True
                elif d == "include" and args and "include" in kinds:
                    walk.include(CHRONY_INCLUDE, args[0], path, handle)
                elif d == "confdir" and "include" in kinds:
                    names = {}  # type: dict[str, str]
                    for dirpath in args:  # same file name in several dirs: the first dir wins
                        for f in walk.expand(CHRONY_INCLUDE, dirpath.rstrip("/") + "/*.conf", path):
                            names.setdefault(os.path.basename(f), f)
                    for n in sorted(names):
                        walk.visit(names[n], handle)
                elif d == "sourcedir" and "include" in kinds:
                    for dirpath in args:
                        walk.include(CHRONY_INCLUDE, dirpath.rstrip("/") + "/*.sources", path,
                                     handler(("server", "pool", "peer")))
        return handle

    walk.visit(main_path, handler(("server", "pool", "peer", "local", "include")))
    return servers, local[0], walk.files


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
