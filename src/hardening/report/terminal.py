"""The compact drift summary printed at the end of a run (plain text, ANSI colors only when asked)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hardening.core.text import terminal_safe
from hardening.report.i18n import Translator, attestation_line
from hardening.report.safety import clean_text
from hardening.report.views import STATUSES, ReportView, is_expired_fail

_COLORS = {
    "pass": "32",  # green
    "fail": "31",  # red
    "error": "35",  # magenta
    "not_applicable": "90",  # grey
    "manual": "33",  # yellow
    "waived": "36",  # cyan
    "expired": "1;31",  # bold red
    "bold": "1",
}


def _safe(value: Any) -> Any:
    """Host data printed to a terminal: control characters (escape sequences) are shown, not obeyed."""
    if isinstance(value, str):
        return terminal_safe(clean_text(value))
    if isinstance(value, list):
        return [_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _safe(v) for k, v in value.items()}
    return value


def _attestation_run_lines(record: dict[str, Any] | None, t: Translator, paint: Any) -> list[str]:
    """Why attestations were not used (the ledger does not verify) and each one ignored, loudly."""
    if not record:
        return []
    lines = []
    if record["error"]:
        lines.append(paint("expired", f"{t('attestations_error')}: {record['error']}"))
    if record["warnings"]:
        lines.append(f"{t('attestations_warnings')}:")
        lines += [f"  ! {w}" for w in record["warnings"]]
    return lines


def terminal_summary(
    report: dict[str, Any],
    lang: str = "ja",
    color: bool = False,
    paths: Mapping[str, str | Path] | None = None,
) -> str:
    """Counts per status, the hosts with fail/error and their failing requirement ids and clauses,
    and where the files are (`paths`: label -> path, printed in the given order)."""
    t = Translator(lang)
    report = _safe(report)
    view = ReportView(report)

    def paint(style: str, text: str) -> str:
        return f"\x1b[{_COLORS[style]}m{text}\x1b[0m" if color else text

    summary = report["summary"]
    code = summary["exit_code"]
    verdict_style = {0: "pass", 2: "fail", 1: "error"}[code]
    lines = [
        paint("bold", f"{report['site']['name']} {t('report_title')}")
        + f"  {report['generated_at']}  {t('run_id')} {report['run']['id']}",
        f"{t('exit_code')}: " + paint(verdict_style, f"{t.exit_meaning(code)} ({code})"),
        f"{t('hosts_count')} {summary['hosts']}: "
        + "  ".join(paint(s, f"{t.status(s)} {summary['hosts_by_status'][s]}") for s in ("pass", "fail", "error")),
        f"{t('findings_by_status')}: "
        + "  ".join(paint(s, f"{t.status(s)} {summary['findings'][s]}") for s in STATUSES),
    ]
    attested = summary.get("attested") or {}  # absent in a 2.0 report
    if attested.get("valid") or attested.get("expired"):
        lines.append(f"{t('attested_count')}: " + paint("pass", f"{t('attested_valid')} {attested['valid']}") + "  "
                     + paint("expired", f"{t('attested_expired_count')} {attested['expired']}"))
    lines += _attestation_run_lines(report["run"].get("attestations"), t, paint)
    offline = report["run"].get("offline")  # null (a live run) or absent (a 1.0 report)
    if offline:
        lines.append(paint("bold", t("offline")) + f"  {t('offline_from')}: {offline['from']}")
        lines += [f"  {s['host']}: {t('offline_kind_' + s['kind'])} {s['path']} {s['sha256']}"
                  for s in offline["sources"]]
        lines += [f"  ! {w}" for w in offline["warnings"]]
    problem_hosts = [h for h in report["hosts"] if h["status"] in ("fail", "error")]
    if problem_hosts:
        lines.append(f"{t('failing_hosts')} / {t('error_hosts')}:")
    for host in problem_hosts:
        head = (f"  {paint(host['status'], '[' + t.status(host['status']) + ']')} {host['name']}"
                f"  {t.zone(host['zone'])}  {host['system']}")
        if host["error"] is not None:
            head += f"  {t('error_reason')}: {host['error']}"
            if host["error_kind"]:
                head += f" ({host['error_kind']})"
        lines.append(head)
        problems = view.problem_findings(host["name"])
        if host["error"] is not None:
            # Unreachable host: every check errs for the same reason; the count says enough.
            lines.append(f"      {paint('error', t.status('error'))} {len(problems)} {t('not_evaluated')}")
            continue
        width = max((len(f["requirement"]) for f in problems), default=0)
        for finding in problems:
            line = (f"      {paint(finding['status'], t.status(finding['status']))}"
                    f"  {finding['requirement'].ljust(width)}  {finding['clause']}")
            if (finding.get("attestation") or {}).get("expired"):
                line += "  " + paint("expired", f"[{t('attested_expired')} {finding['attestation']['expires']}]")
            if is_expired_fail(finding):
                waiver = finding["waiver"]
                line += "  " + paint("expired", f"[{t('waiver')} {waiver['id']} {t('waiver_expired')}"
                                                f" {waiver['expires']}]")
            lines.append(line)
    decided = [f for f in report["findings"] if f.get("attestation")]
    if decided:
        lines.append(f"{t('attested_findings')}:")
        for finding in decided:
            attestation = finding["attestation"]
            style = "expired" if attestation["expired"] else "pass"
            lines.append(f"  {paint(style, t.status(finding['status']))}  {finding['host']}  {finding['requirement']}"
                         f"  {attestation_line(attestation, t)}")
    if paths:
        lines.append(f"{t('files')}:")
        width = max(len(k) for k in paths)
        lines += [f"  {k.ljust(width)}  {_safe(str(v))}" for k, v in paths.items()]
    return "\n".join(lines)
