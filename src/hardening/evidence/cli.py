"""The commands of evidence bundles: `hardening export`, `hardening verify`, `hardening import` (hardening.cli adds
them). Output is Japanese first, one line per problem; exit 0 when it holds, 1 when refused or on bad input."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from hardening.core.errors import HardeningError
from hardening.core.text import terminal_safe


def _say(text: str, *, err: bool = False) -> None:
    print(terminal_safe(text), file=sys.stderr if err else sys.stdout)


def add_parsers(sub: Any) -> None:
    """Add export, verify and import to the `hardening` subcommands."""
    export = sub.add_parser("export", help="write a run's signed evidence bundle (facts, requirement schemas, report, "
                            "ledger excerpt, signed manifest)")
    export.add_argument("run", help="a report directory (reports/latest, reports/<stamp>-<id>) or a history ref")
    export.add_argument("--key", type=Path, required=True, help="the collector's Ed25519 private key (0600)")
    export.add_argument("--collector", default=None, help="the collector's name in collectors.yaml (default: the "
                        "key file's name without .key)")
    export.add_argument("--out", "-o", type=Path, default=None,
                        help="bundle file (default: <collector>-<sequence>-<run id>.tar in the current directory)")
    export.add_argument("--ledger", type=Path, default=None, help="the ledger the audit wrote to "
                        "(default: $HARDENING_LEDGER, else /var/lib/hardening/ledger.jsonl)")
    export.add_argument("--catalog", type=Path, default=None, help="the requirement catalog the run used "
                        "(default: the project's schemas/requirements)")
    export.add_argument("--collectors", type=Path, default=None, help="collector registry to check the key against "
                        "(default: $HARDENING_COLLECTORS, else inventory/collectors.yaml)")
    export.add_argument("--history", default=None, help="history location, to resolve a history ref")

    verify = sub.add_parser("verify", help="verify an evidence bundle: hashes, signature, and every verdict "
                            "re-derived from the bundle alone")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--collectors", type=Path, default=None,
                        help="trusted collector registry (default: $HARDENING_COLLECTORS, else "
                        "inventory/collectors.yaml)")

    imp = sub.add_parser("import", help="verify an evidence bundle and add its run to the history "
                         "(refuses a replay and hosts outside the collector's zones)")
    imp.add_argument("bundle", type=Path)
    imp.add_argument("--history", default=None, help="history location (default: $HARDENING_HISTORY)")
    imp.add_argument("--collectors", type=Path, default=None)


def _open_history(location: str | None) -> Any:
    from hardening.history import open_history

    return open_history(location)


def _run_dir(args: argparse.Namespace) -> Path:
    """RUN as a report directory, else a history ref resolved to the run's out_dir."""
    given = Path(args.run)
    if given.is_dir():
        return given
    history = _open_history(args.history)
    run_id = history.resolve(args.run)
    for run in history.runs():
        if run.get("id") == run_id:
            if not run.get("out_dir"):
                raise HardeningError(f"{args.run}: run {run_id} has no report directory recorded in the history")
            return Path(run["out_dir"])
    raise HardeningError(f"{args.run}: run {run_id} not found in the history")


def cmd_export(args: argparse.Namespace) -> int:
    from hardening.core.signing import raw_public_key
    from hardening.evidence.bundle import export_run
    from hardening.evidence.collectors import CollectorRegistryError, load_collector_key, load_collectors

    collector = args.collector or args.key.name.removesuffix(".key")
    passphrase = os.environ.get("HARDENING_COLLECTOR_PASSPHRASE") or None
    key = load_collector_key(args.key, passphrase)
    try:
        registry = load_collectors(args.collectors)
    except CollectorRegistryError:
        if args.collectors is not None:
            raise
        registry = None  # a collector machine need not hold the auditor's registry
    if registry is not None:
        entry = registry.get(collector)
        if entry is None:
            raise HardeningError(f"{registry.source}: /collectors: no collector {collector!r}")
        if raw_public_key(entry.public_key) != raw_public_key(key.public_key()):
            raise HardeningError(f"{args.key}: not the key {registry.source} holds for collector {collector!r}")
    run_dir = _run_dir(args)
    ledger = args.ledger or Path(os.environ.get("HARDENING_LEDGER", "/var/lib/hardening/ledger.jsonl"))
    out = args.out or Path(f"{collector}-pending.tar")
    manifest = export_run(run_dir, args.key, collector, out, ledger_path=ledger, catalog_dir=args.catalog,
                          passphrase=passphrase)
    if args.out is None:
        final = Path(f"{collector}-{manifest['sequence']:06d}-{manifest['run_id']}.tar")
        out.replace(final)
        out = final
    _say(f"証跡バンドルを書き出しました (evidence bundle written): {out}  収集者 (collector) {collector}  "
         f"通番 (sequence) {manifest['sequence']}  実行 (run) {manifest['run_id']}  "
         f"ファイル数 (files) {len(manifest['files']) + 2}")
    return 0


def _refused(problems: list[Any], what_ja: str, what_en: str) -> int:
    _say(f"{what_ja}：{len(problems)} 件の問題 ({what_en}: {len(problems)} problem(s))", err=True)
    for problem in problems:
        _say(problem.line(), err=True)
    return 1


def cmd_verify(args: argparse.Namespace) -> int:
    from hardening.evidence.collectors import load_collectors
    from hardening.evidence.verify import verify_bundle

    registry = load_collectors(args.collectors)
    verified, problems = verify_bundle(args.bundle, registry)
    if verified is None:
        return _refused(problems, f"検証失敗 {args.bundle}", f"verification failed {args.bundle}")
    manifest = verified.manifest
    findings = len(verified.report["findings"])
    _say(f"検証成功 (verified): {args.bundle}  収集者 (collector) {verified.collector.name}  通番 (sequence) "
         f"{manifest['sequence']}  実行 (run) {manifest['run_id']}  ホスト (hosts) {len(manifest['hosts'])}  "
         f"所見 {findings} 件をすべて再判定 (all {findings} verdicts re-derived)  sha256 {verified.sha256}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from hardening.evidence.collectors import load_collectors
    from hardening.evidence.importer import import_bundle
    from hardening.evidence.verify import BundleRefused

    registry = load_collectors(args.collectors)
    history = _open_history(args.history)
    try:
        verified = import_bundle(args.bundle, history, registry)
    except BundleRefused as exc:
        return _refused(exc.problems, f"取り込み拒否 {args.bundle}", f"import refused {args.bundle}")
    _say(f"取り込みました (imported): 実行 (run) {verified.manifest['run_id']}  収集者 (collector) "
         f"{verified.collector.name}  通番 (sequence) {verified.manifest['sequence']}  "
         f"ゾーン (zones) {', '.join(verified.manifest['zones'])}")
    return 0


COMMANDS = {"export": cmd_export, "verify": cmd_verify, "import": cmd_import}
