"""`hardening attest`: a person attests on evidence what no remote read can prove; a signed ledger entry.

Some requirements cannot be read from a device (an MFP's storage erased when it leaves service, an overwrite setting
with no SNMP object, a check the catalog marks `check: manual`): their finding is `manual`, never `pass`. An
attestation turns such a finding into `pass` until its expiry, then `fail` (core.evaluate.apply_attestation).

Who may attest: a person of the approver registry (approvers.yaml), identified by their Ed25519 key as approvals are
(changes/approval.py), who is NOT one of the host's administrators (inventory data `administrators`, compared as
approval names are: approval.same_person). Separation of duties as for approvals (第2章 1(7)①: 「承認又は許可の申請を
行う者とその承認者又は許可者は、同じ者が兼務してはならない。」): the people who run a device do not vouch for it. A host
whose inventory lists no administrators cannot show that separation and is refused.

The record (schemas/attestation.schema.json) names the host, the requirement, the evidence file by base name, size
and SHA-256 (never its content), when (UTC), the expiry and a statement, and is signed over its canonical JSON. It is
appended to the hash-chained ledger (action ``attest``, actor = the attester). Evaluation re-reads the ledger, only
a chain that verifies, and re-verifies every signature with the registry (:func:`read_attestations`): an edited or
forged record is ignored and named in the report's warnings.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature

from hardening.changes.approval import (
    ApprovalError,
    Approver,
    BadSignatureError,
    Registry,
    RegistryError,
    UnknownApproverError,
    load_private_key,
    load_registry,
    normalise_name,
    same_person,
    signed_bytes,
)
from hardening.changes.ledger import Ledger, LedgerError
from hardening.core.attestations import Attestation, Attestations
from hardening.core.errors import InputError
from hardening.core.models import Host, Requirement
from hardening.core.schemas import check, validator
from hardening.core.scope import applies
from hardening.core.secrets import REDACTOR
from hardening.core.signing import raw_public_key

FORMAT_VERSION = "1.0"
SCHEMA = "attestation.schema.json"
ACTION = "attest"
MAX_STATEMENT = 2000
_CHUNK = 1024 * 1024


class AttestationRefused(ApprovalError):
    """The attestation may not be made: separation of duties, a requirement that does not apply, a past expiry."""


class AttestationFormatError(InputError, ApprovalError):
    """An attestation record is not valid against schemas/attestation.schema.json. Names the place."""


@dataclass(frozen=True)
class Evidence:
    """What is kept of an evidence file: its base name, size and SHA-256 (never its content)."""

    name: str
    size: int
    sha256: str


def read_evidence(path: str | os.PathLike[str]) -> Evidence:
    """Hash the evidence file in chunks. Raises InputError naming the file when it is missing, not a regular file or
    unreadable (nothing of its content is ever returned or logged)."""
    file = Path(path)
    digest = hashlib.sha256()
    size = 0
    try:
        if not file.is_file():
            what = "not found" if not file.exists() else "not a regular file"
            raise InputError(str(file), "--evidence", f"evidence file {what}")
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise InputError(str(file), "--evidence", f"cannot read the evidence file ({exc.strerror})") from None
    return Evidence(file.name, size, "sha256:" + digest.hexdigest())


def _utc(now: dt.datetime | None) -> dt.datetime:
    moment = dt.datetime.now(dt.UTC) if now is None else now
    if moment.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    return moment


def _approver_of_key(registry: Registry, public: bytes) -> Approver | None:
    return next((a for a in registry.approvers.values() if raw_public_key(a.public_key) == public), None)


def administrator_named(host: Host, approver: Approver) -> str | None:
    """The administrator of `host` who is `approver` (by name or alias, normalised), or None."""
    return next((admin for admin in host.administrators if same_person(admin, approver.name, approver.aliases)), None)


def _refuse_admin(host: Host, approver: Approver) -> None:
    if not host.administrators:
        raise AttestationRefused(f"separation of duties cannot be shown: inventory lists no administrators for "
                                 f"{host.name} (set data.administrators for the host or its group)")
    admin = administrator_named(host, approver)
    if admin is not None:
        raise AttestationRefused(f"{approver.name} is an administrator of {host.name} (inventory administrators: "
                                 f"{admin!r}): a person other than the host's administrators must attest "
                                 "(separation of duties, 第2章 1(7)①)")


def sign_attestation(
    *,
    host: Host,
    requirement: Requirement,
    evidence: str | os.PathLike[str],
    expires: dt.date,
    key_path: str | os.PathLike[str],
    registry: Registry,
    passphrase: str | bytes | None = None,
    statement: str = "",
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Check everything that needs no ledger, then sign and return the attestation record (not yet recorded).

    Raises AttestationRefused (expiry not after today, requirement not applying to the host, no administrators
    listed, attester an administrator), InputError (evidence missing or unreadable, statement too long),
    ApprovalKeyError (key missing, wrong passphrase, not Ed25519) and UnknownApproverError (the key is nobody's in
    the registry). The attester is whoever the registry says owns the key.
    """
    moment = _utc(now)
    today = moment.astimezone().date()  # the local day, as waivers and the audit's expiry checks count days
    if expires <= today:
        raise AttestationRefused(f"--expires {expires.isoformat()}: the expiry must be in the future (today is "
                                 f"{today.isoformat()})")
    ok, reason = applies(requirement, host)
    if not ok:
        raise AttestationRefused(f"{requirement.id} does not apply to {host.name}: {reason['en']} "
                                 f"({reason['ja']})")
    if not host.administrators:
        raise AttestationRefused(f"separation of duties cannot be shown: inventory lists no administrators for "
                                 f"{host.name} (set data.administrators for the host or its group)")
    if len(statement) > MAX_STATEMENT:
        raise InputError("--statement", "/", f"{len(statement)} characters; at most {MAX_STATEMENT}")
    found = read_evidence(evidence)
    key = load_private_key(key_path, passphrase)
    approver = _approver_of_key(registry, raw_public_key(key.public_key()))
    if approver is None:
        raise UnknownApproverError(f"{key_path}: the key is not the key of any person in {registry.source}: only a "
                                   "person of the registry may attest")
    _refuse_admin(host, approver)
    body: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "kind": "attestation",
        "host": host.name,
        "requirement": requirement.id,
        "evidence_sha256": found.sha256,
        "evidence_name": found.name,
        "evidence_bytes": found.size,
        "attested_at": moment.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "expires": expires.isoformat(),
        "statement": statement,
        "attester": approver.name,
    }
    source = f"attestation of {host.name} x {requirement.id}"
    check({**body, "signature": "A" * 86 + "=="}, validator(SCHEMA), source, AttestationFormatError)
    if REDACTOR.scrub_obj(body) != body:  # the ledger scrubs secrets: a scrubbed record would no longer verify
        raise InputError("--statement", "/", "holds a secret known to this run; leave it out")
    record = {**body, "signature": base64.b64encode(key.sign(signed_bytes(body))).decode("ascii")}
    verify_attestation(record, registry, source=source)
    return record


def verify_attestation(record: Mapping[str, Any], registry: Registry, *, source: str = "attestation") -> Approver:
    """Check a record against the schema and its signature with the registry's key for the named attester; return
    the attester. Raises AttestationFormatError, UnknownApproverError, BadSignatureError."""
    check(dict(record), validator(SCHEMA), source, AttestationFormatError)
    name: str = record["attester"]
    approver = registry.get(name)
    if approver is None:
        raise UnknownApproverError(f"{source}: /attester: {name!r} is not in the approver registry {registry.source}")
    try:
        approver.public_key.verify(base64.b64decode(record["signature"], validate=True), signed_bytes(record))
    except (binascii.Error, InvalidSignature):
        raise BadSignatureError(f"{source}: /signature: does not verify with the key {registry.source} holds for "
                                f"{name!r}: the record was edited after signing or signed with another key") from None
    return approver


def record_attestation(ledger: Ledger, record: Mapping[str, Any]) -> dict[str, Any]:
    """Append the signed record as a ledger entry (action ``attest``, actor = the attester); return the entry."""
    return ledger.append(record["attester"], ACTION, record)


def examine(entry: Mapping[str, Any], registry: Registry, hosts: Mapping[str, Host],
            catalog: Mapping[str, Requirement]) -> Attestation | str:
    """One ``attest`` ledger entry: the verified Attestation, or why it is ignored (one line)."""
    subject = entry.get("subject")
    if not isinstance(subject, Mapping):
        return "not an attestation record"
    try:
        approver = verify_attestation(subject, registry, source="record")
    except ApprovalError as exc:
        return str(exc).removeprefix("record: ")
    if normalise_name(str(entry.get("actor", ""))) != normalise_name(approver.name):
        return f"recorded by {entry.get('actor')!r}, signed by {approver.name!r}"
    host = hosts.get(subject["host"])
    if host is None:
        return f"host {subject['host']!r} is not in the inventory"
    if subject["requirement"] not in catalog:
        return f"requirement {subject['requirement']!r} is not in the catalog"
    admin = administrator_named(host, approver)
    if admin is not None:
        return f"{approver.name} is now an administrator of {host.name} ({admin!r}): separation of duties"
    if not host.administrators:
        return f"separation of duties cannot be shown: inventory lists no administrators for {host.name}"
    try:
        expires = dt.date.fromisoformat(subject["expires"])
    except ValueError:
        return f"expires {subject['expires']!r} is not a date"
    return Attestation(
        ledger_seq=int(entry["seq"]), host=host.name, requirement=subject["requirement"], attester=approver.name,
        attested_at=subject["attested_at"], evidence_sha256=subject["evidence_sha256"],
        evidence_name=subject["evidence_name"], evidence_bytes=subject["evidence_bytes"],
        expires=expires, statement=subject["statement"])


def _describe(entry: Mapping[str, Any]) -> str:
    found = entry.get("subject")
    subject: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    return (f"ledger seq {entry.get('seq')}: attestation of {subject.get('host')} x {subject.get('requirement')} by "
            f"{subject.get('attester')}")


def attestation_entries(ledger: Ledger) -> list[dict[str, Any]]:
    """Every ``attest`` entry of a ledger whose whole chain verifies. Raises LedgerTamperedError / LedgerError."""
    return ledger.intact_entries(lambda entry: entry["action"] == ACTION)


def read_attestations(ledger: Ledger, registry_path: str | os.PathLike[str], hosts: Mapping[str, Host],
                      catalog: Mapping[str, Requirement]) -> Attestations:
    """The attestations an audit or plan may use, each re-verified.

    Never raises for what it reads: a ledger whose chain does not verify (or cannot be read), or a registry that
    cannot be loaded while there are attestations to check, gives Attestations with `error` set and no record
    (every attestation ignored, the report says why, the run exits 1: a finding they would have decided is unknown,
    and the rest of the audit still reaches its readers). A record that does not verify on its own (edited, forged,
    attester gone from the registry or now an administrator of the host) is left out with a warning.
    """
    source = str(ledger.path)
    try:
        entries = attestation_entries(ledger)
    except LedgerError as exc:
        return Attestations(source=source, error=f"the ledger does not verify, every attestation is ignored: "
                                                 f"{REDACTOR.scrub(str(exc))}")
    if not entries:
        return Attestations(source=source)
    try:
        registry = load_registry(registry_path)
    except (RegistryError, OSError) as exc:
        what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Attestations(source=source, error=f"the approver registry cannot be read, every attestation is "
                                                 f"ignored: {registry_path}: {what}")
    records: list[Attestation] = []
    warnings: list[str] = []
    for entry in entries:
        verdict = examine(entry, registry, hosts, catalog)
        if isinstance(verdict, Attestation):
            records.append(verdict)
        else:
            warnings.append(f"{_describe(entry)} ignored: {verdict}")
    return Attestations(tuple(records), source, tuple(warnings))
