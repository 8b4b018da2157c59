"""`hardening job validate JOBFILE`: everything a run would refuse, found before the timer fires.

The job file (already loaded), its inventory, catalog and waivers, the selection (unknown group, no host), the
offline directory, and the notification: every responsible manager of the hosts in scope has an address, and
the relay's credentials entry resolves (its name only is ever shown)."""

from __future__ import annotations

from hardening.audit import select
from hardening.core.errors import InputError, SecretError
from hardening.core.schemas import project_root
from hardening.core.secrets import SecretStore
from hardening.jobs.jobfile import Job, JobFileError
from hardening.report.views import responsible_managers
from hardening.runs import check_groups


def check_paths(job: Job) -> None:
    """The files and directories the job names exist (JobFileError naming the job file and the key otherwise)."""
    from pathlib import Path

    if job.offline_from is not None and not job.offline_from.is_dir():
        raise JobFileError(str(job.path), "/from", f"{job.offline_from}: directory not found")
    if job.offline_from is None and job.known_hosts and job.host_key_policy == "strict" \
            and not Path(job.known_hosts).is_file():
        raise JobFileError(str(job.path), "/known_hosts", f"{job.known_hosts}: file not found (the strict host-key "
                           "policy checks every host key against it)")
    ca_file = job.notify.relay.ca_file if job.notify is not None else None
    if ca_file is not None and not ca_file.is_file():
        raise JobFileError(str(job.path), "/notify/smtp/ca_file", f"{ca_file}: file not found")


def validate_job(job: Job, secrets: SecretStore | None = None) -> list[str]:
    """Lines saying what the job would do; raises InputError (naming the file and place) for what it would refuse."""
    from hardening.audit import load_inputs

    inventory = job.inventory or project_root() / "inventory"
    inputs = load_inputs(inventory, job.catalog or project_root() / "schemas" / "requirements", job.waivers)
    check_groups(job.selection, inputs)
    hosts, requirements = select(inputs, job.selection)
    if not hosts:
        raise JobFileError(str(job.path), "/scope", "no host of the inventory matches the scope")
    check_paths(job)
    lines = [f"OK: job {job.name}: {len(hosts)} hosts, {len(requirements)} requirements; "
             f"formats {', '.join(job.formats)}; output {job.output}" + ("; plan" if job.plan else "")]
    if job.notify is None:
        return [*lines, "  notify: none"]
    managers = sorted({m for host in hosts
                       for m in responsible_managers({"security_managers": list(host.system.security_managers)})})
    missing = [m for m in managers if not job.notify.addresses(m)]
    if missing:
        raise JobFileError(str(job.path), "/notify/to",
                           f"no address for responsible manager(s) {', '.join(missing)} of hosts in scope "
                           "(name them in notify.to or give notify.default)")
    relay = job.notify.relay
    if relay.credentials:
        try:
            (secrets or SecretStore()).credentials(relay.credentials).require(
                "username", "password", purpose=f"SMTP AUTH on {relay.host}:{relay.port}")
        except SecretError as exc:
            raise InputError(str(job.path), "/notify/smtp/credentials", str(exc)) from None
    lines.append(f"  notify: {relay.host}:{relay.port} (STARTTLS) -> "
                 + "; ".join(f"{m}: {', '.join(job.notify.addresses(m))}" for m in managers))
    return lines
