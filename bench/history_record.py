"""Time recording a synthetic 10,000-host run (30 findings each) into the history: SQLite, and PostgreSQL when a
URL is given (or --pg-server: a throw-away server started like the tests do). Also times compare() of two such runs.

    .venv/bin/python bench/history_record.py [--hosts 10000] [--findings 30] [--pg URL | --pg-server]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hardening.history import open_history  # noqa: E402

ZONES = ("kikan", "lgwan", "internet")
STATUSES = ("pass",) * 7 + ("fail", "not_applicable", "manual")


def synthetic_report(hosts: int, per_host: int, n: int) -> dict[str, Any]:
    """A report shaped like a real one (host entries, findings with message, evidence, violations)."""
    requirements = [{"id": f"REQ-{j:02}", "clause": f"第2章 6(2)③-{j}", "title": {"ja": f"要件 {j}", "en": f"Req {j}"}}
                    for j in range(per_host)]
    host_entries, findings = [], []
    for i in range(hosts):
        name = f"host{i:05}"
        host_entries.append({"name": name, "hostname": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
                             "platform": "linux", "device_class": "linux_server", "zone": ZONES[i % 3],
                             "classification": {"c": 2, "i": 2, "a": 2}, "system": f"system-{i % 40}",
                             "security_officer": "総合政策部長", "security_managers": ["情報政策課長"], "roles": [],
                             "status": "fail", "error": None, "error_kind": None, "duration_s": 1.2,
                             "facts_digest": "sha256:" + "ab" * 32, "facts_file": f"facts/{name}.json"})
        for j, req in enumerate(requirements):
            status = STATUSES[(i * 7 + j * 3 + n) % len(STATUSES)]
            findings.append({"host": name, "requirement": req["id"], "clause": req["clause"], "severity": "high",
                             "status": status, "evaluated_status": status,
                             "message": {"ja": "設定値が要件を満たさない。", "en": "The setting does not meet it."},
                             "expected": {"ja": "900 秒以下", "en": "at most 900 s"}, "actual": {"tmout": 1800},
                             "violations": [{"path": "/login/tmout", "keyword": "maximum", "expected": 900,
                                             "actual": 1800}],
                             "evidence": [{"source": "/etc/profile.d/99-sakado-tmout.sh",
                                           "excerpt": "readonly TMOUT=1800; export TMOUT"}],
                             "parameters": {"max_idle": 900}, "waiver": None, "attestation": None,
                             "remediation": {"ja": "TMOUT を設定する。", "en": "Set TMOUT."}})
    counts = {s: sum(1 for f in findings if f["status"] == s)
              for s in ("pass", "fail", "error", "not_applicable", "manual", "waived")}
    return {"format_version": "2.1", "tool": {"name": "hardening", "version": "bench"},
            "generated_at": f"2026-11-0{n}T12:10:00+00:00", "site": {"name": "坂戸市"},
            "policy": {"title": "坂戸市情報セキュリティポリシー", "edition": "令和5年4月"},
            "run": {"id": f"{n:08x}-0000-4000-8000-000000000000", "operator": "bench",
                    "started_at": f"2026-11-0{n}T12:00:00+00:00", "duration_s": 600.0, "selection": {},
                    "inventory": "inventory", "catalog_digest": "sha256:" + "cd" * 32, "offline": None,
                    "attestations": None},
            "summary": {"hosts": hosts, "hosts_by_status": {"pass": 0, "fail": hosts, "error": 0},
                        "findings": counts, "attested": {"valid": 0, "expired": 0}, "exit_code": 2},
            "requirements": requirements, "hosts": host_entries, "findings": findings}


def measure(location: str, reports: list[dict[str, Any]]) -> None:
    with open_history(location) as history:
        for report in reports:
            start = time.perf_counter()
            history.record(report)
            print(f"  record {len(report['hosts'])} hosts / {len(report['findings'])} findings: "
                  f"{time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        drift = history.compare(reports[0]["run"]["id"], reports[1]["run"]["id"])
        print(f"  compare: {time.perf_counter() - start:.2f} s (new {len(drift.new)}, resolved {len(drift.resolved)}, "
              f"persisting {len(drift.persisting)}, unknown {len(drift.unknown)})")
        start = time.perf_counter()
        history.runs()
        history.trend()
        print(f"  runs + trend: {time.perf_counter() - start:.3f} s")
        start = time.perf_counter()
        history.report(reports[1]["run"]["id"])
        print(f"  report (read back): {time.perf_counter() - start:.2f} s")


@contextlib.contextmanager
def pg_server() -> Iterator[str]:
    from tests.pgserver import postgres_server

    with postgres_server() as server:
        yield server.database()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--findings", type=int, default=30)
    parser.add_argument("--pg", default=None, help="a postgresql:// URL of an empty database")
    parser.add_argument("--pg-server", action="store_true", help="start a throw-away PostgreSQL server")
    args = parser.parse_args()
    start = time.perf_counter()
    first = synthetic_report(args.hosts, args.findings, 1)
    second = copy.deepcopy(first)
    second["run"].update(id="00000002-0000-4000-8000-000000000000", started_at="2026-11-02T12:00:00+00:00")
    for k, finding in enumerate(second["findings"]):
        if k % 97 == 0:
            finding["status"] = finding["evaluated_status"] = "fail" if finding["status"] != "fail" else "pass"
    print(f"synthetic reports built in {time.perf_counter() - start:.1f} s")
    with tempfile.TemporaryDirectory() as directory:
        print("SQLite:")
        measure(str(Path(directory) / "history.sqlite"), [first, second])
    if args.pg:
        print("PostgreSQL:")
        measure(args.pg, [first, second])
    elif args.pg_server:
        with pg_server() as url:
            print("PostgreSQL (throw-away server, fsync off):")
            measure(url, [first, second])
    return 0


if __name__ == "__main__":
    sys.exit(main())
