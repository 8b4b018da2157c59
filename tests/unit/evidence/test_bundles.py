"""Evidence bundles (issue 11 item 2): export → verify → import of two zone collectors into one history and one
city-wide report; any changed byte of any member is named; replays, foreign zones, forged verdicts (re-signed or
not) and unsafe archives are refused; a stock JSON Schema validator re-checks a facts file."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from evidence_lab import Lab, write_registry
from jsonschema import Draft202012Validator

from hardening import cli
from hardening.core.secrets import REDACTOR
from hardening.evidence.bundle import (
    FILLED_INDEX,
    LEDGER,
    MANIFEST,
    REPORT,
    SIGNATURE,
    BundleError,
    build_bundle,
    canonical_bytes,
    read_members,
)
from hardening.evidence.collectors import CollectorRegistryError, load_collector_key, load_collectors
from hardening.evidence.importer import check_replay, city_report, import_bundle
from hardening.evidence.verify import BundleRefused, verify_bundle
from hardening.history import History, open_history
from hardening.report.merge import merge_reports
from hardening.report.validate import validate_report

MOMENT = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)


def _history(tmp_path: Path) -> History:
    return open_history(tmp_path / "history.sqlite")


def _bundle(lab: Lab, zone: str, tmp_path: Path, sequence: int = 1, name: str | None = None) -> Path:
    key = load_collector_key(lab.keys[zone])
    data = build_bundle(lab.runs[zone], key, lab.collectors[zone], sequence, ledger_path=lab.ledger, now=MOMENT)
    path = tmp_path / (name or f"{zone}-{sequence}.tar")
    path.write_bytes(data)
    return path


def _retar(members: dict[str, bytes], path: Path) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            archive.addfile(info, io.BytesIO(members[name]))
    path.write_bytes(buffer.getvalue())
    return path


def _verify_cli(bundle: Path, registry: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["verify", str(bundle), "--collectors", str(registry)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_bundle_verifies_and_its_verdicts_are_derived_again(lab: Lab, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _bundle(lab, "kikan", tmp_path)
    members = read_members(bundle.read_bytes())
    report = lab.report("kikan")
    assert {REPORT, MANIFEST, SIGNATURE, LEDGER, FILLED_INDEX, "schemas/facts.schema.json"} <= set(members)
    assert {f"facts/{h['name']}.json" for h in report["hosts"]} <= set(members)
    assert members[REPORT] == (lab.runs["kikan"] / "report.json").read_bytes()
    manifest = json.loads(members[MANIFEST])
    assert manifest["sequence"] == 1
    assert manifest["collector"] == "collector-kikan"
    assert manifest["run_id"] == report["run"]["id"]
    assert manifest["zones"] == ["kikan"]
    assert set(manifest["files"]) == set(members) - {MANIFEST, SIGNATURE}
    # The ledger excerpt: the run's audit entry, byte for byte as in the ledger.
    ledger_lines = lab.ledger.read_bytes().splitlines(keepends=True)
    assert members[LEDGER].splitlines(keepends=True)[0] in ledger_lines
    assert json.loads(members[LEDGER].splitlines()[0])["subject"]["run_id"] == report["run"]["id"]
    code, out = _verify_cli(bundle, lab.registry, capsys)
    assert code == 0, out
    assert out.startswith("検証成功")
    assert f"{len(report['findings'])}" in out
    assert any(f["status"] == "fail" for f in report["findings"])  # something to re-derive besides passes


def test_export_is_deterministic_apart_from_what_it_must_change(lab: Lab, tmp_path: Path) -> None:
    one = _bundle(lab, "kikan", tmp_path, name="one.tar").read_bytes()
    two = _bundle(lab, "kikan", tmp_path, name="two.tar").read_bytes()
    assert one == two
    with tarfile.open(fileobj=io.BytesIO(one)) as archive:
        infos = archive.getmembers()
    assert [i.name for i in infos] == sorted(i.name for i in infos)
    assert {(i.mtime, i.uid, i.gid, i.uname, i.mode) for i in infos} == {(0, 0, 0, "root", 0o644)}


def test_every_changed_byte_of_every_member_is_named(lab: Lab, tmp_path: Path) -> None:
    bundle = _bundle(lab, "kikan", tmp_path)
    members = read_members(bundle.read_bytes())
    registry = load_collectors(lab.registry)
    assert len(members) > 20
    unnamed = []
    for name, data in sorted(members.items()):
        for position in {0, len(data) // 2, len(data) - 1}:
            changed = dict(members)
            changed[name] = data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1:]
            verified, problems = verify_bundle(_retar(changed, tmp_path / "t.tar"), registry)
            if verified is not None or not any(name in p.file for p in problems):
                unnamed.append((name, position, [p.line() for p in problems]))
    assert unnamed == []


@pytest.mark.parametrize("what", ["missing", "extra"])
def test_a_missing_or_extra_member_is_named(lab: Lab, tmp_path: Path, what: str) -> None:
    members = read_members(_bundle(lab, "kikan", tmp_path).read_bytes())
    if what == "missing":
        del members["facts/ntp01.json"]
        named = "facts/ntp01.json"
    else:
        members["facts/intruder.json"] = b"{}"
        named = "facts/intruder.json"
    verified, problems = verify_bundle(_retar(members, tmp_path / "t.tar"), load_collectors(lab.registry))
    assert verified is None
    assert any(p.file == named for p in problems)


def _forge(members: dict[str, bytes]) -> tuple[dict[str, bytes], str]:
    """Turn one failing finding into a pass, consistently (status, host status, summary), and fix the hashes."""
    report = json.loads(members[REPORT])
    finding = next(f for f in report["findings"] if f["status"] == "fail" and f["evaluated_status"] == "fail")
    finding["status"] = finding["evaluated_status"] = "pass"
    finding["violations"] = []
    report["summary"]["findings"]["fail"] -= 1
    report["summary"]["findings"]["pass"] += 1
    for host in report["hosts"]:
        if host["name"] == finding["host"] and not any(
                f["host"] == host["name"] and f["status"] in ("fail", "error") for f in report["findings"]):
            host["status"] = "pass"
            report["summary"]["hosts_by_status"]["fail"] -= 1
            report["summary"]["hosts_by_status"]["pass"] += 1
    validate_report(report)  # a forgery a reader of the report alone would accept
    forged = dict(members)
    forged[REPORT] = (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    manifest = json.loads(members[MANIFEST])
    manifest["files"][REPORT] = {"sha256": hashlib.sha256(forged[REPORT]).hexdigest(), "size": len(forged[REPORT])}
    forged[MANIFEST] = canonical_bytes(manifest)
    return forged, f"{finding['host']} × {finding['requirement']}"


def test_a_forged_verdict_not_signed_again_fails_on_the_signature(lab: Lab, tmp_path: Path) -> None:
    forged, _ = _forge(read_members(_bundle(lab, "kikan", tmp_path).read_bytes()))
    verified, problems = verify_bundle(_retar(forged, tmp_path / "f.tar"), load_collectors(lab.registry))
    assert verified is None
    assert [p.file for p in problems] == ["manifest.json, manifest.sig"]


def test_a_forged_verdict_signed_by_a_valid_key_fails_re_derivation(lab: Lab, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    forged, which = _forge(read_members(_bundle(lab, "kikan", tmp_path).read_bytes()))
    key = load_collector_key(lab.keys["kikan"])
    forged[SIGNATURE] = base64.b64encode(key.sign(forged[MANIFEST])) + b"\n"
    code, out = _verify_cli(_retar(forged, tmp_path / "f.tar"), lab.registry, capsys)
    assert code == 1
    assert f"report.json: {which}: 判定が事実から導けない: 記録 pass/pass、再判定 fail/fail" in out
    assert "監査エントリの report_digest が report.json と一致しない" in out  # the ledger names the real report
    assert out.splitlines()[0].startswith("検証失敗")


@pytest.mark.parametrize("member", ["../evil.json", "/etc/evil.json", "facts/../../evil.json", "link"])
def test_unsafe_members_are_refused(lab: Lab, tmp_path: Path, member: str) -> None:
    members = read_members(_bundle(lab, "kikan", tmp_path).read_bytes())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            archive.addfile(info, io.BytesIO(members[name]))
        info = tarfile.TarInfo(member)
        if member == "link":
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            archive.addfile(info)
        else:
            info.size = 2
            archive.addfile(info, io.BytesIO(b"{}"))
    path = tmp_path / "unsafe.tar"
    path.write_bytes(buffer.getvalue())
    verified, problems = verify_bundle(path, load_collectors(lab.registry))
    assert verified is None
    assert [p.file for p in problems] == [member]
    assert not (tmp_path.parent / "evil.json").exists()


def test_two_zone_collectors_import_into_one_history_and_one_city_report(
        lab: Lab, tmp_path: Path) -> None:
    history = _history(tmp_path)
    registry = load_collectors(lab.registry)
    for zone in ("kikan", "internet"):
        import_bundle(_bundle(lab, zone, tmp_path), history, registry)
    city = city_report(history)
    validate_report(city)
    kikan, internet = lab.report("kikan"), lab.report("internet")
    assert sorted(h["name"] for h in city["hosts"]) == sorted(h["name"] for r in (kikan, internet) for h in r["hosts"])
    for status, number in city["summary"]["findings"].items():
        assert number == kikan["summary"]["findings"][status] + internet["summary"]["findings"][status]
    assert city["summary"]["hosts"] == kikan["summary"]["hosts"] + internet["summary"]["hosts"] == 4
    assert city["run"]["selection"]["merged_runs"] == sorted([kikan["run"]["id"], internet["run"]["id"]])
    runs = history.runs()
    assert [(r["origin"], r["collector"], r["sequence"]) for r in runs if r["id"] == kikan["run"]["id"]] == \
        [("bundle", "collector-kikan", 1)]
    assert all(len(r["bundle_sha256"]) == 64 for r in runs)


def test_a_replayed_bundle_is_refused(lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = _history(tmp_path)
    registry = load_collectors(lab.registry)
    first = _bundle(lab, "kikan", tmp_path, sequence=3)
    import_bundle(first, history, registry)
    with pytest.raises(BundleRefused) as again:
        import_bundle(first, history, registry)
    assert {p.file for p in again.value.problems} == {REPORT, MANIFEST}
    assert "再送" in str(again.value)


def test_a_sequence_not_above_the_collectors_last_is_refused(lab: Lab, tmp_path: Path) -> None:
    history = _history(tmp_path)
    registry = load_collectors(lab.registry)
    import_bundle(_bundle(lab, "kikan", tmp_path, sequence=5), history, registry)
    # Another run of the same collector, with an older sequence: stale or replayed.
    older = _bundle(lab, "kikan", tmp_path, sequence=4, name="older.tar")
    verified, problems = verify_bundle(older, registry)
    assert verified is not None
    assert problems == []
    replay = check_replay(verified, history)
    assert any(p.file == MANIFEST and "通番 4" in p.ja for p in replay)


def test_a_host_outside_the_collectors_zones_is_refused(lab: Lab, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    narrow = write_registry(tmp_path / "collectors.yaml",
                            {lab.collectors[z]: lab.keys[z] for z in lab.keys},
                            {lab.collectors["kikan"]: ["lgwan"], lab.collectors["internet"]: ["internet"]})
    bundle = _bundle(lab, "kikan", tmp_path)
    with pytest.raises(BundleRefused) as refused:
        import_bundle(bundle, _history(tmp_path), load_collectors(narrow))
    assert any("/zone" in p.file and "担当外" in p.ja for p in refused.value.problems)


def test_a_bundle_signed_by_another_collector_is_refused(lab: Lab, tmp_path: Path) -> None:
    key = load_collector_key(lab.keys["internet"])  # signs as collector-kikan with the internet collector's key
    data = build_bundle(lab.runs["kikan"], key, "collector-kikan", 1, ledger_path=lab.ledger, now=MOMENT)
    path = tmp_path / "wrongkey.tar"
    path.write_bytes(data)
    verified, problems = verify_bundle(path, load_collectors(lab.registry))
    assert verified is None
    assert [p.file for p in problems] == ["manifest.json, manifest.sig"]


def test_no_secret_leaves_in_a_bundle(lab: Lab, tmp_path: Path) -> None:
    bundle = read_members(_bundle(lab, "kikan", tmp_path).read_bytes())
    for host in lab.report("kikan")["hosts"]:  # the facts as the audit wrote them (scrubbed), byte for byte
        assert bundle[host["facts_file"]] == (lab.runs["kikan"] / host["facts_file"]).read_bytes()
    # A secret the process knows that is somehow in a file of the run: the export refuses, naming the file.
    run = tmp_path / "run"
    shutil.copytree(lab.runs["kikan"], run)
    facts = run / "facts" / "ntp01.json"
    secret = "S3cr3t-community-xyz"  # noqa: S105 - a planted test secret
    text = facts.read_text(encoding="utf-8").replace('"facts":{', f'"facts":{{"leak":"{secret}",', 1)
    facts.write_text(text, encoding="utf-8")
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    for host in report["hosts"]:
        if host["name"] == "ntp01":
            host["facts_digest"] = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    (run / "report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    REDACTOR.register(secret)
    with pytest.raises(BundleError, match=r"facts/ntp01\.json: holds a registered secret"):
        build_bundle(run, load_collector_key(lab.keys["kikan"]), "collector-kikan", 1, ledger_path=lab.ledger)
    assert not any(secret.encode() in data for data in bundle.values())


def test_export_cli_takes_increasing_sequences_and_checks_the_key(lab: Lab, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "collector-internet.key"
    key.write_bytes(lab.keys["internet"].read_bytes())
    key.chmod(0o600)
    args = ["export", str(lab.runs["internet"]), "--key", str(key), "--ledger", str(lab.ledger),
            "--collectors", str(lab.registry)]
    sequences = []
    for index in range(2):
        out = tmp_path / f"b{index}.tar"
        assert cli.main([*args, "--out", str(out)]) == 0, capsys.readouterr()
        sequences.append(json.loads(read_members(out.read_bytes())[MANIFEST])["sequence"])
    assert sequences == [1, 2]
    capsys.readouterr()
    wrong = [*args[:3], str(lab.keys["kikan"]), "--collector", "collector-internet", *args[4:]]
    assert cli.main([*wrong, "--out", str(tmp_path / "x.tar")]) == 1
    assert "not the key" in capsys.readouterr().err
    # A run whose audit entry is not in the ledger given: refused, nothing written.
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert cli.main([*args[:5], str(empty), "--out", str(tmp_path / "y.tar")]) == 1
    assert not (tmp_path / "y.tar").exists()


def test_a_stock_json_schema_validator_rechecks_a_facts_file(lab: Lab, tmp_path: Path) -> None:
    members = read_members(_bundle(lab, "kikan", tmp_path).read_bytes())
    folder = tmp_path / "x"
    for name, data in members.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    index = json.loads(members[FILLED_INDEX])
    checked = {"valid": 0, "invalid": 0}
    for host, entries in index.items():
        for requirement, entry in entries.items():
            if entry["project_keywords"]:
                continue
            schema = json.loads(members[entry["schema"]])
            valid = Draft202012Validator(schema).is_valid(json.loads(members[entry["facts"]]))
            assert valid == (entry["expect"] == "valid"), (host, requirement)
            checked[entry["expect"]] += 1
    assert checked["valid"]
    assert checked["invalid"]
    # The documented command (docs/evidence.md), once for a pass and once for a fail.
    for expect, code in (("valid", 0), ("invalid", 1)):
        entry = next(e for entries in index.values() for e in entries.values()
                     if e["expect"] == expect and not e["project_keywords"])
        run = subprocess.run([sys.executable, "-W", "ignore", "-m", "jsonschema", "-i", entry["facts"],
                              entry["schema"]], cwd=folder, capture_output=True, text=True, check=False)
        assert run.returncode == code, run.stdout + run.stderr


def test_merge_keeps_the_latest_run_of_each_zone(lab: Lab) -> None:
    kikan, internet = lab.report("kikan"), lab.report("internet")
    older = copy.deepcopy(kikan)
    older["run"]["id"] = "00000000-0000-4000-8000-000000000000"
    older["run"]["started_at"] = "2020-01-01T00:00:00+00:00"
    for finding in older["findings"]:  # an older picture of kikan: must not be what the city sees
        finding["message"] = {"ja": "古い", "en": "old"}
    merged = merge_reports([older, internet, kikan])
    validate_report(merged)
    assert older["run"]["id"] not in merged["run"]["selection"]["merged_runs"]
    assert not any(f["message"]["en"] == "old" for f in merged["findings"])
    assert merged["run"]["selection"]["zones"] == ["internet", "kikan"]
    with pytest.raises(ValueError, match="nothing to merge"):
        merge_reports([])


@pytest.mark.parametrize(("text", "where"), [
    ("collectors:\n  a:\n    public_key: nope\n    zones: [kikan]\n", "/collectors/a/public_key"),
    ("collectors:\n  a:\n    public_key: x\n    zones: []\n", "/collectors/a/zones"),
    ("collectors:\n  a:\n    zones: [kikan]\n    zones: [lgwan]\n", "/collectors/a/zones (line 4)"),
])
def test_a_bad_registry_names_the_file_and_the_place(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "collectors.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CollectorRegistryError) as error:
        load_collectors(path)
    assert error.value.file == str(path)
    assert error.value.where.startswith(where)


def test_the_lab_makes_the_demo_collectors_keys_and_their_registry(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "lab"))
    try:
        import labctl  # type: ignore[import-not-found,unused-ignore]
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(labctl, "COLLECTOR_KEYS_DIR", tmp_path / "keys")
    monkeypatch.setattr(labctl, "COLLECTORS_FILE", tmp_path / "collectors.yaml")
    registry = load_collectors(labctl.ensure_collector_keys())
    demo = load_collectors()  # inventory/collectors.yaml: same collectors and zones
    assert {n: c.zones for n, c in registry.collectors.items()} == {n: c.zones for n, c in demo.collectors.items()}
    for name, collector in registry.collectors.items():
        key = load_collector_key(tmp_path / "keys" / name)
        assert key.public_key().public_bytes_raw() == collector.public_key.public_bytes_raw()
    again = load_collectors(labctl.ensure_collector_keys())  # kept: the same keys the second time
    assert all(again.collectors[n].public_key.public_bytes_raw() == c.public_key.public_bytes_raw()
               for n, c in registry.collectors.items())
    root = Path(__file__).resolve().parents[3]
    assert not [p for d in ("inventory", "lab") for p in (root / d).rglob("collector-*")]  # no key committed


def test_export_a_history_ref_and_import_through_the_cli(lab: Lab, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    local = tmp_path / "collector.sqlite"
    report = lab.report("internet")
    open_history(local).record(report, out_dir=str(lab.runs["internet"]))
    key = tmp_path / "collector-internet.key"
    key.write_bytes(lab.keys["internet"].read_bytes())
    key.chmod(0o600)
    bundle = tmp_path / "b.tar"
    assert cli.main(["export", report["run"]["id"][:8], "--history", str(local), "--key", str(key),
                     "--ledger", str(lab.ledger), "--collectors", str(lab.registry), "--out", str(bundle)]) == 0
    assert json.loads(read_members(bundle.read_bytes())[MANIFEST])["run_id"] == report["run"]["id"]
    auditor = str(tmp_path / "auditor.sqlite")
    capsys.readouterr()
    assert cli.main(["import", str(bundle), "--history", auditor, "--collectors", str(lab.registry)]) == 0
    assert capsys.readouterr().out.startswith("取り込みました (imported)")
    assert cli.main(["import", str(bundle), "--history", auditor, "--collectors", str(lab.registry)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("取り込み拒否")
    assert any(line.startswith("report.json: 実行") and "再送" in line for line in err)
    assert [r["id"] for r in open_history(auditor).runs()] == [report["run"]["id"]]
