"""subset_report: a report restricted to some hosts stays a valid report whose summary counts only them."""

from __future__ import annotations

from typing import Any

from hardening.report.validate import validate_report
from hardening.report.views import subset_report


def test_subset_keeps_only_the_hosts_and_recounts(report: dict[str, Any]) -> None:
    names = [h["name"] for h in report["hosts"]]
    assert len(names) >= 2
    kept = {names[0]}
    part = subset_report(report, kept)
    validate_report(part)
    assert [h["name"] for h in part["hosts"]] == [names[0]]
    assert {f["host"] for f in part["findings"]} <= kept
    assert part["summary"]["hosts"] == 1
    assert sum(part["summary"]["findings"].values()) == len(part["findings"])
    assert len(part["findings"]) < len(report["findings"])
    assert part["requirements"] == report["requirements"]
    assert part["run"] == report["run"]


def test_subset_exit_code_follows_the_kept_hosts(report: dict[str, Any]) -> None:
    clean = {h["name"] for h in report["hosts"]
             if not any(f["host"] == h["name"] and f["status"] in ("fail", "error") for f in report["findings"])
             and h["status"] != "error"}
    drifted = {f["host"] for f in report["findings"] if f["status"] == "fail"}
    assert drifted
    assert subset_report(report, drifted)["summary"]["exit_code"] in (1, 2)
    if clean:
        assert subset_report(report, clean)["summary"]["exit_code"] == 0
    assert subset_report(report, set())["summary"]["hosts"] == 0
