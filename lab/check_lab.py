#!/usr/bin/env python3
"""Smoke check of a running lab against lab/lab.yaml: is every host what lab.yaml says it is?

    python3 lab/check_lab.py [--inventory DIR] [--sync-timeout 30]

Per host: key login + NOPASSWD sudo over ssh from the root namespace (a probe-hang host must hang
instead), exposed listeners == the services'/layers' ports, baseline files byte-identical to
lab/baseline unless a drift changes them, drift files/removals present, services running (and
stopped ones not), chrony synchronized to 10.203.0.10 within --sync-timeout (never, with the
ntp-wrong-server drift), signature db age, and the simulated PC /sys tree. Host-side reads go
through `nsenter` into the host (no ssh), so a hanging sshd does not hang the check.
Exit status 0 = everything as planted.
"""
from __future__ import annotations

import argparse
import ipaddress
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import labctl
from labctl import HostSpec


def in_host(pid: int, cmd: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nsenter", "-t", str(pid), "-a", "-r", "-w", "--", "/bin/sh", "-c", cmd],
                          text=True, capture_output=True, timeout=timeout)


def read(pid: int, path: str) -> bytes | None:
    p = subprocess.run(["nsenter", "-t", str(pid), "-a", "-r", "-w", "--", "/bin/cat", path],
                       capture_output=True, timeout=10)
    return p.stdout if p.returncode == 0 else None


def exposed(pid: int) -> set[str]:
    out = in_host(pid, "ss -H -ltnu").stdout
    socks = set()
    for line in out.splitlines():
        f = line.split()
        proto, local = f[0], f[4]
        addr, _, port = local.rpartition(":")
        addr = addr.strip("[]").split("%")[0]
        try:
            if addr not in ("*", "0.0.0.0", "::") and ipaddress.ip_address(addr).is_loopback:
                continue
        except ValueError:
            pass
        socks.add(f"{proto}/{port}")
    return socks


def check_host(lab: dict[str, Any], spec: HostSpec, pid: int) -> list[str]:
    errs: list[str] = []
    # 1. ssh key login + sudo from the root namespace
    ssh = ["ssh", "-F", str(labctl.SSH_CONFIG), "-o", "ConnectTimeout=5", "-o", "BatchMode=yes", spec.ip,
           "sudo -n true && echo ok"]
    hang = "probe-hang" in spec.drifts
    try:
        r = subprocess.run(ssh, text=True, capture_output=True, timeout=4 if hang else 20)
        if hang:
            errs.append("probe-hang: ssh session returned instead of hanging")
        elif r.stdout.strip() != "ok":
            errs.append(f"ssh/sudo failed: {r.stderr.strip()[-200:]}")
    except subprocess.TimeoutExpired:
        if not hang:
            errs.append("ssh/sudo timed out")
    # 2. listeners
    want, got = labctl.expected_ports(lab, spec), exposed(pid)
    if want != got:
        errs.append(f"listeners {sorted(got)} != expected {sorted(want)}")
    # 3. services running / not running
    procs = set(in_host(pid, "ps -eo comm=").stdout.split())
    all_services = set(lab["profiles"][spec.profile]["services"])
    for name in sorted(all_services | set(spec.services)):
        comm = lab["services"][name].get("comm") or Path(lab["services"][name]["cmd"].split()[0]).name
        if (name in spec.services) != (comm in procs):
            errs.append(f"service {name}: {'not running' if name in spec.services else 'running but stopped by drift'}")
    # 4. files: baseline byte-identical unless a drift touches the path; drift files/removals
    drift_paths = {f["path"] for d in spec.drifts for f in lab["drifts"][d].get("files") or []}
    drift_paths |= {p for d in spec.drifts for p in lab["drifts"][d].get("remove") or []}
    for path, src in labctl.layer_files(labctl.baseline_layers(lab, spec)).items():
        if path not in drift_paths and read(pid, path) != src.read_bytes():
            errs.append(f"baseline file differs/missing: {path}")
    for d in spec.drifts:
        for f in lab["drifts"][d].get("files") or []:
            data = read(pid, f["path"])
            text = f.get("append", f.get("content", ""))
            if data is None or text.encode() not in data:
                errs.append(f"drift {d}: {f['path']} lacks its text")
        for path in lab["drifts"][d].get("remove") or []:
            if read(pid, path) is not None:
                errs.append(f"drift {d}: {path} still present")
    # 5. signature db age
    age = in_host(pid, "echo $(( $(date +%s) - $(stat -c %Y /var/lib/clamav/sakado-local.hdb) ))").stdout.strip()
    days = int(age) / 86400 if age.lstrip("-").isdigit() else -1
    want_days = 0.0
    for line in spec.boot:
        m = re.search(r"(\d+) days ago", line)
        if m:
            want_days = float(m.group(1))
    if abs(days - want_days) > 1:
        errs.append(f"signature db age {days:.1f} d, expected ~{want_days:.0f} d")
    # 6. PC: simulated firmware + dm root
    if spec.pc_sys is not None:
        mi = read(pid, "/proc/self/mountinfo") or b""
        majmin = next((ln.split()[2] for ln in mi.decode().splitlines() if ln.split()[4] == "/"), "?")
        base = f"/sys/dev/block/{majmin}"
        admin = read(pid, f"/sys/class/firmware-attributes/{spec.pc_sys['firmware']['driver']}"
                          "/authentication/Admin/is_enabled")
        if admin is None or admin.strip() != str(spec.pc_sys["firmware"]["admin"]["is_enabled"]).encode():
            errs.append(f"firmware Admin is_enabled = {admin!r}")
        dm_uuid = (read(pid, f"{base}/dm/uuid") or b"").decode().strip()
        dm_name = (read(pid, f"{base}/dm/name") or b"").decode().strip()
        crypttab = (read(pid, "/etc/crypttab") or b"").decode()
        if spec.pc_sys["root_dm"]["kind"] == "crypt":
            luks = dm_uuid[len("CRYPT-LUKS2-"):][:32]
            if not re.fullmatch(r"CRYPT-LUKS2-[0-9a-f]{32}-root", dm_uuid) or dm_name != "root_crypt":
                errs.append(f"dm root {dm_uuid!r} {dm_name!r} is not the LUKS root")
            elif not re.search(rf"^root_crypt\s+UUID={luks[:8]}-{luks[8:12]}-", crypttab, re.M):
                errs.append("crypttab does not match the dm uuid")
        elif not dm_uuid.startswith("LVM-") or crypttab:
            errs.append(f"dm root {dm_uuid!r} / crypttab {crypttab!r}: expected plain LVM, no crypttab")
    return errs


def chrony_state(pid: int) -> tuple[bool, str]:
    out = in_host(pid, "chronyc -n tracking").stdout
    ref = re.search(r"Reference ID\s*:\s*\S+ \(([^)]*)\)", out)
    return "Leap status     : Normal" in out, ref.group(1) if ref else ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inventory", type=Path, default=labctl.DEFAULT_INVENTORY)
    ap.add_argument("--sync-timeout", type=float, default=30.0)
    args = ap.parse_args()
    lab = labctl.load_lab()
    specs, _ = labctl.build_specs(lab, args.inventory.resolve())
    running = labctl.running_hosts()
    results: dict[str, list[str]] = {s.name: [] if s.name in running else ["not running"] for s in specs}
    live = [s for s in specs if s.name in running]
    with ThreadPoolExecutor(max_workers=16) as ex:
        for s, errs in zip(live, ex.map(lambda s: check_host(lab, s, running[s.name]), live)):
            results[s.name] += errs
    # chrony: clients of 10.203.0.10 must reach sync; a drifted one must never report the site server
    t0 = time.monotonic()
    # (which hosts must synchronise comes from lab.yaml, as for `labctl up`: chronyd runs, no TIME-SYNC drift)
    clients = [s for s in live if "ntp_server" not in s.roles and "chronyd" in s.services]
    must_sync = {s.name for s in labctl.sync_targets(lab, clients)}
    pending = set(must_sync)
    sync_time: dict[str, float] = {}
    while pending and time.monotonic() - t0 < args.sync_timeout:
        for s in clients:
            if s.name in pending:
                ok, ref = chrony_state(running[s.name])
                if ok and ref == "10.203.0.10":
                    pending.discard(s.name)
                    sync_time[s.name] = time.monotonic() - t0
        if pending:
            time.sleep(1)
    for name in pending:
        results[name].append(f"chrony not synchronized to 10.203.0.10 within {args.sync_timeout:.0f}s")
    for s in clients:
        if s.name not in must_sync and s.profile == "demo":
            ok, ref = chrony_state(running[s.name])
            if ok or ref == "10.203.0.10":
                results[s.name].append(f"drifts {','.join(s.drifts)}: chrony synchronized ({ref}) though a "
                                       "TIME-SYNC drift is planted")
    bad = 0
    for s in specs:
        errs = results[s.name]
        bad += bool(errs)
        state = "OK" if not errs else "FAIL"
        log = f"{s.name:<14} {s.ip:<12} {state:<4} drifts={','.join(s.drifts) or '-'}"
        print(log + "".join(f"\n    - {e}" for e in errs))
    print(f"{len(specs) - bad}/{len(specs)} hosts as planted (chrony: last client synced "
          f"{max(sync_time.values(), default=0):.1f}s into the sync check)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
