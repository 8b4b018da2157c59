"""The city-wide view: several runs (one per zone collector, or the latest local runs) merged into one report.

The city's three zones are separate networks (基幹系, LGWAN接続系, インターネット接続系): no one collector sees every
host, so the auditor's picture is the latest run of each zone put side by side. merge_reports keeps, for every zone, the
hosts and findings of the newest run that reported it; the requirements are united, the summary counted again, and
the run metadata names every run merged (run.selection.merged_runs) so the city report can be traced back to them."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from hardening.report.build import operator
from hardening.report.validate import validate_report
from hardening.report.views import subset_report

# A namespace for the id of a merged report: the same runs merged give the same id.
_MERGE_NAMESPACE = uuid.UUID("6f1d3a52-8c1e-4b7a-9d0e-2f4c5b6a7e81")


def _started(report: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(report["run"]["started_at"])


def _unite_requirements(newest_first: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every requirement of every run; the newest run's text of one wins, and its `platforms` keeps the entry of
    every platform some run gave (each host's platform must be found under its requirement)."""
    united: dict[str, dict[str, Any]] = {}
    for report in newest_first:
        for requirement in report["requirements"]:
            found = united.get(requirement["id"])
            if found is None:
                united[requirement["id"]] = copy.deepcopy(requirement)
                continue
            for platform, entry in requirement["platforms"].items():
                found["platforms"].setdefault(platform, copy.deepcopy(entry))
    return [united[key] for key in sorted(united)]


def merge_reports(reports: Iterable[dict[str, Any]], *, zones: Iterable[str] | None = None) -> dict[str, Any]:
    """One valid report document (validate_report) for the city: per zone, the hosts and findings of the newest
    run (by run.started_at) that reported that zone; `zones`: only these zones. Raises ValueError for no report,
    ReportError when a report given is not valid."""
    given = list(reports)
    if not given:
        raise ValueError("nothing to merge: no run given")
    for report in given:
        validate_report(report)
    newest_first = sorted(given, key=lambda r: (_started(r), r["run"]["id"]), reverse=True)
    wanted = set(zones) if zones is not None else None
    owner: dict[str, dict[str, Any]] = {}
    for report in newest_first:
        for host in report["hosts"]:
            zone = host["zone"]
            if (wanted is None or zone in wanted) and zone not in owner:
                owner[zone] = report
    hosts: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    names: set[str] = set()
    used: list[dict[str, Any]] = []
    for zone in sorted(owner):
        report = owner[zone]
        if report not in used:
            used.append(report)
        taken = {h["name"] for h in report["hosts"] if h["zone"] == zone and h["name"] not in names}
        names |= taken
        hosts += [copy.deepcopy(h) for h in report["hosts"] if h["name"] in taken]
        findings += [copy.deepcopy(f) for f in report["findings"] if f["host"] in taken]
    newest = newest_first[0]
    merged_ids = sorted(r["run"]["id"] for r in (used or newest_first))
    earliest = min(_started(r) for r in (used or newest_first))
    latest = max(_started(r) + dt.timedelta(seconds=r["run"]["duration_s"]) for r in (used or newest_first))
    catalogs = sorted({r["run"]["catalog_digest"] for r in (used or newest_first)})
    document: dict[str, Any] = {
        "format_version": newest["format_version"],
        "tool": copy.deepcopy(newest["tool"]),
        "generated_at": dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds"),
        "site": copy.deepcopy(newest["site"]),
        "policy": copy.deepcopy(newest["policy"]),
        "run": {
            "id": str(uuid.uuid5(_MERGE_NAMESPACE, ",".join(merged_ids))),
            "operator": operator(),
            "started_at": earliest.isoformat(timespec="seconds"),
            "duration_s": round(max(0.0, (latest - earliest).total_seconds()), 3),
            # Which runs make this view: the city report must be traceable to each zone's evidence.
            "selection": {"zones": sorted(owner), "merged_runs": merged_ids, "catalog_digests": catalogs},
            "inventory": "city-wide: " + ", ".join(f"{zone}={owner[zone]['run']['id']}" for zone in sorted(owner)),
            "catalog_digest": newest["run"]["catalog_digest"],
            "offline": None,
            "attestations": None,
        },
        "summary": copy.deepcopy(newest["summary"]),
        "requirements": _unite_requirements(newest_first),
        "hosts": hosts,
        "findings": findings,
    }
    result = subset_report(document, names)  # the summary counted again over the merged hosts
    validate_report(result)
    return result
