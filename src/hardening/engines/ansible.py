"""The ansible-runner bridge: run a platform's playbook on many hosts in one process (check+diff or for real),
return per-host changes.

Each host comes with the connection its PLATFORM chooses (`AnsibleHost.connection`: ssh, network_cli, httpapi,
winrm or psrp), the non-secret connection variables (ansible_network_os, ansible_winrm_transport, …) and its
credentials; a small table per connection ({Ansible variable: credential field}) says which secret goes where.
Tasks are mapped to requirements by their name prefix ("<REQUIREMENT-ID>: …", checked by the content tests).

Nothing secret goes into the inventory, the extra vars, the environment or any file:
- an SSH key from the vault is fed through stdin (`ssh-add -`) to an ssh-agent started for this run alone, whose
  socket is in the run's private 0700 folder (engines/scratch.py); Ansible's ssh (and paramiko, for network_cli)
  finds it through SSH_AUTH_SOCK and picks the host's key by its public half (IdentitiesOnly). The agent is stopped
  when the run ends, and a watchdog stops it within a moment if the run dies, even of SIGKILL (it waits for the end
  of a pipe only this process holds). A key file named in the credentials (private_key_file) is the admin's own
  file and used as it is.
- a password, an enable secret or a WinRM password is a `{{ lookup('hardening_secret', 'S_n') }}` template in the
  inventory; the value is served from memory over a socket in the same folder (engines/secret_socket.py). Not
  through the environment: ansible-runner writes the run's whole environment into artifacts/<id>/command. For the
  same reason every environment variable of this process that holds a registered secret (HARDENING_CRED_*) is
  blanked for the run, and events are kept in memory (never written as job_events files).
SSH with a password uses Ansible's own `ssh_askpass` mechanism (ansible-core >= 2.19: the password goes to ssh
through shared memory; no sshpass). Host keys: `known_hosts` + `host_key_policy` (strict | accept-new) hold for
ssh (OpenSSH options) and network_cli (paramiko, whose only known_hosts is ~/.ssh/known_hosts: the run gets a
private HOME holding a copy, and keys learned under accept-new are added back to the real file afterwards).
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization

from hardening.core.errors import HardeningError
from hardening.core.platform import Change
from hardening.core.schemas import project_root
from hardening.core.secrets import REDACTOR, Credentials, Secret, mask_config_secrets
from hardening.engines import scratch, secret_socket

_REQ = re.compile(r"^([A-Z][A-Z0-9-]+):")
MAX_DIFF = 20000


class AnsibleError(HardeningError):
    """ansible-runner could not run at all (not a task failure on a host)."""


CONNECTIONS = ("ssh", "network_cli", "httpapi", "winrm", "psrp")

#: ansible_connection per connection type (fully qualified: the network ones live in ansible.netcommon).
_PLUGIN = {"ssh": "ansible.builtin.ssh", "network_cli": "ansible.netcommon.network_cli",
           "httpapi": "ansible.netcommon.httpapi", "winrm": "ansible.builtin.winrm", "psrp": "ansible.builtin.psrp"}

#: Safe defaults per connection, which a platform's connection_vars may override: TLS verified, and network_cli on
#: paramiko, the SSH library whose host-key handling the run controls (see _host_key_env).
CONNECTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "ssh": {},
    "network_cli": {"ansible_network_cli_ssh_type": "paramiko"},
    "httpapi": {"ansible_httpapi_use_ssl": True, "ansible_httpapi_validate_certs": True},
    "winrm": {"ansible_winrm_scheme": "https", "ansible_winrm_server_cert_validation": "validate"},
    "psrp": {"ansible_psrp_protocol": "https", "ansible_psrp_cert_validation": "validate"},
}

#: Which credential field feeds which Ansible variable, per connection: {variable: (field, fallback field, …)};
#: the first field the credentials have (not None, not empty) wins. A platform may pass its own table.
SECRET_VARIABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "ssh": {"ansible_password": ("password",), "ansible_become_password": ("become_password",)},
    "network_cli": {"ansible_password": ("password",), "ansible_become_password": ("enable_secret", "become_password")},
    "httpapi": {"ansible_password": ("password",)},
    "winrm": {"ansible_password": ("winrm_password", "password")},
    "psrp": {"ansible_password": ("winrm_password", "password")},
}

#: Variables that carry a secret by their name (ansible_password, ansible_ssh_pass, ansible_become_pass,
#: ansible_httpapi_session_key …): refused among the plain variables. The port is the platform's (AnsibleHost.port).
_SECRET_NAME = re.compile(r"(pass|password|secret|token|session_key|api_key|passphrase)$", re.IGNORECASE)


@dataclass(frozen=True)
class AnsibleHost:
    """One host of a run: where, how (the platform's connection and its non-secret variables), as whom.

    `variables` are the playbook's own variables (hardening_fix, hardening_params …); `connection_vars` are
    Ansible connection settings (ansible_network_os, ansible_winrm_transport, ansible_become_method …) and must
    hold no secret; `secret_variables` maps Ansible variables to credential fields (None: SECRET_VARIABLES of the
    connection).
    """

    name: str
    address: str
    port: int
    credentials: Credentials
    variables: dict[str, Any]
    connection: str = "ssh"
    connection_vars: Mapping[str, Any] = field(default_factory=dict)
    secret_variables: Mapping[str, tuple[str, ...] | str] | None = None

    def __post_init__(self) -> None:
        if self.connection not in CONNECTIONS:
            raise AnsibleError(f"{self.name}: connection {self.connection!r} is not one of {', '.join(CONNECTIONS)}")
        for key in (*self.connection_vars, *self.variables):
            if key.startswith("ansible_") and _SECRET_NAME.search(key):
                raise AnsibleError(f"{self.name}: {key} would be written in plain text: map it to a credential "
                                   "field through secret_variables instead")

    def secrets(self) -> dict[str, Secret]:
        """{Ansible variable: secret} of this host, from its credentials by the table of its connection."""
        table = self.secret_variables if self.secret_variables is not None else SECRET_VARIABLES[self.connection]
        found: dict[str, Secret] = {}
        for variable, fields in table.items():
            for name in (fields,) if isinstance(fields, str) else fields:
                value = getattr(self.credentials, name, None)  # fields the credentials do not have yet: None
                if isinstance(value, str) and value:
                    value = Secret(value)
                if isinstance(value, Secret) and value:
                    found[variable] = value
                    break
        return found


@dataclass
class HostRun:
    host: str
    ok: bool = True
    unreachable: bool = False
    failed_task: str | None = None
    message: str | None = None
    changes: list[Change] = field(default_factory=list)


def playbook_path(platform: str) -> Path:
    """playbooks/<platform>.yml; AnsibleError when the platform has none."""
    path = project_root() / "playbooks" / f"{platform}.yml"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", platform) or not path.is_file():
        raise AnsibleError(f"platform {platform!r} has no playbook {path} (one playbook per platform: "
                           "playbooks/<platform>.yml)")
    return path


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


def check_credentials(h: AnsibleHost) -> None:
    """Raise AnsibleError when the credentials of `h` cannot log in over its connection at all."""
    creds = h.credentials
    has_key = creds.private_key is not None or bool(creds.private_key_file)
    has_password = "ansible_password" in h.secrets()
    if h.connection in ("ssh", "network_cli") and not (has_key or has_password):
        raise AnsibleError(f"{h.name}: Ansible over {h.connection} needs an SSH key or a password in credentials "
                           f"{creds.name!r}")
    if h.connection in ("httpapi", "winrm", "psrp") and not has_password and \
            h.connection_vars.get("ansible_winrm_transport") != "kerberos":
        raise AnsibleError(f"{h.name}: Ansible over {h.connection} needs a password in credentials {creds.name!r}")


_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def run_playbook(playbook: Path, hosts: list[AnsibleHost], *, check: bool, forks: int = 20,
                 known_hosts: str | None = None, host_key_policy: str = "strict",
                 timeout: int = 900, tags: Collection[str] | None = None) -> dict[str, HostRun]:
    """Run `playbook` on `hosts` in ONE ansible-playbook process through ansible-runner (up to `forks` hosts at
    once); check=True is --check --diff (a dry run). `tags`: only the tasks with one of these tags, and those
    tagged `always`, are sent to the hosts (the others are left out by ansible-playbook itself, before any
    worker process is started for them); None: every task. Returns {host: HostRun}; raises AnsibleError when
    Ansible cannot run at all (a host that fails or cannot be reached is a HostRun with ok=False)."""
    runs = {h.name: HostRun(h.name) for h in hosts}
    if not hosts:
        return runs
    bad = sorted(t for t in tags or () if not _TAG.fullmatch(t))
    if bad:
        raise AnsibleError(f"not a tag name: {', '.join(map(repr, bad))}")
    for h in hosts:
        check_credentials(h)
    keys = {h.credentials.name: h.credentials.private_key for h in hosts
            if h.credentials.private_key is not None and h.connection in ("ssh", "network_cli")}
    with ExitStack() as stack:
        private = stack.enter_context(scratch.private_dir("ansible-"))
        sock, publics = stack.enter_context(ssh_agent(private, keys, timeout + 120)) if keys else ("", {})
        inventory, secrets = build_inventory(hosts, publics)
        secret_sock = stack.enter_context(secret_socket.serve(private, secrets))
        (private / "inventory").mkdir()
        (private / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory, allow_unicode=True),
                                                          encoding="utf-8")
        envvars = run_environment(private, hosts, agent_sock=sock, secret_sock=secret_sock, known_hosts=known_hosts,
                                  host_key_policy=host_key_policy)
        try:
            return _run(playbook, runs, private, envvars, check=check, forks=min(forks, len(hosts)) or 1,
                        timeout=timeout, tags=tags)
        finally:
            _keep_learned_host_keys(private, known_hosts, host_key_policy)


def build_inventory(hosts: list[AnsibleHost], publics: Mapping[str, Path]) -> tuple[dict[str, Any],
                                                                                      dict[str, Secret]]:
    """(inventory, {secret name: secret}): the inventory holds lookups of the secret names, never a value."""
    inventory: dict[str, Any] = {"all": {"hosts": {}}}
    secrets: dict[str, Secret] = {}
    for h in hosts:
        entry: dict[str, Any] = {**CONNECTION_DEFAULTS[h.connection], **h.connection_vars,
                                 "ansible_host": h.address, "ansible_port": h.port,
                                 "ansible_user": h.credentials.username,
                                 "ansible_connection": _PLUGIN[h.connection], **h.variables}
        if h.connection == "ssh":
            # the public half selects the agent's key; an admin's own key file is used as it is
            key = publics.get(h.credentials.name) or h.credentials.private_key_file
            if key:
                entry["ansible_ssh_private_key_file"] = str(key)
        elif h.connection == "network_cli" and h.credentials.private_key_file and \
                h.credentials.name not in publics:
            entry["ansible_private_key_file"] = str(h.credentials.private_key_file)
        for variable, secret in h.secrets().items():
            name = f"S_{len(secrets)}"
            secrets[name] = secret
            entry[variable] = "{{ lookup('hardening_secret', '" + name + "') }}"
        inventory["all"]["hosts"][h.name] = entry
    return inventory, secrets


def _paramiko_home(private: Path) -> Path:
    return private / "home"


def _host_key_env(private: Path, hosts: list[AnsibleHost], known_hosts: str | None,
                  host_key_policy: str) -> dict[str, str]:
    """Host-key checking for every connection: OpenSSH options for ssh; for network_cli (paramiko) checking on, new
    keys added only under accept-new, and a HOME whose .ssh/known_hosts is a copy of `known_hosts`."""
    accept_new = host_key_policy == "accept-new"
    strict = "accept-new" if accept_new else "yes"
    ssh_args = (f"-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking={strict} "
                "-o IdentitiesOnly=yes")
    if known_hosts:
        ssh_args += f" -o UserKnownHostsFile={known_hosts}"
    env = {"ANSIBLE_SSH_ARGS": ssh_args, "ANSIBLE_HOST_KEY_CHECKING": "True",
           # The run's own ssh masters: a later run never rides on an earlier run's authenticated connection
           # (which would skip its credentials and host-key check); the default is ~/.ansible/cp, shared by all.
           "ANSIBLE_SSH_CONTROL_PATH_DIR": str(private / "cp"),
           "ANSIBLE_PARAMIKO_HOST_KEY_AUTO_ADD": str(accept_new), "ANSIBLE_HOST_KEY_AUTO_ADD": str(accept_new),
           "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": str(accept_new)}
    if known_hosts and any(h.connection == "network_cli" for h in hosts):
        home = _paramiko_home(private)
        (home / ".ssh").mkdir(mode=0o700, parents=True)
        source = Path(known_hosts)
        (home / ".ssh" / "known_hosts").write_bytes(source.read_bytes() if source.is_file() else b"")
        env["HOME"] = str(home)
        # the collections the real HOME knows stay found
        real = Path.home()
        env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.environ.get(
            "ANSIBLE_COLLECTIONS_PATH", f"{real}/.ansible/collections:/usr/share/ansible/collections"))
    return env


def _keep_learned_host_keys(private: Path, known_hosts: str | None, host_key_policy: str) -> None:
    """Under accept-new, keys paramiko learned in the run's HOME join the real known_hosts (as OpenSSH's do)."""
    copy = _paramiko_home(private) / ".ssh" / "known_hosts"
    if not known_hosts or host_key_policy != "accept-new" or not copy.is_file():
        return
    real = Path(known_hosts)
    have = set(real.read_text(encoding="utf-8").splitlines()) if real.is_file() else set()
    learned = [line for line in copy.read_text(encoding="utf-8").splitlines() if line.strip() and line not in have]
    if learned:
        with real.open("a", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in learned))


def run_environment(private: Path, hosts: list[AnsibleHost], *, agent_sock: str, secret_sock: str,
                    known_hosts: str | None, host_key_policy: str) -> dict[str, str]:
    """The environment of the ansible-playbook process (no secret: ansible-runner writes it to disk)."""
    envvars = {
        # ansible-playbook from the same environment as this process, activated or not
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        **_host_key_env(private, hosts, known_hosts, host_key_policy),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        # Pipelining: each task's module goes to the host's python on the stdin of ONE ssh command, instead of a
        # temporary file copied there, made executable, run and removed (four round trips per task, each a new
        # ssh process here and a shell there). Needs sudo without `requiretty` (Debian's default); nothing of the
        # module or its arguments is left in the host's temporary folder.
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_LOCAL_TEMP": str(private / "tmp"),
        "ANSIBLE_ROLES_PATH": str(project_root() / "roles"),
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
        "ANSIBLE_LOOKUP_PLUGINS": str(secret_socket.LOOKUP_PLUGINS),
        "SSH_AUTH_SOCK": agent_sock,
        "HARDENING_SECRET_SOCK": secret_sock,
    }
    # ansible-runner starts from a copy of this process's environment and writes it whole into its artifacts:
    # blank whatever holds a secret (credentials given as HARDENING_CRED_* variables) for the run.
    for key, value in os.environ.items():
        if key not in envvars and (key.startswith("HARDENING_CRED_") or REDACTOR.scrub(value) != value):
            envvars[key] = ""
    return envvars


def _run(playbook: Path, runs: dict[str, HostRun], private: Path, envvars: dict[str, str], *, check: bool,
         forks: int, timeout: int, tags: Collection[str] | None = None) -> dict[str, HostRun]:
    import ansible_runner

    events: list[dict[str, Any]] = []

    def keep_in_memory(event: dict[str, Any]) -> bool:
        events.append(event)
        return False  # not written as artifacts/<id>/job_events/*.json

    cmdline = "--check --diff" if check else "--diff"
    if tags is not None:
        cmdline += " --tags " + ",".join(["always", *sorted(set(tags) - {"always"})])
    # cancel_callback given: on the main thread (a batch run) ansible-runner would otherwise install its own
    # SIGTERM/SIGINT handlers for good, and a SIGTERM would cancel the run instead of cleaning up and ending it.
    result = ansible_runner.run(private_data_dir=str(private), playbook=str(playbook), forks=forks,
                                cmdline=cmdline, envvars=envvars, quiet=True, timeout=timeout,
                                suppress_env_files=True, event_handler=keep_in_memory,
                                cancel_callback=lambda: False)
    seen = _read_events(events, runs)
    if result.status == "failed":
        # ansible-playbook failed before it ran anything on these hosts (a playbook it cannot parse, a missing
        # file): no event is no evidence, never "nothing to change" (fail closed)
        for name in sorted(set(runs) - seen):
            if runs[name].ok:
                runs[name].ok, runs[name].message = False, "ansible-playbook failed before any task ran on this host"
    if result.status not in ("successful", "failed"):
        for run in runs.values():
            if run.ok and result.status == "timeout":
                run.ok, run.message = False, f"ansible-runner timed out after {timeout} s"
        if result.status not in ("timeout",):
            raise AnsibleError(f"ansible-runner ended with status {result.status!r}")
    return runs


def _read_events(events: Any, runs: dict[str, HostRun]) -> set[str]:
    """Fill `runs` from ansible-runner's events: changes per requirement, the first failed task, unreachable.
    Returns the hosts some task result was reported for."""
    seen: set[str] = set()
    for event in events:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        host = data.get("host")
        if host not in runs:
            continue
        if kind.startswith("runner_on_") and kind != "runner_on_start":
            seen.add(host)
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
    return seen
