"""Fixtures for the Linux probe's unit tests.

The probe is a single file sent to hosts over SSH; the tests load it by path (as the
driver reads it) so they exercise exactly that file, whatever the package layout.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
PROBE_PATH = REPO / "src" / "hardening" / "platforms" / "linux" / "probe.py"
FIXTURES = HERE / "fixtures"
FACTS_SCHEMA = REPO / "schemas" / "facts.schema.json"


def load_probe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hardening_linux_probe_under_test", PROBE_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def probe() -> ModuleType:
    return load_probe()


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def ctx_for(probe: ModuleType):  # type: ignore[no-untyped-def]
    """ctx_for("case") -> a probe Ctx rooted at fixtures/<case> (commands unavailable)."""

    def make(case: str, now: float | None = None):  # type: ignore[no-untyped-def]
        return probe.Ctx(str(FIXTURES / case), now=now)

    return make
