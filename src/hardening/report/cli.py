"""`hardening report`: render an existing report (a report.json, a run of the history, or the city-wide view of
the history) in any of the formats, whole or one report per responsible manager or zone (hardening.cli adds it).

Bad input (a report.json that is not JSON or not a valid report, an unknown run) is one line naming the file and
the place, exit 1, nothing written."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hardening.core.errors import InputError
from hardening.core.text import terminal_safe
from hardening.report.outputs import DEFAULT_FORMATS, FORMATS, write_group_reports, write_report_files
from hardening.report.safety import bound_report
from hardening.report.validate import ReportError, validate_report

TREND_RUNS = 10


def parse_formats(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = sorted(set(names) - set(FORMATS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown format(s) {', '.join(unknown) or '(none)'}: "
                                         f"choose from {', '.join(FORMATS)}")
    return names


def add_parsers(sub: Any) -> None:
    report = sub.add_parser(
        "report", help="render a report (a report.json, a history run with its trend, or the city-wide view) as "
        "HTML, XLSX, JSON, CSV or JUnit; --by manager: one report per responsible manager")
    source = report.add_mutually_exclusive_group(required=True)
    source.add_argument("report_json", nargs="?", type=Path, default=None, metavar="REPORT_JSON",
                        help="a drift report (report.json) to render")
    source.add_argument("--run", default=None, metavar="REF",
                        help="a run of the history: id, unique prefix, latest or previous (with its trend)")
    source.add_argument("--city", action="store_true",
                        help="the city-wide view: the latest run of each zone in the history, merged")
    report.add_argument("--history", default=None, metavar="LOC",
                        help="run history (default: HARDENING_HISTORY or /var/lib/hardening/history.sqlite)")
    report.add_argument("--format", "-f", dest="formats", type=parse_formats, default=list(DEFAULT_FORMATS),
                        metavar="LIST", help=f"comma-separated: {','.join(FORMATS)} (default: "
                        f"{','.join(DEFAULT_FORMATS)})")
    report.add_argument("--by", choices=["manager", "zone"], default=None,
                        help="one report per responsible manager or per zone, each in its own directory")
    report.add_argument("--lang", choices=["ja", "en"], default="ja")
    report.add_argument("--out", "-o", type=Path, required=True, help="output directory")


def load_report(path: Path) -> dict[str, Any]:
    """A report.json read and validated; InputError naming the file and the place otherwise. Device data in it
    is bounded as the audit bounds it (report.safety), whoever wrote the file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), "/", exc.strerror or type(exc).__name__) from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"byte {exc.start}", "not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"line {exc.lineno} column {exc.colno}", exc.msg) from None
    if not isinstance(document, dict):
        raise InputError(str(path), "/", "not a drift report (a JSON object is expected)")
    try:
        validate_report(document)
    except ReportError as exc:
        raise InputError(str(path), exc.where, exc.message) from None
    return bound_report(document)


def _zones(report: dict[str, Any]) -> list[str]:
    return sorted({h["zone"] for h in report["hosts"]})


def _from_history(args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from hardening.history import HistoryError, open_history

    location = args.history or "the history"
    with open_history(args.history) as history:
        try:
            if args.city:
                from hardening.evidence.importer import city_report

                report = city_report(history)
            else:
                report = history.report(history.resolve(args.run))
        except (HistoryError, ValueError) as exc:
            raise InputError(str(location), args.run or "--city", str(exc)) from None
        trend = history.trend(limit=TREND_RUNS, zones=_zones(report) or None)
    validate_report(report)
    return report, trend


def render(report: dict[str, Any], out: Path, *, formats: Sequence[str], lang: str, by: str | None,
           trend: list[dict[str, Any]] | None) -> dict[str, list[Path]]:
    if by is None:
        return write_report_files(report, out, lang=lang, formats=formats, trend=trend)
    return write_group_reports(report, out, by, lang=lang, formats=formats)


def cmd_report(args: argparse.Namespace) -> int:
    trend: list[dict[str, Any]] | None = None
    if args.report_json is not None:
        report = load_report(args.report_json)
    else:
        report, trend = _from_history(args)
    written = render(report, args.out, formats=args.formats, lang=args.lang, by=args.by, trend=trend)
    files = sum(len(paths) for paths in written.values())
    print(terminal_safe(f"レポートを出力しました (report written): {args.out} — {len(written)} "
                        f"{'件' if args.by else '形式'}, {files} files"), file=sys.stdout)
    for key, paths in written.items():
        print(terminal_safe(f"  {key}: {paths[0]}" + (f" (+{len(paths) - 1})" if len(paths) > 1 else "")))
    return 0


COMMANDS = {"report": cmd_report}
