"""The molecule scenario (molecule/default) runs green against the lab: syntax, create (lab reset),
converge, idempotence (second run changed=0), testinfra verify, destroy (lab reset)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.lab.labtools import ROOT, wait_synced


def test_molecule_scenario(lab: dict[str, Any]) -> None:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "ANSIBLE_NOCOLOR": "1",
           "NO_COLOR": "1"}
    proc = subprocess.run([str(bin_dir / "molecule"), "test"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=1200, check=False)
    out = proc.stdout + proc.stderr
    # destroy reset the hosts: give chrony its seconds before other tests look at them
    wait_synced(["jumin-ap02", "zaimu-ap01", "pc-shimin02", "pc-zaimu02"])
    assert proc.returncode == 0, out[-4000:]
    for step in ("syntax", "create", "converge", "idempotence", "verify", "destroy"):
        assert f"{step}: Executed: Successful" in out.replace("➜ ", "").replace(" ➜", ""), step
