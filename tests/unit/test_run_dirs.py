"""Two runs finishing in the same second never share a directory or a file (issue 6, change control item 7).

Each audit writes reports/<stamp>-<run id>/, created with one mkdir that fails if it exists; reports/latest
is replaced atomically (a temporary symlink renamed over it), so it always points at a complete run.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hardening import audit, cli, runs
from hardening.changes import plan as plan_module
from hardening.core.models import CollectResult, Host

ROOT = Path(__file__).resolve().parents[2]
FROZEN = dt.datetime(2026, 11, 29, 12, 0, 0)


class _FrozenDatetime(dt.datetime):
    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _FrozenDatetime:
        return cls.fromtimestamp(FROZEN.timestamp(), tz)


@pytest.fixture
def same_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every clock reading in the CLI is the same second."""
    monkeypatch.setattr(runs, "dt", SimpleNamespace(datetime=_FrozenDatetime, timedelta=dt.timedelta))


def _run_concurrently(count: int, target: Any) -> list[Any]:
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def one(index: int) -> None:
        try:
            results[index] = target(index)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_two_audits_in_the_same_second_keep_both_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, same_second: None,
) -> None:
    barrier = threading.Barrier(2)

    def offline(hosts: list[Host], *args: object, **kwargs: object) -> dict[str, CollectResult]:
        barrier.wait(timeout=30)  # both audits reach the writing step together
        return {h.name: CollectResult(h.name, None, "offline test", "DeviceUnreachable", 0.0) for h in hosts}

    monkeypatch.setattr(audit, "collect_all", offline)
    monkeypatch.chdir(tmp_path)
    ledger = tmp_path / "ledger.jsonl"
    codes = _run_concurrently(2, lambda i: cli.main([
        "audit", "--inventory", str(ROOT / "inventory"), "-H", "ntp01", "--no-progress", "--ledger", str(ledger)]))
    assert codes == [1, 1]  # offline hosts are errors

    reports = tmp_path / "reports"
    runs = sorted(p for p in reports.iterdir() if p.name != "latest")
    assert len(runs) == 2, runs
    ids = set()
    for run in runs:
        report = json.loads((run / "report.json").read_text(encoding="utf-8"))
        assert run.name == f"20261129-120000-{report['run']['id'][:8]}"
        assert (run / "report.html").is_file()
        ids.add(report["run"]["id"])
    recorded = {json.loads(line)["subject"]["run_id"] for line in ledger.read_text(encoding="utf-8").splitlines()}
    assert recorded == ids  # each ledger entry points at a report that exists
    latest = reports / "latest"
    assert latest.is_symlink()
    assert (reports / Path(str(latest.readlink()))).resolve() in {r.resolve() for r in runs}
    assert sorted(p.name for p in reports.iterdir()) == sorted([*(r.name for r in runs), "latest"])  # no temp link


def test_run_directory_is_never_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, same_second: None,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(audit, "collect_all", lambda hosts, *a, **k: {
        h.name: CollectResult(h.name, None, "offline test", "DeviceUnreachable", 0.0) for h in hosts})
    monkeypatch.setattr(runs, "run_suffix", lambda run_id: "fixed")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports" / "20261129-120000-fixed").mkdir(parents=True)
    (tmp_path / "reports" / "20261129-120000-fixed" / "report.json").write_text("{}", encoding="utf-8")
    code = cli.main(["audit", "--inventory", str(ROOT / "inventory"), "-H", "ntp01", "--no-progress",
                     "--ledger", str(tmp_path / "ledger.jsonl")])
    assert code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == "ntp01: offline test (DeviceUnreachable)"  # the host's own reason, then the refusal
    assert lines[1:] == ["エラー (error): reports/20261129-120000-fixed: run directory exists already "
                         "(another run with the same id?)"]
    assert (tmp_path / "reports" / "20261129-120000-fixed" / "report.json").read_text(encoding="utf-8") == "{}"


def test_two_plans_in_the_same_second_keep_both_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      same_second: None) -> None:
    from tests.unit.changes.test_plan_show import plan_doc

    barrier = threading.Barrier(2)

    def fake_plan(*args: object, **kwargs: object) -> tuple[dict[str, Any], dict[str, Any]]:
        barrier.wait(timeout=30)
        plan = plan_doc()
        plan["plan_id"] = str(__import__("uuid").uuid4())
        return plan, {}

    monkeypatch.setattr(plan_module, "make_plan", fake_plan)
    monkeypatch.chdir(tmp_path)
    codes = _run_concurrently(2, lambda i: cli.main(["plan", "--no-progress", "--ledger",
                                                     str(tmp_path / "ledger.jsonl")]))
    assert codes == [2, 2]
    files = sorted((tmp_path / "plans").glob("*.json"))
    assert len(files) == 2, files
    assert {json.loads(f.read_text(encoding="utf-8"))["plan_id"][:8] for f in files} == {
        f.stem.rsplit("-", 1)[1] for f in files}
