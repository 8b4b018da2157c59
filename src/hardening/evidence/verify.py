"""`hardening verify BUNDLE`: is this bundle what its collector signed, and does every verdict follow from it?

In order: the archive is read safely (bundle.read_members); every member is hashed against the manifest (a changed,
missing or extra file is named); the manifest is in its canonical form and its signature verifies with the key the
collector registry holds for the collector it names; then, from the bundle alone, every verdict is derived again:
the report's hosts and findings, each host's facts (sha256 = facts_digest, valid against the bundled facts schema),
the bundled catalog (its digest is the run's catalog_digest), the ledger excerpt (each entry's hash, the run's audit
entry naming this very report) and the product's own evaluation (core/evaluate.evaluate_host: the same code the
audit ran, with the parameters each finding recorded, its recorded waiver and the attestations of the excerpt) must
give each finding's evaluated_status and status, each host's status and the summary counts. Nothing of the bundle is
trusted before its signature verified."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from hardening.core import signing
from hardening.core.attestations import Attestation, Attestations
from hardening.core.errors import HardeningError
from hardening.core.evaluate import evaluate_host
from hardening.core.models import CollectResult, Host, Requirement, SystemInfo
from hardening.core.outcome import host_status
from hardening.core.schemas import validator
from hardening.core.waivers import Waiver
from hardening.evidence.bundle import (
    FACTS_SCHEMA,
    LEDGER,
    MANIFEST,
    REPORT,
    SIGNATURE,
    Problem,
    UnsafeBundle,
    canonical_bytes,
    decode_signature,
    filled_members,
    read_members,
    sha256_hex,
)
from hardening.evidence.collectors import Collector, Collectors
from hardening.report.build import canonical_digest
from hardening.report.validate import ReportError, validate_report
from hardening.report.views import subset_report

MANIFEST_SCHEMA = "evidence-manifest.schema.json"


@dataclasses.dataclass
class Verified:
    """A bundle that verified: its manifest, its report, the collector that signed it, the sha256 of its bytes."""

    manifest: dict[str, Any]
    report: dict[str, Any]
    collector: Collector
    sha256: str


class BundleRefused(HardeningError):
    """The bundle does not verify, or import refuses it: one Problem per reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.line() for p in problems))


def _json(data: bytes, name: str, problems: list[Problem]) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        problems.append(Problem(name, f"JSON として読めない（{exc}）", f"not JSON ({exc})"))
        return None


def check_manifest(members: Mapping[str, bytes], registry: Collectors) -> tuple[dict[str, Any] | None,
                                                                               Collector | None, list[Problem]]:
    """The manifest, the collector whose signature it carries, and the problems of the hashes and the signature."""
    problems: list[Problem] = []
    raw = members.get(MANIFEST)
    if raw is None:
        return None, None, [Problem(MANIFEST, "manifest.json がない", "manifest.json is missing")]
    manifest = _json(raw, MANIFEST, problems)
    if manifest is None:
        return None, None, problems
    errors = sorted(validator(MANIFEST_SCHEMA).iter_errors(manifest), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/" + "/".join(str(p) for p in errors[0].absolute_path)
        return None, None, [Problem(MANIFEST, f"マニフェストの形式が正しくない（{where}: {errors[0].message[:200]}）",
                                    f"not a bundle manifest ({where}: {errors[0].message[:200]})")]
    if canonical_bytes(manifest) != raw:
        problems.append(Problem(MANIFEST, "正規形（署名された形）の JSON でない：書き換えられている",
                                "not in its canonical (signed) form: it was rewritten"))
    files: dict[str, dict[str, Any]] = manifest["files"]
    for name in (MANIFEST, SIGNATURE):
        if name in files:
            problems.append(Problem(name, "manifest の files に含まれてはならない", "must not be listed in files"))
    for name in sorted(files):
        data = members.get(name)
        if data is None:
            problems.append(Problem(name, "manifest にあるファイルがバンドルにない", "listed in the manifest, missing"))
        elif len(data) != files[name]["size"] or sha256_hex(data) != files[name]["sha256"]:
            problems.append(Problem(name, "SHA-256 またはサイズが manifest と一致しない（改ざん）",
                                    "sha256 or size differs from the manifest (tampered)"))
    for name in sorted(set(members) - set(files) - {MANIFEST, SIGNATURE}):
        problems.append(Problem(name, "manifest にないファイルがある", "not listed in the manifest (extra file)"))
    collector = registry.get(manifest["collector"])
    signature_raw = members.get(SIGNATURE)
    signature = decode_signature(signature_raw) if signature_raw is not None else None
    if signature_raw is None:
        problems.append(Problem(SIGNATURE, "署名ファイルがない", "signature is missing"))
    elif signature is None:
        problems.append(Problem(SIGNATURE, "署名の形式が正しくない（base64 の Ed25519 署名と改行のみ）",
                                "not a signature (base64 Ed25519 signature and one newline)"))
    if collector is None:
        problems.append(Problem(MANIFEST, f"収集者 {manifest['collector']!r} は登録簿 {registry.source} にない",
                                f"collector {manifest['collector']!r} is not in the registry {registry.source}"))
    elif signature is not None and not signing.signature_valid(collector.public_key, signature, raw):
        problems.append(Problem(f"{MANIFEST}, {SIGNATURE}",
                                f"署名が {registry.source} の {collector.name} の公開鍵で検証できない"
                                "（マニフェストか署名が改ざんされた、または別の鍵で署名された）",
                                f"the signature does not verify with the key {registry.source} holds for "
                                f"{collector.name} (manifest or signature changed, or signed with another key)"))
    return manifest, collector, problems


def _catalog(members: Mapping[str, bytes], problems: list[Problem]) -> tuple[dict[str, Requirement], str | None]:
    """Load the bundled requirements with the product's loader (in a private temporary directory) and compute the
    catalog digest as the audit did."""
    from hardening.audit import catalog_digest
    from hardening.core.catalog import load_catalog
    from hardening.core.errors import CatalogError

    files = {name.split("/", 1)[1]: data for name, data in members.items()
             if name.startswith("requirements/") and name.count("/") == 1}
    if not files:
        problems.append(Problem("requirements/", "要件スキーマがない", "no requirement schema in the bundle"))
        return {}, None
    with tempfile.TemporaryDirectory(prefix="hardening-bundle-") as folder:
        for name, data in files.items():
            (Path(folder) / name).write_bytes(data)
        digest = catalog_digest(Path(folder))
        try:
            catalog = load_catalog(Path(folder))
        except CatalogError as exc:
            name = "requirements/" + Path(exc.file).name
            problems.append(Problem(name, f"要件スキーマとして読めない（{exc.where}: {exc.message}）",
                                    f"not a valid requirement ({exc.where}: {exc.message})"))
            return {}, digest
    return catalog, digest


def _ledger(members: Mapping[str, bytes], report: Mapping[str, Any],
            problems: list[Problem]) -> list[Attestation]:
    """Check the excerpt (each entry's own hash; the run's audit entry names this report) and return the
    attestations it holds, as evaluation reads them."""
    from hardening.changes.ledger import entry_hash

    data = members.get(LEDGER)
    if data is None:
        problems.append(Problem(LEDGER, "台帳の抜粋がない", "the ledger excerpt is missing"))
        return []
    records: list[Attestation] = []
    audit_ok = False
    for number, line in enumerate(data.splitlines(), start=1):
        where = f"{LEDGER} line {number}"
        entry = _json(line, where, problems)
        if not isinstance(entry, dict):
            continue
        if entry.get("hash") != entry_hash(entry):
            problems.append(Problem(where, "台帳エントリのハッシュが一致しない（改ざん）",
                                    "entry hash mismatch (edited)"))
            continue
        subject = entry.get("subject") or {}
        if entry.get("action") == "audit" and subject.get("run_id") == report["run"]["id"]:
            if subject.get("report_digest") != canonical_digest(report):
                problems.append(Problem(where, "監査エントリの report_digest が report.json と一致しない",
                                        "the audit entry's report_digest is not that of report.json"))
            else:
                audit_ok = True
        elif entry.get("action") == "attest":
            try:
                records.append(Attestation(
                    ledger_seq=int(entry["seq"]), host=subject["host"], requirement=subject["requirement"],
                    attester=subject["attester"], attested_at=subject["attested_at"],
                    evidence_sha256=subject["evidence_sha256"], evidence_name=subject["evidence_name"],
                    evidence_bytes=subject["evidence_bytes"], expires=dt.date.fromisoformat(subject["expires"]),
                    statement=subject.get("statement", "")))
            except (KeyError, TypeError, ValueError):
                problems.append(Problem(where, "証明（attest）エントリとして読めない", "not an attestation entry"))
    if not audit_ok:
        problems.append(Problem(LEDGER, f"実行 {report['run']['id']} の監査エントリがない",
                                f"no audit entry of run {report['run']['id']} naming this report"))
    return records


def _host(entry: Mapping[str, Any], findings: list[dict[str, Any]], catalog: Mapping[str, Requirement],
          problems: list[Problem]) -> Host:
    """The host as evaluation sees it, from the report's host entry, with the parameter values the findings
    recorded (a per-role parameter was recorded resolved: it is given back as the base role's list)."""
    parameters: dict[str, Any] = {}
    for finding in findings:
        requirement = catalog.get(finding["requirement"])
        for name, value in finding["parameters"].items():
            spec = requirement.parameters.get(name) if requirement is not None else None
            given = {"base": value} if spec is not None and spec.per_role else value
            if name in parameters and parameters[name] != given:
                problems.append(Problem(REPORT, f"{entry['name']}: パラメータ {name} の値が所見ごとに異なる",
                                        f"{entry['name']}: parameter {name} differs between findings"))
            parameters[name] = given
    system = SystemInfo(entry["system"], entry["security_officer"], tuple(entry["security_managers"]))
    return Host(name=entry["name"], hostname=entry["hostname"], port=None, platform=entry["platform"],
                device_class=entry["device_class"], zone=entry["zone"], classification=dict(entry["classification"]),
                system=system, roles=tuple(entry["roles"]), groups=(), credentials="", parameters=parameters)


def rederive(report: Mapping[str, Any], facts: Mapping[str, dict[str, Any]], catalog: Mapping[str, Requirement],
             attestations: list[Attestation]) -> list[Problem]:
    """Evaluate every host of the report again from `facts` with the product's evaluate_host, and name each
    finding, host status or summary count that does not follow."""
    problems: list[Problem] = []
    missing = [r["id"] for r in report["requirements"] if r["id"] not in catalog]
    if missing:
        return [Problem("requirements/", f"報告書の要件がバンドルにない: {', '.join(missing)}",
                        f"requirements of the report not in the bundle: {', '.join(missing)}")]
    requirements = [catalog[r["id"]] for r in report["requirements"]]
    today = dt.datetime.fromisoformat(report["run"]["started_at"]).date()
    by_host: dict[str, list[dict[str, Any]]] = {h["name"]: [] for h in report["hosts"]}
    for finding in report["findings"]:
        by_host.setdefault(finding["host"], []).append(finding)
    records = Attestations(tuple(attestations), source=LEDGER)
    for index, entry in enumerate(report["hosts"]):
        name = entry["name"]
        recorded = {f["requirement"]: f for f in by_host.get(name, [])}
        host = _host(entry, list(recorded.values()), catalog, problems)
        waivers = [Waiver(f["waiver"]["id"], (name,), (f["requirement"],), f["waiver"]["reason"],
                          f["waiver"]["approver"], dt.date.fromisoformat(f["waiver"]["expires"]))
                   for f in recorded.values() if f.get("waiver")]
        document = facts.get(name) if entry["facts_file"] is not None else None
        result = CollectResult(name, document, entry["error"], entry["error_kind"], entry["duration_s"])
        derived = evaluate_host(host, result, requirements, {}, waivers, today, records)
        for finding in derived:
            before = recorded.pop(finding.requirement, None)
            label = f"{REPORT}: {name} × {finding.requirement}"
            if before is None:
                problems.append(Problem(label, "所見がない（削除された）", "finding missing (removed)"))
                continue
            got = (finding.evaluated_status.value, finding.status.value)
            want = (before["evaluated_status"], before["status"])
            if got != want:
                problems.append(Problem(
                    label, f"判定が事実から導けない: 記録 {want[0]}/{want[1]}、再判定 {got[0]}/{got[1]}",
                    f"verdict does not follow from the facts: recorded {want[0]}/{want[1]}, "
                    f"derived {got[0]}/{got[1]}"))
            elif finding.parameters != before["parameters"]:
                problems.append(Problem(label, "記録されたパラメータを再現できない",
                                        "the recorded parameters do not resolve back"))
        for requirement in recorded:
            problems.append(Problem(f"{REPORT}: {name} × {requirement}", "報告書の要件にない所見",
                                    "finding of a requirement the report does not list"))
        status = host_status(document is not None, (f.status for f in derived))
        if status != entry["status"]:
            problems.append(Problem(f"{REPORT}: /hosts/{index}/status",
                                    f"ホスト {name} の状態 {entry['status']} は所見から導けない（{status}）",
                                    f"host {name} status {entry['status']} does not follow ({status})"))
    summary = subset_report(dict(report), {h["name"] for h in report["hosts"]})["summary"]
    if summary != report["summary"]:
        problems.append(Problem(f"{REPORT}: /summary", "集計が所見と一致しない",
                                "the counts do not match the findings"))
    return problems


def verify_members(members: Mapping[str, bytes], registry: Collectors,
                   bundle_sha256: str) -> tuple[Verified | None, list[Problem]]:
    """Every check on the members of a bundle; (Verified, []) when it holds, else (None, problems)."""
    manifest, collector, problems = check_manifest(members, registry)
    if problems or manifest is None or collector is None:
        return None, problems  # nothing inside is evidence until hashes and signature hold
    report = _json(members[REPORT], REPORT, problems) if REPORT in members else None
    if REPORT not in members:
        problems.append(Problem(REPORT, "report.json がない", "report.json is missing"))
    if not isinstance(report, dict):
        return None, problems
    try:
        validate_report(report)
    except ReportError as exc:
        return None, [*problems, Problem(REPORT, f"報告書として正しくない（{exc}）", f"not a valid report ({exc})")]
    if report["run"]["id"] != manifest["run_id"]:
        problems.append(Problem(REPORT, "実行 ID が manifest と異なる", "run id differs from the manifest's"))
    if sorted(h["name"] for h in report["hosts"]) != manifest["hosts"] \
            or sorted({h["zone"] for h in report["hosts"]}) != manifest["zones"]:
        problems.append(Problem(REPORT, "ホストまたはゾーンが manifest と異なる",
                                "hosts or zones differ from the manifest"))
    for index, host in enumerate(report["hosts"]):
        if not collector.may_report(host["zone"]):
            problems.append(Problem(f"{REPORT}: /hosts/{index}/zone",
                                    f"ホスト {host['name']} のゾーン {host['zone']} は収集者 {collector.name} の担当外"
                                    f"（担当: {', '.join(collector.zones)}）",
                                    f"host {host['name']} is in zone {host['zone']}, outside collector "
                                    f"{collector.name}'s zones ({', '.join(collector.zones)})"))
    facts: dict[str, dict[str, Any]] = {}
    facts_schema = _json(members[FACTS_SCHEMA], FACTS_SCHEMA, problems) if FACTS_SCHEMA in members else None
    if FACTS_SCHEMA not in members:
        problems.append(Problem(FACTS_SCHEMA, "事実スキーマがない", "the facts schema is missing"))
    facts_validator = Draft202012Validator(facts_schema) if isinstance(facts_schema, dict) else None
    for host in report["hosts"]:
        name = host["facts_file"]
        if name is None:
            continue
        data = members.get(name)
        if data is None:
            problems.append(Problem(name, "報告書にある事実ファイルがない", "facts file of the report is missing"))
            continue
        if "sha256:" + hashlib.sha256(data).hexdigest() != host["facts_digest"]:
            problems.append(Problem(name, "事実ファイルが報告書の facts_digest と一致しない",
                                    "facts file does not match the report's facts_digest"))
            continue
        document = _json(data, name, problems)
        if not isinstance(document, dict):
            continue
        if facts_validator is not None:
            error = next(iter(facts_validator.iter_errors(document)), None)
            if error is not None:
                where = "/" + "/".join(str(p) for p in error.absolute_path)
                problems.append(Problem(name, f"事実スキーマに合わない（{where}）",
                                        f"not valid against the facts schema ({where}: {error.message[:200]})"))
        facts[host["name"]] = document
    catalog, digest = _catalog(members, problems)
    if digest is not None and digest != report["run"]["catalog_digest"]:
        problems.append(Problem("requirements/", "要件カタログのダイジェストが報告書の catalog_digest と異なる",
                                "the bundled catalog's digest is not the report's catalog_digest"))
    attestations = _ledger(members, report, problems)
    if catalog:
        expected = filled_members(report, catalog)
        for name in sorted(set(expected) | {n for n in members if n.startswith("filled/")}):
            if members.get(name) != expected.get(name):
                problems.append(Problem(name, "パラメータ適用済みスキーマが要件と所見から導けない",
                                        "filled schema does not follow from the requirement and the finding"))
        problems += rederive(report, facts, catalog, attestations)
    if problems:
        return None, problems
    return Verified(manifest, report, collector, bundle_sha256), []


def verify_bundle(bundle: str | os.PathLike[str], registry: Collectors) -> tuple[Verified | None, list[Problem]]:
    """Verify the bundle file; (Verified, []) or (None, problems: one per reason, naming the file)."""
    path = Path(bundle)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem(str(path), f"読めない（{exc.strerror}）", f"cannot read ({exc.strerror})")]
    try:
        members = read_members(data)
    except UnsafeBundle as exc:
        return None, exc.problems
    return verify_members(members, registry, hashlib.sha256(data).hexdigest())
