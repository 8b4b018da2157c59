"""The ansible-runner bridge: run a playbook on hosts (check+diff or for real), return per-host changes.

Tasks are mapped to requirements by their name prefix ("<REQUIREMENT-ID>: …", checked by the
content tests). Nothing secret goes into the inventory or extra vars: the SSH key is written to a
0600 file inside the private data directory, which is removed afterwards.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hardening.core.errors import HardeningError
from hardening.core.platform import Change
from hardening.core.schemas import project_root
from hardening.core.secrets import REDACTOR, Credentials, mask_config_secrets

_REQ = re.compile(r"^([A-Z][A-Z0-9-]+):")
MAX_DIFF = 20000


class AnsibleError(HardeningError):
    """ansible-runner could not run at all (not a task failure on a host)."""


@dataclass(frozen=True)
class AnsibleHost:
    name: str
    address: str
    port: int
    credentials: Credentials
    variables: dict[str, Any]


@dataclass
class HostRun:
    host: str
    ok: bool = True
    unreachable: bool = False
    failed_task: str | None = None
    message: str | None = None
    changes: list[Change] = field(default_factory=list)


def playbook_path(name: str) -> Path:
    return project_root() / "playbooks" / name


_HEADER_SUFFIX = re.compile(r"\s+\((content|file attributes)\)$")


def _unified(entry: dict[str, Any]) -> tuple[str, str]:
    """(target, unified diff text) from one Ansible diff entry; the target is the bare path
    (lineinfile and friends name it "<path> (content)")."""
    before_header = _HEADER_SUFFIX.sub("", str(entry.get("before_header") or entry.get("after_header") or ""))
    after_header = _HEADER_SUFFIX.sub("", str(entry.get("after_header") or before_header))
    if "prepared" in entry:  # apt and friends describe the change as text
        return before_header or "packages", str(entry["prepared"])[:MAX_DIFF]
    before = entry.get("before", "")
    after = entry.get("after", "")
    if isinstance(before, dict) or isinstance(after, dict):  # file attributes (mode, state …)
        before_text = yaml.safe_dump(before or {}, sort_keys=True)
        after_text = yaml.safe_dump(after or {}, sort_keys=True)
    else:
        before_text, after_text = str(before or ""), str(after or "")
    lines = difflib.unified_diff(before_text.splitlines(keepends=True), after_text.splitlines(keepends=True),
                                 fromfile=f"a:{before_header}", tofile=f"b:{after_header}")
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return before_header or after_header, text[:MAX_DIFF]


def _changes(requirement: str, task: str, res: dict[str, Any]) -> list[Change]:
    found: list[Change] = []
    results = res.get("results")
    if isinstance(results, list):  # a loop: one result per item
        for item in results:
            if isinstance(item, dict) and item.get("changed"):
                found += _changes(requirement, task, {k: v for k, v in item.items() if k != "results"})
        return found
    if not res.get("changed"):
        return found
    diffs = res.get("diff")
    entries = diffs if isinstance(diffs, list) else [diffs] if isinstance(diffs, dict) else []
    for entry in entries:
        target, text = _unified(entry)
        if text.strip():
            found.append(Change(requirement, task, target, REDACTOR.scrub(mask_config_secrets(text))))
    if not found:  # changed without a diff (a service started, a command): still a change to show.
        # Named by the task: modules report different fields in check mode and for real.
        found.append(Change(requirement, task, task, f"(changed: {task})\n"))
    return found


def run_playbook(playbook: Path, hosts: list[AnsibleHost], *, check: bool, forks: int = 20,
                 known_hosts: str | None = None, host_key_policy: str = "strict",
                 timeout: int = 900) -> dict[str, HostRun]:
    """Run `playbook` on `hosts` through ansible-runner; check=True is --check --diff (a dry run)."""
    import ansible_runner

    runs = {h.name: HostRun(h.name) for h in hosts}
    if not hosts:
        return runs
    private = Path(tempfile.mkdtemp(prefix="hardening-ansible-"))
    try:
        private.chmod(0o700)
        (private / "inventory").mkdir()
        keys = private / "keys"
        keys.mkdir(mode=0o700)
        inventory: dict[str, Any] = {"all": {"hosts": {}}}
        for h in hosts:
            entry: dict[str, Any] = {"ansible_host": h.address, "ansible_port": h.port,
                                     "ansible_user": h.credentials.username, **h.variables}
            if h.credentials.private_key is not None:
                key = keys / f"{h.credentials.name}.key"
                if not key.exists():
                    key.write_text(h.credentials.private_key.reveal().rstrip("\n") + "\n", encoding="utf-8")
                    key.chmod(0o600)
                entry["ansible_ssh_private_key_file"] = str(key)
            elif h.credentials.private_key_file:
                entry["ansible_ssh_private_key_file"] = h.credentials.private_key_file
            else:
                raise AnsibleError(f"{h.name}: Ansible changes need an SSH key in credentials "
                                   f"{h.credentials.name!r} (password SSH is not supported)")
            inventory["all"]["hosts"][h.name] = entry
        (private / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory, allow_unicode=True),
                                                          encoding="utf-8")
        strict = "accept-new" if host_key_policy == "accept-new" else "yes"
        ssh_args = f"-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking={strict}"
        if known_hosts:
            ssh_args += f" -o UserKnownHostsFile={known_hosts}"
        envvars = {
            # ansible-playbook from the same environment as this process, activated or not
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
            "ANSIBLE_SSH_ARGS": ssh_args,
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "True",
            "ANSIBLE_LOCAL_TEMP": str(private / "tmp"),
            "ANSIBLE_ROLES_PATH": str(project_root() / "roles"),
            "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
        }
        cmdline = "--check --diff" if check else "--diff"
        result = ansible_runner.run(private_data_dir=str(private), playbook=str(playbook), forks=forks,
                                    cmdline=cmdline, envvars=envvars, quiet=True, timeout=timeout)
        for event in result.events:
            kind = event.get("event", "")
            data = event.get("event_data", {})
            host = data.get("host")
            if host not in runs:
                continue
            task = str(data.get("task", ""))
            match = _REQ.match(task)
            res = data.get("res") or {}
            if kind == "runner_on_ok" and match:
                runs[host].changes += _changes(match.group(1), task, res)
            elif kind == "runner_on_failed" and not data.get("ignore_errors"):
                runs[host].ok = False
                runs[host].failed_task = runs[host].failed_task or task
                runs[host].message = REDACTOR.scrub(str(res.get("msg") or res.get("stderr") or "task failed"))[:500]
            elif kind == "runner_on_unreachable":
                runs[host].ok = False
                runs[host].unreachable = True
                runs[host].message = REDACTOR.scrub(str(res.get("msg") or "unreachable"))[:500]
        if result.status not in ("successful", "failed"):
            for run in runs.values():
                if run.ok and result.status == "timeout":
                    run.ok, run.message = False, f"ansible-runner timed out after {timeout} s"
            if result.status not in ("timeout",):
                raise AnsibleError(f"ansible-runner ended with status {result.status!r}")
        return runs
    finally:
        shutil.rmtree(private, ignore_errors=True)
