#!/usr/bin/env python3
"""Benchmark: our audit of N simulated Cisco IOS devices next to a bare netmiko fetch of `show running-config`.

For each size N (default 50 and 200) this one run starts N devices of the lab's IOS simulator (lab/netsim) in
`--sim-processes` simulator processes (default: one per CPU, at least 2; the devices dealt round-robin) on
127.0.0.1 (distinct ports; loopback only), each in a known state (the lab's lab/netsim/devices/rt-ios-*.cfg and
sw-ios-01.cfg with the hostname changed), with credentials generated for the run and a host key per device in a
temporary known_hosts file (strict host-key checking, as production). The simulated devices stand in for N real
devices with a CPU each: one process would make every session wait on one event loop. Then, in this process and
with the same W workers, it measures alternately, `--rounds` times:

(a) bare netmiko: ConnectHandler (netmiko's defaults) + enable + `show running-config` + disconnect for every
    device, in a thread pool, netmiko imported beforehand. Each connection gets a known_hosts file holding only its
    device's entry (written before the clock starts): paramiko decodes every line of the file it loads on every
    connection, quadratic over a run with one shared file, and the floor should not pay that (our audit reads the
    run's shared known_hosts and narrows it per connection inside its own time);
(b) our audit through the product's own path: load the inventory and the catalog, `run_audit` (collect_all over
    Nornir: one netmiko session per device running the whole command table of platforms/cisco_ios/platform.yaml,
    parse, facts schema check; evaluate every requirement; build the report);

and prints each round's wall time, the ratio b/a, the CPU of this process and of the simulators, then our CPU per
device for parse + evaluate apart from I/O: saved captures of a sample of the devices parsed and evaluated again in
a tight loop in one thread (time.process_time; nothing else runs meanwhile). The machine is shared: every round is
printed, and the summary gives the median ratio of the rounds and the median and best wall time of each side.

    python bench/network_audit.py [--devices 50 200] [--workers 50] [--rounds 5] [--sample 30] [--sim-processes K]

Targets (issue 8): b <= 1.5 x a, <= 20 ms CPU per device for parse + evaluate, 200 devices <= 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import yaml
from netmiko import ConnectHandler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.common import Round, machine_line, mark, parse_evaluate_cpu, process_cpu, product_audit  # noqa: E402

from hardening.core.run import RunOptions  # noqa: E402
from hardening.platforms.cisco_ios.driver import IOSPlatform  # noqa: E402

TEMPLATES = [ROOT / "lab" / "netsim" / "devices" / f"{name}.cfg" for name in ("rt-ios-01", "rt-ios-02", "sw-ios-01")]
CREDENTIALS = "benchios"           # the inventory's credentials entry, filled from the environment
LOOPBACK = "127.0.0.1"             # the only address anything here listens on or connects to
TARGETS = {"ratio": 1.5, "cpu_ms": 20.0, "wall_200": 10.0}


@dataclass
class Lab:
    """The simulated devices of one size and what the client needs to reach them."""

    names: list[str]
    ports: dict[str, int]
    device_class: dict[str, str]
    username: str
    password: str
    enable_secret: str
    known_hosts: Path
    device_known_hosts: dict[str, Path]     # one file per device holding only its entry (the bare fetch's)
    processes: list[subprocess.Popen[bytes]]

    def cpu(self) -> float:
        """CPU seconds the simulator processes have used so far (Linux /proc; 0 elsewhere)."""
        return process_cpu([process.pid for process in self.processes])

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def free_ports(count: int) -> list[int]:
    held, ports = [], []
    for _ in range(count):
        s = socket.socket()
        s.bind((LOOPBACK, 0))
        held.append(s)
        ports.append(s.getsockname()[1])
    for s in held:
        s.close()
    return ports


def start_lab(count: int, work: Path, processes: int = 1) -> Lab:
    """`count` IOS devices in `processes` simulator processes (`python -m lab.netsim SPEC --ready FILE` each, the
    devices dealt round-robin) on loopback."""
    username = f"audit-{secrets.token_hex(3)}"
    password, enable_secret = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    keys = work / "keys"
    keys.mkdir(mode=0o700)
    entries, known, ports, classes, names, device_known = [], [], {}, {}, [], {}
    (work / "known_hosts.d").mkdir()
    for index, port in enumerate(free_ports(count)):
        template = TEMPLATES[index % len(TEMPLATES)]
        name = f"bench-ios-{index + 1:03d}"
        text = template.read_text(encoding="utf-8")
        if f"hostname {template.stem}\n" not in text:
            raise RuntimeError(f"{template}: no `hostname {template.stem}` line to rename")
        text = text.replace(f"hostname {template.stem}\n", f"hostname {name}\n")
        text = text.replace("username netops privilege 15 ", "username netops ")  # every session needs `enable`
        config = work / f"{name}.cfg"
        config.write_text(text, encoding="utf-8")
        key = asyncssh.generate_private_key("ssh-ed25519")
        key_file = keys / name
        key.write_private_key(str(key_file))
        known.append(f"[{LOOPBACK}]:{port} {key.export_public_key('openssh').decode().strip()}\n")
        device_known[name] = work / "known_hosts.d" / name
        device_known[name].write_text(known[-1], encoding="utf-8")
        device_class = "switch" if template.stem.startswith("sw-") else "router"
        params = {"device_class": device_class, "links_up": ["GigabitEthernet0/0", "GigabitEthernet1/0/1"],
                  "ntp_reachable": ["10.203.0.10"]}
        entries.append({"name": name, "personality": "ios", "address": LOOPBACK, "port": port,
                        "username": username, "password": password, "enable_secret": enable_secret,
                        "state_dir": str(work / "state" / name), "initial_config": str(config),
                        "host_keys": [str(key_file)], "params": params})
        names.append(name)
        ports[name] = port
        classes[name] = device_class
    known_hosts = work / "known_hosts"
    known_hosts.write_text("".join(known), encoding="utf-8")
    started: list[subprocess.Popen[bytes]] = []
    waiting: list[tuple[subprocess.Popen[bytes], Path, Path]] = []
    for index in range(max(1, min(processes, count))):
        spec = work / f"spec-{index}.json"
        spec.touch(mode=0o600)
        spec.write_text(json.dumps({"devices": entries[index::processes]}), encoding="utf-8")
        ready, log = work / f"ready-{index}", work / f"netsim-{index}.log"
        command = [sys.executable, "-m", "lab.netsim", str(spec), "--ready", str(ready), "--log", str(log)]
        started.append(subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}))
        waiting.append((started[-1], ready, log))
    lab = Lab(names, ports, classes, username, password, enable_secret, known_hosts, device_known, started)
    deadline = time.monotonic() + 120
    for process, ready, log in waiting:
        while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not ready.exists():
            lab.stop()
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"a simulator process did not start its devices:\n{tail}")
    return lab


def write_inventory(lab: Lab, work: Path) -> Path:
    """An inventory of the simulated devices (the demo's site parameters; netmiko options left at the product's
    defaults, host keys from the run's known_hosts)."""
    inventory = work / "inventory"
    inventory.mkdir()
    for name in ("site.yaml", "systems.yaml"):
        shutil.copy(ROOT / "inventory" / name, inventory / name)
    hosts = {name: {"hostname": LOOPBACK, "port": lab.ports[name], "groups": ["ios"],
                    "data": {"device_class": lab.device_class[name]}} for name in lab.names}
    groups = {"ios": {"platform": "cisco_ios", "data": {
        "zone": "lgwan", "system": "情報基盤", "classification": {"c": 2, "i": 2, "a": 2}, "roles": ["network_device"],
        "credentials": CREDENTIALS}}}
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    (inventory / "groups.yaml").write_text(yaml.safe_dump(groups, allow_unicode=True), encoding="utf-8")
    (inventory / "defaults.yaml").write_text("{}\n", encoding="utf-8")
    return inventory


def bare_fetch(lab: Lab, workers: int) -> Round:
    """(a): what a script with netmiko's defaults does to get `show running-config` from every device (netmiko is
    imported before the clock starts; each connection loads a known_hosts file of its device alone)."""

    def one(name: str) -> int:
        connection = ConnectHandler(
            device_type="cisco_ios", host=LOOPBACK, port=lab.ports[name], username=lab.username,
            password=lab.password, secret=lab.enable_secret, ssh_strict=True, system_host_keys=False,
            alt_host_keys=True, alt_key_file=str(lab.device_known_hosts[name]), allow_agent=False, use_keys=False)
        try:
            connection.enable()
            return len(connection.send_command("show running-config"))
        finally:
            connection.disconnect()

    cpu, sim = time.process_time(), lab.cpu()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        sizes = list(pool.map(one, lab.names))
    wall = time.perf_counter() - start
    if not all(size > 1000 for size in sizes):
        raise RuntimeError("a device gave no configuration")
    return Round(wall, time.process_time() - cpu, lab.cpu() - sim)


def audit(lab: Lab, inventory: Path, workers: int) -> Round:
    """(b): the product's audit, from loading the inventory and catalog to the report document."""
    run = RunOptions.ssh(timeout=60, workers=workers, progress=False, known_hosts=str(lab.known_hosts),
                         host_key_policy="strict")
    return product_audit(inventory, run, lab.cpu)


def run_size(count: int, workers: int, rounds: int, sample: int, processes: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"hardening-netbench-{count}-"))
    lab = None
    try:
        started = time.perf_counter()
        lab = start_lab(count, work, processes)
        inventory = write_inventory(lab, work)
        os.environ.update({f"HARDENING_CRED_{CREDENTIALS.upper()}_USERNAME": lab.username,
                           f"HARDENING_CRED_{CREDENTIALS.upper()}_PASSWORD": lab.password,
                           f"HARDENING_CRED_{CREDENTIALS.upper()}_ENABLE_SECRET": lab.enable_secret})
        print(f"\n== {count} devices, {workers} workers: simulator ready in {time.perf_counter() - started:.1f} s "
              f"({len(lab.processes)} simulator processes, pids {' '.join(str(p.pid) for p in lab.processes)}, "
              f"{LOOPBACK} ports {min(lab.ports.values())}.."
              f"{max(lab.ports.values())}: the simulated devices stand in for {count} devices with a CPU each, so they "
              f"do not all share one event loop)", flush=True)
        bare: list[Round] = []
        ours: list[Round] = []
        for index in range(rounds):     # alternate which side goes first, so drift in the load hits both
            order = ("a", "b") if index % 2 == 0 else ("b", "a")
            for side in order:
                if side == "a":
                    bare.append(bare_fetch(lab, workers))
                else:
                    ours.append(audit(lab, inventory, workers))
            a, b = bare[-1], ours[-1]
            print(f"  round {index + 1}: (a) bare netmiko {a.wall:6.2f} s  [cpu {a.cpu:5.1f} s, simulator "
                  f"{a.sim_cpu:4.1f} s]   (b) our audit {b.wall:6.2f} s  [cpu {b.cpu:5.1f} s, simulator "
                  f"{b.sim_cpu:4.1f} s]   b/a {b.wall / a.wall:4.2f}", flush=True)
            print(f"           (b): {b.note}", flush=True)
        sample_run = RunOptions.ssh(timeout=60, workers=1, progress=False, known_hosts=str(lab.known_hosts))
        parse_cpu, evaluate_cpu, sampled = parse_evaluate_cpu(IOSPlatform(), inventory, lab.names[:sample],
                                                              sample_run, work, repeat=5)
        best_a, best_b = min(r.wall for r in bare), min(r.wall for r in ours)
        median_a, median_b = statistics.median(r.wall for r in bare), statistics.median(r.wall for r in ours)
        ratios = [b.wall / a.wall for a, b in zip(bare, ours, strict=True)]
        ratio = statistics.median(ratios)
        cpu_ms = (parse_cpu + evaluate_cpu) * 1000
        print(f"  b/a per round {', '.join(f'{r:.2f}' for r in ratios)}: median {ratio:.2f} "
              f"[target <= {TARGETS['ratio']}: {mark(ratio <= TARGETS['ratio'])}]   median of {rounds}: "
              f"(a) {median_a:.2f} s (b) {median_b:.2f} s; best: (a) {best_a:.2f} s (b) {best_b:.2f} s")
        if count == 200:
            print(f"  200 devices: our audit {median_b:.2f} s median, {best_b:.2f} s best  [target <= "
                  f"{TARGETS['wall_200']} s: {mark(median_b <= TARGETS['wall_200'])}]   (the bare fetch alone: "
                  f"{median_a:.2f} s median)")
        print(f"  our CPU per device, parse + evaluate (no I/O; {sampled} devices' captures x 5, one thread): "
              f"{cpu_ms:.1f} ms = parse {parse_cpu * 1000:.1f} + evaluate {evaluate_cpu * 1000:.1f}  "
              f"[target <= {TARGETS['cpu_ms']:.0f} ms: {mark(cpu_ms <= TARGETS['cpu_ms'])}]")
        per = {name: min(getattr(r, field) for r in rounds_) / count * 1000
               for name, field, rounds_ in (("a", "cpu", bare), ("b", "cpu", ours), ("sa", "sim_cpu", bare),
                                            ("sb", "sim_cpu", ours))}
        print(f"  whole-process CPU per device incl. SSH (best round): (a) {per['a']:.0f} ms  (b) {per['b']:.0f} ms;"
              f"  simulators (a) {per['sa']:.0f} ms  (b) {per['sb']:.0f} ms", flush=True)
        return {"devices": count, "a": median_a, "b": median_b, "ratio": ratio, "cpu_ms": cpu_ms}
    finally:
        if lab is not None:
            lab.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sim-processes", type=int, default=0,
                        help="simulator processes (default: one per CPU, at least 2)")
    parser.add_argument("--sample", type=int, default=30, help="devices whose captures are parsed and evaluated "
                                                               "again for the CPU figure")
    args = parser.parse_args()
    for name in ("HARDENING_VAULT", "HARDENING_VAULT_PASSWORD_FILE"):
        os.environ.pop(name, None)      # credentials come from this run only
    print(machine_line("Network audit benchmark"))
    parser_processes = args.sim_processes or max(2, os.cpu_count() or 1)
    summary = [run_size(count, args.workers, args.rounds, args.sample, parser_processes) for count in args.devices]
    print("\nsummary (median wall times and median b/a of the rounds): " + "; ".join(
        f"{s['devices']} devices: (a) {s['a']:.2f} s (b) {s['b']:.2f} s b/a {s['ratio']:.2f}, "
        f"parse+evaluate {s['cpu_ms']:.1f} ms/device" for s in summary))
    print(f"targets (issue 8): b/a <= {TARGETS['ratio']}, parse+evaluate <= {TARGETS['cpu_ms']:.0f} ms CPU per device, "
          f"200 devices <= {TARGETS['wall_200']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
