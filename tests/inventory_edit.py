"""Editing a copy of the demo inventory in a test: one helper for every module that needs it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def edit_yaml(path: Path, change: Callable[[Any], object]) -> None:
    """Load a YAML file, let `change` modify the data in place, write it back (keys in their order)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
