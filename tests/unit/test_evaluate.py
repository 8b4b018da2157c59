"""Evaluation is fail-closed and waivers never hide the evaluated status."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from hardening.core.catalog import load_catalog
from hardening.core.evaluate import evaluate_host, evaluate_requirement
from hardening.core.models import CollectResult, Host, Status, SystemInfo
from hardening.core.params import resolve
from hardening.core.waivers import Waiver

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "schemas" / "requirements")
SITE = {"ntp_servers": ["10.0.0.1"], "allowed_ports_by_role": {"base": ["tcp/22"], "web_server": ["tcp/443"]}}
TODAY = dt.date(2026, 11, 26)


def host(**over: Any) -> Host:
    values: dict[str, Any] = {
        "name": "h1", "hostname": "192.0.2.10", "port": 22, "platform": "linux", "device_class": "linux_server",
        "zone": "lgwan", "classification": {"c": 2, "i": 2, "a": 1},
        "system": SystemInfo("財務会計システム", "総合政策部長", ("財政課長",)),
        "roles": ("app_server",), "groups": (), "credentials": "lab",
    }
    values.update(over)
    return Host(**values)


def collected(facts: dict[str, Any], errors: dict[str, str] | None = None) -> CollectResult:
    document = {"format_version": "1", "host": "h1", "platform": "linux", "device_class": "linux_server",
                "collected_at": "2026-11-26T00:00:00Z", "facts": facts, "errors": errors or {},
                "evidence": {"/password_policy": [{"source": "file:/etc/security/pwquality.conf",
                                                   "excerpt": "minlen = 6"}]}}
    return CollectResult("h1", document, None, None, 0.1)


GOOD_PW = {"password_policy": {"enforced": True, "min_length": 12, "min_char_classes": 3}}


def test_pass_needs_evaluated_facts() -> None:
    finding = evaluate_requirement(host(), collected(GOOD_PW), CATALOG["PW-LEN"], SITE)
    assert finding.status is Status.PASS
    assert finding.actual == {"/password_policy/enforced": True, "/password_policy/min_length": 12}


def test_fail_names_fact_expected_and_actual() -> None:
    facts = {"password_policy": {"enforced": True, "min_length": 6}}
    finding = evaluate_requirement(host(), collected(facts), CATALOG["PW-LEN"], SITE)
    assert finding.status is Status.FAIL
    [violation] = finding.violations
    assert violation.pointer == "/password_policy/min_length"
    assert violation.keyword == "minimum"
    assert violation.expected == 8
    assert violation.actual == 6
    assert finding.evidence
    assert finding.evidence[0]["excerpt"] == "minlen = 6"
    assert "8" in finding.expected["ja"]


def test_unreachable_host_is_error_never_pass() -> None:
    result = CollectResult("h1", None, "no answer on 192.0.2.10:22", "DeviceUnreachable", 3.0)
    findings = evaluate_host(host(), result, list(CATALOG.values()), SITE, [], TODAY)
    statuses = {f.status for f in findings}
    assert Status.PASS not in statuses
    assert Status.ERROR in statuses


def test_undeterminable_fact_is_error() -> None:
    result = collected({"password_policy": {"min_length": 12}}, {"/password_policy/enforced": "pam.d unreadable"})
    finding = evaluate_requirement(host(), result, CATALOG["PW-LEN"], SITE)
    assert finding.status is Status.ERROR
    assert "pam.d unreadable" in finding.message["en"]


def test_fact_the_platform_does_not_provide_is_error() -> None:
    finding = evaluate_requirement(host(), collected({}), CATALOG["PW-LEN"], SITE)
    assert finding.status is Status.ERROR
    assert "not provided" in finding.message["en"]


def test_scope_zone_and_device_class() -> None:
    usb = CATALOG["USB-BLOCK-KIKAN"]
    assert evaluate_requirement(host(zone="lgwan"), collected({}), usb, SITE).status is Status.NOT_APPLICABLE
    assert evaluate_requirement(host(zone="kikan"), collected({}), usb, SITE).status is Status.ERROR
    boot = CATALOG["BOOT-PW"]
    assert evaluate_requirement(host(), collected({}), boot, SITE).status is Status.NOT_APPLICABLE


def test_per_role_parameter_is_union_of_base_and_roles() -> None:
    values = resolve(CATALOG["PORTS-CLOSED"], host(roles=("web_server",)), SITE)
    assert sorted(values["allowed_ports_by_role"]) == ["tcp/22", "tcp/443"]
    facts = {"network": {"exposed_sockets": [{"socket": "tcp/22"}, {"socket": "tcp/443"}]}}
    assert evaluate_requirement(host(roles=("web_server",)), collected(facts), CATALOG["PORTS-CLOSED"],
                                SITE).status is Status.PASS
    finding = evaluate_requirement(host(roles=("app_server",)), collected(facts), CATALOG["PORTS-CLOSED"], SITE)
    assert finding.status is Status.FAIL
    assert any(v.actual == "tcp/443" for v in finding.violations)


def test_host_parameter_overrides_site() -> None:
    h = host(parameters={"min_length": 14})
    facts = {"password_policy": {"enforced": True, "min_length": 12}}
    assert evaluate_requirement(h, collected(facts), CATALOG["PW-LEN"], SITE).status is Status.FAIL


@pytest.mark.parametrize(
    ("expires", "status", "expired"),
    [(dt.date(2027, 3, 31), Status.WAIVED, False), (dt.date(2026, 3, 31), Status.FAIL, True)],
)
def test_waiver_keeps_evaluated_status(expires: dt.date, status: Status, expired: bool) -> None:
    waiver = Waiver("W-1", ("h*",), ("PW-LEN",), "vendor", "CISO", expires)
    facts = {"password_policy": {"enforced": False, "min_length": 6}}
    [finding] = evaluate_host(host(), collected(facts), [CATALOG["PW-LEN"]], SITE, [waiver], TODAY)
    assert finding.status is status
    assert finding.evaluated_status is Status.FAIL
    assert finding.waiver is not None
    assert finding.waiver.expired is expired
    if expired:
        assert "W-1" in finding.message["ja"]


def test_waiver_does_not_turn_error_into_anything_else() -> None:
    waiver = Waiver("W-1", ("h1",), ("PW-LEN",), "vendor", "CISO", dt.date(2027, 1, 1))
    result = CollectResult("h1", None, "timeout", "DeviceTimeout", 30.0)
    [finding] = evaluate_host(host(), result, [CATALOG["PW-LEN"]], SITE, [waiver], TODAY)
    assert finding.status is Status.ERROR


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_fact_is_error_never_pass(bad: float) -> None:
    # NaN compares false with every limit: a huge clock offset read as NaN would pass `maximum`.
    facts = {"time": {"ntp_servers": ["10.0.0.1"], "synchronized": True, "offset_ms_abs": bad}}
    finding = evaluate_requirement(host(), collected(facts), CATALOG["TIME-SYNC"], SITE)
    assert finding.status is Status.ERROR
    assert "/time/offset_ms_abs" in finding.message["en"]
    assert "finite" in finding.message["en"]


def _journal(**over: Any) -> dict[str, Any]:
    journal = {"present": True, "running": True, "storage": "persistent", "persistent": True,
               "max_retention_days": 365}
    journal.update(over)
    return journal


def test_retention_passes_through_either_mechanism() -> None:
    """Short logrotate retention, but a persistent journal that keeps a year: retention is met."""
    facts = {"logging": {"retention_days": 28, "journal": _journal()}}
    finding = evaluate_requirement(host(), collected(facts), CATALOG["LOG-RETENTION"], SITE)
    assert finding.status is Status.PASS
    assert finding.actual["/logging/journal/max_retention_days"] == 365


def test_retention_fail_names_what_each_mechanism_has() -> None:
    """anyOf with no branch satisfied: the violations name every fact found wanting, not just "/logging"."""
    facts = {"logging": {"retention_days": 28, "journal": _journal(max_retention_days=None)}}
    finding = evaluate_requirement(host(), collected(facts), CATALOG["LOG-RETENTION"], SITE)
    assert finding.status is Status.FAIL
    by_pointer = {v.pointer: v for v in finding.violations}
    assert set(by_pointer) == {"/logging/retention_days", "/logging/journal/max_retention_days"}
    assert by_pointer["/logging/retention_days"].actual == 28
    assert by_pointer["/logging/retention_days"].expected == 90
    assert by_pointer["/logging/journal/max_retention_days"].actual is None
    assert by_pointer["/logging/journal/max_retention_days"].message.startswith("the journal keeps them")
    # the finding itself says that an unset MaxRetentionSec is no retention period
    assert "unset or 0 is no evidence of a retention period" in finding.expected["en"]
    assert "未設定・0 は保存期間の根拠にならない" in finding.expected["ja"]


def test_retention_volatile_journal_fails() -> None:
    facts = {"logging": {"retention_days": 28, "journal": _journal(storage="volatile", persistent=False)}}
    finding = evaluate_requirement(host(), collected(facts), CATALOG["LOG-RETENTION"], SITE)
    assert finding.status is Status.FAIL
    assert "/logging/journal/persistent" in {v.pointer for v in finding.violations}


def test_a_fact_the_platform_cannot_judge_is_manual_never_pass() -> None:
    result = collected({"logging": {}})
    assert result.facts is not None
    result.facts["manual"] = {"/logging/timestamp_formats": "cannot judge the timestamp of: /var/log/p.log"}
    finding = evaluate_requirement(host(), result, CATALOG["LOG-TIMESTAMPS"], SITE)
    assert finding.status is Status.MANUAL
    assert "/var/log/p.log" in finding.message["en"]
    # a fact that could not be determined at all still wins: error
    result.facts["errors"] = {"/logging/timestamp_formats": "probe error"}
    assert evaluate_requirement(host(), result, CATALOG["LOG-TIMESTAMPS"], SITE).status is Status.ERROR


def test_probe_strong_hash_methods_are_the_catalog_enum() -> None:
    """One rule for 'strong': the probe's stored-hash classification and PW-STORE-PROTECT's enum agree."""
    from hardening.platforms.linux import probe

    # the server rule: Windows (the first if) and network devices (the second) judge other things
    schema = CATALOG["PW-STORE-PROTECT"].schema["else"]["else"]
    enum = schema["properties"]["accounts"]["properties"]["password_storage"]["properties"]["hash_methods"]
    # pbkdf2_sha256 (IOS type 8) is strong too, but only network devices store it: the Linux probe never reports it.
    assert set(enum["items"]["properties"]["method"]["enum"]) == {*probe.STRONG_HASH_METHODS, "pbkdf2_sha256"}


def test_a_definite_fail_beats_a_fact_under_manual_review() -> None:
    """One fact cannot be judged (manual) but another fact of the requirement plainly fails: the verdict is fail;
    with nothing else failing it is manual, never pass."""
    facts = {"accounts": {"password_storage": {"weak_hash_accounts": ["legacy-batch"], "empty_password_accounts": []}}}
    result = collected(facts)
    assert result.facts is not None
    result.facts["manual"] = {"/accounts/password_storage/hash_methods": "an unknown PAM module hashes passwords"}
    finding = evaluate_requirement(host(), result, CATALOG["PW-STORE-PROTECT"], SITE)
    assert finding.status is Status.FAIL
    assert [v.pointer for v in finding.violations] == ["/accounts/password_storage/weak_hash_accounts"]
    facts["accounts"]["password_storage"]["weak_hash_accounts"] = []
    finding = evaluate_requirement(host(), result, CATALOG["PW-STORE-PROTECT"], SITE)
    assert finding.status is Status.MANUAL


def test_a_definite_fail_beats_a_fact_that_could_not_be_determined() -> None:
    """An unsynchronised clock is a fail even though its offset is unknown; the unknown offset is never judged."""
    site = {**SITE, "ntp_servers": ["10.0.0.1"]}
    unsynced = collected({"time": {"ntp_servers": ["10.0.0.1"], "synchronized": False}},
                         {"/time/offset_ms_abs": "no peer selected"})
    finding = evaluate_requirement(host(), unsynced, CATALOG["TIME-SYNC"], site)
    assert finding.status is Status.FAIL
    assert [v.pointer for v in finding.violations] == ["/time/synchronized"]
    assert "no peer selected" in finding.message["en"]
    synced = collected({"time": {"ntp_servers": ["10.0.0.1"], "synchronized": True}},
                       {"/time/offset_ms_abs": "no peer selected"})
    assert evaluate_requirement(host(), synced, CATALOG["TIME-SYNC"], site).status is Status.ERROR
    # a section missing altogether is about the undetermined fact too: error, not fail
    missing = collected({}, {"/time/offset_ms_abs": "x"})
    assert evaluate_requirement(host(), missing, CATALOG["TIME-SYNC"], site).status is Status.ERROR
