"""Builds the drift report document (schemas/drift-report.schema.json) from hosts and findings."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import getpass
import hashlib
import json
import os
import uuid
from collections.abc import Iterable
from typing import Any

from hardening import __version__
from hardening.core.models import CollectResult, Finding, Host, Requirement, Status
from hardening.core.outcome import host_status, report_exit_code
from hardening.core.params import fill
from hardening.core.secrets import REDACTOR
from hardening.report.safety import bound, bound_members, clean_text

# 1.1: run.offline (audit --from). 2.0: per-platform remediation: requirements[].automation is gone, replaced by
# requirements[].platforms.<platform>.{automation, remediation}; findings[].remediation is the host platform's text.
# 2.1: attestations: findings[].attestation, summary.attested, run.attestations.
FORMAT_VERSION = "2.1"
POLICY = {"title": "坂戸市情報セキュリティポリシー", "edition": "令和5年4月"}


def canonical_json(document: Any) -> str:
    """The canonical JSON text digests are computed over (sorted keys, no spaces, UTF-8 kept). A byte a device sent
    that was not UTF-8 (a lone surrogate in the text) is U+FFFD here: the text always encodes, the facts file is
    valid UTF-8 JSON, and its digest is over exactly what is written."""
    return clean_text(json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                 allow_nan=False))


def canonical_digest(document: Any) -> str:
    """"sha256:" + sha256 of the canonical JSON of a document."""
    return "sha256:" + hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def operator() -> str:
    """Who ran this: HARDENING_OPERATOR (set by the scheduler / login wrapper), else the OS user."""
    return os.environ.get("HARDENING_OPERATOR") or getpass.getuser()


def exit_code(hosts: list[dict[str, Any]], findings: list[dict[str, Any]],
              attestations: dict[str, Any] | None = None) -> int:
    """1 if anything could not be evaluated (attestations that could not be read included: run.attestations.error),
    else 2 if anything drifted, else 0 (hardening.core.outcome)."""
    unread = attestations is not None and attestations.get("error") is not None
    return int(report_exit_code((h["status"] for h in hosts), (f["status"] for f in findings),
                                unreadable_evidence=unread))


def attested_counts(findings: list[dict[str, Any]]) -> dict[str, int]:
    """summary.attested: findings decided by an attestation, valid (counted as pass) and expired (counted as fail
    or, under an active waiver, waived)."""
    decided = [f["attestation"] for f in findings if f.get("attestation")]
    return {"valid": sum(1 for a in decided if not a["expired"]), "expired": sum(1 for a in decided if a["expired"])}


def _copy(value: Any) -> Any:
    """A copy of a JSON-like value as dataclasses.asdict makes it (dicts, lists and tuples rebuilt, anything else
    that is not a plain immutable deep-copied), without asdict's generic walk."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return type(value)((_copy(k), _copy(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return type(value)(_copy(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _record(value)
    return copy.deepcopy(value)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


def _record(item: Any) -> dict[str, Any]:
    """dataclasses.asdict of a violation, waiver or attestation match (the same dict, in field order)."""
    return {name: _copy(getattr(item, name)) for name in _field_names(type(item))}


def _finding(finding: Finding, requirement: Requirement, host: Host) -> dict[str, Any]:
    return {
        "host": finding.host,
        "requirement": finding.requirement,
        "clause": requirement.clause,
        "severity": requirement.severity,
        "status": finding.status.value,
        "evaluated_status": finding.evaluated_status.value,
        # device data is bounded and made valid UTF-8 once here (report.safety); the facts file keeps it whole
        "message": bound_members(finding.message),
        "expected": finding.expected,
        "actual": bound_members(finding.actual),
        "violations": [bound_members(_record(v)) for v in finding.violations],
        "evidence": [bound_members(e) for e in finding.evidence],
        "parameters": finding.parameters,
        "waiver": _record(finding.waiver) if finding.waiver else None,
        "attestation": _record(finding.attestation) if finding.attestation else None,
        # What to do on this host: its platform's own words (else the intent), with its parameters filled in.
        "remediation": fill(requirement.remediation_for(host.platform), finding.parameters),
    }


def requirement_entry(requirement: Requirement, platforms: Iterable[str] = ()) -> dict[str, Any]:
    """What the report says of one requirement (the catalog's metadata an auditor needs beside the findings):
    the intent as `remediation`, and under `platforms` the automation and remediation text of every platform the
    catalog names for it and of every platform in `platforms` (the run's hosts), as they apply there."""
    return {
        "id": requirement.id,
        "clause": requirement.clause,
        "quote_ja": requirement.quote_ja,
        "title": requirement.title,
        "severity": requirement.severity,
        "device_classes": list(requirement.device_classes),
        "remediation": requirement.remediation,
        "platforms": {name: {"automation": requirement.automation_for(name),
                             "remediation": requirement.remediation_for(name)}
                      for name in sorted(set(requirement.platforms) | set(platforms))},
    }


def host_section(host: Host, result: CollectResult, host_findings: list[Finding],
                 requirements: dict[str, Requirement]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One host's part of the report: (its /hosts entry, its /findings entries), secrets scrubbed. What a sink that
    takes hosts as they finish (History's Recorder.add) is given, and what build_report puts together."""
    entry = {
        "name": host.name,
        "hostname": host.hostname,
        "platform": host.platform,
        "device_class": host.device_class,
        "zone": host.zone,
        "classification": host.classification,
        "system": host.system.name,
        "security_officer": host.system.security_officer,
        "security_managers": list(host.system.security_managers),
        "roles": list(host.roles),
        "status": host_status(result.facts is not None, (f.status for f in host_findings)),
        "error": bound(result.error),
        "error_kind": result.error_kind,
        "duration_s": round(result.duration_s, 3),
        # Digest of the facts as written (secrets scrubbed), so `sha256sum facts/<host>.json` re-checks it.
        "facts_digest": canonical_digest(REDACTOR.scrub_obj(result.facts)) if result.facts is not None else None,
        "facts_file": f"facts/{host.name}.json" if result.facts is not None else None,
    }
    scrubbed_entry: dict[str, Any] = REDACTOR.scrub_obj(entry)
    scrubbed_findings: list[dict[str, Any]] = REDACTOR.scrub_obj(
        [_finding(f, requirements[f.requirement], host) for f in host_findings])
    return scrubbed_entry, scrubbed_findings


def build_report(
    *,
    site: dict[str, Any],
    hosts: list[Host],
    results: dict[str, CollectResult],
    findings: dict[str, list[Finding]],
    requirements: list[Requirement],
    selection: dict[str, Any],
    inventory_dir: str,
    catalog_digest: str,
    started: dt.datetime,
    finished: dt.datetime,
    offline: dict[str, Any] | None = None,
    attestations: dict[str, Any] | None = None,
    sections: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] | None = None,
) -> dict[str, Any]:
    """The whole report as plain JSON data, secrets scrubbed. `sections`: host_section of some hosts, already built
    as they finished (run_audit's on_host), not built again. `attestations`: run.attestations (Attestations.summary:
    the ledger read, how many verified, the records ignored and why, or why none could be used); None: not read."""
    by_id = {r.id: r for r in requirements}
    host_entries: list[dict[str, Any]] = []
    finding_entries: list[dict[str, Any]] = []
    for host in hosts:
        entry, entries = (sections or {}).get(host.name) or host_section(
            host, results[host.name], findings.get(host.name, []), by_id)
        host_entries.append(entry)
        finding_entries += entries
    counts = {status.value: 0 for status in Status}
    for entry in finding_entries:
        counts[entry["status"]] += 1
    report: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "tool": {"name": "hardening", "version": __version__},
        "generated_at": finished.isoformat(timespec="seconds"),
        "site": site,
        "policy": POLICY,
        "run": {
            "id": str(uuid.uuid4()),
            "operator": operator(),
            "started_at": started.isoformat(timespec="seconds"),
            "duration_s": round((finished - started).total_seconds(), 3),
            "selection": selection,
            "inventory": inventory_dir,
            "catalog_digest": catalog_digest,
            # audit --from: no host was contacted; the saved sources read, with their sha256 (null: a live run)
            "offline": offline,
            "attestations": attestations,
        },
        "summary": {
            "hosts": len(host_entries),
            "hosts_by_status": {s: sum(1 for h in host_entries if h["status"] == s) for s in ("pass", "fail", "error")},
            "findings": counts,
            "attested": attested_counts(finding_entries),
            "exit_code": exit_code(host_entries, finding_entries, attestations),
        },
        "requirements": [requirement_entry(r, {h.platform for h in hosts}) for r in requirements],
        "hosts": host_entries,
        "findings": finding_entries,
    }
    scrubbed: dict[str, Any] = REDACTOR.scrub_obj(report)
    return scrubbed
