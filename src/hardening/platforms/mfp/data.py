"""The platform's knowledge, loaded once: platform.yaml (vendor-neutral: standard OIDs, the risky-port table, TLS
versions) and profiles.yaml (one profile per maker, shared with the lab's simulator lab/mfpsim)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hardening.platforms.common.netcli import load_platform_data

DATA_FILE = Path(__file__).with_name("platform.yaml")
PROFILES_FILE = Path(__file__).with_name("profiles.yaml")


def platform_data() -> dict[str, Any]:
    return load_platform_data(DATA_FILE)


def profiles_data() -> dict[str, Any]:
    return load_platform_data(PROFILES_FILE)


def standard_oid(name: str) -> str:
    return str(platform_data()["standard_oids"][name])


def port_table() -> list[dict[str, Any]]:
    return list(platform_data()["ports"])
