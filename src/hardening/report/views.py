"""Read-only views over a report document that the renderers share: lookups, orderings, groupings."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("pass", "fail", "error", "not_applicable", "manual", "waived")
# Problems first: what an auditor or admin must act on comes before what is fine.
_STATUS_RANK = {"fail": 0, "error": 1, "waived": 2, "manual": 3, "pass": 4, "not_applicable": 5}
_TOKEN = re.compile(r"[0-9]+|\S")


@functools.lru_cache(maxsize=4096)  # a catalog has some dozens of clauses; reports sort 100,000s of findings by them
def clause_key(clause: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key that orders clauses as the policy numbers them (第2章 6(1)⑥ before 第2章 6(1)⑰ before 第3章)."""
    key: list[tuple[int, int, str]] = []
    for token in _TOKEN.findall(clause):
        if token.isascii() and token.isdigit():
            key.append((0, int(token), ""))
            continue
        try:
            number = unicodedata.numeric(token)  # ① … ⑳ and friends
        except (TypeError, ValueError):
            key.append((1, 0, token))
        else:
            key.append((0, int(number), ""))
    return tuple(key)


def counts() -> dict[str, int]:
    return dict.fromkeys(STATUSES, 0)


def is_expired_fail(finding: dict[str, Any]) -> bool:
    """A fail whose waiver expired: reported as fail, and flagged so nobody mistakes it for covered."""
    waiver = finding.get("waiver")
    return finding["status"] == "fail" and waiver is not None and bool(waiver.get("expired"))


@dataclass
class RequirementRow:
    requirement: dict[str, Any]
    counts: dict[str, int] = field(default_factory=counts)
    failing_hosts: list[str] = field(default_factory=list)
    error_hosts: list[str] = field(default_factory=list)
    expired_hosts: list[str] = field(default_factory=list)
    waived_hosts: list[str] = field(default_factory=list)


@dataclass
class ClauseGroup:
    clause: str
    rows: list[RequirementRow]


@dataclass
class SystemGroup:
    system: str
    security_officer: str
    security_managers: list[str]
    hosts: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=counts)
    # host -> requirement ids that failed (fail or error) on it
    problems: dict[str, list[str]] = field(default_factory=dict)


class ReportView:
    """Lookups and groupings over one (valid) report document."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report
        self.requirements: dict[str, dict[str, Any]] = {r["id"]: r for r in report["requirements"]}
        self.hosts: dict[str, dict[str, Any]] = {h["name"]: h for h in report["hosts"]}
        self.findings_by_host: dict[str, list[dict[str, Any]]] = {name: [] for name in self.hosts}
        for finding in report["findings"]:
            self.findings_by_host.setdefault(finding["host"], []).append(finding)
        for items in self.findings_by_host.values():
            items.sort(key=self.finding_key)

    def finding_key(self, finding: dict[str, Any]) -> tuple[int, tuple[tuple[int, int, str], ...], str]:
        return (_STATUS_RANK.get(finding["status"], 9), clause_key(finding["clause"]), finding["requirement"])

    def requirement(self, requirement_id: str) -> dict[str, Any]:
        return self.requirements[requirement_id]

    def host_counts(self, name: str) -> dict[str, int]:
        result = counts()
        for finding in self.findings_by_host.get(name, []):
            result[finding["status"]] = result.get(finding["status"], 0) + 1
        return result

    def problem_findings(self, name: str) -> list[dict[str, Any]]:
        """The host's fail and error findings (what drifts or could not be checked)."""
        return [f for f in self.findings_by_host.get(name, []) if f["status"] in ("fail", "error")]

    def by_clause(self) -> list[ClauseGroup]:
        rows: dict[str, RequirementRow] = {r["id"]: RequirementRow(r) for r in self.report["requirements"]}
        for finding in self.report["findings"]:
            row = rows[finding["requirement"]]
            row.counts[finding["status"]] += 1
            if finding["status"] == "fail":
                row.failing_hosts.append(finding["host"])
                if is_expired_fail(finding):
                    row.expired_hosts.append(finding["host"])
            elif finding["status"] == "error":
                row.error_hosts.append(finding["host"])
            elif finding["status"] == "waived":
                row.waived_hosts.append(finding["host"])
        groups: dict[str, list[RequirementRow]] = {}
        for row in rows.values():
            groups.setdefault(row.requirement["clause"], []).append(row)
        return [
            ClauseGroup(clause, sorted(group, key=lambda r: r.requirement["id"]))
            for clause, group in sorted(groups.items(), key=lambda item: clause_key(item[0]))
        ]

    def by_system(self) -> list[SystemGroup]:
        groups: dict[str, SystemGroup] = {}
        for host in self.report["hosts"]:
            group = groups.setdefault(
                host["system"],
                SystemGroup(host["system"], host["security_officer"], list(host["security_managers"])),
            )
            group.hosts.append(host["name"])
            for finding in self.findings_by_host.get(host["name"], []):
                group.counts[finding["status"]] += 1
            failed = [f["requirement"] for f in self.problem_findings(host["name"])]
            if failed or host["status"] == "error":
                group.problems[host["name"]] = failed
        return sorted(groups.values(), key=lambda g: (g.security_officer, g.system))


def subset_report(report: dict[str, Any], host_names: set[str] | frozenset[str]) -> dict[str, Any]:
    """The report restricted to some of its hosts: the same run, with those hosts, their findings, and the summary
    counted again over them (requirements kept whole, so every finding still finds its clause and quote). A valid
    report document in, a valid report document out: per-manager and per-zone pages and mails are made from it."""
    from hardening.report.build import attested_counts, exit_code

    hosts = [h for h in report["hosts"] if h["name"] in host_names]
    findings = [f for f in report["findings"] if f["host"] in host_names]
    tally = dict.fromkeys(report["summary"]["findings"], 0)
    for finding in findings:
        tally[finding["status"]] = tally.get(finding["status"], 0) + 1
    summary = {
        **report["summary"],
        "hosts": len(hosts),
        "hosts_by_status": {s: sum(1 for h in hosts if h["status"] == s) for s in ("pass", "fail", "error")},
        "findings": tally,
        "attested": attested_counts(findings),
        "exit_code": exit_code(hosts, findings, report["run"].get("attestations")),
    }
    return {**report, "summary": summary, "hosts": hosts, "findings": findings}


# 第2章 1(4)① 情報セキュリティ統括管理者: receives the drift of hosts whose system names no manager (systems.yaml's
# routing_defaults: drift_on_unlisted_host, shared_network_devices).
OVERALL_MANAGER = "情報政策課長"


def responsible_managers(host: dict[str, Any]) -> list[str]:
    """Who answers for a report host's drift (第3章 2): the 情報セキュリティ管理者 of its information system, all of
    them if co-managed; the 情報セキュリティ統括管理者 when the system names none. Reports per manager, the
    manager charts and filters, and the mail routing all use this one answer."""
    managers = [m for m in host.get("security_managers") or [] if m]
    return managers or [OVERALL_MANAGER]


# What counts toward compliance: a requirement that applies and was decided. pass and waived (an approved
# exception) are compliant; fail, error and manual (not shown to hold) are not: fail closed.
COMPLIANT = ("pass", "waived")
NOT_ASSESSED = ("not_applicable",)
CHART_DIMENSIONS = ("zone", "manager", "device_class", "clause")


def compliance(tally: dict[str, int]) -> float | None:
    """The share of applicable findings that are compliant (pass or waived); None when nothing applied."""
    applicable = sum(n for s, n in tally.items() if s not in NOT_ASSESSED)
    return sum(tally.get(s, 0) for s in COMPLIANT) / applicable if applicable else None


def compliance_groups(report: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, int]]]]:
    """Findings counted per status by zone, by responsible manager (a co-managed host counts for each), by device
    class and by policy clause (in the policy's order); one pass over the findings."""
    hosts = {h["name"]: h for h in report["hosts"]}
    managers = {name: responsible_managers(h) for name, h in hosts.items()}
    groups: dict[str, dict[str, dict[str, int]]] = {d: {} for d in CHART_DIMENSIONS}
    for host in report["hosts"]:  # a host without findings (unreachable, nothing in scope) still has its bar
        groups["zone"].setdefault(host["zone"], counts())
        groups["device_class"].setdefault(host["device_class"], counts())
        for manager in managers[host["name"]]:
            groups["manager"].setdefault(manager, counts())
    for finding in report["findings"]:
        host = hosts.get(finding["host"])
        if host is None:
            continue
        status = finding["status"]
        keys = [("zone", host["zone"]), ("device_class", host["device_class"]), ("clause", finding["clause"])]
        keys += [("manager", m) for m in managers[finding["host"]]]
        for dimension, key in keys:
            tally = groups[dimension].setdefault(key, counts())
            tally[status] = tally.get(status, 0) + 1
    ordered: dict[str, list[tuple[str, dict[str, int]]]] = {}
    for dimension, items in groups.items():
        sort_key: Any = (lambda kv: clause_key(kv[0])) if dimension == "clause" else (lambda kv: kv[0])
        ordered[dimension] = sorted(items.items(), key=sort_key)
    return ordered


def hosts_by(report: dict[str, Any], dimension: str) -> dict[str, list[str]]:
    """Host names per zone or per responsible manager (dimension "zone" or "manager"), keys sorted."""
    result: dict[str, list[str]] = {}
    for host in report["hosts"]:
        keys = [host["zone"]] if dimension == "zone" else responsible_managers(host)
        for key in keys:
            result.setdefault(key, []).append(host["name"])
    return dict(sorted(result.items()))
