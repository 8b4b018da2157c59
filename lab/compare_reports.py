#!/usr/bin/env python3
"""Compare the verdicts of two drift reports, ignoring what changes from run to run on live hosts (times, ids,
durations, process ids and clock offsets in the actual values and evidence):
`python lab/compare_reports.py before/report.json after/report.json`.

Compared: per host × requirement the status, evaluated status, clause, severity, resolved parameters, waiver
and each violation's fact pointer, schema keyword and expected value; per host its status and error kind; the
summary counts.
Prints every difference and exits 1 if there is one, 0 if the verdicts are identical. Used to show that a
refactoring changed no verdict (issue 7: "the demo report's verdicts are identical before and after").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

FINDING_KEYS = ("status", "evaluated_status", "clause", "severity", "parameters")
HOST_KEYS = ("platform", "device_class", "zone", "system", "status", "error_kind")


def verdicts(path: Path) -> dict[str, Any]:
    report = json.loads(path.read_text(encoding="utf-8"))
    findings = {
        f"{f['host']} {f['requirement']}": {
            **{k: f.get(k) for k in FINDING_KEYS},
            "waiver": (f.get("waiver") or {}).get("id"),
            "violations": sorted((v["pointer"], v["keyword"], json.dumps(v.get("expected"), sort_keys=True))
                                 for v in f.get("violations") or []),
        }
        for f in report["findings"]
    }
    hosts = {h["name"]: {k: h.get(k) for k in HOST_KEYS} for h in report["hosts"]}
    summary = dict(report["summary"])
    return {"findings": findings, "hosts": hosts, "summary": summary}


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for section in ("hosts", "findings"):
        for key in sorted(set(before[section]) | set(after[section])):
            old, new = before[section].get(key), after[section].get(key)
            if old is None or new is None:
                out.append(f"{section}: {key} only in {'after' if old is None else 'before'}")
                continue
            for field in sorted(set(old) | set(new)):
                if old.get(field) != new.get(field):
                    out.append(f"{section}: {key} {field}: {json.dumps(old.get(field), ensure_ascii=False)[:300]}"
                               f" -> {json.dumps(new.get(field), ensure_ascii=False)[:300]}")
    if before["summary"] != after["summary"]:
        out.append(f"summary: {before['summary']} -> {after['summary']}")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 1
    differences = compare(verdicts(Path(argv[0])), verdicts(Path(argv[1])))
    for line in differences:
        print(line)
    before = verdicts(Path(argv[0]))
    print(f"{len(before['findings'])} findings on {len(before['hosts'])} hosts compared: "
          f"{'identical verdicts' if not differences else f'{len(differences)} difference(s)'}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
