"""Writes a drift report as JSON (the record), HTML, CSV and JUnit XML, plus the facts files beside it.

Every writer checks the document first (validate_report): a report this tool built wrong is never
written. Files are written atomically (files.atomic_write).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hardening.core.models import CollectResult
from hardening.core.secrets import REDACTOR
from hardening.report.build import canonical_json
from hardening.report.files import atomic_write
from hardening.report.html import render_html, write_html
from hardening.report.i18n import CSV_HEADER, Translator, attestation_line, check_lang, label
from hardening.report.safety import clean_text
from hardening.report.terminal import terminal_summary
from hardening.report.validate import ReportError, validate_report
from hardening.report.views import ReportView, responsible_managers

__all__ = [
    "CSV_COLUMNS",
    "ReportError",
    "canonical_json",
    "render_html",
    "terminal_summary",
    "validate_report",
    "write_csv",
    "write_facts",
    "write_html",
    "write_json",
    "write_junit",
]

CSV_COLUMNS = tuple(CSV_HEADER)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def write_json(report: dict[str, Any], path: Path | str) -> None:
    """Validate the report (ReportError if invalid, nothing written) and write it as UTF-8 JSON, indent 2.

    Written piece by piece as it is encoded (the same bytes as json.dumps + newline): a 10,000-host report is not
    held a second time as one string of several hundred MB."""
    validate_report(report)
    encoder = json.JSONEncoder(ensure_ascii=False, indent=2, allow_nan=False)
    atomic_write(path, itertools.chain((clean_text(piece) for piece in encoder.iterencode(report)), ("\n",)))


def write_facts(report: dict[str, Any], results: Mapping[str, CollectResult], directory: Path | str) -> list[Path]:
    """Write each host's facts to <directory>/<facts_file> in canonical JSON; return the paths written.

    The bytes written are exactly the text the report's facts_digest was computed over, so an auditor can
    check a file with `sha256sum` alone. Raises ReportError if a host's facts do not match its digest
    (after secrets are scrubbed) or if a facts file name would leave the directory.
    """
    written: list[Path] = []
    base = Path(directory)
    for index, host in enumerate(report["hosts"]):
        if host["facts_file"] is None:
            continue
        result = results.get(host["name"])
        if result is None or result.facts is None:
            raise ReportError(f"/hosts/{index}/facts_file", f"no facts for host {host['name']!r} to write")
        relative = Path(host["facts_file"])
        if relative.is_absolute() or ".." in relative.parts or len(relative.parts) != 2:
            raise ReportError(f"/hosts/{index}/facts_file", f"unsafe facts file name {host['facts_file']!r}")
        text = canonical_json(REDACTOR.scrub_obj(result.facts))
        # Check the very bytes to be written: what the auditor's sha256sum will see.
        if "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest() != host["facts_digest"]:
            raise ReportError(
                f"/hosts/{index}/facts_digest",
                "the facts to write do not match the digest in the report (a secret was scrubbed from them "
                "after the digest was computed?)",
            )
        target = base / relative
        atomic_write(target, text)
        written.append(target)
    return written


def write_captures(results: Mapping[str, CollectResult], directory: Path | str) -> list[Path]:
    """Write each capture platform host's raw outputs (secrets already masked) to <directory>/captures/<host>/,
    the layout `hardening audit --from <directory>/captures` reads; return the paths written."""
    written: list[Path] = []
    for host, result in sorted(results.items()):
        if result.captures and (Path(directory) / "captures" / host).is_dir():
            shutil.rmtree(Path(directory) / "captures" / host)  # a reused --out keeps no stale output
        for name, text in sorted(result.captures.items()):
            if Path(name).name != name or name.startswith(".") or Path(host).name != host:
                raise ReportError("/hosts", f"unsafe capture file name {host!r}/{name!r}")
            target = Path(directory) / "captures" / host / name
            # configurations map the network even with their secrets masked: owner-only, like the files (0600)
            for folder in (Path(directory) / "captures", target.parent):
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                folder.chmod(0o700)
            atomic_write(target, REDACTOR.scrub(text))
            written.append(target)
    return written


def _cell(value: str) -> str:
    # A cell starting like a formula would be run by Excel (CSV injection): keep it text.
    return "'" + value if value.startswith(_FORMULA_START) else value


def finding_rows(report: dict[str, Any], lang: str = "ja") -> Iterable[dict[str, str]]:
    """One row per finding as text (hosts in report order, problems first within a host): the CSV columns plus
    `quote`, `evidence` and `managers` (the responsible managers), which the XLSX sheets add."""
    t = Translator(lang)
    view = ReportView(report)
    for name, findings in view.findings_by_host.items():
        host = view.hosts[name]
        managers = t.join(responsible_managers(host))
        for finding in findings:
            requirement = view.requirement(finding["requirement"])
            waiver = finding["waiver"] or {}
            attestation = finding["attestation"] or {}
            yield {
                "host": name,
                "zone": host["zone"],
                "system": host["system"],
                "security_managers": t.join(host["security_managers"]),
                "managers": managers,
                "device_class": host["device_class"],
                "requirement": finding["requirement"],
                "title": t.text(requirement["title"]),
                "clause": finding["clause"],
                "quote": requirement["quote_ja"],
                "severity": finding["severity"],
                "status": finding["status"],
                "evaluated_status": finding["evaluated_status"],
                "expected": t.text(finding["expected"]),
                "actual": canonical_json(finding["actual"]) if finding["actual"] else "",
                "evidence": "\n".join(f"{e['source']}: {e.get('excerpt', '')}".rstrip(": ")
                                      for e in finding["evidence"]),
                "message": t.text(finding["message"]),
                "waiver_id": waiver.get("id", ""),
                "waiver_expires": waiver.get("expires", ""),
                "waiver_expired": ("true" if waiver["expired"] else "false") if waiver else "",
                "attester": attestation.get("attester", ""),
                "attested_at": attestation.get("attested_at", ""),
                "evidence_sha256": attestation.get("evidence_sha256", ""),
                "attestation_expires": attestation.get("expires", ""),
                "attestation_expired": ("true" if attestation["expired"] else "false") if attestation else "",
            }


def csv_rows(report: dict[str, Any], lang: str = "ja") -> Iterable[list[str]]:
    """The CSV header and one row per finding (hosts in report order, problems first within a host)."""
    yield [label(c, lang, "csv") for c in CSV_COLUMNS]
    for row in finding_rows(report, lang):
        yield [_cell(row[c]) for c in CSV_COLUMNS]


def write_csv(report: dict[str, Any], path: Path | str, lang: str = "ja") -> None:
    """Validate, then write one row per finding: UTF-8 with BOM (Excel in Japan), header in `lang`.

    Enumerations (zone, device_class, severity, status) stay as their codes so filters work the same in
    either language; texts (title, expected, message) are in `lang`.
    """
    check_lang(lang)
    validate_report(report)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(csv_rows(report, lang))
    atomic_write(path, clean_text(buffer.getvalue()), encoding="utf-8-sig")


def _xml(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _finding_body(finding: dict[str, Any], requirement: dict[str, Any], t: Translator) -> str:
    lines = [
        f"{t('clause')}: {finding['clause']}",
        f"{t('quote')}: {requirement['quote_ja']}",
        f"{t('expected')}: {t.text(finding['expected'])}",
    ]
    lines += [f"{t('actual')}: {p} = {_dump(v)}" for p, v in finding["actual"].items()]
    lines += [
        f"{t('violations')}: {v['pointer']} {v['keyword']}={_dump(v['expected'])}"
        f" / {t('found')}: {_dump(v['actual'])}"
        for v in finding["violations"]
    ]
    lines += [f"{t('evidence')}: {e['source']}" for e in finding["evidence"]]
    waiver = finding["waiver"]
    if waiver:
        state = t("waiver_expired") if waiver["expired"] else ""
        lines.append(f"{t('waiver')}: {waiver['id']} {waiver['approver']} {waiver['expires']} {state}".rstrip())
    attestation = finding["attestation"]
    if attestation:
        lines.append(attestation_line(attestation, t))
    return "\n".join(lines)


def _attestation_properties(case: ET.Element, attestation: dict[str, Any] | None) -> None:
    """The attestation of a finding as the testcase's properties (what a CI dashboard can show beside a pass)."""
    if not attestation:
        return
    props = ET.SubElement(case, "properties")
    for key in ("ledger_seq", "attester", "attested_at", "evidence_name", "evidence_sha256", "expires", "expired"):
        value = attestation[key]
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        ET.SubElement(props, "property", name=f"attestation.{key}", value=text)


def junit_tree(report: dict[str, Any], lang: str = "ja") -> ET.ElementTree[ET.Element]:
    """JUnit XML: one testsuite per host, one testcase per finding, plus a `collect` testcase for a host
    whose facts could not be collected (so CI counts it even when no requirement was in scope)."""
    t = Translator(lang)
    view = ReportView(report)
    root = ET.Element("testsuites", name=f"hardening {report['site']['name']}")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for name, findings in view.findings_by_host.items():
        host = view.hosts[name]
        suite = ET.SubElement(root, "testsuite", name=name, hostname=host["hostname"],
                              timestamp=report["generated_at"], time=str(host["duration_s"]))
        props = ET.SubElement(suite, "properties")
        for key in ("zone", "system", "device_class", "facts_digest"):
            ET.SubElement(props, "property", name=key, value=str(host[key] or ""))
        attested = sum(1 for f in findings if f["attestation"] and not f["attestation"]["expired"])
        ET.SubElement(props, "property", name="attested", value=str(attested))
        counts = dict.fromkeys(totals, 0)
        if host["error"] is not None:
            case = ET.SubElement(suite, "testcase", classname=f"hardening.{name}", name="collect")
            error = ET.SubElement(case, "error", message=host["error"], type=host["error_kind"] or "error")
            error.text = host["error"]
            counts["tests"] += 1
            counts["errors"] += 1
        for finding in findings:
            requirement = view.requirement(finding["requirement"])
            case = ET.SubElement(
                suite, "testcase", classname=f"hardening.{name}",
                name=f"{finding['requirement']} {finding['clause']} {t.text(requirement['title'])}",
            )
            counts["tests"] += 1
            _attestation_properties(case, finding["attestation"])
            message = t.text(finding["message"])
            status = finding["status"]
            if status == "fail":
                node = ET.SubElement(case, "failure", message=message, type=finding["severity"])
                node.text = _finding_body(finding, requirement, t)
                counts["failures"] += 1
            elif status == "error":
                node = ET.SubElement(case, "error", message=message, type="error")
                node.text = _finding_body(finding, requirement, t)
                counts["errors"] += 1
            elif status in ("not_applicable", "manual", "waived"):
                reason = f"{t.status(status)}: {message}"
                if status == "waived" and finding["waiver"]:
                    w = finding["waiver"]
                    reason += (f" ({t('waiver_id')} {w['id']}, {t('waiver_approver')} {w['approver']},"
                               f" {t('waiver_expires')} {w['expires']}; {t('evaluated_status')}:"
                               f" {t.status(finding['evaluated_status'])})")
                ET.SubElement(case, "skipped", message=reason)
                counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", str(report["run"]["duration_s"]))
    for element in root.iter():  # host data may carry control characters XML 1.0 cannot hold
        if element.text:
            element.text = _xml(element.text)
        for attribute, text in element.attrib.items():
            element.set(attribute, _xml(text))
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(report: dict[str, Any], path: Path | str, lang: str = "ja") -> None:
    """Validate, then write JUnit XML for CI dashboards: fail -> <failure>, error -> <error>,
    not_applicable / manual / waived -> <skipped> with the reason."""
    check_lang(lang)
    validate_report(report)
    buffer = io.BytesIO()
    junit_tree(report, lang).write(buffer, encoding="utf-8", xml_declaration=True)
    atomic_write(path, buffer.getvalue().decode("utf-8") + "\n")
