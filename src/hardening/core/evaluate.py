"""Evaluation: facts validated against each applicable requirement schema -> findings.

Fail closed: a host without facts, a fact the probe could not determine, a fact the platform does
not provide, a check that is not automated: never PASS. A fact the platform read but cannot judge (the
facts document's `manual` map) is MANUAL. Only facts that validate are PASS.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import threading
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from hardening.core import params as params_mod
from hardening.core.attestations import NONE, Attestations
from hardening.core.catalog import substitute
from hardening.core.models import AttestationMatch, CollectResult, Finding, Host, Requirement, Status, Violation
from hardening.core.schemas import FastValidity, fast_validity, offline_validator, plain_json
from hardening.core.scope import applies
from hardening.core.waivers import Waiver, match

MISSING = object()


def resolve_pointer(document: Any, pointer: str) -> Any:
    """Value at a JSON pointer, or MISSING."""
    node = document
    for raw in pointer.strip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


class _ValidatorCache:
    """Compiled validators per (requirement, resolved parameters): hosts mostly share parameters. Each is jsonschema's
    (whose errors become the violations) with jsonschema-rs's quick `valid?` beside it when it can answer
    (schemas.fast_validity)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[Draft202012Validator, FastValidity | None]] = {}
        self._lock = threading.Lock()

    def get(self, requirement: Requirement, values: dict[str, Any]) -> tuple[Draft202012Validator, FastValidity | None]:
        key = (requirement.id, json.dumps(values, sort_keys=True, default=str))
        with self._lock:
            found = self._cache.get(key)
            if found is None:
                schema = substitute(requirement.schema, values)
                found = (offline_validator(schema), fast_validity(schema, formats=False))
                self._cache[key] = found
            return found


_VALIDATORS = _ValidatorCache()


def _finite(value: Any) -> bool:
    """No NaN or infinity anywhere in a fact value."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def _violation(error: ValidationError) -> Violation:
    pointer = "/" + "/".join(str(p) for p in error.absolute_path)
    return Violation(
        pointer=pointer,
        keyword=str(error.validator),
        expected=error.validator_value,
        actual=error.instance,
        message=error.message,
    )


def _violations(error: ValidationError, branch: str = "") -> list[Violation]:
    """The violations of one validation error. An anyOf/oneOf that no branch satisfies says
    nothing by itself ("not valid under any of the given schemas"): it is reported as each
    branch's own reasons, prefixed with the branch's description, so the finding still names
    every fact that was found wanting."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        out: list[Violation] = []
        for sub in error.context:
            index = sub.relative_schema_path[0] if sub.relative_schema_path else None
            schemas = error.validator_value if isinstance(error.validator_value, list) else []
            chosen = schemas[index] if isinstance(index, int) and index < len(schemas) else {}
            label = chosen.get("description", "") if isinstance(chosen, dict) else ""
            out.extend(_violations(sub, label or branch))
        return out
    violation = _violation(error)
    if branch:
        violation = dataclasses.replace(violation, message=f"{branch}: {violation.message}")
    return [violation]


def _condition_pointers(schema: Any, base: str = "", inside_if: bool = False) -> set[str]:
    """The fact pointers an `if` of the schema reads (e.g. /os/family): a branch chosen without them is no verdict.

    An object the condition only looks into (its `properties`, e.g. /time for an `if` on /time/source_type) is not
    itself read: were it, every fact under it would count as a condition and an unknown offset would hide a definite
    fail of the clock's state."""
    found: set[str] = set()
    if isinstance(schema, dict):
        if inside_if and base and "properties" not in schema:
            found.add(base)
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    found |= _condition_pointers(sub, f"{base}/{name}", inside_if)
            elif key == "required" and inside_if and isinstance(value, list):
                found |= {f"{base}/{name}" for name in value if isinstance(name, str)}
            else:
                found |= _condition_pointers(value, base, inside_if or key == "if")
    elif isinstance(schema, list):
        for item in schema:
            found |= _condition_pointers(item, base, inside_if)
    return found


def _related(violation: str, fact: str) -> bool:
    """The violation is about the fact: at it, inside it, or above it (a whole section missing, the root)."""
    above = violation.rstrip("/")
    return violation == fact or violation.startswith(fact + "/") or fact.startswith(above + "/")


def _evidence_for(facts_doc: dict[str, Any], pointers: tuple[str, ...]) -> list[dict[str, str]]:
    """The evidence cited at a pointer, inside one (below it) or above one (a section holding it), in the facts
    document's order, each item once."""
    evidence: list[dict[str, str]] = []
    below = tuple(p + "/" for p in pointers)
    for key, items in facts_doc.get("evidence", {}).items():
        if key in pointers or key.startswith(below) or any(p.startswith(key + "/") for p in pointers):
            for item in items:
                if item not in evidence:
                    evidence.append(item)
    return evidence


def evaluate_requirement(
    host: Host,
    result: CollectResult,
    requirement: Requirement,
    site_parameters: dict[str, Any],
    *,
    plain: bool | None = None,
) -> Finding:
    """The finding of one requirement on one host, before waivers. `plain`: whether the facts are plain JSON data
    (schemas.plain_json), when the caller already knows it."""
    values = params_mod.resolve(requirement, host, site_parameters)
    expected = params_mod.fill(requirement.expected, values)

    def finding(status: Status, ja: str, en: str, **extra: Any) -> Finding:
        return Finding(host=host.name, requirement=requirement.id, status=status, evaluated_status=status,
                       message={"ja": ja, "en": en}, expected=expected, parameters=values, **extra)

    ok, reason = applies(requirement, host)
    if not ok:
        return finding(Status.NOT_APPLICABLE, reason["ja"], reason["en"])
    if requirement.automation_for(host.platform)["check"] != "automated":
        return finding(Status.MANUAL, "自動点検の対象外：証跡による手動確認が必要",
                       "not automatically checkable: needs manual evidence")
    if result.facts is None:
        return finding(Status.ERROR, f"情報を収集できなかった: {result.error}",
                       f"facts could not be collected: {result.error}")
    facts = result.facts.get("facts", {})
    errors = result.facts.get("errors", {})
    to_review = result.facts.get("manual", {})
    pointers = requirement.facts_for(host.platform)
    evidence = _evidence_for(result.facts, pointers)
    actual: dict[str, Any] = {}
    problems: list[str] = []
    undetermined: list[str] = []
    reviews: list[str] = []
    for pointer in pointers:
        if pointer in errors:
            problems.append(f"{pointer}: {errors[pointer]}")
            undetermined.append(pointer)
            continue
        if pointer in to_review:
            reviews.append(f"{pointer}: {to_review[pointer]}")
            continue
        value = resolve_pointer(facts, pointer)
        if value is MISSING:
            problems.append(f"{pointer}: not provided by platform {host.platform}")
            undetermined.append(pointer)
        elif not _finite(value):  # NaN compares false with every limit: it would pass any maximum
            problems.append(f"{pointer}: not a finite number")
            undetermined.append(pointer)
        else:
            actual[pointer] = value
    schema_validator, quick = _VALIDATORS.get(requirement, values)
    violations = [] if quick is not None and quick(facts, plain=plain) else \
        [v for e in schema_validator.iter_errors(facts) for v in _violations(e)]
    if problems:
        # A fact that could not be determined is never a pass. A definite violation of a fact that WAS
        # determined is still a fail (an unsynchronised clock is a fail even though its offset is unknown);
        # without one, the finding is an error.
        unknown = tuple(undetermined) + tuple(p for p in pointers if p in to_review)
        conditions = _condition_pointers(requirement.schema)
        branch_unknown = any(_related(c, p) for c in conditions for p in unknown)
        definite = [] if branch_unknown else [v for v in violations
                                              if not any(_related(v.pointer, p) for p in unknown)]
        joined = "; ".join(problems)
        if definite:
            where = ", ".join(sorted({v.pointer for v in definite}))
            return finding(Status.FAIL, f"要件を満たしていない（{where}）。判定できなかった事実: {joined}",
                           f"does not meet the requirement ({where}); facts that could not be determined: {joined}",
                           actual=actual, violations=definite, evidence=evidence)
        return finding(Status.ERROR, f"判定に必要な事実を取得できなかった: {joined}",
                       f"facts needed for the check could not be determined: {joined}",
                       actual=actual, evidence=evidence)
    if reviews:
        # A fact the platform read but cannot judge needs a person, never a pass; a definite violation of
        # another fact is still a fail (what is under review cannot make it comply).
        reviewed = tuple(p for p in pointers if p in to_review)
        violations = [v for v in violations if not any(_related(v.pointer, p) for p in reviewed)]
        if not violations:
            joined = "; ".join(reviews)
            return finding(Status.MANUAL, f"自動では判定できない設定：手動確認が必要（{joined}）",
                           f"the configuration cannot be judged automatically: needs a manual review ({joined})",
                           actual=actual, evidence=evidence)
    if violations:
        where = ", ".join(sorted({v.pointer for v in violations}))
        return finding(Status.FAIL, f"要件を満たしていない（{where}）", f"does not meet the requirement ({where})",
                       actual=actual, violations=violations, evidence=evidence)
    return finding(Status.PASS, "要件を満たしている", "meets the requirement", actual=actual, evidence=evidence)


def apply_attestation(finding: Finding, attestations: Attestations, today: dt.date) -> Finding:
    """An attestation is evidence: it decides a MANUAL finding only (never upgrades FAIL or ERROR, never touches a
    measured PASS). Valid on `today`: PASS; expired: FAIL naming the expiry. The evaluated status stays MANUAL, so
    a reader sees the pass was attested, not measured."""
    if finding.evaluated_status is not Status.MANUAL:
        return finding
    found = attestations.for_finding(finding.host, finding.requirement, today)
    if found is None:
        return finding
    expired = found.expired(today)
    finding.attestation = AttestationMatch(
        ledger_seq=found.ledger_seq, attester=found.attester, attested_at=found.attested_at,
        evidence_sha256=found.evidence_sha256, evidence_name=found.evidence_name,
        expires=found.expires.isoformat(), expired=expired, statement=found.statement)
    what = (f"{found.attester} が {found.attested_at} に証明、証跡 {found.evidence_name} "
            f"{found.evidence_sha256}、台帳 seq {found.ledger_seq}")
    what_en = (f"by {found.attester} at {found.attested_at}, evidence {found.evidence_name} "
               f"{found.evidence_sha256}, ledger seq {found.ledger_seq}")
    if expired:
        finding.status = Status.FAIL
        finding.message = {
            "ja": f"証跡による確認の有効期限（{found.expires}）が切れている：再確認が必要（{what}）",
            "en": f"the attestation expired on {found.expires}: attest again ({what_en})",
        }
    else:
        finding.status = Status.PASS
        finding.message = {
            "ja": f"証跡による確認で適合（{what}、有効期限 {found.expires}）",
            "en": f"attested ({what_en}, expires {found.expires})",
        }
    return finding


def apply_waiver(finding: Finding, waivers: list[Waiver], today: dt.date) -> Finding:
    """Waivers change the reported status of a FAIL only (measured, or a MANUAL finding whose attestation expired:
    a waiver is an exception to a failing requirement, applied after the evidence); the evaluated status is always
    kept."""
    waiver = match(waivers, finding.host, finding.requirement, today)
    if waiver is None:
        return finding
    finding.waiver = waiver
    if finding.status is not Status.FAIL:
        return finding
    if waiver.expired:
        finding.message = {
            "ja": f"{finding.message['ja']}【例外措置 {waiver.id} は {waiver.expires} に期限切れ】",
            "en": f"{finding.message['en']} [waiver {waiver.id} expired on {waiver.expires}]",
        }
        return finding
    finding.status = Status.WAIVED
    return finding


def evaluate_host(
    host: Host,
    result: CollectResult,
    requirements: list[Requirement],
    site_parameters: dict[str, Any],
    waivers: list[Waiver],
    today: dt.date,
    attestations: Attestations = NONE,
) -> list[Finding]:
    """Every requirement's finding for one host: evaluated, then attestations (evidence), then waivers
    (exceptions)."""
    plain = result.facts is not None and plain_json(result.facts.get("facts", {}))
    return [
        apply_waiver(apply_attestation(evaluate_requirement(host, result, requirement, site_parameters, plain=plain),
                                       attestations, today), waivers, today)
        for requirement in requirements
    ]
