"""Every registered platform honours the Protocol (the napalm getters-signature idea)."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import pytest

from hardening.core.catalog import load_catalog
from hardening.core.errors import SavedFactsError, UnknownPlatformError
from hardening.core.models import DEVICE_CLASSES
from hardening.core.platform import OfflineParser, Platform, Remediator, get_platform, known_platforms
from hardening.platforms.linux import probe

FIXTURES = Path(__file__).resolve().parent / "linux" / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", known_platforms())
def test_driver_conforms(name: str) -> None:
    driver = get_platform(name)
    assert isinstance(driver, Platform)
    assert driver.name == name
    assert driver.device_classes <= set(DEVICE_CLASSES)
    methods = ["collect"]
    if isinstance(driver, Remediator):  # the optional remediation capability: all of it, for known requirements
        methods += ["plan", "apply"]
        assert driver.fixes <= set(load_catalog(ROOT / "schemas" / "requirements")), name
    for method in methods:
        protocol = Platform if method == "collect" else Remediator
        expected = inspect.signature(getattr(protocol, method))
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


def test_one_offline_capability() -> None:
    """audit --from and the conformance suite share ONE optional capability: parse(raw) -> unstamped facts."""
    import hardening.core.platform as contract

    offline = [name for name, value in vars(contract).items()
               if inspect.isclass(value) and name.startswith("Offline")]
    assert offline == ["OfflineParser"]
    assert list(inspect.signature(OfflineParser.parse).parameters) == ["self", "raw"]
    for name in known_platforms():
        assert not hasattr(type(get_platform(name)), "offline"), name


def test_linux_offline_parse_reads_the_audit_from_layout(tmp_path: Path) -> None:
    """parse(raw) reads raw/root/ (DIR/<host>/root/ of audit --from) in offline mode: the copy's /proc is never
    read, so live-only facts are errors, never values; configuration in files is read as usual."""
    driver = get_platform("linux")
    assert isinstance(driver, OfflineParser)
    shutil.copytree(FIXTURES / "rootfs-debian12", tmp_path / "web01" / "root", symlinks=True)
    assert (tmp_path / "web01" / "root" / "proc" / "net" / "tcp").is_file()  # a stale copy of /proc
    document = driver.parse(tmp_path / "web01")
    assert document["facts"]["os"]["family"] == "debian"
    assert document["facts"]["password_policy"]["min_length"] == 12
    for live_only in ("/time/synchronized", "/network/exposed_sockets", "/antimalware/resident",
                      "/removable_media/usb_storage_loaded"):
        assert live_only in document["errors"], live_only
        assert not probe.has_pointer(document["facts"], live_only), live_only


@pytest.mark.parametrize("layout", ["missing", "tree-not-under-root", "root-is-a-file"])
def test_linux_offline_parse_refuses_another_layout(tmp_path: Path, layout: str) -> None:
    raw = tmp_path / "web01"
    if layout == "tree-not-under-root":
        (raw / "etc").mkdir(parents=True)
    elif layout == "root-is-a-file":
        raw.mkdir()
        (raw / "root").write_text("not a tree\n")
    with pytest.raises(SavedFactsError) as info:
        get_platform("linux").parse(raw)
    assert str(raw / "root") in str(info.value)
