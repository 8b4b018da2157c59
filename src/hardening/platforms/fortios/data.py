"""The platform's knowledge (platform.yaml): command table, documented defaults, default account names."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from hardening.platforms.common.netcli import capture_file, load_platform_data

DATA_FILE = Path(__file__).with_name("platform.yaml")
__all__ = ["DATA_FILE", "capture_file", "commands", "default", "error_pattern", "platform_data"]


def platform_data() -> dict[str, Any]:
    return load_platform_data(DATA_FILE)


def commands() -> list[dict[str, Any]]:
    return list(platform_data()["commands"])


def default(table: str, option: str) -> str | None:
    """The documented default of `option` in the table `table` (None: none documented here)."""
    value = platform_data()["defaults"].get(table, {}).get(option)
    return None if value is None else str(value)


@functools.cache
def error_pattern() -> re.Pattern[str]:
    """Matches the CLI's refusal of a command (the platform data's `error_markers`)."""
    return re.compile("|".join(f"(?:{p})" for p in platform_data()["error_markers"]), re.M)
