"""Fixture: two zone collectors' runs of the demo inventory, their keys and a collector registry (evidence_lab)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from evidence_lab import FIXTURES, INVENTORY, NOW, ROOT, ZONES, Lab, write_registry

from hardening import audit, cli
from hardening.core.models import CollectResult, Host
from hardening.evidence.collectors import generate_collector_key
from hardening.platforms.linux import probe


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("evidence")
    ledger = base / "ledger.jsonl"
    hosts = {name: fixture for zone in ZONES.values() for name, fixture in zone.items()}

    def collect(selected: list[Host], *args: object, **kwargs: object) -> dict[str, CollectResult]:
        out = {}
        for host in selected:
            document = probe.collect(str(FIXTURES / hosts[host.name]), now=NOW, commands=False)
            document.update(host=host.name, device_class=host.device_class, platform=host.platform)
            out[host.name] = CollectResult(host.name, document, None, None, 0.1)
        return out

    # Waivers that decide verdicts in the kikan run: every requirement of log01 (active) and of ntp01 (expired),
    # so verify re-derives `waived` and an expired waiver's `fail` too.
    ids = sorted(p.stem for p in (ROOT / "schemas" / "requirements").glob("*.json"))
    waivers = base / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        f"  - {{id: W-T-1, hosts: [log01], requirements: {json.dumps(ids)}, reason: test, approver: CISO, "
        "expires: '2099-12-31'}\n"
        f"  - {{id: W-T-2, hosts: [ntp01], requirements: {json.dumps(ids)}, reason: test, approver: CISO, "
        "expires: '2020-01-01'}\n", encoding="utf-8")
    runs: dict[str, Path] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit, "collect_all", collect)
        for zone, members in ZONES.items():
            out = base / f"run-{zone}"
            args = ["audit", "-i", str(INVENTORY), "--out", str(out), "--no-progress", "--ledger", str(ledger),
                    "--no-history", "--waivers", str(waivers)]
            for name in members:
                args += ["-H", name]
            assert cli.main(args) in (0, 1, 2)
            runs[zone] = out
    keys: dict[str, Path] = {}
    collectors: dict[str, str] = {}
    for zone in ZONES:
        name = f"collector-{zone}"
        keys[zone], _ = generate_collector_key(name, base / "keys")
        collectors[zone] = name
    registry = write_registry(base / "collectors.yaml", {collectors[z]: keys[z] for z in ZONES},
                              {collectors[z]: [z] for z in ZONES})
    return Lab(base, runs, keys, collectors, registry, ledger)
