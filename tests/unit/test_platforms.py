"""Every registered platform honours the Protocol (the napalm getters-signature idea)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from hardening.core.errors import ProbeError, UnknownPlatformError
from hardening.core.models import DEVICE_CLASSES
from hardening.core.platform import OfflineParser, Platform, get_platform, known_platforms


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
    if isinstance(driver, OfflineParser):  # the optional offline capability keeps its signature too
        expected = inspect.signature(OfflineParser.parse)
        assert list(inspect.signature(type(driver).parse).parameters) == list(expected.parameters)


def test_unknown_platform_lists_known() -> None:
    with pytest.raises(UnknownPlatformError) as info:
        get_platform("cisco_nxos")
    assert "cisco_nxos" in str(info.value)
    for name in known_platforms():
        assert name in str(info.value)


def test_linux_offline_parse_reads_a_root_tree(tmp_path: Path) -> None:
    """parse(raw) runs the probe over a saved tree with commands off: live-only facts are errors, never values."""
    driver = get_platform("linux")
    assert isinstance(driver, OfflineParser)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "os-release").write_text('ID=debian\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n')
    document = driver.parse(tmp_path)
    assert document["facts"]["os"]["family"] == "debian"
    for live_only in ("/time/synchronized", "/network/exposed_sockets", "/antimalware/resident"):
        assert live_only in document["errors"]
    with pytest.raises(ProbeError) as info:
        driver.parse(tmp_path / "missing")
    assert "missing" in str(info.value)
