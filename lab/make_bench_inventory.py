#!/usr/bin/env python3
"""Write a Nornir SimpleInventory of N compliant bench hosts at 10.203.1.x for the lab.

    python3 lab/make_bench_inventory.py 60 /tmp/bench-inventory
    python3 lab/labctl.py up --inventory /tmp/bench-inventory

Hosts alternate linux_server / linux_pc and cycle through the kikan, lgwan and internet zones,
so every device class and zone shows up. labctl brings them up as compliant hosts of their
device_class (no drifts, no clamd: see profiles.other in lab/lab.yaml).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import yaml

ZONES = ["kikan", "lgwan", "internet"]


def build(n: int) -> tuple[dict, dict]:
    if not 1 <= n <= 250:
        raise SystemExit("N must be 1..250 (one /24: 10.203.1.1-250)")
    hosts = {}
    for i in range(1, n + 1):
        pc = i % 2 == 0
        zone = ZONES[(i // 2) % len(ZONES)]
        hosts[f"bench-{'pc' if pc else 'srv'}{i:03d}"] = {
            "hostname": f"10.203.1.{i}",
            "groups": [zone, "pcs" if pc else "servers"],
            "data": {"roles": ["workstation"] if pc else ["app_server"]},
        }
    groups = {z: {"data": {"zone": z}} for z in ZONES}
    groups["servers"] = {"data": {"device_class": "linux_server"}}
    groups["pcs"] = {"data": {"device_class": "linux_pc"}}
    return hosts, groups


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of hosts (<= 250)")
    ap.add_argument("out", type=Path, help="inventory directory to write")
    args = ap.parse_args()
    hosts, groups = build(args.n)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False, allow_unicode=True))
    (args.out / "groups.yaml").write_text(yaml.safe_dump(groups, sort_keys=False, allow_unicode=True))
    (args.out / "defaults.yaml").write_text(yaml.safe_dump(
        {"port": 22, "platform": "linux", "data": {"credentials": "lab", "become": True}}, sort_keys=False))
    print(f"{args.n} bench hosts written to {args.out}")


if __name__ == "__main__":
    main()
