"""Shared pytest settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    """A copy of the demo inventory to edit (tests.inventory_edit.edit_yaml)."""
    target = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory", target)
    return target
