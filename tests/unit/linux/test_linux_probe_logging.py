"""Remote log targets (rsyslog, syslog-ng) and local retention (logrotate, journald)."""

from __future__ import annotations


def test_rsyslog_legacy_and_rainerscript(probe, ctx_for):
    ctx = ctx_for("rsyslog")
    targets, files = probe.rsyslog_targets(ctx)
    assert files == ["/etc/rsyslog.conf", "/etc/rsyslog.d/10-legacy.conf", "/etc/rsyslog.d/20-rainer.conf",
                     "/etc/rsyslog.extra/30-relp.conf"]
    got = [(t["host"], t["port"], t["protocol"], t.get("selector")) for t in targets]
    assert got == [
        ("loghost-udp.example.jp", 514, "udp", "*.*"),
        ("loghost-tcp.example.jp", 10514, "tcp", "auth,authpriv.*"),
        ("2001:db8::10", 6514, "tcp", "auth,authpriv.*"),  # "&" continues the previous selector
        ("tls.example.jp", 6514, "tls", "kern.*"),  # after $ActionSendStreamDriverMode 1
        ("10.1.2.3", 1514, "tcp", "*.info"),  # multi-line action() with a comment inside
        ("10.1.2.4", 514, "udp", None),
        ("relp.example.jp", 2514, "tls", None),  # omrelp with tls="on"
        ("relp2.example.jp", 2515, "relp", "mail.*"),
    ]
    assert "commented.example.org" not in repr(targets)


def test_syslog_ng_only_used_destinations(probe, fixtures):
    text = (fixtures / "syslog-ng" / "etc" / "syslog-ng" / "syslog-ng.conf").read_text()
    targets, includes = probe.parse_syslog_ng(text)
    assert includes == ["scl.conf"]
    assert targets == [
        {"host": "10.9.9.9", "port": 1514, "protocol": "tcp", "selector": "destination d_net"},
        {"host": "logs.example.jp", "port": 6514, "protocol": "tls", "selector": "destination d_tls"},
    ]


def test_logrotate_per_file_block_beats_global(probe, ctx_for):
    ctx = ctx_for("logrotate")
    rules, files = probe.logrotate_rules(ctx)
    assert "/etc/logrotate.d/rsyslog.dpkg-old" not in files  # taboo extension
    by_log = {x["log"]: x for x in probe.retention_for_logs(rules, probe.MAIN_LOGS)}
    # rsyslog block: rotate 52 daily, maxage 45 -> 45 (the "rotate 1" inside postrotate is script text)
    assert by_log["/var/log/syslog"]["days"] == 45
    assert by_log["/var/log/kern.log"]["days"] == 45
    # its own block only says rotate 13: period comes from the global "weekly" -> 91
    assert by_log["/var/log/auth.log"]["days"] == 91
    # zz-late-global: top-level "rotate 2" changes globals for later blocks; size-based -> weekly assumed
    assert by_log["/var/log/messages"]["days"] == 14
    assert "size-based" in by_log["/var/log/messages"]["source"]
    # no rule: never rotated
    assert by_log["/var/log/secure"]["days"] is None


def test_collect_logging_retention_minimum(probe, ctx_for):
    ctx = ctx_for("logrotate")
    probe.collect_logging(ctx)
    logs = [x["log"] for x in ctx.facts["logging"]["retention_by_log"]]
    # syslog, auth.log, secure exist; kern.log and messages appear in a block
    assert logs == probe.MAIN_LOGS
    assert ctx.facts["logging"]["retention_days"] == 14  # min over known values, unbounded ignored
    assert ctx.facts["logging"]["remote_targets"] == []


def test_logrotate_days_rules(probe):
    assert probe.logrotate_days({"rotate": 0, "period": "daily", "maxage": 0})[0] == 0
    assert probe.logrotate_days({"rotate": -1, "period": "daily", "maxage": 0})[0] is None
    assert probe.logrotate_days({"rotate": -1, "period": "daily", "maxage": 30})[0] == 30
    assert probe.logrotate_days({"rotate": 12, "period": "monthly", "maxage": 0})[0] == 360
    assert probe.logrotate_days({"rotate": 48, "period": "hourly", "maxage": 0})[0] == 2


def test_journald_timespan(probe):
    assert probe.parse_timespan_days("1month") == 30
    assert probe.parse_timespan_days("2w") == 14
    assert probe.parse_timespan_days("90d") == 90
    assert probe.parse_timespan_days("0") is None
    assert probe.parse_timespan_days("1y") == 365


def test_no_logs_no_journald_is_error(probe, ctx_for):
    ctx = ctx_for("rootfs-minimal")
    probe.collect_logging(ctx)
    assert ctx.facts["logging"]["remote_targets"] == []
    assert "/logging/retention_days" in ctx.errors
