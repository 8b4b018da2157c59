"""The report document: schema, invariants, write_json, facts files."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from report_sample import build_sample_report

from hardening.core.errors import HardeningError
from hardening.core.models import DEVICE_CLASSES, ZONES, CollectResult, Status
from hardening.core.schemas import load_schema
from hardening.core.secrets import REDACTOR
from hardening.report.build import canonical_digest
from hardening.report.validate import schema_errors
from hardening.report.writers import ReportError, validate_report, write_facts, write_json

SCHEMA = "drift-report.schema.json"


def _finding(report: dict[str, Any], host: str, requirement: str) -> dict[str, Any]:
    return next(f for f in report["findings"] if f["host"] == host and f["requirement"] == requirement)


def test_sample_report_is_valid(report: dict[str, Any]) -> None:
    assert schema_errors(report) == []
    validate_report(report)
    assert report["summary"]["findings"] == {"pass": 16, "fail": 3, "error": 5, "not_applicable": 5,
                                             "manual": 5, "waived": 1}
    assert report["summary"]["exit_code"] == 1


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    from jsonschema import Draft202012Validator

    schema = load_schema(SCHEMA)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "ignore" in schema["description"]  # readers are told to ignore unknown members


def test_schema_describes_exactly_what_build_report_writes(report: dict[str, Any]) -> None:
    schema = load_schema(SCHEMA)
    defs = schema["$defs"]
    pairs = [
        (schema, report),
        (schema["properties"]["run"], report["run"]),
        (schema["properties"]["summary"], report["summary"]),
        (defs["host"], report["hosts"][0]),
        (defs["finding"], report["findings"][0]),
        (defs["requirement"], report["requirements"][0]),
        (defs["violation"], next(f for f in report["findings"] if f["violations"])["violations"][0]),
        (defs["waiver"], next(f for f in report["findings"] if f["waiver"])["waiver"]),
    ]
    for part, document in pairs:
        assert set(part["properties"]) == set(document), part.get("title", part.get("description", ""))[:40]
        assert set(part["required"]) == set(document)


def test_schema_enums_follow_the_models() -> None:
    defs = load_schema(SCHEMA)["$defs"]
    assert defs["device_class"]["enum"] == list(DEVICE_CLASSES)
    assert defs["device_class"]["enum"] == load_schema("facts.schema.json")["$defs"]["device_class"]["enum"]
    assert defs["zone"]["enum"] == list(ZONES)
    assert defs["status"]["enum"] == [s.value for s in Status]


def test_minor_versions_stay_readable(report: dict[str, Any]) -> None:
    report["format_version"] = "2.7"
    assert schema_errors(report) == []
    report["format_version"] = "1.1"  # 2.0 changed requirements[].automation: a 1.x reader cannot read it
    assert schema_errors(report)
    report["format_version"] = "3.0"
    assert schema_errors(report)


def _drop_host_field(r: dict[str, Any]) -> None:
    del r["hosts"][0]["facts_digest"]


def _bad_status(r: dict[str, Any]) -> None:
    r["findings"][0]["status"] = "ok"


def _extra_member(r: dict[str, Any]) -> None:
    r["findings"][0]["note"] = "writer drift"


def _waived_by_expired(r: dict[str, Any]) -> None:
    finding = _finding(r, "zaimu-ap01", "LOGIN-BANNER")
    finding["status"] = "waived"
    r["summary"]["findings"]["fail"] -= 1
    r["summary"]["findings"]["waived"] += 1


def _waived_without_waiver(r: dict[str, Any]) -> None:
    _finding(r, "web01", "LOGIN-TIMEOUT")["waiver"] = None


def _fail_without_violation(r: dict[str, Any]) -> None:
    _finding(r, "pc-shimin01", "PW-LEN")["violations"] = []


def _pass_without_evidence(r: dict[str, Any]) -> None:
    _finding(r, "ntp01", "PW-LEN")["actual"] = {}


def _pass_on_unreachable_host(r: dict[str, Any]) -> None:
    finding = _finding(r, "log01", "PW-LEN")
    finding["status"] = finding["evaluated_status"] = "pass"
    finding["actual"] = {"/password_policy/min_length": 8}
    r["summary"]["findings"]["error"] -= 1
    r["summary"]["findings"]["pass"] += 1


def _wrong_count(r: dict[str, Any]) -> None:
    r["summary"]["findings"]["fail"] += 1


def _wrong_exit_code(r: dict[str, Any]) -> None:
    r["summary"]["exit_code"] = 0


def _unknown_host(r: dict[str, Any]) -> None:
    r["findings"][0]["host"] = "nohost"


def _clause_differs(r: dict[str, Any]) -> None:
    _finding(r, "ntp01", "PW-LEN")["clause"] = "第3章 1 3(4)④"


def _status_without_waiver(r: dict[str, Any]) -> None:
    _finding(r, "pc-shimin01", "PW-LEN")["status"] = "manual"


def _host_status_wrong(r: dict[str, Any]) -> None:
    next(h for h in r["hosts"] if h["name"] == "web01")["status"] = "pass"
    r["summary"]["hosts_by_status"]["pass"] += 1
    r["summary"]["hosts_by_status"]["fail"] -= 1


def _bad_digest(r: dict[str, Any]) -> None:
    r["hosts"][0]["facts_digest"] = "md5:abc"


def _facts_file_without_facts(r: dict[str, Any]) -> None:
    next(h for h in r["hosts"] if h["name"] == "log01")["facts_file"] = "facts/log01.json"


def _duplicate_finding(r: dict[str, Any]) -> None:
    r["findings"].append(copy.deepcopy(r["findings"][0]))
    r["summary"]["findings"][r["findings"][0]["status"]] += 1


BROKEN: list[Callable[[dict[str, Any]], None]] = [
    _drop_host_field, _bad_status, _extra_member, _waived_by_expired, _waived_without_waiver,
    _fail_without_violation, _pass_without_evidence, _pass_on_unreachable_host, _wrong_count, _wrong_exit_code,
    _unknown_host, _clause_differs, _status_without_waiver, _host_status_wrong, _bad_digest,
    _facts_file_without_facts, _duplicate_finding,
]


@pytest.mark.parametrize("breaker", BROKEN, ids=[b.__name__.strip("_") for b in BROKEN])
def test_broken_report_is_refused(report: dict[str, Any], breaker: Callable[[dict[str, Any]], None],
                                  tmp_path: Path) -> None:
    breaker(report)
    with pytest.raises(ReportError) as info:
        validate_report(report)
    assert isinstance(info.value, HardeningError)
    assert info.value.where.startswith("/")
    target = tmp_path / "report.json"
    with pytest.raises(ReportError):
        write_json(report, target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind either


def test_write_json_round_trips_utf8(report: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.json"
    write_json(report, target)
    text = target.read_text(encoding="utf-8")
    assert "坂戸市情報セキュリティポリシー" in text  # ensure_ascii False
    assert '\n  "format_version": "2.1"' in text  # indent 2
    assert json.loads(text) == report


@pytest.mark.parametrize(("hosts", "code"), [({"ntp01"}, 0), ({"ntp01", "web01"}, 2),
                                             ({"ntp01", "web01", "log01"}, 1)])
def test_exit_codes(hosts: set[str], code: int) -> None:
    report, _ = build_sample_report(only=hosts)
    validate_report(report)
    assert report["summary"]["exit_code"] == code


def test_facts_files_verify_with_sha256sum(sample: Any, tmp_path: Path) -> None:
    report, results = sample
    written = write_facts(report, results, tmp_path)
    assert sorted(p.name for p in written) == ["ntp01.json", "pc-shimin01.json", "web01.json", "zaimu-ap01.json"]
    for host in report["hosts"]:
        if host["facts_file"] is None:
            assert host["name"] == "log01"
            continue
        data = (tmp_path / host["facts_file"]).read_bytes()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == host["facts_digest"]
        assert json.loads(data) == results[host["name"]].facts


def test_facts_file_never_carries_a_secret(tmp_path: Path) -> None:
    secret = "S3cr3t-facts-value-for-report-test"  # noqa: S105 - a made-up value to be scrubbed
    REDACTOR.register(secret)

    def leak(results: dict[str, CollectResult]) -> None:
        facts = results["ntp01"].facts
        assert facts is not None
        facts["facts"]["os"] = {"name": f"leaked {secret}"}

    report, results = build_sample_report(only={"ntp01"}, tweak=leak)
    digest = report["hosts"][0]["facts_digest"]
    if digest != canonical_digest(REDACTOR.scrub_obj(results["ntp01"].facts)):
        # The digest was computed over the facts before scrubbing: caught, and nothing is written.
        with pytest.raises(ReportError, match="digest"):
            write_facts(report, results, tmp_path)
        assert not (tmp_path / "facts" / "ntp01.json").exists()
        return
    write_facts(report, results, tmp_path)
    data = (tmp_path / "facts" / "ntp01.json").read_bytes()
    assert secret.encode() not in data
    assert b"leaked ***" in data
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest


def test_facts_file_name_cannot_escape(sample: Any, tmp_path: Path) -> None:
    report, results = sample
    report["hosts"][0]["facts_file"] = "../../etc/passwd"
    with pytest.raises(ReportError):
        write_facts(report, results, tmp_path)


def test_report_of_the_real_catalog_validates() -> None:
    """Every requirement's metadata as the catalog holds it fits the report schema (e.g. automation.manual_facts)."""
    from jsonschema import Draft202012Validator

    from hardening.core.catalog import load_catalog
    from hardening.core.schemas import project_root
    from hardening.report.build import requirement_entry

    schema = load_schema("drift-report.schema.json")
    entry_schema = {**schema["$defs"]["requirement"], "$defs": schema["$defs"]}
    for rid, requirement in load_catalog(project_root() / "schemas" / "requirements").items():
        errors = list(Draft202012Validator(entry_schema).iter_errors(requirement_entry(requirement)))
        assert errors == [], (rid, [e.message for e in errors])
