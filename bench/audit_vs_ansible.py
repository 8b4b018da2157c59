#!/usr/bin/env python3
"""Benchmark: our full audit vs Ansible fact gathering (`setup`) on the same lab hosts.

Both run in this one process, alternately, on the same hosts with the same parallelism (the machine
is shared and noisy: only the ratio measured side by side means something). Brings up the bench
hosts (10.203.1.x, compliant profile) with lab/labctl.py, prints both times and the ratio.

    python bench/audit_vs_ansible.py [--sizes 20 50] [--workers 20] [--rounds 2] [--keep]

Targets (issue #2): our audit <= 0.5 x Ansible's fact gathering, and <= 1 s per host.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LAB_STATE = Path("/var/lib/hardening-lab")
BENCH_DIR = LAB_STATE / "bench-inventory"
sys.path.insert(0, str(ROOT / "src"))

from hardening.audit import load_inputs, run_audit  # noqa: E402
from hardening.core.run import RunOptions  # noqa: E402
from hardening.core.scope import Selection  # noqa: E402
from hardening.core.secrets import SecretStore  # noqa: E402


def write_inventory(directory: Path, count: int) -> list[str]:
    """A bench inventory of `count` compliant servers, reusing the demo's site/systems/groups files."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("groups.yaml", "defaults.yaml", "site.yaml", "systems.yaml"):
        shutil.copy(ROOT / "inventory" / name, directory / name)
    (directory / "waivers.yaml").write_text("waivers: []\n", encoding="utf-8")
    hosts = {
        f"bench-{i:03d}": {
            "hostname": f"10.203.1.{10 + i}",
            "groups": ["lgwan", "servers"],
            "data": {"system": "財務会計システム", "classification": {"c": 2, "i": 2, "a": 1},
                     "roles": ["app_server"]},
        }
        for i in range(1, count + 1)
    }
    (directory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    return list(hosts)


def lab(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "lab" / "labctl.py"), *args], check=True)


def ours(inventory: Path, workers: int, secrets: SecretStore) -> tuple[float, int]:
    inputs = load_inputs(inventory, ROOT / "schemas" / "requirements")
    start = time.perf_counter()
    run = RunOptions.ssh(timeout=30, workers=workers, progress=False,
                         known_hosts=str(LAB_STATE / "ssh" / "known_hosts"), host_key_policy="strict")
    report, _ = run_audit(inputs, Selection(), secrets, run)
    elapsed = time.perf_counter() - start
    errors = report["summary"]["hosts_by_status"]["error"]
    return elapsed, errors


def ansible_setup(names: list[str], inventory: Path, workers: int, key_file: Path) -> tuple[float, int]:
    import ansible_runner

    hosts = yaml.safe_load((inventory / "hosts.yaml").read_text(encoding="utf-8"))
    ansible_inventory = {"all": {"hosts": {n: {"ansible_host": hosts[n]["hostname"]} for n in names},
                                 "vars": {"ansible_user": "hardening",
                                          "ansible_ssh_private_key_file": str(key_file),
                                          "ansible_python_interpreter": "/usr/bin/python3"}}}
    with tempfile.TemporaryDirectory(prefix="bench-ansible-") as tmp:
        (Path(tmp) / "inventory").mkdir()
        (Path(tmp) / "inventory" / "hosts.yml").write_text(yaml.safe_dump(ansible_inventory), encoding="utf-8")
        envvars = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null",
            "ANSIBLE_GATHERING": "explicit",
        }
        start = time.perf_counter()
        result = ansible_runner.run(private_data_dir=tmp, module="setup", host_pattern="all", forks=workers,
                                    quiet=True, envvars=envvars)
        elapsed = time.perf_counter() - start
        if result.status != "successful" or not result.stats:
            raise SystemExit(f"ansible setup did not run: status {result.status!r}, rc {result.rc}")
        failed = len(result.stats.get("failures", {})) + len(result.stats.get("dark", {}))
        gathered = len(result.stats.get("ok", {}))
        if gathered != len(names):
            raise SystemExit(f"ansible setup gathered facts on {gathered} of {len(names)} hosts")
    return elapsed, failed


def lab_defaults() -> None:
    """Reach the lab like `make bench` does when run directly (vault, strict known_hosts)."""
    os.environ.setdefault("HARDENING_VAULT", str(LAB_STATE / "vault.yml"))
    os.environ.setdefault("HARDENING_VAULT_PASSWORD_FILE", str(LAB_STATE / "vault-pass"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="leave the bench hosts running")
    args = parser.parse_args()
    lab_defaults()

    largest = max(args.sizes)
    names = write_inventory(BENCH_DIR, largest)
    lab("up", "--inventory", str(BENCH_DIR))
    secrets = SecretStore()
    key_file = Path(tempfile.mkdtemp(prefix="bench-key-")) / "id"
    creds = secrets.credentials("lab")
    if creds.private_key is None:
        raise SystemExit("the lab vault has no private key for 'lab'")
    key_file.write_text(creds.private_key.reveal(), encoding="utf-8")
    key_file.chmod(0o600)
    try:
        print(f"{'hosts':>5} {'workers':>7} {'ours (s)':>9} {'ansible setup (s)':>18} {'ratio':>6} {'s/host':>7}")
        for size in sorted(args.sizes):
            subset = BENCH_DIR.parent / f"bench-inventory-{size}"
            write_inventory(subset, size)
            ours(subset, args.workers, secrets)  # warm-up: host keys learned, page cache warm, for both
            ansible_setup(names[:size], subset, args.workers, key_file)
            ours_times: list[float] = []
            ansible_times: list[float] = []
            for _ in range(args.rounds):
                elapsed, errors = ours(subset, args.workers, secrets)
                if errors:
                    print(f"  ours: {errors} host(s) in error", file=sys.stderr)
                ours_times.append(elapsed)
                elapsed, failed = ansible_setup(names[:size], subset, args.workers, key_file)
                if failed:
                    print(f"  ansible: {failed} host(s) failed/unreachable", file=sys.stderr)
                ansible_times.append(elapsed)
            mine, theirs = statistics.median(ours_times), statistics.median(ansible_times)
            print(f"{size:>5} {args.workers:>7} {mine:>9.2f} {theirs:>18.2f} {mine / theirs:>6.2f} {mine / size:>7.3f}")
    finally:
        key_file.unlink(missing_ok=True)
        key_file.parent.rmdir()
        if not args.keep:
            lab("stop", "--inventory", str(BENCH_DIR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
