"""CSV, JUnit XML and the terminal summary."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from hardening.report.views import clause_key
from hardening.report.writers import CSV_COLUMNS, ReportError, terminal_summary, write_csv, write_junit


def _csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel in Japan opens it as UTF-8
    assert not raw[3:].startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_csv_one_row_per_finding(report: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    write_csv(report, target)
    rows = _csv(target)
    assert len(rows) == len(report["findings"]) == 35
    assert list(rows[0]) == [
        "ホスト", "ネットワーク区分", "情報システム", "情報セキュリティ管理者", "機器区分", "要件ID", "要件名",
        "ポリシー条項", "重要度", "判定", "評価結果", "期待される状態", "実際の値", "所見", "例外措置ID",
        "例外措置の有効期限", "例外措置の期限切れ", "確認者", "確認日時", "証跡のSHA-256", "証跡による確認の有効期限",
        "証跡による確認の期限切れ"]
    pairs = {(r["ホスト"], r["要件ID"]) for r in rows}
    assert pairs == {(f["host"], f["requirement"]) for f in report["findings"]}
    expired = next(r for r in rows if r["ホスト"] == "zaimu-ap01" and r["要件ID"] == "LOGIN-BANNER")
    assert expired["判定"] == "fail"
    assert expired["例外措置ID"] == "W-2025-014"
    assert expired["例外措置の有効期限"] == "2026-03-31"
    assert expired["例外措置の期限切れ"] == "true"
    assert expired["ポリシー条項"] == "第2章 6(2)③"
    assert expired["ネットワーク区分"] == "lgwan"
    assert json.loads(expired["実際の値"]) == {"/login/banner": None}
    waived = next(r for r in rows if r["ホスト"] == "web01" and r["要件ID"] == "LOGIN-TIMEOUT")
    assert (waived["判定"], waived["評価結果"], waived["例外措置の期限切れ"]) == ("waived", "fail", "false")
    pw = next(r for r in rows if r["ホスト"] == "pc-shimin01" and r["要件ID"] == "PW-LEN")
    assert pw["要件名"] == "パスワードの最小文字数"
    assert pw["情報セキュリティ管理者"] == "市民課長"
    assert json.loads(pw["実際の値"]) == {"/password_policy/enforced": True, "/password_policy/min_length": 6}


def test_csv_english_header(report: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    write_csv(report, target, lang="en")
    rows = _csv(target)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert next(r for r in rows if r["requirement"] == "PW-LEN")["title"] == "Minimum password length"


def test_csv_cells_never_start_a_formula(report: dict[str, Any], tmp_path: Path) -> None:
    for host in report["hosts"]:
        host["system"] = "=HYPERLINK(\"x\",\"y\")"
    target = tmp_path / "report.csv"
    write_csv(report, target)
    assert all(r["情報システム"] == "'=HYPERLINK(\"x\",\"y\")" for r in _csv(target))


def test_csv_refuses_invalid_report(report: dict[str, Any], tmp_path: Path) -> None:
    del report["findings"][0]["clause"]
    with pytest.raises(ReportError):
        write_csv(report, tmp_path / "report.csv")
    assert not (tmp_path / "report.csv").exists()


def test_junit(report: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "junit.xml"
    write_junit(report, target)
    root = ET.parse(target).getroot()  # noqa: S314 - our own file
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == [h["name"] for h in report["hosts"]]
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(report["findings"]) + 1  # + the collect case of unreachable log01
    assert len(root.findall(".//failure")) == 3 == int(root.get("failures", "-1"))
    assert len(root.findall(".//error")) == 5 + 1 == int(root.get("errors", "-1"))
    assert len(root.findall(".//skipped")) == 5 + 5 + 1 == int(root.get("skipped", "-1"))
    assert int(root.get("tests", "-1")) == len(cases)
    for name, suite in suites.items():
        assert int(suite.get("tests", "-1")) == len(suite.findall("testcase")), name
        assert int(suite.get("failures", "-1")) == len(suite.findall(".//failure")), name
    assert suites["ntp01"].findall(".//failure") == []
    collect = suites["log01"].find("testcase[@name='collect']/error")
    assert collect is not None
    assert collect.get("type") == "unreachable"
    assert "\x1b" not in (collect.get("message") or "")  # control characters would make the XML unreadable
    pw = suites["pc-shimin01"].find("testcase/failure")
    assert pw is not None
    assert "第3章 1 3(4)③" in (pw.text or "")
    assert "minimum=8" in (pw.text or "")
    waived = [s.get("message") or "" for s in suites["web01"].iter("skipped")]
    assert any("W-2026-001" in m and "2027-03-31" in m for m in waived)
    expired = suites["zaimu-ap01"].find("testcase/failure")
    assert expired is not None
    assert "期限切れ" in (expired.get("message") or "")


def test_terminal_summary(report: dict[str, Any]) -> None:
    text = terminal_summary(report, lang="ja", color=False,
                            paths={"JSON": "reports/latest/report.json", "HTML": "reports/latest/report.html"})
    assert "\x1b" not in text  # no color asked, and hostile escape sequences are shown, not obeyed
    assert "\\x1b[31m" in text
    lines = text.splitlines()
    assert "終了コード" in lines[1]
    assert lines[1].endswith("(1)")
    assert "不適合 3" in text
    assert "例外措置 1" in text
    for host, requirement, clause in (("web01", "PORTS-CLOSED", "第2章 6(5)①ア"),
                                      ("zaimu-ap01", "LOGIN-BANNER", "第2章 6(2)③"),
                                      ("pc-shimin01", "PW-LEN", "第3章 1 3(4)③")):
        head = next(i for i, line in enumerate(lines) if f"] {host} " in line)
        assert requirement in lines[head + 1]
        assert clause in lines[head + 1]
    assert "W-2025-014" in text
    assert "期限切れ" in text
    assert "log01" in text
    assert "connection refused" in text
    assert "ntp01" not in text  # passing hosts are not listed
    assert "LOGIN-TIMEOUT" not in text  # waived: not drift
    assert text.rstrip().endswith("HTML  reports/latest/report.html")


def test_terminal_summary_color_and_english(report: dict[str, Any]) -> None:
    colored = terminal_summary(report, lang="en", color=True)
    assert "\x1b[31m" in colored
    assert "Failing hosts" in colored
    assert "不適合" not in colored
    assert colored.count("\x1b[") % 2 == 0  # every color is reset


def test_clause_order() -> None:
    clauses = ["第3章 1 3(4)③", "第2章 10(1)", "第2章 6(1)⑰ア", "第2章 6(1)⑥ア", "第2章 6(2)③", "第2章 5(1)①キ"]
    assert sorted(clauses, key=clause_key) == [
        "第2章 5(1)①キ", "第2章 6(1)⑥ア", "第2章 6(1)⑰ア", "第2章 6(2)③", "第2章 10(1)", "第3章 1 3(4)③"]
