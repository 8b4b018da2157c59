"""The report says, for each finding, what to do on that host's platform, and keeps the intent beside it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from typing import Any

import pytest
from report_sample import HOSTS

from hardening.core.catalog import load_catalog
from hardening.core.models import CollectResult, Finding, Status, Violation
from hardening.core.schemas import project_root
from hardening.report.build import build_report
from hardening.report.writers import ReportError, render_html, validate_report

NTP = ["10.201.0.10", "10.201.0.11"]


def _time_sync_report() -> dict[str, Any]:
    """TIME-SYNC failing on a Linux host and on a host of a platform the catalog does not name."""
    requirement = load_catalog(project_root() / "schemas" / "requirements")["TIME-SYNC"]
    linux = dataclasses.replace(HOSTS[1], name="web01")
    other = dataclasses.replace(HOSTS[2], name="ap-other", platform="otheros")
    hosts = [linux, other]
    results = {h.name: CollectResult(host=h.name, facts={"facts": {"time": {}}}, error=None, error_kind=None,
                                     duration_s=0.1) for h in hosts}
    violation = Violation("/time/synchronized", "const", True, False, "True was expected")
    findings = {h.name: [Finding(host=h.name, requirement="TIME-SYNC", status=Status.FAIL,
                                 evaluated_status=Status.FAIL, message={"ja": "不適合", "en": "drift"},
                                 expected={"ja": "同期", "en": "synchronised"}, actual={"/time/synchronized": False},
                                 violations=[violation],
                                 parameters={"ntp_servers": NTP, "ntp_max_offset_ms": 1000})]
                for h in hosts}
    when = dt.datetime(2026, 5, 11, 2, 0, tzinfo=dt.UTC)
    return build_report(site={"name": "坂戸市"}, hosts=hosts, results=results, findings=findings,
                        requirements=[requirement], selection={}, inventory_dir="inventory",
                        catalog_digest="sha256:" + "0" * 64, started=when, finished=when)


def test_each_finding_has_its_host_platforms_remediation_with_parameters() -> None:
    report = _time_sync_report()
    validate_report(report)
    by_host = {f["host"]: f for f in report["findings"]}
    linux, other = by_host["web01"]["remediation"], by_host["ap-other"]["remediation"]
    assert "chrony" in linux["ja"]
    assert "chrony" in linux["en"]
    assert "10.201.0.10, 10.201.0.11" in linux["en"]
    assert "{ntp_servers}" not in linux["en"]
    # a platform without its own words gets the intent, filled in too, and never Linux's words
    assert "chrony" not in other["ja"] + other["en"]
    assert "10.201.0.10, 10.201.0.11" in other["ja"]
    entry = report["requirements"][0]
    assert other["en"] == entry["remediation"]["en"].format(ntp_servers="10.201.0.10, 10.201.0.11",
                                                            ntp_max_offset_ms=1000)
    assert set(entry["platforms"]) == {"linux", "cisco_ios", "yamaha_rtx", "fortios", "windows", "mfp",
                                       "otheros"}  # catalog's + run's
    assert entry["platforms"]["linux"]["automation"]["fix"] == "automated"
    assert entry["platforms"]["otheros"]["automation"] == {"check": "automated", "fix": "none", "manual_facts": []}
    assert entry["platforms"]["otheros"]["remediation"] == entry["remediation"]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_html_shows_the_platform_remediation_and_the_intent(lang: str) -> None:
    report = _time_sync_report()
    page = html.unescape(render_html(report, lang))
    intent = report["requirements"][0]["remediation"][lang]
    linux = next(f for f in report["findings"] if f["host"] == "web01")["remediation"][lang]
    other = next(f for f in report["findings"] if f["host"] == "ap-other")["remediation"][lang]
    assert linux in page
    assert other in page
    assert intent in page  # beside the Linux text, which is not the intent
    assert ("是正方法（linux）" if lang == "ja" else "Remediation (linux)") in page


def test_a_finding_whose_platform_the_requirement_does_not_describe_is_refused() -> None:
    report = _time_sync_report()
    del report["requirements"][0]["platforms"]["otheros"]
    with pytest.raises(ReportError, match="otheros"):
        validate_report(report)
