"""systemd-journald retention and systemd-timesyncd state over fake roots (systemd config precedence,
time spans, the state files timesyncd writes, one SNTP measurement on loopback)."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

import pytest

NOW = 1_800_000_000.0


def make_root(base, files, mtimes=None):
    """Write {host path: text} under base; a path ending in "/" is a directory."""
    for path, text in files.items():
        target = base / path.lstrip("/")
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for path, when in (mtimes or {}).items():
        os.utime(base / path.lstrip("/"), (when, when))
    return str(base)


# -- time spans and config files -----------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds"), [
    ("1year", 31_557_600), ("1y", 31_557_600), ("1month", 2_629_800), ("1M", 2_629_800), ("1m", 60),
    ("2w 3d", 1_468_800), ("2w3d", 1_468_800), ("90", 90), ("5min 30s", 330), ("1.5h", 5400),
    ("500ms", 0.5), ("250us", 0.00025), ("3 days", 259_200), ("12 hours", 43_200), ("1 week", 604_800),
])
def test_timespan_seconds(probe, text, seconds):
    assert probe.parse_timespan_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "1 fortnight", "abc", "1Y", "-5d", "1.2.3s"])
def test_timespan_rejects_what_systemd_rejects(probe, text):
    with pytest.raises(ValueError, match="time span"):
        probe.parse_timespan_seconds(text)


def test_timespan_days(probe):
    assert probe.parse_timespan_days("1year") == 365  # 365.25 days
    assert probe.parse_timespan_days("3month") == 91  # 3 x 30.44 days
    assert probe.parse_timespan_days("0") is None
    assert probe.parse_timespan_days("infinity") is None


def test_systemd_conf_precedence(probe, tmp_path):
    root = make_root(tmp_path, {
        "/etc/systemd/journald.conf": "[Journal]\n",
        "/usr/lib/systemd/journald.conf": "[Journal]\nStorage=volatile\n",  # hidden by /etc's main file
        "/usr/lib/systemd/journald.conf.d/10-vendor.conf": "[Journal]\n",   # hidden by /etc's 10-vendor.conf
        "/etc/systemd/journald.conf.d/10-vendor.conf": "[Journal]\n",
        "/run/systemd/journald.conf.d/50-run.conf": "[Journal]\n",
        "/usr/local/lib/systemd/journald.conf.d/40-local.conf": "[Journal]\n",
        "/usr/lib/systemd/journald.conf.d/90-late.conf": "[Journal]\n",
        "/etc/systemd/journald.conf.d/README": "not a .conf file\n",
    })
    files = probe.systemd_conf_files(probe.Ctx(root), "journald.conf")
    assert files == ["/etc/systemd/journald.conf", "/etc/systemd/journald.conf.d/10-vendor.conf",
                     "/usr/local/lib/systemd/journald.conf.d/40-local.conf",
                     "/run/systemd/journald.conf.d/50-run.conf", "/usr/lib/systemd/journald.conf.d/90-late.conf"]


def test_systemd_conf_sections_comments_continuations(probe):
    text = ("# comment\n; also a comment\nMaxRetentionSec=1d\n[Journal]\n  Storage = persistent  \n"
            "MaxRetentionSec=2w \\\n 3d\n[Other]\nStorage=volatile\n[Journal]\n#Storage=none\n")
    assert probe.parse_systemd_conf(text, "Journal") == [("Storage", "persistent"), ("MaxRetentionSec", "2w 3d")]


# -- journald ---------------------------------------------------------------------------------------

JOURNALD = {"/lib/systemd/systemd-journald": "", "/proc/1/comm": "systemd-journal\n"}
SHORT_LOGROTATE = {"/etc/logrotate.conf": "/var/log/syslog {\n  weekly\n  rotate 4\n}\n", "/var/log/syslog": ""}


def journal_of(probe, root):
    ctx = probe.Ctx(root, now=NOW)
    probe.collect_logging(ctx)
    return ctx


def test_journald_persistent_with_dropins_last_wins(probe, tmp_path):
    root = make_root(tmp_path, {**JOURNALD, **SHORT_LOGROTATE,
        "/etc/systemd/journald.conf": "[Journal]\n#Storage=auto\nMaxRetentionSec=1month\n",
        "/usr/lib/systemd/journald.conf.d/10-vendor.conf": "[Journal]\nMaxRetentionSec=1week\n",
        "/etc/systemd/journald.conf.d/10-vendor.conf": "[Journal]\nMaxRetentionSec=2w 3d\n",
        "/run/systemd/journald.conf.d/50-site.conf": "[Journal]\nStorage=persistent\nMaxRetentionSec=1year\n",
        "/usr/lib/systemd/journald.conf.d/60-late.conf":
            "[Other]\nMaxRetentionSec=1d\n[Journal]\nMaxRetentionSec=bogus\nStorage=sometimes\n",
    })
    ctx = journal_of(probe, root)
    assert ctx.facts["logging"]["journal"] == {"present": True, "running": True, "storage": "persistent",
                                               "persistent": True, "max_retention_days": 365}
    assert ctx.facts["logging"]["retention_days"] == 28  # rsyslog's files are judged on their own
    notes = " ".join(e.get("excerpt", "") for e in ctx.evidence["/logging/journal"])
    assert "50-site.conf" in notes


@pytest.mark.parametrize(("files", "persistent", "storage"), [
    ({"/etc/systemd/journald.conf": "[Journal]\nStorage=volatile\nMaxRetentionSec=1y\n"}, False, "volatile"),
    ({"/etc/systemd/journald.conf": "[Journal]\nStorage=none\nMaxRetentionSec=1y\n"}, False, "none"),
    ({"/etc/systemd/journald.conf": "[Journal]\nMaxRetentionSec=1y\n"}, False, "auto"),  # no /var/log/journal
    ({"/etc/systemd/journald.conf": "[Journal]\nMaxRetentionSec=1y\n", "/var/log/journal/": ""}, True, "auto"),
    ({"/etc/systemd/journald.conf": "[Journal]\nStorage=volatile\n",
      "/etc/systemd/journald.conf.d/zz.conf": "[Journal]\nStorage=persistent\nMaxRetentionSec=1y\n"},
     True, "persistent"),
])
def test_journald_storage(probe, tmp_path, files, persistent, storage):
    ctx = journal_of(probe, make_root(tmp_path, {**JOURNALD, **SHORT_LOGROTATE, **files}))
    journal = ctx.facts["logging"]["journal"]
    assert (journal["persistent"], journal["storage"], journal["max_retention_days"]) == (persistent, storage, 365)


@pytest.mark.parametrize("setting", ["", "MaxRetentionSec=0\n", "MaxRetentionSec=1y\nMaxRetentionSec=0\n"])
def test_journald_without_time_limit_is_no_retention(probe, tmp_path, setting):
    root = make_root(tmp_path, {**JOURNALD, **SHORT_LOGROTATE,
                                "/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n" + setting})
    ctx = journal_of(probe, root)
    assert ctx.facts["logging"]["journal"]["max_retention_days"] is None
    notes = " ".join(e.get("excerpt", "") for e in ctx.evidence["/logging/journal"])
    assert "no retention period" in notes


def test_journald_not_running(probe, tmp_path):
    root = make_root(tmp_path, {"/lib/systemd/systemd-journald": "", "/proc/1/comm": "rsyslogd\n",
                                **SHORT_LOGROTATE,
                                "/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\nMaxRetentionSec=1y\n"})
    assert journal_of(probe, root).facts["logging"]["journal"]["running"] is False


def test_journald_running_unknown_is_error(probe, tmp_path):
    root = make_root(tmp_path, {"/lib/systemd/systemd-journald": "", **SHORT_LOGROTATE})
    ctx = journal_of(probe, root)
    assert "/logging/journal/running" in ctx.errors
    assert "running" not in ctx.facts["logging"]["journal"]


def test_no_journald_is_a_determined_absence(probe, tmp_path):
    ctx = journal_of(probe, make_root(tmp_path, dict(SHORT_LOGROTATE)))
    assert ctx.facts["logging"]["journal"] == {"present": False, "running": False, "storage": None,
                                               "persistent": False, "max_retention_days": None}


def test_journal_only_host_files_keep_nothing(probe, tmp_path):
    root = make_root(tmp_path, {**JOURNALD, "/var/log/journal/": "",
                                "/etc/systemd/journald.conf": "[Journal]\nMaxRetentionSec=100d\n"})
    ctx = journal_of(probe, root)
    assert ctx.facts["logging"]["retention_days"] == 0
    assert ctx.facts["logging"]["journal"]["max_retention_days"] == 100
    assert "/logging/retention_days" not in ctx.errors


# -- systemd-timesyncd ------------------------------------------------------------------------------

TIMESYNCD = {"/usr/lib/systemd/systemd-timesyncd": "", "/proc/77/comm": "systemd-timesyn\n",
             "/etc/systemd/timesyncd.conf": "[Time]\n#NTP=\n#FallbackNTP=0.debian.pool.ntp.org 1.debian.pool.ntp.org\n"}
SYNCED = "/run/systemd/timesync/synchronized"


def time_of(probe, root):
    ctx = probe.Ctx(root, now=NOW)
    probe.collect_time(ctx)
    return ctx


def test_timesyncd_site_servers_synchronised(probe, tmp_path):
    site = "[Time]\nNTP=10.0.0.1 10.0.0.2\nFallbackNTP=\n"
    root = make_root(tmp_path, {**TIMESYNCD, SYNCED: "", "/etc/systemd/timesyncd.conf.d/50-site.conf": site,
                                # chrony's config left behind, but chronyd does not run: timesyncd is the client
                                "/etc/chrony/chrony.conf": "pool 2.debian.pool.ntp.org iburst\n"},
                     mtimes={SYNCED: NOW - 100})
    ctx = time_of(probe, root)
    assert ctx.facts["time"] == {"ntp_servers": ["10.0.0.1", "10.0.0.2"], "synchronized": True}
    # no D-Bus, no network under a fake root: the offset is not known, and says why (never a pass)
    assert "/time/offset_ms_abs" in ctx.errors
    assert "chrony" not in ctx.errors["/time/offset_ms_abs"]


@pytest.mark.parametrize(("conf", "servers"), [
    ("", ["(systemd-timesyncd compiled-in FallbackNTP)"]),                # nothing set: the distribution's pool
    ("[Time]\nFallbackNTP=\n", []),                                        # empty FallbackNTP= disables it
    ("[Time]\nFallbackNTP=time.example.org\n", ["time.example.org"]),      # replaces the compiled-in list
    ("[Time]\nNTP=10.0.0.1\n", ["10.0.0.1"]),                              # fallback unused when NTP= is set
    ("[Time]\nNTP=10.0.0.9\nNTP=\nNTP=10.0.0.1 10.0.0.1\nNTP=10.0.0.2\n", ["10.0.0.1", "10.0.0.2"]),
])
def test_timesyncd_effective_servers(probe, tmp_path, conf, servers):
    root = make_root(tmp_path, {**TIMESYNCD, "/etc/systemd/timesyncd.conf.d/50-site.conf": conf})
    assert time_of(probe, root).facts["time"]["ntp_servers"] == servers


def test_timesyncd_link_servers_from_networkd(probe, tmp_path):
    root = make_root(tmp_path, {**TIMESYNCD, "/run/systemd/netif/state": "OPER_STATE=routable\nNTP=192.0.2.5\n"})
    assert time_of(probe, root).facts["time"]["ntp_servers"] == ["192.0.2.5"]


def test_timesyncd_never_synchronised_since_boot(probe, tmp_path):
    root = make_root(tmp_path, {**TIMESYNCD, "/etc/systemd/timesyncd.conf.d/50-site.conf": "[Time]\nNTP=10.0.0.1\n"})
    ctx = time_of(probe, root)
    assert ctx.facts["time"]["synchronized"] is False


@pytest.mark.parametrize(("age", "conf", "synced"), [
    (4000, "", True),                                  # within 2 x PollIntervalMaxSec (2048 s)
    (5000, "", False),                                 # stale: no adjustment for too long
    (5000, "PollIntervalMaxSec=1h\n", True),           # a longer poll interval tolerates more
])
def test_timesyncd_stale_synchronised_file(probe, tmp_path, age, conf, synced):
    root = make_root(tmp_path, {**TIMESYNCD, SYNCED: "",
                                "/etc/systemd/timesyncd.conf.d/50-site.conf": "[Time]\nNTP=10.0.0.1\n" + conf},
                     mtimes={SYNCED: NOW - age})
    assert time_of(probe, root).facts["time"]["synchronized"] is synced


def test_timesyncd_not_running_is_error(probe, tmp_path):
    files = {**TIMESYNCD, "/proc/77/comm": "sshd\n", SYNCED: ""}
    ctx = time_of(probe, make_root(tmp_path, files))
    assert ctx.errors["/time/synchronized"] == "systemd-timesyncd is not running"


def test_timedatectl_answers(probe, tmp_path, monkeypatch):
    root = make_root(tmp_path, {**TIMESYNCD, SYNCED: ""}, mtimes={SYNCED: NOW - 10})
    show = ("LinkNTPServers=\nSystemNTPServers=10.0.0.1\nRuntimeNTPServers=\n"
            "FallbackNTPServers=0.debian.pool.ntp.org 1.debian.pool.ntp.org\nServerName=10.0.0.1\n"
            "ServerAddress=10.0.0.1\nPollIntervalMaxUSec=34min 8s\n")
    status = ("       Server: 10.0.0.1 (10.0.0.1)\nPoll interval: 32s (min: 32s; max 34min 8s)\n"
              "         Leap: normal\n      Version: 4\n      Stratum: 2\n    Reference: C0248F86\n"
              "    Precision: 1us (-20)\nRoot distance: 335us (max: 5s)\n       Offset: -1.234ms\n"
              "        Delay: 1.002ms\n       Jitter: 0\n Packet count: 3\n    Frequency: +0.000ppm\n")
    outputs = {"show-timesync": show, "timesync-status": status}

    def run(self, argv, timeout=5.0):
        if argv[0] != "timedatectl":
            return None
        return probe.CmdResult(0, outputs[argv[1]], "", argv)

    monkeypatch.setattr(probe.Ctx, "run", run)
    ctx = time_of(probe, root)
    assert ctx.facts["time"] == {"ntp_servers": ["10.0.0.1"], "synchronized": True, "offset_ms_abs": 1.234,
                                 "stratum": 3, "selected_source": "10.0.0.1"}
    assert not [p for p in ctx.errors if p.startswith("/time")]


def test_timedatectl_fallback_in_use(probe, tmp_path, monkeypatch):
    root = make_root(tmp_path, dict(TIMESYNCD))
    show = "LinkNTPServers=\nSystemNTPServers=\nFallbackNTPServers=0.debian.pool.ntp.org 1.debian.pool.ntp.org\n"
    monkeypatch.setattr(probe.Ctx, "run", lambda self, argv, timeout=5.0: probe.CmdResult(
        0 if argv[1] == "show-timesync" else 1, show if argv[1] == "show-timesync" else "", "", argv))
    assert time_of(probe, root).facts["time"]["ntp_servers"] == ["0.debian.pool.ntp.org", "1.debian.pool.ntp.org"]


# -- one SNTP measurement (loopback only) -------------------------------------------------------------

def fake_ntp_server(skew: float, stratum: int = 2, leap: int = 0):
    """A one-shot NTP server on 127.0.0.1 whose clock is `skew` seconds ahead of ours."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)

    def stamp(t):
        return struct.pack("!II", int(t) + 2208988800, int((t % 1.0) * 2 ** 32))

    def serve():
        try:
            data, peer = sock.recvfrom(512)
        except OSError:
            return
        now = time.time() + skew
        header = bytes([(leap << 6) | (4 << 3) | 4, stratum, 6, 0xEC]) + bytes(20)
        reply = header + data[40:48] + stamp(now) + stamp(now)
        sock.sendto(reply, peer)
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    return sock.getsockname()[1]


def test_sntp_query_measures_offset(probe, monkeypatch):
    port = fake_ntp_server(skew=0.25)
    real = socket.getaddrinfo
    monkeypatch.setattr(probe.socket, "getaddrinfo", lambda host, _port, *a: real(host, port, *a))
    got = probe.sntp_query("127.0.0.1")
    assert got["stratum"] == 2
    assert got["offset_ms_abs"] == pytest.approx(250, abs=30)


def test_sntp_query_refuses_unsynchronised_server(probe, monkeypatch):
    port = fake_ntp_server(skew=0.0, stratum=16, leap=3)
    real = socket.getaddrinfo
    monkeypatch.setattr(probe.socket, "getaddrinfo", lambda host, _port, *a: real(host, port, *a))
    with pytest.raises(ValueError, match="not a synchronised NTP server"):
        probe.sntp_query("127.0.0.1")


@pytest.mark.parametrize(("files", "storage", "persistent"), [
    # journald matches Storage= case-sensitively: "Persistent" is rejected (ignored), volatile stays
    ({"/etc/systemd/journald.conf": "[Journal]\nStorage=volatile\n",
      "/etc/systemd/journald.conf.d/50-typo.conf": "[Journal]\nStorage=Persistent\n"}, "volatile", False),
    # an invalid or empty value leaves the previous valid one in force
    ({"/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n",
      "/etc/systemd/journald.conf.d/50-bad.conf": "[Journal]\nStorage=disk\nStorage=\n"}, "persistent", True),
    # newer systemd: the main file only under /usr/lib
    ({"/usr/lib/systemd/journald.conf": "[Journal]\nStorage=persistent\n"}, "persistent", True),
])
def test_journal_storage_one_reading_for_retention_and_timestamps(probe, tmp_path, files, storage, persistent):
    """/logging/journal and /logging/timestamp_formats read journald.conf the same way (as journald does)."""
    ctx = probe.Ctx(make_root(tmp_path, {**JOURNALD, **files}), now=NOW)
    probe.collect_logging(ctx)
    probe.collect_log_timestamps(ctx)
    logging = ctx.facts["logging"]
    assert (logging["journal"]["storage"], logging["journal"]["persistent"]) == (storage, persistent)
    writers = [i["writer"] for i in logging["timestamp_formats"]]
    assert writers == (["journald"] if persistent else [])
