"""The platform's knowledge (platform.yaml): command table, documented defaults, default account names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hardening.platforms.common.netcli import capture_file, load_platform_data

DATA_FILE = Path(__file__).with_name("platform.yaml")
__all__ = ["DATA_FILE", "capture_file", "commands", "platform_data", "pseudo_commands"]


def platform_data() -> dict[str, Any]:
    return load_platform_data(DATA_FILE)


def commands() -> list[dict[str, Any]]:
    return list(platform_data()["commands"])


def pseudo_commands() -> frozenset[str]:
    """Entries of the command table the session answers itself (never sent to the router)."""
    return frozenset(str(c["command"]) for c in commands() if c.get("pseudo"))
