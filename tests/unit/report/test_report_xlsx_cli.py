"""The auditors' XLSX workbook, `hardening report` (report.json, history run with trend, city view, per manager)
and the per-manager reports the jobs mail (outputs.write_manager_reports)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from hardening import cli
from hardening.report.outputs import FORMATS, write_manager_reports
from hardening.report.views import responsible_managers
from hardening.report.xlsx import write_xlsx

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _sheets(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as book:
        workbook = book.read("xl/workbook.xml").decode("utf-8")
        names = [part.split('"')[0] for part in workbook.split('<sheet name="')[1:]]
        return {name: book.read(f"xl/worksheets/sheet{i}.xml").decode("utf-8") for i, name in enumerate(names, 1)}


def test_xlsx_sheets_filters_and_frozen_header(report: dict[str, Any], tmp_path: Path) -> None:
    assert FORMATS["xlsx"] == ("report.xlsx", "XLSX")
    write_xlsx(report, tmp_path / "report.xlsx")
    sheets = _sheets(tmp_path / "report.xlsx")
    assert list(sheets) == ["概要", "指摘事項", "管理者別", "区分別", "条項別", "ホスト"]
    findings = sheets["指摘事項"]
    assert "<autoFilter " in findings
    assert 'state="frozen"' in findings
    assert 'ySplit="1"' in findings
    problems = [f for f in report["findings"] if f["status"] not in ("pass", "not_applicable")]
    assert findings.count("<row ") == 1 + len(problems)  # header + every fail, error, manual, waived finding
    assert "第3章 1 3(4)③" in findings
    assert "パスワードは、英大文字" in findings  # clause and verbatim quote
    assert "W-2026-001" in findings  # the waiver
    assert "<f>" not in "".join(sheets.values())
    assert "広報広聴課長" in sheets["管理者別"]
    assert sheets["ホスト"].count("<row ") == 1 + len(report["hosts"])
    write_xlsx(report, tmp_path / "en.xlsx", lang="en")
    assert list(_sheets(tmp_path / "en.xlsx"))[:2] == ["Summary", "Findings"]


def test_manager_reports(report: dict[str, Any], tmp_path: Path) -> None:
    written = write_manager_reports(report, tmp_path, "ja", ["json", "html", "xlsx"])
    expected = sorted({m for h in report["hosts"] for m in responsible_managers(h)})
    assert sorted(written) == expected
    index = json.loads((tmp_path / "index.json").read_text(encoding="utf-8"))
    for entry in index["reports"]:
        files = written[entry["manager"]]
        assert {p.name for p in files} == {"report.json", "report.html", "report.xlsx"}
        sub = json.loads((tmp_path / entry["directory"] / "report.json").read_text(encoding="utf-8"))
        assert sub["hosts"]
        assert all(entry["manager"] in responsible_managers(h) for h in sub["hosts"])  # their hosts only
        assert {f["host"] for f in sub["findings"]} <= {h["name"] for h in sub["hosts"]}


def _report_file(report: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "in" / "report.json"
    path.parent.mkdir()
    path.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    return path


def test_cli_report_renders_a_report_json(report: dict[str, Any], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    source = _report_file(report, tmp_path)
    out = tmp_path / "out"
    assert cli.main(["report", str(source), "--format", "html,xlsx,csv,junit,json", "--lang", "en",
                     "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"report.html", "report.xlsx", "report.csv", "junit.xml",
                                               "report.json"}
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page
    assert "No trend data" in page  # a report.json has no history: the page says so
    assert str(out) in capsys.readouterr().out
    by = tmp_path / "by"
    assert cli.main(["report", str(source), "--by", "manager", "--format", "html", "--out", str(by)]) == 0
    assert len(json.loads((by / "index.json").read_text(encoding="utf-8"))["reports"]) == 4


def test_cli_report_bad_input_is_one_line(report: dict[str, Any], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format_version": "2.1",\n  "tool": }', encoding="utf-8")
    assert cli.main(["report", str(broken), "--out", str(tmp_path / "o1")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "broken.json" in err
    assert "line 2 column" in err
    del report["findings"][0]["clause"]
    invalid = _report_file(report, tmp_path)
    assert cli.main(["report", str(invalid), "--out", str(tmp_path / "o2")]) == 1
    err = capsys.readouterr().err.strip()
    assert "report.json" in err
    assert "/findings/0" in err
    assert not (tmp_path / "o1").exists()
    assert not (tmp_path / "o2").exists()
    assert cli.main(["report", str(invalid), "--format", "pdf", "--out", str(tmp_path / "o3")]) == 1


def test_cli_report_from_history_with_trend_and_city(report: dict[str, Any], tmp_path: Path) -> None:
    from hardening.history import open_history

    location = str(tmp_path / "history.sqlite")
    with open_history(location) as history:
        history.record(report)
    out = tmp_path / "run"
    assert cli.main(["report", "--run", "latest", "--history", location, "--format", "html", "--out", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="chart-trend"' in page
    assert report["run"]["id"] in page
    city = tmp_path / "city"
    assert cli.main(["report", "--city", "--history", location, "--format", "html,xlsx", "--out", str(city)]) == 0
    assert (city / "report.xlsx").exists()
    assert cli.main(["report", "--run", "nope", "--history", location, "--out", str(tmp_path / "x")]) == 1
