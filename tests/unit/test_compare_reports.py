"""lab/compare_reports.py, the before/after check of a refactoring, sees a changed verdict and ignores volatile
values (clock offsets, pids, times)."""

from __future__ import annotations

import copy
import json
import runpy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
tool = runpy.run_path(str(ROOT / "lab" / "compare_reports.py"))


def _report() -> dict[str, Any]:
    finding = {"host": "web01", "requirement": "TIME-SYNC", "status": "pass", "evaluated_status": "pass",
               "clause": "第2章 7(1)イ", "severity": "high", "parameters": {}, "waiver": None, "violations": [],
               "actual": {"/time/offset_ms_abs": 0.004}, "evidence": [{"source": "cmd:chronyc", "excerpt": "pid 42"}]}
    return {"findings": [finding], "hosts": [{"name": "web01", "status": "pass", "platform": "linux"}],
            "summary": {"exit_code": 0}, "run": {"id": "a"}}


def test_volatile_values_are_not_differences_but_a_verdict_is(tmp_path: Path) -> None:
    before = _report()
    volatile = copy.deepcopy(before)
    volatile["findings"][0]["actual"] = {"/time/offset_ms_abs": 0.07}
    volatile["findings"][0]["evidence"][0]["excerpt"] = "pid 43"
    volatile["run"]["id"] = "b"
    changed = copy.deepcopy(before)
    changed["findings"][0]["status"] = changed["findings"][0]["evaluated_status"] = "fail"
    paths = {}
    for name, document in (("before", before), ("volatile", volatile), ("changed", changed)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(document), encoding="utf-8")
    assert tool["main"]([str(paths["before"]), str(paths["volatile"])]) == 0
    assert tool["main"]([str(paths["before"]), str(paths["changed"])]) == 1
