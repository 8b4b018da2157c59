"""`hardening apply`: only approved, unmodified, fresh plans; verified by a new audit; rolled back on failure.

Order of refusals (each exits 1 and changes nothing on the hosts concerned):
  plan file invalid -> no valid approval (missing, forged, self-approved, for another plan digest)
  -> plan too old or made against another catalog -> per host: state changed since planning (stale).
Then per approved host: back up, apply the approved requirements' tasks, restore on failure. The
verdict afterwards comes from collect + evaluate, never from Ansible's "ok".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hardening.audit import Inputs, run_audit
from hardening.changes.approval import ApprovalError, load_registry, read_approval, verify_approval
from hardening.changes.ledger import Ledger
from hardening.changes.plan import fingerprint, host_parameters, plan_changes, plan_digest, read_plan
from hardening.core.errors import HardeningError
from hardening.core.platform import ApplyResult, Target, get_platform
from hardening.core.scope import Selection
from hardening.core.secrets import REDACTOR, SecretStore
from hardening.engines.nornir_runner import collect_all, run_each
from hardening.report.build import canonical_digest, operator


class StalePlanError(HardeningError):
    """The plan is older than allowed or was made against another catalog."""


def default_approvals(plan_path: Path) -> list[Path]:
    """Approval records stored beside the plan: <plan>.approval*.json."""
    return sorted(plan_path.parent.glob(f"{plan_path.stem}.approval*.json"))


def verified_scope(plan: dict[str, Any], digest: str, approvals: list[Path], registry_path: Path) -> tuple[
        dict[str, list[str]], list[dict[str, str]]]:
    """Union of the scopes of every valid approval; raises ApprovalError if there is none."""
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
        verified = verify_approval(record, digest, plan["planned_by"], registry, plan_hosts=plan_hosts,
                                   host_zones=zones, plan_id=plan["plan_id"], source=str(path))
        for host, ids in verified.items():
            scope.setdefault(host, set()).update(ids)
        used.append({"approver": record["approver"], "approved_at": record["approved_at"],
                     "record_digest": canonical_digest(record)})
    return {h: sorted(ids) for h, ids in sorted(scope.items())}, used


def apply_plan(inputs: Inputs, plan_path: Path, approvals: list[Path], registry_path: Path, secrets: SecretStore,
               ledger: Ledger, *, timeout: float, workers: int, progress: bool | None, known_hosts: str | None,
               host_key_policy: str, max_age: dt.timedelta) -> dict[str, Any]:
    """Apply an approved plan; return the apply result document (also summarised in the ledger)."""
    plan = read_plan(plan_path)
    digest = plan_digest(plan)
    actor = operator()
    try:
        scope, used = verified_scope(plan, digest, approvals, registry_path)
        created = dt.datetime.fromisoformat(plan["created_at"])
        if dt.datetime.now(dt.UTC) - created > max_age:
            raise StalePlanError(f"plan {plan['plan_id']} was made at {plan['created_at']}, more than "
                                 f"{max_age} ago: make a new plan")
        if plan["catalog_digest"] != inputs.catalog_digest:
            raise StalePlanError("the requirement catalog changed since the plan was made: make a new plan")
        unknown = sorted(set(scope) - set(inputs.inventory.hosts))
        if unknown:
            raise StalePlanError(f"approved host(s) no longer in the inventory: {', '.join(unknown)}")
    except HardeningError as exc:
        ledger.append(actor, "apply", {"plan_id": plan["plan_id"], "plan_digest": digest, "refused": str(exc)})
        raise

    hosts = [inputs.inventory.hosts[name] for name in scope]
    host_results: dict[str, dict[str, Any]] = {
        h.name: {"approved": scope[h.name], "status": "pending", "message": None, "applied": [],
                 "plan_matches": None, "verify": {}, "backup": None} for h in hosts}
    # Fresh? Re-collect and compare the fingerprint of what the plan was made from.
    collected = collect_all(hosts, secrets, timeout=timeout, workers=workers, progress=progress,
                            known_hosts=known_hosts, host_key_policy=host_key_policy)
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
        return ledger.path.parent / "backups" / str(plan["plan_id"]) / f"{name}.json"

    def apply_host(host: Any) -> ApplyResult:
        approved = scope[host.name]
        planned = [c for c in plan_changes(plan, host.name) if c.requirement in approved]
        target = Target(host=host, credentials=secrets.credentials(host.credentials), timeout=timeout,
                        known_hosts=known_hosts, host_key_policy=host_key_policy,
                        backup_file=backup_file(host.name))
        params = host_parameters(host, [inputs.catalog[r] for r in approved], inputs.inventory.parameters)
        return get_platform(host.platform).apply(target, approved, params, planned)

    results = run_each(fresh, apply_host, workers=workers, progress=progress, label="適用中 applying")
    applied_ok = []
    for host in fresh:
        result = results[host.name]
        record = host_results[host.name]
        if isinstance(result, BaseException):
            record.update(status="failed", message=REDACTOR.scrub(f"{type(result).__name__}: {result}")[:500])
            continue
        record["applied"] = [asdict(c) for c in result.applied]
        record["backup"] = str(backup_file(host.name)) if backup_file(host.name).exists() else None
        planned_keys = {c.key() for c in plan_changes(plan, host.name) if c.requirement in scope[host.name]}
        record["plan_matches"] = {c.key() for c in result.applied} == planned_keys
        if result.failed:
            record.update(status="rolled_back" if result.rolled_back else "failed",
                          message=f"{result.failed}" + (f"; rollback problems: {result.rollback_problems}"
                                                        if result.rollback_problems else ""))
            ledger.append(actor, "rollback", {"plan_id": plan["plan_id"], "host": host.name,
                                              "reason": result.failed, "restored": result.rolled_back,
                                              "backup": record["backup"]})
        else:
            record["status"] = "applied"
            applied_ok.append(host)

    # The verdict: a new audit of the applied hosts, not the engine's word.
    report: dict[str, Any] | None = None
    if applied_ok:
        report, _ = run_audit(inputs, Selection(hosts=[h.name for h in applied_ok]), secrets, timeout=timeout,
                              workers=workers, progress=progress, known_hosts=known_hosts,
                              host_key_policy=host_key_policy)
        for finding in report["findings"]:
            record = host_results[finding["host"]]
            if finding["requirement"] in record["approved"]:
                record["verify"][finding["requirement"]] = "fixed" if finding["status"] == "pass" else (
                    f"still {finding['status']}")
        for host in applied_ok:
            record = host_results[host.name]
            verdicts = record["verify"]
            if set(verdicts) != set(record["approved"]) or "still error" in verdicts.values():
                # fail closed: a requirement the new audit could not judge is not "fixed"
                record["status"] = "unverified"
            elif any(v != "fixed" for v in verdicts.values()) or record["plan_matches"] is False:
                record["status"] = "applied_with_drift"
    statuses = [r["status"] for r in host_results.values()]
    exit_code = 1 if any(s in ("refused", "failed", "rolled_back", "unverified") for s in statuses) else (
        2 if "applied_with_drift" in statuses else 0)
    outcome = {
        "plan_id": plan["plan_id"],
        "plan_digest": digest,
        "applied_by": actor,
        "approvals": used,
        "finished_at": dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds"),
        "hosts": host_results,
        "verify_report_digest": canonical_digest(report) if report else None,
        "exit_code": exit_code,
    }
    ledger.append(actor, "apply", {"plan_id": plan["plan_id"], "plan_digest": digest, "approvals": used,
                                   "hosts": {h: {"status": r["status"], "approved": r["approved"],
                                                 "verify": r["verify"], "plan_matches": r["plan_matches"]}
                                             for h, r in host_results.items()},
                                   "verify_report_digest": outcome["verify_report_digest"]})
    return outcome
