"""Change control cannot be walked around: the planner is bound to the plan digest through the ledger, the ledger
is checked (and the start recorded) before any host is touched, one apply at a time per plan and per host, an
approval is used once, and plan/approval/result files are written atomically with mode 0600.

Host access is replaced by a stub of `collect_all` that records what the ledger held when it was called: the
stages after it are the lab tests' business (tests/lab/test_change_control.py).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.unit.changes.test_plan_show import plan_doc

from hardening import cli
from hardening.audit import catalog_digest
from hardening.changes.approval import normalise_name, sign_approval, write_approval
from hardening.changes.ledger import Ledger
from hardening.changes.plan import plan_digest, write_plan
from hardening.core.errors import OutputError
from hardening.core.models import CollectResult

ROOT = Path(__file__).resolve().parents[3]
REGISTRY = ROOT / "inventory" / "approvers.yaml"


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A fresh plan by yamada, recorded in the ledger as `hardening plan` records it, and suzuki's key."""
    ledger = tmp_path / "state" / "ledger.jsonl"
    ledger.parent.mkdir()
    monkeypatch.setenv("HARDENING_LEDGER", str(ledger))
    monkeypatch.setenv("HARDENING_OPERATOR", "yamada")
    monkeypatch.delenv("HARDENING_APPROVER_PASSPHRASE", raising=False)
    plan = plan_doc()
    plan["catalog_digest"] = catalog_digest(ROOT / "schemas" / "requirements")
    plan["created_at"] = dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")
    path = tmp_path / "plans" / "p.json"
    write_plan(plan, path)
    Ledger(ledger).append("yamada", "plan", {"plan_id": plan["plan_id"], "plan_digest": plan_digest(plan)})
    key = tmp_path / "suzuki.key"
    shutil.copy(ROOT / "lab" / "keys" / "suzuki.key", key)
    key.chmod(0o600)
    calls: list[list[dict[str, Any]]] = []

    def collect_stub(hosts: list[Any], *_: Any, **__: Any) -> dict[str, CollectResult]:
        calls.append([json.loads(line) for line in ledger.read_text(encoding="utf-8").splitlines()])
        return {h.name: CollectResult(h.name, None, "test stub: not collected", "DeviceUnreachable", 0.0)
                for h in hosts}

    monkeypatch.setattr("hardening.changes.apply.collect_all", collect_stub)
    return {"plan": plan, "path": path, "ledger": ledger, "key": key, "calls": calls, "tmp": tmp_path}


def approve(desk: dict[str, Any], approver: str = "suzuki", plan: Path | None = None) -> int:
    return cli.main(["approve", str(plan or desk["path"]), "--approver", approver, "--key", str(desk["key"]),
                     "--approvers", str(REGISTRY)])


def apply(desk: dict[str, Any], plan: Path | None = None, *extra: str) -> int:
    return cli.main(["apply", str(plan or desk["path"]), "--approvers", str(REGISTRY), "--no-progress", *extra])


def entries(desk: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in desk["ledger"].read_text(encoding="utf-8").splitlines()]


def forge_approval(desk: dict[str, Any], plan: dict[str, Any], path: Path) -> None:
    """What an insider with suzuki's key can do without `hardening approve`: sign whatever the file says."""
    record = sign_approval(plan_digest(plan), plan["plan_id"], plan["planned_by"], "suzuki", desk["key"],
                           {h: e["fix"] for h, e in plan["hosts"].items()})
    write_approval(record, path.with_name(f"{path.stem}.approval-suzuki.json"))


# -- 1. the planner is bound to the plan digest -------------------------------------------------------------------


def test_names_compare_without_format_characters() -> None:
    for disguised in ("suz\u200buki", "\ufeffSuzuki", "su\u00adzuki", "suzu\u2060ki", "ｓｕｚｕｋｉ", "SUZUKI\u200d"):
        assert normalise_name(disguised) == normalise_name("suzuki"), repr(disguised)
    assert normalise_name("suzuki") != normalise_name("suzuka")


def test_recorded_planner_cannot_approve_after_editing_planned_by(desk: dict[str, Any],
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # suzuki plans (the ledger says so), then rewrites planned_by and approves his own change.
    monkeypatch.setenv("HARDENING_OPERATOR", "suzuki")
    plan = dict(desk["plan"], plan_id="00000000-0000-4000-8000-0000000000aa", planned_by="suzuki")
    path = desk["tmp"] / "plans" / "own.json"
    write_plan(plan, path)
    Ledger(desk["ledger"]).append("suzuki", "plan", {"plan_id": plan["plan_id"], "plan_digest": plan_digest(plan)})
    edited = dict(plan, planned_by="yamada")
    write_plan(edited, path)
    assert approve(desk, plan=path) == 1
    err = capsys.readouterr().err
    assert "suzuki" in err
    assert not list(path.parent.glob("own.approval*"))


def test_recorded_planner_disguised_by_format_characters_cannot_approve(desk: dict[str, Any],
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    plan = dict(desk["plan"], plan_id="00000000-0000-4000-8000-0000000000ab", planned_by="suz\u200buki")
    path = desk["tmp"] / "plans" / "zw.json"
    write_plan(plan, path)
    Ledger(desk["ledger"]).append("suz\u200buki", "plan", {"plan_id": plan["plan_id"],
                                                          "plan_digest": plan_digest(plan)})
    assert approve(desk, plan=path) == 1
    assert "第2章 1(7)①" in capsys.readouterr().err


def test_apply_refuses_a_plan_whose_planner_is_not_the_recorded_one(desk: dict[str, Any],
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # planned_by edited, approval signed over the edited file (digest recomputed by signing it): apply refuses.
    edited = dict(desk["plan"], planned_by="tanaka")
    write_plan(edited, desk["path"])
    forge_approval(desk, edited, desk["path"])
    assert apply(desk) == 1
    err = capsys.readouterr().err
    assert "ledger" in err
    assert desk["calls"] == []  # no host contacted


def test_plan_never_recorded_in_the_ledger_is_refused(desk: dict[str, Any],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    plan = dict(desk["plan"], plan_id="00000000-0000-4000-8000-0000000000ac")
    path = desk["tmp"] / "plans" / "unrecorded.json"
    write_plan(plan, path)
    assert approve(desk, plan=path) == 1
    assert "ledger" in capsys.readouterr().err
    forge_approval(desk, plan, path)
    assert apply(desk, path) == 1
    assert "ledger" in capsys.readouterr().err
    assert desk["calls"] == []


def test_plan_entry_forged_outside_the_chain_is_refused(desk: dict[str, Any],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    plan = dict(desk["plan"], plan_id="00000000-0000-4000-8000-0000000000ad")
    path = desk["tmp"] / "plans" / "forged.json"
    write_plan(plan, path)
    last = entries(desk)[-1]
    forged = dict(last, seq=last["seq"] + 1, actor="yamada", action="plan", prev="sha256:" + "1" * 64,
                  subject={"plan_id": plan["plan_id"], "plan_digest": plan_digest(plan)})
    with desk["ledger"].open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(forged, ensure_ascii=False) + "\n")
    forge_approval(desk, plan, path)
    assert apply(desk, path) == 1
    assert "ledger" in capsys.readouterr().err
    assert desk["calls"] == []


def test_plan_id_recorded_twice_with_another_planner_is_refused(desk: dict[str, Any],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    Ledger(desk["ledger"]).append("tanaka", "plan", {"plan_id": desk["plan"]["plan_id"],
                                                      "plan_digest": plan_digest(desk["plan"])})
    assert approve(desk) == 1
    assert "recorded" in capsys.readouterr().err


# -- 3. the ledger is checked, and the start recorded, before any host is touched ---------------------------------


def test_apply_refuses_a_broken_ledger_before_touching_hosts(desk: dict[str, Any],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert approve(desk) == 0
    lines = desk["ledger"].read_text(encoding="utf-8").splitlines(keepends=True)
    first = json.loads(lines[0])
    first["actor"] = "mallory"
    lines[0] = json.dumps(first, ensure_ascii=False) + "\n"
    desk["ledger"].write_text("".join(lines), encoding="utf-8")
    assert apply(desk) == 1
    assert "ledger" in capsys.readouterr().err
    assert desk["calls"] == []


def test_apply_refuses_an_unwritable_ledger_before_touching_hosts(desk: dict[str, Any],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert approve(desk) == 0
    real_open = os.open

    def no_append(path: Any, flags: int, *args: Any) -> int:
        if str(path) == str(desk["ledger"]) and flags & os.O_APPEND:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", no_append)
    assert apply(desk) == 1
    assert desk["calls"] == []


def test_apply_records_its_start_before_touching_hosts_and_its_outcome_after(desk: dict[str, Any]) -> None:
    assert approve(desk) == 0
    assert apply(desk) == 1  # the stub collects nothing: every host refused
    [seen] = desk["calls"]
    assert seen[-1]["action"] == "apply_started"
    assert seen[-1]["subject"]["plan_digest"] == plan_digest(desk["plan"])
    outcome = entries(desk)[-1]
    assert outcome["action"] == "apply"
    assert outcome["subject"]["run_id"] == seen[-1]["subject"]["run_id"]


def test_the_ledger_says_why_each_host_was_not_applied(desk: dict[str, Any]) -> None:
    assert approve(desk) == 0
    assert apply(desk) == 1
    hosts = entries(desk)[-1]["subject"]["hosts"]
    assert set(hosts) == set(desk["plan"]["hosts"])
    for record in hosts.values():
        assert record["status"] == "refused"
        assert record["message"] == "cannot re-collect: test stub: not collected"


def test_a_host_refused_before_any_change_gets_no_rollback_entry(desk: dict[str, Any],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform that fails before sending anything (a login refused inside apply) reports `untouched`: the host
    is `failed` with its reason, and the ledger gets no `rollback` entry claiming a restore that never happened."""
    from hardening.core.platform import ApplyResult

    class Refusing:
        name = "linux"

        def apply(self, target: Any, fix: Any, parameters: Any, planned: Any) -> ApplyResult:
            result = ApplyResult(target.host.name)
            result.refuse("no session, nothing applied: AuthenticationFailed: login refused")
            return result

    monkeypatch.setattr("hardening.changes.apply.collect_all", lambda hosts, *_, **__: {
        h.name: CollectResult(h.name, {"facts": {}}, None, None, 0.0) for h in hosts})
    monkeypatch.setattr("hardening.changes.apply.fingerprint", lambda *_: "sha256:" + "c" * 64)
    monkeypatch.setattr("hardening.changes.apply.get_platform", lambda _name: Refusing())
    monkeypatch.setattr("hardening.changes.apply.Remediator", Refusing)
    monkeypatch.setenv("HARDENING_CRED_LAB_USERNAME", "audit")
    assert approve(desk) == 0
    assert apply(desk) == 1
    actions = [e["action"] for e in entries(desk)]
    assert "rollback" not in actions
    for record in entries(desk)[-1]["subject"]["hosts"].values():
        assert record["status"] == "failed"
        assert record["message"].startswith("no session, nothing applied")


# -- 6. one apply at a time per plan and per host; approvals are single-use --------------------------------------


@pytest.fixture
def held_lock(desk: dict[str, Any]) -> Iterator[Any]:
    handles: list[int] = []

    def hold(name: str) -> None:
        folder = desk["ledger"].parent / "locks"
        folder.mkdir(exist_ok=True)
        fd = os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handles.append(fd)

    yield hold
    for fd in handles:
        os.close(fd)


def test_second_apply_of_one_plan_is_refused_while_the_first_runs(desk: dict[str, Any], held_lock: Any,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert approve(desk) == 0
    held_lock(f"plan-{desk['plan']['plan_id']}.lock")
    assert apply(desk) == 1
    assert "another apply" in capsys.readouterr().err
    assert desk["calls"] == []
    assert all(e["action"] != "apply_started" for e in entries(desk))


def test_apply_touching_a_host_another_apply_holds_is_refused(desk: dict[str, Any], held_lock: Any,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert approve(desk) == 0
    held_lock("host-zaimu-ap01.lock")
    assert apply(desk) == 1
    err = capsys.readouterr().err
    assert "another apply" in err
    assert "zaimu-ap01" in err
    assert desk["calls"] == []


def test_an_approval_is_used_once(desk: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert approve(desk) == 0
    assert apply(desk) == 1  # used (hosts refused by the stub, but the run started)
    assert len(desk["calls"]) == 1
    capsys.readouterr()
    assert apply(desk) == 1
    assert "already used" in capsys.readouterr().err
    assert len(desk["calls"]) == 1


def test_backups_of_two_runs_of_one_plan_never_share_a_file() -> None:
    from hardening.changes.apply import backup_path

    ledger = Ledger("/var/lib/hardening/ledger.jsonl")
    first = backup_path(ledger, "00000000-0000-4000-8000-000000000001", "run-a", "web01")
    second = backup_path(ledger, "00000000-0000-4000-8000-000000000001", "run-b", "web01")
    assert first != second


# -- 10. plan, approval and result files: atomic, 0600 ----------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_plan_approval_result_and_rendering_files_are_0600(desk: dict[str, Any],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    old = os.umask(0o022)
    try:
        write_plan(desk["plan"], desk["path"])
        assert approve(desk) == 0
        apply(desk)
        show = desk["tmp"] / "plans" / "p.md"
        assert cli.main(["show", str(desk["path"]), "-f", "markdown", "--out", str(show)]) == 0
    finally:
        os.umask(old)
    folder = desk["path"].parent
    written = [desk["path"], folder / "p.approval-suzuki.json", folder / "p.result.json", show]
    assert {p.name: _mode(p) for p in written} == {p.name: 0o600 for p in written}
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp file left behind


@pytest.mark.parametrize("writer", ["plan", "approval"])
def test_a_failed_write_leaves_the_previous_file_whole(desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                                       writer: str) -> None:
    target = desk["path"] if writer == "plan" else desk["tmp"] / "a.json"
    target.write_text("previous\n", encoding="utf-8")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    write = (lambda: write_plan(desk["plan"], target)) if writer == "plan" else (
        lambda: write_approval({"approver": "suzuki"}, target))
    with pytest.raises((OSError, OutputError), match="No space left"):  # OutputError names the path
        write()
    assert target.read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in target.parent.iterdir() if p.name.startswith(".")) == []
