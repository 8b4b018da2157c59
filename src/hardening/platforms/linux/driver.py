"""Linux servers and PCs: one SSH session, one read-only probe (the `probe` package, sent as one script) that
returns every fact."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from hardening.core.errors import (
    AuthenticationFailed,
    ChangeError,
    DeviceUnreachable,
    HardeningError,
    ProbeError,
    SavedFactsError,
)
from hardening.core.facts import parse_document
from hardening.core.platform import ApplyResult, Change, Target
from hardening.core.secrets import REDACTOR
from hardening.engines.ansible import AnsibleError, AnsibleHost, HostRun, check_credentials, playbook_path, run_playbook
from hardening.platforms.common import ssh
from hardening.platforms.linux import files, probe


class LinuxPlatform:
    name: ClassVar[str] = "linux"
    device_classes: ClassVar[frozenset[str]] = frozenset({"linux_server", "linux_pc"})
    connections: ClassVar[tuple[str, ...]] = ("ssh",)
    # Remediator: the requirements playbooks/linux.yml fixes (its tasks are named "<ID>: …"; the content tests
    # check that this set, the playbook and the catalog's automation for linux agree).
    fixes: ClassVar[frozenset[str]] = frozenset({
        "AV-RESIDENT", "LOG-FORWARD", "LOG-RETENTION", "LOG-TIMESTAMPS", "LOGIN-BANNER", "LOGIN-LASTLOGON",
        "LOGIN-LOCKOUT", "LOGIN-TIMEOUT", "MGMT-SECURE-PROTOCOLS", "PRIV-REMOTE-ROOT", "PW-CLASS", "PW-LEN",
        "PW-STORE-PROTECT", "SCREEN-LOCK", "SVC-MINIMAL", "TIME-SYNC", "USB-BLOCK-KIKAN",
    })

    def probe_source(self) -> bytes:
        """The probe package assembled into the one stdlib script the host runs on stdin."""
        return probe.assemble()

    # audit --from: a saved Linux file tree lives in <DIR>/<host>/root/ (a copy of "/", e.g. a backup).
    OFFLINE_TREE = "root"

    def parse(self, raw: Path) -> dict[str, Any]:
        """OfflineParser: the unstamped facts of the saved file tree `raw`/root/, read by the probe in offline
        mode on the auditor's side: no commands, no /proc, /sys, /run or /dev, so facts only a running host
        gives (sockets, processes, synchronisation state, loaded modules, …) are errors, never a value."""
        raw = Path(raw)
        root = raw / self.OFFLINE_TREE
        if not root.is_dir() or root.is_symlink():
            raise SavedFactsError(raw.name, f"{raw}: no saved file tree {root} (layout: <DIR>/<host>/"
                                            f"{self.OFFLINE_TREE}/etc/…)")
        return probe.collect(str(root), offline=True)

    def command(self, target: Target) -> str:
        # The probe comes on stdin: nothing is written on the host. `sudo -n` never prompts, so a
        # missing sudo rule fails at once instead of hanging until the timeout.
        python = "python3 -"
        return f"sudo -n {python}" if target.host.become else python

    def collect(self, target: Target) -> dict[str, Any]:
        """Run the probe; return its facts document (core stamps and validates it), or raise a CollectionError."""
        host = target.host
        result = ssh.run(target, self.command(target), stdin=self.probe_source())
        stderr = REDACTOR.scrub(result.stderr.decode("utf-8", "replace").strip())[-500:]
        if result.exit_status != 0:
            if "sudo" in stderr and ("password is required" in stderr or "not allowed" in stderr
                                     or "not in the sudoers" in stderr):
                raise AuthenticationFailed(host.name, f"privilege escalation refused: {stderr}")
            raise ProbeError(host.name, f"probe exited with status {result.exit_status}: {stderr or 'no message'}")
        return parse_document(host.name, result.stdout, "probe output")

    def _ansible_host(self, target: Target, fix: Sequence[str], parameters: Mapping[str, Any]) -> AnsibleHost:
        host = AnsibleHost(
            name=target.host.name, address=target.connection("ssh").hostname, port=target.connection("ssh").port,
            credentials=target.credentials, connection="ssh",
            variables={"hardening_fix": list(fix), "hardening_params": dict(parameters)},
        )
        check_credentials(host)
        return host

    def _run_many(self, jobs: Sequence[tuple[Target, AnsibleHost]], check: bool, forks: int) -> dict[str, HostRun]:
        """One ansible-playbook process for every job (targets of one run share known_hosts and policy).

        Only the tasks of the requirements some host of the run fixes are sent at all: every task of
        playbooks/linux.yml is tagged with its requirement id and gated by `'<ID>' in hardening_fix` (the content
        tests hold both), so `--tags` with the union of the hosts' lists runs exactly the tasks the gates would
        let through, without a worker process per host for each of the others just to skip it."""
        first = jobs[0][0]
        budget = max(60, int(max(t.timeout for t, _ in jobs) * 10)) * math.ceil(len(jobs) / max(1, forks))
        tags = {r for _, h in jobs for r in h.variables["hardening_fix"]}
        return run_playbook(playbook_path(self.name), [h for _, h in jobs], check=check, forks=forks,
                            known_hosts=first.known_hosts, host_key_policy=first.host_key_policy, timeout=budget,
                            tags=tags)

    def _run(self, target: Target, fix: Sequence[str], parameters: Mapping[str, Any], check: bool) -> HostRun:
        return self._run_many([(target, self._ansible_host(target, fix, parameters))], check, forks=1)[
            target.host.name]

    @staticmethod
    def _dry_run_outcome(name: str, run: HostRun) -> list[Change] | HardeningError:
        if not run.ok:
            kind = DeviceUnreachable if run.unreachable else ChangeError
            return kind(name, f"dry run failed at {run.failed_task or 'connection'}: {run.message}")
        return run.changes

    def plan(self, target: Target, fix: Sequence[str], parameters: Mapping[str, Any]) -> list[Change]:
        """Ansible --check --diff of the tasks of `fix` on this host; raises ChangeError if it fails."""
        outcome = self.plan_many([target], {target.host.name: fix}, {target.host.name: parameters}, workers=1)
        result = outcome[target.host.name]
        if isinstance(result, HardeningError):
            raise result
        return result

    def plan_many(self, targets: Sequence[Target], fix_by_host: Mapping[str, Sequence[str]],
                  params_by_host: Mapping[str, Mapping[str, Any]], *,
                  workers: int) -> dict[str, list[Change] | HardeningError]:
        """The dry run of many hosts in ONE ansible-playbook process (`workers` forks): {host: changes, or the
        error of that host alone}. Hosts whose settings cannot be used fail alone; if the batch cannot run at all
        (the agent refuses a key, ansible-runner fails), each host is tried on its own so errors stay per host."""
        outcome: dict[str, list[Change] | HardeningError] = {}
        groups: dict[tuple[str | None, str], list[tuple[Target, AnsibleHost]]] = {}
        for target in targets:
            name = target.host.name
            fix = fix_by_host.get(name) or []
            if not fix:
                outcome[name] = []
                continue
            try:
                job = (target, self._ansible_host(target, fix, params_by_host.get(name, {})))
            except HardeningError as exc:
                outcome[name] = exc
                continue
            groups.setdefault((target.known_hosts, target.host_key_policy), []).append(job)
        for jobs in groups.values():
            try:
                runs = self._run_many(jobs, check=True, forks=max(1, workers))
            except AnsibleError as exc:
                if len(jobs) == 1:
                    outcome[jobs[0][0].host.name] = exc
                    continue
                for target, host in jobs:
                    try:
                        runs = self._run_many([(target, host)], check=True, forks=1)
                        outcome[target.host.name] = self._dry_run_outcome(target.host.name, runs[target.host.name])
                    except AnsibleError as single:
                        outcome[target.host.name] = single
                continue
            for target, _ in jobs:
                outcome[target.host.name] = self._dry_run_outcome(target.host.name, runs[target.host.name])
        return outcome

    def apply(self, target: Target, fix: Sequence[str], parameters: Mapping[str, Any],
              planned: Sequence[Change]) -> ApplyResult:
        """Back up every planned target file, run the tasks of `fix`, restore the backup on failure."""
        result = ApplyResult(target.host.name)
        if not fix:
            return result
        try:
            saved = files.backup(target, [c.target for c in planned])
            if target.backup_file is not None:
                files.save(saved, target.backup_file)
        except (HardeningError, OSError) as exc:
            result.refuse(f"backup before the change failed, nothing applied: {exc}")
            return result
        try:
            run = self._run(target, fix, parameters, check=False)
            result.applied = run.changes
            if run.ok:
                return result
            result.failed = f"{run.failed_task or 'connection'}: {run.message}"
        except Exception as exc:  # whatever broke, the host goes back to its prior files
            result.failed = REDACTOR.scrub(f"{type(exc).__name__}: {exc}")[:500]
        try:
            result.rollback_problems = files.restore(target, saved)
            result.rolled_back = not result.rollback_problems
        except HardeningError as exc:
            result.rollback_problems = [str(exc)]
        return result
