"""`hardening import BUNDLE`: a verified bundle into the auditor's history, and the city-wide report from it.

Refused, each reason named: a bundle that does not verify (evidence.verify), a replay (the run is already in the
history, or the sequence is not above the last one imported from that collector: an older bundle of the same
collector cannot be slipped in after a newer one), a host outside the collector's zones (checked by verify against
the registry). Then History.record(report, origin={"kind": "bundle", "collector", "bundle_sha256", "sequence"})."""

from __future__ import annotations

import os
from typing import Any, Protocol

from hardening.evidence.bundle import MANIFEST, REPORT, Problem
from hardening.evidence.collectors import Collectors
from hardening.evidence.verify import BundleRefused, Verified, verify_bundle
from hardening.report.merge import merge_reports


class HistoryLike(Protocol):
    """What import and the city report use of hardening.history.History."""

    def record(self, report: dict[str, Any], *, origin: dict[str, Any] | None = None,
               out_dir: str | None = None) -> str: ...

    def runs(self, *, since: Any = None, zones: list[str] | None = None,
             limit: int | None = None) -> list[dict[str, Any]]: ...

    def report(self, run_id: str) -> dict[str, Any]: ...


def last_sequence(history: HistoryLike, collector: str) -> int:
    """The highest sequence imported from `collector` (0: none). History.runs() lists a run's origin kind with its
    collector and bundle sequence beside it."""
    found = 0
    for run in history.runs():
        if run.get("origin") == "bundle" and run.get("collector") == collector:
            found = max(found, int(run.get("sequence") or 0))
    return found


def check_replay(verified: Verified, history: HistoryLike) -> list[Problem]:
    manifest = verified.manifest
    problems: list[Problem] = []
    if any(run.get("id") == manifest["run_id"] for run in history.runs()):
        problems.append(Problem(REPORT, f"実行 {manifest['run_id']} は履歴に取り込み済み（再送）",
                                f"run {manifest['run_id']} is already in the history (replay)"))
    last = last_sequence(history, manifest["collector"])
    if manifest["sequence"] <= last:
        problems.append(Problem(MANIFEST, f"収集者 {manifest['collector']} の通番 {manifest['sequence']} は"
                                f"取り込み済みの最大 {last} 以下（再送または古いバンドル）",
                                f"sequence {manifest['sequence']} of collector {manifest['collector']} is not above "
                                f"the last imported ({last}): replayed or stale bundle"))
    return problems


def import_bundle(bundle: str | os.PathLike[str], history: HistoryLike, registry: Collectors) -> Verified:
    """Verify the bundle, refuse a replay, record it in the history; raises BundleRefused with every reason."""
    verified, problems = verify_bundle(bundle, registry)
    if verified is None:
        raise BundleRefused(problems)
    problems = check_replay(verified, history)
    if problems:
        raise BundleRefused(problems)
    history.record(verified.report, origin={"kind": "bundle", "collector": verified.collector.name,
                                            "bundle_sha256": verified.sha256,
                                            "sequence": verified.manifest["sequence"]})
    return verified


def city_report(history: HistoryLike) -> dict[str, Any]:
    """The city-wide report: for each zone, the latest run of the history that reported it (merge_reports).
    Raises ValueError when the history holds no run."""
    chosen: dict[str, str] = {}
    for run in history.runs():  # newest first
        for zone in run.get("zones") or []:
            chosen.setdefault(zone, run["id"])
    if not chosen:
        raise ValueError("the history holds no run to report")
    ids = sorted(set(chosen.values()))
    return merge_reports([history.report(run_id) for run_id in ids], zones=sorted(chosen))
