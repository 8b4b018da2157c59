"""Molecule verify: after converge, testinfra judges each host with the same independent checks the
lab tests use (sshd -T, libpwquality, modprobe -n, logrotate -d …), not with our probe."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, os.environ.get("MOLECULE_PROJECT_DIRECTORY", str(Path(__file__).resolve().parents[3])))

from tests.lab.test_testinfra_agrees import CHECKS

FIXED = {
    "jumin-ap02": ["PW-LEN", "PW-CLASS", "LOGIN-LOCKOUT", "PRIV-REMOTE-ROOT", "SVC-MINIMAL", "TIME-SYNC",
                   "USB-BLOCK-KIKAN"],
    "zaimu-ap01": ["LOGIN-BANNER", "LOGIN-LASTLOGON", "LOGIN-TIMEOUT", "LOG-FORWARD", "LOG-RETENTION", "AV-RESIDENT"],
    "pc-shimin02": ["SCREEN-LOCK", "USB-BLOCK-KIKAN"],
    "pc-zaimu02": ["SCREEN-LOCK"],
}


def test_converged_host_is_compliant(host: Any) -> None:
    name = host.backend.get_hostname()
    failing = [requirement for requirement in FIXED[name] if not CHECKS[requirement](host, name)]
    assert failing == []
