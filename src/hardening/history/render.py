"""Text of `hardening history` and `hardening diff`: Japanese labels first, English in parentheses. Lines carry
host data: the caller prints them through cli.say (terminal-safe)."""

from __future__ import annotations

from typing import Any

from hardening.history.models import STATUSES, Change, Drift
from hardening.report.i18n import STATUS

KINDS: dict[str, tuple[str, str]] = {
    "new": ("新規", "new"),
    "resolved": ("解消", "resolved"),
    "persisting": ("継続", "persisting"),
    "unknown": ("判定不能", "unknown: not evaluated in the later run, never counted as resolved"),
}


def _status(status: str | None) -> str:
    return "なし (absent)" if status is None else status


def change_line(change: Change, lang: str = "ja") -> str:
    title = (change.title_en if lang == "en" else change.title_ja) or change.title_ja or change.title_en
    return (f"  {change.host}  {change.requirement}  {change.clause}  {title}  "
            f"({_status(change.before)} → {_status(change.after)})")


def drift_lines(drift: Drift, lang: str = "ja", *, only: tuple[str, ...] = tuple(KINDS)) -> list[str]:
    """Each kind with its count and one line per host x requirement."""
    lines: list[str] = []
    for kind in only:
        changes: list[Change] = getattr(drift, kind)
        ja, en = KINDS[kind]
        lines.append(f"{ja} ({en}): {len(changes)}")
        lines += [change_line(c, lang) for c in changes]
    return lines


def counts_text(findings: dict[str, int]) -> str:
    return "  ".join(f"{STATUS[s][0]} {findings.get(s, 0)} ({s})" for s in STATUSES if s in STATUS)


def run_line(run: dict[str, Any], previous: str | None, drift: Drift | None) -> str:
    """One run of `hardening history`: when, which, scope, counts, and new/resolved against its previous run."""
    zones = ",".join(run["zones"]) or "-"
    collector = f"  収集 (collector) {run['collector']}" if run.get("collector") else ""
    head = (f"{run['started_at']}  {run['id']}  {run['operator']}  区域 (zones) {zones}{collector}  "
            f"ホスト {run['hosts']} (hosts)  {counts_text(run['findings'])}  終了コード (exit) {run['exit_code']}")
    if previous is None or drift is None:
        return head + "  前回比 (vs previous): 前回なし (no earlier run of this scope)"
    return (head + f"  前回比 (vs previous {previous[:8]}): 新規 {len(drift.new)} (new)  "
            f"解消 {len(drift.resolved)} (resolved)")
