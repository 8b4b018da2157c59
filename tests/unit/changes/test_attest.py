"""Attestations (issue 10 item 4): a `manual` finding becomes `pass` on a signed attestation by someone other than
the host's administrators, and `fail` once it expires; refusals write nothing; edited or forged records are ignored;
the evidence file's content appears nowhere, only its SHA-256.

The requirement is DISK-ENC with its Linux check turned to `check: manual` in a copy of the catalog (a hand-made
attestation-only requirement), on the demo's pc-shimin01 (linux_pc, zone kikan: administrators 基幹系システム担当).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import shutil
import types
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from hardening import audit, cli
from hardening.audit import load_inputs
from hardening.changes.approval import generate_keypair, load_registry
from hardening.changes.attest import AttestationRefused, read_attestations, record_attestation, sign_attestation
from hardening.changes.ledger import Ledger, entry_hash
from hardening.core.attestations import Attestation, Attestations
from hardening.core.evaluate import apply_attestation, evaluate_host
from hardening.core.inventory import load_inventory
from hardening.core.models import CollectResult, Finding, Status
from hardening.core.run import RunOptions
from hardening.core.scope import Selection
from hardening.core.secrets import SecretStore
from hardening.core.waivers import Waiver
from hardening.report import writers

ROOT = Path(__file__).resolve().parents[3]
REPORT_SCHEMA = json.loads((ROOT / "schemas" / "drift-report.schema.json").read_text(encoding="utf-8"))
FIXTURE_ROOT = ROOT / "tests" / "unit" / "linux" / "fixtures" / "dconf-locked"
HOST = "pc-shimin01"
REQ = "DISK-ENC"
CONTENT = "ERASURE-CERTIFICATE-CONTENT-7f3a9c: serial 4711, overwritten 3 passes"
NOW = dt.datetime(2026, 4, 1, 0, 30, tzinfo=dt.UTC)
TODAY = NOW.astimezone().date()
EXPIRES = dt.date(2026, 9, 30)


@dataclasses.dataclass
class Site:
    inventory: Path
    catalog: Path
    keys: Path
    ledger: Path
    evidence: Path
    out: Path

    @property
    def registry(self) -> Path:
        return self.inventory / "approvers.yaml"

    def inputs(self) -> Any:
        return load_inputs(self.inventory, self.catalog)

    def key(self, name: str) -> Path:
        return self.keys / f"{name}.key"


def _registry(path: Path, keys: Path, names: list[str]) -> None:
    lines = ["approvers:"]
    for name in names:
        public = (keys / f"{name}.pub").read_text(encoding="utf-8").strip()
        lines += [f"  {name}:", f'    public_key: "{public}"', "    title: 監査担当", '    may_approve: ["*"]']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path) -> Site:
    inventory = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory", inventory)
    hosts = yaml.safe_load((inventory / "hosts.yaml").read_text(encoding="utf-8"))
    # yamada runs pc-shimin02 (written as the full-width ＹＡＭＡＤＡ: the same person once normalised);
    # web01 lists nobody, so separation of duties cannot be shown there.
    hosts["pc-shimin02"]["data"]["administrators"] = ["ＹＡＭＡＤＡ"]
    hosts["web01"]["data"]["administrators"] = []
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    keys = tmp_path / "keys"
    for name in ("kato", "yamada", "outsider"):
        generate_keypair(name, keys)
    _registry(inventory / "approvers.yaml", keys, ["kato", "yamada"])  # outsider is nobody in the registry
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "schemas" / "requirements", catalog)
    document = json.loads((catalog / f"{REQ}.json").read_text(encoding="utf-8"))
    document["x-hardening"]["platforms"]["linux"]["automation"] = {"check": "manual", "fix": "manual"}
    (catalog / f"{REQ}.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    evidence = tmp_path / "erasure-certificate.pdf"
    evidence.write_text(CONTENT, encoding="utf-8")
    return Site(inventory, catalog, keys, tmp_path / "ledger.jsonl", evidence, tmp_path / "out")


SHA = "sha256:" + hashlib.sha256(CONTENT.encode("utf-8")).hexdigest()


def _attest(site: Site, host: str = HOST, requirement: str = REQ, *, key: str = "kato",
            expires: dt.date = EXPIRES, now: dt.datetime = NOW) -> dict[str, Any]:
    inputs = site.inputs()
    record = sign_attestation(host=inputs.inventory.hosts[host], requirement=inputs.catalog[requirement],
                              evidence=site.evidence, expires=expires, key_path=site.key(key),
                              registry=load_registry(site.registry), statement="HDD 消去証明書を確認した", now=now)
    return record_attestation(Ledger(site.ledger), record)


def _audit(site: Site, today: dt.date, *requirements: str) -> dict[str, Any]:
    """An offline audit of pc-shimin01 (its saved file tree), with the ledger's attestations, on `today`."""
    captures = site.out.parent / "captures"
    if not captures.exists():
        shutil.copytree(FIXTURE_ROOT, captures / HOST / "root", symlinks=True)
    inputs = site.inputs()
    inputs = dataclasses.replace(inputs, attestations=read_attestations(
        Ledger(site.ledger), site.registry, inputs.inventory.hosts, inputs.catalog))
    selection = Selection(hosts=[HOST], requirements=list(requirements))
    report, _ = audit.run_audit(inputs, selection, SecretStore(), RunOptions.ssh(workers=1), today=today,
                                offline_from=captures)
    assert list(Draft202012Validator(REPORT_SCHEMA).iter_errors(report)) == []
    writers.validate_report(report)
    return report


def _finding(report: dict[str, Any], requirement: str = REQ) -> dict[str, Any]:
    return next(f for f in report["findings"] if f["requirement"] == requirement)


def _render_all(report: dict[str, Any], directory: Path) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    writers.write_json(report, directory / "report.json")
    writers.write_html(report, directory / "report.html")
    writers.write_junit(report, directory / "junit.xml")
    writers.write_csv(report, directory / "report.csv")
    texts = {name: (directory / name).read_text(encoding="utf-8-sig")
             for name in ("report.json", "report.html", "junit.xml", "report.csv")}
    texts["terminal"] = writers.terminal_summary(report)
    return texts


# -- the lifecycle --------------------------------------------------------------------------------------------------


def test_manual_then_attested_pass_then_expired_fail(site: Site) -> None:
    first = _audit(site, TODAY)
    before = _finding(first)
    assert (before["status"], before["evaluated_status"], before["attestation"]) == ("manual", "manual", None)

    entry = _attest(site)
    assert entry["action"] == "attest"
    assert entry["actor"] == "kato"
    assert entry["subject"]["evidence_sha256"] == SHA
    assert entry["subject"]["evidence_name"] == "erasure-certificate.pdf"
    assert entry["subject"]["evidence_bytes"] == len(CONTENT.encode("utf-8"))
    assert entry["subject"]["attested_at"] == "2026-04-01T00:30:00+00:00"

    report = _audit(site, TODAY)
    attested = _finding(report)
    assert attested["status"] == "pass"
    assert attested["evaluated_status"] == "manual"  # attested, not measured
    assert attested["attestation"] == {
        "ledger_seq": entry["seq"], "attester": "kato", "attested_at": "2026-04-01T00:30:00+00:00",
        "evidence_sha256": SHA, "evidence_name": "erasure-certificate.pdf", "expires": "2026-09-30",
        "expired": False, "statement": "HDD 消去証明書を確認した"}
    assert "証跡による確認で適合" in attested["message"]["ja"]
    assert "attested" in attested["message"]["en"]
    assert report["summary"]["attested"] == {"valid": 1, "expired": 0}
    # counted as a pass (one more than before, one manual fewer), and shown as attested
    assert report["summary"]["findings"]["pass"] == first["summary"]["findings"]["pass"] + 1
    assert report["summary"]["findings"]["manual"] == first["summary"]["findings"]["manual"] - 1
    assert report["run"]["attestations"]["verified"] == 1
    assert report["run"]["attestations"]["error"] is None

    texts = _render_all(report, site.out / "attested")
    hexdigits = SHA.removeprefix("sha256:")
    for name, text in texts.items():
        assert hexdigits in text, name
        assert CONTENT not in text, name
        assert "7f3a9c" not in text, name
    assert "証跡による確認" in texts["report.html"]
    assert "kato" in texts["report.html"]
    assert "2026-09-30" in texts["report.html"]
    assert "証跡による確認" in texts["terminal"]
    case = _junit_case(texts["junit.xml"], REQ)
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["attestation.evidence_sha256"] == SHA
    assert properties["attestation.attester"] == "kato"
    assert properties["attestation.expired"] == "false"
    assert case.find("failure") is None
    assert case.find("skipped") is None

    later = _audit(site, EXPIRES + dt.timedelta(days=1))  # the clock moved past the expiry
    expired = _finding(later)
    assert expired["status"] == "fail"
    assert expired["evaluated_status"] == "manual"
    assert expired["attestation"]["expired"] is True
    assert "2026-09-30" in expired["message"]["ja"]
    assert "2026-09-30" in expired["message"]["en"]
    assert "期限" in expired["message"]["ja"]
    assert "expired" in expired["message"]["en"]
    assert later["summary"]["attested"] == {"valid": 0, "expired": 1}
    assert _audit(site, EXPIRES + dt.timedelta(days=1), REQ)["summary"]["exit_code"] == 2  # drift
    assert _audit(site, EXPIRES, REQ)["summary"]["exit_code"] == 0
    texts = _render_all(later, site.out / "expired")
    assert "期限切れ" in texts["report.html"]
    assert "期限切れ" in texts["terminal"]
    assert _junit_case(texts["junit.xml"], REQ).find("failure") is not None
    on_last_day = _finding(_audit(site, EXPIRES))
    assert on_last_day["status"] == "pass"  # valid through its expiry day, like a waiver
    assert CONTENT not in site.ledger.read_text(encoding="utf-8")


def _junit_case(text: str, requirement: str) -> ET.Element:
    root = ET.fromstring(text.encode("utf-8"))  # noqa: S314 - our own file
    return next(c for c in root.iter("testcase") if c.get("name", "").startswith(requirement + " "))


# -- refusals: exit 1, one line, nothing written ---------------------------------------------------------------------


def _cli_attest(site: Site, *extra: str, host: str = HOST, requirement: str = REQ, key: str = "kato",
                expires: str | None = None, evidence: Path | None = None) -> list[str]:
    return ["attest", "-i", str(site.inventory), "--catalog", str(site.catalog), "--ledger", str(site.ledger),
            "--host", host, "--requirement", requirement, "--evidence", str(evidence or site.evidence),
            "--expires", expires or (dt.date.today() + dt.timedelta(days=90)).isoformat(),
            "--key", str(site.key(key)), *extra]


@pytest.mark.parametrize(("change", "expected"), [
    ({"host": "pc-shimin02", "key": "yamada"}, "yamada is an administrator of pc-shimin02"),
    ({"host": "web01", "requirement": "PW-LEN"},
     "separation of duties cannot be shown: inventory lists no administrators for web01"),
    ({"host": "no-such-host"}, "unknown host"),
    ({"requirement": "NO-SUCH-REQ"}, "unknown requirement"),
    ({"host": "ntp01"}, "DISK-ENC does not apply to ntp01"),  # a linux_server: DISK-ENC is for PCs
    ({"expires": "2020-01-01"}, "the expiry must be in the future"),
    ({"expires": "today"}, "the expiry must be in the future"),
    ({"expires": "2026-02-30"}, "not a date"),
    ({"evidence": Path("/nonexistent/cert.pdf")}, "evidence file not found"),
    ({"key": "outsider"}, "not the key of any person in"),
])
def test_refusals_write_nothing(site: Site, capsys: pytest.CaptureFixture[str], change: dict[str, Any],
                                expected: str) -> None:
    if change.get("expires") == "today":
        change = {**change, "expires": dt.date.today().isoformat()}
    code = cli.main(_cli_attest(site, **change))
    err = capsys.readouterr().err
    assert code == 1
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert not site.ledger.exists()


def test_evidence_that_is_a_directory_or_unreadable_is_refused(site: Site, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(_cli_attest(site, evidence=tmp_path)) == 1
    assert "not a regular file" in capsys.readouterr().err
    assert not site.ledger.exists()


def test_administrator_names_compare_like_approver_names(site: Site) -> None:
    with pytest.raises(AttestationRefused, match="administrator of pc-shimin02"):
        _attest(site, "pc-shimin02", key="yamada")
    assert not site.ledger.exists()
    # kato is nobody's administrator: may attest the same host
    assert _attest(site, "pc-shimin02")["subject"]["attester"] == "kato"


def test_a_statement_holding_a_registered_secret_is_refused(site: Site) -> None:
    from hardening.core.errors import InputError
    from hardening.core.secrets import REDACTOR

    REDACTOR.register("hunter2-vault-password")
    inputs = site.inputs()
    with pytest.raises(InputError, match="secret"):
        sign_attestation(host=inputs.inventory.hosts[HOST], requirement=inputs.catalog[REQ], evidence=site.evidence,
                         expires=EXPIRES, key_path=site.key("kato"), registry=load_registry(site.registry),
                         statement="password hunter2-vault-password", now=NOW)


# -- records that are edited or forged -------------------------------------------------------------------------------


def test_an_edited_ledger_entry_breaks_the_chain_and_every_attestation_is_ignored(site: Site) -> None:
    _attest(site)
    lines = site.ledger.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[0])
    entry["subject"]["expires"] = "2099-12-31"  # stretch it, hash left as it was
    site.ledger.write_text(json.dumps(entry, ensure_ascii=False) + "\n", encoding="utf-8")
    report = _audit(site, TODAY)
    finding = _finding(report)
    assert (finding["status"], finding["attestation"]) == ("manual", None)
    assert "the ledger does not verify" in report["run"]["attestations"]["error"]
    assert report["summary"]["exit_code"] == 1  # what the attestations would decide is unknown
    texts = _render_all(report, site.out / "tampered")
    assert "the ledger does not verify" in texts["report.html"]
    assert "the ledger does not verify" in texts["terminal"]


def _append_raw(site: Site, actor: str, subject: dict[str, Any]) -> dict[str, Any]:
    """What someone who can write the ledger file can do: append a well-chained entry of their own."""
    return Ledger(site.ledger).append(actor, "attest", subject)


def test_a_forged_or_edited_signature_is_ignored_and_named(site: Site) -> None:
    good = _attest(site)
    edited = {**good["subject"], "expires": "2099-12-31"}  # re-recorded with a longer expiry: signature now wrong
    forged_entry = _append_raw(site, "kato", edited)
    outsider = {**good["subject"], "attester": "yamada"}  # kato's signature under yamada's name
    third = _append_raw(site, "yamada", outsider)
    assert Ledger(site.ledger).verify().ok  # the chain itself is intact: only the signatures tell
    report = _audit(site, dt.date(2030, 1, 1))  # past the genuine expiry, before the forged one
    finding = _finding(report)
    assert finding["status"] == "fail"
    assert finding["attestation"]["ledger_seq"] == good["seq"]
    warnings = report["run"]["attestations"]["warnings"]
    assert len(warnings) == 2
    assert f"ledger seq {forged_entry['seq']}" in warnings[0]
    assert "does not verify" in warnings[0]
    assert f"ledger seq {third['seq']}" in warnings[1]
    assert report["run"]["attestations"]["verified"] == 1
    html = _render_all(report, site.out / "forged")["report.html"]
    assert f"ledger seq {forged_entry['seq']}" in html


def test_an_entry_whose_actor_is_not_the_signer_is_ignored(site: Site) -> None:
    good = _attest(site)
    _append_raw(site, "yamada", good["subject"])  # kato's genuine record, replayed as yamada's entry
    found = _read(site)
    assert [a.ledger_seq for a in found.records] == [good["seq"]]
    assert "recorded by 'yamada', signed by 'kato'" in found.warnings[0]


def test_an_attester_who_became_an_administrator_is_ignored(site: Site) -> None:
    _attest(site)
    hosts = yaml.safe_load((site.inventory / "hosts.yaml").read_text(encoding="utf-8"))
    hosts[HOST]["data"]["administrators"] = ["kato"]
    (site.inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    found = _read(site)
    assert found.records == ()
    assert "now an administrator of pc-shimin01" in found.warnings[0]


def _read(site: Site) -> Attestations:
    inputs = site.inputs()
    return read_attestations(Ledger(site.ledger), site.registry, inputs.inventory.hosts, inputs.catalog)


def test_no_ledger_means_no_attestations_and_no_error(site: Site) -> None:
    found = _read(site)
    assert (found.records, found.error, found.source) == ((), None, str(site.ledger))


# -- evaluation rules --------------------------------------------------------------------------------------------------


def _record(seq: int, expires: dt.date, host: str = HOST, requirement: str = REQ) -> Attestation:
    return Attestation(seq, host, requirement, "kato", "2026-04-01T00:30:00+00:00", SHA, "cert.pdf", 10, expires)


def _manual(status: Status = Status.MANUAL) -> Finding:
    return Finding(HOST, REQ, status, status, {"ja": "…", "en": "…"})


def test_the_newest_valid_attestation_wins() -> None:
    found = Attestations((_record(3, dt.date(2026, 12, 31)), _record(7, dt.date(2026, 6, 30)),
                          _record(5, dt.date(2026, 5, 1))), "ledger")
    assert apply_attestation(_manual(), found, dt.date(2026, 4, 1)).attestation.ledger_seq == 7  # type: ignore[union-attr]
    # after seq 7 expired, seq 3 still holds: each holds until its own expiry
    later = apply_attestation(_manual(), found, dt.date(2026, 7, 1))
    assert (later.status, later.attestation.ledger_seq) == (Status.PASS, 3)  # type: ignore[union-attr]
    # all expired: the newest of them fails the finding
    gone = apply_attestation(_manual(), found, dt.date(2027, 1, 1))
    assert (gone.status, gone.attestation.ledger_seq, gone.attestation.expired) == (Status.FAIL, 7, True)  # type: ignore[union-attr]


@pytest.mark.parametrize("status", [Status.FAIL, Status.ERROR, Status.PASS, Status.NOT_APPLICABLE])
def test_an_attestation_never_changes_a_measured_finding(status: Status) -> None:
    found = Attestations((_record(1, dt.date(2026, 12, 31)),), "ledger")
    finding = apply_attestation(_manual(status), found, dt.date(2026, 4, 1))
    assert (finding.status, finding.attestation) == (status, None)


def test_waivers_act_after_attestations(site: Site) -> None:
    """An attestation is evidence, a waiver an exception: an expired attestation fails the finding, and an active
    waiver may then cover that failure; a valid attestation passes and the waiver is only noted."""
    inventory = load_inventory(site.inventory)
    inputs = site.inputs()
    host = inventory.hosts[HOST]
    result = CollectResult(HOST, {"facts": {}}, None, None, 0.1)
    waiver = Waiver("W-1", (HOST,), (REQ,), "機器更新まで", "suzuki", dt.date(2027, 3, 31))
    found = Attestations((_record(1, dt.date(2026, 6, 30)),), "ledger")
    requirement = [inputs.catalog[REQ]]
    valid = evaluate_host(host, result, requirement, inventory.parameters, [waiver], dt.date(2026, 5, 1), found)[0]
    assert (valid.status, valid.evaluated_status, valid.waiver is not None) == (Status.PASS, Status.MANUAL, True)
    expired = evaluate_host(host, result, requirement, inventory.parameters, [waiver], dt.date(2026, 7, 1), found)[0]
    assert (expired.status, expired.evaluated_status) == (Status.WAIVED, Status.MANUAL)
    assert expired.attestation is not None
    assert expired.attestation.expired
    # without an attestation a waiver leaves a manual finding alone (nothing failed)
    plain = evaluate_host(host, result, requirement, inventory.parameters, [waiver], dt.date(2026, 7, 1))[0]
    assert plain.status == Status.MANUAL


def test_the_report_refuses_an_attestation_on_a_measured_finding(site: Site) -> None:
    _attest(site)
    report = _audit(site, TODAY)
    broken = json.loads(json.dumps(report))
    other = next(f for f in broken["findings"] if f["evaluated_status"] == "pass")
    other["attestation"] = _finding(broken)["attestation"]
    with pytest.raises(writers.ReportError, match="attestations decide manual findings only"):
        writers.validate_report(broken)
    miscounted = json.loads(json.dumps(report))
    miscounted["summary"]["attested"]["valid"] = 0
    with pytest.raises(writers.ReportError, match="summary/attested"):
        writers.validate_report(miscounted)


# -- inventory ---------------------------------------------------------------------------------------------------------


def test_administrators_merge_like_other_host_data(site: Site) -> None:
    hosts = load_inventory(site.inventory).hosts
    assert hosts[HOST].administrators == ("基幹系システム担当",)  # from group kikan
    assert hosts["pc-shimin02"].administrators == ("ＹＡＭＡＤＡ",)  # the host's own wins
    assert hosts["web01"].administrators == ()
    demo = load_inventory(ROOT / "inventory").hosts
    assert all(h.administrators for h in demo.values())  # every demo host can be attested


def test_administrators_must_be_a_list_of_names(site: Site) -> None:
    from hardening.core.errors import InventoryError

    hosts = yaml.safe_load((site.inventory / "hosts.yaml").read_text(encoding="utf-8"))
    hosts[HOST]["data"]["administrators"] = "kato"
    (site.inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InventoryError, match="administrators"):
        load_inventory(site.inventory)


# -- the command line ----------------------------------------------------------------------------------------------


def _cli_audit(site: Site, captures: Path, out: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(["audit", "-i", str(site.inventory), "--catalog", str(site.catalog), "--from", str(captures),
                     "-H", HOST, "-r", REQ, "--out", str(site.out / out), "--no-progress",
                     "--ledger", str(site.ledger)])
    return code, json.loads((site.out / out / "report.json").read_text(encoding="utf-8"))


class _Clock(dt.datetime):
    """A clock moved forward: what `now` the audit sees."""

    moved_to = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _Clock:  # type: ignore[override]
        moment = cls.moved_to if tz is None else cls.moved_to.astimezone(tz)
        return cls.fromtimestamp(moment.timestamp(), tz)


def test_cli_attest_then_audit_from_a_capture(site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    captures = tmp_path / "captures"
    shutil.copytree(FIXTURE_ROOT, captures / HOST / "root", symlinks=True)
    _, before = _cli_audit(site, captures, "before")
    assert _finding(before)["status"] == "manual"

    expires = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert cli.main(_cli_attest(site, "--statement", "消去証明書を確認", expires=expires)) == 0
    said = capsys.readouterr()
    assert SHA in said.out
    assert CONTENT not in said.out + said.err

    code, after = _cli_audit(site, captures, "after")
    finding = _finding(after)
    assert finding["status"] == "pass"
    assert finding["attestation"]["evidence_sha256"] == SHA
    assert finding["attestation"]["expires"] == expires
    out = capsys.readouterr().out
    assert SHA in out  # the terminal summary names the evidence hash
    for name in ("report.json", "report.html", "junit.xml", "report.csv"):
        text = (site.out / "after" / name).read_text(encoding="utf-8-sig")
        assert SHA.removeprefix("sha256:") in text
        assert CONTENT not in text

    assert cli.main(["attest", "list", "-i", str(site.inventory), "--catalog", str(site.catalog),
                     "--ledger", str(site.ledger)]) == 0
    listed = capsys.readouterr().out
    assert "有効 (valid)" in listed
    assert HOST in listed
    assert SHA in listed

    monkeypatch.setattr(audit, "dt", types.SimpleNamespace(datetime=_Clock, UTC=dt.UTC, date=dt.date))
    code, later = _cli_audit(site, captures, "later")
    assert code == 2
    assert _finding(later)["status"] == "fail"
    assert _finding(later)["attestation"]["expired"]
    ledger_text = site.ledger.read_text(encoding="utf-8")
    assert CONTENT not in ledger_text
    for path in (site.out).rglob("*"):
        if path.is_file():
            assert CONTENT not in path.read_text(encoding="utf-8", errors="replace"), path


def test_cli_list_marks_expired_and_invalid(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    good = _attest(site, expires=dt.date.today() - dt.timedelta(days=1),
                   now=dt.datetime.now(dt.UTC) - dt.timedelta(days=10))
    _append_raw(site, "kato", {**good["subject"], "statement": "edited"})
    assert cli.main(["attestations", "-i", str(site.inventory), "--catalog", str(site.catalog),
                     "--ledger", str(site.ledger)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "期限切れ (expired)" in lines[0]
    assert "無効 (invalid" in lines[1]
    assert "does not verify" in lines[1]


def test_cli_list_refuses_a_ledger_that_does_not_verify(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    _attest(site)
    entry = json.loads(site.ledger.read_text(encoding="utf-8"))
    entry["subject"]["host"] = "pc-shimin02"
    assert entry_hash(entry) != entry["hash"]
    site.ledger.write_text(json.dumps(entry, ensure_ascii=False) + "\n", encoding="utf-8")
    assert cli.main(["attest", "list", "-i", str(site.inventory), "--catalog", str(site.catalog),
                     "--ledger", str(site.ledger)]) == 1
    assert "hash" in capsys.readouterr().err


def test_plan_lists_an_expired_attestation_as_manual_work(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """`hardening plan` evaluates with the attestations too: attested, nothing to do; expired, a manual item."""
    from hardening.changes.plan import make_plan
    from hardening.platforms.linux import probe

    def collect(hosts: list[Any], *args: object, **kwargs: object) -> dict[str, CollectResult]:
        document = probe.collect(str(FIXTURE_ROOT), now=NOW.timestamp(), commands=False)
        return {h.name: CollectResult(h.name, {**document, "host": h.name, "device_class": h.device_class,
                                               "platform": h.platform}, None, None, 0.1) for h in hosts}

    monkeypatch.setattr(audit, "collect_all", collect)
    _attest(site, expires=dt.date.today() + dt.timedelta(days=2), now=dt.datetime.now(dt.UTC))
    inputs = site.inputs()
    inputs = dataclasses.replace(inputs, attestations=_read(site))
    selection = Selection(hosts=[HOST], requirements=[REQ])
    plan, report = make_plan(inputs, selection, SecretStore(), RunOptions.ssh(workers=1))
    assert _finding(report)["status"] == "pass"
    assert plan["hosts"][HOST]["failing"] == []
    monkeypatch.setattr(audit, "dt", types.SimpleNamespace(datetime=_Clock, UTC=dt.UTC, date=dt.date))
    plan, report = make_plan(inputs, selection, SecretStore(), RunOptions.ssh(workers=1))
    assert _finding(report)["status"] == "fail"
    assert plan["hosts"][HOST]["manual"] == [REQ]
    assert plan["hosts"][HOST]["changes"] == []


def test_cli_attest_refuses_a_ledger_that_does_not_verify(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    _attest(site)
    entry = json.loads(site.ledger.read_text(encoding="utf-8"))
    entry["subject"]["statement"] = "edited"
    broken = json.dumps(entry, ensure_ascii=False) + "\n"
    site.ledger.write_text(broken, encoding="utf-8")
    assert cli.main(_cli_attest(site)) == 1
    assert "does not match its hash" in capsys.readouterr().err
    assert site.ledger.read_text(encoding="utf-8") == broken  # nothing appended


def test_a_signed_record_with_an_impossible_date_is_ignored(site: Site) -> None:
    import base64

    from hardening.changes.approval import load_private_key, signed_bytes

    good = _attest(site)
    body = {k: v for k, v in good["subject"].items() if k != "signature"}
    body["expires"] = "2026-02-30"  # matches the pattern, is no day: signed by hand, not by `hardening attest`
    signature = load_private_key(site.key("kato")).sign(signed_bytes(body))
    _append_raw(site, "kato", {**body, "signature": base64.b64encode(signature).decode("ascii")})
    found = _read(site)
    assert [a.ledger_seq for a in found.records] == [good["seq"]]
    assert "/expires: '2026-02-30' is not a 'date'" in found.warnings[0]


def test_cli_attest_with_a_passphrase_file(site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate_keypair("ito", site.keys, passphrase="ito-key-passphrase-93")  # noqa: S106 - a test key
    _registry(site.registry, site.keys, ["kato", "yamada", "ito"])
    wrong = tmp_path / "wrong"
    wrong.write_text("not-it\n", encoding="utf-8")
    assert cli.main(_cli_attest(site, "--passphrase-file", str(wrong), key="ito")) == 1
    assert "wrong passphrase" in capsys.readouterr().err
    assert not site.ledger.exists()
    right = tmp_path / "right"
    right.write_text("ito-key-passphrase-93\n", encoding="utf-8")
    assert cli.main(_cli_attest(site, "--passphrase-file", str(right), key="ito")) == 0
    entry = json.loads(site.ledger.read_text(encoding="utf-8"))
    assert entry["subject"]["attester"] == "ito"
    assert "ito-key-passphrase-93" not in site.ledger.read_text(encoding="utf-8") + capsys.readouterr().out
