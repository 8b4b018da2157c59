"""`hardening job run JOBFILE`: one scheduled run, non-interactive, the job's lock held throughout.

audit -> run directory + ledger + history (runs.audit_and_record, as `hardening audit`) -> `latest` -> optional
plan (recorded in the ledger as `hardening plan` records it) -> new drift since the previous run of the same scope
(History.previous + compare) -> one mail per responsible manager -> job.json in the run directory.
Exit code as `audit`: 0 compliant, 2 drift, 1 error (a plan with pending changes is 2; a mail that could not
be sent, a manager without an address or a history that could not record is 1).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardening import runs
from hardening.audit import Inputs, load_inputs
from hardening.changes.ledger import Ledger
from hardening.core.errors import HardeningError
from hardening.core.run import RunOptions
from hardening.core.schemas import project_root
from hardening.core.secrets import REDACTOR, SecretStore
from hardening.history import History
from hardening.jobs.jobfile import Job, Notify
from hardening.jobs.lock import job_lock
from hardening.jobs.mail import MailError, ManagerMail, by_manager, compose, send
from hardening.jobs.validate import check_paths
from hardening.report.files import atomic_write
from hardening.report.outputs import write_manager_reports
from hardening.runs import AuditRun, audit_and_record, check_groups, new_run_dir, point_latest, with_attestations

Say = Callable[[str], None]


@dataclass
class JobOutcome:
    exit_code: int
    run: AuditRun | None = None
    plan_file: Path | None = None
    mails: list[ManagerMail] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def job_inputs(job: Job, ledger: Ledger, say: Say) -> Inputs:
    """The job's inventory, catalog and waivers, with the ledger's verified attestations (after the paths it
    names are checked)."""
    check_paths(job)
    inventory = job.inventory or project_root() / "inventory"
    inputs = load_inputs(inventory, job.catalog or project_root() / "schemas" / "requirements", job.waivers)
    inputs, warnings = with_attestations(inputs, ledger, job.approvers or inventory / "approvers.yaml")
    for line in warnings:
        say(f"警告 (warning): {line}")
    check_groups(job.selection, inputs)
    return inputs


def job_ledger(job: Job) -> Ledger:
    path = job.ledger or Path(os.environ.get("HARDENING_LEDGER", "/var/lib/hardening/ledger.jsonl"))
    path.parent.mkdir(parents=True, exist_ok=True)
    return Ledger(path)


def run_options(job: Job) -> RunOptions:
    """Never a progress bar: nobody watches a timer's run."""
    return RunOptions.ssh(timeout=job.timeout, workers=job.workers, progress=False, known_hosts=job.known_hosts,
                          host_key_policy=job.host_key_policy)


def run_job(job: Job, *, say: Say, secrets: SecretStore | None = None) -> JobOutcome:
    """Run the job once under its lock (JobRunningError when another run holds it: nothing touched)."""
    with job_lock(job.output, job.name):
        return _run_locked(job, say, secrets or SecretStore())


def _run_locked(job: Job, say: Say, secrets: SecretStore) -> JobOutcome:
    ledger = job_ledger(job)
    inputs = job_inputs(job, ledger, say)

    def host_errors(report: dict[str, Any]) -> None:
        for warning in (report["run"]["offline"] or {}).get("warnings", []):
            say(f"警告 (warning): {warning}")
        for host in report["hosts"]:
            if host["error"] is not None:
                say(f"{host['name']}: {host['error']} ({host['error_kind'] or 'error'})")

    done = audit_and_record(inputs, job.selection, secrets, run_options(job),
                            out_dir=lambda run_id: new_run_dir(job.output, run_id), ledger=ledger, history=job.history,
                            offline_from=job.offline_from, lang=job.lang, formats=job.formats,
                            on_report=host_errors)
    point_latest(done.out)
    outcome = JobOutcome(done.exit_code, run=done, problems=list(done.problems))
    if job.plan:
        try:
            outcome.plan_file, plan_code = _plan(job, inputs, secrets, done, ledger)
            outcome.exit_code = worst(outcome.exit_code, plan_code)
        except HardeningError as exc:  # the report is written: the plan's failure is the run's error, told last
            outcome.problems.append(REDACTOR.scrub(f"計画を作成できません (plan not made): {exc}")[:500])
    if job.notify is not None:
        if done.history_id is None:
            outcome.problems.append("通知できません: 履歴に記録されていないため新たな不適合を判定できません "
                                    "(cannot tell new drift: the run is not in the history)")
        else:
            _notify(job, job.notify, done, done.history_id, secrets, outcome)
    if outcome.problems:
        outcome.exit_code = 1
    _write_summary(job, outcome)
    return outcome


def worst(a: int, b: int) -> int:
    """Two exit codes as one: an error (1) over drift (2) over compliant (0)."""
    return 1 if 1 in (a, b) else max(a, b)


def _plan(job: Job, inputs: Inputs, secrets: SecretStore, done: AuditRun, ledger: Ledger) -> tuple[Path, int]:
    """The plan of the audited run, written beside its report and recorded in the ledger (record first: a plan the
    ledger does not hold can never be approved)."""
    from hardening.changes.custody import record_plan
    from hardening.changes.plan import make_plan, plan_digest, write_plan

    plan, _ = make_plan(inputs, job.selection, secrets, run_options(job), audited=(done.report, done.results))
    path = done.out / "plan.json"
    record_plan(ledger, plan, plan_digest(plan))
    write_plan(plan, path)
    code: int = plan["summary"]["exit_code"]
    return path, code


def new_drift(history: History, run_id: str, report: dict[str, Any]) -> tuple[str | None, list[tuple[str, str]]]:
    """(previous run id, the (host, requirement) pairs failing now and not before). The first run of a scope has
    no previous run: every fail is new."""
    previous = history.previous(run_id)
    if previous is None:
        return None, sorted({(f["host"], f["requirement"]) for f in report["findings"] if f["status"] == "fail"})
    drift = history.compare(previous, run_id)
    return previous, sorted({(change.host, change.requirement) for change in drift.new})


def attachment_of(files: list[Path]) -> Path | None:
    """The file to attach from a manager's report files: its HTML summary page, else its JSON report."""
    for suffix in (".html", ".json"):
        found = [path for path in files if path.suffix == suffix]
        if found:
            return found[0]
    return None


def _notify(job: Job, notify: Notify, done: AuditRun, history_id: str, secrets: SecretStore,
            outcome: JobOutcome) -> None:
    try:
        with runs.open_history(job.history) as history:
            previous, new = new_drift(history, history_id, done.report)
    except Exception as exc:
        outcome.problems.append(REDACTOR.scrub(f"新たな不適合を判定できません (cannot compare with the previous run): "
                                               f"{type(exc).__name__}: {exc}")[:500])
        return
    grouped = by_manager(done.report, new)
    # Every manager's own report (their hosts only), once there is something to tell: what the mails attach.
    reports = write_manager_reports(done.report, done.out / "managers", lang=job.lang,
                                    formats=job.formats) if grouped else {}
    messages = []
    for manager, findings in grouped.items():
        hosts = sorted({f["host"] for f in findings})
        mail = ManagerMail(manager, notify.addresses(manager), findings, hosts=hosts)
        outcome.mails.append(mail)
        files = reports.get(manager, [])
        mail.report_dir = files[0].parent if files else None
        if notify.attach:
            mail.attachment = attachment_of(files)
        if not mail.addresses:
            mail.error = "no address (notify.to names no address for this manager and there is no default)"
            outcome.problems.append(f"通知先がありません (no address for manager {manager}): "
                                    f"{len(findings)} new drift on {', '.join(hosts)}")
            continue
        messages.append((mail, compose(mail, done.report, sender=notify.sender, job_name=job.name,
                                       run_dir=done.out)))
    if messages:
        try:
            send(notify.relay, messages, secrets)
        except MailError as exc:
            for mail, _ in messages:
                mail.error = mail.error or str(exc)
            outcome.problems.append(f"メールを送信できません (mail not sent): {exc}")
        else:
            outcome.problems += [f"メールを送信できません (mail to {mail.manager} not sent): {mail.error}"
                                 for mail, _ in messages if not mail.sent]
    record = {"previous_run": previous, "new_drift": len(new), "mails": [m.record() for m in outcome.mails]}
    atomic_write(done.out / "notify.json", json.dumps(REDACTOR.scrub_obj(record), ensure_ascii=False, indent=2) + "\n")


def _write_summary(job: Job, outcome: JobOutcome) -> None:
    """job.json in the run directory: which job, its exit code, plan, mails and problems."""
    if outcome.run is None:
        return
    summary = {
        "job": job.name, "job_file": str(job.path), "run_id": outcome.run.report["run"]["id"],
        "history_id": outcome.run.history_id, "exit_code": outcome.exit_code,
        "plan": str(outcome.plan_file) if outcome.plan_file else None,
        "mails": [m.record() for m in outcome.mails],
        "problems": outcome.problems,
    }
    atomic_write(outcome.run.out / "job.json",
                 json.dumps(REDACTOR.scrub_obj(summary), ensure_ascii=False, indent=2, default=str) + "\n")
