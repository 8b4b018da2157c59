"""Helpers of the evidence tests: two zone collectors' runs of the demo inventory (an audit per zone through the
CLI, collection replaced by the Linux probe over fixture roots, as tests/unit/test_offline_audit.py does), their
keys and a collector registry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
INVENTORY = ROOT / "inventory"
FIXTURES = ROOT / "tests" / "unit" / "linux" / "fixtures"
NOW = 1_790_000_000.0
# Zone -> hosts (and the fixture root each host's facts come from)
ZONES = {"kikan": {"ntp01": "chrony", "log01": "rsyslog", "pc-shimin01": "dconf-locked"},
         "internet": {"web01": "rootfs-debian12"}}


@dataclass
class Lab:
    base: Path
    runs: dict[str, Path]           # zone -> report directory
    keys: dict[str, Path]           # zone -> collector private key
    collectors: dict[str, str]      # zone -> collector name
    registry: Path
    ledger: Path

    def report(self, zone: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.runs[zone] / "report.json").read_text(encoding="utf-8"))
        return loaded


def write_registry(path: Path, keys: dict[str, Path], zones: dict[str, list[str]]) -> Path:
    lines = ["collectors:"]
    for name, key in keys.items():
        public = key.with_suffix(".pub").read_text(encoding="utf-8").strip()
        lines += [f"  {name}:", f"    public_key: \"{public}\"", f"    zones: {json.dumps(zones[name])}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
