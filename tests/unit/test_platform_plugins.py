"""A new platform is a new package plus data, found through its entry point and audited with no edit to core
(issue 7): the package tests/unit/plugins/ext_router.py is installed into a private site folder with its own
dist-info (what `pip install` writes), and the real `hardening` command audits a router with it, live and from
saved captures (`audit --from`), in a separate process whose only link to the package is PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hardening.core import platform as contract

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = Path(__file__).resolve().parent / "plugins" / "ext_router.py"
HARDENING = Path(sys.executable).parent / "hardening"
SYNCED = "Clock is synchronized, stratum 3, reference is 10.203.0.10\nclock offset is -0.4210 msec, root delay is 1.2\n"
UNSYNCED = "Clock is unsynchronized, stratum 16, no reference clock\nclock offset is 0.0000 msec, root delay is 0.00\n"


def _site(tmp_path: Path) -> Path:
    """A site-packages folder holding the plugin as an installed distribution with an entry point."""
    site = tmp_path / "site"
    package = site / "hardening_ext_router"
    package.mkdir(parents=True)
    shutil.copyfile(PLUGIN, package / "__init__.py")
    info = site / "hardening_ext_router-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hardening-ext-router\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[hardening.platforms]\next_router = hardening_ext_router:ExtRouter\n")
    return site


def _device(folder: Path, config: str, ntp_status: str | None) -> Path:
    folder.mkdir(parents=True)
    (folder / "show_running-config.txt").write_text(config, encoding="utf-8")
    if ntp_status is not None:
        (folder / "show_ntp_status.txt").write_text(ntp_status, encoding="utf-8")
    return folder


def _data(tmp_path: Path, device_class: str = "router") -> tuple[Path, Path]:
    """An inventory of two routers on the plugin platform and a catalog whose TIME-SYNC also names routers: the
    data half of "a new package plus data"."""
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    requirement = json.loads((ROOT / "schemas" / "requirements" / "TIME-SYNC.json").read_text(encoding="utf-8"))
    if "router" not in requirement["x-hardening"]["device_classes"]:  # issue 8 names routers in the catalog itself
        requirement["x-hardening"]["device_classes"].append("router")
    (catalog / "TIME-SYNC.json").write_text(json.dumps(requirement, ensure_ascii=False), encoding="utf-8")
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    shutil.copyfile(ROOT / "inventory" / "systems.yaml", inventory / "systems.yaml")
    (inventory / "site.yaml").write_text("site: {name: 坂戸市（試験）, name_en: Sakado test}\n"
                                         "parameters: {ntp_servers: [10.203.0.10]}\n", encoding="utf-8")
    (inventory / "waivers.yaml").write_text("waivers: []\n", encoding="utf-8")
    devices = tmp_path / "devices"
    good = _device(devices / "rt01", "hostname rt01\nntp server vrf MGMT 10.203.0.10\n", SYNCED)
    bad = _device(devices / "rt02", "hostname rt02\nntp server 192.0.2.99\n", UNSYNCED)
    common = {"zone": "kikan", "classification": {"c": 2, "i": 2, "a": 2}, "system": "情報基盤",
              "roles": ["router"], "credentials": "ext", "device_class": device_class}
    hosts = {"rt01": {"hostname": str(good), "platform": "ext_router", "groups": ["routers"], "data": common},
             "rt02": {"hostname": str(bad), "platform": "ext_router", "groups": ["routers"], "data": common}}
    groups = {"routers": {"connection_options": {"https": {"port": 8443, "extras": {"verify": False}}}}}
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    (inventory / "groups.yaml").write_text(yaml.safe_dump(groups), encoding="utf-8")
    return inventory, catalog


def _hardening(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(_site(tmp_path)) if not (tmp_path / "site").exists()
           else str(tmp_path / "site"), "HARDENING_CRED_EXT_USERNAME": "auditor"}
    env.pop("HARDENING_VAULT", None)
    return subprocess.run([str(HARDENING), *args], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120, check=False)


def _verdicts(report_dir: Path) -> dict[tuple[str, str], str]:
    report: dict[str, Any] = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    return {(f["host"], f["requirement"]): f["status"] for f in report["findings"]}


def test_plugin_platform_is_found_and_audited_with_no_core_edit(tmp_path: Path) -> None:
    assert "ext_router" not in contract.known_platforms()  # not part of this project
    inventory, catalog = _data(tmp_path)
    live = _hardening(tmp_path, "audit", "-i", str(inventory), "--catalog", str(catalog), "--out", "live",
                      "--ledger", "ledger.jsonl", "--no-progress")
    assert live.returncode == 2, live.stderr  # rt02 drifts
    assert _verdicts(tmp_path / "live") == {("rt01", "TIME-SYNC"): "pass", ("rt02", "TIME-SYNC"): "fail"}
    report = json.loads((tmp_path / "live" / "report.json").read_text(encoding="utf-8"))
    assert {h["platform"] for h in report["hosts"]} == {"ext_router"}
    facts = json.loads((tmp_path / "live" / "facts" / "rt01.json").read_text(encoding="utf-8"))
    assert (facts["host"], facts["platform"], facts["device_class"]) == ("rt01", "ext_router", "router")  # by core

    # The same verdicts offline from the saved facts ...
    again = _hardening(tmp_path, "audit", "-i", str(inventory), "--catalog", str(catalog), "--out", "again",
                       "--ledger", "ledger.jsonl", "--no-progress", "--from", str(tmp_path / "live" / "facts"))
    assert again.returncode == 2, again.stderr
    assert _verdicts(tmp_path / "again") == _verdicts(tmp_path / "live")

    # ... and from saved configurations only: the live-only sync state is not collected, so never a pass.
    backups = tmp_path / "backups"
    for host in ("rt01", "rt02"):
        (backups / host).mkdir(parents=True)
        shutil.copyfile(tmp_path / "devices" / host / "show_running-config.txt",
                        backups / host / "show_running-config.txt")
    offline = _hardening(tmp_path, "audit", "-i", str(inventory), "--catalog", str(catalog), "--out", "offline",
                         "--ledger", "ledger.jsonl", "--no-progress", "--from", str(backups))
    verdicts = _verdicts(tmp_path / "offline")
    assert verdicts[("rt01", "TIME-SYNC")] == "error", offline.stdout
    assert verdicts[("rt02", "TIME-SYNC")] in ("fail", "error")  # its configured server is wrong either way
    assert offline.returncode == 1


def test_plugin_host_with_a_device_class_its_platform_lacks_is_refused_at_load(tmp_path: Path) -> None:
    inventory, catalog = _data(tmp_path, device_class="linux_server")
    result = _hardening(tmp_path, "audit", "-i", str(inventory), "--catalog", str(catalog), "--out", "x",
                        "--ledger", "ledger.jsonl", "--no-progress")
    assert result.returncode == 1
    assert "hosts.yaml" in result.stderr
    assert "rt01" in result.stderr
    assert "does not handle device class 'linux_server'" in result.stderr
    assert not (tmp_path / "x").exists()  # nothing was contacted or written


def test_in_process_registry_sees_an_installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(_site(tmp_path)))
    contract.refresh_registry()
    try:
        assert "ext_router" in contract.known_platforms()
        driver = contract.get_platform("ext_router")
        assert isinstance(driver, contract.Platform)
        assert isinstance(driver, contract.OfflineParser)
        assert isinstance(driver, contract.Fetcher)
        assert not isinstance(driver, contract.Remediator)
    finally:
        monkeypatch.undo()
        contract.refresh_registry()
    assert "ext_router" not in contract.known_platforms()


def test_a_plugin_that_breaks_the_contract_is_refused_naming_its_entry_point(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _site(tmp_path)
    (site / "hardening_ext_router-0.1.dist-info" / "entry_points.txt").write_text(
        "[hardening.platforms]\nwrong_name = hardening_ext_router:ExtRouter\nbroken = hardening_ext_router:Nope\n")
    monkeypatch.syspath_prepend(str(site))
    contract.refresh_registry()
    try:
        with pytest.raises(contract.PlatformLoadError, match=r"wrong_name.*its name is 'ext_router'"):
            contract.get_platform("wrong_name")
        with pytest.raises(contract.PlatformLoadError, match=r"broken = hardening_ext_router:Nope does not load"):
            contract.get_platform("broken")
    finally:
        monkeypatch.undo()
        contract.refresh_registry()
