"""Bad input: exit 1, the file and the place named, nothing collected."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.inventory_edit import edit_yaml

from hardening import audit, cli
from hardening.core.errors import InputError, InventoryError, WaiverError
from hardening.core.inventory import load_inventory
from hardening.core.yamlio import load_yaml

ROOT = Path(__file__).resolve().parents[2]



@pytest.fixture
def no_collect(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []

    def fake(*args: object, **kwargs: object) -> dict[str, object]:
        calls.append(args)
        raise AssertionError("collection must not start on bad input")

    monkeypatch.setattr(audit, "collect_all", fake)
    return calls



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
    edit_yaml(inv / file, change)
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
    edit_yaml(inv / "hosts.yaml", lambda d: d["web01"].update(platform="vax_vms"))
    code, err = _run(inv, capsys)
    assert code == 1
    assert "vax_vms" in err
    assert "linux" in err
    assert not no_collect


def test_waiver_for_unknown_host(inv: Path) -> None:
    edit_yaml(inv / "waivers.yaml", lambda d: d["waivers"][0].update(hosts=["ghost-*"]))
    with pytest.raises(WaiverError) as info:
        audit.load_inputs(inv, ROOT / "schemas" / "requirements")
    assert "/waivers/0/hosts/0" in str(info.value)


def test_missing_hosts_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as info:
        load_inventory(tmp_path)
    assert "hosts.yaml" in str(info.value)
    assert "file not found" in str(info.value)


# -- issue 6, change control item 8: bad input accepted or unexplained ---------------------------------------------


def _first_key(path: Path) -> str:
    return str(next(iter(yaml.safe_load(path.read_text(encoding="utf-8")))))


@pytest.mark.parametrize("file", ["hosts.yaml", "groups.yaml", "defaults.yaml", "site.yaml", "systems.yaml",
                                  "waivers.yaml", "approvers.yaml"])
def test_duplicate_key_is_refused_in_every_yaml_input(
    inv: Path, capsys: pytest.CaptureFixture[str], no_collect: list[object], file: str,
) -> None:
    path = inv / file
    text = path.read_text(encoding="utf-8")
    key = _first_key(path)
    line = len(text.splitlines()) + 1
    path.write_text(text + f"{key}: null\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_yaml(path)
    message = str(info.value)
    assert str(path) in message
    assert f"/{key} (line {line})" in message
    assert "second time" in message
    if file != "approvers.yaml":  # approvers are read by approve/apply, not audit
        code, err = _run(inv, capsys)
        assert code == 1
        assert f"{path}: at /{key} (line {line})" in err
        assert len(err.strip().splitlines()) == 1
        assert not no_collect


def test_duplicate_nested_key_names_its_pointer(inv: Path, capsys: pytest.CaptureFixture[str],
                                                no_collect: list[object]) -> None:
    path = inv / "hosts.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    roles: [ntp_server]\n", "    roles: [ntp_server]\n    roles: []\n", 1),
                    encoding="utf-8")
    code, err = _run(inv, capsys)
    assert code == 1
    assert "/ntp01/data/roles (line 10)" in err
    assert "first at line 9" in err
    assert not no_collect


def test_anchors_and_merge_keys_still_load(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("base: &base {a: 1, b: 2}\nuse:\n  <<: *base\n  b: 3\nlist: [*base, *base]\n", encoding="utf-8")
    assert load_yaml(path).data == {"base": {"a": 1, "b": 2}, "use": {"a": 1, "b": 3},
                                    "list": [{"a": 1, "b": 2}, {"a": 1, "b": 2}]}


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused(inv: Path, capsys: pytest.CaptureFixture[str],
                                    no_collect: list[object]) -> None:
    path = inv / "groups.yaml"
    path.write_text(path.read_text(encoding="utf-8") + _bomb(), encoding="utf-8")
    started = time.monotonic()
    code, err = _run(inv, capsys)
    assert time.monotonic() - started < 10
    assert code == 1
    assert str(path) in err
    assert "alias" in err
    assert re.search(r"line \d+", err)
    assert not no_collect


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: &a [1, *a]\n", encoding="utf-8")
    with pytest.raises(InputError, match="alias"):
        load_yaml(path)


@pytest.mark.parametrize(("file", "old", "new", "where"), [
    ("site.yaml", "ntp_max_offset_ms: 500", "ntp_max_offset_ms: .nan", "line 9"),
    ("site.yaml", "ntp_max_offset_ms: 500", "ntp_max_offset_ms: .inf", "line 9"),
    ("site.yaml", "log_retention_days: 90", "log_retention_days: -.Inf", "line 11"),
    ("hosts.yaml", "    roles: [ntp_server]\n", "    roles: [ntp_server]\n    parameters: {ntp_max_offset_ms: .NaN}\n",
     "line 10"),
])
def test_non_finite_number_is_refused(inv: Path, capsys: pytest.CaptureFixture[str], no_collect: list[object],
                                      file: str, old: str, new: str, where: str) -> None:
    path = inv / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    code, err = _run(inv, capsys)
    assert code == 1
    assert str(path) in err
    assert where in err
    assert "finite" in err
    assert not no_collect


def test_json_writers_refuse_non_finite_numbers(tmp_path: Path) -> None:
    from hardening.report.build import canonical_json
    from hardening.report.writers import write_json

    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"x": float("nan")})
    from tests.unit.report.report_sample import build_sample_report

    report = build_sample_report()[0]
    report["findings"][0]["parameters"] = {"ntp_max_offset_ms": float("nan")}
    with pytest.raises(ValueError, match="JSON compliant"):
        write_json(report, tmp_path / "r.json")
    assert not (tmp_path / "r.json").exists()


def test_probe_output_with_nan_is_an_error_not_a_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from hardening.core.errors import ProbeError
    from hardening.core.platform import Target
    from hardening.core.secrets import Credentials
    from hardening.platforms.common import ssh
    from hardening.platforms.common.ssh import CommandResult
    from hardening.platforms.linux.driver import LinuxPlatform

    inventory = load_inventory(ROOT / "inventory")
    output = b'{"facts": {"time": {"offset_ms_abs": NaN}}, "errors": {}, "evidence": {}}'
    monkeypatch.setattr(ssh, "run", lambda *a, **k: CommandResult(0, output, b""))
    target = Target(inventory.hosts["ntp01"], Credentials("lab", "u"), 5.0)
    with pytest.raises(ProbeError, match="/facts/time/offset_ms_abs"):
        LinuxPlatform().collect(target)


def _catalog_with(tmp_path: Path, name: str, edit: object) -> Path:
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "schemas" / "requirements", catalog)
    document = json.loads((catalog / name).read_text(encoding="utf-8"))
    edit(document)  # type: ignore[operator]
    (catalog / name).write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    return catalog


@pytest.mark.parametrize(("ref", "words"), [
    ("#/$defs/nothing", "#/$defs/nothing"),
    ("other.json#/x", "other.json"),
    ("https://hardening.example/schemas/facts.schema.json#/properties/facts", "facts.schema.json"),
])
def test_unresolvable_ref_is_refused_at_load(tmp_path: Path, inv: Path, capsys: pytest.CaptureFixture[str],
                                             no_collect: list[object], ref: str, words: str) -> None:
    catalog = _catalog_with(tmp_path, "PW-LEN.json", lambda d: d["properties"].update(extra={"$ref": ref}))
    code = cli.main(["validate", "--inventory", str(inv), "--catalog", str(catalog)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{catalog / 'PW-LEN.json'}: at /properties/extra/$ref" in err
    assert words in err
    code, err = _run(inv, capsys, "--catalog", str(catalog))
    assert code == 1
    assert not no_collect


def test_resolvable_ref_is_accepted(tmp_path: Path, inv: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["$defs"] = {"text": {"type": "string"}}
        document["properties"]["extra"] = {"$ref": "#/$defs/text"}

    catalog = _catalog_with(tmp_path, "PW-LEN.json", edit)
    assert "PW-LEN" in audit.load_inputs(inv, catalog).catalog


def test_catalog_nan_is_refused(tmp_path: Path, inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "schemas" / "requirements", catalog)
    path = catalog / "TIME-SYNC.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"default": 1000', '"default": NaN'), encoding="utf-8")
    code = cli.main(["validate", "--inventory", str(inv), "--catalog", str(catalog)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{path}: at /x-hardening/parameters/ntp_max_offset_ms/default" in err
    assert "NaN" in err


@pytest.mark.parametrize(("option", "value"), [
    ("--timeout", "nan"), ("--timeout", "NaN"), ("--timeout", "inf"), ("--timeout", "-inf"), ("--timeout", "0"),
    ("--timeout", "-5"), ("--timeout", "soon"), ("--workers", "0"), ("--workers", "-2"), ("--workers", "many"),
])
def test_bad_limits_are_refused(inv: Path, capsys: pytest.CaptureFixture[str], no_collect: list[object],
                                option: str, value: str) -> None:
    try:
        code, err = _run(inv, capsys, f"{option}={value}")
    except SystemExit as exc:  # argparse's own exit (2) is the bug: 2 means drift here
        code, err = int(exc.code or 0), capsys.readouterr().err
    assert code == 1
    assert option in err
    assert value in err
    assert len(err.strip().splitlines()) == 1
    assert not no_collect
    assert not (inv.parent / "out").exists()


def test_bad_max_age_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = cli.main(["apply", str(tmp_path / "p.json"), "--max-age-hours", "nan"])
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 1
    assert "--max-age-hours" in capsys.readouterr().err


@pytest.mark.parametrize(("approved", "expires", "words"), [
    ("2027-04-01", "2027-03-31", "after it expires"),
    ("2999-01-01", "3000-01-01", "in the future"),
])
def test_waiver_approval_date_is_checked(inv: Path, capsys: pytest.CaptureFixture[str], no_collect: list[object],
                                         approved: str, expires: str, words: str) -> None:
    edit_yaml(inv / "waivers.yaml", lambda d: d["waivers"][0].update(approved=approved, expires=expires))
    code, err = _run(inv, capsys)
    assert code == 1
    assert f"{inv / 'waivers.yaml'}: at /waivers/0/approved (line " in err
    assert words in err
    assert not no_collect


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 0.0, -1.0])
def test_no_target_without_a_real_deadline(timeout: float) -> None:
    from hardening.core.platform import Target
    from hardening.core.secrets import Credentials

    host = load_inventory(ROOT / "inventory").hosts["ntp01"]
    with pytest.raises(ValueError, match="ntp01: time budget"):
        Target(host, Credentials("lab", "u"), timeout)
