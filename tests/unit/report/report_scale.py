"""A large synthetic report: the sample report's hosts replicated (renamed, spread over the three zones and over
MANAGERS responsible managers), for the split HTML pages, the XLSX sheets and the timings at 10,000 hosts."""

from __future__ import annotations

import copy
from typing import Any

from tests.unit.report.report_sample import build_sample_report

MANAGERS = [f"{name}課長" for name in ("情報政策", "市民", "財政", "広報広聴", "税務", "保険年金", "福祉", "子育て支援",
                                       "環境", "道路", "都市計画", "教育総務", "学校教育", "生涯学習", "消防総務",
                                       "上下水道", "会計", "選挙管理", "監査", "議会事務局総務", "農業", "商工",
                                       "健康", "介護保険", "人事")]
ZONES = ("kikan", "lgwan", "internet")


def scaled_report(hosts: int) -> dict[str, Any]:
    """A valid report of `hosts` hosts (the sample's five hosts and 35 findings, replicated)."""
    sample, _ = build_sample_report()
    findings_by_host: dict[str, list[dict[str, Any]]] = {}
    for finding in sample["findings"]:
        findings_by_host.setdefault(finding["host"], []).append(finding)
    host_entries: list[dict[str, Any]] = []
    finding_entries: list[dict[str, Any]] = []
    for index in range(hosts):
        template = sample["hosts"][index % len(sample["hosts"])]
        name = f"{template['name']}-{index:05d}"
        host = copy.copy(template)
        host.update(name=name, zone=ZONES[index % len(ZONES)], security_managers=[MANAGERS[index % len(MANAGERS)]],
                    facts_file=f"facts/{name}.json" if template["facts_file"] else None)
        host_entries.append(host)
        for finding in findings_by_host.get(template["name"], []):
            entry = copy.copy(finding)
            entry["host"] = name
            finding_entries.append(entry)
    tally = dict.fromkeys(sample["summary"]["findings"], 0)
    for finding in finding_entries:
        tally[finding["status"]] += 1
    summary = {**sample["summary"], "hosts": len(host_entries), "findings": tally,
               "hosts_by_status": {s: sum(1 for h in host_entries if h["status"] == s)
                                   for s in ("pass", "fail", "error")}}
    return {**sample, "summary": summary, "hosts": host_entries, "findings": finding_entries}
