#!/usr/bin/env python3
"""Benchmark: our audit of N simulated printers next to a bare pysnmp SNMPv3 get of sysDescr per printer (the floor).

This run starts N printers of the lab's printer simulator (lab/mfpsim), each on its own loopback address 127.0.x.y
(loopback only; 127.0.0.0/8 is all local on Linux) with the standard ports: the SNMP agent on udp/161
(snmpsim-command-responder, SNMPv3 authPriv SHA + AES with keys generated for the run, one engine per printer; the
printers split over `--sim-processes` responder processes, each printer's data generated from its state and its
vendor's profile by lab/mfpsim/model.py), the web admin on 443 (a CA made for the run) and 80, and the TCP listeners
its state opens (lab/mfpsim/web.py, one process). The printers take the states of lab/mfpsim/hosts in turn (each
vendor's compliant and drifted printer, the unknown vendor), renamed. Then, in this process and with the same W
workers, it measures alternately, `--rounds` times:

(a) the floor: ONE SNMPv3 authPriv GET of sysDescr.0 per printer with pysnmp 7's ordinary API (v3arch asyncio
    get_cmd): a new SnmpEngine per round (its MIB view and USM user with the passphrase hashing included, as a run
    of the real tool pays them), one event loop, at most W GETs in flight; per printer pysnmp's discovery of the
    agent's engine id and time window, the key localisation for it, and the GET (pysnmp imported beforehand);
(b) our audit through the product's own path, as `hardening audit` runs it: load the inventory (from
    `write_inventory`, keys in the environment as HARDENING_CRED_BENCHMFP_*) and the catalog, `run_audit`
    (collect_all over Nornir: per printer one pass of platform mfp: the SNMP reads, the factory-community probes, the
    TCP port checks, the TLS versions and certificate, the plain-HTTP page, the default-credential check; parse;
    facts schema check; evaluate every requirement; build the report). The process's shared MIB view is forgotten
    before each round (snmp.forget_mib_view), so every round pays what a new `hardening audit` process pays.

and prints each round's wall time, b/a, the CPU of this process and of the simulators, our CPU per printer split into
parse + evaluate (saved captures of a sample of printers parsed and evaluated again in one thread, no I/O) and the
rest, and the medians of the rounds. The ratio is the median of the per-round b/a of rounds run alternately (a b,
b a, a b, …) in this one process. A round of (b) where a printer got no facts (a timeout on an overloaded machine)
is marked INVALID: its wall time is not what a complete audit costs, and the target is not met with it.

    python bench/mfp_audit.py [--printers 200] [--workers 50] [--rounds 3] [--sim-processes 2] [--sample 30]

Target (issue 10): (b) <= 3 x (a), median of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.common import Round, machine_line, mark, median, parse_evaluate_cpu, process_cpu, product_audit  # noqa: E402
from lab.mfpsim import model  # noqa: E402
from lab.winsim import pki  # noqa: E402

from hardening.core.run import RunOptions  # noqa: E402
from hardening.platforms.mfp.driver import MfpPlatform  # noqa: E402
from hardening.platforms.mfp.snmp import forget_mib_view  # noqa: E402

STATES = ROOT / "lab" / "mfpsim" / "hosts"
CREDENTIALS = "benchmfp"           # the inventory's credentials entry, filled from the environment
V3_USER = "hardening-audit"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
TARGET_RATIO = 3.0


def loopback(index: int) -> str:
    return f"127.0.{41 + index // 250}.{1 + index % 250}"


def templates() -> list[Path]:
    """The lab's printer states the bench printers take in turn: every state whose SNMPv3 agent answers with the
    vault's keys (the fault hosts mfp-silent / mfp-badkey / mfp-badcomm are left out: they measure timeouts)."""
    profiles = model.load_profiles()
    found = []
    for path in sorted(STATES.glob("*.yaml")):
        state = model.load_state(path, profiles)
        if state.snmp_agent and state.snmp_v3 and state.bad is None:
            found.append(path)
    if not found:
        raise SystemExit(f"{STATES}: no printer state with an SNMPv3 agent")
    return found


class Sims:
    """N simulated printers on loopback: `processes` snmpsim responders (the printers dealt round-robin) and one
    web-admin/listener process (lab/mfpsim/web.py)."""

    def __init__(self, count: int, processes: int, work: Path) -> None:
        self.work = work
        self.auth_key, self.priv_key = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
        self.secrets = {"snmp_auth_key": self.auth_key, "snmp_priv_key": self.priv_key}
        self.procs: list[subprocess.Popen[bytes]] = []
        profiles = model.load_profiles()
        sources = templates()
        (work / "hosts").mkdir(parents=True)
        self.printers: list[tuple[str, str]] = []
        self.classes: dict[str, str] = {}
        states = []
        for index in range(count):
            name = f"bench-mfp-{index + 1:03d}"
            path = work / "hosts" / f"{name}.yaml"
            shutil.copy(sources[index % len(sources)], path)
            states.append(model.load_state(path, profiles))
            self.printers.append((name, loopback(index)))
        try:
            self._start_snmp(states, profiles, max(1, min(processes, count)))
            self._start_web(states, profiles)
        except BaseException:
            self.stop()
            raise

    def _start_snmp(self, states: list[Any], profiles: dict[str, Any], processes: int) -> None:
        """One snmpsim-command-responder per part, started as labctl starts the lab's (lab/labctl.py mfpsim_up): an
        engine per printer (lab/mfpsim/model.py engine_args) in its --args-from-file (0600: the keys stay off the
        command line), a variation directory holding only snmpsim's writecache/error and mfpsim's clock, a
        writecache instance per printer."""
        import snmpsim

        addresses = dict(self.printers)
        variations = self.work / "variation"
        variations.mkdir()
        for module in (Path(snmpsim.__file__).parent / "variation" / "writecache.py",
                       Path(snmpsim.__file__).parent / "variation" / "error.py",
                       ROOT / "lab" / "mfpsim" / "variation" / "mfpclock.py"):
            shutil.copy(module, variations / module.name)
        for part in range(processes):
            engines: list[str] = []
            mine = states[part::processes]
            for state in mine:
                data = self.work / "data" / state.name
                data.mkdir(parents=True)
                records = "\n".join(model.snmprec_lines(state, profiles)) + "\n"
                for community in model.data_files(state, self.secrets):
                    (data / f"{community}.snmprec").write_text(records, encoding="utf-8")
                engines += model.engine_args(state, addresses[state.name], data, self.secrets, V3_USER)
            spec = self.work / f"snmpsim-{part}.args"
            fd = os.open(spec, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write("\n".join(engines) + "\n")
            command = [str(Path(sys.executable).with_name("snmpsim-command-responder")), "--log-level=error",
                       f"--cache-dir={self.work / f'cache-{part}'}", f"--variation-modules-dir={variations}",
                       *(f"--variation-module-options=writecache={model.writecache_alias(state.name)}:"
                         for state in mine),
                       f"--args-from-file={spec}"]
            log = (self.work / f"snmpsim-{part}.log").open("ab")
            self.procs.append(subprocess.Popen(
                command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(self.work), "SNMPSIM_ALLOW_ROOT": "true"}))
            log.close()
        self._wait_snmp()

    def _wait_snmp(self) -> None:
        """Until every printer answers the floor's GET (snmpsim indexes every data file first: minutes for 200
        printers on a busy machine)."""
        deadline = time.monotonic() + 1200
        waiting = [name for name, _ in self.printers]
        while waiting:
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                logs = "".join((self.work / f"snmpsim-{i}.log").read_text(errors="replace")[-1500:]
                               for i in range(len(self.procs)))
                raise RuntimeError(f"snmpsim did not answer for {waiting[:5]}…:\n{logs}")
            answered = sys_descrs(self, waiting, 50, timeout=1.0, retries=0)
            waiting = [n for n in waiting if n not in answered]
            if waiting:
                time.sleep(0.5)

    def _start_web(self, states: list[Any], profiles: dict[str, Any]) -> None:
        ca, ca_key = pki.ensure_ca(self.work / "pki")
        del ca_key
        cert, key = pki.issue_server_cert(self.work / "pki", [n for n, _ in self.printers],
                                          [a for _, a in self.printers])
        self.ca = ca
        addresses = dict(self.printers)
        hosts = []
        for state in states:
            accounts = model.vendor_accounts(state, profiles)
            passwords = {a["account"]: (a["password"] if a["account"] in state.default_password_kept
                                        else secrets.token_urlsafe(12)) for a in accounts}
            hosts.append({"name": state.name, "address": addresses[state.name], "vendor": state.vendor,
                          "model": state.model, "firmware": state.firmware,
                          "web": (profiles.get(state.vendor or "") or {}).get("web_admin") or {},
                          "passwords": passwords, "https": state.https, "http": state.http,
                          "http_plain": state.http_plain, "tls_versions": state.tls_versions,
                          "services": state.services})
        self.attempts = self.work / "attempts.json"
        ready = self.work / "web-ready"
        spec = {"attempts_file": str(self.attempts), "cert": str(cert), "key": str(key), "ready_file": str(ready),
                "hosts": hosts}
        spec_file = self.work / "web.json"
        fd = os.open(spec_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(spec, f)
        log = (self.work / "web.log").open("ab")
        self.procs.append(subprocess.Popen([sys.executable, "-m", "lab.mfpsim", str(spec_file)], cwd=ROOT,
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                           env={**os.environ, "PYTHONPATH": str(ROOT)}))
        log.close()
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.procs[-1].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mfpsim web did not start:\n" + (self.work / "web.log").read_text()[-2000:])
            time.sleep(0.05)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def cpu(self) -> float:
        return process_cpu(self.pids())

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def sys_descrs(sim: Sims, names: list[str], workers: int, timeout: float = 2.0, retries: int = 1) -> dict[str, str]:
    """name -> sysDescr.0 of each printer that answered one SNMPv3 authPriv GET: one pysnmp SnmpEngine on one event
    loop, at most `workers` GETs in flight (the cheapest way pysnmp offers to ask N devices one thing each)."""
    from pysnmp.hlapi.v3arch import asyncio as hlapi

    addresses = dict(sim.printers)

    async def run_all() -> list[str | None]:
        engine = hlapi.SnmpEngine()
        user = hlapi.UsmUserData(V3_USER, authKey=sim.auth_key, privKey=sim.priv_key,
                                 authProtocol=hlapi.usmHMACSHAAuthProtocol, privProtocol=hlapi.usmAesCfb128Protocol)
        gate = asyncio.Semaphore(workers)

        async def one(name: str) -> str | None:
            async with gate:
                transport = await hlapi.UdpTransportTarget.create((addresses[name], 161), timeout=timeout,
                                                                  retries=retries)
                error, status, _index, binds = await hlapi.get_cmd(
                    engine, user, transport, hlapi.ContextData(), hlapi.ObjectType(hlapi.ObjectIdentity(SYS_DESCR)))
                return None if error or status else str(binds[0][1])

        try:
            return await asyncio.gather(*(one(name) for name in names))
        finally:
            engine.close_dispatcher()

    answers = asyncio.run(run_all())
    return {name: answer for name, answer in zip(names, answers, strict=True) if answer}


def engine_cpu_ms(count: int = 5) -> float:
    """CPU milliseconds of one pysnmp SnmpEngine() (it compiles and runs its MIB modules each time): what one
    engine per printer costs on top of the floor."""
    from pysnmp.hlapi.v3arch import asyncio as hlapi

    hlapi.SnmpEngine()
    start = time.process_time()
    for _ in range(count):
        hlapi.SnmpEngine()
    return (time.process_time() - start) / count * 1000


def floor(sim: Sims, workers: int) -> Round:
    """(a): one bare SNMPv3 GET of sysDescr per printer, at most W in flight (pysnmp imported beforehand)."""
    names = [name for name, _ in sim.printers]
    cpu, sim_before = time.process_time(), sim.cpu()
    start = time.perf_counter()
    answers = sys_descrs(sim, names, workers)
    result = Round(time.perf_counter() - start, time.process_time() - cpu, sim.cpu() - sim_before)
    missing = [name for name in names if name not in answers]
    if missing:
        raise RuntimeError(f"the floor got no sysDescr from {len(missing)} printers, e.g. {missing[:3]}")
    return result


def write_inventory(sim: Sims, work: Path) -> Path:
    """An inventory of the simulated printers for (b): the demo's site parameters, platform mfp over SNMPv3."""
    inventory = work / "inventory"
    inventory.mkdir()
    for name in ("site.yaml", "systems.yaml"):
        shutil.copy(ROOT / "inventory" / name, inventory / name)
    hosts = {name: {"hostname": address, "groups": ["printers"]} for name, address in sim.printers}
    groups = {"printers": {"platform": "mfp", "connection_options": {
        "snmp": {"extras": {"version": "3", "v3_user": V3_USER, "security_level": "authPriv", "auth_protocol": "SHA",
                            "priv_protocol": "AES"}},
        "https": {"extras": {"verify": True, "ca_file": str(sim.ca)}}}, "data": {
        "device_class": "mfp", "zone": "lgwan", "system": "情報基盤", "classification": {"c": 2, "i": 2, "a": 2},
        "roles": ["mfp"], "credentials": CREDENTIALS}}}
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    (inventory / "groups.yaml").write_text(yaml.safe_dump(groups, allow_unicode=True), encoding="utf-8")
    (inventory / "defaults.yaml").write_text("{}\n", encoding="utf-8")
    prefix = f"HARDENING_CRED_{CREDENTIALS.upper()}_"
    os.environ.update({prefix + "USERNAME": V3_USER, prefix + "SNMP_AUTH_KEY": sim.auth_key,
                       prefix + "SNMP_PRIV_KEY": sim.priv_key})
    return inventory


def audit(sim: Sims, inventory: Path, workers: int) -> Round:
    """(b): the product's audit, from loading the inventory and catalog to the report document (the MIB view of an
    earlier round forgotten first: a new run)."""
    forget_mib_view()
    return product_audit(inventory, RunOptions(timeout=30, workers=workers, progress=False), sim.cpu)


def attempts_per_account(sim: Sims) -> int:
    """The most login attempts any printer x account has had so far (the simulator's counter)."""
    if not sim.attempts.exists():
        return 0
    data = json.loads(sim.attempts.read_text(encoding="utf-8"))
    return max((entry["attempts"] for accounts in data.values() for entry in accounts.values()), default=0)


def run_size(count: int, workers: int, rounds: int, processes: int, sample: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix=f"hardening-mfpbench-{count}-"))
    sim = None
    try:
        started = time.perf_counter()
        sim = Sims(count, processes, work)
        inventory = write_inventory(sim, work)
        print(f"\n== {count} printers, {workers} workers: simulators ready in {time.perf_counter() - started:.1f} s "
              f"({len(sim.procs) - 1} snmpsim process(es) + 1 web/listener process, pids "
              f"{' '.join(map(str, sim.pids()))}; {loopback(0)}..{loopback(count - 1)}; states "
              f"{', '.join(p.stem for p in templates())} in turn)", flush=True)
        floors: list[Round] = []
        ours: list[Round] = []
        for index in range(rounds):     # alternate which side goes first, so drift in the load hits both
            order = ("a", "b") if index % 2 == 0 else ("b", "a")
            for side in order:
                if side == "a":
                    floors.append(floor(sim, workers))
                else:
                    ours.append(audit(sim, inventory, workers))
            a, b = floors[-1], ours[-1]
            print(f"  round {index + 1}: (a) bare pysnmp v3 GET sysDescr {a.wall:6.2f} s  [cpu {a.cpu:5.1f} s, "
                  f"simulators {a.sim_cpu:4.1f} s]   (b) our audit {b.wall:6.2f} s  [cpu {b.cpu:5.1f} s, "
                  f"simulators {b.sim_cpu:4.1f} s]   b/a {b.wall / a.wall:4.2f}", flush=True)
            print(f"           (b): {b.note}{'' if not b.errors else '  INVALID: not every printer was audited'}",
                  flush=True)
        print(f"  pysnmp SnmpEngine() alone: {engine_cpu_ms():.0f} ms CPU each (our audit makes one per printer, the "
              f"floor one per round)")
        print(f"  login attempts: at most {attempts_per_account(sim)} per printer x account after {rounds} audits "
              f"(the simulator's counter; one per account per run)")
        sample_run = RunOptions(timeout=30, workers=1, progress=False)
        names = [name for name, _ in sim.printers][:sample]
        parse_cpu, evaluate_cpu, sampled = parse_evaluate_cpu(MfpPlatform(), inventory, names, sample_run, work,
                                                              repeat=5)
        ratios = [b.wall / a.wall for a, b in zip(floors, ours, strict=True)]
        ratio = median(ratios)
        med_a, med_b = median([r.wall for r in floors]), median([r.wall for r in ours])
        invalid = sum(1 for r in ours if r.errors)
        verdict = mark(ratio <= TARGET_RATIO and not invalid)
        print(f"  b/a per round {', '.join(f'{r:.2f}' for r in ratios)}: median {ratio:.2f} "
              f"[target <= {TARGET_RATIO}: {verdict}{f'; {invalid} INVALID round(s)' if invalid else ''}]   "
              f"medians of {rounds} rounds: (a) floor {med_a:.2f} s (b) our audit {med_b:.2f} s")
        per_a = median([r.cpu for r in floors]) / count * 1000
        per_b = median([r.cpu for r in ours]) / count * 1000
        pe = (parse_cpu + evaluate_cpu) * 1000
        print(f"  our CPU per printer (median round): (b) {per_b:.0f} ms = parse + evaluate {pe:.1f} ms (parse "
              f"{parse_cpu * 1000:.1f} + evaluate {evaluate_cpu * 1000:.1f}; {sampled} printers' captures x 5, one "
              f"thread, no I/O) + SNMP/TCP/TLS/HTTP I/O and the rest {per_b - pe:.0f} ms;  the floor (a) "
              f"{per_a:.0f} ms")
        sims = {side: median([r.sim_cpu for r in rs]) / count * 1000 for side, rs in (("a", floors), ("b", ours))}
        print(f"  simulator CPU per printer (median round): (a) {sims['a']:.0f} ms  (b) {sims['b']:.0f} ms", flush=True)
        return {"printers": count, "a": med_a, "b": med_b, "ratio": ratio, "cpu_ms": per_b, "pe_ms": pe}
    finally:
        if sim is not None:
            sim.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--printers", type=int, nargs="+", default=[200])
    ap.add_argument("--workers", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sim-processes", type=int, default=2, help="snmpsim processes the printers are split over")
    ap.add_argument("--sample", type=int, default=30, help="printers whose captures are parsed and evaluated again "
                                                           "for the parse + evaluate CPU figure")
    args = ap.parse_args()
    for name in ("HARDENING_VAULT", "HARDENING_VAULT_PASSWORD_FILE"):
        os.environ.pop(name, None)      # credentials come from this run only
    print(machine_line("Printer audit benchmark"))
    summary = [run_size(count, args.workers, args.rounds, args.sim_processes, args.sample)
               for count in args.printers]
    print("\nsummary (median wall times and b/a of the rounds): " + "; ".join(
        f"{s['printers']} printers: (a) {s['a']:.2f} s (b) {s['b']:.2f} s b/a {s['ratio']:.2f}, our CPU "
        f"{s['cpu_ms']:.0f} ms/printer of which parse+evaluate {s['pe_ms']:.1f} ms" for s in summary))
    print(f"target (issue 10): b/a <= {TARGET_RATIO}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
