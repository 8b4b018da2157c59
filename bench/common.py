"""What the audit benchmarks share (bench/network_audit.py, bench/windows_audit.py): a round's figures, the CPU of a
child process, the product's audit as the command line runs it, and parse + evaluate CPU over saved captures."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardening.audit import load_inputs, run_audit
from hardening.core.evaluate import evaluate_host
from hardening.core.facts import stamp
from hardening.core.models import CollectResult
from hardening.core.run import RunOptions, build_target
from hardening.core.scope import Selection
from hardening.core.secrets import REDACTOR, SecretStore, mask_config_secrets

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "schemas" / "requirements"


@dataclass
class Round:
    wall: float
    cpu: float          # this process
    sim_cpu: float      # the simulator process(es)
    note: str = ""
    errors: int = 0     # hosts without facts (an incomplete audit)


def process_cpu(pids: Sequence[int]) -> float:
    """CPU seconds the processes `pids` have used so far (Linux /proc; 0 for one that is gone or elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def machine_line(what: str) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{what}: {os.cpu_count()} CPUs, load average {load:.1f} at the start (the machine is shared: compare "
            "the two sides of one round, not runs of different days)")


def product_audit(inventory: Path, run: RunOptions, sim_cpu: Callable[[], float]) -> Round:
    """The product's audit as `hardening audit` runs it: load the inventory and the catalog, run_audit (collect_all
    over Nornir: one session per host running the platform's command table, parse, facts schema check; evaluate
    every requirement; build the report document)."""
    cpu, sim = time.process_time(), sim_cpu()
    start = time.perf_counter()
    inputs = load_inputs(inventory, CATALOG)
    report, results = run_audit(inputs, Selection(), SecretStore(), run)
    wall = time.perf_counter() - start
    errors = [r.error for r in results.values() if r.error]
    statuses = report["summary"]["hosts_by_status"]
    note = f"{len(results) - len(errors)} hosts with facts, {len(errors)} errors, {len(report['findings'])} findings"
    note += f" ({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()) if v)})"
    if errors:
        note += f"; first error: {errors[0]}"
    return Round(wall, time.process_time() - cpu, sim_cpu() - sim, note, len(errors))


def parse_evaluate_cpu(platform: Any, inventory: Path, names: Sequence[str], run: RunOptions, work: Path,
                       repeat: int) -> tuple[float, float, int]:
    """CPU seconds per host of (parse, evaluate) over saved captures of the hosts `names`, no I/O measured.

    parse = what collect does after the session: the platform's parse of the capture (files already in the page
    cache), the facts schema check (stamp), secret masking of the captures kept for the report;
    evaluate = evaluate_host of every requirement of the catalog."""
    inputs = load_inputs(inventory, CATALOG)
    hosts = [inputs.inventory.hosts[name] for name in names]
    store = SecretStore()

    def capture(host: Any) -> Path:
        into = work / "captures" / host.name
        into.mkdir(parents=True)
        platform.fetch(build_target(host, store, run), into)
        return into

    with ThreadPoolExecutor(max_workers=min(len(hosts), 50)) as pool:
        folders = list(pool.map(capture, hosts))
    requirements = list(inputs.catalog.values())
    today = dt.date.today()
    parameters, waivers = inputs.inventory.parameters, inputs.waivers
    for folder in folders:              # warm the page cache and every lazily built schema validator
        for path in folder.iterdir():
            path.read_bytes()
    parse_cpu = evaluate_cpu = 0.0
    for round_ in range(repeat + 1):    # round 0 warms up and is not counted
        start = time.process_time()
        documents = []
        for host, folder in zip(hosts, folders, strict=True):
            document = platform.parse(folder)
            for path in sorted(folder.iterdir()):
                REDACTOR.scrub(mask_config_secrets(path.read_text(encoding="utf-8")))
            documents.append(stamp(document, host, platform.name, "facts"))
        middle = time.process_time()
        for host, document in zip(hosts, documents, strict=True):
            result = CollectResult(host=host.name, facts=document, error=None, error_kind=None, duration_s=0.0)
            findings = evaluate_host(host, result, requirements, parameters, waivers, today)
            if len(findings) != len(requirements):
                raise RuntimeError(f"{host.name}: {len(findings)} findings for {len(requirements)} requirements")
        end = time.process_time()
        if round_:
            parse_cpu += middle - start
            evaluate_cpu += end - middle
    per = repeat * len(hosts)
    return parse_cpu / per, evaluate_cpu / per, len(hosts)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
