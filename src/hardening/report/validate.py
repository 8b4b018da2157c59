"""The gate every report passes before it is written: the schema, then what a schema cannot say.

A report that fails here is a bug in this tool, never the hosts' fault: the run stops with
ReportError instead of leaving a record that looks valid and is not.
"""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import best_match

from hardening.core.errors import HardeningError
from hardening.core.outcome import host_status
from hardening.core.schemas import fast_valid, validator
from hardening.report.build import FORMAT_VERSION, exit_code

SCHEMA = "drift-report.schema.json"


class ReportError(HardeningError):
    """The report document is not what drift-report.schema.json and its invariants say (a bug in the writer)."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where or "/"
        self.message = message
        super().__init__(f"drift report is invalid at {self.where}: {message}")


def _pointer(parts: Any) -> str:
    return "/" + "/".join(str(p) for p in parts) if parts else "/"


def schema_errors(report: Any) -> list[str]:
    """Every schema problem as 'pointer: message' (empty list = valid)."""
    return [f"{_pointer(e.absolute_path)}: {e.message}" for e in validator(SCHEMA).iter_errors(report)]


def _invariants(report: dict[str, Any]) -> None:
    if report["format_version"] != FORMAT_VERSION:
        raise ReportError("/format_version", f"this writer produces {FORMAT_VERSION}, got {report['format_version']!r}")
    hosts: dict[str, dict[str, Any]] = {}
    for index, host in enumerate(report["hosts"]):
        if host["name"] in hosts:
            raise ReportError(f"/hosts/{index}/name", f"duplicate host {host['name']!r}")
        hosts[host["name"]] = host
    requirements: dict[str, dict[str, Any]] = {}
    for index, requirement in enumerate(report["requirements"]):
        if requirement["id"] in requirements:
            raise ReportError(f"/requirements/{index}/id", f"duplicate requirement {requirement['id']!r}")
        requirements[requirement["id"]] = requirement
    seen: set[tuple[str, str]] = set()
    per_host: dict[str, list[dict[str, Any]]] = {name: [] for name in hosts}
    for index, finding in enumerate(report["findings"]):
        where = f"/findings/{index}"
        host = hosts.get(finding["host"])
        if host is None:
            raise ReportError(f"{where}/host", f"host {finding['host']!r} is not in /hosts")
        requirement = requirements.get(finding["requirement"])
        if requirement is None:
            raise ReportError(f"{where}/requirement", f"requirement {finding['requirement']!r} is not in /requirements")
        if (finding["host"], finding["requirement"]) in seen:
            raise ReportError(where, f"second finding for {finding['host']} x {finding['requirement']}")
        seen.add((finding["host"], finding["requirement"]))
        if host["platform"] not in requirement["platforms"]:
            # A reader finds the host platform's automation and remediation under the requirement, always.
            raise ReportError(f"{where}/requirement",
                              f"requirement {finding['requirement']!r} has no entry for platform {host['platform']!r}")
        for key in ("clause", "severity"):
            if finding[key] != requirement[key]:
                raise ReportError(f"{where}/{key}",
                                  f"{finding[key]!r} differs from the requirement's {requirement[key]!r}")
        _check_attestation(finding, where)
        if finding["status"] != "waived" and finding["status"] != finding["evaluated_status"] \
                and finding["attestation"] is None:
            raise ReportError(f"{where}/status", "status differs from evaluated_status without a waiver or an "
                              "attestation")
        if host["facts_digest"] is None and finding["evaluated_status"] in ("pass", "fail"):
            # Fail closed: without collected facts nothing can have been evaluated.
            raise ReportError(f"{where}/evaluated_status",
                              f"{finding['evaluated_status']} on host {finding['host']!r} that has no facts")
        per_host[finding["host"]].append(finding)
    for index, host in enumerate(report["hosts"]):
        expected = host_status(host["facts_digest"] is not None, (f["status"] for f in per_host[host["name"]]))
        if host["status"] != expected:
            raise ReportError(f"/hosts/{index}/status", f"is {host['status']!r}, its findings say {expected!r}")
    summary = report["summary"]
    if summary["hosts"] != len(report["hosts"]):
        raise ReportError("/summary/hosts", f"{summary['hosts']} but {len(report['hosts'])} host entries")
    for status, number in summary["hosts_by_status"].items():
        actual = sum(1 for h in report["hosts"] if h["status"] == status)
        if number != actual:
            raise ReportError(f"/summary/hosts_by_status/{status}", f"{number} but {actual} hosts have it")
    for status, number in summary["findings"].items():
        actual = sum(1 for f in report["findings"] if f["status"] == status)
        if number != actual:
            raise ReportError(f"/summary/findings/{status}", f"{number} but {actual} findings have it")
    attested = {"valid": 0, "expired": 0}
    for finding in report["findings"]:
        if finding["attestation"] is not None:
            attested["expired" if finding["attestation"]["expired"] else "valid"] += 1
    if summary["attested"] != attested:
        raise ReportError("/summary/attested", f"{summary['attested']} but the findings give {attested}")
    code = exit_code(report["hosts"], report["findings"], report["run"]["attestations"])
    if summary["exit_code"] != code:
        raise ReportError("/summary/exit_code", f"{summary['exit_code']} but the findings give {code}")


def _check_attestation(finding: dict[str, Any], where: str) -> None:
    """An attestation decides a manual finding only: valid -> pass, expired -> fail (or waived by an active
    waiver). The evaluated status stays manual, so attested never reads as measured."""
    attestation = finding["attestation"]
    if attestation is None:
        return
    if finding["evaluated_status"] != "manual":
        raise ReportError(f"{where}/attestation", f"an attestation on a finding evaluated "
                          f"{finding['evaluated_status']!r}: attestations decide manual findings only")
    allowed = ("fail", "waived") if attestation["expired"] else ("pass",)
    if finding["status"] not in allowed:
        state = "an expired" if attestation["expired"] else "a valid"
        raise ReportError(f"{where}/status", f"{finding['status']!r} with {state} attestation "
                          f"(expected {' or '.join(allowed)})")


def validate_report(report: Any) -> None:
    """Check a report against the schema and the invariants the schema cannot express.

    Raises ReportError naming the first problem's JSON pointer (and how many more schema problems there are).

    Every writer calls this on the document it is given (never "already checked": a document changed after a first
    check is checked again). The schema part is answered by jsonschema-rs when it can say "valid" (schemas.fast_valid:
    at least as strict as jsonschema on this schema; ~40 x faster on a large report); anything it does not call valid
    is judged and explained by jsonschema, as before.
    """
    schema_validator = validator(SCHEMA)
    if fast_valid(schema_validator, report):
        _invariants(report)
        return
    errors = list(schema_validator.iter_errors(report))
    if errors:
        worst = best_match(errors)
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ReportError(_pointer(worst.absolute_path), worst.message[:300] + more)
    _invariants(report)
