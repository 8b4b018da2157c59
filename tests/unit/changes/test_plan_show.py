"""Plans: fingerprints ignore volatile facts, Ansible diffs map to requirements, reviewers can read them,
and `approve` records exactly the partial scope asked for."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from hardening import cli
from hardening.changes.approval import read_approval
from hardening.changes.custody import record_plan
from hardening.changes.ledger import Ledger
from hardening.changes.plan import fingerprint, plan_digest, read_plan, volatile_pointers, write_plan
from hardening.changes.show import render_html, render_markdown, render_terminal
from hardening.core.catalog import load_catalog
from hardening.engines.ansible import _changes

ROOT = Path(__file__).resolve().parents[3]
CATALOG = load_catalog(ROOT / "schemas" / "requirements")


def facts(offset: float, servers: list[str]) -> dict[str, Any]:
    return {"facts": {"time": {"ntp_servers": servers, "synchronized": True, "offset_ms_abs": offset,
                               "stratum": 3, "selected_source": servers[0]}}}


def test_fingerprint_ignores_volatile_facts_only() -> None:
    assert "/time/offset_ms_abs" in volatile_pointers()
    reqs = [CATALOG["TIME-SYNC"]]
    assert fingerprint(facts(0.1, ["10.0.0.1"]), reqs) == fingerprint(facts(9.9, ["10.0.0.1"]), reqs)
    assert fingerprint(facts(0.1, ["10.0.0.1"]), reqs) != fingerprint(facts(0.1, ["10.0.0.9"]), reqs)
    assert fingerprint(None, reqs) is None


def test_ansible_results_become_changes_per_requirement() -> None:
    res = {"changed": True, "results": [
        {"changed": True, "diff": [{"before_header": "/etc/ssh/sshd_config.d/50-sakado.conf (content)",
                                    "after_header": "/etc/ssh/sshd_config.d/50-sakado.conf (content)",
                                    "before": "PermitRootLogin yes\n", "after": "PermitRootLogin no\n"}]},
        {"changed": False, "diff": [{"before": "x", "after": "x"}]},
    ]}
    [change] = _changes("PRIV-REMOTE-ROOT", "PRIV-REMOTE-ROOT: root may not log in", res)
    assert change.target == "/etc/ssh/sshd_config.d/50-sakado.conf"
    assert "-PermitRootLogin yes" in change.diff
    assert "+PermitRootLogin no" in change.diff
    assert _changes("X-Y", "X-Y: nothing", {"changed": False, "diff": {"before": "a", "after": "b"}}) == []


def plan_doc() -> dict[str, Any]:
    return {
        "format_version": "1.0", "plan_id": "00000000-0000-4000-8000-000000000001",
        "created_at": "2026-11-26T10:00:00+09:00", "planned_by": "yamada", "site": {"name": "坂戸市"},
        "selection": {}, "inventory": "inventory", "catalog_digest": "sha256:" + "a" * 64,
        "report_digest": "sha256:" + "b" * 64,
        "summary": {"hosts": 2, "hosts_with_changes": 2, "changes": 2, "hosts_in_error": 0, "exit_code": 2},
        "hosts": {
            name: {"zone": zone, "system": "住民記録システム", "security_managers": ["市民課長"], "platform": "linux",
                   "fingerprint": "sha256:" + "c" * 64,
                   "failing": [{"requirement": "PRIV-REMOTE-ROOT", "clause": "第2章 6(2)①ウ(ア)",
                                "title": {"ja": "root の SSH 直接ログイン禁止", "en": "No direct root SSH login"},
                                "fix": "automated", "violations": []}],
                   "fix": ["PRIV-REMOTE-ROOT"], "manual": [],
                   "changes": [{"requirement": "PRIV-REMOTE-ROOT", "task": "PRIV-REMOTE-ROOT: set it",
                                "target": "/etc/ssh/sshd_config.d/50-sakado.conf",
                                "diff": "--- a\n+++ b\n-PermitRootLogin yes\n+PermitRootLogin no\n<script>\n"}],
                   "error": None}
            for name, zone in (("jumin-ap02", "kikan"), ("zaimu-ap01", "lgwan"))
        },
    }


def test_renderings_for_the_reviewer() -> None:
    plan = plan_doc()
    term = render_terminal(plan, "ja", color=True)
    assert "\033[32m+PermitRootLogin no" in term
    assert "第2章 1(7)①" in term
    md = render_markdown(plan, "ja")
    assert "```diff" in md
    assert "基幹系" in md
    page = render_html(plan, "en")
    assert "&lt;script&gt;" in page
    assert "<script>" not in page
    assert "Change plan" in page


def test_plan_file_round_trip_and_digest(tmp_path: Path) -> None:
    plan = plan_doc()
    write_plan(plan, tmp_path / "p.json")
    assert read_plan(tmp_path / "p.json") == plan
    assert plan_digest(plan) == plan_digest(json.loads((tmp_path / "p.json").read_text(encoding="utf-8")))
    plan["hosts"]["jumin-ap02"]["changes"][0]["diff"] += "+more\n"
    assert plan_digest(plan) != plan_digest(read_plan(tmp_path / "p.json"))


def test_partial_approval_records_only_what_was_approved(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    write_plan(plan_doc(), tmp_path / "p.json")
    record_plan(Ledger(tmp_path / "ledger.jsonl"), plan_doc(), plan_digest(plan_doc()))  # as `hardening plan` does
    key = tmp_path / "suzuki.key"
    shutil.copy(ROOT / "lab" / "keys" / "suzuki.key", key)
    key.chmod(0o600)
    monkeypatch.setenv("HARDENING_LEDGER", str(tmp_path / "ledger.jsonl"))
    code = cli.main(["approve", str(tmp_path / "p.json"), "--approver", "suzuki", "--key", str(key),
                     "-H", "zaimu-ap01", "--approvers", str(ROOT / "inventory" / "approvers.yaml")])
    assert code == 0
    record = read_approval(tmp_path / "p.approval-suzuki.json")
    assert record["scope"]["hosts"] == {"zaimu-ap01": ["PRIV-REMOTE-ROOT"]}
    ledger = [json.loads(x) for x in (tmp_path / "ledger.jsonl").read_text(encoding="utf-8").splitlines()]
    assert ledger[-1]["action"] == "approve"
    assert ledger[-1]["subject"]["partial"] is True


def test_invalid_plan_file_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = plan_doc()
    doc["hosts"]["jumin-ap02"]["zone"] = "moon"
    (tmp_path / "p.json").write_text(json.dumps(doc), encoding="utf-8")
    assert cli.main(["show", str(tmp_path / "p.json")]) == 1
    err = capsys.readouterr().err
    assert "p.json" in err
    assert "/hosts/jumin-ap02/zone" in err


def test_a_violation_only_a_person_can_repair_is_planned_as_manual() -> None:
    """PW-STORE-PROTECT: a weak login.defs method is fixable; an account already stored with a weak hash is not
    (its owner must set a new password), so a host failing only on that is manual, not a change nor an error."""
    from hardening.changes.plan import automatable

    requirement = CATALOG["PW-STORE-PROTECT"]
    accounts = {"pointer": "/accounts/password_storage/weak_hash_accounts", "keyword": "maxItems"}
    methods = {"pointer": "/accounts/password_storage/hash_methods/0/method", "keyword": "enum"}
    assert automatable(requirement, "linux", [accounts]) is False
    assert automatable(requirement, "linux", [methods]) is True
    assert automatable(requirement, "linux", [accounts, methods]) is True
    # a requirement without manual facts is automatable whatever fails; a manual fix never is
    assert automatable(CATALOG["PW-LEN"], "linux", [{"pointer": "/password_policy/min_length"}]) is True
    assert automatable(CATALOG["AV-SIG-CURRENT"], "linux", [{"pointer": "/antimalware/signature_age_days"}]) is False
    # a platform the catalog gives no automation is never fixed automatically, whatever linux can do
    assert automatable(CATALOG["PW-LEN"], "junos", [{"pointer": "/password_policy/min_length"}]) is False
    # a platform whose fix is manual (network devices: stored secrets) is never planned as a change
    assert automatable(requirement, "cisco_ios", [accounts]) is False
