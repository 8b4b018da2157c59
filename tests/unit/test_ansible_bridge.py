"""The Ansible bridge never writes an SSH private key to disk: a per-run ssh-agent carries it (fed through stdin),
its scratch directory is private (0700), removed afterwards, and the next run sweeps what a killed run left.
Every connection type (ssh with a key or a password, network_cli, httpapi, winrm, psrp) gets its plugin, safe
defaults and host-key checking, and its passwords only as lookups served from memory: no file, no environment.

ansible-runner itself is replaced by a stub that looks at the disk and the agent while "Ansible runs"; the real
run (and the real SIGTERM / SIGKILL of `hardening plan`) is in tests/lab/test_change_control.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
import threading
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hardening.changes import plan as plan_module
from hardening.core.errors import ChangeError, DeviceUnreachable, HardeningError
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import Change, Target
from hardening.core.secrets import Credentials, Secret
from hardening.engines import ansible as bridge
from hardening.engines.ansible import AnsibleHost, HostRun, run_playbook
from hardening.engines.ansible_plugins.lookup.hardening_secret import fetch
from hardening.platforms.linux import driver as linux_driver


def _key() -> tuple[str, str]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, public.decode()


def _secret_lines(private: str) -> list[str]:
    return [line for line in private.splitlines() if line and not line.startswith("-----")]


@pytest.fixture
def tmp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _stub_runner(monkeypatch: pytest.MonkeyPatch, seen: dict[str, Any], tmp_root: Path) -> None:
    def run(**kwargs: Any) -> Any:
        seen["files"] = {str(p): p.read_bytes() for p in tmp_root.rglob("*") if p.is_file()}
        seen["private_mode"] = stat.S_IMODE(Path(kwargs["private_data_dir"]).stat().st_mode)
        sock = kwargs["envvars"].get("SSH_AUTH_SOCK")
        seen["sock"] = sock
        if sock:
            seen["sock_dir_mode"] = stat.S_IMODE(Path(sock).parent.stat().st_mode)
            seen["agent"] = subprocess.run(["ssh-add", "-L"], env={"SSH_AUTH_SOCK": sock}, capture_output=True,
                                           text=True, check=False).stdout
        inventory = Path(kwargs["private_data_dir"]) / "inventory" / "hosts.yml"
        seen["inventory"] = inventory.read_text(encoding="utf-8")
        seen["ssh_args"] = kwargs["envvars"].get("ANSIBLE_SSH_ARGS", "")
        return types.SimpleNamespace(events=[], status="successful")

    monkeypatch.setitem(sys.modules, "ansible_runner", types.SimpleNamespace(run=run))


def test_private_key_travels_through_an_agent_never_a_file(tmp_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private, public = _key()
    seen: dict[str, Any] = {}
    _stub_runner(monkeypatch, seen, tmp_root)
    host = AnsibleHost("web01", "192.0.2.10", 22, Credentials("lab", "hardening", private_key=Secret(private)), {})
    run_playbook(Path("playbook.yml"), [host], check=True)
    for line in _secret_lines(private):
        assert not any(line.encode() in data for data in seen["files"].values())
    assert seen["sock"], "ansible must get SSH_AUTH_SOCK"
    assert public in seen["agent"]
    assert seen["sock_dir_mode"] == 0o700
    assert seen["private_mode"] == 0o700
    assert "IdentitiesOnly=yes" in seen["ssh_args"]
    # afterwards: nothing left on disk, and the agent is gone
    assert not [p for p in tmp_root.rglob("*") if p.is_file()]
    gone = subprocess.run(["ssh-add", "-L"], env={"SSH_AUTH_SOCK": seen["sock"]}, capture_output=True,
                          check=False)
    assert gone.returncode == 2


def _leftover(root: Path, pid: int, start: str) -> Path:
    folder = root / f"ansible-{pid}"
    folder.mkdir(mode=0o700)
    (folder / "owner.json").write_text(json.dumps({"pid": pid, "start": start}), encoding="utf-8")
    (folder / "inventory").mkdir()
    return folder


def test_next_run_sweeps_what_a_killed_run_left_but_not_a_live_run(tmp_root: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from hardening.engines import scratch

    root = scratch.root()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    dead = subprocess.Popen(["true"])
    dead.wait()
    live = subprocess.Popen(["sleep", "30"])
    try:
        killed_run = _leftover(root, dead.pid, "1")
        live_run = _leftover(root, live.pid, scratch.start_time(live.pid))
        reused_pid = _leftover(root, live.pid + 100000, "1")  # no such process
        seen: dict[str, Any] = {}
        _stub_runner(monkeypatch, seen, tmp_root)
        private, _ = _key()
        host = AnsibleHost("web01", "192.0.2.10", 22, Credentials("lab", "hardening", private_key=Secret(private)),
                           {})
        run_playbook(Path("playbook.yml"), [host], check=True)
        assert not killed_run.exists()
        assert not reused_pid.exists()
        assert live_run.exists()
    finally:
        live.kill()
        live.wait()
    # the same pid with another start time is another process: the run that made the folder is dead
    impostor = _leftover(root, os.getpid(), "1")
    scratch.sweep()
    assert not impostor.exists()


def test_sweep_never_removes_a_folder_whose_owner_file_is_being_written(tmp_root: Path) -> None:
    """Another run caught between creating its folder and finishing owner.json (empty or half written) is
    alive: a concurrent sweep once removed such a folder mid-plan (FileNotFoundError on its agent dir)."""
    from hardening.engines import scratch

    root = scratch.root()
    half = root / "ansible-being-made"
    half.mkdir(mode=0o700)
    (half / "owner.json").write_text('{"pid": 12', encoding="utf-8")
    scratch.sweep()
    assert half.exists()
    # an old folder with a broken owner file is a dead run's, and goes
    os.utime(half, (1, 1))
    scratch.sweep()
    assert not half.exists()


def test_concurrent_runs_in_one_process_keep_their_folders(tmp_root: Path) -> None:
    """Many hosts planned at once (one thread each): every thread's folder survives every other's sweep."""
    import threading

    from hardening.engines import scratch

    problems: list[str] = []

    def worker() -> None:
        for _ in range(40):
            try:
                with scratch.private_dir("ansible-") as folder:
                    (folder / "agent").mkdir(mode=0o700)
                    (folder / "agent" / "sock").write_text("x", encoding="utf-8")
            except OSError as exc:
                problems.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert [p.name for p in scratch.root().iterdir()] == []


# --- every connection type: inventory, environment, secrets never on disk -------------------------------------



@dataclass(frozen=True, repr=False)
class TypedCredentials(Credentials):
    """The lead's typed secret fields (enable secret, WinRM password), as core/secrets will carry them."""

    enable_secret: Secret | None = None
    winrm_password: Secret | None = None


PASSWORD = "Pw-0f-the-router!x7"  # noqa: S105 - test values, made up
ENABLE = "En4ble-secret-q9Z"
WINRM = "W1nrm-pass-Kk2"


def _scan_stub(monkeypatch: pytest.MonkeyPatch, seen: dict[str, Any], tmp_root: Path,
               during: Any = None) -> None:
    """ansible_runner.run replaced: records every file under the scratch root while "Ansible runs", the
    inventory, the environment and the keyword arguments, and asks the secret socket as the lookup would."""

    def run(**kwargs: Any) -> Any:
        private = Path(kwargs["private_data_dir"])
        seen["files"] = {str(p): p.read_bytes() for p in tmp_root.rglob("*") if p.is_file()}
        seen["inventory"] = yaml.safe_load((private / "inventory" / "hosts.yml").read_text(encoding="utf-8"))
        seen["env"] = dict(kwargs["envvars"])
        seen["kwargs"] = kwargs
        sock = kwargs["envvars"].get("HARDENING_SECRET_SOCK")
        seen["served"] = {}
        for entry in seen["inventory"]["all"]["hosts"].values():
            for key, value in entry.items():
                if isinstance(value, str) and "hardening_secret" in value:
                    name = value.split("'")[3]
                    seen["served"][(entry["ansible_host"], key)] = fetch(sock, name)
        if during is not None:
            during(kwargs)
        return types.SimpleNamespace(events=[], status="successful")

    monkeypatch.setitem(sys.modules, "ansible_runner", types.SimpleNamespace(run=run))


def _no_secret_anywhere(seen: dict[str, Any], *values: str) -> None:
    for value in values:
        assert not any(value.encode() in data for data in seen["files"].values()), value
        assert not any(value in str(v) for v in seen["env"].values()), value
        assert value not in repr(seen["kwargs"]), value


def test_every_connection_type_gets_its_plugin_defaults_and_secrets_by_lookup(tmp_root: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    _scan_stub(monkeypatch, seen, tmp_root)
    hosts = [
        AnsibleHost("srv", "192.0.2.1", 22, Credentials("srv", "admin", password=Secret(PASSWORD)), {}),
        AnsibleHost("rtr", "192.0.2.2", 22,
                    TypedCredentials("rtr", "admin", password=Secret(PASSWORD), enable_secret=Secret(ENABLE)), {},
                    connection="network_cli",
                    connection_vars={"ansible_network_os": "cisco.ios.ios", "ansible_become": True,
                                     "ansible_become_method": "enable"}),
        AnsibleHost("fw", "192.0.2.3", 443, Credentials("fw", "admin", password=Secret(PASSWORD)), {},
                    connection="httpapi", connection_vars={"ansible_network_os": "fortinet.fortios.fortios"}),
        AnsibleHost("win", "192.0.2.4", 5986,
                    TypedCredentials("win", "Administrator", winrm_password=Secret(WINRM)), {},
                    connection="winrm", connection_vars={"ansible_winrm_transport": "ntlm"}),
        AnsibleHost("pc", "192.0.2.5", 5986, Credentials("pc", "Administrator", password=Secret(WINRM)), {},
                    connection="psrp"),
    ]
    run_playbook(Path("playbook.yml"), hosts, check=True)
    inv = seen["inventory"]["all"]["hosts"]
    assert inv["srv"]["ansible_connection"] == "ansible.builtin.ssh"
    assert inv["rtr"]["ansible_connection"] == "ansible.netcommon.network_cli"
    assert inv["rtr"]["ansible_network_os"] == "cisco.ios.ios"
    assert inv["rtr"]["ansible_become_method"] == "enable"
    assert inv["rtr"]["ansible_network_cli_ssh_type"] == "paramiko"
    assert inv["fw"]["ansible_connection"] == "ansible.netcommon.httpapi"
    assert inv["fw"]["ansible_httpapi_use_ssl"] is True
    assert inv["fw"]["ansible_httpapi_validate_certs"] is True
    assert inv["win"]["ansible_connection"] == "ansible.builtin.winrm"
    assert inv["win"]["ansible_winrm_scheme"] == "https"
    assert inv["win"]["ansible_winrm_server_cert_validation"] == "validate"
    assert inv["win"]["ansible_port"] == 5986
    assert inv["pc"]["ansible_psrp_cert_validation"] == "validate"
    # every secret is a lookup in the inventory, and the socket serves the right one
    assert seen["served"] == {
        ("192.0.2.1", "ansible_password"): PASSWORD,
        ("192.0.2.2", "ansible_password"): PASSWORD, ("192.0.2.2", "ansible_become_password"): ENABLE,
        ("192.0.2.3", "ansible_password"): PASSWORD,
        ("192.0.2.4", "ansible_password"): WINRM, ("192.0.2.5", "ansible_password"): WINRM,
    }
    assert "ansible_become_password" not in inv["srv"]  # no become password in the credentials: none sent
    _no_secret_anywhere(seen, PASSWORD, ENABLE, WINRM)
    assert seen["env"]["ANSIBLE_LOOKUP_PLUGINS"].endswith("ansible_plugins/lookup")
    assert seen["kwargs"]["suppress_env_files"] is True  # env/envvars is never written
    assert seen["kwargs"]["event_handler"]({"event": "x"}) is False  # events stay in memory, no job_events files
    # ansible-runner installs no SIGTERM handler of its own (it would, on the main thread, when not given one)
    assert seen["kwargs"]["cancel_callback"]() is False
    # afterwards nothing is left: socket, inventory, folder
    assert not [p for p in tmp_root.rglob("*") if p.is_file()]


def test_a_platform_maps_its_own_credential_fields(tmp_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small table per platform: before the lead's field exists, getattr finds None and the fallback wins."""
    seen: dict[str, Any] = {}
    _scan_stub(monkeypatch, seen, tmp_root)
    creds = Credentials("rtx", "admin", password=Secret(PASSWORD), become_password=Secret(ENABLE))
    rtx = AnsibleHost("rtx", "192.0.2.9", 22, creds, {}, connection="network_cli",
                      connection_vars={"ansible_network_os": "yamaha_network.rtx.rtx"},
                      secret_variables={"ansible_password": "password",
                                        "ansible_become_password": ("admin_password", "become_password")})
    run_playbook(Path("playbook.yml"), [rtx], check=True)
    assert seen["served"] == {("192.0.2.9", "ansible_password"): PASSWORD,
                              ("192.0.2.9", "ansible_become_password"): ENABLE}
    _no_secret_anywhere(seen, PASSWORD, ENABLE)


@pytest.mark.parametrize("variable", ["ansible_password", "ansible_ssh_pass", "ansible_become_pass",
                                      "ansible_httpapi_session_key", "ansible_become_password"])
def test_a_secret_among_the_plain_variables_is_refused(variable: str) -> None:
    with pytest.raises(bridge.AnsibleError, match=variable):
        AnsibleHost("rtr", "192.0.2.2", 22, Credentials("c", "u", password=Secret(PASSWORD)), {},
                    connection="network_cli", connection_vars={variable: "x"})


def test_unknown_connection_and_missing_login_are_refused(tmp_root: Path) -> None:
    with pytest.raises(bridge.AnsibleError, match="telnet"):
        AnsibleHost("h", "192.0.2.2", 23, Credentials("c", "u", password=Secret(PASSWORD)), {}, connection="telnet")
    with pytest.raises(bridge.AnsibleError, match="SSH key or a password"):
        run_playbook(Path("p.yml"), [AnsibleHost("h", "192.0.2.2", 22, Credentials("c", "u"), {})], check=True)
    with pytest.raises(bridge.AnsibleError, match="needs a password"):
        run_playbook(Path("p.yml"), [AnsibleHost("h", "192.0.2.2", 5986, Credentials("c", "u"), {},
                                                 connection="winrm")], check=True)


def test_playbook_per_platform() -> None:
    assert bridge.playbook_path("linux").name == "linux.yml"
    with pytest.raises(bridge.AnsibleError, match=r"playbooks/<platform>\.yml"):
        bridge.playbook_path("cisco_ios")
    with pytest.raises(bridge.AnsibleError):
        bridge.playbook_path("../linux")


@pytest.mark.parametrize("policy", ["strict", "accept-new"])
def test_host_key_checking_for_ssh_and_network_cli(tmp_root: Path, monkeypatch: pytest.MonkeyPatch,
                                                   policy: str) -> None:
    known = tmp_root / "known_hosts"
    known.write_text("192.0.2.2 ssh-ed25519 AAAAold\n", encoding="utf-8")

    def paramiko_learns(kwargs: dict[str, Any]) -> None:  # what paramiko does under auto-add in the run's HOME
        copy = Path(kwargs["envvars"]["HOME"]) / ".ssh" / "known_hosts"
        seen["copy"] = copy.read_text(encoding="utf-8")
        with copy.open("a", encoding="utf-8") as out:
            out.write("192.0.2.7 ssh-ed25519 AAAAnew\n")

    seen: dict[str, Any] = {}
    _scan_stub(monkeypatch, seen, tmp_root, during=paramiko_learns)
    hosts = [AnsibleHost("srv", "192.0.2.1", 22, Credentials("s", "u", password=Secret(PASSWORD)), {}),
             AnsibleHost("rtr", "192.0.2.7", 22, Credentials("r", "u", password=Secret(PASSWORD)), {},
                         connection="network_cli", connection_vars={"ansible_network_os": "cisco.ios.ios"})]
    run_playbook(Path("p.yml"), hosts, check=True, known_hosts=str(known), host_key_policy=policy)
    env = seen["env"]
    accept_new = policy == "accept-new"
    assert f"StrictHostKeyChecking={'accept-new' if accept_new else 'yes'}" in env["ANSIBLE_SSH_ARGS"]
    assert f"UserKnownHostsFile={known}" in env["ANSIBLE_SSH_ARGS"]
    assert env["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    # ssh masters of this run only (~/.ansible/cp would let the next run skip its login and host-key check)
    assert env["ANSIBLE_SSH_CONTROL_PATH_DIR"].startswith(str(tmp_root))
    assert env["ANSIBLE_PARAMIKO_HOST_KEY_AUTO_ADD"] == str(accept_new)
    assert env["ANSIBLE_HOST_KEY_AUTO_ADD"] == str(accept_new)
    assert seen["copy"] == "192.0.2.2 ssh-ed25519 AAAAold\n"  # paramiko reads our known_hosts, not root's
    learned = "192.0.2.7 ssh-ed25519 AAAAnew" in known.read_text(encoding="utf-8")
    assert learned is accept_new  # accept-new keeps what it learned (TOFU); strict never adds a key


def test_tasks_are_pipelined(tmp_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each task's module reaches the host on the stdin of one ssh command (no temporary file copied there, made
    executable, run and removed: four round trips per task, and the module's arguments left on the host's disk
    meanwhile)."""
    seen: dict[str, Any] = {}
    _scan_stub(monkeypatch, seen, tmp_root)
    host = AnsibleHost("srv", "192.0.2.1", 22, Credentials("s", "u", password=Secret(PASSWORD)), {})
    run_playbook(Path("p.yml"), [host], check=True)
    assert seen["env"]["ANSIBLE_PIPELINING"] == "True"


def test_only_the_tagged_tasks_are_sent(tmp_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tags: ansible-playbook leaves out every other task itself (plus `always`); no tags: the whole playbook; a
    tag that is not a plain name never reaches the command line."""
    seen: dict[str, Any] = {}
    _scan_stub(monkeypatch, seen, tmp_root)
    host = AnsibleHost("srv", "192.0.2.1", 22, Credentials("s", "u", password=Secret(PASSWORD)), {})
    run_playbook(Path("p.yml"), [host], check=True, tags={"PW-LEN", "LOGIN-BANNER"})
    assert seen["kwargs"]["cmdline"] == "--check --diff --tags always,LOGIN-BANNER,PW-LEN"
    run_playbook(Path("p.yml"), [host], check=False)
    assert seen["kwargs"]["cmdline"] == "--diff"
    with pytest.raises(bridge.AnsibleError, match="not a tag name"):
        run_playbook(Path("p.yml"), [host], check=False, tags={"PW-LEN --extra-vars x=1"})


def test_real_run_with_tags_runs_only_those_tasks_and_the_always_ones(tmp_root: Path, tmp_path: Path) -> None:
    """The real ansible-playbook (tasks delegated to the controller, no SSH): with tags, a task of another tag is
    never run, a task tagged `always` is, and a handler notified by a run task still runs."""
    playbook = tmp_path / "tagged.yml"
    marks = tmp_path / "marks"
    marks.mkdir()
    task = ("    - name: \"{rid}: mark\"\n      ansible.builtin.command:\n        argv: [touch, {path}]\n"
            "      delegate_to: localhost\n      changed_when: true\n      tags: [{tag}]\n")
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        + task.format(rid="PRE", path=marks / "always", tag="always")
        + task.format(rid="AAA-X", path=marks / "aaa", tag="AAA-X") + "      notify: done\n"
        + task.format(rid="BBB-Y", path=marks / "bbb", tag="BBB-Y")
        + "  handlers:\n    - name: done\n      ansible.builtin.command:\n"
        f"        argv: [touch, {marks / 'handler'}]\n      delegate_to: localhost\n      changed_when: true\n",
        encoding="utf-8")
    host = AnsibleHost("h", "192.0.2.9", 22, Credentials("s", "u", password=Secret(PASSWORD)), {})
    runs = run_playbook(playbook, [host], check=False, tags={"AAA-X"}, timeout=120)
    assert runs["h"].ok, runs["h"].message
    assert sorted(p.name for p in marks.iterdir()) == ["aaa", "always", "handler"]
    assert [c.requirement for c in runs["h"].changes] == ["PRE", "AAA-X"]


def test_a_playbook_that_cannot_run_is_no_empty_plan(tmp_root: Path, tmp_path: Path) -> None:
    """The real ansible-playbook on a playbook it cannot parse ends "failed" without a single task event: each host
    is a failure, never "ok, nothing to change"."""
    playbook = tmp_path / "broken.yml"
    playbook.write_text("- hosts: all\n  tasks:\n    - name: PW-LEN: unquoted colon\n", encoding="utf-8")
    host = AnsibleHost("h", "192.0.2.9", 22, Credentials("s", "u", password=Secret(PASSWORD)), {})
    run = run_playbook(playbook, [host], check=True, timeout=120)["h"]
    assert run.ok is False
    assert run.message == "ansible-playbook failed before any task ran on this host"
    assert run.changes == []


def test_linux_runs_send_the_union_of_the_hosts_requirements_as_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def run_playbook(playbook: Path, hosts: list[AnsibleHost], **kwargs: Any) -> dict[str, HostRun]:
        seen.append(kwargs["tags"])
        return {h.name: HostRun(h.name) for h in hosts}

    monkeypatch.setattr(linux_driver, "run_playbook", run_playbook)
    targets = [_target("a1"), _target("b22")]
    linux_driver.LinuxPlatform().plan_many(targets, {"a1": ["PW-LEN"], "b22": ["PW-LEN", "TIME-SYNC"]}, {},
                                           workers=2)
    assert seen == [{"PW-LEN", "TIME-SYNC"}]


def test_secret_environment_variables_are_blanked_for_the_run(tmp_root: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """ansible-runner writes its whole environment (a copy of ours) into artifacts/<id>/command."""
    monkeypatch.setenv("HARDENING_CRED_LAB_PASSWORD", PASSWORD)
    monkeypatch.setenv("SOMETHING_ELSE", f"x{ENABLE}x")
    seen: dict[str, Any] = {}
    _scan_stub(monkeypatch, seen, tmp_root)
    host = AnsibleHost("srv", "192.0.2.1", 22, Credentials("s", "u", password=Secret(PASSWORD)), {})
    Secret(ENABLE)  # registered, as every loaded secret is
    run_playbook(Path("p.yml"), [host], check=True)
    assert seen["env"]["HARDENING_CRED_LAB_PASSWORD"] == ""
    assert seen["env"]["SOMETHING_ELSE"] == ""


def test_real_ansible_run_resolves_the_lookup_and_writes_no_secret(tmp_root: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    """The real ansible-runner and ansible-playbook (on the implicit localhost, no SSH): the host's
    ansible_password resolves through the lookup to the secret, while a watcher scanning every file under the
    run's folder (inventory, artifacts/<id>/command with the environment, stdout) never finds it."""
    import ansible_runner

    secret = "Real-run-secret-7Qz"  # noqa: S105 - a made-up test value
    digest = hashlib.sha1(secret.encode()).hexdigest()  # noqa: S324 - a fingerprint in the playbook, not security
    playbook = tmp_path / "check.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        "    - name: The lookup gives the secret\n      ansible.builtin.assert:\n"
        f"        that: \"(hostvars['rtr']['ansible_password'] | hash('sha1')) == '{digest}'\"\n"
        "    - name: And the enable secret\n      ansible.builtin.assert:\n"
        "        that: \"hostvars['rtr']['ansible_become_password'] | length == 17\"\n",
        encoding="utf-8")
    found: list[str] = []
    files_seen: set[str] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                paths = list(tmp_root.rglob("*"))
            except OSError:  # a folder went away while it was listed
                continue
            for p in paths:
                try:
                    if p.is_file() and not p.is_socket():
                        files_seen.add(p.name)
                        if secret.encode() in p.read_bytes() or ENABLE.encode() in p.read_bytes():
                            found.append(str(p))
                except OSError:
                    pass
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    statuses: list[str] = []

    def run(**kwargs: Any) -> Any:
        result = ansible_runner.run(**kwargs)
        statuses.append(result.status)
        return result

    monkeypatch.setitem(sys.modules, "ansible_runner", types.SimpleNamespace(run=run))
    try:
        host = AnsibleHost("rtr", "192.0.2.2", 22,
                           TypedCredentials("r", "u", password=Secret(secret), enable_secret=Secret(ENABLE)), {},
                           connection="network_cli", connection_vars={"ansible_network_os": "cisco.ios.ios"})
        runs = run_playbook(playbook, [host], check=True, timeout=120)
    finally:
        done.set()
        watcher.join()
    assert runs["rtr"].ok
    assert statuses == ["successful"]  # both assertions held on the controller
    assert {"hosts.yml", "command"} <= files_seen  # the watcher did see the inventory and the runner's env dump
    assert found == []


# --- many hosts in one ansible-playbook process: the batch dry run keeps every error per host --------------------



def _target(name: str, creds: Credentials | None = None, platform: str = "linux") -> Target:
    host = Host(name=name, hostname=f"192.0.2.{len(name)}", port=22, platform=platform, device_class="linux_server",
                zone="lgwan", classification={"c": 2, "i": 2, "a": 1},
                system=SystemInfo("財務会計システム", "総合政策部長", ("財政課長",)), roles=(), groups=(),
                credentials="lab")
    return Target(host=host, credentials=creds or Credentials("lab", "u", private_key_file="/k"), timeout=30)


def _fake_runs(calls: list[list[str]], fail_batch: bool = False) -> Any:
    def run_playbook(playbook: Path, hosts: list[AnsibleHost], **kwargs: Any) -> dict[str, HostRun]:
        names = [h.name for h in hosts]
        calls.append(names)
        assert playbook.name == "linux.yml"
        if (fail_batch and len(hosts) > 1) or "bad" in names:
            raise bridge.AnsibleError("credentials 'lab': ssh-add refused the key (exit 1)")
        runs = {n: HostRun(n) for n in names}
        for h in hosts:
            if h.name == "down":
                runs["down"] = HostRun("down", ok=False, unreachable=True, message="no route")
            else:
                runs[h.name].changes = [Change(r, f"{r}: task", "/etc/x", "+x\n") for r in h.variables["hardening_fix"]]
        return runs
    return run_playbook


def test_plan_many_runs_one_process_and_keeps_errors_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(linux_driver, "run_playbook", _fake_runs(calls))
    targets = [_target("ok"), _target("nocred", Credentials("none", "u")), _target("down"), _target("nofix")]
    fix = {"ok": ["PW-LEN"], "nocred": ["PW-LEN"], "down": ["LOGIN-BANNER"], "nofix": []}
    out = linux_driver.LinuxPlatform().plan_many(targets, fix, {}, workers=8)
    assert calls == [["ok", "down"]]  # one ansible-playbook process for every host that can run
    assert out["ok"] == [Change("PW-LEN", "PW-LEN: task", "/etc/x", "+x\n")]
    assert isinstance(out["nocred"], bridge.AnsibleError)
    assert "SSH key or a password" in str(out["nocred"])
    assert isinstance(out["down"], DeviceUnreachable)
    assert "dry run failed at connection: no route" in str(out["down"])
    assert out["nofix"] == []
    # the per-host plan is the batch of one: same outcome, raised
    with pytest.raises(DeviceUnreachable, match="no route"):
        linux_driver.LinuxPlatform().plan(_target("down"), ["LOGIN-BANNER"], {})


def test_a_batch_that_cannot_run_is_retried_host_by_host(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(linux_driver, "run_playbook", _fake_runs(calls, fail_batch=True))
    targets = [_target("a1"), _target("bad"), _target("c3")]
    out = linux_driver.LinuxPlatform().plan_many(targets, {t.host.name: ["PW-LEN"] for t in targets}, {}, workers=4)
    assert calls == [["a1", "bad", "c3"], ["a1"], ["bad"], ["c3"]]
    assert isinstance(out["bad"], bridge.AnsibleError)
    assert [c.requirement for c in out["a1"]] == ["PW-LEN"]
    assert [c.requirement for c in out["c3"]] == ["PW-LEN"]


class _Batchy:
    def __init__(self) -> None:
        self.calls: list[tuple[list[str], int]] = []

    def plan_many(self, targets: Any, fix_by_host: Any, params_by_host: Any, *,
                  workers: int) -> dict[str, list[Change] | HardeningError]:
        self.calls.append(([t.host.name for t in targets], workers))
        return {t.host.name: (ChangeError(t.host.name, "dry run failed") if t.host.name == "b2"
                              else [Change("PW-LEN", "t", "/x", "+\n")]) for t in targets}


class _Single:
    """A Remediator without the batch capability: planned host by host."""

    name = "single"
    fixes = frozenset({"PW-LEN"})

    def __init__(self) -> None:
        self.calls: list[str] = []

    def apply(self, target: Target, fix: Any, params: Any, planned: Any) -> Any:
        raise AssertionError("a dry run never applies")

    def plan(self, target: Target, fix: Any, params: Any) -> list[Change]:
        self.calls.append(target.host.name)
        if target.host.name == "s2":
            raise RuntimeError("broken driver")
        return [Change("PW-LEN", "t", "/y", "+\n")]


def test_plan_groups_hosts_by_platform_and_batches_where_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    batchy, single = _Batchy(), _Single()

    def get_platform(name: str) -> Any:
        if name == "nosuch":
            raise HardeningError("unknown platform 'nosuch'")
        return {"batchy": batchy, "single": single}[name]

    monkeypatch.setattr(plan_module, "get_platform", get_platform)
    jobs = {name: (_target(name, platform=platform), ["PW-LEN"], {})
            for name, platform in [("b1", "batchy"), ("s1", "single"), ("b2", "batchy"), ("s2", "single"),
                                   ("n1", "nosuch")]}
    out = plan_module.dry_runs(jobs, workers=5, progress=False)
    assert batchy.calls == [(["b1", "b2"], 5)]  # every host of the batch platform in one call
    assert sorted(single.calls) == ["s1", "s2"]  # the others host by host
    assert out["b1"] == [Change("PW-LEN", "t", "/x", "+\n")]
    assert isinstance(out["b2"], ChangeError)
    assert out["s1"] == [Change("PW-LEN", "t", "/y", "+\n")]
    assert isinstance(out["s2"], RuntimeError)
    assert isinstance(out["n1"], HardeningError)
    # the plan entry of each: changes, or the host's own error line
    entry: dict[str, Any] = {"changes": [], "error": None}
    plan_module.record_dry_run(entry, ["PW-LEN", "LOGIN-BANNER"], out["b1"])
    assert entry["changes"] == [{"requirement": "PW-LEN", "task": "t", "target": "/x", "diff": "+\n"}]
    assert entry["error"] == "dry run shows no change for failing requirement(s) LOGIN-BANNER"
    entry = {"changes": [], "error": None}
    plan_module.record_dry_run(entry, ["PW-LEN"], out["b2"])
    assert entry == {"changes": [], "error": "b2: dry run failed"}


def test_a_run_on_the_main_thread_keeps_our_sigterm_handler(tmp_root: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch dry run runs ansible-runner on the main thread, where it would install its own SIGTERM handler for
    good: a later SIGTERM would cancel the run instead of removing the run folder and ending (tests/lab/test_faults)."""
    import signal

    import ansible_runner

    monkeypatch.setitem(sys.modules, "ansible_runner", ansible_runner)

    def ours(signum: int, frame: Any) -> None:
        raise AssertionError("not called")

    previous = signal.signal(signal.SIGTERM, ours)
    try:
        playbook = tmp_path / "ping.yml"
        playbook.write_text("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
                            "    - name: Ping\n      ansible.builtin.ping:\n", encoding="utf-8")
        run_playbook(playbook, [AnsibleHost("h", "192.0.2.1", 22, Credentials("c", "u", private_key_file="/k"), {})],
                     check=True, timeout=120)
        assert signal.getsignal(signal.SIGTERM) is ours
        assert signal.getsignal(signal.SIGINT) is not None
    finally:
        signal.signal(signal.SIGTERM, previous)
