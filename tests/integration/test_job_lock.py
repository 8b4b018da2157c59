"""Two scheduled runs of one job started at once (issue 11 item 5): one runs, the other says
「ジョブ NAME は実行中です」 (already running, with the winner's pid and start time) and exits 1 without
touching anything; the winner's report, ledger and history are whole. The winner's run takes seconds for a real
reason: its mail relay (a local sink) is slow to answer, as a loaded relay is."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from tests.jobkit import ROOT, SmtpSink, save_facts, write_job

from hardening.changes.ledger import Ledger
from hardening.history import open_history

REPORT_SCHEMA = json.loads((ROOT / "schemas" / "drift-report.schema.json").read_text(encoding="utf-8"))
RELAY_DELAY = 5.0


@pytest.fixture
def slow_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    (tmp_path / "tls").mkdir()
    server = SmtpSink(tmp_path / "tls", greeting_delay=RELAY_DELAY).start()
    yield server
    server.stop()


def test_two_runs_at_once_one_runs_the_other_is_refused(tmp_path: Path, slow_sink: SmtpSink) -> None:
    facts = save_facts(tmp_path / "facts", {"web01": "rootfs-debian12"})
    job = write_job(tmp_path / "job.yaml", scope={"hosts": ["web01"]}, **{"from": str(facts)},
                    notify={"smtp": {"host": "localhost", "port": slow_sink.port, "ca_file": str(slow_sink.ca),
                                     "credentials": "smtp", "timeout": 30},
                            "from": "hardening@city.example", "default": "soumu@city.example"})
    env = {**os.environ, "HARDENING_CRED_SMTP_USERNAME": slow_sink.user,
           "HARDENING_CRED_SMTP_PASSWORD": slow_sink.password, "PYTHONPATH": str(ROOT / "src")}
    env.pop("HARDENING_HISTORY", None)
    command = [sys.executable, "-m", "hardening.cli", "job", "run", str(job)]
    started = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    finished = [(p.pid, *p.communicate(timeout=180), p.returncode) for p in started]

    refused = [f for f in finished if "は実行中です" in f[2]]
    ran = [f for f in finished if f not in refused]
    assert len(refused) == 1, finished
    assert len(ran) == 1, finished
    winner_pid, out, err, code = ran[0]
    assert code == 2, (out, err)  # web01 drifts; nothing could not be checked
    _, loser_out, loser_err, loser_code = refused[0]
    assert loser_code == 1
    assert loser_out == ""
    line = loser_err.strip()
    match = re.fullmatch(r"ジョブ nightly は実行中です \(already running: pid (\d+) since (\S+)\)", line)
    assert match, line
    assert int(match.group(1)) == winner_pid
    assert dt.datetime.fromisoformat(match.group(2)).tzinfo is not None

    runs = tmp_path / "runs"
    directories = [p for p in runs.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(directories) == 1, list(runs.iterdir())
    run = directories[0]
    assert (runs / "latest").resolve() == run.resolve()
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(REPORT_SCHEMA).iter_errors(report)) == []
    assert report["summary"]["exit_code"] == 2
    result = Ledger(tmp_path / "ledger.jsonl").verify()
    assert result.ok, result.problems
    assert result.entries == 1  # one audit entry: the loser appended nothing
    with open_history(tmp_path / "history.sqlite") as history:
        assert [r["id"] for r in history.runs()] == [report["run"]["id"]]
    assert len(slow_sink.messages) == 1  # one mail, from the winner
    assert json.loads((run / "job.json").read_text(encoding="utf-8"))["exit_code"] == 2
    assert sorted(p.name for p in runs.iterdir()) == sorted([run.name, "latest", ".job-nightly.lock"])
