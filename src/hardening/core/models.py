"""The typed data the pipeline passes along: hosts, requirements, findings, collection results."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEVICE_CLASSES = (
    "router",
    "switch",
    "firewall",
    "linux_server",
    "linux_pc",
    "windows_server",
    "windows_pc",
    "mfp",
)

ZONES = ("kikan", "lgwan", "internet")


class Status(enum.StrEnum):
    """A finding's status. Only evaluated evidence can be PASS."""

    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"
    MANUAL = "manual"
    WAIVED = "waived"


@dataclass(frozen=True)
class SystemInfo:
    """An information system of 第3章 2 with its responsible people."""

    name: str
    security_officer: str
    security_managers: tuple[str, ...]
    listed_in_policy: bool = True


@dataclass(frozen=True)
class Host:
    """One inventory host with its merged (defaults < groups < host) data."""

    name: str
    hostname: str
    port: int | None  # the inventory's own `port`; None: each connection kind's standard port
    platform: str
    device_class: str
    zone: str
    classification: dict[str, int]
    system: SystemInfo
    roles: tuple[str, ...]
    groups: tuple[str, ...]
    credentials: str
    become: bool = True
    parameters: dict[str, Any] = field(default_factory=dict)
    # The inventory layers that may set connection_options, host first, then its groups, then the defaults
    # (each {"connection_options": …}); hardening.core.run resolves them per connection kind.
    connection_layers: tuple[Mapping[str, Any], ...] = ()
    # The people who administer this host (inventory data `administrators`): none of them may attest a
    # requirement on it (separation of duties, as for approvals).
    administrators: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    schema: dict[str, Any]
    default: Any
    basis: str
    description: dict[str, str]
    per_role: bool = False


@dataclass(frozen=True)
class Requirement:
    """A catalog entry: a JSON Schema over the facts plus its policy metadata."""

    id: str
    clause: str
    quote_ja: str
    title: dict[str, str]
    rationale: dict[str, str]
    severity: str
    device_classes: tuple[str, ...]
    scope: dict[str, Any]
    parameters: dict[str, ParameterSpec]
    facts: tuple[str, ...]
    expected: dict[str, str]
    remediation: dict[str, str]  # the intent: what must be made true, platform-neutral
    # platform name -> {"automation"?: {check, fix, manual_facts?}, "remediation"?: {ja, en}, "facts"?: [pointer]},
    # as the file says; read it through automation_for / remediation_for / facts_for, which fill in what a platform
    # leaves out.
    platforms: dict[str, dict[str, Any]]
    schema: dict[str, Any]
    path: str

    def automation_for(self, platform: str) -> dict[str, Any]:
        """How this requirement is checked and fixed on `platform`: {"check", "fix", "manual_facts"}.

        A platform the catalog does not name, or names without `automation`, is still checked (the schema is
        over platform-neutral facts, and a fact the platform does not give makes the finding `error`) but never
        fixed automatically: {"check": "automated", "fix": "none", "manual_facts": []}. `fix` is automated, opt_in
        (fixed only when the plan names the requirement: changes.plan.automatable), manual or none. A fresh dict each
        call.
        """
        given = self.platforms.get(platform, {}).get("automation", {})
        return {"check": given.get("check", "automated"), "fix": given.get("fix", "none"),
                "manual_facts": list(given.get("manual_facts", ()))}

    def remediation_for(self, platform: str) -> dict[str, str]:
        """The remediation text {ja, en} for `platform`: its own words, else the intent (`remediation`)."""
        return dict(self.platforms.get(platform, {}).get("remediation", self.remediation))

    def facts_for(self, platform: str) -> tuple[str, ...]:
        """The fact pointers the check reads on `platform`: the platform's own `facts` list where its facts differ
        (LOG-RETENTION: a network device's local buffer instead of log files and journal), else `facts`.

        Evaluation fails closed on exactly these (a missing one is `error`), the plan fingerprints them, and a
        platform's `manual_facts` are among them."""
        return tuple(self.platforms.get(platform, {}).get("facts", self.facts))


@dataclass(frozen=True)
class Violation:
    """One reason facts do not validate: which fact, what the schema wanted, what was found."""

    pointer: str
    keyword: str
    expected: Any
    actual: Any
    message: str


@dataclass(frozen=True)
class WaiverMatch:
    id: str
    reason: str
    approver: str
    expires: str
    expired: bool


@dataclass(frozen=True)
class AttestationMatch:
    """The signed attestation (hardening attest, a ledger entry) that decided a `manual` finding: pass while it
    holds, fail once expired. Only the evidence file's name and SHA-256 are known here, never its content."""

    ledger_seq: int
    attester: str
    attested_at: str
    evidence_sha256: str
    evidence_name: str
    expires: str
    expired: bool
    statement: str = ""


@dataclass
class Finding:
    """The verdict of one requirement on one host."""

    host: str
    requirement: str
    status: Status
    evaluated_status: Status
    message: dict[str, str]
    expected: dict[str, str] = field(default_factory=dict)
    actual: dict[str, Any] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    evidence: list[dict[str, str]] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    waiver: WaiverMatch | None = None
    attestation: AttestationMatch | None = None


@dataclass
class CollectResult:
    """What collection produced for one host: a facts document or the reason there is none."""

    host: str
    facts: dict[str, Any] | None
    error: str | None
    error_kind: str | None
    duration_s: float
    # A capture platform's raw outputs (file name -> text, secrets masked): the configuration as audited,
    # written to the run's captures/<host>/ so `audit --from <run>/captures` re-audits it offline.
    captures: dict[str, str] = field(default_factory=dict)
