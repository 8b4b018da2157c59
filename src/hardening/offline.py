"""`hardening audit --from DIR`: the facts of each host from saved data, without contacting anything.

Layout of DIR (one entry per inventory host; scope filters apply as in a live audit):

- ``DIR/<host>.json``: a saved facts document, as an audit writes it to ``<report>/facts/<host>.json``.
  It must parse (NaN/Infinity refused), validate against facts.schema.json and be stamped for this very
  host (name, platform, device class). When DIR is a report's ``facts/`` directory, the ``report.json``
  beside it gives each file's ``facts_digest``: a file whose sha256 differs was altered and is an error.
- ``DIR/<host>/``: a saved capture the host's platform parses itself (``OfflineParser.parse``; core
  stamps and validates the result); for Linux, a saved file tree ``DIR/<host>/root/`` (a copy of "/").

A host in scope with neither is an error ("no saved facts"); both at once is an error (ambiguous). An
entry that names no inventory host is reported as a warning. Every source used is recorded with its
sha256 (a file tree: a digest over every path and file content under it) in the report's ``run.offline``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardening.core.errors import CollectionError, HardeningError, InputError, SavedFactsError
from hardening.core.facts import check_saved, parse_document, stamp
from hardening.core.jsonio import NonFiniteNumber, loads_finite
from hardening.core.models import CollectResult, Host
from hardening.core.platform import OfflineParser, get_platform
from hardening.core.secrets import REDACTOR

MAX_FACTS_BYTES = 64 * 1024 * 1024


@dataclass
class OfflineSet:
    """What DIR gave: a result per host in scope, the sources used, and warnings for the operator."""

    directory: Path
    results: dict[str, CollectResult] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The report's run.offline."""
        return {"from": str(self.directory), "sources": self.sources, "warnings": self.warnings}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def tree_digest(root: Path) -> tuple[str, int]:
    """("sha256:…", number of files) over every entry under `root` in sorted order: its relative path, its
    kind and its content (a symlink's target, never followed). Any changed, added or removed file changes it."""
    digest = hashlib.sha256()
    count = 0
    for current, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        here = Path(current)
        for name in sorted(files + [d for d in dirs if (here / d).is_symlink()]):
            path = here / name
            relative = path.relative_to(root).as_posix().encode("utf-8", "surrogateescape")
            if path.is_symlink():
                target = str(path.readlink()).encode("utf-8", "surrogateescape")
                digest.update(b"L\0" + relative + b"\0" + target + b"\0")
            elif path.is_file():
                digest.update(b"F\0" + relative + b"\0" + bytes.fromhex(sha256_file(path)[7:]) + b"\0")
            else:
                continue  # sockets, fifos, device nodes: no content to vouch for
            count += 1
    return "sha256:" + digest.hexdigest(), count


def _report_digests(directory: Path) -> tuple[Path | None, dict[str, str]]:
    """When DIR is a report's facts/ directory: (report.json, {host: facts_digest}) from the report beside it."""
    report_path = directory.parent / "report.json"
    if not report_path.is_file():
        return None, {}
    try:
        report = loads_finite(report_path.read_bytes())
    except (UnicodeDecodeError, ValueError, NonFiniteNumber) as exc:
        raise InputError(str(report_path), "/", f"the report beside the saved facts is not JSON "
                                                f"({type(exc).__name__})") from None
    hosts = report.get("hosts") if isinstance(report, dict) else None
    if not isinstance(hosts, list):
        raise InputError(str(report_path), "/hosts", "the report beside the saved facts has no hosts list")
    digests: dict[str, str] = {}
    for index, entry in enumerate(hosts):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InputError(str(report_path), f"/hosts/{index}", "host entry without a name")
        if isinstance(entry.get("facts_digest"), str):
            digests[entry["name"]] = entry["facts_digest"]
    return report_path, digests


def _saved_facts(host: Host, path: Path, expected_digest: str | None, report: Path | None) -> tuple[
        dict[str, Any], dict[str, Any]]:
    what = str(path)
    if path.is_symlink() or not path.is_file():
        raise SavedFactsError(host.name, f"{what}: not a regular file")
    if path.stat().st_size > MAX_FACTS_BYTES:
        raise SavedFactsError(host.name, f"{what}: larger than {MAX_FACTS_BYTES} bytes")
    data = path.read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    source: dict[str, Any] = {"host": host.name, "kind": "facts", "path": what, "sha256": digest}
    if report is not None:
        if expected_digest is None:
            raise SavedFactsError(host.name, f"{what}: {report} records no facts for this host")
        if digest != expected_digest:
            raise SavedFactsError(host.name, f"{what}: sha256 {digest} differs from the facts_digest "
                                             f"{expected_digest} recorded in {report} (the file was altered)")
        source["report_digest_checked"] = True
    document = parse_document(host.name, data, what, SavedFactsError)
    check_saved(document, host, what, SavedFactsError)
    return document, source


def parse_capture(host: Host, path: Path) -> dict[str, Any]:
    """The facts of `host` from its saved capture directory `path` (DIR/<host>/): the platform's
    OfflineParser.parse, then stamped for this inventory host and validated by core (hardening.core.facts).
    The one entry point for audit --from and the platform conformance suite (tests/platforms/)."""
    platform = get_platform(host.platform)
    if not isinstance(platform, OfflineParser):
        raise SavedFactsError(host.name, f"{path}: platform {host.platform} cannot parse saved captures "
                                         "(give a saved facts file <host>.json instead)")
    try:
        document = platform.parse(path)
    except CollectionError as exc:  # the platform does not know the inventory name: name the host here
        raise SavedFactsError(host.name, exc.message) from None
    return stamp(document, host, host.platform, f"facts parsed from {path}", SavedFactsError)


def _saved_capture(host: Host, path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    digest, count = tree_digest(path)
    document = parse_capture(host, path)
    return document, {"host": host.name, "kind": "capture", "path": str(path), "sha256": digest,
                      "files": count}


def _short(name: str) -> str:
    return name.split(".", 1)[0].lower()


def load_offline(directory: Path, hosts: list[Host], inventory_hosts: set[str]) -> OfflineSet:
    """A CollectResult per host of `hosts` from DIR (errors included; never raises for one host's data).

    Raises InputError if DIR itself is not a readable directory or the report beside it is unreadable."""
    directory = Path(directory)
    if (directory / "report.json").is_file() and (directory / "facts").is_dir():
        directory = directory / "facts"  # a report directory: its facts/
    if not directory.is_dir():
        raise InputError(str(directory), "--from", "not a directory of saved facts")
    found = OfflineSet(directory)
    report, digests = _report_digests(directory)
    entries = sorted(p.name for p in directory.iterdir())
    names = {Path(e).stem if e.endswith(".json") else e for e in entries}
    for entry in entries:
        name = entry[:-5] if entry.endswith(".json") else entry
        if name not in inventory_hosts and not entry.startswith("."):
            found.warnings.append(f"{directory / entry}: no host {name!r} in the inventory (ignored)")
    for host in hosts:
        facts_file, capture = directory / f"{host.name}.json", directory / host.name
        try:
            if host.name not in names:
                raise SavedFactsError(host.name, f"no saved facts ({facts_file} or {capture}/)")
            if facts_file.exists() and capture.exists():
                raise SavedFactsError(host.name, f"both {facts_file} and {capture}/ are present: keep one")
            if facts_file.exists() or facts_file.is_symlink():
                document, source = _saved_facts(host, facts_file, digests.get(host.name), report)
            else:
                document, source = _saved_capture(host, capture)
                seen = str(document.get("facts", {}).get("os", {}).get("hostname") or "")
                if seen and _short(seen) not in {_short(host.name), _short(host.hostname)}:
                    found.warnings.append(f"{capture}: the saved system calls itself {seen!r}, not {host.name!r} "
                                          "(is this the right host's copy?)")
            found.sources.append(source)
            found.results[host.name] = CollectResult(host.name, document, None, None, 0.0)
        except CollectionError as exc:
            found.results[host.name] = CollectResult(host.name, None, REDACTOR.scrub(exc.message),
                                                     type(exc).__name__, 0.0)
        except (HardeningError, OSError) as exc:  # e.g. a file that cannot be read: name it
            where = facts_file if facts_file.exists() or facts_file.is_symlink() else capture
            found.results[host.name] = CollectResult(host.name, None, REDACTOR.scrub(f"{where}: {exc}")[:500],
                                                     "SavedFactsError", 0.0)
        except Exception as exc:  # fail closed: a bug while reading one host's data is that host's error
            found.results[host.name] = CollectResult(
                host.name, None, REDACTOR.scrub(f"{type(exc).__name__}: {exc}")[:500], "InternalError", 0.0)
    return found
