"""What the ledger vouches for in change control: who made a plan (bound to its digest) and which approvals an apply
has already used.

Why a ledger entry and not a planner signature: `hardening plan` already appends a hash-chained ``plan`` entry
(actor = the operator, subject = plan id + digest) to a ledger that only the change-control account can write,
and planners (often a timer job) would otherwise need personal signing keys kept on the same machine, which
protects nothing the ledger's file permissions do not. So the binding is: the FIRST ``plan`` entry for a plan id,
in a chain that verifies from seq 0, names the planner and the digest. `approve` and `apply` refuse a plan that
is not recorded, a file whose digest differs from the recorded one (``planned_by`` edited, whatever digest the
editor computes), a plan id recorded twice with different planners or digests, and any ledger whose chain does
not verify (an entry written beside the chain). The limit, stated in ledger.py too: an account that can write the
ledger file can append a well-chained entry; an external anchor (`hardening ledger head`) only protects history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hardening.changes.approval import ApprovalError, PlanModifiedError, normalise_name
from hardening.changes.ledger import Ledger


class UnrecordedPlanError(ApprovalError):
    """The plan is not recorded in the ledger as `hardening plan` records it (or is recorded ambiguously)."""


class ApprovalUsedError(ApprovalError):
    """An approval was already consumed by an apply: approvals are single-use."""


@dataclass(frozen=True)
class PlanCustody:
    """What the verified ledger says about one plan: its recorded planner, and the approvals already used."""

    planner: str
    recorded_seq: int
    used_approvals: dict[str, int]  # approval id -> seq of the apply_started entry that used it


def record_plan(ledger: Ledger, plan: dict[str, Any], digest: str) -> dict[str, Any]:
    """Append the ``plan`` entry that binds the planner (the entry's actor) to the plan digest; return it."""
    return ledger.append(plan["planned_by"], "plan", {
        "plan_id": plan["plan_id"], "plan_digest": digest, "report_digest": plan["report_digest"],
        "summary": plan["summary"], "hosts": {h: e["fix"] for h, e in plan["hosts"].items() if e["fix"]}})


def custody(ledger: Ledger, plan: dict[str, Any], digest: str, source: str) -> PlanCustody:
    """Read the verified ledger for this plan; raise unless it records exactly this file by this planner.

    Raises LedgerTamperedError (the chain does not verify), UnrecordedPlanError (no ``plan`` entry for the plan
    id, or several that disagree) and PlanModifiedError (the file's digest or ``planned_by`` differ from what was
    recorded: edited after planning).
    """
    plan_id = plan["plan_id"]

    def relevant(entry: dict[str, Any]) -> bool:
        if entry["action"] == "apply_started":
            return True
        return bool(entry["action"] == "plan" and entry["subject"].get("plan_id") == plan_id)

    entries = ledger.intact_entries(relevant)
    recorded = [e for e in entries if e["action"] == "plan"]
    if not recorded:
        raise UnrecordedPlanError(f"{source}: plan {plan_id} is not recorded in the ledger {ledger.path}: only a plan "
                                  "made by `hardening plan` (which records its planner and digest there) can be "
                                  "approved or applied")
    first = recorded[0]
    if any(normalise_name(e["actor"]) != normalise_name(first["actor"])
           or e["subject"].get("plan_digest") != first["subject"].get("plan_digest") for e in recorded[1:]):
        seqs = ", ".join(str(e["seq"]) for e in recorded)
        raise UnrecordedPlanError(f"{source}: plan {plan_id} is recorded {len(recorded)} times in the ledger "
                                  f"{ledger.path} (seq {seqs}) with different planners or digests: refusing")
    if first["subject"].get("plan_digest") != digest:
        raise PlanModifiedError(f"{source}: the ledger {ledger.path} recorded plan {plan_id} by {first['actor']!r} "
                                f"with digest {first['subject'].get('plan_digest')} (seq {first['seq']}); this file "
                                f"has digest {digest} (planned_by {plan['planned_by']!r}): it was edited after "
                                "planning; make a new plan")
    if normalise_name(first["actor"]) != normalise_name(plan["planned_by"]):  # the digest covers it; said plainly
        raise PlanModifiedError(f"{source}: /planned_by: {plan['planned_by']!r}, but the ledger {ledger.path} "
                                f"recorded {first['actor']!r} as the planner (seq {first['seq']})")
    used: dict[str, int] = {}
    for entry in entries:
        if entry["action"] == "apply_started":
            for approval in entry["subject"].get("approvals") or []:
                if isinstance(approval, dict) and isinstance(approval.get("approval_id"), str):
                    used.setdefault(approval["approval_id"], entry["seq"])
    return PlanCustody(first["actor"], first["seq"], used)


def refuse_used(custody_: PlanCustody, approvals: Iterable[dict[str, str]], ledger: Ledger) -> None:
    """Raise ApprovalUsedError if any of these approvals was already consumed by an apply."""
    for approval in approvals:
        seq = custody_.used_approvals.get(approval["approval_id"])
        if seq is not None:
            raise ApprovalUsedError(f"{approval['source']}: the approval by {approval['approver']!r} was already "
                                    f"used by an apply (ledger {ledger.path}, seq {seq}): approvals are single-use; "
                                    "ask for a new approval")
