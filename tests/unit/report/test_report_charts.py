"""Chart data (compliance by zone, manager, device class, clause) and the SVG drawn from it."""

from __future__ import annotations

from typing import Any

from hardening.report import svg
from hardening.report.html import render_html
from hardening.report.i18n import Translator
from hardening.report.views import clause_key, compliance, compliance_groups


def test_compliance_counts_fail_closed() -> None:
    assert compliance({"pass": 3, "waived": 1, "fail": 1, "error": 1, "manual": 2, "not_applicable": 9}) == 0.5
    assert compliance({"not_applicable": 4}) is None  # nothing applied: no share, not 100 %


def test_groups(report: dict[str, Any]) -> None:
    report["hosts"][0]["security_managers"] = ["財政課長", "市民課長"]  # co-managed: counted for both
    groups = compliance_groups(report)
    clauses = [k for k, _ in groups["clause"]]
    assert clauses == sorted(clauses, key=clause_key)
    assert set(dict(groups["zone"])) == {"kikan", "lgwan", "internet"}
    managers = dict(groups["manager"])
    ntp = sum(1 for f in report["findings"] if f["host"] == report["hosts"][0]["name"])
    zaimu = sum(1 for f in report["findings"] if f["host"] == "zaimu-ap01")
    assert sum(managers["財政課長"].values()) == zaimu + ntp
    assert sum(sum(c.values()) for _, c in groups["device_class"]) == len(report["findings"])


def test_svg_escapes_and_scales() -> None:
    t = Translator("ja")
    chart = svg.bar_chart("c", "<t>", [("<script>x</script>", {"pass": 1, "fail": 3, "not_applicable": 5})], t)
    assert "<script>" not in chart
    assert "25.0%" in chart
    assert chart.count('class="seg') == 2
    assert "style=" not in chart  # the CSP allows no inline style attribute
    empty = svg.bar_chart("e", "e", [], t)
    assert t("chart_empty") in empty


def test_page_has_the_charts_and_says_when_there_is_no_trend(report: dict[str, Any]) -> None:
    page = render_html(report)
    for key in ("zone", "manager", "device_class", "clause"):
        assert f'id="chart-{key}"' in page
    assert 'id="chart-trend"' not in page
    assert Translator("ja")("trend_none") in page
    trend = [{"run_id": "a", "started_at": "2026-11-01T00:00:00+09:00", "hosts": 5, "findings": {"pass": 3}}]
    assert 'id="chart-trend"' in render_html(report, trend=trend)
