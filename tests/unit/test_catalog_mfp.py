"""The catalog on multifunction printers (issue 10): hand-written printer facts through the real evaluation.

`fixtures/catalog_mfp/compliant-ricoh.json` is a RICOH printer as the mfp platform reports it (the facts of the
issue 10 design): it passes every requirement that applies to it, except MFP-ERASE, which is `manual` by nature
(attestation only). Each test below changes what one rule is about and pins the verdict: each drift fails at its
fact, a fact the vendor profile cannot read (`manual`) gives `manual`, a fact that was not obtained gives `error`,
never `pass`. The keyword `x-version-at-least` (PATCH-SLA: firmware vs the site's bulletin table) is tested on its
own first.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from catalogtools import edited, evaluate_on
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from tests.inventory_edit import edit_yaml

from hardening import audit, cli
from hardening.core.catalog import load_catalog
from hardening.core.evaluate import evaluate_requirement
from hardening.core.models import CollectResult, Finding, Host, Status, SystemInfo
from hardening.core.schemas import compare_versions, offline_validator, version_tokens
from hardening.core.scope import applies

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "schemas" / "requirements")
PRINTER = json.loads((Path(__file__).parent / "fixtures" / "catalog_mfp" / "compliant-ricoh.json").read_text("utf-8"))
SITE: dict[str, Any] = yaml.safe_load((ROOT / "inventory" / "site.yaml").read_text("utf-8"))["parameters"]

EXTENDED = ("PORTS-CLOSED", "SVC-MINIMAL", "MGMT-SECURE-PROTOCOLS", "TIME-SYNC", "LOG-FORWARD")
NEW = ("PW-VENDOR-DEFAULT", "MFP-STORAGE", "MFP-ERASE", "PATCH-SLA")
MFP = EXTENDED + NEW
AUTOMATED_CHECK = set(MFP) - {"MFP-ERASE"}


def host(roles: tuple[str, ...] = ("mfp",), parameters: dict[str, Any] | None = None,
         device_class: str = "mfp", platform: str = "mfp") -> Host:
    return Host(name="mfp-ricoh-01", hostname="10.203.40.11", port=None, platform=platform, device_class=device_class,
                zone="lgwan", classification={"c": 2, "i": 2, "a": 1}, system=SystemInfo("庁内LAN", "", ()),
                roles=roles, groups=(), credentials="snmp", parameters=parameters or {})


def facts(**changes: Any) -> dict[str, Any]:
    return edited(PRINTER["facts"], **changes)


def evaluate(rid: str, document_facts: dict[str, Any] | None = None, *, errors: dict[str, str] | None = None,
             manual: dict[str, str] | None = None, on: Host | None = None, site: dict[str, Any] | None = None
             ) -> Finding:
    target = on or host()
    chosen = document_facts if document_facts is not None else facts()
    return evaluate_on(target, PRINTER, chosen, CATALOG[rid], site or SITE, errors=errors, manual=manual)


def pointers(finding: Finding) -> list[str]:
    return sorted({v.pointer for v in finding.violations})


# ------------------------------------------------------------------------------------------- x-version-at-least


@pytest.mark.parametrize(("found", "wanted", "verdict"), [
    ("1.07", "1.10", -1),          # numbers, not decimals: 7 < 10
    ("1.10", "1.07", 1),
    ("1.7", "1.07", 0),            # leading zeros drop
    ("E1.30", "E1.4", 1),          # 30 > 4 after the same letter prefix
    ("e1.30", "E1.30", 0),         # letters case-insensitive
    ("1.2", "1.2.0", 0),           # a tail of zeros adds nothing
    ("1.2", "1.2.1", -1),
    ("1.2a", "1.2", 1),            # a suffix is a later build
    ("V1.0a", "v1.0b", -1),
    ("2XC_S000.002.271", "2XC_S000.002.300", -1),
    ("GC7-R1", "GC7-Q3", 1),
    ("65.30", "65.30", 0),
    ("E1.30", "1.4", None),        # a letter against a number: another format, not comparable
    ("1.4", "E1.30", None),
    ("abc", "1.0", None),          # no digit at all
    ("", "1.0", None),
])
def test_compare_versions(found: str, wanted: str, verdict: int | None) -> None:
    assert compare_versions(found, wanted) == verdict


def test_version_tokens() -> None:
    assert version_tokens("E1.30") == ["e", 1, 30]
    assert version_tokens("Ver. 36.05 (build 0012)") == ["ver", 36, 5, "build", 12]
    assert version_tokens("—") == []


BULLETINS = [
    {"vendor": "ricoh", "model": "*IM C3000*", "min_version": "1.10", "bulletin": "RICOH-A"},
    {"vendor": "ricoh", "model": "*IM C*", "min_version": "1.08", "bulletin": "RICOH-B"},
    {"vendor": "ricoh", "model": "*IM C3000", "min_version": "1.12", "bulletin": "RICOH-C"},
    {"vendor": "sharp", "model": "*MX-3661*", "min_version": "E1.4", "bulletin": "SHARP-A"},
    {"vendor": "canon", "model": "*IM C3000*", "min_version": "99.0", "bulletin": "not RICOH's"},
]


def keyword_errors(os_facts: Any, bulletins: Any = None) -> list[str]:
    schema = {"x-version-at-least": BULLETINS if bulletins is None else bulletins}
    return [e.message for e in offline_validator(schema).iter_errors(os_facts)]


def test_version_at_least_takes_the_strictest_matching_entry() -> None:
    ricoh = {"family": "mfp", "vendor": "ricoh", "model": "RICOH IM C3000"}
    # A, B and C match (the canon entry has the same glob but another vendor): C's 1.12 is the strictest
    assert keyword_errors({**ricoh, "version": "1.12"}) == []
    assert keyword_errors({**ricoh, "version": "1.13.1"}) == []
    older = keyword_errors({**ricoh, "version": "1.11"})
    assert len(older) == 1
    assert "'1.12'" in older[0]
    assert "RICOH-C" in older[0]
    assert "RICOH IM C3000" in older[0]
    older = keyword_errors({**ricoh, "version": "1.09"})  # fails A and C: C is named, the strictest
    assert len(older) == 1
    assert "RICOH-C" in older[0]
    # another model of the same series meets only B
    assert keyword_errors({**ricoh, "model": "RICOH IM C4500", "version": "1.08"}) == []
    assert keyword_errors({**ricoh, "model": "RICOH IM C4500", "version": "1.07"})


def test_version_at_least_matches_vendor_and_model_case_insensitively() -> None:
    assert keyword_errors({"vendor": "SHARP", "model": "sharp mx-3661", "version": "e1.50"}) == []
    assert keyword_errors({"vendor": "sharp", "model": "SHARP MX-3661", "version": "E1.3"})


def test_version_at_least_without_an_entry_names_the_model() -> None:
    errors = keyword_errors({"vendor": "kyocera", "model": "KYOCERA TASKalfa 3554ci", "version": "2XC_S000.002.271"})
    assert len(errors) == 1
    assert "no bulletin recorded for kyocera model 'KYOCERA TASKalfa 3554ci'" in errors[0]
    assert keyword_errors({"vendor": "ricoh", "model": "RICOH IM C3000", "version": "9.9"}, bulletins=[])


@pytest.mark.parametrize(("os_facts", "words"), [
    ({"vendor": "ricoh", "model": "RICOH IM C3000"}, "no readable version"),
    ({"vendor": "ricoh", "model": "RICOH IM C3000", "version": None}, "no readable version"),
    ({"vendor": "ricoh", "model": "RICOH IM C3000", "version": "unknown"}, "no readable version"),
    ({"vendor": None, "model": "IM C3000", "version": "1.10"}, "vendor not identified"),
    ({"model": "IM C3000", "version": "1.10"}, "vendor not identified"),
    ({"vendor": "ricoh", "model": None, "version": "1.10"}, "model not reported"),
    ({"vendor": "ricoh", "model": "RICOH IM C3000", "version": "A1.10"}, "cannot be compared"),
])
def test_version_at_least_fails_closed(os_facts: dict[str, Any], words: str) -> None:
    errors = keyword_errors(os_facts)
    assert len(errors) == 1, errors
    assert words in errors[0]


def test_version_at_least_refuses_a_malformed_table() -> None:
    ricoh = {"vendor": "ricoh", "model": "RICOH IM C3000", "version": "1.10"}
    assert keyword_errors(ricoh, bulletins=[{"vendor": "ricoh", "model": "*"}])
    assert keyword_errors(ricoh, bulletins={"vendor": "ricoh"})
    assert keyword_errors("1.10") == []  # not an object: `type` says so, not this keyword


def test_a_plain_validator_ignores_the_keyword() -> None:
    """Documented: a plain validator passes every version, so the hand re-check must use RequirementValidator (or
    compare by hand); the tool does."""
    schema = {"x-version-at-least": BULLETINS}
    assert not list(Draft202012Validator(schema).iter_errors({"vendor": "ricoh", "model": "IM C3000", "version": "0"}))
    assert list(offline_validator(schema).iter_errors({"vendor": "ricoh", "model": "IM C3000", "version": "0"}))


# --------------------------------------------------------------------------------- the site's demo bulletin table

LAB_MODELS = {"ricoh": "IM C3000", "canon": "iR-ADV C3930", "fujifilm": "Apeos C3570", "sharp": "MX-3661",
              "kyocera": "TASKalfa 3554ci", "konica_minolta": "bizhub C360i"}


@pytest.mark.parametrize(("vendor", "model"), sorted(LAB_MODELS.items()))
def test_the_demo_table_covers_the_lab_models(vendor: str, model: str) -> None:
    table = SITE["mfp_firmware_bulletins"]
    maker = {"konica_minolta": "KONICA MINOLTA", "fujifilm": "FUJIFILM"}.get(vendor, vendor.upper())
    for reported in (model, f"{maker} {model}"):
        matching = [e for e in table if e["vendor"] == vendor and fnmatch.fnmatchcase(reported.casefold(),
                                                                                        e["model"].casefold())]
        assert len(matching) == 1, (vendor, reported)
        at = matching[0]["min_version"]
        assert not keyword_errors({"vendor": vendor, "model": reported, "version": at}, table)
        assert "demo" in matching[0]["bulletin"]  # not passed off as a vendor's real bulletin


def test_a_bad_bulletin_entry_in_site_yaml_is_refused_with_its_place(
        inv: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "collect_all", lambda *a, **k: pytest.fail("collection must not start"))
    edit_yaml(inv / "site.yaml", lambda d: d["parameters"]["mfp_firmware_bulletins"][2].pop("min_version"))
    code = cli.main(["audit", "--inventory", str(inv), "--out", str(inv.parent / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert str(inv / "site.yaml") in err
    assert "/parameters/mfp_firmware_bulletins/2" in err
    assert "min_version" in err
    assert not (inv.parent / "out").exists()


# ------------------------------------------------------------------------------------------------ the catalog


def test_the_compliant_printer_is_valid_facts() -> None:
    schema = json.loads((ROOT / "schemas" / "facts.schema.json").read_text("utf-8"))
    validator = Draft202012Validator(schema, registry=Registry().with_resource(schema["$id"],
                                                                               Resource.from_contents(schema)))
    assert not [e.message for e in validator.iter_errors(PRINTER)]


def test_every_printer_requirement_names_the_platform_with_its_own_words() -> None:
    for rid in MFP:
        requirement = CATALOG[rid]
        assert "mfp" in requirement.device_classes, rid
        assert "mfp" in requirement.platforms, rid
        text = requirement.remediation_for("mfp")
        assert text != requirement.remediation, rid
        # the printer text names where a person acts: the web administration, or the attestation command
        assert any(word in text["ja"] for word in ("Web 管理画面", "hardening attest")), rid
        assert any(word in text["en"] for word in ("web administration", "hardening attest")), rid
    for rid in NEW:
        assert CATALOG[rid].device_classes == ("mfp",) or list(CATALOG[rid].device_classes) == ["mfp"], rid


def test_check_is_automated_except_erasure_and_no_fix_is_promised() -> None:
    for rid in MFP:
        automation = CATALOG[rid].automation_for("mfp")
        assert automation["check"] == ("manual" if rid == "MFP-ERASE" else "automated"), rid
        assert automation["fix"] == "manual", rid


def test_printer_requirements_apply_to_printers_only_where_new() -> None:
    for rid in NEW:
        assert applies(CATALOG[rid], host())[0], rid
        assert not applies(CATALOG[rid], host(device_class="linux_server", platform="linux"))[0], rid
    for rid in EXTENDED:
        assert applies(CATALOG[rid], host())[0], rid
        assert applies(CATALOG[rid], host(device_class="linux_server", platform="linux"))[0], rid


def test_the_compliant_printer_passes_and_erasure_stays_manual() -> None:
    for rid in MFP:
        finding = evaluate(rid)
        expected = Status.MANUAL if rid == "MFP-ERASE" else Status.PASS
        assert finding.status is expected, (rid, finding.message["en"], finding.violations)


# One change per rule that makes it fail, and where (the fact the finding names).
FAILING: list[tuple[str, dict[str, Any], list[str]]] = [
    ("PORTS-CLOSED", {"network/exposed_sockets": [{"socket": "tcp/443"}, {"socket": "tcp/9100"},
                                                  {"socket": "udp/161"}]}, ["/network/exposed_sockets/1/socket"]),
    ("PORTS-CLOSED", {"network/exposed_sockets": [{"socket": "tcp/21"}, {"socket": "tcp/443"},
                                                  {"socket": "udp/161"}]}, ["/network/exposed_sockets/0/socket"]),
    ("SVC-MINIMAL", {"services/prohibited_present": [{"name": "lpd", "how": "running", "detail": "tcp/515 open"}]},
     ["/services/prohibited_present"]),
    ("SVC-MINIMAL", {"services/prohibited_present": [{"name": "wsd", "how": "running", "detail": "tcp/5357 open"}]},
     ["/services/prohibited_present"]),
    ("MGMT-SECURE-PROTOCOLS", {"management/insecure_protocols": [
        {"protocol": "snmp_v1_v2c", "how": "listening", "detail": "udp/161 answered a v2c get (community:read)"}]},
     ["/management/insecure_protocols"]),
    ("MGMT-SECURE-PROTOCOLS", {"management/insecure_protocols": [
        {"protocol": "http", "how": "listening", "detail": "tcp/80 serves the admin page"}],
        "management/web_admin/http_plain": True}, ["/management/insecure_protocols"]),
    ("MGMT-SECURE-PROTOCOLS", {"management/web_admin/tls_versions": ["TLSv1", "TLSv1.1", "TLSv1.2"]},
     ["/management/web_admin/tls_versions/0", "/management/web_admin/tls_versions/1"]),
    ("MGMT-SECURE-PROTOCOLS", {"management/web_admin/https": False, "management/web_admin/tls_versions": []},
     ["/management/web_admin/https", "/management/web_admin/tls_versions"]),
    ("TIME-SYNC", {"time/offset_ms_abs": 5001}, ["/time/offset_ms_abs"]),
    ("TIME-SYNC", {"time/ntp_servers": ["ntp.nict.jp"]}, ["/time/ntp_servers/0"]),
    ("TIME-SYNC", {"time/ntp_servers": []}, ["/time/ntp_servers"]),
    ("LOG-FORWARD", {"logging/audit_log_enabled": False}, ["/logging/audit_log_enabled"]),
    ("LOG-FORWARD", {"logging/remote_targets": [{"host": "10.9.9.9", "port": 514}]}, ["/logging/remote_targets"]),
    ("PW-VENDOR-DEFAULT", {"accounts/default_credentials_accepted": [{"service": "web", "account": "admin"}]},
     ["/accounts/default_credentials_accepted"]),
    ("PW-VENDOR-DEFAULT", {"accounts/default_credentials_accepted": [{"service": "snmp",
                                                                      "account": "community:write"}]},
     ["/accounts/default_credentials_accepted"]),
    ("MFP-STORAGE", {"storage/encrypted": False}, ["/storage/encrypted"]),
    ("MFP-STORAGE", {"storage/overwrite_enabled": False}, ["/storage/overwrite_enabled"]),
    ("PATCH-SLA", {"os/version": "1.07"}, ["/os/version"]),
    ("PATCH-SLA", {"os/model": "RICOH IM C6000"}, ["/os/model"]),
    ("PATCH-SLA", {"os/vendor": None}, ["/os/vendor"]),
]


@pytest.mark.parametrize(("rid", "changes", "where"), FAILING, ids=[f"{c[0]}-{i}" for i, c in enumerate(FAILING)])
def test_each_drift_fails_at_its_fact(rid: str, changes: dict[str, Any], where: list[str]) -> None:
    finding = evaluate(rid, facts(**changes))
    assert finding.status is Status.FAIL, finding.message["en"]
    assert pointers(finding) == where
    assert "{" not in finding.expected["ja"]
    assert "{" not in finding.expected["en"]


def test_failing_covers_every_automated_printer_requirement() -> None:
    assert {case[0] for case in FAILING} == AUTOMATED_CHECK


def test_the_firmware_finding_names_the_model_without_a_bulletin() -> None:
    finding = evaluate("PATCH-SLA", facts(**{"os/model": "RICOH IM C6000"}))
    assert "no bulletin recorded for ricoh model 'RICOH IM C6000'" in finding.violations[0].message
    assert finding.violations[0].expected == {"vendor": "ricoh", "model": "RICOH IM C6000", "min_version": None,
                                              "bulletin": None}
    assert finding.violations[0].actual["model"] == "RICOH IM C6000"
    older = evaluate("PATCH-SLA", facts(**{"os/version": "1.09"}))
    assert "'1.10'" in older.violations[0].message
    assert "demo" in older.violations[0].message
    # the report shows the record that decided it, not the whole table
    assert older.violations[0].expected == SITE["mfp_firmware_bulletins"][0]
    # the site's table is a parameter like any other: a host's (or its group's) own table replaces it
    own = [{"vendor": "ricoh", "model": "*IM C6000*", "min_version": "2.00", "bulletin": "host record"}]
    on = host(parameters={"mfp_firmware_bulletins": own})
    assert evaluate("PATCH-SLA", facts(**{"os/model": "RICOH IM C6000", "os/version": "2.01"}), on=on).status \
        is Status.PASS
    assert evaluate("PATCH-SLA", facts(**{"os/model": "RICOH IM C6000", "os/version": "2.0"}), on=on,
                    site={**SITE, "mfp_firmware_bulletins": []}).status is Status.PASS


def test_no_bulletin_fails_even_when_the_firmware_cannot_be_read() -> None:
    """Whether the site recorded a bulletin for the model does not depend on the version: an unknown vendor or an
    unrecorded model is a definite fail even where the vendor profile has no firmware object (version `manual`);
    a recorded model with an unreadable version is `manual`."""
    no_firmware = {"/os/version": "profile: no SNMP object for the firmware version"}
    unknown = facts(**{"os/version!": None, "os/vendor": None, "os/model": "Network Printer NP-4200"})
    finding = evaluate("PATCH-SLA", unknown, manual=no_firmware)
    assert finding.status is Status.FAIL
    assert pointers(finding) == ["/os/vendor"]
    unrecorded = facts(**{"os/version!": None, "os/model": "RICOH IM C6000"})
    finding = evaluate("PATCH-SLA", unrecorded, manual=no_firmware)
    assert finding.status is Status.FAIL
    assert pointers(finding) == ["/os/model"]
    assert evaluate("PATCH-SLA", facts(**{"os/version!": None}), manual=no_firmware).status is Status.MANUAL


def test_without_a_site_table_every_printer_fails() -> None:
    site = {k: v for k, v in SITE.items() if k != "mfp_firmware_bulletins"}
    assert evaluate("PATCH-SLA", site=site).status is Status.FAIL


def test_direct_printing_passes_with_its_role_only() -> None:
    printing = facts(**{"network/exposed_sockets": [{"socket": "tcp/443"}, {"socket": "tcp/631"},
                                                   {"socket": "tcp/9100"}, {"socket": "udp/161"}]})
    assert evaluate("PORTS-CLOSED", printing).status is Status.FAIL
    assert evaluate("PORTS-CLOSED", printing, on=host(roles=("mfp", "mfp_direct_print"))).status is Status.PASS


def test_a_printer_without_storage_complies() -> None:
    document = facts(**{"storage": {"present": False, "encrypted": False, "overwrite_enabled": False}})
    assert evaluate("MFP-STORAGE", document).status is Status.PASS
    # what the profile cannot read stays a person's check, even without storage (fail closed, never pass)
    document = facts(**{"storage": {"present": False}})
    manual = {"/storage/encrypted": "profile: no SNMP object", "/storage/overwrite_enabled": "profile: no SNMP object"}
    assert evaluate("MFP-STORAGE", document, manual=manual).status is Status.MANUAL


def test_the_clock_tolerance_is_the_printers_own_parameter() -> None:
    """Printers are judged by mfp_max_clock_offset_ms (5000 by default), not by the servers' ntp_max_offset_ms
    (500 at this site); servers keep theirs."""
    assert SITE["ntp_max_offset_ms"] < 4000
    assert evaluate("TIME-SYNC", facts(**{"time/offset_ms_abs": 4000})).status is Status.PASS
    tight = {**SITE, "mfp_max_clock_offset_ms": 1000}
    assert evaluate("TIME-SYNC", facts(**{"time/offset_ms_abs": 4000}), site=tight).status is Status.FAIL
    server = host(device_class="linux_server", platform="linux", roles=())
    linux = {"os": {"family": "debian"}, "time": {"ntp_servers": ["10.203.0.10"], "synchronized": True,
                                                  "offset_ms_abs": 4000}}
    assert evaluate("TIME-SYNC", linux, on=server).status is Status.FAIL


# ------------------------------------------------------------------------------- manual and missing facts


# What a vendor profile without the SNMP object reports: the fact under `manual`, with the reason.
MANUAL: list[tuple[str, str]] = [
    ("PW-VENDOR-DEFAULT", "/accounts/default_credentials_accepted"),
    ("MFP-STORAGE", "/storage/encrypted"),
    ("MFP-STORAGE", "/storage/overwrite_enabled"),
    ("LOG-FORWARD", "/logging/audit_log_enabled"),
    ("LOG-FORWARD", "/logging/remote_targets"),
    ("PATCH-SLA", "/os/version"),
]


@pytest.mark.parametrize(("rid", "pointer"), MANUAL, ids=[f"{r}{p}" for r, p in MANUAL])
def test_a_fact_the_profile_cannot_read_makes_the_finding_manual(rid: str, pointer: str) -> None:
    document = facts(**{pointer.strip("/") + "!": None})
    reason = "RICOH profile: no SNMP object for it; check it in Web Image Monitor or attest"
    finding = evaluate(rid, document, manual={pointer: reason})
    assert finding.status is Status.MANUAL, (finding.message["en"], finding.violations)
    assert reason in finding.message["en"]
    # the same fact not obtained at all is an error, never a pass
    assert evaluate(rid, document).status is Status.ERROR
    assert evaluate(rid, document, errors={pointer: "no SNMP answer"}).status is Status.ERROR


def test_the_clock_decides_where_the_sntp_servers_cannot_be_read() -> None:
    """TIME-SYNC on printers reads the clock (positive evidence of the right time); the SNTP servers are judged only
    where the vendor profile reads them: listed under `manual` or absent, the offset alone decides."""
    document = facts(**{"time/ntp_servers!": None})
    no_object = {"/time/ntp_servers": "RICOH profile: no SNMP object for the SNTP servers"}
    assert evaluate("TIME-SYNC", document, manual=no_object).status is Status.PASS
    assert evaluate("TIME-SYNC", document).status is Status.PASS
    late = facts(**{"time/ntp_servers!": None, "time/offset_ms_abs": 960000})
    finding = evaluate("TIME-SYNC", late, manual=no_object)
    assert finding.status is Status.FAIL
    assert pointers(finding) == ["/time/offset_ms_abs"]
    # read and wrong: a fail even with the clock right now (SNTP off drifts)
    assert evaluate("TIME-SYNC", facts(**{"time/ntp_servers": []})).status is Status.FAIL
    assert CATALOG["TIME-SYNC"].facts_for("mfp") == ("/os/family", "/time/offset_ms_abs")


def test_a_definite_drift_still_fails_beside_a_manual_fact() -> None:
    """LOG-FORWARD on a model without a syslog object: the audit log off is a fail, whatever the targets are."""
    document = facts(**{"logging/remote_targets!": None, "logging/audit_log_enabled": False})
    finding = evaluate("LOG-FORWARD", document, manual={"/logging/remote_targets": "no syslog object"})
    assert finding.status is Status.FAIL
    assert pointers(finding) == ["/logging/audit_log_enabled"]
    document = facts(**{"storage/overwrite_enabled!": None, "storage/encrypted": False})
    finding = evaluate("MFP-STORAGE", document, manual={"/storage/overwrite_enabled": "no object"})
    assert finding.status is Status.FAIL
    assert pointers(finding) == ["/storage/encrypted"]


# Live-only facts absent from an offline capture (no probes.json) are errors.
LIVE_ONLY: list[tuple[str, str]] = [
    ("MGMT-SECURE-PROTOCOLS", "/management/web_admin"),
    ("PORTS-CLOSED", "/network/exposed_sockets"),
    ("SVC-MINIMAL", "/services/prohibited_present"),
    ("TIME-SYNC", "/time/offset_ms_abs"),
    ("PW-VENDOR-DEFAULT", "/accounts/default_credentials_accepted"),
]


@pytest.mark.parametrize(("rid", "pointer"), LIVE_ONLY, ids=[f"{r}{p}" for r, p in LIVE_ONLY])
def test_a_live_only_fact_missing_offline_is_an_error(rid: str, pointer: str) -> None:
    document = facts(**{pointer.strip("/") + "!": None})
    finding = evaluate(rid, document, errors={pointer: "live only: no probes.json in the capture"})
    assert finding.status is Status.ERROR, finding.message["en"]
    assert evaluate(rid, document).status is Status.ERROR


def test_without_the_family_a_printer_rule_is_error_never_the_server_rule() -> None:
    """Where printers have their own rule, /os/family chooses it: missing or undetermined, the finding is `error`
    (a plain validator would judge the document by the rule every host gets, which a printer may meet)."""
    for rid in MFP:
        if "/os/family" not in CATALOG[rid].facts_for("mfp"):
            continue
        assert evaluate(rid, facts(**{"os/family!": None})).status is Status.ERROR, rid
        assert evaluate(rid, facts(), errors={"/os/family": "sysDescr not read"}).status is Status.ERROR, rid
    assert {rid for rid in MFP if "/os/family" in CATALOG[rid].facts_for("mfp")} == {
        "MGMT-SECURE-PROTOCOLS", "TIME-SYNC", "LOG-FORWARD"}


def test_erasure_is_manual_until_attested_even_when_unreachable() -> None:
    """MFP-ERASE is attestation only: whatever the facts say (or when there are none), the finding is `manual`,
    never `pass` by itself."""
    assert evaluate("MFP-ERASE").status is Status.MANUAL
    assert evaluate("MFP-ERASE", facts(**{"storage": {"present": False}})).status is Status.MANUAL
    unreachable = CollectResult("mfp-ricoh-01", None, "no SNMP answer", None, 0.1)
    finding = evaluate_requirement(host(), unreachable, CATALOG["MFP-ERASE"], SITE)
    assert finding.status is Status.MANUAL
