"""chrony configuration and tracking."""

from __future__ import annotations

import pytest


def tracking(probe, fixtures, name):
    return probe.parse_chronyc_tracking((fixtures / "chrony" / name).read_text())


def test_synced(probe, fixtures):
    f = probe.tracking_facts(tracking(probe, fixtures, "tracking-synced.csv"), local_configured=False)
    assert f["synchronized"] is True
    assert f["selected_source"] == "162.159.200.1"
    assert f["stratum"] == 4
    assert f["offset_ms_abs"] == pytest.approx(0.012345)  # |System time| in ms, not Last offset


def test_unsynced(probe, fixtures):
    f = probe.tracking_facts(tracking(probe, fixtures, "tracking-unsynced.csv"), local_configured=False)
    assert f["synchronized"] is False
    assert f["selected_source"] is None


def test_local_reference_counts_only_on_a_local_stratum_server(probe, fixtures):
    tr = tracking(probe, fixtures, "tracking-local.csv")
    server = probe.tracking_facts(tr, local_configured=True)
    assert server["synchronized"] is True
    assert server["selected_source"] == "LOCAL"
    assert server["stratum"] == 8
    client = probe.tracking_facts(tr, local_configured=False)
    assert client["synchronized"] is False


def test_offset_falls_back_to_last_offset(probe, fixtures):
    tr = tracking(probe, fixtures, "tracking-lastoffset.csv")
    tr["system_time"] = "garbage"
    f = probe.tracking_facts(tr, local_configured=False)
    assert f["offset_ms_abs"] == pytest.approx(2.5)


def test_bad_tracking_output_raises(probe):
    with pytest.raises(ValueError, match="unexpected chronyc"):
        probe.parse_chronyc_tracking("506 Cannot talk to daemon\n")


def test_chrony_sources_follow_confdir_sourcedir_include(probe, ctx_for):
    ctx = ctx_for("chrony-conf")
    servers, local, files = probe.chrony_sources("/etc/chrony/chrony.conf", ctx.read, ctx.glob)
    assert servers == ["2.debian.pool.ntp.org", "192.0.2.1", "ntp1.city.example.jp", "10.0.0.1", "10.0.0.2"]
    assert local is True  # conf.d/10-local.conf: local stratum 8
    assert "/etc/chrony/sources.d/ignored.conf" not in files  # sourcedir reads *.sources only


def test_collect_time_without_chronyc_is_error_not_false(probe, ctx_for):
    ctx = ctx_for("rootfs-debian12")  # chronyd runs (proc/24/comm) but commands are unavailable
    probe.collect_time(ctx)
    assert ctx.facts["time"] == {"ntp_servers": ["10.0.0.1"]}
    for k in ("synchronized", "selected_source", "offset_ms_abs", "stratum"):
        assert ctx.errors["/time/" + k] == "chronyc is not available"


def test_collect_time_nothing_configured(probe, ctx_for):
    ctx = ctx_for("rootfs-minimal")
    probe.collect_time(ctx)
    assert ctx.facts["time"]["ntp_servers"] == []
    assert "/time/synchronized" in ctx.errors


def test_ntpq_rv(probe):
    text = ('associd=0 status=0615 leap_none, sync_ntp, 1 event, clock_sync,\n'
            'version="ntpd 4.2.8p15", leap=00, stratum=3, precision=-23,\n'
            'refid=10.0.0.1, offset=-0.482, sys_jitter=0.1\n')
    f = probe.parse_ntpq_rv(text)
    assert f == {"synchronized": True, "stratum": 3, "offset_ms_abs": 0.482, "selected_source": "10.0.0.1"}
    f2 = probe.parse_ntpq_rv("associd=0 status=c016 leap_alarm, sync_unspec, 1 event, restart,\nstratum=16,\n")
    assert f2["synchronized"] is False
