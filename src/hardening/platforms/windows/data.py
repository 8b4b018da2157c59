"""The platform's knowledge (platform.yaml): command table, error markers, output label tables (en-US, ja-JP),
enum tables and the firmware vendor table, loaded once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hardening.platforms.common.netcli import load_platform_data

DATA_FILE = Path(__file__).with_name("platform.yaml")


def platform_data() -> dict[str, Any]:
    return load_platform_data(DATA_FILE)


def section(name: str) -> dict[str, Any]:
    """A top-level mapping of platform.yaml (ValueError when it is missing or not a mapping)."""
    value = platform_data().get(name)
    if not isinstance(value, dict):
        raise ValueError(f"{DATA_FILE}: `{name}` is not a mapping")
    return value
