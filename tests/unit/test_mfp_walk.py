"""net-snmp walk text (render/parse), DateAndTime with and without a UTC offset, vendor recognition, and the pure
parse of a printer's capture (mfp platform)."""

from __future__ import annotations

import datetime as dt

import pytest

from hardening.platforms.mfp.parse import NO_PROBES, build
from hardening.platforms.mfp.profiles import enterprise_of, profiles, recognise
from hardening.platforms.mfp.walk import (
    SnmpValue,
    WalkFormatError,
    date_and_time,
    parse_walk,
    render_walk,
    timeticks_text,
)

WALK = """\
.1.3.6.1.2.1.1.1.0 = STRING: "RICOH IM C3000 1.00"
.1.3.6.1.2.1.1.4.0 = STRING: "Taro "the admin" Sakado
ext. 1234"
.1.3.6.1.2.1.1.6.0 = Hex-STRING: E5 9D 82 E6 88 B8 E5 B8 82 E5 BD B9 E6 89 80 E6<SP>
9C AC E5 BA 81<SP>
.1.3.6.1.2.1.1.7.0 = ""
.1.3.6.1.2.1.2.2.1.8.1 = INTEGER: up(1)
.1.3.6.1.2.1.1.3.0 = Timeticks: (8640123) 1 day, 0:00:01.23
.1.3.6.1.2.1.25.1.3.0 = Wrong Type (should be INTEGER): STRING: "boot"
.1.3.6.1.2.1.43.5.1.1.16.1 = No Such Instance currently exists at this OID
.1.3.6.1.4.1.367.3.2.1.1.1.2.0 = No Such Object available on this agent at this OID
.1.3.6.1.2.1.4.20.1.1.10.0.0.1 = IpAddress: 10.0.0.1
.1.3.6.1.2.1.2.2.1.5.1 = Gauge32: 1000000000
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.367.1.1
.1.3.6.1.2.1.1.9.1.4.1 = Timeticks: (0) 0:00:00.00
.1.3.6.1.2.1.1.9.1.4.1 = No more variables left in this MIB View (It is past the end of the MIB tree)
""".replace("<SP>", " ")      # net-snmp ends each Hex-STRING line with a space


def test_parse_walk_reads_every_form_net_snmp_prints() -> None:
    walk = parse_walk(WALK)
    assert walk[".1.3.6.1.2.1.1.1.0"] == SnmpValue("STRING", "RICOH IM C3000 1.00")
    # quotes inside and a line break: the STRING runs to the last quote of its last line
    assert walk[".1.3.6.1.2.1.1.4.0"].text() == 'Taro "the admin" Sakado\next. 1234'
    # a Hex-STRING wrapped at 16 octets, decoded as UTF-8 text
    assert walk[".1.3.6.1.2.1.1.6.0"].text() == "坂戸市役所本庁"
    assert walk[".1.3.6.1.2.1.1.7.0"] == SnmpValue("STRING", "")
    assert walk[".1.3.6.1.2.1.2.2.1.8.1"] == SnmpValue("INTEGER", 1)
    assert walk[".1.3.6.1.2.1.1.3.0"] == SnmpValue("Timeticks", 8640123)
    assert walk[".1.3.6.1.2.1.25.1.3.0"] == SnmpValue("STRING", "boot")
    assert walk[".1.3.6.1.2.1.4.20.1.1.10.0.0.1"] == SnmpValue("IpAddress", "10.0.0.1")
    assert walk[".1.3.6.1.2.1.2.2.1.5.1"] == SnmpValue("Gauge32", 1000000000)
    assert walk[".1.3.6.1.2.1.1.2.0"] == SnmpValue("OID", ".1.3.6.1.4.1.367.1.1")
    # what the agent has not is not in the walk (the `No more variables` line does not replace a value either)
    assert ".1.3.6.1.2.1.43.5.1.1.16.1" not in walk
    assert ".1.3.6.1.4.1.367.3.2.1.1.1.2.0" not in walk
    assert walk[".1.3.6.1.2.1.1.9.1.4.1"] == SnmpValue("Timeticks", 0)


def test_parse_walk_accepts_oids_without_the_leading_dot_and_crlf() -> None:
    walk = parse_walk('1.3.6.1.2.1.1.5.0 = STRING: "mfp-01"\r\n')
    assert walk == {".1.3.6.1.2.1.1.5.0": SnmpValue("STRING", "mfp-01")}


@pytest.mark.parametrize(("text", "line"), [
    ("hello world\n", 1),
    ('.1.3.6.1.2.1.1.5.0 = STRING: "a"\n.1.3.6.1.2.1.1.3.0 = Timeticks: 12\n', 2),
    ('.1.3.6.1.2.1.1.5.0 = STRING: "a"\n.1.3.6.1.2.1.1.6.0 = Hex-STRING: ZZ\n', 2),
])
def test_parse_walk_refuses_text_that_is_no_walk_naming_the_line(text: str, line: int) -> None:
    with pytest.raises(WalkFormatError) as caught:
        parse_walk(text)
    assert caught.value.line == line


def test_render_then_parse_gives_the_same_values() -> None:
    values: dict[str, SnmpValue | None] = {
        ".1.3.6.1.2.1.1.1.0": SnmpValue("STRING", 'say "hi"\nsecond line'),
        ".1.3.6.1.2.1.1.3.0": SnmpValue("Timeticks", 8640000 * 3 + 123),
        ".1.3.6.1.2.1.1.6.0": SnmpValue("Hex-STRING", " ".join(["E5"] * 20)),
        ".1.3.6.1.2.1.1.7.0": SnmpValue("STRING", ""),
        ".1.3.6.1.2.1.1.8.0": SnmpValue("INTEGER", -3),
        ".1.3.6.1.2.1.43.5.1.1.16.1": None,
    }
    text = render_walk(values)
    assert "= No Such Object available on this agent at this OID" in text
    assert "Timeticks: (25920123) 3 days, 0:00:01.23" in text
    assert parse_walk(text) == {oid: value for oid, value in values.items() if value is not None}
    # OIDs in numeric order, not text order (.1.3.6.1.2.1.1.10 after .1.3.6.1.2.1.1.9)
    ordered = render_walk({".1.3.6.1.2.1.1.10.0": SnmpValue("INTEGER", 1),
                           ".1.3.6.1.2.1.1.9.0": SnmpValue("INTEGER", 2)})
    assert ordered.index(".1.3.6.1.2.1.1.9.0") < ordered.index(".1.3.6.1.2.1.1.10.0")


def test_timeticks_text_is_net_snmps() -> None:
    assert timeticks_text(123) == "0:00:01.23"
    assert timeticks_text(8640000) == "1 day, 0:00:00.00"
    assert timeticks_text(2 * 8640000 + 360000 * 5 + 6000 * 7 + 809) == "2 days, 5:07:08.09"


# -- DateAndTime ------------------------------------------------------------------------------------------------------
UTC = dt.UTC


@pytest.mark.parametrize(("value", "zone", "expected_utc"), [
    # 11 octets, +9:00: the device's own offset counts, the site zone does not
    (SnmpValue("Hex-STRING", "07 EA 0B 1E 0A 14 1E 05 2B 09 00"), "UTC", dt.datetime(2026, 11, 30, 1, 20, 30, 500000)),
    # 11 octets, -5:00 (a device set to US Eastern): 20:20:30 on the 29th is 01:20:30 UTC on the 30th
    (SnmpValue("Hex-STRING", "07 EA 0B 1D 14 14 1E 00 2D 05 00"), "Asia/Tokyo", dt.datetime(2026, 11, 30, 1, 20, 30)),
    # +5:30 (minutes from UTC)
    (SnmpValue("Hex-STRING", "07 EA 0B 1E 06 32 1E 00 2B 05 1E"), "UTC", dt.datetime(2026, 11, 30, 1, 20, 30)),
    # 8 octets, no offset: read in the site's zone
    (SnmpValue("Hex-STRING", "07 EA 0B 1E 0A 00 00 00"), "Asia/Tokyo", dt.datetime(2026, 11, 30, 1, 0, 0)),
    (SnmpValue("Hex-STRING", "07 EA 0B 1E 0A 00 00 00"), "UTC", dt.datetime(2026, 11, 30, 10, 0, 0)),
    # net-snmp's display hint, with and without the offset part
    (SnmpValue("STRING", "2026-11-30,9:59:58.0,+9:0"), "UTC", dt.datetime(2026, 11, 30, 0, 59, 58)),
    (SnmpValue("STRING", "2026-11-30,10:0:0.3"), "Asia/Tokyo", dt.datetime(2026, 11, 30, 1, 0, 0, 300000)),
])
def test_date_and_time_with_and_without_utc_offset(value: SnmpValue, zone: str, expected_utc: dt.datetime) -> None:
    assert date_and_time(value, zone).astimezone(UTC) == expected_utc.replace(tzinfo=UTC)


@pytest.mark.parametrize("value", [SnmpValue("Hex-STRING", "07 EA 0B"), SnmpValue("STRING", "yesterday"),
                                   SnmpValue("Hex-STRING", "07 EA 0B 1E 0A 00 00 00 3F 09 00")])
def test_date_and_time_refuses_what_is_not_one(value: SnmpValue) -> None:
    with pytest.raises(ValueError, match="DateAndTime"):
        date_and_time(value, "Asia/Tokyo")


# -- recognition --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("object_id", "descr", "vendor"), [
    (".1.3.6.1.4.1.367.1.1", "anything", "ricoh"),
    (".1.3.6.1.4.1.1602.4.7", "", "canon"),
    ("1.3.6.1.4.1.297.1.11.93.1.47.1.1", None, "fujifilm"),
    (".1.3.6.1.4.1.2385.3.1.9", "", "sharp"),
    (".1.3.6.1.4.1.1347.41", "", "kyocera"),
    (".1.3.6.1.4.1.18334.1.1.1.2.1.136", "", "konica_minolta"),
    # a generic agent's sysObjectID (net-snmp): the sysDescr decides
    (".1.3.6.1.4.1.8072.3.2.10", "SHARP MX-3661", "sharp"),
    (None, "KYOCERA TASKalfa 3554ci", "kyocera"),
    (".1.3.6.1.4.1.8072.3.2.10", "FUJI XEROX DocuCentre-VI C3371", "fujifilm"),
    (".1.3.6.1.4.1.8072.3.2.10", "KONICA MINOLTA bizhub C360i", "konica_minolta"),
    # enterprise first: an OEM sysDescr does not override the enterprise
    (".1.3.6.1.4.1.367.1.1", "Savin C3000 (Canon compatible)", "ricoh"),
    # unknown maker: None, not an error
    (".1.3.6.1.4.1.2435.2.3.9.1", "Brother NC-8800h", None),
    (None, None, None),
])
def test_recognise(object_id: str | None, descr: str | None, vendor: str | None) -> None:
    found = recognise(object_id, descr)
    assert (found.key if found else None) == vendor


def test_enterprise_of() -> None:
    assert enterprise_of(".1.3.6.1.4.1.367.1.1") == 367
    assert enterprise_of("1.3.6.1.2.1.1") is None
    assert enterprise_of("") is None


def test_every_profile_oid_has_its_source_and_every_vendor_its_manual_steps() -> None:
    for profile in profiles().values():
        for setting, spec in profile.settings.items():
            assert spec.get("source"), f"{profile.key}: setting {setting} without a source"
        assert profile.web_admin.get("page_marker"), profile.key
        for requirement in ("MFP-STORAGE", "PW-VENDOR-DEFAULT", "MGMT-SECURE-PROTOCOLS", "SVC-MINIMAL",
                            "PORTS-CLOSED", "TIME-SYNC", "LOG-FORWARD"):
            steps = profile.manual_steps.get(requirement)
            assert steps, f"{profile.key}: no manual steps for {requirement}"
            assert steps["ja"], f"{profile.key}: {requirement} without Japanese steps"
            assert steps["en"], f"{profile.key}: {requirement} without English steps"


# -- parse ------------------------------------------------------------------------------------------------------------
IDENTITY = parse_walk("""\
.1.3.6.1.2.1.1.1.0 = STRING: "Canon iR-ADV C5840 /P"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.1602.4.7
.1.3.6.1.2.1.1.5.0 = STRING: "mfp-canon-01"
.1.3.6.1.2.1.25.1.2.0 = Hex-STRING: 07 EA 0B 1E 0A 00 00 00 2B 09 00
""")


def test_without_probes_every_live_fact_is_an_error_never_a_value() -> None:
    result = build(IDENTITY, None)
    for pointer in ("/management/web_admin", "/network/exposed_sockets", "/services/prohibited_present",
                    "/accounts/default_credentials_accepted", "/time/offset_ms_abs",
                    "/management/insecure_protocols"):
        assert result.errors[pointer] == NO_PROBES
    assert "network" not in result.facts
    assert "accounts" not in result.facts
    assert result.facts["os"]["vendor"] == "canon"


def test_vendor_setting_without_an_oid_is_manual_naming_the_vendor_and_place() -> None:
    result = build(IDENTITY, None)
    assert "Canon profile" in result.manual["/storage/encrypted"]
    assert "Remote UI" in result.manual["/storage/encrypted"]


def test_unknown_vendor_is_null_with_vendor_facts_manual() -> None:
    walk = dict(IDENTITY)
    walk[".1.3.6.1.2.1.1.1.0"] = SnmpValue("STRING", "Brother NC-8800h")
    walk[".1.3.6.1.2.1.1.2.0"] = SnmpValue("OID", ".1.3.6.1.4.1.2435.2.3.9.1")
    result = build(walk, {"read_at": "2026-11-30T01:00:00+00:00", "web_login": {"page": "no_profile"}})
    assert result.facts["os"]["vendor"] is None
    assert result.manual["/os/version"].startswith("unknown vendor")
    assert result.manual["/accounts/default_credentials_accepted"].startswith("unknown vendor")
    assert result.facts["time"]["offset_ms_abs"] == 0.0


def test_clock_offset_uses_the_site_zone_for_an_8_octet_date() -> None:
    walk = dict(IDENTITY)
    walk[".1.3.6.1.2.1.25.1.2.0"] = SnmpValue("Hex-STRING", "07 EA 0B 1E 0A 00 00 00")
    tokyo = build(walk, {"read_at": "2026-11-30T01:00:02+00:00", "time_zone": "Asia/Tokyo"})
    utc = build(walk, {"read_at": "2026-11-30T10:00:00.250+00:00", "time_zone": "UTC"})
    assert tokyo.facts["time"]["offset_ms_abs"] == 2000.0
    assert utc.facts["time"]["offset_ms_abs"] == 250.0


def test_a_vendor_setting_with_an_oid_reads_true_values_and_map(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    canon = profiles()["canon"]
    fake = replace(canon, settings={
        "storage_encrypted": {"oid": ".1.3.6.1.4.1.99999.1.0", "true_values": [1], "source": "TEST-MIB enc.0"},
        "overwrite_enabled": {"oid": ".1.3.6.1.4.1.99999.2.0", "map": {"3": True, "4": False},
                              "source": "TEST-MIB ow.0"},
        "sntp_servers": {"oid": ".1.3.6.1.4.1.99999.3", "table": True, "source": "TEST-MIB sntp"},
    })
    monkeypatch.setattr("hardening.platforms.mfp.parse.recognise", lambda *_: fake)
    walk = dict(IDENTITY)
    walk[".1.3.6.1.4.1.99999.1.0"] = SnmpValue("INTEGER", 1)
    walk[".1.3.6.1.4.1.99999.2.0"] = SnmpValue("INTEGER", 7)
    walk[".1.3.6.1.4.1.99999.3.1"] = SnmpValue("IpAddress", "10.203.0.1")
    walk[".1.3.6.1.4.1.99999.3.2"] = SnmpValue("IpAddress", "0.0.0.0")  # noqa: S104 - "no server"
    result = build(walk, None)
    assert result.facts["storage"]["encrypted"] is True
    assert "/storage/overwrite_enabled" in result.errors          # 7 is no value the profile maps: never a guess
    assert result.facts["time"]["ntp_servers"] == ["10.203.0.1"]


def test_a_clock_read_over_a_long_round_trip_is_no_offset() -> None:
    walk = dict(IDENTITY)
    slow = build(walk, {"read_at": "2026-11-30T01:00:00+00:00", "read_rtt_ms": 6500.0})
    quick = build(walk, {"read_at": "2026-11-30T01:00:00+00:00", "read_rtt_ms": 12.0})
    assert "/time/offset_ms_abs" in slow.errors
    assert "time" not in slow.facts
    assert quick.facts["time"]["offset_ms_abs"] == 0.0


def test_firmware_from_entity_mib_where_the_profile_has_no_object() -> None:
    walk = dict(IDENTITY)
    walk[".1.3.6.1.2.1.1.1.0"] = SnmpValue("STRING", "SHARP MX-3661")
    walk[".1.3.6.1.2.1.1.2.0"] = SnmpValue("OID", ".1.3.6.1.4.1.2385.3.1.9")
    assert "/os/version" in build(walk, None).manual
    walk[".1.3.6.1.2.1.47.1.1.1.1.10.1"] = SnmpValue("STRING", "3.50.00")
    assert build(walk, None).facts["os"]["version"] == "3.50.00"
    walk[".1.3.6.1.2.1.47.1.1.1.1.9.1"] = SnmpValue("STRING", "3.51.00")
    assert build(walk, None).facts["os"]["version"] == "3.51.00"      # firmware revision before software
    # a profile's own object wins over ENTITY-MIB
    walk[".1.3.6.1.2.1.1.2.0"] = SnmpValue("OID", ".1.3.6.1.4.1.1347.41")
    walk[".1.3.6.1.4.1.1347.43.5.4.1.5.1.1"] = SnmpValue("STRING", "2XC_S000.002.271")
    assert build(walk, None).facts["os"]["version"] == "2XC_S000.002.271"
