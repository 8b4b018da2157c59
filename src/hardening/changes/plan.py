"""`hardening plan`: collect, evaluate, and dry-run the fix of every failing automatable requirement.

The plan records, per host, the failing requirements, the exact diff of each change, the steps a person
takes for every failing requirement no automated fix covers (`manual_steps`, Japanese and English: the
platform's own words for this device where it is a ManualGuide, else the catalog's remediation text for the
platform), and a fingerprint of the collected state it was made from (the facts its requirements read,
volatile facts excluded), so `apply` can refuse a host that changed since. Exit 0 nothing to change,
2 changes planned, 1 error.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from hardening.audit import Inputs, run_audit, select
from hardening.core.errors import ChangeError, CollectionError, HardeningError, InputError
from hardening.core.evaluate import MISSING, resolve_pointer
from hardening.core.models import CollectResult, Host, Requirement
from hardening.core.outcome import exit_code
from hardening.core.params import fill, resolve
from hardening.core.platform import (
    BatchPlanner,
    Change,
    HostFixes,
    ManualGuide,
    Platform,
    Remediator,
    Target,
    get_platform,
)
from hardening.core.run import RunOptions, build_target
from hardening.core.schemas import check, load_schema, validator
from hardening.core.scope import Selection
from hardening.core.secrets import REDACTOR, SecretStore
from hardening.engines.nornir_runner import run_each
from hardening.report.build import canonical_digest, canonical_json, operator
from hardening.report.files import atomic_write

FORMAT_VERSION = "1.1"   # 1.1: hosts.*.manual_steps
# What a manual step does NOT do: the plan changes nothing there, so the finding stays as it is until evidence shows
# otherwise.
MANUAL_NOTE = {"ja": "手動で設定しても、再監査で適合が確認されるか、有効な証明（hardening attest）が記録されるまで、"
                     "この要件は不適合のままです。",
               "en": "Set by hand, the requirement keeps failing until a re-audit shows it complies or a valid "
                     "attestation (hardening attest) is recorded."}


class PlanFileError(InputError):
    """A plan file is missing, not JSON or not valid against schemas/plan.schema.json."""


@functools.cache
def volatile_pointers() -> frozenset[str]:
    """Fact pointers marked x-volatile in facts.schema.json (they change by themselves)."""
    found: set[str] = set()

    def walk(node: Any, path: str) -> None:
        if not isinstance(node, dict):
            return
        if node.get("x-volatile"):
            found.add(path)
        for name, child in (node.get("properties") or {}).items():
            walk(child, f"{path}/{name}")

    walk(load_schema("facts.schema.json")["properties"]["facts"], "")
    return frozenset(found)


def fingerprint(facts_document: dict[str, Any] | None, requirements: list[Requirement]) -> str | None:
    """Digest of the non-volatile facts the given requirements read on the document's platform (None without
    facts)."""
    if facts_document is None:
        return None
    facts = facts_document.get("facts", {})
    platform = str(facts_document.get("platform", ""))  # stamped by core: the inventory's platform of the host
    pointers = sorted({p for r in requirements for p in r.facts_for(platform)} - volatile_pointers())
    state: dict[str, Any] = {}
    for pointer in pointers:
        value = resolve_pointer(facts, pointer)
        state[pointer] = None if value is MISSING else value
    return canonical_digest(REDACTOR.scrub_obj(state))


def host_parameters(host: Host, requirements: list[Requirement], site: dict[str, Any]) -> dict[str, Any]:
    """All parameters of the given requirements, resolved for this host (what the fix tasks read)."""
    merged: dict[str, Any] = {}
    for requirement in requirements:
        merged.update(resolve(requirement, host, site))
    return merged


def automatable(requirement: Requirement, platform: str, violations: list[dict[str, Any]],
                requested: Collection[str] = ()) -> bool:
    """Whether the automated fix of `requirement` on `platform` can repair a finding with these violations: the
    fix is automated there (or `opt_in` and the operator named the requirement's exact id in `requested`, the
    plan's --requirement list: BitLocker, a firmware password) and at least one violation lies outside that
    platform's `manual_facts` (facts only a person can put right, such as a password already stored with a weak
    hash)."""
    automation = requirement.automation_for(platform)
    if automation["fix"] == "opt_in":
        if requirement.id not in requested:
            return False
    elif automation["fix"] != "automated":
        return False
    manual = tuple(automation["manual_facts"])
    if not manual:
        return True
    return any(not any(v["pointer"] == p or v["pointer"].startswith(p + "/") for p in manual) for v in violations)


def manual_steps(platform: Platform, facts_document: Mapping[str, Any] | None, requirement: Requirement,
                 parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The plan's entry of what a person does on this host for a failing `requirement` no automated fix covers:
    {requirement, source, steps: {ja, en}, note: {ja, en}}. `source` is `platform` when the platform (a
    ManualGuide) has steps for this very device (e.g. its vendor's web-admin page), else `catalog` (the catalog's
    remediation text for the platform). Parameters are filled in as in the drift report. A guide that fails is
    not the plan's failure: the catalog's words stand in."""
    steps: dict[str, str] | None = None
    if isinstance(platform, ManualGuide) and facts_document is not None:
        try:
            steps = platform.manual_steps(facts_document, requirement.id)
        except Exception:
            steps = None
    source = "platform"
    if not (isinstance(steps, dict) and isinstance(steps.get("ja"), str) and isinstance(steps.get("en"), str)):
        steps, source = requirement.remediation_for(platform.name), "catalog"
    filled = fill({"ja": steps["ja"], "en": steps["en"]}, dict(parameters))
    return {"requirement": requirement.id, "source": source, "steps": filled, "note": dict(MANUAL_NOTE)}


def dry_runs(jobs: Mapping[str, tuple[Target, list[str], dict[str, Any]]], *, workers: int,
             progress: bool | None) -> dict[str, list[Change] | BaseException]:
    """The dry run of every host in `jobs` ({host: (target, fix, parameters)}): per platform, all its hosts at once
    when it is a BatchPlanner, else host by host on `workers` threads. {host: changes, or that host's error}."""
    by_platform: dict[str, list[str]] = {}
    for name, (target, _, _) in jobs.items():
        by_platform.setdefault(target.host.platform, []).append(name)
    outcomes: dict[str, list[Change] | BaseException] = {}
    single: list[Host] = []
    for platform_name, names in by_platform.items():
        try:
            platform = get_platform(platform_name)
        except HardeningError as exc:
            outcomes.update(dict.fromkeys(names, exc))
            continue
        if isinstance(platform, BatchPlanner):
            try:
                batch = platform.plan_many([jobs[n][0] for n in names], {n: jobs[n][1] for n in names},
                                           {n: jobs[n][2] for n in names}, workers=workers)
                outcomes.update({n: batch.get(n, RuntimeError("no result")) for n in names})
            except Exception as exc:  # a broken batch is every one of its hosts' error, never the whole plan's
                outcomes.update(dict.fromkeys(names, exc))
        else:
            single += [jobs[n][0].host for n in names]

    def plan_one(host: Host) -> list[Change]:
        target, fix, params = jobs[host.name]
        platform = get_platform(host.platform)
        if not isinstance(platform, Remediator):  # a job is made only for a platform that fixes: never here
            raise ChangeError(host.name, f"platform {platform.name} has no remediation")
        return platform.plan(target, fix, params)

    outcomes.update(run_each(single, plan_one, workers=workers, progress=progress, label="計画中 planning"))
    return outcomes


def record_dry_run(entry: dict[str, Any], fix: list[str],
                   outcome: list[Change] | HardeningError | NotImplementedError) -> None:
    """Put a host's dry-run outcome into its plan entry: the changes, or the error in one scrubbed line."""
    if isinstance(outcome, NotImplementedError):
        entry["error"] = f"not implemented: {outcome}"
    elif isinstance(outcome, HardeningError):
        entry["error"] = REDACTOR.scrub(str(outcome))
    else:
        entry["changes"] = [{"requirement": c.requirement, "task": c.task, "target": c.target, "diff": c.diff}
                            for c in outcome]
        without = sorted(set(fix) - {c.requirement for c in outcome})
        if without:  # a failing requirement whose fix changes nothing: the fix cannot help here
            entry["error"] = f"dry run shows no change for failing requirement(s) {', '.join(without)}"


def make_plan(inputs: Inputs, selection: Selection, secrets: SecretStore, run: RunOptions, *,
              audited: tuple[dict[str, Any], Mapping[str, CollectResult]] | None = None,
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Audit the selection and dry-run the fixes; return (plan document, drift report). `audited`: the (report,
    collect results) of an audit of this very selection just made (a scheduled job plans from the run it
    reports, instead of collecting every host a second time)."""
    created = dt.datetime.now(dt.UTC).astimezone()
    report, results = audited if audited is not None else run_audit(inputs, selection, secrets, run)
    hosts, _ = select(inputs, selection)
    catalog = inputs.catalog
    failing: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        if finding["status"] == "fail":  # waived findings are excepted on purpose: never auto-fixed
            failing.setdefault(finding["host"], []).append(finding)

    def plan_host(host: Host) -> tuple[dict[str, Any], tuple[Target, list[str], dict[str, Any]] | None]:
        """The host's plan entry, and the dry run it needs (target, fix, parameters) or None."""
        result: CollectResult = results[host.name]
        host_failing = failing.get(host.name, [])
        platform = get_platform(host.platform)
        # Only a platform with the remediation capability fixes, only what it declares it can fix, and only where the
        # catalog's automation for this platform says the fix is automated.
        fixable = platform.fixes if isinstance(platform, Remediator) else frozenset()
        if fixable and isinstance(platform, HostFixes) and result.facts is not None:
            fixable = fixable & platform.fixes_on(result.facts)  # e.g. what this printer's vendor can write
        fix = sorted(f["requirement"] for f in host_failing
                     if f["requirement"] in fixable
                     and automatable(catalog[f["requirement"]], host.platform, f["violations"],
                                     selection.requirements))
        entry: dict[str, Any] = {
            "zone": host.zone,
            "system": host.system.name,
            "security_managers": list(host.system.security_managers),
            "platform": host.platform,
            "fingerprint": fingerprint(result.facts, [catalog[r] for r in fix]),
            "failing": [{"requirement": f["requirement"], "clause": f["clause"],
                         "title": catalog[f["requirement"]].title,
                         "fix": catalog[f["requirement"]].automation_for(host.platform)["fix"],
                         "violations": f["violations"]} for f in host_failing],
            "fix": fix,
            "manual": sorted(f["requirement"] for f in host_failing if f["requirement"] not in fix),
            "manual_steps": [],
            "changes": [],
            "error": None,
        }
        site = inputs.inventory.parameters
        entry["manual_steps"] = [
            manual_steps(platform, result.facts, catalog[rid], host_parameters(host, [catalog[rid]], site))
            for rid in entry["manual"]]
        if result.facts is None:
            entry["error"] = f"facts could not be collected: {result.error}"
            entry["fix"] = []
            return entry, None
        if not fix:
            return entry, None
        try:
            target = build_target(host, secrets, run)
            params = host_parameters(host, [catalog[r] for r in fix], inputs.inventory.parameters)
        except (CollectionError, HardeningError) as exc:
            entry["error"] = REDACTOR.scrub(str(exc))
            return entry, None
        return entry, (target, fix, params)

    planned: dict[str, dict[str, Any] | BaseException] = {}
    jobs: dict[str, tuple[Target, list[str], dict[str, Any]]] = {}
    for host in hosts:
        try:
            planned[host.name], job = plan_host(host)
        except Exception as exc:  # one host's trouble is that host's error, never the whole plan's
            planned[host.name] = exc
            continue
        if job is not None:
            jobs[host.name] = job
    # Then the dry runs: all the hosts of a platform that can, in one go (grouped by platform).
    for name, outcome in dry_runs(jobs, workers=run.workers, progress=run.progress).items():
        entry = planned[name]
        if isinstance(entry, dict) and isinstance(outcome, (list, HardeningError, NotImplementedError)):
            record_dry_run(entry, jobs[name][1], outcome)
        elif isinstance(outcome, BaseException):  # an unexpected exception: the host gets the error entry below
            planned[name] = outcome
    host_entries: dict[str, Any] = {}
    for host in hosts:
        value = planned[host.name]
        if isinstance(value, BaseException):
            value = {"zone": host.zone, "system": host.system.name, "platform": host.platform,
                     "security_managers": list(host.system.security_managers), "fingerprint": None,
                     "failing": [], "fix": [], "manual": [], "manual_steps": [], "changes": [],
                     "error": REDACTOR.scrub(f"{type(value).__name__}: {value}")[:500]}
        host_entries[host.name] = value
    changes = sum(len(e["changes"]) for e in host_entries.values())
    in_error = sum(1 for e in host_entries.values() if e["error"])
    plan = {
        "format_version": FORMAT_VERSION,
        "plan_id": str(uuid.uuid4()),
        "created_at": created.isoformat(timespec="seconds"),
        "planned_by": operator(),
        "site": inputs.inventory.site,
        "selection": selection.as_dict(),
        "inventory": str(inputs.inventory.directory),
        "catalog_digest": inputs.catalog_digest,
        "report_digest": canonical_digest(report),
        "summary": {
            "hosts": len(host_entries),
            "hosts_with_changes": sum(1 for e in host_entries.values() if e["changes"]),
            "changes": changes,
            "hosts_in_error": in_error,
            "exit_code": int(exit_code(errors=bool(in_error) or report["summary"]["exit_code"] == 1,
                                       drift=bool(changes))),
        },
        "hosts": host_entries,
    }
    plan = REDACTOR.scrub_obj(plan)
    check(plan, validator("plan.schema.json"), "plan", PlanFileError)
    return plan, report


def plan_digest(plan: dict[str, Any]) -> str:
    return canonical_digest(plan)


def write_plan(plan: dict[str, Any], path: Path) -> None:
    """Canonical JSON, so the file's sha256 is the plan digest an approval signs; atomic, mode 0600 (a plan holds
    context lines of configuration files)."""
    atomic_write(path, canonical_json(plan) + "\n")


def read_plan(path: Path) -> dict[str, Any]:
    """Load and validate a plan file; PlanFileError names the file and the place."""
    try:
        plan = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanFileError(str(path), "/", "file not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanFileError(str(path), "/", f"not a JSON plan ({type(exc).__name__})") from None
    check(plan, validator("plan.schema.json"), str(path), PlanFileError)
    return dict(plan)


def plan_changes(plan: dict[str, Any], host: str) -> list[Change]:
    return [Change(c["requirement"], c["task"], c["target"], c["diff"]) for c in plan["hosts"][host]["changes"]]
