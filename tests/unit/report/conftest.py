"""Fixtures: the sample drift report of report_sample.py, built fresh for every test (tests change it)."""

from __future__ import annotations

from typing import Any

import pytest
from report_sample import Sample, build_sample_report


@pytest.fixture
def sample(monkeypatch: pytest.MonkeyPatch) -> Sample:
    return build_sample_report(monkeypatch)


@pytest.fixture
def report(sample: Sample) -> dict[str, Any]:
    return sample[0]
