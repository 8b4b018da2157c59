"""One recorded audit run: audit -> the run directory's files -> the ledger's audit entry -> the history.

`hardening audit` and scheduled jobs (`hardening job run`) both call :func:`audit_and_record`, so what a run leaves
behind (files, ledger entry, history row) is the same whichever started it. Run directories are created here too:
a new ``<stamp>-<run id>`` beneath a parent, by one mkdir that fails if it exists, and ``latest`` beside them
replaced atomically.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hardening.audit import Inputs, run_audit
from hardening.changes.ledger import Ledger
from hardening.core.errors import HardeningError, InputError
from hardening.core.models import CollectResult
from hardening.core.run import RunOptions
from hardening.core.scope import Selection
from hardening.core.secrets import REDACTOR, SecretStore
from hardening.report.build import canonical_digest
from hardening.report.outputs import DEFAULT_FORMATS, write_run_outputs

if TYPE_CHECKING:
    from hardening.history import History


class NoHostsError(HardeningError):
    """The selection matches no host of the inventory: nothing audited, nothing written."""


def open_history(location: str | os.PathLike[str] | None) -> History:
    """The run database at `location` (hardening.history.open_history; None: its default). Jobs open it here too."""
    from hardening.history import open_history as open_location

    return open_location(location)


@dataclass
class AuditRun:
    """What one recorded audit left behind."""

    report: dict[str, Any]
    results: dict[str, CollectResult]
    out: Path
    paths: dict[str, Path]
    history_id: str | None = None
    # a history recording that failed, in one line (the report and the ledger entry are written already)
    problems: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        code: int = self.report["summary"]["exit_code"]
        return 1 if self.problems else code


def stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def run_suffix(run_id: str) -> str:
    """The part of a run or plan id that names its file: a uuid4's first 8 hex digits."""
    return run_id[:8]


def new_run_dir(parent: Path, run_id: str) -> Path:
    """A new parent/<stamp>-<run id>: created by one mkdir that fails if it exists, so two runs never share one."""
    out = Path(parent) / f"{stamp()}-{run_suffix(run_id)}"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        out.mkdir()
    except FileExistsError:
        raise HardeningError(f"{out}: run directory exists already (another run with the same id?)") from None
    return out


def point_latest(out: Path) -> None:
    """<parent>/latest -> out, replaced atomically (temporary symlink renamed over it); a real directory
    named latest is left alone."""
    latest = out.parent / "latest"
    if latest.exists() and not latest.is_symlink():
        return
    temporary = out.parent / f".latest.{out.name}.tmp"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(out.name)
    try:
        temporary.replace(latest)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def with_attestations(inputs: Inputs, ledger: Ledger, registry: Path) -> tuple[Inputs, list[str]]:
    """The inputs with the ledger's verified attestations (audit and plan evaluate with them), and the warnings
    to show (an attestation left out, a ledger or registry that cannot be read)."""
    from hardening.changes.attest import read_attestations

    found = read_attestations(ledger, registry, inputs.inventory.hosts, inputs.catalog)
    return dataclasses.replace(inputs, attestations=found), [*([found.error] if found.error else []),
                                                             *found.warnings]


def check_groups(selection: Selection, inputs: Inputs) -> None:
    """An unknown group in the selection is bad input (a typo would select nothing, silently)."""
    for group in selection.groups:
        if group not in inputs.inventory.group_names:
            known = ", ".join(sorted(inputs.inventory.group_names))
            raise InputError("--group", group, f"unknown group (known: {known})")


def audit_subject(report: dict[str, Any]) -> dict[str, Any]:
    """The ledger's `audit` entry for a report: which run, its digest, counts, selection and offline sources."""
    subject = {
        "run_id": report["run"]["id"], "report_digest": canonical_digest(report), "hosts": len(report["hosts"]),
        "findings": report["summary"]["findings"], "exit_code": report["summary"]["exit_code"],
        "selection": report["run"]["selection"]}
    if report["run"]["offline"] is not None:  # audit --from: which saved data, each source's digest
        subject["offline"] = {"from": report["run"]["offline"]["from"],
                              "sources": {s["host"]: s["sha256"] for s in report["run"]["offline"]["sources"]}}
    return subject


def _trend_with(report: dict[str, Any], store: History, limit: int = 10) -> list[dict[str, Any]]:
    """The report's trend chart: the history's last runs of the same scope (selection and zones, as `previous`
    compares), oldest first, then this run."""
    from hardening.history.store import scope_key

    scope = scope_key(report["run"]["selection"], (h["zone"] for h in report["hosts"]))
    summary = report["summary"]
    return [*store.trend(limit=limit - 1, scope=scope),
            {"run_id": report["run"]["id"], "started_at": report["run"]["started_at"], "hosts": summary["hosts"],
             "findings": dict(summary["findings"])}]


def _history_problem(exc: BaseException) -> str:
    from hardening.history import HistoryError

    reason = str(exc) if isinstance(exc, HistoryError | OSError) else f"{type(exc).__name__}: {exc}"
    return REDACTOR.scrub(f"エラー (error): 履歴に記録できません (history not recorded): {reason}")[:500]


def audit_and_record(
    inputs: Inputs,
    selection: Selection,
    secrets: SecretStore,
    run: RunOptions,
    *,
    out_dir: Callable[[str], Path],
    ledger: Ledger,
    history: str | os.PathLike[str] | None = None,
    record: bool = True,
    offline_from: Path | None = None,
    lang: str = "ja",
    formats: Sequence[str] = DEFAULT_FORMATS,
    on_report: Callable[[dict[str, Any]], None] | None = None,
) -> AuditRun:
    """Audit the selection, write the run directory (`out_dir(run id)` makes it), append the ledger's audit entry
    and, with `record`, store the run in the history at `history` (None: its default location). `on_report` sees
    the report before anything is written (warnings, host errors). Raises NoHostsError when nothing is selected;
    a history that cannot be opened or cannot record is the run's problem (AuditRun.problems, exit 1), reported
    after the report is written, never a lost report."""
    report, results = run_audit(inputs, selection, secrets, run, offline_from=offline_from)
    if on_report is not None:
        on_report(report)
    if not report["hosts"]:
        raise NoHostsError("対象ホストがありません (no host matches the selection)")
    out = out_dir(report["run"]["id"])
    # One connection for the run: it gives the report's trend, then records the run. A history that cannot be
    # opened or read costs the trend, never the report; the recording says why (exit 1).
    store: History | None = None
    failure: BaseException | None = None
    trend = None
    if record:
        try:
            store = open_history(history)
        except Exception as exc:
            failure = exc
        else:
            with contextlib.suppress(Exception):   # no trend; the recording below meets the same fault and says it
                trend = _trend_with(report, store)
    try:
        paths = write_run_outputs(report, results, out, lang=lang, formats=formats, trend=trend)
        ledger.append(report["run"]["operator"], "audit", audit_subject(report))
        done = AuditRun(report, results, out, paths)
        if store is not None and failure is None:
            try:
                done.history_id = store.record(report, origin={"kind": "local"}, out_dir=str(out.resolve()))
            except Exception as exc:  # the report is written: say why the history lacks it, exit 1
                failure = exc
        if failure is not None:
            done.problems.append(_history_problem(failure))
        return done
    finally:
        if store is not None:
            store.close()
