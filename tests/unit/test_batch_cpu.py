"""The audit's per-host CPU cuts keep every result as it was: batch garbage collection during a run (and the
process's thresholds back after it), the report's violation/waiver records equal to dataclasses.asdict, the catalog
texts filled as str.format fills them, the evidence a finding cites unchanged."""

from __future__ import annotations

import dataclasses
import gc
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hardening import audit
from hardening.core import evaluate as evaluate_mod
from hardening.core.gcbatch import BATCH_THRESHOLD, batch_gc
from hardening.core.models import AttestationMatch, CollectResult, Violation, WaiverMatch
from hardening.core.params import fill
from hardening.core.run import RunOptions
from hardening.core.schemas import _network
from hardening.core.scope import Selection
from hardening.core.secrets import SecretStore
from hardening.report.build import _record

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def default_thresholds() -> Iterator[None]:
    saved, enabled = gc.get_threshold(), gc.isenabled()
    gc.set_threshold(700, 10, 10)
    gc.enable()
    try:
        yield
    finally:
        gc.set_threshold(*saved)
        if not enabled:
            gc.disable()


def test_batch_gc_raises_the_thresholds_and_restores_them(default_thresholds: None) -> None:
    with batch_gc():
        assert gc.get_threshold() == BATCH_THRESHOLD
        with batch_gc():                      # a nested run keeps the batch thresholds
            assert gc.get_threshold() == BATCH_THRESHOLD
        assert gc.get_threshold() == BATCH_THRESHOLD
    assert gc.get_threshold() == (700, 10, 10)


def test_batch_gc_restores_after_an_error_and_keeps_higher_thresholds(default_thresholds: None) -> None:
    with pytest.raises(RuntimeError), batch_gc():
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)
    gc.set_threshold(100_000, 5, 50)
    with batch_gc():
        assert gc.get_threshold() == (100_000, BATCH_THRESHOLD[1], 50)   # never lowered
    assert gc.get_threshold() == (100_000, 5, 50)


def test_batch_gc_leaves_a_process_without_collection_alone(default_thresholds: None) -> None:
    gc.disable()
    with batch_gc():
        assert gc.get_threshold() == (700, 10, 10)
        assert not gc.isenabled()
    gc.enable()
    gc.set_threshold(0)                       # threshold 0 disables collection too
    with batch_gc():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold()[0] == 0


def test_overlapping_runs_restore_once_the_last_one_ends(default_thresholds: None) -> None:
    entered, release = threading.Event(), threading.Event()

    def other_run() -> None:
        with batch_gc():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=other_run)
    with batch_gc():
        thread.start()
        assert entered.wait(10)
    assert gc.get_threshold() == BATCH_THRESHOLD, "the other run is still going"
    release.set()
    thread.join(10)
    assert gc.get_threshold() == (700, 10, 10)


def test_run_audit_collects_and_evaluates_under_batch_gc(default_thresholds: None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = audit.load_inputs(ROOT / "inventory", ROOT / "schemas" / "requirements")
    seen: list[tuple[int, ...]] = []

    def collect_all(hosts: list[Any], secrets: Any, run: Any, on_result: Any = None) -> dict[str, CollectResult]:
        seen.append(gc.get_threshold())
        results = {}
        for host in hosts:
            results[host.name] = CollectResult(host.name, None, "no route to host", "DeviceUnreachable", 0.1)
            if on_result is not None:
                on_result(results[host.name])
        return results

    monkeypatch.setattr(audit, "collect_all", collect_all)
    report, results = audit.run_audit(inputs, Selection(), SecretStore(), RunOptions.ssh(workers=2))
    assert seen == [BATCH_THRESHOLD]
    assert gc.get_threshold() == (700, 10, 10)
    assert report["summary"]["hosts_by_status"]["error"] == len(results) > 0


def test_report_records_equal_dataclasses_asdict_and_are_copies() -> None:
    expected = ["a", {"b": (1, 2.5, None)}, True]
    items: list[Any] = [
        Violation("/ntp/servers", "contains", expected, {"servers": [{"address": "10.0.0.1", "prefer": False}]},
                  "msg"),
        WaiverMatch("W-1", "理由", "approver", "2026-12-31", False),
        AttestationMatch(3, "auditor", "2026-01-01T00:00:00+09:00", "ab" * 32, "e.pdf", "2026-06-30", True, "s"),
    ]
    for item in items:
        record, reference = _record(item), dataclasses.asdict(item)
        assert record == reference
        assert list(record) == list(reference)
        assert repr(record) == repr(reference)          # same types (tuples stay tuples) and order
    record = _record(items[0])
    assert record["expected"] is not expected
    assert record["expected"][1] is not expected[1]


@pytest.mark.parametrize("template", [
    "no placeholder", "{min_length} 文字以上", "{servers} を参照", "{{literal}} and {min_length}", "{unknown}",
    "{0}", "a } alone", "a { alone", "", "{min_length:>5}",
])
def test_fill_gives_what_str_format_gives(template: str) -> None:
    values = {"min_length": 12, "servers": ["10.0.0.1", "10.0.0.2"]}
    shown = {k: (", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in values.items()}
    try:
        wanted = template.format(**shown)
    except (KeyError, IndexError, ValueError):
        wanted = template
    assert fill({"ja": template, "en": template}, values) == {"ja": wanted, "en": wanted}


def test_evidence_above_at_and_below_a_pointer_only() -> None:
    item = {"source": "s", "excerpt": "x"}
    doc = {"evidence": {
        "/ntp": [{"source": "above", "excerpt": "1"}],
        "/ntp/servers": [item],
        "/ntp/servers/0/address": [{"source": "below", "excerpt": "2"}],
        "/ntp_servers": [{"source": "a sibling with the same prefix", "excerpt": "3"}],
        "/ntpx/servers": [{"source": "unrelated", "excerpt": "4"}],
        "/logging": [item],                                              # the same item cited twice: once
    }}
    found = evaluate_mod._evidence_for(doc, ("/ntp/servers", "/logging"))
    assert [e["source"] for e in found] == ["above", "s", "below"]
    assert evaluate_mod._evidence_for(doc, ("/time",)) == []
    assert evaluate_mod._evidence_for({}, ("/ntp",)) == []


def test_network_parsing_is_shared_and_still_refuses_bad_text() -> None:
    assert _network("10.203.0.0/16") is _network("10.203.0.0/16")
    assert str(_network("10.203.5.7/16")) == "10.203.0.0/16"      # strict=False, as before
    assert _network("not-an-address") is None
    assert _network(None) is None
