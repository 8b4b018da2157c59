#!/usr/bin/env python3
"""Benchmark (issue 11, item 6): an offline audit of 10,000 synthetic hosts, stage by stage.

1. Generate (not timed): for every platform case of the conformance suite (tests/platforms/<platform>/cases/*,
   real-device syntax parsed by the product's own `hardening.offline.parse_capture`), the case's facts; then
   N synthetic hosts dealt round-robin over the cases (Linux server/pc, Windows server/pc, Cisco router/switch,
   YAMAHA RTX, FortiGate, MFP: whatever the cases cover), each with its own name, address, zone, system, and some
   facts varied (a deterministic share of booleans flipped and integers raised by one, kept only when the document
   still validates against facts.schema.json) so the findings differ between hosts. Written as an inventory
   (hosts.yaml + the demo's groups/defaults/site/systems) and a `--from` directory of `<host>.json` facts files.
2. Measure, in ONE FRESH child process (so generating does not count), the product's own path of
   `hardening audit --from DIR`, one stage after the other:
     inventory load   load_inputs (inventory YAML, catalog, parameters, waivers)
     evaluation       run_audit(offline_from=DIR): read + check every saved facts file, evaluate, build the report
     history write    History.record into a fresh SQLite file (or --history URL), if hardening.history exists
     JSON / HTML      the writers of report/outputs.py (JSON with facts files; HTML as report/html.py renders it)
     XLSX             report/xlsx.py write_xlsx, if it exists
   Memory: the child's peak resident set size (getrusage ru_maxrss) read after each stage: the peak so far of that
   one process (it only grows), so the stage where it jumps is the one that costs it.
   The floor, in the same child after the stages: a bare validation of the same facts with the same compiled,
   parameter-filled requirement schemas (jsonschema's Draft 2020-12 `is_valid`, every applicable requirement of
   every host, validators built beforehand), per host, next to the evaluation time per host.

    python bench/scale_audit.py [--hosts 10000] [--work DIR] [--history URL] [--skip html …]

Targets (issue 11): 30 s in all and 1 GB. Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.common import machine_line, mark  # noqa: E402

CASES = ROOT / "tests" / "platforms"
ZONES = ("kikan", "lgwan", "internet")
# device class -> the demo inventory's groups that make a host of that class (platform groups are added per case)
CLASS_GROUPS = {
    "linux_server": ["servers"], "linux_pc": ["pcs"],
    "windows_server": ["windows_servers", "windows"], "windows_pc": ["windows_pcs", "windows"],
    "router": ["network"], "switch": ["network"], "firewall": ["network"], "mfp": ["mfps"],
}
PLATFORM_GROUP = {"cisco_ios": "cisco_ios", "yamaha_rtx": "yamaha_rtx", "fortios": "fortios"}
TARGET_SECONDS, TARGET_BYTES = 30.0, 1 << 30


# ---------------------------------------------------------------------------------------------------- generate

def case_facts() -> list[tuple[str, str, dict[str, Any]]]:
    """(platform, device class, facts document) of every conformance case that parses."""
    import yaml

    from hardening.core.models import Host, SystemInfo
    from hardening.core.platform import known_platforms
    from hardening.offline import parse_capture

    found = []
    system = SystemInfo("情報基盤", "総合政策部長", ("情報政策課長",))
    for platform in known_platforms():
        for case in sorted((CASES / platform / "cases").glob("*/case.yaml")):
            device_class = yaml.safe_load(case.read_text(encoding="utf-8"))["device_class"]
            host = Host(name="case", hostname="case", port=22, platform=platform, device_class=device_class,
                        zone="kikan", classification={"c": 2, "i": 2, "a": 2}, system=system, roles=(),
                        groups=(), credentials="none")
            try:
                document = parse_capture(host, case.parent / "raw")
            except Exception as exc:
                print(f"  (case {platform}/{case.parent.name} left out: {type(exc).__name__})")
                continue
            found.append((platform, device_class, document))
    return found


def _vary(value: Any, seed: bytes, path: str = "") -> Any:
    """A copy of `value` with a deterministic share (1 in 8) of booleans flipped and integers raised by one."""
    if isinstance(value, dict):
        return {k: _vary(v, seed, f"{path}/{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_vary(v, seed, f"{path}/{i}") for i, v in enumerate(value)]
    if isinstance(value, bool | int) and hashlib.sha256(seed + path.encode()).digest()[0] < 32:
        return (not value) if isinstance(value, bool) else value + 1
    return value


def generate(work: Path, count: int) -> None:
    import yaml

    from hardening.core.facts import validate_document
    from hardening.report.build import canonical_json

    cases = case_facts()
    inventory, facts_dir = work / "inventory", work / "facts"
    inventory.mkdir(parents=True)
    facts_dir.mkdir()
    for name in ("groups.yaml", "defaults.yaml", "site.yaml", "systems.yaml"):
        shutil.copy(ROOT / "inventory" / name, inventory / name)
    (inventory / "waivers.yaml").write_text("waivers: []\n", encoding="utf-8")
    systems = list(yaml.safe_load((ROOT / "inventory" / "systems.yaml").read_text(encoding="utf-8"))["systems"])
    hosts: dict[str, Any] = {}
    varied = 0
    for index in range(count):
        platform, device_class, template = cases[index % len(cases)]
        name = f"{device_class.replace('_', '-')}-{index:05d}"
        groups = [ZONES[index % 3], *CLASS_GROUPS[device_class]]
        if platform in PLATFORM_GROUP:
            groups.append(PLATFORM_GROUP[platform])
        data: dict[str, Any] = {"system": systems[index % len(systems)], "device_class": device_class,
                                "classification": {"c": 1 + index % 3, "i": 2, "a": 1 + index % 2}}
        if device_class in ("router", "switch", "firewall"):
            data["roles"] = ["network_device"]
        elif device_class in ("linux_server", "linux_pc"):
            data["roles"] = [["app_server"], ["workstation"], ["web_server"]][index % 3] \
                if device_class == "linux_server" else ["workstation"]
        hosts[name] = {"hostname": f"10.{100 + index // 65536}.{index // 256 % 256}.{index % 256}",
                       "groups": groups, "data": data}
        document = copy.deepcopy(template)
        document.update(host=name, device_class=device_class, platform=platform)
        candidate = dict(document, facts=_vary(document["facts"], name.encode()))
        try:
            document = validate_document(name, candidate, "varied facts")
            varied += 1
        except Exception:  # noqa: S110 - a variation the facts schema refuses: keep the case's own facts
            pass
        (facts_dir / f"{name}.json").write_text(canonical_json(document), encoding="utf-8")
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True, sort_keys=False),
                                          encoding="utf-8")
    kinds = sorted({(p, c) for p, c, _ in cases})
    print(f"generated {count} hosts from {len(cases)} conformance cases ({varied} with varied facts) over "
          f"{len(kinds)} platform/class pairs: {', '.join(f'{p}/{c}' for p, c in kinds)}")


# ------------------------------------------------------------------------------------------------------ measure

def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _size(path: Path) -> str:
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    return f"{total / 1e6:.1f} MB"


def measure(work: Path, history: str | None, skip: set[str]) -> None:
    """The child: every stage in order, one line each (name, seconds, peak RSS so far, note)."""
    rows: list[tuple[str, float | None, int, str]] = []
    cpu = [time.process_time()]

    def stage(name: str, start: float, note: str = "") -> None:
        rows.append((name, time.perf_counter() - start, _rss(), note))
        used, cpu[0] = time.process_time() - cpu[0], time.process_time()
        print(f"  {name:<16} {rows[-1][1]:8.2f} s (CPU {used:7.2f} s)   peak RSS so far {rows[-1][2] / 2**20:6.0f} MiB"
              f"   {note}", flush=True)

    def not_measured(name: str, why: str) -> None:
        rows.append((name, None, _rss(), why))
        cpu[0] = time.process_time()
        print(f"  {name:<16} not measured: {why}", flush=True)

    start = time.perf_counter()
    from hardening.audit import load_inputs, run_audit
    from hardening.core.run import RunOptions
    from hardening.core.scope import Selection
    from hardening.core.secrets import SecretStore
    from hardening.report import writers
    stage("imports", start)

    start = time.perf_counter()
    inputs = load_inputs(work / "inventory", ROOT / "schemas" / "requirements")
    stage("inventory load", start, f"{len(inputs.inventory.hosts)} hosts, {len(inputs.catalog)} requirements")

    start, evaluation_cpu = time.perf_counter(), time.process_time()
    report, results = run_audit(inputs, Selection(), SecretStore(), RunOptions(), offline_from=work / "facts")
    evaluation, evaluation_cpu = time.perf_counter() - start, time.process_time() - evaluation_cpu
    errors = sum(1 for r in results.values() if r.error)
    statuses = report["summary"]["findings"]
    stage("evaluation", start, f"{len(report['findings'])} findings "
          f"({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()) if v)}), {errors} hosts in error")

    out = work / "out"
    out.mkdir(exist_ok=True)
    try:
        from hardening.history import open_history  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        not_measured("history write", "hardening.history is not on this branch (helper `history`)")
    else:
        location = history or str(out / "history.sqlite")
        start = time.perf_counter()
        open_history(location).record(report, out_dir=str(out))
        stage("history write", start, "PostgreSQL" if history and history.startswith("postgres") else "SQLite")

    start = time.perf_counter()
    writers.write_json(report, out / "report.json")
    writers.write_facts(report, results, out)
    stage("JSON", start, f"report.json {_size(out / 'report.json')} + facts/ {_size(out / 'facts')}")

    if "html" in skip:
        not_measured("HTML", "--skip html")
    else:
        start = time.perf_counter()
        writers.write_html(report, out / "report.html")
        stage("HTML", start, f"report.html {_size(out / 'report.html')} (report/html.py as it is on this branch)")

    try:
        from hardening.report.xlsx import write_xlsx  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        not_measured("XLSX", "hardening.report.xlsx.write_xlsx is not on this branch (helper `auditreport`)")
    else:
        if "xlsx" in skip:
            not_measured("XLSX", "--skip xlsx")
        else:
            start = time.perf_counter()
            write_xlsx(report, out / "report.xlsx")
            stage("XLSX", start, f"report.xlsx {_size(out / 'report.xlsx')}")

    total = sum(r[1] for r in rows if r[1] is not None and r[0] != "imports")
    peak = max(r[2] for r in rows)
    print(f"  {'total':<16} {total:8.2f} s   peak RSS {peak / 2**20:7.0f} MiB   (target <= {TARGET_SECONDS:g} s: "
          f"{mark(total <= TARGET_SECONDS)}; <= {TARGET_BYTES / 2**30:g} GiB: {mark(peak <= TARGET_BYTES)})")
    del report
    floor(inputs, results, evaluation, evaluation_cpu)


def floor(inputs: Any, results: dict[str, Any], evaluation: float, evaluation_cpu: float) -> None:
    """Bare validation of the same facts with the same parameter-filled schemas: the floor of evaluation."""
    from hardening.core.evaluate import _VALIDATORS
    from hardening.core.params import resolve
    from hardening.core.scope import applies

    requirements = list(inputs.catalog.values())
    work: list[tuple[Any, dict[str, Any]]] = []
    for name, host in inputs.inventory.hosts.items():
        facts = results[name].facts
        if facts is None:
            continue
        for requirement in requirements:
            if applies(requirement, host)[0] and requirement.automation_for(host.platform)["check"] == "automated":
                values = resolve(requirement, host, inputs.inventory.parameters)
                work.append((_VALIDATORS.get(requirement, values)[0], facts.get("facts", {})))  # compiled beforehand
    start = time.perf_counter()
    cpu = time.process_time()
    valid = sum(1 for schema_validator, facts in work if schema_validator.is_valid(facts))
    bare = time.perf_counter() - start
    bare_cpu = time.process_time() - cpu
    count = len(results)
    print(f"  per host: evaluation {evaluation / count * 1e3:.2f} ms wall, {evaluation_cpu / count * 1e3:.2f} ms CPU "
          f"(read + check the saved facts, evaluate, build the report) vs bare validation {bare / count * 1e3:.2f} ms "
          f"wall, {bare_cpu / count * 1e3:.2f} ms CPU ({len(work)} validations of the applicable automated "
          f"requirements, {valid} valid; jsonschema is_valid, validators compiled beforehand) = "
          f"{evaluation_cpu / max(bare_cpu, 1e-9):.1f} x the floor in CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--work", type=Path, help="keep the generated data here (default: a temporary folder)")
    parser.add_argument("--history", help="history location for the history stage (default: a fresh SQLite file; "
                                          "postgresql://… for PostgreSQL)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["html", "xlsx"])
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child: measure generated data
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.history, set(args.skip))
        return
    print(machine_line(f"scale audit of {args.hosts} synthetic hosts"))
    work = args.work or Path(tempfile.mkdtemp(prefix="hardening-scale-"))
    try:
        if not (work / "facts").is_dir():
            start = time.perf_counter()
            generate(work, args.hosts)
            print(f"(generated in {time.perf_counter() - start:.1f} s, not counted)")
        print("stages, one fresh process (peak RSS: getrusage ru_maxrss of that process, the peak so far):",
              flush=True)
        command = [sys.executable, __file__, "--measure", str(work), "--skip", *args.skip]
        if args.history:
            command += ["--history", args.history]
        subprocess.run(command, check=True, env={**os.environ, "HARDENING_OPERATOR": "bench"})
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
