"""The report as an XLSX workbook for auditors (xlsxwriter, constant memory): 概要, 指摘事項 (every finding that is
not pass or not applicable: fail, error, manual, waived; autofilter, frozen header), 管理者別, 区分別, 条項別, ホスト.

Device data is written with write_string only: a cell is text, never a formula, whatever it starts with (=, +, -,
@, tab, CR). Characters XML 1.0 cannot hold are removed and a cell holds at most Excel's 32,767 characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from hardening.core.errors import OutputError
from hardening.report.i18n import Translator, label
from hardening.report.safety import truncated
from hardening.report.validate import validate_report
from hardening.report.views import (
    STATUSES,
    ReportView,
    compliance,
    compliance_groups,
    counts,
    hosts_by,
    responsible_managers,
)
from hardening.report.writers import finding_rows

EXCEL_CELL_MAX = 32_767
EXCEL_ROWS = 1_048_576
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MARK = 80  # room kept for the "characters cut" note
FINDING_COLUMNS = ("host", "zone", "system", "managers", "device_class", "requirement", "title", "clause", "quote",
                   "severity", "status", "evaluated_status", "expected", "actual", "evidence", "message",
                   "waiver_id", "waiver_expires", "waiver_expired", "attester", "attested_at", "evidence_sha256",
                   "attestation_expires", "attestation_expired")


def cell_text(value: Any) -> str:
    """A cell's text: XML-illegal characters removed, lone surrogates replaced, at most 32,767 characters."""
    text = _SURROGATE.sub("\ufffd", _ILLEGAL.sub("", str(value)))
    return truncated(text, EXCEL_CELL_MAX - _MARK) if len(text) > EXCEL_CELL_MAX else text


class _Sheet:
    """One worksheet written row by row (constant memory), every value through cell_text and write_string."""

    def __init__(self, book: xlsxwriter.Workbook, name: str, header: Sequence[str], widths: Sequence[int],
                 bold: Any) -> None:
        self.sheet: Worksheet = book.add_worksheet(name)
        self.width = len(header)
        for column, width in enumerate(widths):
            self.sheet.set_column(column, column, width)
        self.row = 0
        self.write(header, bold)
        self.sheet.freeze_panes(1, 0)

    def write(self, values: Sequence[Any], style: Any = None) -> bool:
        """Write one row; False (nothing written) once Excel's row limit is reached."""
        if self.row >= EXCEL_ROWS - 1:  # the last row stays free for a note
            return False
        for column, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.sheet.write_string(self.row, column, cell_text("" if value is None else value), style)
            else:
                self.sheet.write_number(self.row, column, value, style)
        self.row += 1
        return True

    def autofilter(self) -> None:
        self.sheet.autofilter(0, 0, max(self.row - 1, 0), self.width - 1)


def _share(tally: dict[str, int]) -> str:
    value = compliance(tally)
    return "—" if value is None else f"{value * 100:.1f}%"


def write_xlsx(report: dict[str, Any], path: Path | str, lang: str = "ja") -> None:
    """Validate, then write the workbook (texts in `lang`, Japanese by default)."""
    t = Translator(lang)
    validate_report(report)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_numbers": False, "strings_to_urls": False})
    try:
        _fill(book, report, t, lang)
        book.close()
        tmp.chmod(0o600)
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(str(target), exc.strerror or type(exc).__name__) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fill(book: xlsxwriter.Workbook, report: dict[str, Any], t: Translator, lang: str) -> None:
    bold = book.add_format({"bold": True, "bg_color": "#F6F8FA", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    view = ReportView(report)
    summary = report["summary"]

    overview = _Sheet(book, t("sheet_summary"), [t("summary"), ""], [34, 80], bold)
    site = report["site"]["name"] + (f" / {report['site']['name_en']}" if lang == "en" and
                                     report["site"].get("name_en") else "")
    for key, value in [
        (t("report_title"), ""), (t("site"), site),
        (t("policy"), f"{report['policy']['title']}（{report['policy']['edition']}）"),
        (t("generated_at"), report["generated_at"]), (t("started_at"), report["run"]["started_at"]),
        (t("operator"), report["run"]["operator"]), (t("run_id"), report["run"]["id"]),
        (t("catalog_digest"), report["run"]["catalog_digest"]),
        (t("exit_code"), f"{summary['exit_code']} — {t.exit_meaning(summary['exit_code'])}"),
        (t("hosts_count"), summary["hosts"]),
        (t("compliance"), _share(summary["findings"])),
        *[(f"{t('findings_by_status')}: {t.status(s)}", summary["findings"].get(s, 0)) for s in STATUSES],
        *[(f"{t('hosts_by_status')}: {t.status(s)}", summary["hosts_by_status"].get(s, 0))
          for s in ("pass", "fail", "error")],
    ]:
        overview.write([key, value])

    headers = [t("manager") if c == "managers" else t("quote") if c == "quote" else t("evidence")
               if c == "evidence" else label(c, lang, "csv") for c in FINDING_COLUMNS]
    widths = [16, 12, 18, 18, 12, 16, 24, 14, 40, 8, 10, 10, 30, 40, 50, 40, 12, 12, 8, 12, 20, 20, 12, 8]
    findings = _Sheet(book, t("sheet_findings"), headers, widths, bold)
    translate = {"zone": t.zone, "device_class": t.device_class, "status": t.status,
                 "evaluated_status": t.status, "severity": t.severity}
    for row in finding_rows(report, lang):
        if row["status"] in ("pass", "not_applicable"):  # 指摘事項: what is pointed out; the CSV has every finding
            continue
        values = [translate[c](row[c]) if c in translate else row[c] for c in FINDING_COLUMNS]
        if not findings.write(values, wrap):  # the row kept free says what was left out
            findings.sheet.write_string(findings.row, 0, t("rows_cut"))
            break
    findings.autofilter()

    groups = compliance_groups(report)
    group_header = [t("hosts_count"), t("compliance"), *[t.status(s) for s in STATUSES]]
    for sheet_key, dimension, first in (("sheet_by_manager", "manager", t("manager")),
                                        ("sheet_by_zone", "zone", t("zone"))):
        members = hosts_by(report, dimension)
        sheet = _Sheet(book, t(sheet_key), [first, *group_header], [28, 10, 10, *[10] * len(STATUSES)], bold)
        for key, tally in groups[dimension]:
            name = t.zone(key) if dimension == "zone" else key
            sheet.write([name, len(members.get(key, [])), _share(tally), *[tally.get(s, 0) for s in STATUSES]])
        sheet.autofilter()

    clauses = _Sheet(book, t("sheet_by_clause"),
                     [t("clause"), t("requirement"), t("title"), t("quote"), t("severity"), t("compliance"),
                      *[t.status(s) for s in STATUSES], t("failing_hosts")],
                     [14, 18, 28, 50, 8, 10, *[8] * len(STATUSES), 50], bold)
    for group in view.by_clause():
        for entry in group.rows:
            req = entry.requirement
            clauses.write([group.clause, req["id"], t.text(req["title"]), req["quote_ja"], t.severity(req["severity"]),
                           _share(entry.counts), *[entry.counts.get(s, 0) for s in STATUSES],
                           ", ".join(entry.failing_hosts)], wrap)
    clauses.autofilter()

    hosts = _Sheet(book, t("sheet_hosts"),
                   [t("host"), t("hostname"), t("zone"), t("system"), t("security_officer"), t("manager"),
                    t("device_class"), t("platform"), t("status"), t("compliance"), t.status("fail"),
                    t.status("error"), t("error_reason"), t("facts_file"), t("facts_digest")],
                   [18, 16, 14, 20, 16, 20, 12, 10, 10, 10, 8, 8, 40, 24, 30], bold)
    for host in report["hosts"]:
        tally = view.host_counts(host["name"]) if host["name"] in view.hosts else counts()
        hosts.write([host["name"], host["hostname"], t.zone(host["zone"]), host["system"], host["security_officer"],
                     t.join(responsible_managers(host)), t.device_class(host["device_class"]), host["platform"],
                     t.status(host["status"]), _share(tally), tally["fail"], tally["error"], host["error"] or "",
                     host["facts_file"] or "", host["facts_digest"] or ""])
    hosts.autofilter()

