"""`hardening apply`: only approved, unmodified, fresh plans; verified by a new audit; rolled back on failure.

Order of refusals (each exits 1 and changes nothing on the hosts concerned):
  plan file invalid -> another apply of this plan is running (lock) -> the ledger does not verify, or does not
  record this plan file by this planner (custody.py) -> no valid approval (missing, forged, self-approved, for
  another plan digest) or an approval already used -> plan too old or made against another catalog -> another
  apply holds an approved host (lock) -> the ledger cannot record the start -> per host: state changed since
  planning (stale).
Only then are hosts contacted: per approved host, back up (one file per run and host), apply the approved
requirements' tasks, restore on failure. The verdict afterwards comes from collect + evaluate, never from Ansible's
"ok". The ledger gets ``apply_started`` (which consumes the approvals) before any host is contacted, and the
outcome after (per host its status and, for a host not applied, why: a refused login, a stale plan …); an
``apply_started`` without an outcome is the trace of a run that was killed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hardening.audit import Inputs, run_audit
from hardening.changes.approval import ApprovalError, approval_id, load_registry, read_approval, verify_approval
from hardening.changes.custody import custody, refuse_used
from hardening.changes.ledger import Ledger, LedgerError
from hardening.changes.locks import held
from hardening.changes.plan import fingerprint, host_parameters, plan_changes, plan_digest, read_plan
from hardening.core.errors import ChangeError, HardeningError
from hardening.core.outcome import exit_code
from hardening.core.platform import ApplyResult, Remediator, get_platform
from hardening.core.run import RunOptions, build_target
from hardening.core.scope import Selection
from hardening.core.secrets import REDACTOR, SecretStore
from hardening.engines.nornir_runner import collect_all, run_each
from hardening.report.build import canonical_digest, operator


class StalePlanError(HardeningError):
    """The plan is older than allowed or was made against another catalog."""


def default_approvals(plan_path: Path) -> list[Path]:
    """Approval records stored beside the plan: <plan>.approval*.json."""
    return sorted(plan_path.parent.glob(f"{plan_path.stem}.approval*.json"))


def backup_path(ledger: Ledger, plan_id: str, run_id: str, host: str) -> Path:
    """Where one run keeps one host's pre-change backup: never shared by two runs, even of one plan."""
    return ledger.path.parent / "backups" / plan_id / run_id / f"{host}.json"


def verified_scope(plan: dict[str, Any], digest: str, planner: str, approvals: list[Path],
                   registry_path: Path) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
    """Union of the scopes of every valid approval of this plan by its recorded `planner`; raises ApprovalError if
    there is none. Returns (scope, the approvals used: approver, approved_at, record_digest, approval_id, source)."""
    if not approvals:
        raise ApprovalError(f"plan {plan['plan_id']} has no approval: a second person must run "
                            "`hardening approve` first (第2章 6(1)④ウ)")
    registry = load_registry(registry_path)
    plan_hosts = {h: e["fix"] for h, e in plan["hosts"].items()}
    zones = {h: e["zone"] for h, e in plan["hosts"].items()}
    scope: dict[str, set[str]] = {}
    used: list[dict[str, str]] = []
    for path in approvals:
        record = read_approval(path)
        verified = verify_approval(record, digest, planner, registry, plan_hosts=plan_hosts,
                                   host_zones=zones, plan_id=plan["plan_id"], source=str(path))
        for host, ids in verified.items():
            scope.setdefault(host, set()).update(ids)
        used.append({"approver": record["approver"], "approved_at": record["approved_at"],
                     "record_digest": canonical_digest(record), "approval_id": approval_id(record),
                     "source": str(path)})
    return {h: sorted(ids) for h, ids in sorted(scope.items())}, used


def _admit(inputs: Inputs, plan: dict[str, Any], digest: str, approvals: list[Path], registry_path: Path,
           ledger: Ledger, max_age: dt.timedelta) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
    """Every refusal that needs no host: custody, approvals (single-use), age, catalog, inventory."""
    source = f"plan {plan['plan_id']}"
    held_by = custody(ledger, plan, digest, source)
    scope, used = verified_scope(plan, digest, held_by.planner, approvals, registry_path)
    refuse_used(held_by, used, ledger)
    created = dt.datetime.fromisoformat(plan["created_at"])
    if dt.datetime.now(dt.UTC) - created > max_age:
        raise StalePlanError(f"plan {plan['plan_id']} was made at {plan['created_at']}, more than "
                             f"{max_age} ago: make a new plan")
    if plan["catalog_digest"] != inputs.catalog_digest:
        raise StalePlanError("the requirement catalog changed since the plan was made: make a new plan")
    unknown = sorted(set(scope) - set(inputs.inventory.hosts))
    if unknown:
        raise StalePlanError(f"approved host(s) no longer in the inventory: {', '.join(unknown)}")
    return scope, used


@contextmanager
def _admitted(inputs: Inputs, plan: dict[str, Any], digest: str, approvals: list[Path], registry_path: Path,
              ledger: Ledger, max_age: dt.timedelta, actor: str, run_id: str) -> Iterator[
                  tuple[dict[str, list[str]], list[dict[str, str]]]]:
    """Lock the plan, admit it, lock its hosts and record the start; yield (scope, approvals used) with the locks
    held. A refusal is recorded in the ledger (unless the ledger itself is what failed) and raised."""
    locks = ledger.path.parent / "locks"
    started = False
    try:
        with held(locks, [("plan", plan["plan_id"])]):
            scope, used = _admit(inputs, plan, digest, approvals, registry_path, ledger, max_age)
            with held(locks, [("host", name) for name in sorted(scope)]):
                ledger.append(actor, "apply_started", {
                    "run_id": run_id, "plan_id": plan["plan_id"], "plan_digest": digest,
                    "planner": plan["planned_by"], "approvals": [_public(u) for u in used], "hosts": scope})
                started = True
                yield scope, used
    except LedgerError:
        raise  # nothing can be recorded in a ledger that refuses
    except HardeningError as exc:
        outcome = "aborted" if started else "refused"  # aborted: hosts may have been contacted
        with contextlib.suppress(LedgerError):
            ledger.append(actor, "apply", {"plan_id": plan["plan_id"], "plan_digest": digest, "run_id": run_id,
                                           outcome: REDACTOR.scrub(str(exc))[:2000]})
        raise


def _public(used: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in used.items() if k != "source"}


def apply_plan(inputs: Inputs, plan_path: Path, approvals: list[Path], registry_path: Path, secrets: SecretStore,
               ledger: Ledger, run: RunOptions, *, max_age: dt.timedelta) -> dict[str, Any]:
    """Apply an approved plan; return the apply result document (also summarised in the ledger).

    Raises HardeningError for a refusal before any host is contacted (see the module docstring)."""
    plan = read_plan(plan_path)
    digest = plan_digest(plan)
    actor = operator()
    run_id = str(uuid.uuid4())
    with _admitted(inputs, plan, digest, approvals, registry_path, ledger, max_age, actor, run_id) as (scope, used):
        return _apply_admitted(inputs, plan, digest, scope, used, secrets, ledger, actor, run_id, run)


def _apply_admitted(inputs: Inputs, plan: dict[str, Any], digest: str, scope: dict[str, list[str]],
                    used: list[dict[str, str]], secrets: SecretStore, ledger: Ledger, actor: str, run_id: str,
                    run: RunOptions) -> dict[str, Any]:
    ledger_problems: list[str] = []

    def record(action: str, subject: dict[str, Any]) -> None:
        # Hosts are being changed: a ledger that fails now must not stop the rollback or the verdict; it fails the
        # run (exit 1) and the result file says what could not be recorded.
        try:
            ledger.append(actor, action, subject)
        except LedgerError as exc:
            ledger_problems.append(f"{action}: {exc}")

    hosts = [inputs.inventory.hosts[name] for name in scope]
    host_results: dict[str, dict[str, Any]] = {
        h.name: {"approved": scope[h.name], "status": "pending", "message": None, "applied": [],
                 "plan_matches": None, "verify": {}, "backup": None} for h in hosts}
    # Fresh? Re-collect and compare the fingerprint of what the plan was made from.
    collected = collect_all(hosts, secrets, run)
    fresh = []
    for host in hosts:
        entry = plan["hosts"][host.name]
        now_print = fingerprint(collected[host.name].facts, [inputs.catalog[r] for r in entry["fix"]])
        if collected[host.name].facts is None:
            host_results[host.name].update(status="refused", message=f"cannot re-collect: {collected[host.name].error}")
        elif now_print != entry["fingerprint"]:
            host_results[host.name].update(
                status="refused", message="stale plan: the host changed since the plan was made "
                                          f"({entry['fingerprint']} -> {now_print}); make a new plan")
        else:
            fresh.append(host)

    def backup_file(name: str) -> Path:
        return backup_path(ledger, plan["plan_id"], run_id, name)

    def apply_host(host: Any) -> ApplyResult:
        approved = scope[host.name]
        planned = [c for c in plan_changes(plan, host.name) if c.requirement in approved]
        target = build_target(host, secrets, run, backup_file=backup_file(host.name))
        params = host_parameters(host, [inputs.catalog[r] for r in approved], inputs.inventory.parameters)
        platform = get_platform(host.platform)
        if not isinstance(platform, Remediator):
            raise ChangeError(host.name, f"platform {platform.name} cannot apply changes (it has no remediation)")
        return platform.apply(target, approved, params, planned)

    results = run_each(fresh, apply_host, workers=run.workers, progress=run.progress, label="適用中 applying")
    applied_ok = []
    for host in fresh:
        result = results[host.name]
        host_record = host_results[host.name]
        if isinstance(result, BaseException):
            host_record.update(status="failed", message=REDACTOR.scrub(f"{type(result).__name__}: {result}")[:500])
            continue
        host_record["applied"] = [asdict(c) for c in result.applied]
        host_record["backup"] = str(backup_file(host.name)) if backup_file(host.name).exists() else None
        planned_keys = {c.key() for c in plan_changes(plan, host.name) if c.requirement in scope[host.name]}
        host_record["plan_matches"] = {c.key() for c in result.applied} == planned_keys
        if result.failed and result.untouched:
            # refused before any change reached the host: nothing to restore, so no rollback entry (the apply
            # entry records the reason)
            host_record.update(status="failed", message=f"{result.failed}", untouched=True)
        elif result.failed:
            host_record.update(status="rolled_back" if result.rolled_back else "failed",
                               message=f"{result.failed}" + (f"; rollback problems: {result.rollback_problems}"
                                                             if result.rollback_problems else ""))
            record("rollback", {"plan_id": plan["plan_id"], "run_id": run_id, "host": host.name,
                                "reason": result.failed, "restored": result.rolled_back,
                                "backup": host_record["backup"]})
        else:
            host_record["status"] = "applied"
            applied_ok.append(host)

    # The verdict: a new audit of the applied hosts, not the engine's word.
    report: dict[str, Any] | None = None
    if applied_ok:
        report, _ = run_audit(inputs, Selection(hosts=[h.name for h in applied_ok]), secrets, run)
        for finding in report["findings"]:
            host_record = host_results[finding["host"]]
            if finding["requirement"] in host_record["approved"]:
                host_record["verify"][finding["requirement"]] = "fixed" if finding["status"] == "pass" else (
                    f"still {finding['status']}")
        for host in applied_ok:
            host_record = host_results[host.name]
            verdicts = host_record["verify"]
            if set(verdicts) != set(host_record["approved"]) or "still error" in verdicts.values():
                # fail closed: a requirement the new audit could not judge is not "fixed"
                host_record["status"] = "unverified"
            elif any(v != "fixed" for v in verdicts.values()) or host_record["plan_matches"] is False:
                host_record["status"] = "applied_with_drift"
    record("apply", {"plan_id": plan["plan_id"], "plan_digest": digest, "run_id": run_id,
                     "approvals": [_public(u) for u in used],
                     "hosts": {h: {"status": r["status"], "approved": r["approved"], "verify": r["verify"],
                                   "plan_matches": r["plan_matches"],
                                   "message": None if r["message"] is None else REDACTOR.scrub(str(r["message"]))}
                               for h, r in host_results.items()},
                     "verify_report_digest": canonical_digest(report) if report else None})
    statuses = [r["status"] for r in host_results.values()]
    code = exit_code(errors=bool(ledger_problems) or any(s in ("refused", "failed", "rolled_back", "unverified")
                                                         for s in statuses),
                     drift="applied_with_drift" in statuses)
    return {
        "plan_id": plan["plan_id"],
        "plan_digest": digest,
        "run_id": run_id,
        "applied_by": actor,
        "approvals": [_public(u) for u in used],
        "finished_at": dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds"),
        "hosts": host_results,
        "verify_report_digest": canonical_digest(report) if report else None,
        "ledger_problems": ledger_problems,
        "exit_code": int(code),
    }
