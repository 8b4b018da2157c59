"""The platform's knowledge (platform.yaml): command table, documented defaults, default account names."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from hardening.core.yamlio import load_yaml

DATA_FILE = Path(__file__).with_name("platform.yaml")


@functools.cache
def platform_data() -> dict[str, Any]:
    data = load_yaml(DATA_FILE).data
    if not isinstance(data, dict):
        raise ValueError(f"{DATA_FILE}: not a mapping")
    return data


def commands() -> list[dict[str, Any]]:
    return list(platform_data()["commands"])


def capture_file(command: str) -> str:
    """The file a command's output is saved in: `show running-config` -> `show_running-config.txt`.
    The one place the name is derived (fetch writes it, parse reads it)."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", command.strip()) + ".txt"
