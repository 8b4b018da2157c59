"""Helpers shared by the lab tests (imported as tests.lab.labtools; the fixtures live in conftest)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAB_STATE = Path("/var/lib/hardening-lab")
LAB_ENV = {
    "HARDENING_VAULT": str(LAB_STATE / "vault.yml"),
    "HARDENING_VAULT_PASSWORD_FILE": str(LAB_STATE / "vault-pass"),
    "HARDENING_KNOWN_HOSTS": str(LAB_STATE / "ssh" / "known_hosts"),
    "HARDENING_HOST_KEY_POLICY": "strict",
}
TEST_STATE = Path(tempfile.mkdtemp(prefix="hardening-labtest-"))


def lab_env(**extra: str) -> dict[str, str]:
    """The environment an admin's scheduled job would have, with a ledger of this test session."""
    return {**os.environ, **LAB_ENV, "HARDENING_OPERATOR": "lab-test",
            "HARDENING_LEDGER": str(TEST_STATE / "ledger.jsonl"), **extra}


def run_cli(*args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `hardening …` as an admin would (a separate process, real exit code)."""
    return subprocess.run([sys.executable, "-m", "hardening.cli", *args], capture_output=True, text=True,
                          env=lab_env(**env), timeout=timeout, check=False, cwd=ROOT)


def reachable(ip: str) -> bool:
    try:
        with socket.create_connection((ip, 22), timeout=2):
            return True
    except OSError:
        return False


def labctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "lab" / "labctl.py"), *args], capture_output=True, text=True,
                          check=False)


def wait_synced(names: list[str], timeout: float = 60) -> None:
    """Wait until chrony has synchronised every named host whose planted drifts leave time alone:
    the same wait `labctl up` does (lab/labctl.py wait-sync decides which hosts from lab.yaml)."""
    proc = labctl("wait-sync", "--timeout", f"{timeout:g}", *names)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def expected_failures(spec: dict[str, Any]) -> dict[str, set[str]]:
    """host -> requirement ids its planted drifts break (from lab/lab.yaml, the one place)."""
    drifts = spec["drifts"]
    result: dict[str, set[str]] = {}
    for host, drift_ids in (spec.get("hosts") or {}).items():
        result[host] = {req for drift in drift_ids or [] for req in drifts[drift]["requirements"]}
    return result


def lab_planted_secrets(spec: dict[str, Any]) -> list[str]:
    """Secrets the lab plants on hosts (lab/lab.yaml): SNMP communities and password hashes. They may
    never reach a report, a plan, the ledger or any output."""
    found: list[str] = []
    for drift in spec["drifts"].values():
        texts = [f.get("content") or f.get("append") or "" for f in drift.get("files") or []]
        texts += drift.get("run") or []
        for text in texts:
            found += re.findall(r"^\s*(?:ro|rw)community6?\s+(\S+)", text, re.M)
            found += re.findall(r"^\s*com2sec6?\s+\S+\s+\S+\s+(\S+)", text, re.M)
            found += re.findall(r"(\$(?:1|5|6|y|2[abxy])\$[^\s':]+)", text)
    return found


NETSIM_STATE = LAB_STATE / "netsim" / "devices"


def netsim_devices(spec: dict[str, Any], hosts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Simulated network devices (lab.yaml `netsim.devices`): name -> address, platform, credentials (from the
    lab's generated secrets, root-only), state dir (faults.json goes there)."""
    secrets = json.loads((LAB_STATE / "netsim-secrets.json").read_text(encoding="utf-8"))
    out: dict[str, dict[str, Any]] = {}
    for name, entry in ((spec.get("netsim") or {}).get("devices") or {}).items():
        host = hosts[name]
        out[name] = {"name": name, "ip": host["hostname"], "params": (entry or {}).get("params") or {},
                     "credentials": secrets[host["data"]["credentials"]], "state": NETSIM_STATE / name}
    return out
