"""Approvals of change plans, signed by a second person with Ed25519, so that editing a file cannot forge one.

Policy: 第2章 6(1)④ウ 「システム変更等の作業を行う場合は、2名以上で作業し、互いにその作業を確認しなければならない。」
and 第2章 1(7)① 「承認又は許可の申請を行う者とその承認者又は許可者は、同じ者が兼務してはならない。」

An approval record (schemas/approval.schema.json) names the plan by id and digest, its planner, the approver, when,
and the scope approved (a subset of the plan's hosts and requirement ids). Its ``signature`` is Ed25519 over the
canonical JSON of the record without ``signature``. :func:`verify_approval` checks it with the public key held in the
trusted registry ``approvers.yaml`` for the named approver, never with anything inside the record; the registry is
the root of trust and must itself be protected (permissions, version control, review of every change).

Names are compared after normalisation (:func:`normalise_name`: NFKC, format characters such as zero-width spaces
removed, case-folded, whitespace removed, ``DOMAIN\\`` and ``@realm`` dropped), so ``Tanaka``, ``ｔａｎａｋａ``,
``ta\\u200bnaka`` and ``CITY\\tanaka`` are the same person. The planner checked here is the one the ledger recorded
for the plan (changes/custody.py), never only the plan file's ``planned_by``. Normalisation errs on
the side of refusing: two different people whose names normalise alike cannot approve each other's plans.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hardening.core import signing
from hardening.core.errors import HardeningError, InputError
from hardening.core.schemas import check, validator
from hardening.core.signing import parse_public_key, raw_public_key
from hardening.core.yamlio import LoadedYaml
from hardening.report.files import atomic_write

FORMAT_VERSION = "1.0"
SCHEMA = "approval.schema.json"
ALL_ZONES = "*"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class ApprovalError(HardeningError):
    """The approval is missing, forged, stale, self-made or out of scope: nothing may be applied on it."""


class SelfApprovalError(ApprovalError):
    """The approver is the planner (第2章 1(7)①)."""


class UnknownApproverError(ApprovalError):
    """The approver is not in the trusted registry."""


class BadSignatureError(ApprovalError):
    """The signature does not verify with the registry's key for the named approver (record edited or forged)."""


class PlanModifiedError(ApprovalError):
    """The approval is for another plan, or the plan changed since it was approved."""


class ScopeError(ApprovalError):
    """The approved scope is empty, goes beyond the plan, or covers zones the approver may not approve."""


class ApprovalKeyError(ApprovalError):
    """A key cannot be created or loaded (missing, wrong passphrase, not Ed25519, readable by others)."""


class ApprovalFormatError(InputError, ApprovalError):
    """An approval record is not valid against the schema. Names the file and the place."""


class RegistryError(InputError):
    """The approver registry (approvers.yaml) is invalid. Names the file and the place."""


# -- names -------------------------------------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """The identity a name stands for: NFKC, without format characters (Unicode category Cf: zero-width space and
    joiners, BOM, soft hyphen, bidi controls), case-folded, no whitespace, without ``DOMAIN\\`` or ``@realm``."""
    visible = "".join(c for c in unicodedata.normalize("NFKC", name) if unicodedata.category(c) != "Cf")
    text = "".join(unicodedata.normalize("NFKC", visible.casefold()).split())
    text = text.rsplit("\\", 1)[-1]
    return text.split("@", 1)[0]


def same_person(planner: str, approver: str, aliases: Iterable[str] = ()) -> bool:
    """Whether `planner` names the same person as `approver` or one of the approver's registry aliases
    (normalise_name); also how an attester is compared with a host's administrators."""
    who = normalise_name(planner)
    return any(who == normalise_name(name) for name in (approver, *aliases))


# -- keys --------------------------------------------------------------------------------------------------------------


def generate_keypair(
    name: str,
    directory: str | os.PathLike[str],
    passphrase: str | bytes | None = None,
    *,
    public_format: Literal["openssh", "pem"] = "openssh",
) -> tuple[Path, Path]:
    """Create ``<name>.key`` (PKCS8 PEM, mode 0600, encrypted if a passphrase is given) and ``<name>.pub``.

    Returns (private key path, public key path). The public key text is what goes into approvers.yaml.
    Raises ApprovalKeyError for a name unusable as a file name or when either file already exists (an approver
    key is never overwritten). (core/signing.py, shared with the collectors' keys.)
    """
    return signing.generate_keypair(name, directory, passphrase, public_format=public_format, kind="approver",
                                    error=ApprovalKeyError)


def load_private_key(path: str | os.PathLike[str], passphrase: str | bytes | None = None) -> Ed25519PrivateKey:
    """Load an approver's Ed25519 private key (PKCS8 PEM or OpenSSH), decrypting it with the passphrase if given.

    Raises ApprovalKeyError naming the file (never its content) when it is missing, readable by group or others,
    encrypted without a passphrase, decrypted with a wrong one, or not an Ed25519 key.
    """
    return signing.load_private_key(path, passphrase, error=ApprovalKeyError)


# -- registry ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Approver:
    """One trusted approver: the key that verifies their signatures and the zones they may approve."""

    name: str
    title: str
    public_key: Ed25519PublicKey = field(repr=False)
    may_approve: tuple[str, ...]
    aliases: tuple[str, ...] = ()

    def may_approve_zone(self, zone: str) -> bool:
        return ALL_ZONES in self.may_approve or zone in self.may_approve


@dataclass(frozen=True)
class Registry:
    """The trusted approver registry, by exact name."""

    approvers: Mapping[str, Approver]
    source: str = "approvers.yaml"

    def get(self, name: str) -> Approver | None:
        return self.approvers.get(name)


def parse_registry(data: Any, source: str, loaded: LoadedYaml | None = None) -> Registry:
    """Build a Registry from already-parsed data (schema-checked here). Raises RegistryError naming source/place."""
    check(data, validator(SCHEMA, "registry"), source, RegistryError, loaded)

    def where(parts: list[str | int]) -> str:
        return loaded.where(parts) if loaded is not None else "/" + "/".join(str(p) for p in parts)

    approvers: dict[str, Approver] = {}
    key_owner: dict[bytes, str] = {}
    identity_owner: dict[str, str] = {}
    for name, entry in data["approvers"].items():
        try:
            public_key = parse_public_key(entry["public_key"])
        except ValueError as exc:
            raise RegistryError(source, where(["approvers", name, "public_key"]),
                                f"{exc} (expected 'ssh-ed25519 AAAA…' or a PEM public key)") from None
        raw = raw_public_key(public_key)
        if raw in key_owner:
            # One key under two names would let one person approve their own plan under the other name.
            raise RegistryError(source, where(["approvers", name, "public_key"]),
                                f"same public key as approver {key_owner[raw]!r}: one key, one person, one name")
        key_owner[raw] = name
        aliases = tuple(entry.get("aliases", ()))
        for index, identity in enumerate((name, *aliases)):
            normal = normalise_name(identity)
            if not normal:
                raise RegistryError(source, where(["approvers", name, "aliases", index - 1] if index else
                                                  ["approvers", name]), f"{identity!r} names nobody")
            if identity_owner.get(normal, name) != name:
                raise RegistryError(source, where(["approvers", name]), f"{identity!r} is also a name of approver "
                                    f"{identity_owner[normal]!r}: each person appears once")
            identity_owner[normal] = name
        approvers[name] = Approver(name, entry["title"], public_key, tuple(entry["may_approve"]), aliases)
    return Registry(approvers, source)


def load_registry(path: str | os.PathLike[str]) -> Registry:
    """Load and validate approvers.yaml. Raises RegistryError naming the file, the JSON pointer and the line."""
    loaded = signing.load_trust_yaml(path, RegistryError)
    return parse_registry(loaded.data, str(path), loaded)


# -- records -----------------------------------------------------------------------------------------------------------


def signed_bytes(record: Mapping[str, Any]) -> bytes:
    """What the signature covers: canonical JSON of the record without ``signature``, UTF-8."""
    return signing.canonical_bytes(record, without="signature")


def _normalise_scope(scope: Mapping[str, Iterable[str]], source: str) -> dict[str, list[str]]:
    if not isinstance(scope, Mapping) or not scope:
        raise ScopeError(f"{source}: /scope/hosts: nothing to approve (give at least one host and requirement)")
    result: dict[str, list[str]] = {}
    for host, ids in scope.items():
        if not isinstance(host, str) or not host:
            raise ScopeError(f"{source}: /scope/hosts: host names must be non-empty strings, got {host!r}")
        if isinstance(ids, str):
            raise ScopeError(f"{source}: /scope/hosts/{host}: give a list of requirement ids, not one string")
        unique = sorted(set(ids))
        if not unique:
            raise ScopeError(f"{source}: /scope/hosts/{host}: no requirement ids (leave the host out instead)")
        result[host] = unique
    return dict(sorted(result.items()))


def _utc_now(now: dt.datetime | None) -> str:
    moment = dt.datetime.now(dt.UTC) if now is None else now
    if moment.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def sign_approval(
    plan_digest: str,
    plan_id: str,
    planner: str,
    approver_name: str,
    private_key_path: str | os.PathLike[str],
    scope: Mapping[str, Iterable[str]],
    passphrase: str | bytes | None = None,
    now: dt.datetime | None = None,
    *,
    registry: Registry | None = None,
) -> dict[str, Any]:
    """Sign an approval of ``scope`` ({host: [requirement ids]}, a subset of the plan) and return the record.

    Raises SelfApprovalError when the approver is the planner (normalised names; with ``registry`` also the
    approver's aliases), ScopeError for an empty scope, ApprovalKeyError when the key cannot be loaded,
    ApprovalFormatError when the result would not be a valid record (bad digest, id or name), and, with
    ``registry``, UnknownApproverError / BadSignatureError when the key is not the one the registry trusts for
    this approver (caught here rather than at apply time).
    """
    source = f"approval of plan {plan_id!r}"
    approver: Approver | None = None
    if registry is not None:
        approver = registry.get(approver_name)
        if approver is None:
            raise UnknownApproverError(f"{registry.source}: /approvers: no approver {approver_name!r}")
    if not isinstance(planner, str) or not isinstance(approver_name, str):
        raise ApprovalFormatError(source, "/planner", "planner and approver must be names (strings)")
    if same_person(planner, approver_name, approver.aliases if approver else ()):
        raise SelfApprovalError(f"{source}: approver {approver_name!r} is the planner {planner!r}: the requester "
                                "and the approver must be different people (第2章 1(7)①, 6(1)④ウ)")
    body: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "plan_id": plan_id,
        "plan_digest": plan_digest,
        "planner": planner,
        "approver": approver_name,
        "approved_at": _utc_now(now),
        "scope": {"hosts": _normalise_scope(scope, source)},
    }
    # Check the fields before asking for the key (and its passphrase): a placeholder stands in for the signature.
    check({**body, "signature": "A" * 86 + "=="}, validator(SCHEMA), source, ApprovalFormatError)
    key = load_private_key(private_key_path, passphrase)
    if registry is not None and approver is not None \
            and raw_public_key(key.public_key()) != raw_public_key(approver.public_key):
        raise BadSignatureError(f"{private_key_path}: not the key {registry.source} trusts for approver "
                                f"{approver_name!r}")
    record = {**body, "signature": base64.b64encode(key.sign(signed_bytes(body))).decode("ascii")}
    check(record, validator(SCHEMA), source, ApprovalFormatError)
    return record


def verify_approval(
    record: Mapping[str, Any],
    plan_digest: str,
    planner: str,
    registry: Registry,
    *,
    plan_hosts: Mapping[str, Iterable[str]],
    host_zones: Mapping[str, str] | None = None,
    plan_id: str | None = None,
    source: str = "approval record",
) -> dict[str, list[str]]:
    """Check an approval against the plan about to be applied; return the verified scope {host: [ids]}.

    ``plan_hosts``: what the plan contains ({host: [requirement ids]}); ``host_zones``: host -> zone, needed when
    the approver may approve only some zones (without it such an approval is refused: fail closed).

    Checks, in order, raising: ApprovalFormatError (schema), UnknownApproverError (not in the registry),
    BadSignatureError (signature does not verify with the registry's key: any edit of the record, or a key the
    registry does not trust), PlanModifiedError (plan digest, id or planner differ: the plan changed since approval),
    SelfApprovalError (approver is the planner or one of the approver's aliases), ScopeError (a host or
    requirement not in the plan, or a zone the approver may not approve).
    """
    if not isinstance(plan_digest, str) or not _DIGEST.match(plan_digest):
        raise ValueError("plan_digest must be 'sha256:' + 64 hex digits")
    check(dict(record), validator(SCHEMA), source, ApprovalFormatError)
    name: str = record["approver"]
    approver = registry.get(name)
    if approver is None:
        known = ", ".join(sorted(registry.approvers)) or "none"
        raise UnknownApproverError(f"{source}: /approver: {name!r} is not in the approver registry "
                                   f"{registry.source} (known: {known})")
    try:
        signature = base64.b64decode(record["signature"], validate=True)
        approver.public_key.verify(signature, signed_bytes(record))
    except (binascii.Error, InvalidSignature):
        raise BadSignatureError(f"{source}: /signature: does not verify with the key {registry.source} holds for "
                                f"{name!r}: the record was edited after signing or signed with another key") from None
    if record["plan_digest"] != plan_digest:
        raise PlanModifiedError(f"{source}: /plan_digest: approved {record['plan_digest']}, the plan now is "
                                f"{plan_digest}: the plan changed since it was approved; approve it again")
    if plan_id is not None and record["plan_id"] != plan_id:
        raise PlanModifiedError(f"{source}: /plan_id: approval is for plan {record['plan_id']!r}, not {plan_id!r}")
    if normalise_name(record["planner"]) != normalise_name(planner):
        raise PlanModifiedError(f"{source}: /planner: approval is for a plan by {record['planner']!r}, "
                                f"this plan is by {planner!r}")
    if same_person(planner, name, approver.aliases) or same_person(record["planner"], name, approver.aliases):
        raise SelfApprovalError(f"{source}: /approver: {name!r} is the planner {planner!r}: the requester and the "
                                "approver must be different people (第2章 1(7)①, 6(1)④ウ)")
    approved: dict[str, list[str]] = record["scope"]["hosts"]
    planned = {host: set(ids) for host, ids in plan_hosts.items()}
    for host, ids in approved.items():
        if host not in planned:
            raise ScopeError(f"{source}: /scope/hosts/{host}: host {host!r} is not in the plan")
        extra = sorted(set(ids) - planned[host])
        if extra:
            raise ScopeError(f"{source}: /scope/hosts/{host}: {', '.join(extra)} not in the plan for {host!r}")
        if ALL_ZONES in approver.may_approve:
            continue
        zone = None if host_zones is None else host_zones.get(host)
        if zone is None:
            raise ScopeError(f"{source}: /scope/hosts/{host}: zone of {host!r} unknown, and {name!r} may approve "
                             f"only zones {', '.join(approver.may_approve)}")
        if not approver.may_approve_zone(zone):
            raise ScopeError(f"{source}: /scope/hosts/{host}: {name!r} ({approver.title}) may approve zones "
                             f"{', '.join(approver.may_approve)} only; {host!r} is in zone {zone!r}")
    return {host: sorted(ids) for host, ids in sorted(approved.items())}


def read_approval(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an approval record file (JSON) and check it against the schema; signature is not checked here.

    Raises ApprovalFormatError naming the file and the place.
    """
    file = Path(path)

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ApprovalFormatError(str(file), "/", f"key {key!r} given twice")
            result[key] = value
        return result

    try:
        data = json.loads(file.read_text(encoding="utf-8"), object_pairs_hook=no_duplicates)
    except FileNotFoundError:
        raise ApprovalFormatError(str(file), "/", "file not found") from None
    except UnicodeDecodeError:
        raise ApprovalFormatError(str(file), "/", "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ApprovalFormatError(str(file), f"line {exc.lineno}, column {exc.colno}", f"not JSON: {exc.msg}") from None
    check(data, validator(SCHEMA), str(file), ApprovalFormatError)
    record: dict[str, Any] = data
    return record


def write_approval(record: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write an approval record as readable JSON (any layout verifies: the signature covers the canonical form),
    atomically, mode 0600."""
    atomic_write(Path(path), json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def approval_id(record: Mapping[str, Any]) -> str:
    """What makes an approval single-use: sha256 of what it signs (not of the signature, whose encoding varies)."""
    return "sha256:" + hashlib.sha256(signed_bytes(record)).hexdigest()
