#!/usr/bin/env python3
"""Benchmark: the Linux playbook in check mode on the lab hosts, one ansible-playbook process per host vs one
process for all hosts.

(a) one process per host, `--workers` of them at a time (as `hardening plan` ran before plan_many);
(b) one process for every host with forks = `--workers` (LinuxPlatform.plan_many).
Both dry-run the same requirements on every host (by default the sshd, PAM and session ones, `--all` for every
applicable automated requirement), alternately (a, b, a, b …) in this one process,
so the ratio b/a is measured side by side on a shared, noisy machine. Prints wall time, wall time per host, CPU
time of the child processes (ansible-playbook and its forks, ssh: rusage of children) and of this process, and
checks that both give the same changes.

    python bench/ansible_batch.py [--hosts 6] [--workers 6] [--rounds 2] [--all]

Needs the lab up (`make lab-up`) and holds nothing but the lab's own vault and known_hosts.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAB_STATE = Path("/var/lib/hardening-lab")
sys.path.insert(0, str(ROOT / "src"))

from hardening.audit import load_inputs  # noqa: E402
from hardening.changes.plan import host_parameters  # noqa: E402
from hardening.core.platform import Change, Target  # noqa: E402
from hardening.core.scope import applies  # noqa: E402
from hardening.core.secrets import SecretStore  # noqa: E402
from hardening.platforms.linux.driver import LinuxPlatform  # noqa: E402

KNOWN_HOSTS = str(LAB_STATE / "ssh" / "known_hosts")
DEFAULT_REQUIREMENTS = {"LOGIN-BANNER", "LOGIN-LASTLOGON", "LOGIN-LOCKOUT", "LOGIN-TIMEOUT", "PRIV-REMOTE-ROOT",
                        "PW-CLASS", "PW-LEN"}


def lab_defaults() -> None:
    """Reach the lab like `make bench-ansible` does when run directly (vault, strict known_hosts)."""
    os.environ.setdefault("HARDENING_VAULT", str(LAB_STATE / "vault.yml"))
    os.environ.setdefault("HARDENING_VAULT_PASSWORD_FILE", str(LAB_STATE / "vault-pass"))


def jobs(every: bool, count: int) -> tuple[list[Target], dict[str, list[str]], dict[str, dict[str, Any]]]:
    """The first `count` Linux hosts of the demo inventory with the applicable automated requirements to dry-run."""
    inputs = load_inputs(ROOT / "inventory", ROOT / "schemas" / "requirements")
    secrets = SecretStore()
    targets: list[Target] = []
    fix: dict[str, list[str]] = {}
    params: dict[str, dict[str, Any]] = {}
    for host in inputs.inventory.hosts.values():
        if host.platform != "linux" or len(targets) == count:
            continue
        requirements = [r for r in inputs.catalog.values()
                        if r.automation.get("fix") == "automated" and applies(r, host)[0]
                        and (every or r.id in DEFAULT_REQUIREMENTS)]
        targets.append(Target(host=host, credentials=secrets.credentials(host.credentials), timeout=30,
                              known_hosts=KNOWN_HOSTS, host_key_policy="strict"))
        fix[host.name] = sorted(r.id for r in requirements)
        params[host.name] = host_parameters(host, requirements, inputs.inventory.parameters)
    return targets, fix, params


Outcome = dict[str, "list[Change] | Exception"]


def per_host(platform: LinuxPlatform, targets: list[Target], fix: dict[str, list[str]],
             params: dict[str, dict[str, Any]], workers: int) -> Outcome:
    def one(target: Target) -> list[Change] | Exception:
        try:
            return platform.plan(target, fix[target.host.name], params[target.host.name])
        except Exception as exc:  # counted, printed below
            return exc

    with ThreadPoolExecutor(workers) as pool:
        return dict(zip([t.host.name for t in targets], pool.map(one, targets), strict=True))


def batch(platform: LinuxPlatform, targets: list[Target], fix: dict[str, list[str]],
          params: dict[str, dict[str, Any]], workers: int) -> Outcome:
    return dict(platform.plan_many(targets, fix, params, workers=workers))


def measure(variant: Any, *args: Any) -> tuple[float, float, float, Outcome]:
    """(wall s, CPU s of children, CPU s of this process, outcome)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    outcome = variant(*args)
    wall = time.perf_counter() - start
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_children = (children_after.ru_utime - children.ru_utime) + (children_after.ru_stime - children.ru_stime)
    cpu_own = (own_after.ru_utime - own.ru_utime) + (own_after.ru_stime - own.ru_stime)
    return wall, cpu_children, cpu_own, outcome


def comparable(outcome: Outcome) -> dict[str, Any]:
    return {host: sorted((c.requirement, c.task, c.target, c.diff) for c in value) if isinstance(value, list)
            else f"error: {value}" for host, value in outcome.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=6, help="how many demo hosts (default 6; 0: all)")
    parser.add_argument("--workers", type=int, default=0, help="workers = forks (default: one per host)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--all", action="store_true", help="every applicable automated requirement")
    args = parser.parse_args()
    lab_defaults()
    targets, fix, params = jobs(args.all, args.hosts or 1000)
    platform = LinuxPlatform()
    n = len(targets)
    args.workers = args.workers or n
    print(f"{n} lab hosts, {sum(len(f) for f in fix.values())} requirement dry runs, workers/forks {args.workers}, "
          f"{args.rounds} rounds (a, b interleaved), {os.cpu_count()} CPUs", flush=True)
    variants = {"a one process per host": per_host, "b one process, all hosts": batch}
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(args.rounds):
        for name, variant in variants.items():
            wall, cpu_children, cpu_own, outcome = measure(variant, platform, targets, fix, params, args.workers)
            results[name].append((wall, cpu_children, cpu_own))
            print(f"  {name}: wall {wall:.2f} s, CPU children {cpu_children:.2f} s, CPU ours {cpu_own:.2f} s",
                  flush=True)
            errors = [h for h, v in outcome.items() if isinstance(v, Exception)]
            if errors:
                print(f"  {name}: {len(errors)} host(s) in error: {errors}", file=sys.stderr)
            seen.setdefault(name, comparable(outcome))
    print(f"{'variant':<26} {'wall s (each round)':>22} {'median':>7} {'s/host':>7} {'CPU children s':>15} "
          f"{'CPU ours s':>11}")
    medians: dict[str, tuple[float, float]] = {}
    for name, rows in results.items():
        walls = [r[0] for r in rows]
        wall, cpu_children, cpu_own = (statistics.median(r[i] for r in rows) for i in range(3))
        medians[name] = (wall, cpu_children)
        print(f"{name:<26} {' '.join(f'{w:.2f}' for w in walls):>22} {wall:>7.2f} {wall / n:>7.3f} "
              f"{cpu_children:>15.2f} {cpu_own:>11.2f}")
    (wall_a, cpu_a), (wall_b, cpu_b) = medians.values()
    print(f"ratio b/a: wall {wall_b / wall_a:.2f}, CPU of children {cpu_b / cpu_a:.2f}")
    same = seen["a one process per host"] == seen["b one process, all hosts"]
    print(f"same changes per host in a and b: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
