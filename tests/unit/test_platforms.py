"""Every registered platform honours the Protocol (the napalm getters-signature idea)."""

from __future__ import annotations

import inspect

import pytest

from hardening.core.errors import UnknownPlatformError
from hardening.core.models import DEVICE_CLASSES
from hardening.core.platform import Platform, get_platform, known_platforms


@pytest.mark.parametrize("name", known_platforms())
def test_driver_conforms(name: str) -> None:
    driver = get_platform(name)
    assert isinstance(driver, Platform)
    assert driver.name == name
    assert driver.device_classes <= set(DEVICE_CLASSES)
    for method in ("collect", "plan", "apply"):
        expected = inspect.signature(getattr(Platform, method))
        actual = inspect.signature(getattr(type(driver), method))
        assert list(actual.parameters) == list(expected.parameters), method


def test_unknown_platform_lists_known() -> None:
    with pytest.raises(UnknownPlatformError) as info:
        get_platform("cisco_nxos")
    assert "cisco_nxos" in str(info.value)
    for name in known_platforms():
        assert name in str(info.value)
