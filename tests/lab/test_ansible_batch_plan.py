"""The Ansible bridge on real lab hosts: many hosts planned in ONE ansible-playbook process give exactly the
changes the per-host dry runs give, and SSH with a password (Ansible's ssh_askpass, no sshpass) logs in.

Check mode only: nothing on the hosts changes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tests.lab.labtools import LAB_ENV, LAB_STATE, ROOT

from hardening.audit import load_inputs
from hardening.changes.plan import host_parameters
from hardening.core.platform import Target
from hardening.core.run import RunOptions, build_target
from hardening.core.scope import applies
from hardening.core.secrets import Credentials, Secret, SecretStore
from hardening.engines.ansible import AnsibleHost, run_playbook
from hardening.platforms.linux.driver import LinuxPlatform

HOSTS = ["jumin-ap02", "zaimu-ap01", "web01"]
# Sshd, PAM and session files: drifted on jumin-ap02 and zaimu-ap01, compliant on web01 (the full playbook on
# many hosts, twice, would hold the shared lab for many minutes).
REQUIREMENTS = {"LOGIN-BANNER", "LOGIN-LASTLOGON", "LOGIN-LOCKOUT", "LOGIN-TIMEOUT", "PRIV-REMOTE-ROOT", "PW-CLASS",
                "PW-LEN"}
KNOWN_HOSTS = LAB_ENV["HARDENING_KNOWN_HOSTS"]


def _jobs() -> tuple[list[Target], dict[str, list[str]], dict[str, dict[str, Any]]]:
    inputs = load_inputs(ROOT / "inventory", ROOT / "schemas" / "requirements")
    secrets = SecretStore(LAB_ENV["HARDENING_VAULT"], LAB_ENV["HARDENING_VAULT_PASSWORD_FILE"])
    targets, fix, params = [], {}, {}
    for name in HOSTS:
        host = inputs.inventory.hosts[name]
        requirements = [r for r in inputs.catalog.values() if r.id in REQUIREMENTS and applies(r, host)[0]]
        targets.append(build_target(host, secrets, RunOptions.ssh(timeout=30, known_hosts=KNOWN_HOSTS,
                                                                  host_key_policy="strict")))
        fix[name] = sorted(r.id for r in requirements)
        params[name] = host_parameters(host, requirements, inputs.inventory.parameters)
    return targets, fix, params


def _comparable(changes: Any) -> list[tuple[str, str, str, str]]:
    assert isinstance(changes, list), changes
    return sorted((c.requirement, c.task, c.target, c.diff) for c in changes)


def test_one_process_for_many_hosts_plans_what_each_host_alone_plans(lab: dict[str, Any]) -> None:
    targets, fix, params = _jobs()
    platform = LinuxPlatform()
    # The batch and the per-host dry runs (one process per host, as before plan_many) at once: check mode only
    # reads the hosts, so neither run can change what the other one sees.
    with ThreadPoolExecutor(len(targets) + 1) as pool:
        batch = pool.submit(platform.plan_many, targets, fix, params, workers=len(targets))
        alone = dict(zip(HOSTS, pool.map(lambda t: platform.plan(t, fix[t.host.name], params[t.host.name]),
                                         targets), strict=True))
        together = batch.result()
    assert {h: _comparable(v) for h, v in together.items()} == {h: _comparable(v) for h, v in alone.items()}
    # the drifted hosts do have changes to plan (a batch that silently planned nothing would also be "equal")
    assert together["jumin-ap02"]
    assert together["zaimu-ap01"]


@pytest.fixture
def ping_playbook(tmp_path: Path) -> Path:
    playbook = tmp_path / "ping.yml"
    playbook.write_text("- name: Reach the host\n  hosts: all\n  gather_facts: false\n  tasks:\n"
                        "    - name: Ping\n      ansible.builtin.ping:\n", encoding="utf-8")
    return playbook


def test_ssh_with_a_password(lab: dict[str, Any], ping_playbook: Path) -> None:
    """jumin-ap02's planted drift lets root log in over SSH (PermitRootLogin yes): with its password, through
    the secret socket and Ansible's ssh_askpass; a wrong password is refused (so the right one did the work, and
    the second run did not ride on the first one's ssh master connection)."""
    address = lab["hosts"]["jumin-ap02"]["hostname"]
    password = (LAB_STATE / "root-password").read_text(encoding="utf-8").strip()
    for secret, reachable in ((password, True), (password + "-wrong", False)):
        host = AnsibleHost("jumin-ap02", address, 22, Credentials("root-pw", "root", password=Secret(secret)), {})
        run = run_playbook(ping_playbook, [host], check=True, known_hosts=KNOWN_HOSTS, host_key_policy="strict",
                           timeout=120)["jumin-ap02"]
        assert run.ok is reachable, run.message
        if not reachable:
            assert run.unreachable
            assert secret not in str(run.message)
