"""Fixtures for the Linux probe's unit tests.

The probe ships to hosts as ONE script assembled from the `probe` package; the `probe` fixture is that very
script loaded as one module, so the tests exercise exactly what a host runs (test_linux_probe_assembly.py
proves the script and the imported package give the same facts).
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

from hardening.platforms.linux.probe import assemble

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"


def load_probe() -> ModuleType:
    """The assembled probe script as a module (not run as __main__, so main() does not start)."""
    module = ModuleType("hardening_linux_probe_under_test")
    sys.modules[module.__name__] = module
    exec(compile(assemble(), "<hardening-linux-probe>", "exec"), module.__dict__)  # noqa: S102 -- our own probe
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
