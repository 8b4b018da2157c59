"""The manual steps of a plan: per host, for each failing requirement no automated fix covers, what a person does
(a printer: its vendor's web-admin page and setting; an unknown vendor: the vendor-neutral step; otherwise the
catalog's remediation text), Japanese first, in the JSON plan and every rendering; the approval covers them."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.unit.changes.test_plan_show import plan_doc
from tests.unit.test_mfpchange import PROFILE

from hardening import cli
from hardening.changes.apply import verified_scope
from hardening.changes.approval import PlanModifiedError
from hardening.changes.custody import record_plan
from hardening.changes.ledger import Ledger
from hardening.changes.plan import MANUAL_NOTE, manual_steps, plan_digest, read_plan, write_plan
from hardening.changes.show import render_html, render_markdown, render_terminal
from hardening.core.catalog import load_catalog
from hardening.platforms.mfp import change as mfpchange
from hardening.platforms.mfp.change import MfpRemediator

ROOT = Path(__file__).resolve().parents[3]
CATALOG = load_catalog(ROOT / "schemas" / "requirements")
PARAMS = {"ntp_servers": ["10.0.0.1", "10.0.0.2"], "ntp_max_offset_ms": 1000}


class Printer(MfpRemediator):
    name = "mfp"


@pytest.fixture(autouse=True)
def test_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mfpchange, "profiles", lambda: {"testvendor": PROFILE})


def facts(vendor: str | None) -> dict[str, Any]:
    return {"host": "mfp1", "platform": "mfp", "device_class": "mfp",
            "facts": {"os": {"family": "mfp", "vendor": vendor}}}


def test_steps_come_from_the_vendor_then_the_neutral_data_then_the_catalog() -> None:
    own = manual_steps(Printer(), facts("testvendor"), CATALOG["TIME-SYNC"], PARAMS)
    assert own == {"requirement": "TIME-SYNC", "source": "platform", "note": MANUAL_NOTE,
                   "steps": {"ja": "テスト社の Test Admin: ［システム設定］→［日付/時刻］で SNTP サーバに 10.0.0.1, "
                                   "10.0.0.2 を設定する。",
                             "en": "TestVendor Test Admin: Under [System] > [Date/Time], set the SNTP server to "
                                   "10.0.0.1, 10.0.0.2."}}
    generic = manual_steps(Printer(), facts(None), CATALOG["TIME-SYNC"], PARAMS)
    assert generic["source"] == "platform"
    assert generic["steps"]["ja"] == ("機器の Web 管理画面の日付・時刻の設定で SNTP（NTP）による時刻合わせを有効にし、"
                                      "承認済み NTP サーバ（10.0.0.1, 10.0.0.2）を設定する。")
    # nothing in the platform's data for it: the catalog's text for the platform
    catalog = manual_steps(Printer(), facts(None), CATALOG["PW-LEN"], {"min_length": 8})
    assert catalog["source"] == "catalog"
    assert catalog["steps"]["ja"] == CATALOG["PW-LEN"].remediation_for("mfp")["ja"].replace("{min_length}", "8")
    # no facts (the host could not be collected): the catalog's text
    assert manual_steps(Printer(), None, CATALOG["TIME-SYNC"], PARAMS)["source"] == "catalog"
    assert "再監査" in MANUAL_NOTE["ja"]
    assert "attest" in MANUAL_NOTE["ja"]


def test_a_guide_that_fails_leaves_the_catalog_text() -> None:
    class Broken(Printer):
        def manual_steps(self, facts: Any, requirement: str) -> dict[str, str] | None:
            raise RuntimeError("boom")

    assert manual_steps(Broken(), facts("testvendor"), CATALOG["TIME-SYNC"], PARAMS)["source"] == "catalog"


def plan_with_steps() -> dict[str, Any]:
    plan = plan_doc()
    plan["format_version"] = "1.1"
    base = plan["hosts"]["zaimu-ap01"]
    for name, vendor in (("mfp-test-01", "testvendor"), ("mfp-generic-01", None)):
        entry = copy.deepcopy(base)
        entry.update(platform="mfp", fix=[], changes=[], manual=["TIME-SYNC"],
                     failing=[{"requirement": "TIME-SYNC", "clause": CATALOG["TIME-SYNC"].clause,
                               "title": CATALOG["TIME-SYNC"].title, "fix": "manual", "violations": []}],
                     manual_steps=[manual_steps(Printer(), facts(vendor), CATALOG["TIME-SYNC"], PARAMS)])
        plan["hosts"][name] = entry
    # the catalog may call a fix automated while this printer's vendor cannot write it: manual on this host
    plan["hosts"]["mfp-test-01"]["failing"][0]["fix"] = "automated"
    plan["summary"]["hosts"] = 4
    return plan


VENDOR_JA = "テスト社の Test Admin: ［システム設定］→［日付/時刻］で SNTP サーバに 10.0.0.1, 10.0.0.2 を設定する。"
GENERIC_JA = "機器の Web 管理画面の日付・時刻の設定で"


def test_the_plan_file_holds_the_steps_and_every_rendering_shows_them(tmp_path: Path) -> None:
    plan = plan_with_steps()
    write_plan(plan, tmp_path / "p.json")
    read = read_plan(tmp_path / "p.json")           # valid against plan.schema.json
    assert read["hosts"]["mfp-test-01"]["manual_steps"][0]["steps"]["ja"] == VENDOR_JA
    term, md, page = render_terminal(read, "ja"), render_markdown(read, "ja"), render_html(read, "ja")
    for text in (term, md, page):
        assert "手動対応の手順" in text
        assert "再監査" in text
        assert GENERIC_JA in text
    assert VENDOR_JA in term
    assert VENDOR_JA in page
    assert "［システム設定］→［日付/時刻］で SNTP サーバに 10.0.0.1, 10.0.0.2 を設定する。" in md
    sections = {part.split()[0]: part for part in term.split("== ")[1:]}   # per host
    assert VENDOR_JA in sections["mfp-test-01"]
    assert GENERIC_JA not in sections["mfp-test-01"]
    assert GENERIC_JA in sections["mfp-generic-01"]
    assert VENDOR_JA not in sections["mfp-generic-01"]
    assert "手動対応の手順" not in sections["jumin-ap02"]
    assert "TIME-SYNC" in sections["mfp-test-01"]
    assert "[手動対応が必要]" in sections["mfp-test-01"]
    assert "[自動是正]" in sections["jumin-ap02"]
    english = render_terminal(read, "en")
    assert "Manual steps" in english
    assert "Under [System] > [Date/Time]" in english
    assert "re-audit" in english
    # a step of host data cannot inject markup
    plan["hosts"]["mfp-test-01"]["manual_steps"][0]["steps"]["ja"] = "<script>x</script>"
    assert "<script>x" not in render_html(plan, "ja")


def test_a_step_not_in_the_schema_shape_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = plan_with_steps()
    plan["hosts"]["mfp-test-01"]["manual_steps"][0]["source"] = "hearsay"
    (tmp_path / "p.json").write_text(__import__("json").dumps(plan), encoding="utf-8")
    assert cli.main(["show", str(tmp_path / "p.json")]) == 1
    assert "/hosts/mfp-test-01/manual_steps/0/source" in capsys.readouterr().err


def test_approval_covers_the_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = plan_with_steps()
    path = tmp_path / "p.json"
    write_plan(plan, path)
    record_plan(Ledger(tmp_path / "ledger.jsonl"), plan, plan_digest(plan))
    key = tmp_path / "suzuki.key"
    shutil.copy(ROOT / "lab" / "keys" / "suzuki.key", key)
    key.chmod(0o600)
    monkeypatch.setenv("HARDENING_LEDGER", str(tmp_path / "ledger.jsonl"))
    registry = ROOT / "inventory" / "approvers.yaml"
    assert cli.main(["approve", str(path), "--approver", "suzuki", "--key", str(key),
                     "--approvers", str(registry)]) == 0
    approval = tmp_path / "p.approval-suzuki.json"
    scope, _ = verified_scope(read_plan(path), plan_digest(read_plan(path)), "yamada", [approval], registry)
    assert scope == {"jumin-ap02": ["PRIV-REMOTE-ROOT"], "zaimu-ap01": ["PRIV-REMOTE-ROOT"]}
    # an edited step is an edited plan: the approval no longer holds
    edited = read_plan(path)
    edited["hosts"]["mfp-test-01"]["manual_steps"][0]["steps"]["ja"] = "何もしなくてよい。"
    with pytest.raises(PlanModifiedError):
        verified_scope(edited, plan_digest(edited), "yamada", [approval], registry)


def test_every_real_vendor_profile_gives_its_own_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the shipped profiles.yaml (no test profile): each maker's step for each id it lists, prefixed with its
    web administration where the step is a menu path alone; an unknown maker the vendor-neutral step; and the
    catalog's mfp text only for an id neither has. No profile can write anything today: every fix is manual."""
    monkeypatch.undo()
    from hardening.platforms.mfp.profiles import profiles

    printer = Printer()
    assert profiles(), "no vendor profile shipped"
    for key, profile in profiles().items():
        assert printer.fixes_on(facts(key)) == frozenset()
        for rid, text in profile.manual_steps.items():
            entry = manual_steps(printer, facts(key), CATALOG[rid], PARAMS)
            assert entry["source"] == "platform"
            assert text["ja"].split("{")[0] in entry["steps"]["ja"]
            assert profile.product in entry["steps"]["ja"]
    ricoh = manual_steps(printer, facts("ricoh"), CATALOG["TIME-SYNC"], PARAMS)["steps"]["ja"]
    assert ricoh.startswith("リコーの Web Image Monitor: ")
    assert "日付/時刻" in ricoh
    unknown = manual_steps(printer, facts(None), CATALOG["PW-VENDOR-DEFAULT"], PARAMS)
    assert unknown["steps"]["ja"].startswith("機器の Web 管理画面に管理者でログインし")
    erase = manual_steps(printer, facts(None), CATALOG["MFP-ERASE"], PARAMS)
    assert erase["source"] == "catalog"
