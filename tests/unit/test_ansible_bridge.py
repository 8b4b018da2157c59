"""The Ansible bridge never writes an SSH private key to disk: a per-run ssh-agent carries it (fed through stdin),
its scratch directory is private (0700), removed afterwards, and the next run sweeps what a killed run left.

ansible-runner itself is replaced by a stub that looks at the disk and the agent while "Ansible runs"; the real
run (and the real SIGTERM / SIGKILL of `hardening plan`) is in tests/lab/test_change_control.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hardening.core.secrets import Credentials, Secret
from hardening.engines.ansible import AnsibleHost, run_playbook


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
