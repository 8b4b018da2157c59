"""run_audit evaluates each live host as its result arrives (while the others are still being collected), with the
same findings as evaluating them all after the last one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hardening import audit
from hardening.core.models import CollectResult
from hardening.core.run import RunOptions
from hardening.core.scope import Selection
from hardening.core.secrets import SecretStore

ROOT = Path(__file__).resolve().parents[2]


def fake_collect(events: list[str]) -> Any:
    def collect_all(hosts: list[Any], secrets: Any, run: Any, on_result: Any = None) -> dict[str, CollectResult]:
        results = {}
        for host in hosts:
            result = CollectResult(host.name, None, "no route to host", "DeviceUnreachable", 0.1)
            events.append(f"collected {host.name}")
            if on_result is not None:
                on_result(result)
            results[host.name] = result
        events.append("collection done")
        return results
    return collect_all


def test_each_host_is_evaluated_as_its_result_arrives(monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = audit.load_inputs(ROOT / "inventory", ROOT / "schemas" / "requirements")
    events: list[str] = []
    evaluate = audit.evaluate_host

    def evaluate_host(host: Any, result: CollectResult, *args: Any) -> Any:
        events.append(f"evaluated {host.name}")
        return evaluate(host, result, *args)

    monkeypatch.setattr(audit, "collect_all", fake_collect(events))
    monkeypatch.setattr(audit, "evaluate_host", evaluate_host)
    seen: list[str] = []
    report, results = audit.run_audit(inputs, Selection(), SecretStore(), RunOptions.ssh(workers=2),
                                      on_result=lambda r: seen.append(r.host))
    names = list(results)
    assert len(names) > 1
    assert seen == names, "the caller's on_result still sees every result"
    assert events.index(f"evaluated {names[0]}") < events.index(f"collected {names[1]}")
    assert events.index("collection done") > max(events.index(f"evaluated {n}") for n in names)
    assert sum(e.startswith("evaluated") for e in events) == len(names), "each host evaluated once"
    # the same findings as an evaluation after the collection
    monkeypatch.setattr(audit, "evaluate_host", evaluate)
    statuses = {(f["host"], f["requirement"]): f["status"] for f in report["findings"]}
    late = {(h.name, f.requirement): f.status.value for h in inputs.inventory.hosts.values()
            for f in evaluate(h, results[h.name], list(inputs.catalog.values()), inputs.inventory.parameters,
                              inputs.waivers, audit.dt.date.fromisoformat(report["run"]["started_at"][:10]))}
    assert statuses == late


def test_an_evaluation_that_fails_while_collecting_is_done_again_after_and_raises_there(
        monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = audit.load_inputs(ROOT / "inventory", ROOT / "schemas" / "requirements")
    events: list[str] = []

    def evaluate_host(host: Any, result: CollectResult, *args: Any) -> Any:
        events.append(f"evaluated {host.name}")
        raise RuntimeError("evaluation bug")

    monkeypatch.setattr(audit, "collect_all", fake_collect(events))
    monkeypatch.setattr(audit, "evaluate_host", evaluate_host)
    with pytest.raises(RuntimeError, match="evaluation bug"):
        audit.run_audit(inputs, Selection(), SecretStore(), RunOptions.ssh(workers=2))
    assert events[-1].startswith("evaluated")
    assert events[-2] == "collection done"


def test_each_host_is_handed_to_the_sink_as_it_is_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    """on_host streams each host's (host entry, finding entries) before the next host is collected: exactly the
    report's /hosts entry and /findings of that host, once per host (issue 11 item 6: stream as hosts finish)."""
    inputs = audit.load_inputs(ROOT / "inventory", ROOT / "schemas" / "requirements")
    events: list[str] = []
    monkeypatch.setattr(audit, "collect_all", fake_collect(events))
    handed: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []

    def sink(host_entry: dict[str, Any], finding_entries: list[dict[str, Any]]) -> None:
        events.append(f"handed {host_entry['name']}")
        handed.append((host_entry, finding_entries))

    report, results = audit.run_audit(inputs, Selection(), SecretStore(), RunOptions.ssh(workers=2), on_host=sink)
    names = list(results)
    assert [h["name"] for h, _ in handed] == names
    assert events.index(f"handed {names[0]}") < events.index(f"collected {names[1]}")
    assert [h for h, _ in handed] == report["hosts"]
    assert [f for _, fs in handed for f in fs] == report["findings"]


def test_a_sink_that_fails_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = audit.load_inputs(ROOT / "inventory", ROOT / "schemas" / "requirements")
    monkeypatch.setattr(audit, "collect_all", fake_collect([]))
    calls: list[str] = []

    def sink(host_entry: dict[str, Any], finding_entries: list[dict[str, Any]]) -> None:
        calls.append(host_entry["name"])
        raise OSError("database gone")

    with pytest.raises(OSError, match="database gone"):
        audit.run_audit(inputs, Selection(), SecretStore(), RunOptions.ssh(workers=2), on_host=sink)
    assert len(calls) == 1, "no host is handed to a sink that failed"
