#!/usr/bin/env python3
"""Benchmark: our audit of N simulated Windows hosts next to pywinrm running ONE trivial command per host (the floor).

This run starts N hosts of the lab's Windows simulator (lab/winsim) in ONE simulator process, each on its own
loopback address 127.0.x.y (loopback only) with WinRM on 5985 (HTTP + NTLM message encryption) and 5986 (HTTPS,
a CA made for the run), each from a state file of lab/winsim/hosts (compliant server, compliant PC, drifted PC in
turn, with its own computer name), with credentials generated for the run. Then, in this process and with the
same W workers, it measures alternately, `--rounds` times:

(a) the floor: pywinrm's Protocol doing, per host, open_shell + run_command(`hostname`) + get_command_output +
    cleanup_command + close_shell, in a thread pool (NTLM, the same scheme and encryption as the audit);
(b) our audit through the product's own path (the lead adds it: `audit()` below; inventory from
    `write_inventory`, credentials in the environment as HARDENING_CRED_BENCHWIN_*).

    python bench/windows_audit.py [--hosts 200] [--workers 50] [--rounds 3] [--scheme https|http]

Target (issue 9): (b) <= 2 x (a).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from lab.winsim.local import HOSTS_DIR, LocalSim  # noqa: E402
from winrm.protocol import Protocol  # noqa: E402

TEMPLATES = ["srv-win-01", "pc-win-01", "pc-win-02"]
CREDENTIALS = "benchwin"           # the inventory's credentials entry, filled from the environment
TARGET_RATIO = 2.0


@dataclass
class Round:
    wall: float
    cpu: float          # this process
    sim_cpu: float      # the simulator process
    note: str = ""


def loopback(index: int) -> str:
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def start_sim(count: int, work: Path) -> tuple[LocalSim, dict[str, str]]:
    """`count` hosts in one simulator process on loopback; name -> device class."""
    files = work / "hosts"
    files.mkdir(parents=True)
    hosts, host_files, classes = [], {}, {}
    for index in range(count):
        template = TEMPLATES[index % len(TEMPLATES)]
        name = f"bench-win-{index + 1:03d}"
        (files / f"{name}.yaml").write_text(
            f"base: {HOSTS_DIR / (template + '.yaml')}\ncomputer_name: {name.upper()}\n", encoding="utf-8")
        hosts.append((name, loopback(index)))
        host_files[name] = str(files / f"{name}.yaml")
        classes[name] = "windows_server" if template.startswith("srv-") else "windows_pc"
    sim = LocalSim(work / "sim", hosts, username=f"audit-{secrets.token_hex(3)}",
                   password=secrets.token_urlsafe(18), host_files=host_files)
    return sim.__enter__(), classes


def sim_cpu(sim: LocalSim) -> float:
    """CPU seconds the simulator process has used so far (Linux /proc)."""
    if sim.proc is None:
        return 0.0
    try:
        fields = Path(f"/proc/{sim.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def floor(sim: LocalSim, workers: int, https: bool) -> Round:
    """(a): one shell and one trivial command per host with pywinrm, nothing else."""
    names = [name for name, _ in sim.hosts]

    def one(name: str) -> int:
        p = Protocol(sim.endpoint(name, https=https), transport="ntlm", username=sim.username,
                     password=sim.password, message_encryption="never" if https else "always",
                     server_cert_validation="validate", ca_trust_path=str(sim.ca),
                     read_timeout_sec=60, operation_timeout_sec=50)
        shell = p.open_shell()
        try:
            command = p.run_command(shell, "hostname")
            out, _err, rc = p.get_command_output(shell, command)
            p.cleanup_command(shell, command)
        finally:
            p.close_shell(shell)
        if rc != 0 or out.strip().decode().lower() != name:
            raise RuntimeError(f"{name}: hostname gave {out!r} rc {rc}")
        return len(out)

    cpu, sim_before = time.process_time(), sim_cpu(sim)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, names))
    return Round(time.perf_counter() - start, time.process_time() - cpu, sim_cpu(sim) - sim_before)


def write_inventory(sim: LocalSim, classes: dict[str, str], work: Path, https: bool) -> Path:
    """An inventory of the simulated hosts for (b): the demo's site parameters, the windows platform over NTLM."""
    inventory = work / "inventory"
    inventory.mkdir()
    for name in ("site.yaml", "systems.yaml"):
        shutil.copy(ROOT / "inventory" / name, inventory / name)
    winrm = ({"port": 5986, "extras": {"transport": "ntlm", "scheme": "https", "server_cert_validation": "validate",
                                       "ca_trust_path": str(sim.ca)}} if https else
             {"port": 5985, "extras": {"transport": "ntlm", "scheme": "http", "message_encryption": "always"}})
    hosts = {name: {"hostname": address, "groups": ["windows"], "data": {"device_class": classes[name]}}
             for name, address in sim.hosts}
    groups = {"windows": {"platform": "windows", "connection_options": {"winrm": winrm}, "data": {
        "zone": "lgwan", "system": "情報基盤", "classification": {"c": 2, "i": 2, "a": 2}, "roles": ["windows_host"],
        "credentials": CREDENTIALS}}}
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    (inventory / "groups.yaml").write_text(yaml.safe_dump(groups, allow_unicode=True), encoding="utf-8")
    (inventory / "defaults.yaml").write_text("{}\n", encoding="utf-8")
    os.environ.update({f"HARDENING_CRED_{CREDENTIALS.upper()}_USERNAME": sim.username,
                       f"HARDENING_CRED_{CREDENTIALS.upper()}_PASSWORD": sim.password})
    return inventory


def audit(sim: LocalSim, inventory: Path, workers: int) -> Round | None:
    """(b): the product's audit of the inventory (load inventory + catalog, run_audit, report). Left to the lead
    once the windows platform is merged (see bench/network_audit.py's audit(): the same shape, with RunOptions for
    WinRM). None: not measured yet."""
    return None


def run_size(count: int, workers: int, rounds: int, https: bool) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix=f"hardening-winbench-{count}-"))
    sim = None
    try:
        started = time.perf_counter()
        sim, classes = start_sim(count, work)
        inventory = write_inventory(sim, classes, work, https)
        print(f"\n== {count} hosts, {workers} workers, {'https' if https else 'http + NTLM encryption'}: simulator "
              f"ready in {time.perf_counter() - started:.1f} s (one process, pid {sim.proc.pid if sim.proc else '?'},"
              f" {loopback(0)}..{loopback(count - 1)})", flush=True)
        floors: list[Round] = []
        ours: list[Round] = []
        for index in range(rounds):
            order = ("a", "b") if index % 2 == 0 else ("b", "a")
            for side in order:
                if side == "a":
                    floors.append(floor(sim, workers, https))
                else:
                    result = audit(sim, inventory, workers)
                    if result is not None:
                        ours.append(result)
            a = floors[-1]
            line = (f"  round {index + 1}: (a) pywinrm, one trivial command per host {a.wall:6.2f} s  "
                    f"[cpu {a.cpu:5.1f} s, simulator {a.sim_cpu:4.1f} s]")
            if ours:
                b = ours[-1]
                line += (f"   (b) our audit {b.wall:6.2f} s  [cpu {b.cpu:5.1f} s, simulator {b.sim_cpu:4.1f} s]"
                         f"   b/a {b.wall / a.wall:4.2f}\n           (b): {b.note}")
            print(line, flush=True)
        best_a = min(r.wall for r in floors)
        per_a = min(r.cpu for r in floors) / count * 1000
        print(f"  floor: best of {rounds} {best_a:.2f} s; our process's CPU per host {per_a:.1f} ms "
              f"(simulator {min(r.sim_cpu for r in floors) / count * 1000:.1f} ms)")
        summary = {"hosts": count, "a": best_a, "a_cpu_ms": per_a}
        if ours:
            ratio = statistics.median(b.wall / a.wall for a, b in zip(floors, ours, strict=True))
            ok = "ok" if ratio <= TARGET_RATIO else "MISSED"
            print(f"  b/a median {ratio:.2f} [target <= {TARGET_RATIO}: {ok}]; our CPU per host "
                  f"{min(r.cpu for r in ours) / count * 1000:.1f} ms")
            summary["ratio"] = ratio
        else:
            print("  (b) not measured: bench/windows_audit.py audit() is not written yet")
        return summary
    finally:
        if sim is not None:
            sim.__exit__(None, None, None)
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--hosts", type=int, nargs="+", default=[200])
    ap.add_argument("--workers", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scheme", choices=["https", "http"], default="https")
    args = ap.parse_args()
    for count in args.hosts:
        run_size(count, args.workers, args.rounds, args.scheme == "https")
    return 0


if __name__ == "__main__":
    sys.exit(main())
