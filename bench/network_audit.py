#!/usr/bin/env python3
"""Benchmark: our audit of N simulated Cisco IOS devices next to a bare netmiko fetch of `show running-config`.

Starts N devices of the lab's IOS simulator (lab/netsim) on loopback ports in one simulator process (a thread
of this process running the asyncio loop; no namespaces needed), then in this same process measures, with the
same W workers:

(a) bare netmiko: connect, enable, `show running-config`, disconnect, for every device;
(b) our audit: `run_audit` of the same devices (one netmiko session per device running the platform's whole
    command table, parse, evaluate every requirement);

and prints the wall time of each, the ratio b/a, and our CPU per device for parse + evaluate apart from I/O
(the saved captures of every device parsed and evaluated again in one thread, `time.process_time`).
The simulator shares this process's CPU, as in (a) and (b) alike.

    python bench/network_audit.py [--devices 50 200] [--workers 50] [--rounds 1]

Targets (issue 8): b/a <= 1.5, <= 20 ms CPU per device, 200 devices <= 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncssh
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from hardening.audit import load_inputs, run_audit  # noqa: E402
from hardening.core.evaluate import evaluate_host  # noqa: E402
from hardening.core.models import CollectResult  # noqa: E402
from hardening.core.run import RunOptions, build_target  # noqa: E402
from hardening.core.scope import Selection  # noqa: E402
from hardening.core.secrets import SecretStore  # noqa: E402
from hardening.platforms.cisco_ios.driver import IOSPlatform  # noqa: E402
from lab.netsim.core import Device, Simulator  # noqa: E402

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


def start_simulator(count: int, work: Path) -> tuple[list[Device], Path, asyncio.AbstractEventLoop, Simulator]:
    """N devices on loopback, one shared host key (key generation is not what is measured)."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = work / "ssh_host_key"
    key.write_private_key(str(key_file))
    public = key.export_public_key("openssh").decode().split()[:2]
    devices = []
    for index, port in enumerate(free_ports(count)):
        source = CONFIGS[index % len(CONFIGS)]
        name = f"bench-ios-{index + 1:03d}"
        config = work / f"{name}.cfg"
        text = source.read_text(encoding="utf-8").replace(f"hostname {source.stem}", f"hostname {name}")
        text = text.replace("username netops privilege 15 ", "username netops ")   # every device needs enable
        config.write_text(text, encoding="utf-8")
        params = {"device_class": "switch" if source.stem.startswith("sw-") else "router",
                  "links_up": ["GigabitEthernet0/0", "GigabitEthernet1/0/1"], "ntp_reachable": ["10.203.0.10"]}
        devices.append(Device(name=name, personality="ios", address="127.0.0.1", port=port, username=USERNAME,
                              password=PASSWORD, enable_secret=SECRET, state_dir=work / "state" / name,
                              initial_config=config, host_keys=[key_file], params=params))
    known_hosts = work / "known_hosts"
    known_hosts.write_text("".join(f"[127.0.0.1]:{d.port} {public[0]} {public[1]}\n" for d in devices))
    loop = asyncio.new_event_loop()
    simulator = Simulator(devices)
    loop.run_until_complete(simulator.start())
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return devices, known_hosts, loop, simulator


def write_inventory(devices: list[Device], work: Path) -> Path:
    inventory = work / "inventory"
    inventory.mkdir()
    for name in ("site.yaml", "systems.yaml"):
        shutil.copy(ROOT / "inventory" / name, inventory / name)
    hosts = {d.name: {"hostname": d.address, "port": d.port, "groups": ["ios"],
                      "data": {"device_class": d.params["device_class"]}} for d in devices}
    groups = {"ios": {"platform": "cisco_ios", "data": {
        "zone": "lgwan", "system": "情報基盤", "classification": {"c": 2, "i": 2, "a": 2}, "roles": ["network_device"],
        "credentials": "benchios"}}}
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    (inventory / "groups.yaml").write_text(yaml.safe_dump(groups, allow_unicode=True), encoding="utf-8")
    (inventory / "defaults.yaml").write_text("{}\n", encoding="utf-8")
    return inventory


def bare_fetch(devices: list[Device], known_hosts: Path, workers: int) -> float:
    from netmiko import ConnectHandler

    def one(device: Device) -> int:
        connection = ConnectHandler(
            device_type="cisco_ios", host=device.address, port=device.port, username=USERNAME, password=PASSWORD,
            secret=SECRET, ssh_strict=True, system_host_keys=False, alt_host_keys=True, alt_key_file=str(known_hosts),
            allow_agent=False, use_keys=False, fast_cli=False)
        try:
            connection.enable()
            return len(connection.send_command("show running-config"))
        finally:
            connection.disconnect()

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        sizes = list(pool.map(one, devices))
    assert all(size > 1000 for size in sizes)
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
    args = parser.parse_args()
    os.environ.pop("HARDENING_VAULT", None)
    os.environ.update({"HARDENING_CRED_BENCHIOS_USERNAME": USERNAME, "HARDENING_CRED_BENCHIOS_PASSWORD": PASSWORD,
                       "HARDENING_CRED_BENCHIOS_ENABLE_SECRET": SECRET})
    for count in args.devices:
        work = Path(tempfile.mkdtemp(prefix=f"hardening-netbench-{count}-"))
        try:
            devices, known_hosts, loop, simulator = start_simulator(count, work)
            inventory = write_inventory(devices, work)
            for round_ in range(1, args.rounds + 1):
                bare = bare_fetch(devices, known_hosts, args.workers)
                ours, report, results = audit(inventory, known_hosts, args.workers)
                errors = [r.error for r in results.values() if r.error]
                cpu, sampled = parse_and_evaluate_cpu(inventory, known_hosts, work / f"round{round_}")
                print(f"{count} devices, {args.workers} workers, round {round_}: "
                      f"bare netmiko show running-config {bare:.2f} s | our audit {ours:.2f} s "
                      f"({len(results) - len(errors)} hosts with facts, {len(errors)} errors, "
                      f"{len(report['findings'])} findings) | ratio {ours / bare:.2f} | "
                      f"parse+evaluate CPU {cpu * 1000:.1f} ms/device (over {sampled} captures)")
                if errors:
                    print(f"  first error: {errors[0]}")
            asyncio.run_coroutine_threadsafe(simulator.stop(), loop).result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
