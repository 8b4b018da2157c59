"""`audit --from <demo run>/facts` reproduces the live demo audit's verdicts without contacting a host
(issue 7 item 5), and its report names every saved file it read with the file's sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from tests.lab.labtools import ROOT, run_cli


def _verdicts(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return sorted((f["host"], f["requirement"], f["status"], f["evaluated_status"]) for f in report["findings"])


@pytest.fixture(scope="module")
def offline_audit(demo_audit: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("offline-audit")
    facts = Path(demo_audit["out"]) / "facts"
    # No SSH settings at all: an offline audit needs none (and must not try to connect).
    proc = run_cli("audit", "--from", str(facts), "--out", str(out), "--no-progress",
                   HARDENING_KNOWN_HOSTS="/nonexistent/known_hosts")
    assert (out / "report.json").exists(), proc.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {"code": proc.returncode, "stderr": proc.stderr, "report": report, "facts": facts, "out": out}


def test_offline_verdicts_are_the_live_verdicts(demo_audit: dict[str, Any], offline_audit: dict[str, Any]) -> None:
    live, offline = demo_audit["report"], offline_audit["report"]
    assert _verdicts(offline) == _verdicts(live)
    assert offline["summary"] == live["summary"]
    assert offline_audit["code"] == demo_audit["code"], offline_audit["stderr"]
    assert [h["name"] for h in offline["hosts"]] == [h["name"] for h in live["hosts"]]
    assert [h["status"] for h in offline["hosts"]] == [h["status"] for h in live["hosts"]]


def test_offline_report_names_each_file_with_its_sha256(demo_audit: dict[str, Any],
                                                        offline_audit: dict[str, Any]) -> None:
    report = offline_audit["report"]
    schema = json.loads((ROOT / "schemas" / "drift-report.schema.json").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(schema).iter_errors(report)) == []
    assert demo_audit["report"]["run"]["offline"] is None
    record = report["run"]["offline"]
    assert record["from"] == str(offline_audit["facts"])
    assert record["warnings"] == []
    sources = {s["host"]: s for s in record["sources"]}
    live_hosts = {h["name"]: h for h in demo_audit["report"]["hosts"] if h["facts_file"] is not None}
    assert set(sources) == set(live_hosts)
    for name, source in sources.items():
        path = offline_audit["facts"] / f"{name}.json"
        assert source["kind"] == "facts"
        assert source["path"] == str(path)
        assert source["sha256"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        assert source["sha256"] == live_hosts[name]["facts_digest"]
        assert source["report_digest_checked"] is True
    html = (offline_audit["out"] / "report.html").read_text(encoding="utf-8")
    assert "オフライン点検" in html
    for source in sources.values():
        assert source["sha256"] in html
