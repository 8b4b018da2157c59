"""Evidence bundles: one run's evidence in one signed archive a zone collector hands to the auditor.

Layout (an uncompressed POSIX tar, deterministic: names sorted, mtime 0, owner root/0, mode 0644, regular files only):

- ``manifest.json``: canonical JSON (sorted keys, no spaces, UTF-8): format, format_version, collector, run_id,
  created_at, the collector's strictly increasing ``sequence``, the zones and hosts reported, the catalog digest,
  and ``files``: every other member with its sha256 and size.
- ``manifest.sig``: base64 of the Ed25519 signature of the exact bytes of manifest.json, then a newline.
- ``report.json``: the run's report exactly as written.
- ``facts/<host>.json``: each host's facts exactly as written (canonical JSON; sha256 = the report's facts_digest).
- ``requirements/<ID>.json``: the requirement catalog the run used (every file, so its digest recomputes to the
  report's run.catalog_digest).
- ``schemas/facts.schema.json``: the facts schema.
- ``filled/<ID>.<digest>.schema.json`` + ``filled/index.json``: for each pass/fail finding, the requirement schema
  with the finding's parameters filled in, wrapped to validate a whole facts file, so a stock JSON Schema validator
  re-checks a verdict (docs/evidence.md).
- ``ledger.jsonl``: the ledger excerpt: the run's ``audit`` entry and the ``attest`` entries its findings used,
  each line exactly as in the ledger.

Nothing is extracted to disk but the requirement files, into a private temporary directory under names checked
here, to load them with the product's catalog loader.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import re
import tarfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hardening.core import signing
from hardening.core.catalog import load_catalog, substitute
from hardening.core.errors import HardeningError, OutputError
from hardening.core.models import Requirement
from hardening.core.schemas import CUSTOM_KEYWORDS, DRAFT_2020_12, schemas_dir
from hardening.core.secrets import REDACTOR
from hardening.report.build import canonical_json
from hardening.report.validate import ReportError, validate_report

FORMAT = "hardening-evidence-bundle"
FORMAT_VERSION = "1.0"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
REPORT = "report.json"
LEDGER = "ledger.jsonl"
FACTS_SCHEMA = "schemas/facts.schema.json"
FILLED_INDEX = "filled/index.json"
# Limits of what verify reads (a bundle is untrusted input until it verifies).
MAX_MEMBERS = 500_000
MAX_MEMBER_BYTES = 256 * 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
_MEMBER = re.compile(r"^[A-Za-z0-9_.@+=\-]+(/[A-Za-z0-9_.@+=\-\u0080-\uffff]+)*$")


class BundleError(HardeningError):
    """A bundle cannot be made (bad run directory, catalog changed since the run, ledger without the run)."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_bytes(document: Any) -> bytes:
    return canonical_json(document).encode("utf-8")


# -- the filled schemas a stock validator can use ------------------------------------------------------------------


def stock_schema(requirement: Requirement, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The requirement schema with `parameters` filled in (catalog.substitute, as evaluation does), wrapped so that
    it validates a whole facts file (the requirement is written over its `facts` member): a stock Draft 2020-12
    validator gives `valid` for a pass and `invalid` for a fail (bar the project's own keywords, see
    `uses_project_keywords`). `$defs` move to the root, where the requirement's `#/$defs/…` references point."""
    body = substitute(requirement.schema, dict(parameters))
    inner = {key: value for key, value in body.items() if key not in ("$schema", "$id", "$defs")}
    wrapper: dict[str, Any] = {
        "$schema": DRAFT_2020_12,
        "title": f"{requirement.id} ({requirement.clause}) with the finding's parameters filled in",
        "type": "object",
        "required": ["facts"],
        "properties": {"facts": inner},
    }
    if "$defs" in body:
        wrapper["$defs"] = body["$defs"]
    return wrapper


def uses_project_keywords(schema: Any) -> list[str]:
    """The project's own keywords (x-within-networks, x-version-at-least) a schema uses: a stock validator ignores
    them, so its `valid` is not the whole verdict."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.update(key for key in node if key in CUSTOM_KEYWORDS)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    return sorted(found)


def filled_members(report: Mapping[str, Any], catalog: Mapping[str, Requirement]) -> dict[str, bytes]:
    """filled/<ID>.<digest>.schema.json for every pass or fail finding (one file per requirement and parameter
    values) and filled/index.json: {host: {requirement: {"schema": member, "facts": facts member, "expect":
    "valid"|"invalid", "project_keywords": [...]}}}."""
    members: dict[str, bytes] = {}
    index: dict[str, dict[str, Any]] = {}
    facts_of = {h["name"]: h["facts_file"] for h in report["hosts"]}
    for finding in report["findings"]:
        if finding["evaluated_status"] not in ("pass", "fail") or facts_of.get(finding["host"]) is None:
            continue
        requirement = catalog[finding["requirement"]]
        schema = stock_schema(requirement, finding["parameters"])
        data = json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"
        name = f"filled/{requirement.id}.{sha256_hex(data)[:16]}.schema.json"
        members[name] = data
        index.setdefault(finding["host"], {})[finding["requirement"]] = {
            "schema": name, "facts": facts_of[finding["host"]],
            "expect": "valid" if finding["evaluated_status"] == "pass" else "invalid",
            "project_keywords": uses_project_keywords(schema),
        }
    members[FILLED_INDEX] = json.dumps(index, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"
    return members


# -- the sequence state of a collector -----------------------------------------------------------------------------


def state_path(key_path: str | os.PathLike[str]) -> Path:
    """Where a collector's last sequence is kept: beside its key, ``<key>.sequence``."""
    return Path(f"{os.fspath(key_path)}.sequence")


def next_sequence(key_path: str | os.PathLike[str], collector: str) -> int:
    """Take the collector's next sequence number (last + 1) and record it, under an exclusive lock: two exports
    never share a number, and a number is never reused (a failed export leaves a gap, which is harmless)."""
    path = state_path(key_path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = b""
        while chunk := os.read(fd, 65536):
            raw += chunk
        last = 0
        if raw.strip():
            try:
                state = json.loads(raw)
                last = int(state["sequence"])
                if state.get("collector") not in (None, collector):
                    raise BundleError(f"{path}: the sequence of collector {state.get('collector')!r}, not of "
                                      f"{collector!r}: give the collector's own key")
            except (ValueError, KeyError, TypeError):
                raise BundleError(f"{path}: not a sequence state file (JSON with `sequence`); refusing to guess "
                                  "the next sequence") from None
        sequence = last + 1
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"collector": collector, "sequence": sequence}).encode("utf-8") + b"\n")
        os.fsync(fd)
        return sequence
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes) -> None:
    """Write `data` through a temporary file and a rename (no half-written bundle), mode 0644."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.chmod(0o644)
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OutputError(str(path), exc.strerror or type(exc).__name__) from None


# -- export -------------------------------------------------------------------------------------------------------


def _read_run(run_dir: Path) -> tuple[bytes, dict[str, Any]]:
    path = run_dir / REPORT
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"{path}: cannot read the run's report ({exc.strerror or type(exc).__name__})") from None
    try:
        report = json.loads(data.decode("utf-8"))
        validate_report(report)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path}: not a JSON report ({exc})") from None
    except ReportError as exc:
        raise BundleError(f"{path}: not a valid report: {exc}") from None
    return data, report


def catalog_members(catalog_dir: Path) -> tuple[dict[str, bytes], str]:
    """requirements/<file> for every *.json of the catalog, and its digest as audit.catalog_digest computes it."""
    from hardening.audit import catalog_digest

    members = {f"requirements/{p.name}": p.read_bytes() for p in sorted(catalog_dir.glob("*.json"))}
    return members, catalog_digest(catalog_dir)


def ledger_excerpt(ledger_path: Path, run_id: str, attestation_seqs: set[int]) -> bytes:
    """The lines of the run's ``audit`` entry and of the ``attest`` entries with those seqs, bytes exactly as in the
    ledger, after the whole chain verified (Ledger.verify). Raises BundleError when the chain is broken or the run's
    audit entry or one of the attestations is not there."""
    from hardening.changes.ledger import Ledger

    if not ledger_path.is_file():
        raise BundleError(f"{ledger_path}: ledger not found (give --ledger: the ledger the audit wrote to)")
    checked = Ledger(ledger_path).verify()
    if checked.problems:
        first = checked.problems[0]
        raise BundleError(f"{ledger_path}: the ledger does not verify ({first}); no excerpt of a broken chain")
    lines: list[bytes] = []
    audit_found = False
    seen: set[int] = set()
    with ledger_path.open("rb") as handle:
        for raw in handle:
            entry = json.loads(raw)
            subject = entry.get("subject") or {}
            if entry["action"] == "audit" and subject.get("run_id") == run_id:
                audit_found = True
                lines.append(raw)
            elif entry["action"] == "attest" and entry["seq"] in attestation_seqs:
                seen.add(entry["seq"])
                lines.append(raw)
    if not audit_found:
        raise BundleError(f"{ledger_path}: no audit entry for run {run_id} (give --ledger: the ledger the audit "
                          "wrote to)")
    missing = sorted(attestation_seqs - seen)
    if missing:
        raise BundleError(f"{ledger_path}: the attestations the run used are not there (seq {missing})")
    return b"".join(lines)


def _tar(members: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            archive.addfile(info, io.BytesIO(members[name]))
    return buffer.getvalue()


def build_bundle(
    run_dir: str | os.PathLike[str],
    key: Ed25519PrivateKey,
    collector: str,
    sequence: int,
    *,
    ledger_path: str | os.PathLike[str],
    catalog_dir: str | os.PathLike[str] | None = None,
    now: dt.datetime | None = None,
) -> bytes:
    """The bundle of the run in `run_dir` (report.json + facts/), signed with `key` as `collector`: tar bytes.
    Raises BundleError for a run directory that does not hold what its report says, a catalog other than the one
    the run used, or a ledger without the run."""
    run = Path(run_dir)
    report_bytes, report = _read_run(run)
    run_id = report["run"]["id"]
    members: dict[str, bytes] = {REPORT: report_bytes}
    for index, host in enumerate(report["hosts"]):
        if host["facts_file"] is None:
            continue
        relative = PurePosixPath(host["facts_file"])
        if relative.is_absolute() or ".." in relative.parts or relative.parts[0] != "facts" or len(relative.parts) != 2:
            raise BundleError(f"{run / REPORT}: /hosts/{index}/facts_file: unsafe name {host['facts_file']!r}")
        try:
            data = (run / relative).read_bytes()
        except OSError as exc:
            raise BundleError(f"{run / relative}: cannot read ({exc.strerror or type(exc).__name__})") from None
        if "sha256:" + sha256_hex(data) != host["facts_digest"]:
            raise BundleError(f"{run / relative}: does not match the report's facts_digest of {host['name']} "
                              "(the run directory changed since the audit)")
        members[str(relative)] = data
    catalog_path = Path(catalog_dir) if catalog_dir is not None else schemas_dir() / "requirements"
    requirement_files, digest = catalog_members(catalog_path)
    if digest != report["run"]["catalog_digest"]:
        raise BundleError(f"{catalog_path}: catalog digest {digest} is not the run's {report['run']['catalog_digest']}"
                          " (the catalog changed since the run: give --catalog the catalog the run used)")
    members.update(requirement_files)
    catalog = load_catalog(catalog_path)
    missing = sorted({r["id"] for r in report["requirements"]} - set(catalog))
    if missing:
        raise BundleError(f"{catalog_path}: requirements of the run not in the catalog: {', '.join(missing)}")
    members.update(filled_members(report, catalog))
    members[FACTS_SCHEMA] = (schemas_dir() / "facts.schema.json").read_bytes()
    seqs = {f["attestation"]["ledger_seq"] for f in report["findings"] if f.get("attestation")}
    members[LEDGER] = ledger_excerpt(Path(ledger_path), run_id, seqs)
    for name, data in members.items():
        # Facts and reports are scrubbed when written; a bundle leaves the zone, so check once more.
        text = data.decode("utf-8", "replace")
        if REDACTOR.scrub(text) != text:
            raise BundleError(f"{name}: holds a registered secret; refusing to bundle it")
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "collector": collector,
        "run_id": run_id,
        "created_at": moment.isoformat(timespec="seconds"),
        "sequence": sequence,
        "zones": sorted({h["zone"] for h in report["hosts"]}),
        "hosts": sorted(h["name"] for h in report["hosts"]),
        "catalog_digest": digest,
        "files": {name: {"sha256": sha256_hex(data), "size": len(data)} for name, data in sorted(members.items())},
    }
    manifest_bytes = canonical_bytes(manifest)
    members[MANIFEST] = manifest_bytes
    members[SIGNATURE] = signing.sign(key, manifest_bytes).encode("ascii") + b"\n"
    return _tar(members)


def export_run(
    run_dir: str | os.PathLike[str],
    key_path: str | os.PathLike[str],
    collector: str,
    out: str | os.PathLike[str],
    *,
    ledger_path: str | os.PathLike[str],
    catalog_dir: str | os.PathLike[str] | None = None,
    passphrase: str | bytes | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Write the bundle of a run to `out` (0644: it holds no secret); return its manifest."""
    from hardening.evidence.collectors import load_collector_key

    key = load_collector_key(key_path, passphrase)
    # Check what can be checked before a sequence number is taken.
    _read_run(Path(run_dir))
    sequence = next_sequence(key_path, collector)
    data = build_bundle(run_dir, key, collector, sequence, ledger_path=ledger_path, catalog_dir=catalog_dir, now=now)
    write_bytes(Path(out), data)
    manifest: dict[str, Any] = json.loads(read_members(data)[MANIFEST])
    return manifest


# -- reading ------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Problem:
    """One reason a bundle is refused: the member (or the bundle) it is about, in Japanese and English."""

    file: str
    ja: str
    en: str

    def line(self) -> str:
        return f"{self.file}: {self.ja} ({self.en})"


class UnsafeBundle(HardeningError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.line() for p in problems))


def _safe_name(name: str) -> str | None:
    """Why a member name is refused, or None."""
    path = PurePosixPath(name)
    if not name or name.startswith("/") or "\\" in name or "\x00" in name:
        return "absolute or odd path"
    if any(part in ("..", ".", "") for part in name.split("/")):
        return "path with '..' or '.' or an empty part"
    if len(name) > 1024 or len(path.parts) > 8:
        return "path too long or too deep"
    return None


def read_members(data: bytes) -> dict[str, bytes]:
    """The members of a bundle (its bytes) by name, read into memory with the limits above; raises
    UnsafeBundle naming each member refused (absolute, `..`, a link or device, a duplicate, too large)."""
    problems: list[Problem] = []
    members: dict[str, bytes] = {}
    total = 0
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:")  # noqa: SIM115 - closed by the `with` below
    except (tarfile.TarError, OSError) as exc:
        raise UnsafeBundle([Problem("bundle", f"tar アーカイブとして読めない（{exc}）",
                                    f"not a readable tar archive ({exc})")]) from None
    with archive:
        try:
            for count, info in enumerate(archive):
                if count >= MAX_MEMBERS:
                    problems.append(Problem("bundle", "メンバー数が上限を超える", f"more than {MAX_MEMBERS} members"))
                    break
                name = info.name
                reason = _safe_name(name)
                if reason is not None:
                    problems.append(Problem(name, f"危険なパス名（{reason}）", f"unsafe member name ({reason})"))
                    continue
                if not info.isreg():
                    problems.append(Problem(name, "通常ファイルでない（リンク・ディレクトリ・デバイス）",
                                            "not a regular file (link, directory or device)"))
                    continue
                if name in members:
                    problems.append(Problem(name, "同名のメンバーが重複している", "member given twice"))
                    continue
                if info.size > MAX_MEMBER_BYTES or total + info.size > MAX_TOTAL_BYTES:
                    problems.append(Problem(name, "サイズが上限を超える", "member too large"))
                    continue
                handle = archive.extractfile(info)
                content = handle.read() if handle is not None else b""
                total += len(content)
                members[name] = content
        except tarfile.TarError as exc:
            problems.append(Problem("bundle", f"tar アーカイブが壊れている（{exc}）", f"corrupt tar archive ({exc})"))
    if problems:
        raise UnsafeBundle(problems)
    return members


def decode_signature(data: bytes) -> str | None:
    """The base64 signature text of manifest.sig when the file is exactly `base64 + newline`, else None."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    if not text.endswith("\n") or text.count("\n") != 1:
        return None
    body = text[:-1]
    try:
        raw = base64.b64decode(body, validate=True)
    except ValueError:
        return None
    return body if base64.b64encode(raw).decode("ascii") == body and len(raw) == 64 else None
