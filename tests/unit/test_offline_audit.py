"""`hardening audit --from DIR` (issue 7 item 5): saved facts give the live run's verdicts; missing,
tampered, foreign or unparsable saved data is an error naming the file, never a pass; a saved Linux file
tree gives the facts only a running host has as not collected (manual/error, never pass)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hardening import audit, cli
from hardening.core.models import CollectResult, Host
from hardening.platforms.linux import probe

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "inventory"
FIXTURES = ROOT / "tests" / "unit" / "linux" / "fixtures"
REPORT_SCHEMA = json.loads((ROOT / "schemas" / "drift-report.schema.json").read_text(encoding="utf-8"))
NOW = 1_790_000_000.0
# Facts only a running host can give: from a saved file tree they must never be a value.
LIVE_ONLY = ("/time/synchronized", "/time/offset_ms_abs", "/time/stratum", "/time/selected_source",
             "/network/exposed_sockets", "/services/prohibited_present", "/removable_media/usb_storage_loaded",
             "/antimalware/resident", "/management/insecure_protocols", "/disk_encryption/os_volume_encrypted")


def _live_facts(host: Host, fixture: str) -> dict[str, Any]:
    """What a live collect would return for `host`: the probe over a fixture root (with its /proc), stamped."""
    document = probe.collect(str(FIXTURES / fixture), now=NOW, commands=False)
    document.update(host=host.name, device_class=host.device_class, platform=host.platform)
    return document


FIXTURE_OF = {"ntp01": "chrony", "web01": "rootfs-debian12", "log01": "rsyslog", "pc-shimin01": "dconf-locked"}


@pytest.fixture
def live_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A "live" audit of four hosts through the CLI (collection replaced by probe runs over fixture roots)."""
    def collect(hosts: list[Host], *args: object, **kwargs: object) -> dict[str, CollectResult]:
        return {h.name: CollectResult(h.name, _live_facts(h, FIXTURE_OF[h.name]), None, None, 0.1) for h in hosts}

    monkeypatch.setattr(audit, "collect_all", collect)
    out = tmp_path / "live"
    args = ["audit", "-i", str(INVENTORY), "--out", str(out), "--no-progress", "--ledger", str(tmp_path / "l.jsonl")]
    for name in FIXTURE_OF:
        args += ["-H", name]
    assert cli.main(args) in (0, 1, 2)  # fixture roots lack some facts: errors are expected
    monkeypatch.setattr(audit, "collect_all", _no_contact)
    return out


def _no_contact(*args: object, **kwargs: object) -> dict[str, CollectResult]:
    raise AssertionError("an offline audit contacted a host")


def _offline(tmp_path: Path, source: Path, *extra: str, name: str = "offline") -> tuple[int, dict[str, Any]]:
    out = tmp_path / name
    code = cli.main(["audit", "-i", str(INVENTORY), "--from", str(source), "--out", str(out), "--no-progress",
                     "--ledger", str(tmp_path / "l.jsonl"), *extra])
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(REPORT_SCHEMA).iter_errors(report)) == []
    return code, report


def _verdicts(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return sorted((f["host"], f["requirement"], f["status"], f["evaluated_status"]) for f in report["findings"])


def _hosts(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {h["name"]: h for h in report["hosts"]}


def test_saved_facts_give_the_live_verdicts(tmp_path: Path, live_run: Path) -> None:
    live = json.loads((live_run / "report.json").read_text(encoding="utf-8"))
    hosts = [a for name in FIXTURE_OF for a in ("-H", name)]
    code, offline = _offline(tmp_path, live_run / "facts", *hosts)
    assert _verdicts(offline) == _verdicts(live)
    assert {s for *_, s, _ in _verdicts(live)} >= {"pass", "fail"}  # the comparison covers both outcomes
    assert code == live["summary"]["exit_code"]
    assert offline["summary"] == live["summary"]
    # The report says it was offline, from which files, each with the sha256 `sha256sum` prints.
    record = offline["run"]["offline"]
    assert record["from"] == str(live_run / "facts")
    assert live["run"]["offline"] is None
    by_host = {s["host"]: s for s in record["sources"]}
    assert set(by_host) == set(FIXTURE_OF)
    for name, source in by_host.items():
        data = (live_run / "facts" / f"{name}.json").read_bytes()
        assert source["sha256"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert source["sha256"] == _hosts(live)[name]["facts_digest"]
        assert source["kind"] == "facts"
        assert source["report_digest_checked"] is True
        assert source["path"] == str(live_run / "facts" / f"{name}.json")
    entries = [json.loads(line) for line in (tmp_path / "l.jsonl").read_text(encoding="utf-8").splitlines()]
    assert "offline" not in entries[0]["subject"]  # the live run
    assert entries[-1]["subject"]["offline"] == {
        "from": str(live_run / "facts"), "sources": {s["host"]: s["sha256"] for s in record["sources"]}}
    html = (tmp_path / "offline" / "report.html").read_text(encoding="utf-8")
    assert "オフライン点検" in html
    assert by_host["web01"]["sha256"] in html


def test_a_report_directory_means_its_facts(tmp_path: Path, live_run: Path) -> None:
    live = json.loads((live_run / "report.json").read_text(encoding="utf-8"))
    _, offline = _offline(tmp_path, live_run, *[a for n in FIXTURE_OF for a in ("-H", n)])
    assert _verdicts(offline) == _verdicts(live)
    assert offline["run"]["offline"]["from"] == str(live_run / "facts")


def _only_web01(tmp_path: Path, source: Path) -> tuple[int, dict[str, Any]]:
    return _offline(tmp_path, source, "-H", "web01", name="web01-only")


def _error_of(report: dict[str, Any], host: str) -> str:
    entry = _hosts(report)[host]
    assert entry["status"] == "error"
    statuses = {f["status"] for f in report["findings"] if f["host"] == host}
    assert statuses <= {"error", "not_applicable"}
    assert "pass" not in statuses
    assert "error" in statuses
    return str(entry["error"])


def test_a_tampered_facts_file_is_an_error_naming_it(tmp_path: Path, live_run: Path) -> None:
    path = live_run / "facts" / "web01.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["facts"]["password_policy"]["min_length"] = 99  # still valid, still canonical JSON
    path.write_text(json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
                    encoding="utf-8")
    code, report = _only_web01(tmp_path, live_run / "facts")
    assert code == 1
    message = _error_of(report, "web01")
    assert str(path) in message
    assert "altered" in message
    assert report["run"]["offline"]["sources"] == []


@pytest.mark.parametrize(("content", "words"), [
    (b"{not json", "not JSON"),
    (b'{"format_version": "1", "facts": {"x": NaN}}', "NaN"),
    (b"[]", "not a JSON object"),
    (b'{"format_version": "1"}', "facts.schema.json"),
])
def test_an_unparsable_or_invalid_file_is_an_error_naming_it(tmp_path: Path, content: bytes, words: str) -> None:
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "web01.json").write_bytes(content)
    code, report = _only_web01(tmp_path, saved)
    assert code == 1
    message = _error_of(report, "web01")
    assert str(saved / "web01.json") in message
    assert words in message


def test_facts_of_another_host_are_refused(tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    saved.mkdir()
    inventory_host = _inventory_host("ntp01")
    document = _live_facts(inventory_host, "rootfs-debian12")  # stamped for ntp01, saved as web01
    (saved / "web01.json").write_text(json.dumps(document), encoding="utf-8")
    code, report = _only_web01(tmp_path, saved)
    assert code == 1
    message = _error_of(report, "web01")
    assert "ntp01" in message
    assert str(saved / "web01.json") in message


def test_missing_and_foreign_files(tmp_path: Path, live_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    facts = live_run / "facts"
    (facts / "log01.json").unlink()
    shutil.copy(facts / "web01.json", facts / "intruder01.json")
    code, report = _offline(tmp_path, facts, *[a for n in FIXTURE_OF for a in ("-H", n)])
    assert code == 1
    assert "no saved facts" in _error_of(report, "log01")
    assert _hosts(report)["web01"]["error"] is None  # its saved facts were used
    warnings = report["run"]["offline"]["warnings"]
    assert len(warnings) == 1
    assert "intruder01.json" in warnings[0]
    assert "intruder01.json" in capsys.readouterr().err


def _inventory_host(name: str) -> Host:
    from hardening.core.inventory import load_inventory

    return load_inventory(INVENTORY).hosts[name]


def test_a_saved_linux_file_tree_never_passes_live_only_facts(tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    shutil.copytree(FIXTURES / "rootfs-debian12", saved / "web01" / "root", symlinks=True)
    # The fixture carries a /proc (listening sockets, processes, modules): a backup's copy is stale, never read.
    assert (saved / "web01" / "root" / "proc" / "net" / "tcp").is_file()
    code, report = _only_web01(tmp_path, saved)
    assert code in (1, 2)
    assert _hosts(report)["web01"]["error"] is None
    facts = json.loads((tmp_path / "web01-only" / "facts" / "web01.json").read_text(encoding="utf-8"))
    for pointer in LIVE_ONLY:
        assert not probe.has_pointer(facts["facts"], pointer), pointer
        assert pointer in facts["errors"], pointer
    # File-based facts are still read from the tree.
    assert facts["facts"]["password_policy"]["min_length"] == 12
    live = probe.collect(str(FIXTURES / "rootfs-debian12"), now=NOW, commands=False)
    assert probe.has_pointer(live["facts"], "/network/exposed_sockets")  # the same tree read as live has it
    findings = {f["requirement"]: f for f in report["findings"] if f["host"] == "web01"}
    assert {f["status"] for f in findings.values()} >= {"pass"}  # configuration-only requirements still pass
    for requirement in _requirements_reading(LIVE_ONLY):
        if requirement in findings and findings[requirement]["status"] != "not_applicable":
            assert findings[requirement]["evaluated_status"] in ("manual", "error", "fail"), requirement
            assert findings[requirement]["evaluated_status"] != "pass", requirement
    assert report["run"]["offline"]["warnings"] == []  # the tree's /etc/hostname says web01
    source = report["run"]["offline"]["sources"][0]
    assert source["kind"] == "capture"
    assert source["path"] == str(saved / "web01")
    assert source["sha256"].startswith("sha256:")
    assert source["files"] > 10


def _requirements_reading(pointers: tuple[str, ...]) -> list[str]:
    from hardening.core.catalog import load_catalog

    catalog = load_catalog(ROOT / "schemas" / "requirements")
    found = [r.id for r in catalog.values() if any(f.startswith(p) or p.startswith(f) for f in r.facts
                                                   for p in pointers)]
    assert found, "no requirement reads a live-only fact"
    return found


def test_the_tree_digest_changes_with_any_file(tmp_path: Path) -> None:
    from hardening.offline import tree_digest

    root = tmp_path / "t"
    shutil.copytree(FIXTURES / "rootfs-minimal", root)
    before = tree_digest(root)
    target = next(p for p in sorted(root.rglob("*")) if p.is_file())
    target.write_bytes(target.read_bytes() + b"#")
    assert tree_digest(root)[0] != before[0]
    assert tree_digest(root)[1] == before[1]


def test_a_tree_without_root_and_both_forms_are_errors(tmp_path: Path, live_run: Path) -> None:
    saved = tmp_path / "saved"
    (saved / "web01" / "etc").mkdir(parents=True)  # the tree must be under web01/root/
    code, report = _only_web01(tmp_path, saved)
    assert code == 1
    assert "root" in _error_of(report, "web01")
    shutil.copy(live_run / "facts" / "web01.json", saved / "web01.json")
    code, report = _offline(tmp_path, saved, "-H", "web01", name="both")
    assert code == 1
    assert "keep one" in _error_of(report, "web01")


def test_a_missing_directory_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["audit", "-i", str(INVENTORY), "--from", str(tmp_path / "nowhere"), "--out",
                     str(tmp_path / "o"), "--no-progress", "--ledger", str(tmp_path / "l.jsonl")])
    assert code == 1
    err = capsys.readouterr().err
    assert "nowhere" in err
    assert "--from" in err
    assert not (tmp_path / "o" / "report.json").exists()


def test_the_terminal_summary_says_offline(tmp_path: Path, live_run: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    _offline(tmp_path, live_run / "facts", "-H", "web01", "--lang", "en")
    out = capsys.readouterr().out
    assert "Offline audit" in out
    assert str(live_run / "facts" / "web01.json") in out


def test_a_tree_that_calls_itself_another_host_is_named_in_a_warning(tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    shutil.copytree(FIXTURES / "rootfs-debian12", saved / "ntp01" / "root", symlinks=True)  # web01's copy
    _, report = _offline(tmp_path, saved, "-H", "ntp01")
    warnings = report["run"]["offline"]["warnings"]
    assert len(warnings) == 1
    assert "'web01'" in warnings[0]
    assert str(saved / "ntp01") in warnings[0]


def test_parse_capture_is_the_platform_parse_stamped_by_core(tmp_path: Path) -> None:
    """audit --from and the conformance suite share this entry point: the platform returns facts, core
    stamps them with the inventory's identity (not the probe's guesses) and validates them."""
    from hardening.core.errors import SavedFactsError
    from hardening.offline import parse_capture

    shutil.copytree(FIXTURES / "rootfs-debian12", tmp_path / "ntp01" / "root", symlinks=True)
    host = _inventory_host("ntp01")
    document = parse_capture(host, tmp_path / "ntp01")
    assert (document["host"], document["device_class"], document["platform"]) == (
        "ntp01", host.device_class, host.platform)
    assert document["facts"]["os"]["hostname"] == "web01"  # what the tree says, kept as a fact
    with pytest.raises(SavedFactsError) as info:
        parse_capture(host, tmp_path / "nowhere")
    assert info.value.host == "ntp01"
    assert str(tmp_path / "nowhere" / "root") in info.value.message
