"""`hardening …`: the command line. Exit codes: 0 compliant, 2 drift, 1 error (report still written)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from hardening import __version__
from hardening.core.errors import HardeningError, InputError
from hardening.core.schemas import project_root
from hardening.core.scope import Selection
from hardening.core.secrets import REDACTOR, RedactingFilter, SecretStore

log = logging.getLogger("hardening")


def _default(path: str) -> Path:
    return project_root() / path


def _add_selection(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scope (each may repeat; patterns like 'jumin-*' allowed)")
    group.add_argument("--host", "-H", dest="hosts", action="append", default=[], metavar="NAME")
    group.add_argument("--group", "-g", dest="groups", action="append", default=[], metavar="GROUP")
    group.add_argument("--zone", "-z", dest="zones", action="append", default=[],
                       choices=["kikan", "lgwan", "internet"])
    group.add_argument("--system", "-s", dest="systems", action="append", default=[], metavar="情報システム名")
    group.add_argument("--device-class", "-c", dest="device_classes", action="append", default=[],
                       metavar="CLASS")
    group.add_argument("--requirement", "-r", dest="requirements", action="append", default=[], metavar="ID")


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inventory", "-i", type=Path, default=None,
                        help="inventory directory (default: inventory/)")
    parser.add_argument("--catalog", type=Path, default=None,
                        help="requirements directory (default: schemas/requirements/)")
    parser.add_argument("--waivers", type=Path, default=None, help="waivers file (default: <inventory>/waivers.yaml)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hardening", description="坂戸市情報セキュリティポリシー準拠の点検・是正ツール")
    parser.add_argument("--version", action="version", version=f"hardening {__version__}")
    parser.add_argument("--debug", action="store_true", help="log details (secrets are still masked)")
    sub = parser.add_subparsers(dest="command", required=True)

    audit = sub.add_parser("audit", help="collect facts, evaluate every requirement, write the drift report")
    _add_inputs(audit)
    _add_selection(audit)
    audit.add_argument("--out", "-o", type=Path, default=None,
                       help="report directory (default: reports/<timestamp>, with reports/latest pointing to it)")
    audit.add_argument("--lang", choices=["ja", "en"], default="ja", help="report language (default: ja)")
    audit.add_argument("--timeout", type=float, default=30.0, help="per-host time budget in seconds (default 30)")
    audit.add_argument("--workers", type=int, default=20, help="hosts collected in parallel (default 20)")
    audit.add_argument("--known-hosts", default=os.environ.get("HARDENING_KNOWN_HOSTS"),
                       help="SSH known_hosts file (default: HARDENING_KNOWN_HOSTS or the system's)")
    audit.add_argument("--host-key-policy", choices=["strict", "accept-new"],
                       default=os.environ.get("HARDENING_HOST_KEY_POLICY", "strict"),
                       help="strict: unknown host keys are refused; accept-new: trust on first use")
    audit.add_argument("--no-progress", action="store_true")
    audit.add_argument("--color", choices=["auto", "always", "never"], default="auto")

    validate = sub.add_parser("validate", help="validate inventory, site parameters, catalog and waivers only")
    _add_inputs(validate)

    catalog = sub.add_parser("catalog", help="list the requirements of the catalog")
    catalog.add_argument("--catalog", type=Path, default=None)
    catalog.add_argument("--lang", choices=["ja", "en"], default="ja")
    catalog.add_argument("--json", action="store_true")
    return parser


def _inputs(args: argparse.Namespace) -> Any:
    from hardening.audit import load_inputs

    inventory = args.inventory or _default("inventory")
    catalog = args.catalog or _default("schemas/requirements")
    return load_inputs(inventory, catalog, args.waivers)


def _out_dir(args: argparse.Namespace) -> Path:
    if args.out is not None:
        return Path(args.out)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("reports") / stamp


def cmd_audit(args: argparse.Namespace) -> int:
    from hardening.audit import run_audit

    inputs = _inputs(args)
    from hardening.report import writers
    selection = Selection(hosts=args.hosts, groups=args.groups, zones=args.zones, systems=args.systems,
                          device_classes=args.device_classes, requirements=args.requirements)
    for group in selection.groups:
        if group not in inputs.inventory.group_names:
            known = ", ".join(sorted(inputs.inventory.group_names))
            raise InputError("--group", group, f"unknown group (known: {known})")
    report, results = run_audit(
        inputs, selection, SecretStore(), timeout=args.timeout, workers=args.workers,
        progress=False if args.no_progress else None, known_hosts=args.known_hosts,
        host_key_policy=args.host_key_policy,
    )
    if not report["hosts"]:
        print("対象ホストがありません (no host matches the selection)", file=sys.stderr)
        return 1
    out = _out_dir(args)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "JSON": out / "report.json",
        "HTML": out / "report.html",
        "CSV": out / "report.csv",
        "JUnit": out / "junit.xml",
    }
    writers.write_json(report, paths["JSON"])
    writers.write_facts(report, results, out)
    writers.write_html(report, paths["HTML"], lang=args.lang)
    writers.write_csv(report, paths["CSV"], lang=args.lang)
    writers.write_junit(report, paths["JUnit"], lang=args.lang)
    if args.out is None:
        latest = out.parent / "latest"
        if latest.is_symlink() or not latest.exists():
            latest.unlink(missing_ok=True)
            latest.symlink_to(out.name)
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    print(writers.terminal_summary(report, lang=args.lang, color=color,
                                   paths={k: str(v) for k, v in paths.items()}))
    code: int = report["summary"]["exit_code"]
    return code


def cmd_validate(args: argparse.Namespace) -> int:
    inputs = _inputs(args)
    print(f"OK: {len(inputs.inventory.hosts)} hosts, {len(inputs.catalog)} requirements, "
          f"{len(inputs.waivers)} waivers")
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    from hardening.core.catalog import load_catalog

    catalog = load_catalog(args.catalog or _default("schemas/requirements"))
    if args.json:
        print(json.dumps([{"id": r.id, "clause": r.clause, "title": r.title, "severity": r.severity,
                           "device_classes": list(r.device_classes), "automation": r.automation}
                          for r in catalog.values()], ensure_ascii=False, indent=2))
        return 0
    for r in catalog.values():
        print(f"{r.id:18} {r.clause:16} {r.severity:8} {r.title[args.lang]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, handlers=[handler],
                        format="%(levelname)s %(name)s: %(message)s")
    commands = {"audit": cmd_audit, "validate": cmd_validate, "catalog": cmd_catalog}
    try:
        return commands[args.command](args)
    except InputError as exc:
        print(f"入力エラー (input error): {REDACTOR.scrub(str(exc))}", file=sys.stderr)
        return 1
    except HardeningError as exc:
        print(f"エラー (error): {REDACTOR.scrub(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("中断しました (interrupted)", file=sys.stderr)
        return 1
    except Exception as exc:  # never a raw traceback: it could carry a secret
        print(f"内部エラー (internal error): {type(exc).__name__}: {REDACTOR.scrub(str(exc))[:500]}",
              file=sys.stderr)
        if args.debug:
            import traceback

            print(REDACTOR.scrub(traceback.format_exc()), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
