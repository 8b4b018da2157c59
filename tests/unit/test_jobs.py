"""Scheduled jobs (issue 11 item 5): the job file, its lock, a run's files, ledger and history, and the plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from tests.jobkit import FIXTURE_OF, ROOT, save_facts, write_job

from hardening import cli
from hardening.changes.ledger import Ledger
from hardening.history import open_history
from hardening.jobs.jobfile import load_job
from hardening.jobs.lock import JobRunningError, job_lock, lock_path

REPORT_SCHEMA = json.loads((ROOT / "schemas" / "drift-report.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_facts(tmp_path_factory.mktemp("saved") / "facts")


def test_job_file_paths_are_read_from_its_directory(tmp_path: Path) -> None:
    path = write_job(tmp_path / "jobs" / "nightly.yaml", scope={"zones": ["kikan"], "hosts": ["ntp0*"]},
                     formats=["html"], **{"from": "saved"}, lang="en")
    job = load_job(path)
    assert job.output == tmp_path / "jobs" / "runs"
    assert job.offline_from == tmp_path / "jobs" / "saved"
    assert job.history == str(tmp_path / "jobs" / "history.sqlite")
    assert job.selection.zones == ["kikan"]
    assert job.selection.hosts == ["ntp0*"]
    assert job.formats == ("json", "html")  # the JSON record is always written
    assert (job.lang, job.plan, job.notify) == ("en", False, None)


BAD = [
    ({"colour": "red"}, "/ (line 1)", "Additional properties"),
    ({"scope": {"zones": ["dmz"]}}, "/scope/zones/0", "'dmz' is not one of"),
    ({"from": "saved", "plan": True}, "/plan", "False was expected"),
    ({"formats": ["html", "pdf"]}, "/formats/1", "unknown report format 'pdf'"),
    ({"name": "../etc"}, "/name", "does not match"),
    ({"notify": {"smtp": {"host": "relay.example", "starttls": False}, "from": "a@b.example",
                 "default": "c@d.example"}}, "/notify/smtp/starttls", "True was expected"),
    ({"notify": {"smtp": {"host": "relay.example"}, "from": "a@b.example", "to": {"情報政策課長": "not an address"}}},
     "/notify/to/情報政策課長", "does not match"),
]


@pytest.mark.parametrize(("fields", "where", "message"), BAD)
def test_a_bad_job_file_is_one_line_naming_file_and_place(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], fields: dict[str, Any], where: str, message: str) -> None:
    path = write_job(tmp_path / "job.yaml", **fields)
    for command in ("run", "validate"):
        assert cli.main(["job", command, str(path)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert err[0].startswith(f"入力エラー (input error): {path}: at {where}"), err
        assert message in err[0]
    assert not (tmp_path / "runs").exists()  # nothing ran
    assert not (tmp_path / "ledger.jsonl").exists()


def test_a_password_in_the_history_url_is_refused_without_showing_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_job(tmp_path / "job.yaml", history="postgresql://auditor:Sup3rS3cret@db.example/hardening")
    assert cli.main(["job", "run", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}: at /history: a database URL with a password" in err
    assert "Sup3rS3cret" not in err


def test_duplicate_keys_and_missing_files_name_the_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("name: a\noutput: runs\nname: b\n", encoding="utf-8")
    assert cli.main(["job", "validate", str(path)]) == 1
    assert f"{path}: at /name (line 3): refused: key 'name' given a second time" in capsys.readouterr().err
    assert cli.main(["job", "run", str(tmp_path / "absent.yaml")]) == 1
    assert f"{tmp_path / 'absent.yaml'}: at /: file not found" in capsys.readouterr().err


def test_the_lock_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    with job_lock(tmp_path, "nightly") as path:
        assert path == lock_path(tmp_path, "nightly")
        with pytest.raises(JobRunningError) as caught, job_lock(tmp_path, "nightly"):
            pass
        text = str(caught.value)
        assert text.startswith("ジョブ nightly は実行中です (already running: pid ")
        assert f"pid {os.getpid()} since " in text
        with job_lock(tmp_path, "weekly"):  # another job's lock is its own
            pass
    with job_lock(tmp_path, "nightly"):  # released with the block
        pass


def test_a_lock_file_left_by_a_dead_process_never_blocks(tmp_path: Path) -> None:
    script = ("import sys, os, signal; sys.path.insert(0, sys.argv[2]);"
              "from pathlib import Path; from hardening.jobs.lock import job_lock\n"
              "with job_lock(Path(sys.argv[1]), 'nightly'):\n    os.kill(os.getpid(), signal.SIGKILL)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(ROOT / "src")], check=False)
    assert done.returncode == -9  # killed while holding the lock
    assert "pid " in lock_path(tmp_path, "nightly").read_text(encoding="ascii")  # its lock file stays
    with job_lock(tmp_path, "nightly"):
        pass


def test_a_run_writes_its_directory_ledger_and_history(
        tmp_path: Path, facts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_job(tmp_path / "job.yaml", scope={"hosts": sorted(FIXTURE_OF)}, **{"from": str(facts)},
                     formats=["html", "csv"])
    code = cli.main(["job", "run", str(path)])
    out = capsys.readouterr()
    assert code == 1  # saved file trees lack live facts: some hosts are errors, as `audit --from` says
    assert "\x1b[" not in out.out + out.err  # no color, no progress bar
    runs = [p for p in (tmp_path / "runs").iterdir() if not p.name.startswith(".") and p.name != "latest"]
    assert len(runs) == 1
    run = runs[0]
    assert (tmp_path / "runs" / "latest").resolve() == run.resolve()
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(REPORT_SCHEMA).iter_errors(report)) == []
    assert {h["name"] for h in report["hosts"]} == set(FIXTURE_OF)
    assert (run / "report.html").is_file()
    assert (run / "report.csv").is_file()
    assert not (run / "junit.xml").exists()
    with open_history(tmp_path / "history.sqlite") as history:
        assert [r["id"] for r in history.runs()] == [report["run"]["id"]]
        assert history.report(report["run"]["id"]) == report
    ledger = Ledger(tmp_path / "ledger.jsonl")
    assert ledger.verify().ok
    entries = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(e["action"], e["subject"]["run_id"]) for e in entries] == [("audit", report["run"]["id"])]
    summary = json.loads((run / "job.json").read_text(encoding="utf-8"))
    assert summary["job"] == "nightly"
    assert summary["exit_code"] == 1
    assert summary["run_id"] == report["run"]["id"]


def test_a_history_that_cannot_record_is_exit_1_after_the_report(
        tmp_path: Path, facts: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "history.sqlite").mkdir()  # a directory where the database file should be
    path = write_job(tmp_path / "job.yaml", scope={"hosts": ["web01"]}, **{"from": str(facts)})
    assert cli.main(["job", "run", str(path)]) == 1
    err = capsys.readouterr().err
    assert "エラー (error): 履歴に記録できません (history not recorded): " in err
    assert "通知" not in err  # no notify configured: nothing else to say
    assert (tmp_path / "runs" / "latest" / "report.json").is_file()


def test_plan_true_plans_from_the_audited_run_and_records_it(
        tmp_path: Path, facts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job with `plan: true` plans from the run it audited (no second collection), writes plan.json beside the
    report and records it in the ledger as `hardening plan` does (custody accepts it)."""
    from hardening import audit
    from hardening.changes import plan as plan_module
    from hardening.changes.custody import custody
    from hardening.changes.plan import plan_digest, read_plan
    from hardening.core.models import CollectResult
    from hardening.core.platform import Change

    saved = {name: json.loads((facts / f"{name}.json").read_text(encoding="utf-8")) for name in FIXTURE_OF}
    collected: list[list[str]] = []

    def collect(hosts: list[Any], *args: Any, **kwargs: Any) -> dict[str, CollectResult]:
        collected.append([h.name for h in hosts])
        return {h.name: CollectResult(h.name, saved[h.name], None, None, 0.1) for h in hosts}

    def dry_runs(jobs: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {name: [Change(r, f"tasks/{r}.yml", "/etc/x", "--- a\n+++ b\n") for r in fix]
                for name, (_, fix, _) in jobs.items()}

    monkeypatch.setattr(audit, "collect_all", collect)
    monkeypatch.setattr(plan_module, "dry_runs", dry_runs)
    monkeypatch.setenv("HARDENING_CRED_LAB_USERNAME", "auditor")  # a dry run's target names its credentials
    monkeypatch.setenv("HARDENING_CRED_LAB_PASSWORD", "not-used-here")
    path = write_job(tmp_path / "job.yaml", scope={"hosts": ["web01"]}, plan=True)
    assert cli.main(["job", "run", str(path)]) == 2
    assert collected == [["web01"]]  # the plan used the audit's collection
    run = (tmp_path / "runs" / "latest").resolve()
    plan = read_plan(run / "plan.json")
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    from hardening.report.build import canonical_digest

    assert plan["report_digest"] == canonical_digest(report)
    assert plan["summary"]["exit_code"] == 2
    ledger = Ledger(tmp_path / "ledger.jsonl")
    assert ledger.verify().ok
    assert custody(ledger, plan, plan_digest(plan), str(run / "plan.json")).planner == plan["planned_by"]


def test_validate_names_a_manager_without_an_address(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notify = {"smtp": {"host": "relay.example"}, "from": "hardening@city.example",
              "to": {"情報政策課長": "jouhou@city.example"}}
    path = write_job(tmp_path / "job.yaml", scope={"hosts": ["ntp01", "web01"]}, notify=notify)
    assert cli.main(["job", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}: at /notify/to: no address for responsible manager(s) 広報広聴課長" in err
    notify["default"] = "soumu@city.example"
    path = write_job(tmp_path / "job.yaml", scope={"hosts": ["ntp01", "web01"]}, notify=notify)
    assert cli.main(["job", "validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OK: job nightly: 2 hosts" in out
    assert "広報広聴課長: soumu@city.example" in out
    assert "情報政策課長: jouhou@city.example" in out
    assert not (tmp_path / "runs").exists()


def test_inventory_errors_stop_the_job_before_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_job(tmp_path / "job.yaml", scope={"groups": ["no-such-group"]}, **{"from": "saved"})
    (tmp_path / "saved").mkdir()
    assert cli.main(["job", "run", str(path)]) == 1
    assert "unknown group (known: " in capsys.readouterr().err
    assert not (tmp_path / "ledger.jsonl").exists()
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [".job-nightly.lock"]


@pytest.mark.parametrize(("fields", "where"), [
    ({"from": "absent"}, "/from: "),
    ({"known_hosts": "absent_known_hosts"}, "/known_hosts: "),
    ({"notify": {"smtp": {"host": "localhost", "ca_file": "absent.pem"}, "from": "a@b.example",
                 "default": "c@d.example"}, "from": "."}, "/notify/smtp/ca_file: "),
])
def test_a_path_the_job_names_that_is_not_there(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 fields: dict[str, Any], where: str) -> None:
    path = write_job(tmp_path / "job.yaml", scope={"hosts": ["web01"]}, **fields)
    for command in ("validate", "run"):
        assert cli.main(["job", command, str(path)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert err[0].startswith(f"入力エラー (input error): {path}: at {where}{tmp_path}/absent"), err
    assert not (tmp_path / "ledger.jsonl").exists()
