"""The run history (hardening.history): exact drift semantics, duplicate runs, run references, since, trend,
migrations, atomic recording, bad locations, and the `history` / `diff` commands. Every test here takes the
`location` fixture: an SQLite file here; tests/integration/test_history_postgres.py runs the same tests (all but
the test_sqlite_* ones) against a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from hardening import audit, cli
from hardening.core.models import CollectResult, Host
from hardening.history import History, HistoryError, open_history, store
from hardening.history.backends import display
from hardening.history.schema import latest_version
from hardening.platforms.linux import probe

ROOT = Path(__file__).resolve().parents[3]
TITLES = {f"R{i}": (f"要件{i}", f"Requirement {i}") for i in range(1, 12)}


@pytest.fixture
def location(tmp_path: Path) -> str:
    return str(tmp_path / "history.sqlite")


def run_id(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def make_report(n: int, started: str, rows: dict[tuple[str, str], str], *,
                hosts: dict[str, str] | None = None, selection: dict[str, list[str]] | None = None,
                zone: str = "kikan") -> dict[str, Any]:
    """A minimal report: rows (host, requirement) -> status; hosts: host -> host status (default from its rows)."""
    names = sorted({h for h, _ in rows} | set(hosts or {}))
    findings = [{"host": h, "requirement": r, "clause": f"第2章 {r}", "status": s, "evaluated_status": s,
                 "message": {"ja": "m", "en": "m"}}
                for (h, r), s in sorted(rows.items())]
    counts = {s: sum(1 for f in findings if f["status"] == s)
              for s in ("pass", "fail", "error", "not_applicable", "manual", "waived")}
    failing = {h for (h, _), s in rows.items() if s == "fail"}
    host_entries = [{"name": h, "zone": zone, "system": "住民情報", "device_class": "linux_server",
                     "platform": "linux", "error": None, "error_kind": None,
                     "status": (hosts or {}).get(h) or ("fail" if h in failing else "pass")}
                    for h in names]
    return {"format_version": "2.1", "tool": {"name": "hardening", "version": "0"}, "generated_at": started,
            "run": {"id": run_id(n), "operator": "tester", "started_at": started, "duration_s": 1.0,
                    "selection": selection or {}, "inventory": "inventory", "catalog_digest": "sha256:00",
                    "offline": None, "attestations": None},
            "summary": {"hosts": len(names), "findings": counts, "exit_code": 2 if counts["fail"] else 0},
            "requirements": [{"id": r, "clause": f"第2章 {r}", "title": {"ja": ja, "en": en}}
                             for r, (ja, en) in TITLES.items()],
            "hosts": host_entries, "findings": findings}


def changes(items: list[Any]) -> set[tuple[str, str, str | None, str | None]]:
    return {(c.host, c.requirement, c.before, c.after) for c in items}


A_ROWS = {("h1", "R1"): "fail", ("h1", "R2"): "fail", ("h1", "R3"): "fail", ("h1", "R4"): "fail",
          ("h1", "R5"): "pass", ("h1", "R6"): "error", ("h1", "R7"): "fail", ("h1", "R8"): "fail",
          ("h1", "R9"): "fail", ("h1", "R10"): "manual", ("h2", "R1"): "fail", ("h2", "R2"): "pass"}
B_ROWS = {("h1", "R1"): "pass", ("h1", "R2"): "fail", ("h1", "R3"): "error",  # R4 absent
          ("h1", "R5"): "fail", ("h1", "R6"): "fail", ("h1", "R7"): "manual", ("h1", "R8"): "waived",
          ("h1", "R9"): "not_applicable", ("h1", "R10"): "fail", ("h3", "R1"): "fail", ("h3", "R2"): "pass"}


def test_drift_semantics_are_exact(location: str) -> None:
    with open_history(location) as history:
        a = history.record(make_report(1, "2026-11-01T10:00:00+09:00", A_ROWS))
        b = history.record(make_report(2, "2026-11-02T10:00:00+09:00", B_ROWS))
        drift = history.compare(a, b)
    assert changes(drift.new) == {("h1", "R5", "pass", "fail"), ("h1", "R6", "error", "fail"),
                                  ("h1", "R10", "manual", "fail"), ("h3", "R1", None, "fail")}
    assert changes(drift.resolved) == {("h1", "R1", "fail", "pass"), ("h1", "R8", "fail", "waived"),
                                       ("h1", "R9", "fail", "not_applicable")}
    assert changes(drift.persisting) == {("h1", "R2", "fail", "fail")}
    # error, manual, a requirement absent and a host absent from B are never "resolved"
    assert changes(drift.unknown) == {("h1", "R3", "fail", "error"), ("h1", "R4", "fail", None),
                                      ("h1", "R7", "fail", "manual"), ("h2", "R1", "fail", None)}
    new = {c.requirement: c for c in drift.new if c.host == "h1"}
    assert (new["R5"].clause, new["R5"].title_ja, new["R5"].title_en) == ("第2章 R5", "要件5", "Requirement 5")
    assert (drift.run_a, drift.run_b) == (a, b)


def test_a_run_is_given_back_exactly_and_listed_with_counts(location: str) -> None:
    report = make_report(1, "2026-11-01T10:00:00+09:00", A_ROWS)
    with open_history(location) as history:
        history.record(report, out_dir="/reports/x")
        assert history.report(run_id(1)) == report
        [run] = history.runs()
    assert run["id"] == run_id(1)
    assert run["started_at"] == "2026-11-01T01:00:00.000000+00:00"  # stored in UTC
    assert run["hosts"] == 2
    assert run["zones"] == ["kikan"]
    assert run["origin"] == "local"
    assert run["findings"] == {"pass": 2, "fail": 8, "error": 1, "not_applicable": 0, "manual": 1, "waived": 0}
    assert (run["exit_code"], run["out_dir"], run["operator"]) == (2, "/reports/x", "tester")


def test_a_duplicate_run_is_refused_and_the_first_kept(location: str) -> None:
    report = make_report(1, "2026-11-01T10:00:00+09:00", A_ROWS)
    with open_history(location) as history:
        history.record(report)
        with pytest.raises(HistoryError, match="already recorded"):
            history.record(make_report(1, "2026-11-03T10:00:00+09:00", B_ROWS))
        assert [r["id"] for r in history.runs()] == [run_id(1)]
        assert history.report(run_id(1)) == report


def test_bundle_origin_is_kept(location: str) -> None:
    origin = {"kind": "bundle", "collector": "kikan-col", "bundle_sha256": "ab" * 32, "sequence": 7}
    with open_history(location) as history:
        history.record(make_report(1, "2026-11-01T10:00:00+09:00", A_ROWS), origin=origin)
        [run] = history.runs()
        with pytest.raises(HistoryError, match="origin kind"):
            history.record(make_report(2, "2026-11-01T10:00:00+09:00", A_ROWS), origin={"kind": "mail"})
    assert (run["origin"], run["collector"], run["bundle_sha256"], run["sequence"]) == (
        "bundle", "kikan-col", "ab" * 32, 7)


def test_references_resolve_to_one_run(location: str) -> None:
    with open_history(location) as history:
        history.record(make_report(0x1A, "2026-11-01T10:00:00+00:00", A_ROWS))
        history.record(make_report(0x1B, "2026-11-02T10:00:00+00:00", A_ROWS, selection={"hosts": ["h1", "h2"]}))
        history.record(make_report(0x2C, "2026-11-03T10:00:00+00:00", B_ROWS))
        assert history.resolve("latest") == run_id(0x2C)
        assert history.resolve("previous") == run_id(0x1A)  # same scope: the selection differs for 0x1B
        assert history.previous(run_id(0x1B)) is None
        assert history.resolve(run_id(0x1B)) == run_id(0x1B)
        assert history.resolve("0000002") == run_id(0x2C)
        assert history.resolve(run_id(0x1A)[:8].upper()) == run_id(0x1A)
        with pytest.raises(HistoryError, match="ambiguous"):
            history.resolve("0000001")
        with pytest.raises(HistoryError, match="no run 0000009"):
            history.resolve("0000009")
        with pytest.raises(HistoryError, match="not a run reference"):
            history.resolve("%")
        with pytest.raises(HistoryError, match="not in the history"):
            history.report(run_id(0x99))


def test_runs_started_in_the_same_second_follow_the_order_they_were_recorded(location: str) -> None:
    # report times have seconds: two scheduled runs can start in the same one. The later-recorded run is the
    # newer, whatever the (random) ids say.
    same = "2026-11-05T10:00:00+00:00"
    with open_history(location) as history:
        for n in (0x3F, 0x2E, 0x1D):
            history.record(make_report(n, same, A_ROWS))
        assert history.previous(run_id(0x1D)) == run_id(0x2E)
        assert history.previous(run_id(0x2E)) == run_id(0x3F)
        assert history.previous(run_id(0x3F)) is None
        assert history.resolve("latest") == run_id(0x1D)
        assert [r["id"] for r in history.runs()] == [run_id(0x1D), run_id(0x2E), run_id(0x3F)]


def test_latest_and_previous_need_runs(location: str) -> None:
    with open_history(location) as history:
        with pytest.raises(HistoryError, match="no run recorded yet"):
            history.resolve("latest")
        history.record(make_report(1, "2026-11-01T10:00:00+00:00", A_ROWS))
        with pytest.raises(HistoryError, match="no earlier run of the same scope"):
            history.resolve("previous")


def test_a_different_zone_is_a_different_scope(location: str) -> None:
    with open_history(location) as history:
        history.record(make_report(1, "2026-11-01T10:00:00+00:00", A_ROWS, zone="kikan"))
        history.record(make_report(2, "2026-11-02T10:00:00+00:00", A_ROWS, zone="lgwan"))
        history.record(make_report(3, "2026-11-03T10:00:00+00:00", B_ROWS, zone="kikan"))
        assert history.previous(run_id(3)) == run_id(1)
        assert history.previous(run_id(2)) is None
        assert [r["id"] for r in history.runs(zones=["lgwan"])] == [run_id(2)]
        assert [r["id"] for r in history.runs(zones=["kikan", "internet"])] == [run_id(3), run_id(1)]


def test_since_compares_the_last_run_before_the_day(location: str) -> None:
    rows_mid = {**A_ROWS, ("h1", "R2"): "pass"}
    with open_history(location) as history:
        history.record(make_report(1, "2026-11-01T12:00:00", rows_mid))
        history.record(make_report(2, "2026-11-02T12:00:00", A_ROWS))
        history.record(make_report(3, "2026-11-04T12:00:00", B_ROWS))
        drift = history.since(dt.date(2026, 11, 3))
        assert (drift.run_a, drift.run_b) == (run_id(2), run_id(3))
        assert changes(drift.resolved) == changes(history.compare(run_id(2), run_id(3)).resolved)
        assert history.since(dt.date(2026, 11, 2)).run_a == run_id(1)
        assert ("h1", "R2", "pass", "fail") in changes(history.since(dt.date(2026, 11, 2), run_id(2)).new)
        assert [r["id"] for r in history.runs(since=dt.date(2026, 11, 2))] == [run_id(3), run_id(2)]
        with pytest.raises(HistoryError, match="before 2026-11-01"):
            history.since(dt.date(2026, 11, 1))


def test_trend_is_oldest_first_and_limited(location: str) -> None:
    with open_history(location) as history:
        for n in range(1, 6):
            rows = {("h1", f"R{i}"): ("fail" if i <= n else "pass") for i in range(1, 7)}
            history.record(make_report(n, f"2026-11-0{n}T12:00:00+00:00", rows, zone="lgwan" if n == 5 else "kikan"))
        trend = history.trend(limit=3)
        assert [t["run_id"] for t in trend] == [run_id(3), run_id(4), run_id(5)]
        assert [t["findings"]["fail"] for t in trend] == [3, 4, 5]
        assert trend[0] == {"run_id": run_id(3), "started_at": "2026-11-03T12:00:00.000000+00:00", "hosts": 1,
                            "findings": {"pass": 3, "fail": 3, "error": 0, "not_applicable": 0, "manual": 0,
                                         "waived": 0}}
        assert [t["run_id"] for t in history.trend(zones=["kikan"], limit=2)] == [run_id(3), run_id(4)]


def _die_while_recording(history: History, report: dict[str, Any]) -> None:
    with history.begin(report["run"]) as recorder:
        recorder.add(report["hosts"][0], report["findings"][:1])
        raise RuntimeError("the audit died")


def test_a_record_that_fails_midway_leaves_nothing(location: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "_FLUSH_HOSTS", 2)  # the first hosts reach the database before the failure
    rows = {(f"h{i}", "R1"): "fail" for i in range(1, 8)}
    report = make_report(1, "2026-11-01T12:00:00+00:00", rows)
    report["findings"].append(dict(report["findings"][-1]))  # h7 R1 twice: the database refuses the run
    with open_history(location) as history:
        with pytest.raises(HistoryError):
            history.record(report)
        assert history.runs() == []
        with pytest.raises(HistoryError, match="not in the history"):
            history.report(run_id(1))
        with pytest.raises(RuntimeError, match="the audit died"):
            _die_while_recording(history, make_report(2, "2026-11-01T12:00:00+00:00", rows))
        assert history.runs() == []
        history.record(make_report(1, "2026-11-01T12:00:00+00:00", rows))  # the same id records fine afterwards
        assert [r["hosts"] for r in history.runs()] == [7]


def test_streaming_from_threads(location: str) -> None:
    rows = {(f"h{i:03}", f"R{j}"): ("fail" if (i + j) % 3 == 0 else "pass") for i in range(60) for j in range(1, 8)}
    report = make_report(1, "2026-11-01T12:00:00+00:00", rows)
    by_host = {h["name"]: [f for f in report["findings"] if f["host"] == h["name"]] for h in report["hosts"]}
    with open_history(location) as history:
        with history.begin(report["run"], document={k: v for k, v in report.items()
                                                    if k not in ("summary", "generated_at")}) as recorder:
            def worker(names: list[str]) -> None:
                for name in names:
                    recorder.add(next(h for h in report["hosts"] if h["name"] == name), by_host[name])
            names = sorted(by_host)
            threads = [threading.Thread(target=worker, args=(names[i::4],)) for i in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            recorder.finish(report["summary"], generated_at=report["generated_at"])
        [run] = history.runs()
        stored = history.report(run_id(1))
    assert run["hosts"] == 60
    assert run["findings"]["fail"] == sum(1 for s in rows.values() if s == "fail")
    assert sorted(h["name"] for h in stored["hosts"]) == names
    assert stored["summary"] == report["summary"]
    assert stored["generated_at"] == report["generated_at"]


def test_an_empty_database_is_migrated_and_a_newer_one_refused(location: str) -> None:
    with open_history(location) as history:
        db = history._db
        assert [v for (v,) in db.execute("SELECT version FROM schema_version ORDER BY version")] == list(
            range(1, latest_version() + 1))
        history.record(make_report(1, "2026-11-01T12:00:00+00:00", A_ROWS))
    with open_history(location) as history:  # opening again changes nothing
        assert len(history.runs()) == 1
        history._db.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                            (latest_version() + 1, "9999_future.sql", "2027-01-01T00:00:00+00:00"))
    with pytest.raises(HistoryError, match=r"schema is version \d+, newer than this hardening") as caught:
        open_history(location)
    assert (location.split("?", maxsplit=1)[0] if location.startswith("postgres") else location) in str(caught.value)


def test_postgres_location_errors_never_print_the_password() -> None:
    url = "postgresql://auditor:S3cretPw@/nodb?host=/nonexistent-socket-dir&connect_timeout=2"
    with pytest.raises(HistoryError) as caught:
        open_history(url)
    message = str(caught.value)
    assert "S3cretPw" not in message
    assert "postgresql://auditor:***@/nodb" in message
    assert "cannot connect" in message
    query = "postgresql:///nodb?host=/nonexistent-socket-dir&password=Qu3ryPw&connect_timeout=2"
    with pytest.raises(HistoryError) as caught:
        open_history(query)
    assert "Qu3ryPw" not in str(caught.value)
    assert "password=***" in str(caught.value)


def test_sqlite_bad_locations_are_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "notdb.sqlite").write_bytes(b"this is not an SQLite database at all" * 100)
    for where, words in ((tmp_path, "is a directory"), (tmp_path / "file" / "h.sqlite", "cannot create"),
                         (tmp_path / "notdb.sqlite", "not a history database")):
        with pytest.raises(HistoryError, match=words) as caught:
            open_history(where)
        assert str(where) in str(caught.value)


def test_sqlite_is_created_private_in_wal_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    where = tmp_path / "new" / "deeper" / "history.sqlite"
    monkeypatch.setenv("HARDENING_HISTORY", str(where))
    with open_history() as history:
        assert history.location == str(where)
        assert history._db.execute("PRAGMA journal_mode")[0][0] == "wal"
    assert stat.S_IMODE(where.stat().st_mode) == 0o600
    assert stat.S_IMODE(where.parent.stat().st_mode) == 0o700


def _two_runs(location: str) -> None:
    with open_history(location) as history:
        history.record(make_report(1, "2026-11-01T12:00:00+00:00",
                                   {("h1", "R1"): "fail", ("h1", "R2"): "pass", ("h1", "R3"): "fail"}))
        history.record(make_report(2, "2026-11-03T12:00:00+00:00",
                                   {("h1", "R1"): "pass", ("h1", "R2"): "fail", ("h1", "R3"): "fail"}))


def test_cli_diff_lists_the_drift_and_exits_2_on_new(location: str, capsys: pytest.CaptureFixture[str]) -> None:
    _two_runs(location)
    assert cli.main(["diff", "previous", "latest", "--history", location]) == 2
    out = capsys.readouterr().out
    assert f"差分 (diff): {run_id(1)}" in out
    assert "新規 (new): 1\n  h1  R2  第2章 R2  要件2  (pass → fail)\n" in out
    assert "解消 (resolved): 1\n  h1  R1  第2章 R1  要件1  (fail → pass)\n" in out
    assert "継続 (persisting): 1\n" in out
    assert "判定不能 (unknown" in out
    assert cli.main(["diff", run_id(2)[:8], run_id(1), "--history", location, "--json", "--lang", "en"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert [(c["host"], c["requirement"]) for c in data["new"]] == [("h1", "R1")]
    assert cli.main(["diff", "latest", "latest", "--history", location]) == 0
    capsys.readouterr()
    assert cli.main(["diff", "nosuch", "latest", "--history", location]) == 1
    assert "not a run reference" in capsys.readouterr().err


def test_cli_history_lists_runs_and_drift_since(location: str, capsys: pytest.CaptureFixture[str]) -> None:
    _two_runs(location)
    assert cli.main(["history", "--history", location]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("実行履歴 (runs): 2 件")
    assert lines[1].startswith("2026-11-03T12:00:00.000000+00:00  " + run_id(2))
    assert lines[1].endswith(f"前回比 (vs previous {run_id(1)[:8]}): 新規 1 (new)  解消 1 (resolved)")
    assert "不適合 2 (fail)" in lines[1]
    assert "前回なし (no earlier run of this scope)" in lines[2]
    assert cli.main(["history", "--history", location, "--since", "2026-11-02"]) == 0
    out = capsys.readouterr().out
    assert "2026-11-02 以降の変化 (drift since 2026-11-02)" in out
    assert "新規 (new): 1\n  h1  R2" in out
    assert cli.main(["history", "--history", location, "--since", "2026-11-02", "--json", "--limit", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in data["runs"]] == [run_id(2)]
    assert data["runs"][0]["vs_previous"] == {"new": 1, "resolved": 1}
    assert [c["requirement"] for c in data["since"]["drift"]["resolved"]] == ["R1"]
    assert cli.main(["history", "--history", location, "--since", "2026-13-01"]) == 1
    assert "not a date" in capsys.readouterr().err


def test_cli_history_is_terminal_safe(location: str, capsys: pytest.CaptureFixture[str]) -> None:
    report = make_report(1, "2026-11-01T12:00:00+00:00", {("h1\x1b[31m", "R1"): "fail"})
    report["run"]["operator"] = "evil\x1b]0;title\x07"
    with open_history(location) as history:
        history.record(report)
        history.record(make_report(2, "2026-11-02T12:00:00+00:00", {("h1\x1b[31m", "R1"): "pass"}))
    assert cli.main(["history", "--history", location]) == 0
    assert cli.main(["diff", "previous", "latest", "--history", location]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\x07" not in out


CHRONY = ROOT / "tests" / "unit" / "linux" / "fixtures" / "chrony"


def _audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> int:
    def collect(hosts: list[Host], *args: object, **kwargs: object) -> dict[str, CollectResult]:
        facts = probe.collect(str(CHRONY), now=1_790_000_000.0, commands=False)
        return {h.name: CollectResult(h.name, {**facts, "host": h.name, "device_class": h.device_class,
                                               "platform": h.platform}, None, None, 0.1) for h in hosts}

    monkeypatch.setattr(audit, "collect_all", collect)
    return cli.main(["audit", "-i", str(ROOT / "inventory"), "-H", "ntp01", "--out", str(tmp_path / "out"),
                     "--no-progress", "--ledger", str(tmp_path / "ledger.jsonl"), *extra])


def test_cli_audit_records_the_run(location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = _audit(tmp_path, monkeypatch, "--history", location)
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    with open_history(location) as history:
        [run] = history.runs()
        assert history.report(run["id"]) == report
    assert run["id"] == report["run"]["id"]
    assert run["exit_code"] == code
    assert run["out_dir"] == str((tmp_path / "out").resolve())
    assert run["selection"] == {"hosts": ["ntp01"]}


def test_sqlite_cli_audit_no_history_and_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = tmp_path / "env" / "history.sqlite"
    monkeypatch.setenv("HARDENING_HISTORY", str(default))
    _audit(tmp_path, monkeypatch, "--no-history")
    assert not default.exists()
    _audit(tmp_path, monkeypatch)
    with open_history(default) as history:
        assert len(history.runs()) == 1


def test_sqlite_cli_audit_recording_failure_exits_1_after_the_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code = _audit(tmp_path, monkeypatch, "--history", str(tmp_path))
    assert code == 1
    assert (tmp_path / "out" / "report.json").is_file()
    errors = [line for line in capsys.readouterr().err.splitlines() if "履歴" in line]
    assert errors == [f"エラー (error): 履歴に記録できません (history not recorded): {tmp_path}: is a directory "
                      "(give the history database file)"]


def test_the_default_location(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARDENING_HISTORY", raising=False)
    seen: list[str] = []
    monkeypatch.setattr(store, "connect", lambda where: seen.append(where) or (_ for _ in ()).throw(
        HistoryError("stop")))
    with pytest.raises(HistoryError, match="stop"):
        open_history()
    assert seen == ["/var/lib/hardening/history.sqlite"]
    assert os.environ.get("HARDENING_HISTORY") is None


def test_a_streaming_run_does_not_block_another_recording(location: str) -> None:
    long_run = make_report(1, "2026-11-01T12:00:00+00:00", A_ROWS)
    with open_history(location) as history, open_history(location) as other:
        with history.begin(long_run["run"], document=long_run) as recorder:
            recorder.add(long_run["hosts"][0], [f for f in long_run["findings"] if f["host"] == "h1"])
            other.record(make_report(2, "2026-11-02T12:00:00+00:00", B_ROWS))  # no wait on the open run
            assert [r["id"] for r in other.runs()] == [run_id(2)]  # the open run is not visible
            recorder.add(long_run["hosts"][1], [f for f in long_run["findings"] if f["host"] == "h2"])
            recorder.finish(long_run["summary"])
        assert [r["id"] for r in history.runs()] == [run_id(2), run_id(1)]
        assert history.report(run_id(1)) == long_run


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql:///db?host=/run/pg&user=h", "postgresql:///db?host=/run/pg&user=h"),
    ("postgresql://a:p@ss@h:5432/db", "postgresql://a:***@h:5432/db"),
    ("postgres://a@h/db?sslmode=require&PassWord=z&x=1", "postgres://a@h/db?sslmode=require&PassWord=***&x=1"),
])
def test_a_location_is_shown_without_its_password(url: str, shown: str) -> None:
    assert display(url) == shown


def _trend_runs(html: str) -> list[str]:
    """The run ids of the trend chart's columns, in order."""
    chart = html[html.index('id="chart-trend"'):]
    chart = chart[:chart.index("</svg>")]
    return re.findall(r'<g class="run" data-run="([^"]*)"', chart)


def test_sqlite_cli_audit_html_shows_the_trend_of_the_runs_of_its_scope(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    location = str(tmp_path / "history.sqlite")
    _audit(tmp_path, monkeypatch, "--history", location)
    first = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))["run"]["id"]
    assert _trend_runs((tmp_path / "out" / "report.html").read_text(encoding="utf-8")) == [first]
    _audit(tmp_path, monkeypatch, "--history", location, "-r", "TIME-SYNC")   # another scope: not in the trend
    _audit(tmp_path, monkeypatch, "--history", location)
    third = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))["run"]["id"]
    with open_history(location) as history:
        assert len(history.runs()) == 3
    assert _trend_runs((tmp_path / "out" / "report.html").read_text(encoding="utf-8")) == [first, third]


def test_cli_audit_format_chooses_the_report_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _audit(tmp_path, monkeypatch, "--no-history", "--format", "xlsx,csv")
    written = {p.name for p in (tmp_path / "out").iterdir() if p.is_file()}
    assert {"report.json", "report.xlsx", "report.csv"} <= written   # the record is always written
    assert not {"report.html", "junit.xml"} & written
    assert cli.main(["audit", "--format", "pdf", "-H", "ntp01"]) == 1   # unknown format: input error
