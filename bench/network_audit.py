#!/usr/bin/env python3
"""Benchmark: our audit of N simulated Cisco IOS devices next to a bare netmiko fetch of `show running-config`.

Starts N devices of the lab's IOS simulator (lab/netsim) on loopback ports in one simulator process (a child
process, like devices beside the auditor; no namespaces needed), then in this process measures, with the same
W workers:

(a) bare netmiko: connect, enable, `show running-config`, disconnect, for every device;
(b) our audit: `run_audit` of the same devices (one netmiko session per device running the platform's whole
    command table, parse, evaluate every requirement);

and prints the wall time of each, the ratio b/a, and our CPU per device for parse + evaluate apart from I/O
(saved captures of a sample of devices parsed and evaluated again in one thread, `time.process_time`).

    python bench/network_audit.py [--devices 50 200] [--workers 50] [--rounds 1]

Targets (issue 8): b/a <= 1.5, <= 20 ms CPU per device, 200 devices <= 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncssh
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from lab.netsim.core import Device  # noqa: E402

from hardening.audit import load_inputs, run_audit  # noqa: E402
from hardening.core.evaluate import evaluate_host  # noqa: E402
from hardening.core.models import CollectResult  # noqa: E402
from hardening.core.run import RunOptions, build_target  # noqa: E402
from hardening.core.scope import Selection  # noqa: E402
from hardening.core.secrets import SecretStore  # noqa: E402
from hardening.platforms.cisco_ios.driver import IOSPlatform  # noqa: E402

CONFIGS = [ROOT / "lab" / "netsim" / "devices" / f"{name}.cfg" for name in ("rt-ios-01", "rt-ios-02", "sw-ios-01")]
USERNAME, PASSWORD, SECRET = "netops", "bench-Pw-1", "bench-En-1"   # loopback-only throwaway credentials


def free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def start_simulator(count: int, work: Path) -> tuple[list[Device], Path, subprocess.Popen[bytes]]:
    """N devices on loopback in one simulator process (`python -m lab.netsim`), one shared host key (key
    generation is not what is measured). The simulator runs beside this process, as devices would."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = work / "ssh_host_key"
    key.write_private_key(str(key_file))
    public = key.export_public_key("openssh").decode().split()[:2]
    devices, entries = [], []
    for index, port in enumerate(free_ports(count)):
        source = CONFIGS[index % len(CONFIGS)]
        name = f"bench-ios-{index + 1:03d}"
        config = work / f"{name}.cfg"
        text = source.read_text(encoding="utf-8").replace(f"hostname {source.stem}", f"hostname {name}")
        text = text.replace("username netops privilege 15 ", "username netops ")   # every device needs enable
        config.write_text(text, encoding="utf-8")
        params = {"device_class": "switch" if source.stem.startswith("sw-") else "router",
                  "links_up": ["GigabitEthernet0/0", "GigabitEthernet1/0/1"], "ntp_reachable": ["10.203.0.10"]}
        device = Device(name=name, personality="ios", address="127.0.0.1", port=port, username=USERNAME,
                        password=PASSWORD, enable_secret=SECRET, state_dir=work / "state" / name,
                        initial_config=config, host_keys=[key_file], params=params)
        devices.append(device)
        entries.append({"name": name, "personality": "ios", "address": "127.0.0.1", "port": port,
                        "username": USERNAME, "password": PASSWORD, "enable_secret": SECRET,
                        "state_dir": str(device.state_dir), "initial_config": str(config),
                        "host_keys": [str(key_file)], "params": params})
    known_hosts = work / "known_hosts"
    known_hosts.write_text("".join(f"[127.0.0.1]:{d.port} {public[0]} {public[1]}\n" for d in devices))
    spec = work / "spec.json"
    spec.write_text(json.dumps({"devices": entries}), encoding="utf-8")
    spec.chmod(0o600)
    profile = ["-m", "cProfile", "-o", os.environ["NETSIM_PROFILE"]] if os.environ.get("NETSIM_PROFILE") else []
    command = [sys.executable, *profile, "-m", "lab.netsim", str(spec), "--log", str(work / "netsim.log")]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    pending = list(devices)
    while pending and time.monotonic() < deadline and process.poll() is None:
        pending = [d for d in pending if not _listening(d.port)]
        time.sleep(0.05)
    if pending:
        process.terminate()
        raise RuntimeError(f"the simulator does not listen on {len(pending)} port(s); see {work / 'netsim.log'}")
    return devices, known_hosts, process


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def write_inventory(devices: list[Device], work: Path, fast_cli: bool) -> Path:
    inventory = work / "inventory"
    inventory.mkdir()
    for name in ("site.yaml", "systems.yaml"):
        shutil.copy(ROOT / "inventory" / name, inventory / name)
    hosts = {d.name: {"hostname": d.address, "port": d.port, "groups": ["ios"],
                      "data": {"device_class": d.params["device_class"]}} for d in devices}
    groups = {"ios": {"platform": "cisco_ios",
                      "connection_options": {"netmiko": {"extras": {"device_type": "cisco_ios", "fast_cli": fast_cli}}},
                      "data": {
        "zone": "lgwan", "system": "情報基盤", "classification": {"c": 2, "i": 2, "a": 2}, "roles": ["network_device"],
        "credentials": "benchios"}}}
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    (inventory / "groups.yaml").write_text(yaml.safe_dump(groups, allow_unicode=True), encoding="utf-8")
    (inventory / "defaults.yaml").write_text("{}\n", encoding="utf-8")
    return inventory


def bare_fetch(devices: list[Device], known_hosts: Path, workers: int, fast_cli: bool) -> float:
    from netmiko import ConnectHandler

    def one(device: Device) -> int:
        connection = ConnectHandler(
            device_type="cisco_ios", host=device.address, port=device.port, username=USERNAME, password=PASSWORD,
            secret=SECRET, ssh_strict=True, system_host_keys=False, alt_host_keys=True, alt_key_file=str(known_hosts),
            allow_agent=False, use_keys=False, fast_cli=fast_cli)
        try:
            connection.enable()
            return len(connection.send_command("show running-config"))
        finally:
            connection.disconnect()

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        sizes = list(pool.map(one, devices))
    if not all(size > 1000 for size in sizes):
        raise RuntimeError("a device gave no configuration")
    return time.perf_counter() - start


def audit(inventory: Path, known_hosts: Path, workers: int) -> tuple[float, dict[str, Any], dict[str, CollectResult]]:
    inputs = load_inputs(inventory, ROOT / "schemas" / "requirements")
    run = RunOptions.ssh(timeout=60, workers=workers, progress=False, known_hosts=str(known_hosts))
    start = time.perf_counter()
    report, results = run_audit(inputs, Selection(), SecretStore(), run)
    return time.perf_counter() - start, report, results


def parse_and_evaluate_cpu(inventory: Path, known_hosts: Path, work: Path) -> tuple[float, int]:
    """CPU seconds per device for parse + evaluate of saved captures (no I/O in the measured part)."""
    inputs = load_inputs(inventory, ROOT / "schemas" / "requirements")
    hosts = list(inputs.inventory.hosts.values())
    platform = IOSPlatform()
    run = RunOptions.ssh(timeout=60, workers=1, progress=False, known_hosts=str(known_hosts))
    secrets = SecretStore()
    captures = []
    sample = hosts[: min(len(hosts), 30)]   # captures of a sample (fetching them all again is I/O)

    def capture(host: Any) -> tuple[Any, Path]:
        into = work / "captures" / host.name
        into.mkdir(parents=True)
        platform.fetch(build_target(host, secrets, run), into)
        return host, into

    with ThreadPoolExecutor(max_workers=len(sample)) as pool:
        captures = list(pool.map(capture, sample))
    requirements = list(inputs.catalog.values())
    today = dt.date.today()
    texts = {}
    for host, into in captures:   # read the files before measuring
        texts[host.name] = {p.name: p.read_bytes() for p in into.iterdir()}
    rounds = 5
    start = time.process_time()
    for _ in range(rounds):
        for host, into in captures:
            facts = platform.parse(into)
            facts.update(host=host.name, platform=host.platform, device_class=host.device_class)
            result = CollectResult(host=host.name, facts=facts, error=None, error_kind=None, duration_s=0.0)
            evaluate_host(host, result, requirements, inputs.inventory.parameters, inputs.waivers, today)
    cpu = (time.process_time() - start) / (rounds * len(captures))
    return cpu, len(captures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--fast-cli", action="store_true", help="netmiko fast_cli in (a) and (b) (the inventory's "
                                                                  "connection_options.netmiko.extras.fast_cli)")
    args = parser.parse_args()
    os.environ.pop("HARDENING_VAULT", None)
    os.environ.update({"HARDENING_CRED_BENCHIOS_USERNAME": USERNAME, "HARDENING_CRED_BENCHIOS_PASSWORD": PASSWORD,
                       "HARDENING_CRED_BENCHIOS_ENABLE_SECRET": SECRET})
    for count in args.devices:
        work = Path(tempfile.mkdtemp(prefix=f"hardening-netbench-{count}-"))
        try:
            devices, known_hosts, simulator = start_simulator(count, work)
            inventory = write_inventory(devices, work, args.fast_cli)
            for round_ in range(1, args.rounds + 1):
                bare = bare_fetch(devices, known_hosts, args.workers, args.fast_cli)
                ours, report, results = audit(inventory, known_hosts, args.workers)
                errors = [r.error for r in results.values() if r.error]
                cpu, sampled = parse_and_evaluate_cpu(inventory, known_hosts, work / f"round{round_}")
                print(f"{count} devices, {args.workers} workers, fast_cli {args.fast_cli}, round {round_}: "
                      f"bare netmiko show running-config {bare:.2f} s | our audit {ours:.2f} s "
                      f"({len(results) - len(errors)} hosts with facts, {len(errors)} errors, "
                      f"{len(report['findings'])} findings) | ratio {ours / bare:.2f} | "
                      f"parse+evaluate CPU {cpu * 1000:.1f} ms/device (over {sampled} captures)")
                if errors:
                    print(f"  first error: {errors[0]}")
            simulator.terminate()
            simulator.wait(timeout=30)
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            print(f"  simulator process CPU (all rounds, cumulative children): "
                  f"{usage.ru_utime + usage.ru_stime:.1f} s")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
