"""`hardening …`: the command line. Exit codes: 0 compliant, 2 drift, 1 error (report still written)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from hardening import __version__
from hardening.core.errors import HardeningError, InputError
from hardening.core.schemas import project_root
from hardening.core.scope import Selection
from hardening.core.secrets import REDACTOR, RedactingFilter, SecretStore
from hardening.core.text import json_terminal_safe, terminal_safe
from hardening.report.build import canonical_digest

log = logging.getLogger("hardening")


def say(text: str, *, err: bool = False, lines: bool = False) -> None:
    """Print text that may carry host or file data: controls and bidi characters are shown, not obeyed,
    and a newline inside it is shown as ``\\n`` unless `lines` (text that is several lines on purpose).
    The rendered summaries, which add their own colors, neutralise their data themselves."""
    print(terminal_safe(text, multiline=lines), file=sys.stderr if err else sys.stdout)


class _SafeFormatter(logging.Formatter):
    """Log lines (ours, paramiko's, Nornir's) carry host data too: controls and bidi characters shown."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal_safe(super().format(record), multiline=True)


def log_handler() -> logging.Handler:
    """The stderr handler of every log line: secrets masked, controls shown."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(_SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    return handler


class _UsageError(Exception):
    """A command-line mistake: reported as one input-error line with exit 1 (argparse would exit 2,
    which means drift here)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}")


def _bounded(unit: str, maximum: float, integer: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number above 0 and at most `maximum` (NaN would remove a deadline,
    0 or a negative one would end it at once)."""
    def parse(text: str) -> float:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {unit}") from None
        if not math.isfinite(value) or value <= 0 or value > maximum:
            raise argparse.ArgumentTypeError(f"{text!r}: give a number of {unit} above 0 and at most {maximum:g}")
        return value

    return parse


_SECONDS = _bounded("seconds", 86400.0)  # a per-host budget of more than a day is a typo
_WORKERS = _bounded("hosts in parallel", 1000, integer=True)
_HOURS = _bounded("hours", 24 * 366.0)


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


def _add_connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=_SECONDS, default=30.0,
                        help="per-host time budget in seconds (default 30, at most 86400)")
    parser.add_argument("--workers", type=_WORKERS, default=20, help="hosts handled in parallel (default 20, 1-1000)")
    parser.add_argument("--known-hosts", default=os.environ.get("HARDENING_KNOWN_HOSTS"),
                        help="SSH known_hosts file (default: HARDENING_KNOWN_HOSTS or the system's)")
    parser.add_argument("--host-key-policy", choices=["strict", "accept-new"],
                        default=os.environ.get("HARDENING_HOST_KEY_POLICY", "strict"),
                        help="strict: unknown host keys are refused; accept-new: trust on first use")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--ledger", type=Path, default=None,
                        help="change ledger (default: HARDENING_LEDGER or /var/lib/hardening/ledger.jsonl)")


def _add_history(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history", default=None, metavar="LOC",
                        help="run history: an SQLite file or a postgresql:// URL (default: HARDENING_HISTORY or "
                             "/var/lib/hardening/history.sqlite)")


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _add_approvers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--approvers", type=Path, default=None,
                        help="approver registry that verifies attestations (default: <inventory>/approvers.yaml)")


def _add_attest_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inventory", "-i", type=Path, default=None)
    parser.add_argument("--catalog", type=Path, default=None)
    parser.add_argument("--waivers", type=Path, default=None, help=argparse.SUPPRESS)
    _add_approvers(parser)
    parser.add_argument("--ledger", type=Path, default=None)


def _ledger(args: argparse.Namespace) -> Any:
    from hardening.changes.ledger import Ledger

    path = args.ledger or Path(os.environ.get("HARDENING_LEDGER", "/var/lib/hardening/ledger.jsonl"))
    path.parent.mkdir(parents=True, exist_ok=True)
    return Ledger(path)


def _report_formats(text: str) -> list[str]:
    from hardening.report.cli import parse_formats

    return parse_formats(text)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    audit.add_argument("--format", "-f", dest="formats", type=_report_formats, default=None, metavar="FORMATS",
                       help="report formats, comma-separated, from json, html, csv, junit, xlsx (default: json,html,"
                            "csv,junit; report.json, the facts and the captures are always written)")
    audit.add_argument("--from", dest="offline_from", type=Path, default=None, metavar="DIR",
                       help="offline: evaluate saved data instead of contacting hosts: DIR/<host>.json (a report's "
                            "facts/) or DIR/<host>/root/ (a saved Linux file tree); see docs/offline.md")
    _add_connection(audit)
    _add_approvers(audit)
    audit.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    _add_history(audit)
    audit.add_argument("--no-history", action="store_true", help="do not record this run in the history")

    plan = sub.add_parser("plan", help="audit, then dry-run the fix of every failing automatable requirement")
    _add_inputs(plan)
    _add_selection(plan)
    _add_connection(plan)
    _add_approvers(plan)
    plan.add_argument("--out", "-o", type=Path, default=None, help="plan file (default: plans/<timestamp>.json)")
    plan.add_argument("--lang", choices=["ja", "en"], default="ja")

    show = sub.add_parser("show", help="render a plan for review (terminal, Markdown or HTML)")
    show.add_argument("plan", type=Path)
    show.add_argument("--format", "-f", choices=["terminal", "markdown", "html"], default="terminal")
    show.add_argument("--lang", choices=["ja", "en"], default="ja")
    show.add_argument("--out", "-o", type=Path, default=None)
    show.add_argument("--color", choices=["auto", "always", "never"], default="auto")

    approve = sub.add_parser("approve", help="sign an approval of a plan (a person other than the planner)")
    approve.add_argument("plan", type=Path)
    approve.add_argument("--approver", required=True, help="your name as in the approvers registry")
    approve.add_argument("--key", type=Path, required=True, help="your Ed25519 approval key")
    approve.add_argument("--approvers", type=Path, default=None,
                         help="trusted approvers registry (default: <inventory>/approvers.yaml)")
    approve.add_argument("--inventory", "-i", type=Path, default=None)
    approve.add_argument("--host", "-H", dest="hosts", action="append", default=[],
                         help="approve only these hosts (default: all hosts with changes)")
    approve.add_argument("--requirement", "-r", dest="requirements", action="append", default=[],
                         help="approve only these requirements (default: all planned)")
    approve.add_argument("--out", "-o", type=Path, default=None,
                         help="approval record (default: <plan>.approval-<approver>.json beside the plan)")
    approve.add_argument("--ledger", type=Path, default=None)

    apply = sub.add_parser("apply", help="apply an approved, unmodified, fresh plan; verify by a new audit")
    apply.add_argument("plan", type=Path)
    _add_inputs(apply)
    _add_connection(apply)
    apply.add_argument("--approval", dest="approvals", action="append", type=Path, default=[],
                       help="approval record(s) (default: <plan>.approval*.json beside the plan)")
    apply.add_argument("--approvers", type=Path, default=None)
    apply.add_argument("--max-age-hours", type=_HOURS, default=24.0, help="refuse older plans (default 24)")
    apply.add_argument("--out", "-o", type=Path, default=None,
                       help="apply result (default: <plan>.result.json beside the plan)")

    ledger = sub.add_parser("ledger", help="the tamper-evident change ledger")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    verify = ledger_sub.add_parser("verify", help="check the whole hash chain; say where it breaks")
    verify.add_argument("--ledger", type=Path, default=None)
    verify.add_argument("--head", default=None, help="expected SEQ:HASH recorded earlier (detects truncation)")
    head = ledger_sub.add_parser("head", help="print SEQ:HASH of the last entry (an anchor to keep elsewhere)")
    head.add_argument("--ledger", type=Path, default=None)
    repair = ledger_sub.add_parser("repair", help="cut a torn last line (an interrupted write) and record the repair; "
                                   "refuses a ledger that was tampered with")
    repair.add_argument("--ledger", type=Path, default=None)

    attest = sub.add_parser("attest", help="attest on evidence what no remote read can prove (a person other than "
                            "the host's administrators); `attest list` lists the attestations")
    attest.add_argument("action", nargs="?", choices=["list"], help="list: the attestations and their status")
    attest.add_argument("--host", "-H", default=None, help="the inventory host attested (list: only this host)")
    attest.add_argument("--requirement", "-r", default=None, help="the requirement id attested (list: only this one)")
    attest.add_argument("--evidence", type=Path, default=None,
                        help="the evidence file (certificate, photo …): only its name, size and SHA-256 are kept")
    attest.add_argument("--expires", default=None, metavar="YYYY-MM-DD", help="valid through this day (future)")
    attest.add_argument("--key", type=Path, default=None, help="your Ed25519 key (the registry names you by it)")
    attest.add_argument("--passphrase-file", type=Path, default=None, help="file holding the key's passphrase")
    attest.add_argument("--statement", default="", help="what you state (optional, kept in the record)")
    _add_attest_inputs(attest)
    attestations = sub.add_parser("attestations", help="list the attestations in the ledger: valid, expired or "
                                  "invalid (same as `attest list`)")
    attestations.add_argument("--host", "-H", default=None)
    attestations.add_argument("--requirement", "-r", default=None)
    _add_attest_inputs(attestations)

    keygen = sub.add_parser("keygen", help="create an approver's (or, with --collector, a zone collector's) "
                            "Ed25519 key pair")
    keygen.add_argument("name")
    keygen.add_argument("--dir", type=Path, default=Path())
    keygen.add_argument("--collector", action="store_true", help="a zone collector's key for signing evidence "
                        "bundles (passphrase from HARDENING_COLLECTOR_PASSPHRASE, else none: exports run unattended)")

    job = sub.add_parser("job", help="scheduled jobs: `job run JOBFILE` (non-interactive, one run at a time), "
                         "`job validate JOBFILE` (docs/jobs.md)")
    job_sub = job.add_subparsers(dest="job_command", required=True)
    job_run = job_sub.add_parser("run", help="run the job once: audit, report, history, plan, mail on new drift")
    job_run.add_argument("jobfile", type=Path)
    job_validate = job_sub.add_parser("validate", help="check the job file, its inventory and its recipients only")
    job_validate.add_argument("jobfile", type=Path)

    validate = sub.add_parser("validate", help="validate inventory, site parameters, catalog and waivers only")
    _add_inputs(validate)

    history = sub.add_parser("history", help="the recorded runs, newest first, with new/resolved drift against "
                             "each run's previous run; --since: the drift since a day")
    _add_history(history)
    history.add_argument("--since", type=_day, default=None, metavar="YYYY-MM-DD",
                         help="runs started on or after this day (local time), and the drift since then")
    history.add_argument("--zone", "-z", dest="zones", action="append", default=[],
                         choices=["kikan", "lgwan", "internet"], help="only runs that covered this zone")
    history.add_argument("--limit", "-n", type=_bounded("runs", 100000, integer=True), default=20,
                         help="at most this many runs (default 20)")
    history.add_argument("--lang", choices=["ja", "en"], default="ja")
    history.add_argument("--json", action="store_true")

    diff = sub.add_parser("diff", help="drift of RUN_B against RUN_A: new, resolved, persisting, unknown "
                          "(exit 0: no new drift, 2: new drift, 1: error)")
    diff.add_argument("run_a", metavar="RUN_A", help="run id, unique prefix, latest or previous")
    diff.add_argument("run_b", metavar="RUN_B", help="run id, unique prefix, latest or previous")
    _add_history(diff)
    diff.add_argument("--lang", choices=["ja", "en"], default="ja")
    diff.add_argument("--json", action="store_true")

    catalog = sub.add_parser("catalog", help="list the requirements of the catalog")
    catalog.add_argument("--catalog", type=Path, default=None)
    catalog.add_argument("--lang", choices=["ja", "en"], default="ja")
    catalog.add_argument("--json", action="store_true")
    from hardening.evidence.cli import add_parsers as add_evidence_parsers

    add_evidence_parsers(sub)  # export, verify, import
    from hardening.report.cli import add_parsers as add_report_parsers

    add_report_parsers(sub)  # report
    return parser


def _inputs(args: argparse.Namespace) -> Any:
    from hardening.audit import load_inputs

    inventory = args.inventory or _default("inventory")
    catalog = args.catalog or _default("schemas/requirements")
    return load_inputs(inventory, catalog, args.waivers)


def _registry_path(args: argparse.Namespace, inputs: Any) -> Path:
    return Path(args.approvers or inputs.inventory.directory / "approvers.yaml")


def _with_attestations(args: argparse.Namespace, inputs: Any) -> Any:
    """The inputs with the ledger's verified attestations (audit and plan evaluate with them)."""
    from hardening.runs import with_attestations

    inputs, warnings = with_attestations(inputs, _ledger(args), _registry_path(args, inputs))
    for line in warnings:
        say(f"警告 (warning): {line}", err=True)
    return inputs


def _out_dir(args: argparse.Namespace) -> Callable[[str], Path]:
    """--out as given (reused on purpose, files replaced atomically), else a new reports/<stamp>-<run id>
    (runs.new_run_dir) that reports/latest then points at."""
    from hardening import runs

    def make(run_id: str) -> Path:
        if args.out is not None:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            return out
        return runs.new_run_dir(Path("reports"), run_id)

    return make


def _check_known_hosts(args: argparse.Namespace) -> None:
    """A known_hosts file that is not there is bad input: say so once, before any host is contacted."""
    if not args.known_hosts:
        return
    path = Path(args.known_hosts)
    if args.host_key_policy == "accept-new":
        if not path.parent.is_dir():
            raise InputError(str(path), "--known-hosts", f"directory {path.parent} not found (accept-new records "
                             "new host keys in this file)")
    elif not path.is_file():
        raise InputError(str(path), "--known-hosts", "file not found (the strict host-key policy checks every "
                         "host key against it)")


def _run_options(args: argparse.Namespace) -> Any:
    """The run's settings from the command line (the one RunOptions audit, plan and apply receive)."""
    from hardening.core.run import RunOptions

    return RunOptions.ssh(timeout=args.timeout, workers=args.workers,
                          progress=False if args.no_progress else None, known_hosts=args.known_hosts,
                          host_key_policy=args.host_key_policy)


def _host_errors(report: dict[str, Any]) -> None:
    """One line on stderr per host that could not be audited (the report holds the same reason)."""
    for host in report["hosts"]:
        if host["error"] is not None:
            say(f"{host['name']}: {host['error']} ({host['error_kind'] or 'error'})", err=True)


def cmd_audit(args: argparse.Namespace) -> int:
    from hardening.report import writers
    from hardening.runs import audit_and_record, check_groups, point_latest

    if args.offline_from is None:
        _check_known_hosts(args)
    inputs = _with_attestations(args, _inputs(args))
    selection = Selection(hosts=args.hosts, groups=args.groups, zones=args.zones, systems=args.systems,
                          device_classes=args.device_classes, requirements=args.requirements)
    check_groups(selection, inputs)

    def before_writing(report: dict[str, Any]) -> None:
        for warning in (report["run"]["offline"] or {}).get("warnings", []):
            say(f"警告 (warning): {warning}", err=True)
        _host_errors(report)

    done = audit_and_record(inputs, selection, SecretStore(), _run_options(args), out_dir=_out_dir(args),
                            ledger=_ledger(args), history=None if args.no_history else args.history,
                            record=not args.no_history, offline_from=args.offline_from, lang=args.lang,
                            on_report=before_writing, **({"formats": args.formats} if args.formats else {}))
    if args.out is None:
        point_latest(done.out)
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    print(writers.terminal_summary(done.report, lang=args.lang, color=color,
                                   paths={k: str(v) for k, v in done.paths.items()}))
    for problem in done.problems:
        say(problem, err=True)
    return done.exit_code


def cmd_history(args: argparse.Namespace) -> int:
    from hardening.history import HistoryError, open_history
    from hardening.history.render import drift_lines, run_line

    with open_history(args.history) as history:
        runs = history.runs(since=args.since, zones=args.zones or None, limit=args.limit)
        listed = []
        for run in runs:
            previous = history.previous(run["id"])
            drift = history.compare(previous, run["id"]) if previous else None
            listed.append((run, previous, drift))
        since = since_error = None
        if args.since is not None:
            latest = history.runs(zones=args.zones or None, limit=1)
            try:
                since = history.since(args.since, latest[0]["id"] if latest else None)
            except HistoryError as exc:
                since_error = str(exc)
        location = history.location
    if args.json:
        print(json_terminal_safe(json.dumps({
            "location": location,
            "runs": [{**run, "previous": previous,
                      "vs_previous": None if drift is None else {"new": len(drift.new),
                                                                 "resolved": len(drift.resolved)}}
                     for run, previous, drift in listed],
            "since": None if args.since is None else {"day": args.since.isoformat(), "error": since_error,
                                                      "drift": None if since is None else since.as_dict()}},
            ensure_ascii=False, indent=2, allow_nan=False)))
        return 0
    say(f"実行履歴 (runs): {len(runs)} 件 — {location}")
    for run, previous, drift in listed:
        say(run_line(run, previous, drift))
    if args.since is not None:
        say(f"{args.since.isoformat()} 以降の変化 (drift since {args.since.isoformat()})"
            + (f": {since.run_a} → {since.run_b}" if since else ""))
        if since is None:
            say(f"  比較できません (nothing to compare): {since_error}")
        else:
            for line in drift_lines(since, args.lang):
                say(line)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from hardening.history import open_history
    from hardening.history.render import drift_lines

    with open_history(args.history) as history:
        run_a, run_b = history.resolve(args.run_a), history.resolve(args.run_b)
        drift = history.compare(run_a, run_b)
        started = {r: history.run(r)["started_at"] for r in (run_a, run_b)}
    if args.json:
        print(json_terminal_safe(json.dumps(drift.as_dict(), ensure_ascii=False, indent=2, allow_nan=False)))
    else:
        say(f"差分 (diff): {run_a} ({started[run_a]}) → {run_b} ({started[run_b]})")
        for line in drift_lines(drift, args.lang):
            say(line)
    return 2 if drift.new else 0


def cmd_plan(args: argparse.Namespace) -> int:
    from hardening.changes.custody import record_plan
    from hardening.changes.plan import make_plan, plan_digest, write_plan
    from hardening.changes.show import render_terminal

    _check_known_hosts(args)
    inputs = _with_attestations(args, _inputs(args))
    selection = Selection(hosts=args.hosts, groups=args.groups, zones=args.zones, systems=args.systems,
                          device_classes=args.device_classes, requirements=args.requirements)
    plan, report = make_plan(inputs, selection, SecretStore(), _run_options(args))
    if report:
        _host_errors(report)
    from hardening.runs import run_suffix, stamp

    out = args.out or Path("plans") / f"{stamp()}-{run_suffix(plan['plan_id'])}.json"
    digest = plan_digest(plan)
    record_plan(_ledger(args), plan, digest)  # first: a plan the ledger does not hold can never be approved
    write_plan(plan, out)
    print(render_terminal(plan, args.lang, color=sys.stdout.isatty()))
    say(f"plan: {out}  ({digest})")
    code: int = plan["summary"]["exit_code"]
    return code


def cmd_show(args: argparse.Namespace) -> int:
    from hardening.changes.plan import read_plan
    from hardening.changes.show import render_html, render_markdown, render_terminal
    from hardening.report.files import atomic_write

    plan = read_plan(args.plan)
    if args.format == "markdown":
        text = render_markdown(plan, args.lang)
    elif args.format == "html":
        text = render_html(plan, args.lang)
    else:
        color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty() and args.out is None)
        text = render_terminal(plan, args.lang, color)
    if args.out:
        atomic_write(args.out, text)  # a rendering shows what the plan shows: 0600 like the plan
    else:
        sys.stdout.write(text)
    return 0


def _passphrase() -> str | None:
    value = os.environ.get("HARDENING_APPROVER_PASSPHRASE")
    if value:
        return value
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("approval key passphrase (empty if none): ") or None
    return None


def cmd_approve(args: argparse.Namespace) -> int:
    from hardening.changes.approval import approval_id, load_registry, sign_approval, write_approval
    from hardening.changes.custody import custody
    from hardening.changes.plan import plan_digest, read_plan

    plan = read_plan(args.plan)
    registry_path = args.approvers or (args.inventory or _default("inventory")) / "approvers.yaml"
    registry = load_registry(registry_path)
    scope = {host: [r for r in entry["fix"] if not args.requirements or r in args.requirements]
             for host, entry in plan["hosts"].items()
             if entry["fix"] and entry["changes"] and (not args.hosts or host in args.hosts)}
    scope = {h: ids for h, ids in scope.items() if ids}
    unknown = sorted(set(args.hosts) - set(plan["hosts"]))
    if unknown:
        raise InputError(str(args.plan), "/hosts", f"not in the plan: {', '.join(unknown)}")
    digest = plan_digest(plan)
    ledger = _ledger(args)
    # The planner is who the ledger recorded for this very file, not what the file says (custody.py).
    planner = custody(ledger, plan, digest, str(args.plan)).planner
    record = sign_approval(digest, plan["plan_id"], planner, args.approver, args.key, scope,
                           passphrase=_passphrase(), registry=registry)
    out = args.out or args.plan.with_name(f"{args.plan.stem}.approval-{args.approver}.json")
    write_approval(record, out)
    ledger.append(args.approver, "approve", {
        "plan_id": plan["plan_id"], "plan_digest": digest, "planner": planner, "scope": scope,
        "approval_id": approval_id(record),
        "partial": scope != {h: e["fix"] for h, e in plan["hosts"].items() if e["fix"] and e["changes"]},
        "record_digest": canonical_digest(record)})
    say(f"承認しました (approved): {out}")
    for host, ids in scope.items():
        say(f"  {host}: {', '.join(ids)}")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from hardening.changes.apply import apply_plan, default_approvals
    from hardening.report.files import atomic_write

    _check_known_hosts(args)
    inputs = _inputs(args)
    approvals = args.approvals or default_approvals(args.plan)
    registry = args.approvers or inputs.inventory.directory / "approvers.yaml"
    outcome = apply_plan(inputs, args.plan, approvals, registry, SecretStore(), _ledger(args), _run_options(args),
                         max_age=dt.timedelta(hours=args.max_age_hours))
    out = args.out or args.plan.with_name(f"{args.plan.stem}.result.json")
    atomic_write(out, json.dumps(outcome, ensure_ascii=False, indent=2, allow_nan=False) + "\n")
    labels = {"applied": "適用済み", "applied_with_drift": "適用後も不適合あり", "refused": "拒否",
              "rolled_back": "失敗・復元済み", "failed": "失敗", "pending": "未処理",
              "unverified": "適用後の点検で判定できず"}
    for host, record in outcome["hosts"].items():
        say(f"{host}: {labels.get(record['status'], record['status'])} ({record['status']})"
            + (f" — {record['message']}" if record["message"] else ""))
        for requirement, verdict in record["verify"].items():
            say(f"    {requirement}: {verdict}")
    for problem in outcome["ledger_problems"]:
        say(f"台帳に記録できません (ledger could not record): {problem}", err=True)
    say(f"result: {out}")
    code: int = outcome["exit_code"]
    return code


def cmd_ledger(args: argparse.Namespace) -> int:
    ledger = _ledger(args)
    if args.ledger_command == "head":
        head = ledger.head()
        say(f"{head[0]}:{head[1]}" if head else "(empty)")
        return 0
    if args.ledger_command == "repair":
        from hardening.report.build import operator

        entry = ledger.repair(operator())
        what = (f"cut {entry['subject']['cut_bytes']} bytes ({entry['subject']['cut_sha256']})"
                if "cut_bytes" in entry["subject"] else f"completed seq {entry['subject']['completed_seq']}")
        say(f"修復しました (repaired): {what}; recorded as seq {entry['seq']}")
        return 0
    expected = None
    if args.head:
        seq, _, digest = args.head.partition(":")
        expected = (int(seq), digest)
    result = ledger.verify(expected_head=expected)
    if result.ok:
        print(f"OK: {result.entries} entries, chain intact")
        return 0
    if {p["kind"] for p in result.problems} == {"torn"}:
        say("書き込み中断を検出 (torn tail: an interrupted write, no sign of tampering): repair it with "
            "`hardening ledger repair`", err=True)
    else:
        say(f"改ざん・欠落を検出 (ledger broken): {len(result.problems)} problem(s)", err=True)
    for problem in result.problems:
        say(f"  line {problem['line']} seq {problem['seq']}: {problem['kind']}: {problem['message']}", err=True)
    return 1


def _key_passphrase(path: Path | None) -> str | None:
    """--passphrase-file (its first line), else HARDENING_APPROVER_PASSPHRASE or a prompt."""
    if path is None:
        return _passphrase()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(str(path), "--passphrase-file", f"cannot read the passphrase ({reason})") from None
    lines = text.splitlines()
    return (lines[0] if lines else "") or None


def _expiry(text: str | None) -> dt.date:
    if not text:
        raise InputError("--expires", "/", "required: the last day the attestation holds (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError("--expires", text, "not a date (YYYY-MM-DD)") from None


def cmd_attest(args: argparse.Namespace) -> int:
    if args.command == "attestations" or args.action == "list":
        return _list_attestations(args)
    from hardening.changes.approval import load_registry
    from hardening.changes.attest import attestation_entries, record_attestation, sign_attestation

    missing = [flag for flag, value in (("--host", args.host), ("--requirement", args.requirement),
                                        ("--evidence", args.evidence), ("--expires", args.expires),
                                        ("--key", args.key)) if value is None]
    if missing:
        raise InputError("hardening attest", "/", f"missing {', '.join(missing)}")
    inputs = _inputs(args)
    host = inputs.inventory.hosts.get(args.host)
    if host is None:
        raise InputError("--host", args.host, f"unknown host (not in {inputs.inventory.directory / 'hosts.yaml'})")
    requirement = inputs.catalog.get(args.requirement)
    if requirement is None:
        raise InputError("--requirement", args.requirement, "unknown requirement (not in the catalog)")
    expires = _expiry(args.expires)
    registry = load_registry(_registry_path(args, inputs))
    ledger = _ledger(args)
    attestation_entries(ledger)  # a ledger that does not verify would ignore the record: refuse it now
    record = sign_attestation(host=host, requirement=requirement, evidence=args.evidence, expires=expires,
                              key_path=args.key, registry=registry, passphrase=_key_passphrase(args.passphrase_file),
                              statement=args.statement)
    entry = record_attestation(ledger, record)
    say(f"証跡による確認を記録しました (attested): {host.name} {requirement.id} by {record['attester']}, "
        f"evidence {record['evidence_name']} {record['evidence_sha256']}, expires {record['expires']}; "
        f"ledger seq {entry['seq']}")
    return 0


def _list_attestations(args: argparse.Namespace) -> int:
    from hardening.changes.approval import load_registry
    from hardening.changes.attest import attestation_entries, examine

    inputs = _inputs(args)
    ledger = _ledger(args)
    entries = attestation_entries(ledger)  # a ledger that does not verify: its error, exit 1
    registry = load_registry(_registry_path(args, inputs)) if entries else None
    today = dt.date.today()
    shown = 0
    for entry in entries:
        subject = entry["subject"] if isinstance(entry["subject"], dict) else {}
        if args.host and subject.get("host") != args.host:
            continue
        if args.requirement and subject.get("requirement") != args.requirement:
            continue
        shown += 1
        verdict = examine(entry, registry, inputs.inventory.hosts, inputs.catalog) if registry else "no registry"
        if isinstance(verdict, str):
            state = f"無効 (invalid: {verdict})"
        elif verdict.expired(today):
            state = "期限切れ (expired)"
        else:
            state = "有効 (valid)"
        say(f"seq {entry['seq']}  {subject.get('host')}  {subject.get('requirement')}  {state}  "
            f"attester {subject.get('attester')}  at {subject.get('attested_at')}  expires {subject.get('expires')}  "
            f"{subject.get('evidence_name')} {subject.get('evidence_sha256')}")
    if not shown:
        say("証跡による確認はありません (no attestations)")
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    from hardening.changes.approval import generate_keypair

    if args.collector:
        from hardening.evidence.collectors import generate_collector_key

        key, pub = generate_collector_key(args.name, args.dir, os.environ.get("HARDENING_COLLECTOR_PASSPHRASE") or None)
        say(f"private key: {key} (keep it on the collector, mode 0600)")
        say(f"public key: {pub} (add it to the auditor's collectors.yaml with the collector's zones)")
        return 0
    key, pub = generate_keypair(args.name, args.dir, passphrase=_passphrase())
    say(f"private key: {key} (keep it to yourself)")
    say(f"public key: {pub} (add it to approvers.yaml)")
    return 0


def cmd_job(args: argparse.Namespace) -> int:
    from hardening.jobs.jobfile import load_job

    job = load_job(args.jobfile)
    if args.job_command == "validate":
        from hardening.jobs.validate import validate_job

        for line in validate_job(job):
            say(line)
        return 0
    from hardening.jobs.lock import JobRunningError
    from hardening.jobs.runner import run_job
    from hardening.report import writers

    try:
        outcome = run_job(job, say=lambda text: say(text, err=True))
    except JobRunningError as exc:
        say(str(exc), err=True)
        return 1
    if outcome.run is not None:
        print(writers.terminal_summary(outcome.run.report, lang=job.lang, color=False,
                                       paths={k: str(v) for k, v in outcome.run.paths.items()}))
        if outcome.plan_file is not None:
            say(f"plan: {outcome.plan_file}")
        say(f"job {job.name}: {outcome.run.out} (exit {outcome.exit_code})")
    for mail in outcome.mails:
        state = "送信済み (sent)" if mail.sent else f"未送信 (not sent: {mail.error})"
        say(f"  mail {mail.manager} <{', '.join(mail.addresses) or '-'}>: {len(mail.drift)} new drift, {state}")
    for problem in outcome.problems:
        say(problem, err=True)
    return outcome.exit_code


def cmd_validate(args: argparse.Namespace) -> int:
    inputs = _inputs(args)
    print(f"OK: {len(inputs.inventory.hosts)} hosts, {len(inputs.catalog)} requirements, "
          f"{len(inputs.waivers)} waivers")
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    from hardening.core.catalog import load_catalog

    catalog = load_catalog(args.catalog or _default("schemas/requirements"))
    if args.json:
        print(json_terminal_safe(json.dumps(
            [{"id": r.id, "clause": r.clause, "title": r.title, "severity": r.severity,
              "device_classes": list(r.device_classes), "remediation": r.remediation,
              "platforms": {p: {"automation": r.automation_for(p), "remediation": r.remediation_for(p),
                                "facts": list(r.facts_for(p))}
                            for p in sorted(r.platforms)}} for r in catalog.values()],
            ensure_ascii=False, indent=2, allow_nan=False)))
        return 0
    for r in catalog.values():
        say(f"{r.id:18} {r.clause:16} {r.severity:8} {r.title[args.lang]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except _UsageError as exc:
        say(f"入力エラー (input error): {exc}", err=True)
        return 1
    if threading.current_thread() is threading.main_thread():
        from hardening.engines.scratch import install_signal_cleanup

        install_signal_cleanup()  # SIGTERM/SIGHUP: remove this run's scratch folders and agents, then die
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, handlers=[log_handler()],
                        force=True)
    # paramiko logs every failed handshake as ERROR lines with a traceback; the host's error says it in one line.
    logging.getLogger("paramiko").setLevel(logging.DEBUG if args.debug else logging.CRITICAL)
    commands = {"audit": cmd_audit, "validate": cmd_validate, "catalog": cmd_catalog, "plan": cmd_plan,
                "show": cmd_show, "approve": cmd_approve, "apply": cmd_apply, "ledger": cmd_ledger,
                "keygen": cmd_keygen, "attest": cmd_attest, "attestations": cmd_attest,
                "history": cmd_history, "diff": cmd_diff, "job": cmd_job}
    from hardening.evidence.cli import COMMANDS as EVIDENCE_COMMANDS

    commands.update(EVIDENCE_COMMANDS)
    from hardening.report.cli import COMMANDS as REPORT_COMMANDS

    commands.update(REPORT_COMMANDS)
    try:
        return commands[args.command](args)
    except InputError as exc:
        say(f"入力エラー (input error): {REDACTOR.scrub(str(exc))}", err=True)
        return 1
    except HardeningError as exc:
        say(f"エラー (error): {REDACTOR.scrub(str(exc))}", err=True)
        return 1
    except OSError as exc:  # a file of ours could not be read or written: name it, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        say(f"エラー (error): {where}{exc.strerror or type(exc).__name__}", err=True)
        return 1
    except KeyboardInterrupt:
        say("中断しました (interrupted)", err=True)
        return 1
    except Exception as exc:  # never a raw traceback: it could carry a secret
        say(f"内部エラー (internal error): {type(exc).__name__}: {REDACTOR.scrub(str(exc))[:500]}", err=True)
        if args.debug:
            import traceback

            say(REDACTOR.scrub(traceback.format_exc()), err=True, lines=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
