"""Shared pytest settings."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.hookimpl(optionalhook=True)   # a pytest-xdist hook: without xdist (plain `pytest`) it is never called
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make test` runs pytest-xdist with `--dist loadgroup`: every test under tests/lab/ is ONE work unit, so the lab
    tests run in their order, one at a time, in one worker (they share the lab, and some files' stories rely on the
    lab as lab.yaml describes it), while the other worker runs the unit and platform tests beside them. (The grouping
    is by path here, not by xdist_group markers: xdist 3.8 renames a marked test through a node attribute that pytest
    9.2 no longer reads, so the markers would group nothing.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class LabTestsTogether(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "tests/lab" if nodeid.startswith("tests/lab/") else super()._split_scope(nodeid)

    return LabTestsTogether(config, log)


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    """A copy of the demo inventory to edit (tests.inventory_edit.edit_yaml)."""
    target = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory", target)
    return target


@pytest.fixture(scope="session")
def _session_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("history") / "history.sqlite"


@pytest.fixture(autouse=True)
def _test_history(_session_history: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `hardening audit` of a test records into a history of the test session, never into the machine's
    /var/lib/hardening/history.sqlite (a test that wants another location sets HARDENING_HISTORY or --history)."""
    if "HARDENING_HISTORY" not in os.environ:
        monkeypatch.setenv("HARDENING_HISTORY", str(_session_history))
