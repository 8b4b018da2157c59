#!/usr/bin/env python3
"""Benchmark: our audit of N simulated Windows hosts next to pywinrm running ONE trivial command per host (the floor).

This run starts N hosts of the lab's Windows simulator (lab/winsim), split over P simulator processes, each host on
its own loopback address 127.0.x.y (loopback only) with WinRM on 5985 (HTTP + NTLM message encryption) and 5986 (HTTPS,
a CA made for the run), each from a state file of lab/winsim/hosts (compliant server, compliant PC, drifted PC in
turn, with its own computer name), with credentials generated for the run. Then, in this process and with the
same W workers, it measures alternately, `--rounds` times:

(a) the floor: pywinrm's Protocol doing, per host, open_shell + run_command(`hostname`) + get_command_output +
    cleanup_command + close_shell, in a thread pool (NTLM, the same scheme and encryption as the audit);
(b) our audit through the product's own path, as `hardening audit` runs it: load the inventory (from
    `write_inventory`, credentials in the environment as HARDENING_CRED_BENCHWIN_*) and the catalog, `run_audit`
    (collect_all over Nornir: per host one WinRM shell running the whole command table of
    platforms/windows/platform.yaml as ONE PowerShell batch, parse, facts schema check; evaluate every requirement;
    build the report);

and prints each round's wall time, b/a, the CPU of this process and of the simulator, then our CPU per host split
into parse + evaluate (saved captures of a sample of hosts parsed and evaluated again in one thread, no I/O) and the
rest (WinRM: HTTP, NTLM, message encryption or TLS, SOAP; the thread pool; loading the inventory and catalog and
building the report, ~1.3 s per run), and the medians of the rounds.

One simulator process serving 200 hosts is not 200 machines: with `--sim-processes P` (default 4) the hosts are
split over P simulator processes (each host still on its own address); the output says how many served the run.
Both sides talk to the same simulators.

    python bench/windows_audit.py [--hosts 200] [--workers 50] [--rounds 3] [--scheme https|http] [--sim-processes 4]

Target (issue 9): (b) <= 2 x (a), median of the rounds.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.common import Round, machine_line, mark, median, parse_evaluate_cpu, process_cpu, product_audit  # noqa: E402
from lab.winsim import pki  # noqa: E402
from lab.winsim.local import HOSTS_DIR, LocalSim  # noqa: E402
from winrm.protocol import Protocol  # noqa: E402

from hardening.core.run import RunOptions  # noqa: E402
from hardening.platforms.windows.driver import WindowsPlatform  # noqa: E402

TEMPLATES = ["srv-win-01", "pc-win-01", "pc-win-02"]
CREDENTIALS = "benchwin"           # the inventory's credentials entry, filled from the environment
TARGET_RATIO = 2.0


def loopback(index: int) -> str:
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


class Sims:
    """The simulated hosts, split over several simulator processes (each a lab/winsim LocalSim on its own loopback
    addresses, its server certificate from the run's one CA `ca`)."""

    def __init__(self, count: int, processes: int, work: Path) -> None:
        files = work / "hosts"
        files.mkdir(parents=True)
        self.hosts: list[tuple[str, str]] = []
        self.classes: dict[str, str] = {}
        host_files: dict[str, str] = {}
        for index in range(count):
            template = TEMPLATES[index % len(TEMPLATES)]
            name = f"bench-win-{index + 1:03d}"
            (files / f"{name}.yaml").write_text(
                f"base: {HOSTS_DIR / (template + '.yaml')}\ncomputer_name: {name.upper()}\n", encoding="utf-8")
            self.hosts.append((name, loopback(index)))
            host_files[name] = str(files / f"{name}.yaml")
            self.classes[name] = "windows_server" if template.startswith("srv-") else "windows_pc"
        self.username = f"audit-{secrets.token_hex(3)}"
        self.password = secrets.token_urlsafe(18)
        processes = max(1, min(processes, count))
        self.sims: list[LocalSim] = []
        self.owner: dict[str, LocalSim] = {}
        ca, ca_key = pki.ensure_ca(work / "ca")    # one CA for the run; every process's server certificate from it
        try:
            for part in range(processes):
                hosts = self.hosts[part::processes]
                for source in (ca, ca_key):
                    (work / f"sim{part}" / "pki").mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, work / f"sim{part}" / "pki" / source.name)
                sim = LocalSim(work / f"sim{part}", hosts, username=self.username, password=self.password,
                               host_files={name: host_files[name] for name, _ in hosts})
                self.sims.append(sim.__enter__())
                self.owner.update({name: sim for name, _ in hosts})
        except BaseException:
            self.stop()
            raise
        self.ca = ca

    def endpoint(self, name: str, *, https: bool) -> str:
        return self.owner[name].endpoint(name, https=https)

    def pids(self) -> list[int]:
        return [sim.proc.pid for sim in self.sims if sim.proc is not None]

    def cpu(self) -> float:
        return process_cpu(self.pids())

    def stop(self) -> None:
        for sim in self.sims:
            sim.__exit__(None, None, None)


def floor(sim: Sims, workers: int, https: bool) -> Round:
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

    cpu, sim_before = time.process_time(), sim.cpu()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, names))
    return Round(time.perf_counter() - start, time.process_time() - cpu, sim.cpu() - sim_before)


def write_inventory(sim: Sims, work: Path, https: bool) -> Path:
    """An inventory of the simulated hosts for (b): the demo's site parameters, the windows platform over NTLM."""
    inventory = work / "inventory"
    inventory.mkdir()
    for name in ("site.yaml", "systems.yaml"):
        shutil.copy(ROOT / "inventory" / name, inventory / name)
    winrm = ({"port": 5986, "extras": {"transport": "ntlm", "scheme": "https", "server_cert_validation": "validate",
                                       "ca_trust_path": str(sim.ca)}} if https else
             {"port": 5985, "extras": {"transport": "ntlm", "scheme": "http", "message_encryption": "always"}})
    hosts = {name: {"hostname": address, "groups": ["windows"], "data": {"device_class": sim.classes[name]}}
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


def audit(sim: Sims, inventory: Path, workers: int) -> Round:
    """(b): the product's audit, from loading the inventory and catalog to the report document (WinRM options from
    the inventory, the time budget the floor's read timeout)."""
    return product_audit(inventory, RunOptions(timeout=60, workers=workers, progress=False), sim.cpu)


def run_size(count: int, workers: int, rounds: int, https: bool, processes: int, sample: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix=f"hardening-winbench-{count}-"))
    sim = None
    try:
        started = time.perf_counter()
        sim = Sims(count, processes, work)
        inventory = write_inventory(sim, work, https)
        print(f"\n== {count} hosts, {workers} workers, {'https' if https else 'http + NTLM message encryption'}: "
              f"simulator ready in {time.perf_counter() - started:.1f} s ({len(sim.sims)} simulator process(es), "
              f"~{count // len(sim.sims)} hosts each, pids {' '.join(map(str, sim.pids()))}; "
              f"{loopback(0)}..{loopback(count - 1)})", flush=True)
        floors: list[Round] = []
        ours: list[Round] = []
        for index in range(rounds):     # alternate which side goes first, so drift in the load hits both
            order = ("a", "b") if index % 2 == 0 else ("b", "a")
            for side in order:
                if side == "a":
                    floors.append(floor(sim, workers, https))
                else:
                    ours.append(audit(sim, inventory, workers))
            a, b = floors[-1], ours[-1]
            print(f"  round {index + 1}: (a) pywinrm, one trivial command per host {a.wall:6.2f} s  "
                  f"[cpu {a.cpu:5.1f} s, simulator {a.sim_cpu:4.1f} s]   (b) our audit {b.wall:6.2f} s  "
                  f"[cpu {b.cpu:5.1f} s, simulator {b.sim_cpu:4.1f} s]   b/a {b.wall / a.wall:4.2f}", flush=True)
            print(f"           (b): {b.note}", flush=True)
        sample_run = RunOptions(timeout=60, workers=1, progress=False)
        names = [name for name, _ in sim.hosts][:sample]
        parse_cpu, evaluate_cpu, sampled = parse_evaluate_cpu(WindowsPlatform(), inventory, names, sample_run, work,
                                                              repeat=5)
        ratios = [b.wall / a.wall for a, b in zip(floors, ours, strict=True)]
        ratio = median(ratios)
        med_a, med_b = median([r.wall for r in floors]), median([r.wall for r in ours])
        print(f"  b/a per round {', '.join(f'{r:.2f}' for r in ratios)}: median {ratio:.2f} "
              f"[target <= {TARGET_RATIO}: {mark(ratio <= TARGET_RATIO)}]   medians of {rounds} rounds: "
              f"(a) floor {med_a:.2f} s (b) our audit {med_b:.2f} s")
        per_a = median([r.cpu for r in floors]) / count * 1000
        per_b = median([r.cpu for r in ours]) / count * 1000
        pe = (parse_cpu + evaluate_cpu) * 1000
        print(f"  our CPU per host (median round): (b) {per_b:.0f} ms = parse + evaluate {pe:.1f} ms (parse "
              f"{parse_cpu * 1000:.1f} + evaluate {evaluate_cpu * 1000:.1f}; {sampled} hosts' captures x 5, one "
              f"thread, no I/O) + WinRM I/O and the rest {per_b - pe:.0f} ms;  the floor (a) {per_a:.0f} ms")
        sims = {side: median([r.sim_cpu for r in rs]) / count * 1000 for side, rs in (("a", floors), ("b", ours))}
        print(f"  simulator CPU per host (median round): (a) {sims['a']:.0f} ms  (b) {sims['b']:.0f} ms", flush=True)
        return {"hosts": count, "a": med_a, "b": med_b, "ratio": ratio, "cpu_ms": per_b, "pe_ms": pe}
    finally:
        if sim is not None:
            sim.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--hosts", type=int, nargs="+", default=[200])
    ap.add_argument("--workers", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scheme", choices=["https", "http"], default="https")
    ap.add_argument("--sim-processes", type=int, default=4, help="simulator processes the hosts are split over")
    ap.add_argument("--sample", type=int, default=30, help="hosts whose captures are parsed and evaluated again for "
                                                           "the parse + evaluate CPU figure")
    args = ap.parse_args()
    for name in ("HARDENING_VAULT", "HARDENING_VAULT_PASSWORD_FILE"):
        os.environ.pop(name, None)      # credentials come from this run only
    print(machine_line("Windows audit benchmark"))
    summary = [run_size(count, args.workers, args.rounds, args.scheme == "https", args.sim_processes, args.sample)
               for count in args.hosts]
    print("\nsummary (median wall times and b/a of the rounds): " + "; ".join(
        f"{s['hosts']} hosts: (a) {s['a']:.2f} s (b) {s['b']:.2f} s b/a {s['ratio']:.2f}, our CPU {s['cpu_ms']:.0f} "
        f"ms/host of which parse+evaluate {s['pe_ms']:.1f} ms" for s in summary))
    print(f"target (issue 9): b/a <= {TARGET_RATIO}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
