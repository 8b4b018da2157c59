"""The ansible-runner bridge: run a playbook on hosts (check+diff or for real), return per-host changes.

Tasks are mapped to requirements by their name prefix ("<REQUIREMENT-ID>: …", checked by the
content tests). Nothing secret goes into the inventory, the extra vars or any file: an SSH key from the
vault is fed through stdin (`ssh-add -`) to an ssh-agent started for this run alone, whose socket is in
the run's private 0700 folder (engines/scratch.py); Ansible's ssh finds it through SSH_AUTH_SOCK and picks
the host's key by its public half (IdentitiesOnly). The agent is stopped when the run ends, and a watchdog
stops it within a moment if the run dies, even of SIGKILL (it waits for the end of a pipe only this process
holds). A key file named in the credentials (private_key_file) is the admin's own file and used as it is.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization

from hardening.core.errors import HardeningError
from hardening.core.platform import Change
from hardening.core.schemas import project_root
from hardening.core.secrets import REDACTOR, Credentials, Secret, mask_config_secrets
from hardening.engines import scratch

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


# Runs beside ssh-agent: stops it when its stdin reaches end of file (the run ended, or died whatever the signal:
# the kernel closes the run's end of the pipe) or when it is told to stop itself.
_AGENT_WATCHDOG = r"""
import signal, subprocess, sys
agent = subprocess.Popen(["ssh-agent", "-D", "-a", sys.argv[1]], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def stop(*_):
    raise SystemExit(0)
for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(signum, stop)
try:
    sys.stdin.buffer.read()
finally:
    agent.terminate()
    try:
        agent.wait(5)
    except subprocess.TimeoutExpired:
        agent.kill()
"""


def _public_key(secret: Secret, name: str) -> str:
    """The OpenSSH public line of a private key (PEM or OpenSSH format, unencrypted)."""
    data = secret.reveal().encode("utf-8")
    try:
        key: Any = (serialization.load_ssh_private_key(data, None) if b"OPENSSH PRIVATE KEY" in data
                    else serialization.load_pem_private_key(data, None))
        public: bytes = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                      serialization.PublicFormat.OpenSSH)
        return public.decode("ascii")
    except (ValueError, TypeError, AttributeError):
        raise AnsibleError(f"credentials {name!r}: the SSH private key cannot be read (encrypted, or not a key "
                           "ssh understands)") from None


@contextmanager
def ssh_agent(folder: Path, keys: dict[str, Secret], lifetime_s: int) -> Iterator[tuple[str, dict[str, Path]]]:
    """An ssh-agent for this run holding `keys` ({credential name: private key}), loaded through stdin.

    Yields (socket path, {credential name: public key file}); the public files let ssh choose the key in the agent.
    Keys expire after `lifetime_s` in any case. Raises AnsibleError when the agent or a key cannot be started.
    """
    agent_dir = folder / "agent"
    agent_dir.mkdir(mode=0o700)
    sock = agent_dir / "sock"
    env = {"PATH": os.environ.get("PATH", os.defpath), "SSH_AUTH_SOCK": str(sock)}
    watchdog = subprocess.Popen([sys.executable, "-c", _AGENT_WATCHDOG, str(sock)], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    scratch.track(watchdog)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            if watchdog.poll() is not None or time.monotonic() > deadline:
                raise AnsibleError("ssh-agent did not start (is openssh-client installed?)")
            time.sleep(0.02)
        publics: dict[str, Path] = {}
        for name, secret in keys.items():
            public = _public_key(secret, name)
            added = subprocess.run(["ssh-add", "-q", "-t", str(lifetime_s), "-"], env=env, capture_output=True,
                                   input=secret.reveal().rstrip("\n").encode("utf-8") + b"\n", timeout=30,
                                   check=False)
            if added.returncode != 0:
                raise AnsibleError(f"credentials {name!r}: ssh-add refused the key (exit {added.returncode})")
            publics[name] = folder / "keys" / f"{name}.pub"
            publics[name].parent.mkdir(mode=0o700, exist_ok=True)
            publics[name].write_text(public + "\n", encoding="utf-8")
        yield str(sock), publics
    finally:
        if watchdog.stdin is not None:
            watchdog.stdin.close()
        try:
            watchdog.wait(10)
        except subprocess.TimeoutExpired:
            watchdog.kill()
            watchdog.wait()
        scratch.untrack(watchdog)


def run_playbook(playbook: Path, hosts: list[AnsibleHost], *, check: bool, forks: int = 20,
                 known_hosts: str | None = None, host_key_policy: str = "strict",
                 timeout: int = 900) -> dict[str, HostRun]:
    """Run `playbook` on `hosts` through ansible-runner; check=True is --check --diff (a dry run)."""
    runs = {h.name: HostRun(h.name) for h in hosts}
    if not hosts:
        return runs
    keys: dict[str, Secret] = {}
    for h in hosts:
        if h.credentials.private_key is not None:
            keys[h.credentials.name] = h.credentials.private_key
        elif not h.credentials.private_key_file:
            raise AnsibleError(f"{h.name}: Ansible changes need an SSH key in credentials "
                               f"{h.credentials.name!r} (password SSH is not supported)")
    with scratch.private_dir("ansible-") as private, ssh_agent(private, keys, timeout + 120) as (sock, publics):
        return _run(playbook, hosts, runs, private, sock, publics, check=check, forks=forks, known_hosts=known_hosts,
                    host_key_policy=host_key_policy, timeout=timeout)


def _run(playbook: Path, hosts: list[AnsibleHost], runs: dict[str, HostRun], private: Path, sock: str,
         publics: dict[str, Path], *, check: bool, forks: int, known_hosts: str | None, host_key_policy: str,
         timeout: int) -> dict[str, HostRun]:
    import ansible_runner

    (private / "inventory").mkdir()
    inventory: dict[str, Any] = {"all": {"hosts": {}}}
    for h in hosts:
        entry: dict[str, Any] = {"ansible_host": h.address, "ansible_port": h.port,
                                 "ansible_user": h.credentials.username, **h.variables}
        # the public half selects the agent's key; an admin's own key file is used as it is
        entry["ansible_ssh_private_key_file"] = str(publics.get(h.credentials.name) or h.credentials.private_key_file)
        inventory["all"]["hosts"][h.name] = entry
    (private / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory, allow_unicode=True),
                                                      encoding="utf-8")
    strict = "accept-new" if host_key_policy == "accept-new" else "yes"
    ssh_args = (f"-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking={strict} "
                "-o IdentitiesOnly=yes")
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
        "SSH_AUTH_SOCK": sock,
    }
    cmdline = "--check --diff" if check else "--diff"
    result = ansible_runner.run(private_data_dir=str(private), playbook=str(playbook), forks=forks,
                                cmdline=cmdline, envvars=envvars, quiet=True, timeout=timeout)
    _read_events(result.events, runs)
    if result.status not in ("successful", "failed"):
        for run in runs.values():
            if run.ok and result.status == "timeout":
                run.ok, run.message = False, f"ansible-runner timed out after {timeout} s"
        if result.status not in ("timeout",):
            raise AnsibleError(f"ansible-runner ended with status {result.status!r}")
    return runs


def _read_events(events: Any, runs: dict[str, HostRun]) -> None:
    """Fill `runs` from ansible-runner's events: changes per requirement, the first failed task, unreachable."""
    for event in events:
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
