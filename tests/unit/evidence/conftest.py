"""Fixture: two zone collectors' runs of the demo inventory, their keys and a collector registry (evidence_lab)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from evidence_lab import FIXTURES, INVENTORY, NOW, ZONES, Lab, write_registry

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

    runs: dict[str, Path] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit, "collect_all", collect)
        for zone, members in ZONES.items():
            out = base / f"run-{zone}"
            args = ["audit", "-i", str(INVENTORY), "--out", str(out), "--no-progress", "--ledger", str(ledger),
                    "--no-history"]
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
