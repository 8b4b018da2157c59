"""Approvals are signed by a second person and cannot be forged or stretched by editing files."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import stat
from pathlib import Path
from typing import Any

import pytest

from hardening.changes.approval import (
    ApprovalFormatError,
    ApprovalKeyError,
    BadSignatureError,
    PlanModifiedError,
    Registry,
    RegistryError,
    ScopeError,
    SelfApprovalError,
    UnknownApproverError,
    generate_keypair,
    load_private_key,
    load_registry,
    normalise_name,
    read_approval,
    sign_approval,
    signed_bytes,
    verify_approval,
    write_approval,
)
from hardening.report.build import canonical_digest

PLAN: dict[str, Any] = {"id": "plan-2025-001", "planner": "tanaka", "hosts": {
    "web01": ["PW-CLASS", "LOGIN-LOCKOUT", "LOG-FORWARD"],
    "db01": ["PW-CLASS"],
}}
DIGEST = canonical_digest(PLAN)
PLAN_HOSTS = PLAN["hosts"]
ZONES = {"web01": "internet", "db01": "kikan"}
NOW = dt.datetime(2025, 4, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))


def _registry_file(directory: Path, entries: dict[str, tuple[Path, str, list[str]]]) -> Path:
    lines = ["approvers:"]
    for name, (pub, title, zones) in entries.items():
        key_text = pub.read_text(encoding="utf-8").strip()
        lines.append(f"  {name}:")
        if key_text.startswith("-----"):
            lines.append("    public_key: |")
            lines += [f"      {line}" for line in key_text.splitlines()]
        else:
            lines.append(f'    public_key: "{key_text}"')
        lines.append(f"    title: {title}")
        lines.append(f"    may_approve: [{', '.join(repr(z) for z in zones)}]")
    path = directory / "approvers.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    generate_keypair("suzuki", directory)
    generate_keypair("sato", directory, public_format="pem")
    generate_keypair("tanaka", directory)
    return directory


@pytest.fixture
def registry(keys: Path, tmp_path: Path) -> Registry:
    path = _registry_file(tmp_path, {
        "suzuki": (keys / "suzuki.pub", "情報政策課長", ["*"]),
        "sato": (keys / "sato.pub", "情報システム係長", ["internet"]),
        "tanaka": (keys / "tanaka.pub", "主任", ["*"]),
    })
    return load_registry(path)


def _sign(keys: Path, approver: str = "suzuki", scope: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return sign_approval(DIGEST, PLAN["id"], "tanaka", approver, keys / f"{approver}.key",
                         scope if scope is not None else PLAN_HOSTS, now=NOW)


def _verify(record: dict[str, Any], registry: Registry, **kwargs: Any) -> dict[str, list[str]]:
    options: dict[str, Any] = {"plan_hosts": PLAN_HOSTS, "host_zones": ZONES, **kwargs}
    return verify_approval(record, DIGEST, "tanaka", registry, **options)


def test_keypair_files(keys: Path) -> None:
    assert stat.S_IMODE((keys / "suzuki.key").stat().st_mode) == 0o600
    assert (keys / "suzuki.key").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (keys / "suzuki.pub").read_text().startswith("ssh-ed25519 ")
    assert (keys / "sato.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    with pytest.raises(ApprovalKeyError, match="already exists"):
        generate_keypair("suzuki", keys)
    with pytest.raises(ApprovalKeyError):
        generate_keypair("../evil", keys)


def test_sign_and_verify(keys: Path, registry: Registry, tmp_path: Path) -> None:
    record = _sign(keys)
    assert record["approver"] == "suzuki"
    assert record["planner"] == "tanaka"
    assert record["approved_at"] == "2025-04-01T00:30:00+00:00"
    assert record["scope"] == {"hosts": {"db01": ["PW-CLASS"], "web01": ["LOG-FORWARD", "LOGIN-LOCKOUT", "PW-CLASS"]}}
    assert _verify(record, registry) == {"db01": ["PW-CLASS"], "web01": ["LOG-FORWARD", "LOGIN-LOCKOUT", "PW-CLASS"]}
    # Through a file, in any layout: the signature covers the canonical form.
    write_approval(record, tmp_path / "approval.json")
    assert _verify(read_approval(tmp_path / "approval.json"), registry)["db01"] == ["PW-CLASS"]


def test_partial_approval_and_pem_registry_key(keys: Path, registry: Registry) -> None:
    record = _sign(keys, "sato", {"web01": ["PW-CLASS"]})
    assert _verify(record, registry) == {"web01": ["PW-CLASS"]}


def test_self_approval_is_refused_when_signing(keys: Path) -> None:
    for planner in ("tanaka", "Tanaka", " ｔａｎａｋａ ", "CITY\\tanaka", "tanaka@sakado.local"):
        with pytest.raises(SelfApprovalError, match="different people"):
            sign_approval(DIGEST, PLAN["id"], planner, "tanaka", keys / "tanaka.key", PLAN_HOSTS, now=NOW)


def test_self_approval_is_refused_when_verifying(keys: Path, registry: Registry) -> None:
    # A record made without sign_approval's check: tanaka approves tanaka's own plan with tanaka's trusted key.
    body = {"format_version": "1.0", "plan_id": PLAN["id"], "plan_digest": DIGEST, "planner": "Tanaka",
            "approver": "tanaka", "approved_at": "2025-04-01T00:30:00+00:00",
            "scope": {"hosts": {"db01": ["PW-CLASS"]}}}
    signature = load_private_key(keys / "tanaka.key").sign(signed_bytes(body))
    record = {**body, "signature": base64.b64encode(signature).decode()}
    with pytest.raises(SelfApprovalError, match="different people"):
        verify_approval(record, DIGEST, "Tanaka", registry, plan_hosts=PLAN_HOSTS)
    # The same record presented for a plan by someone else names the wrong planner.
    with pytest.raises(PlanModifiedError, match="planner"):
        verify_approval(record, DIGEST, "suzuki", registry, plan_hosts=PLAN_HOSTS)


def test_self_approval_under_an_alias_is_refused(keys: Path, tmp_path: Path) -> None:
    path = tmp_path / "approvers.yaml"
    key_text = (keys / "suzuki.pub").read_text().strip()
    path.write_text(f'approvers:\n  suzuki:\n    public_key: "{key_text}"\n    title: 課長\n'
                    f"    may_approve: ['*']\n    aliases: [s.suzuki]\n", encoding="utf-8")
    aliased = load_registry(path)
    record = sign_approval(DIGEST, PLAN["id"], "S.Suzuki", "suzuki", keys / "suzuki.key", PLAN_HOSTS, now=NOW)
    with pytest.raises(SelfApprovalError):
        verify_approval(record, DIGEST, "S.Suzuki", aliased, plan_hosts=PLAN_HOSTS)
    with pytest.raises(SelfApprovalError):
        sign_approval(DIGEST, PLAN["id"], "s.suzuki", "suzuki", keys / "suzuki.key", PLAN_HOSTS, registry=aliased)


def test_edited_scope_breaks_the_signature(keys: Path, registry: Registry) -> None:
    record = _sign(keys, scope={"web01": ["PW-CLASS"]})
    edited = copy.deepcopy(record)
    edited["scope"]["hosts"]["db01"] = ["PW-CLASS"]  # stretch the approval to another host
    with pytest.raises(BadSignatureError) as info:
        _verify(edited, registry)
    assert "suzuki" in str(info.value)
    assert record["signature"] not in str(info.value)


@pytest.mark.parametrize(("field", "value"), [
    ("approver", "sato"), ("planner", "yamada"), ("approved_at", "2030-01-01T00:00:00+00:00"),
])
def test_any_edited_field_breaks_the_signature(keys: Path, registry: Registry, field: str, value: str) -> None:
    record = _sign(keys)
    record[field] = value
    with pytest.raises(BadSignatureError):
        verify_approval(record, DIGEST, record["planner"], registry, plan_hosts=PLAN_HOSTS, host_zones=ZONES)


def test_changed_plan_voids_the_approval(keys: Path, registry: Registry) -> None:
    record = _sign(keys)
    changed = copy.deepcopy(PLAN)
    changed["hosts"]["web01"].append("SVC-MINIMAL")
    with pytest.raises(PlanModifiedError, match="plan changed"):
        verify_approval(record, canonical_digest(changed), "tanaka", registry, plan_hosts=changed["hosts"])
    # Editing the record's digest to match the new plan is caught by the signature instead.
    record["plan_digest"] = canonical_digest(changed)
    with pytest.raises(BadSignatureError):
        verify_approval(record, canonical_digest(changed), "tanaka", registry, plan_hosts=changed["hosts"])


def test_wrong_plan_id_is_refused(keys: Path, registry: Registry) -> None:
    with pytest.raises(PlanModifiedError, match="plan_id"):
        _verify(_sign(keys), registry, plan_id="plan-2025-002")


def test_attacker_key_under_a_registry_name_is_refused(keys: Path, registry: Registry, tmp_path: Path) -> None:
    generate_keypair("suzuki", tmp_path / "attacker")  # same name, different key
    record = sign_approval(DIGEST, PLAN["id"], "tanaka", "suzuki", tmp_path / "attacker" / "suzuki.key",
                           PLAN_HOSTS, now=NOW)
    with pytest.raises(BadSignatureError):
        _verify(record, registry)
    with pytest.raises(BadSignatureError):
        sign_approval(DIGEST, PLAN["id"], "tanaka", "suzuki", tmp_path / "attacker" / "suzuki.key",
                      PLAN_HOSTS, registry=registry)


def test_unknown_approver(keys: Path, registry: Registry, tmp_path: Path) -> None:
    generate_keypair("yamada", tmp_path / "other")
    record = sign_approval(DIGEST, PLAN["id"], "tanaka", "yamada", tmp_path / "other" / "yamada.key",
                           PLAN_HOSTS, now=NOW)
    with pytest.raises(UnknownApproverError, match="yamada"):
        _verify(record, registry)


def test_scope_beyond_the_plan(keys: Path, registry: Registry) -> None:
    with pytest.raises(ScopeError, match="SVC-MINIMAL"):
        _verify(_sign(keys, scope={"web01": ["PW-CLASS", "SVC-MINIMAL"]}), registry)
    with pytest.raises(ScopeError, match="mail01"):
        _verify(_sign(keys, scope={"mail01": ["PW-CLASS"]}), registry)
    with pytest.raises(ScopeError):
        _sign(keys, scope={})


def test_zone_the_approver_may_not_approve(keys: Path, registry: Registry) -> None:
    record = _sign(keys, "sato", {"db01": ["PW-CLASS"]})
    with pytest.raises(ScopeError, match="kikan"):
        _verify(record, registry)
    with pytest.raises(ScopeError, match="zone of 'db01' unknown"):
        _verify(record, registry, host_zones=None)


def test_schema_invalid_record(keys: Path, registry: Registry) -> None:
    record = _sign(keys)
    del record["signature"]
    with pytest.raises(ApprovalFormatError, match="signature"):
        _verify(record, registry)


def test_encrypted_key(tmp_path: Path) -> None:
    passphrase = "correct horse battery staple"  # noqa: S105 - a test key's passphrase
    key, pub = generate_keypair("suzuki", tmp_path, passphrase)
    assert b"ENCRYPTED" in key.read_bytes()
    registry = load_registry(_registry_file(tmp_path, {"suzuki": (pub, "課長", ["*"])}))
    record = sign_approval(DIGEST, PLAN["id"], "tanaka", "suzuki", key, PLAN_HOSTS, passphrase=passphrase, now=NOW)
    assert _verify(record, registry)["db01"] == ["PW-CLASS"]
    with pytest.raises(ApprovalKeyError, match="wrong passphrase") as info:
        sign_approval(DIGEST, PLAN["id"], "tanaka", "suzuki", key, PLAN_HOSTS,
                      passphrase="wrong guess", now=NOW)  # noqa: S106 - deliberately wrong
    assert str(key) in str(info.value)
    assert "PRIVATE" not in str(info.value)
    with pytest.raises(ApprovalKeyError, match="passphrase is needed"):
        sign_approval(DIGEST, PLAN["id"], "tanaka", "suzuki", key, PLAN_HOSTS, now=NOW)


def test_key_readable_by_others_is_refused(keys: Path) -> None:
    (keys / "suzuki.key").chmod(0o644)
    with pytest.raises(ApprovalKeyError, match="chmod 600"):
        _sign(keys)


def test_registry_errors_name_file_and_place(keys: Path, tmp_path: Path) -> None:
    path = tmp_path / "approvers.yaml"
    path.write_text("approvers:\n  suzuki:\n    public_key: ssh-ed25519 AAAA\n    title: 課長\n"
                    "    may_approve: [kikn]\n", encoding="utf-8")
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    assert str(path) in str(info.value)
    assert "/approvers/suzuki" in str(info.value)
    key_text = (keys / "suzuki.pub").read_text().strip()
    path.write_text(f'approvers:\n  suzuki:\n    public_key: "{key_text}"\n    title: a\n    may_approve: ["*"]\n'
                    f'  sato:\n    public_key: "{key_text}"\n    title: b\n    may_approve: ["*"]\n', encoding="utf-8")
    with pytest.raises(RegistryError, match="same public key"):
        load_registry(path)
    entry = '    public_key: "{key}"\n    title: {title}\n    may_approve: ["*"]\n'
    path.write_text("approvers:\n  suzuki:\n" + entry.format(key=key_text, title="a")
                    + "  suzuki:\n" + entry.format(key=key_text, title="b"), encoding="utf-8")
    with pytest.raises(RegistryError, match="second time") as dup:
        load_registry(path)
    assert "line 6" in str(dup.value)


def test_normalise_name() -> None:
    assert normalise_name("山田　太郎") == normalise_name("山田太郎")
    assert normalise_name("CITY\\Tanaka") == normalise_name("tanaka@city.local") == "tanaka"
    assert normalise_name("tanaka") != normalise_name("suzuki")
