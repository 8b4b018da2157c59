"""Bad input: exit 1, the file and the place named, nothing collected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from hardening import audit, cli
from hardening.core.errors import InventoryError, WaiverError
from hardening.core.inventory import load_inventory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    target = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory", target)
    return target


@pytest.fixture
def no_collect(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []

    def fake(*args: object, **kwargs: object) -> dict[str, object]:
        calls.append(args)
        raise AssertionError("collection must not start on bad input")

    monkeypatch.setattr(audit, "collect_all", fake)
    return calls


def _edit(path: Path, change: object) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _run(inv: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = cli.main(["audit", "--inventory", str(inv), "--out", str(inv.parent / "out"), "--no-progress", *extra])
    return code, capsys.readouterr().err


def test_demo_inventory_loads() -> None:
    inventory = load_inventory(ROOT / "inventory")
    host = inventory.hosts["jumin-ap01"]
    assert host.zone == "kikan"
    assert host.device_class == "linux_server"
    assert host.system.security_managers == ("市民課長",)
    assert inventory.hosts["pc-zaimu01"].device_class == "linux_pc"


@pytest.mark.parametrize(
    ("file", "change", "where", "words"),
    [
        ("hosts.yaml", lambda d: d["jumin-ap01"]["data"].update(zone="kikann"), "/jumin-ap01/data/zone", "kikann"),
        ("hosts.yaml", lambda d: d["web01"]["data"]["classification"].update(c=7), "/web01/data/classification/c",
         "7"),
        ("hosts.yaml", lambda d: d["web01"].update(password="hunter2hunter2"), "/web01/password", "web01"),  # noqa: S106
        ("hosts.yaml", lambda d: d["web01"].update(groups=["servers", "nosuchgroup"]), "/web01/groups",
         "nosuchgroup"),
        ("hosts.yaml", lambda d: d["web01"]["data"].update(system="存在しないシステム"), "/web01/data", "存在しない"),
        ("groups.yaml", lambda d: d["servers"]["data"].update(device_class="toaster"), "/servers/data/device_class",
         "toaster"),
        ("site.yaml", lambda d: d["parameters"].update(log_retention_days="ninety"), "/parameters/log_retention_days",
         "log_retention_days"),
        ("site.yaml", lambda d: d["parameters"].update(ntp_server=["1.2.3.4"]), "/parameters/ntp_server",
         "unknown parameter"),
        ("waivers.yaml", lambda d: d["waivers"][0].update(expires="someday"), "/waivers/0/expires", "someday"),
        ("waivers.yaml", lambda d: d["waivers"][0].update(requirements=["NO-SUCH-REQ"]),
         "/waivers/0/requirements/0", "NO-SUCH-REQ"),
        ("waivers.yaml", lambda d: d["waivers"][0].pop("approver"), "/waivers/0", "approver"),
    ],
)
def test_bad_input_is_named_and_nothing_collected(
    inv: Path, capsys: pytest.CaptureFixture[str], no_collect: list[object],
    file: str, change: object, where: str, words: str,
) -> None:
    _edit(inv / file, change)
    code, err = _run(inv, capsys)
    assert code == 1
    assert str(inv / file) in err
    assert where in err
    assert words in err
    assert "line " in err or file == "site.yaml"
    assert not no_collect
    assert not (inv.parent / "out").exists()


def test_yaml_syntax_error_names_line(inv: Path, capsys: pytest.CaptureFixture[str], no_collect: list[object]) -> None:
    (inv / "hosts.yaml").write_text("web01:\n  hostname: [unclosed\n", encoding="utf-8")
    code, err = _run(inv, capsys)
    assert code == 1
    assert "hosts.yaml" in err
    assert "line 3" in err or "line 2" in err
    assert not no_collect


def test_bad_catalog_is_named(tmp_path: Path, inv: Path, capsys: pytest.CaptureFixture[str],
                              no_collect: list[object]) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "schemas" / "requirements", catalog)
    text = (catalog / "PW-LEN.json").read_text(encoding="utf-8").replace('"severity": "high"', '"severity": "huge"')
    (catalog / "PW-LEN.json").write_text(text, encoding="utf-8")
    code, err = _run(inv, capsys, "--catalog", str(catalog))
    assert code == 1
    assert "PW-LEN.json" in err
    assert "/x-hardening/severity" in err
    assert not no_collect


def test_catalog_not_json_is_named(tmp_path: Path, inv: Path, capsys: pytest.CaptureFixture[str],
                                   no_collect: list[object]) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "schemas" / "requirements", catalog)
    (catalog / "PW-CLASS.json").write_text("{\n  \"x-hardening\": {,\n}", encoding="utf-8")
    code, err = _run(inv, capsys, "--catalog", str(catalog))
    assert code == 1
    assert "PW-CLASS.json" in err
    assert "line 2" in err
    assert not no_collect


def test_unknown_platform_lists_known(inv: Path, capsys: pytest.CaptureFixture[str], no_collect: list[object]) -> None:
    _edit(inv / "hosts.yaml", lambda d: d["web01"].update(platform="vax_vms"))
    code, err = _run(inv, capsys)
    assert code == 1
    assert "vax_vms" in err
    assert "linux" in err
    assert not no_collect


def test_waiver_for_unknown_host(inv: Path) -> None:
    _edit(inv / "waivers.yaml", lambda d: d["waivers"][0].update(hosts=["ghost-*"]))
    with pytest.raises(WaiverError) as info:
        audit.load_inputs(inv, ROOT / "schemas" / "requirements")
    assert "/waivers/0/hosts/0" in str(info.value)


def test_missing_hosts_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as info:
        load_inventory(tmp_path)
    assert "hosts.yaml" in str(info.value)
    assert "file not found" in str(info.value)
