"""The change ledger is append-only and hash-chained: every kind of tampering is found and located."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from hardening.changes.ledger import (
    GENESIS,
    Ledger,
    LedgerError,
    LedgerTamperedError,
    VerifyResult,
    entry_hash,
)
from hardening.core.secrets import REDACTOR


def _fill(path: Path, count: int) -> Ledger:
    ledger = Ledger(path)
    for index in range(count):
        ledger.append(f"operator-{index % 2}", "audit", {"hosts": [f"srv{index:02d}"], "counts": {"fail": index}})
    return ledger


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _lines(path)]


def _write(path: Path, entries: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")


def _kinds_at(result: VerifyResult) -> set[tuple[int, str]]:
    return {(p["line"], p["kind"]) for p in result.problems}


def test_append_chains_and_verifies(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path)
    first = ledger.append("tanaka", "plan", {"plan_id": "p-1", "hosts": ["web01"], "日本語": "変更計画"})
    second = ledger.append("suzuki", "approve", {"plan_id": "p-1"})
    assert first["seq"] == 0
    assert first["prev"] == GENESIS
    assert second["seq"] == 1
    assert second["prev"] == first["hash"]
    assert first["hash"] == entry_hash(first)
    assert first["at"].endswith("+00:00")
    assert _entries(path) == [first, second]
    assert "変更計画" in path.read_text(encoding="utf-8")  # UTF-8, not \u escapes
    result = ledger.verify()
    assert result.ok
    assert result.entries == 2
    assert result.problems == []
    assert result.head == (1, second["hash"])
    assert ledger.head() == (1, second["hash"])


def test_subject_is_normalised_so_the_file_reproduces_the_hash(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    entry = ledger.append("tanaka", "audit", {"hosts": ("a", "b"), 3: "three"})
    assert entry["subject"] == {"hosts": ["a", "b"], "3": "three"}
    assert ledger.verify().ok


@pytest.mark.parametrize("subject", [{"x": float("nan")}, {"x": object()}, ["not", "a", "mapping"]])
def test_non_json_subject_is_refused_and_nothing_written(tmp_path: Path, subject: Any) -> None:
    path = tmp_path / "ledger.jsonl"
    with pytest.raises(LedgerError) as info:
        Ledger(path).append("tanaka", "audit", subject)
    assert "subject" in str(info.value)
    assert not path.exists() or path.read_bytes() == b""


def test_bad_action_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LedgerError) as info:
        Ledger(tmp_path / "ledger.jsonl").append("tanaka", "Drop Table", {})
    assert "/action" in str(info.value)


def test_missing_file_does_not_verify(tmp_path: Path) -> None:
    result = Ledger(tmp_path / "absent.jsonl").verify()
    assert not result.ok
    assert result.problems[0]["kind"] == "missing"
    assert Ledger(tmp_path / "absent.jsonl").head() is None


def test_edited_entry_is_found_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    _fill(path, 6)
    entries = _entries(path)
    entries[3]["actor"] = "mallory"  # entry k=3 -> line 4
    _write(path, entries)
    result = Ledger(path).verify()
    assert not result.ok
    assert result.problems == [{"line": 4, "seq": 3, "kind": "hash", "message": result.problems[0]["message"]}]
    assert "edited" in result.problems[0]["message"]


def test_edited_entry_with_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    _fill(path, 6)
    entries = _entries(path)
    entries[2]["subject"]["counts"]["fail"] = 0
    entries[2]["hash"] = entry_hash(entries[2])
    _write(path, entries)
    result = Ledger(path).verify()
    assert _kinds_at(result) == {(4, "prev")}
    assert result.problems[0]["seq"] == 3


def test_deleted_entry_is_found_with_position(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    _fill(path, 6)
    lines = _lines(path)
    del lines[2]  # seq 2
    path.write_text("".join(lines), encoding="utf-8")
    result = Ledger(path).verify()
    assert not result.ok
    assert _kinds_at(result) == {(3, "seq"), (3, "prev")}
    seq_problem = next(p for p in result.problems if p["kind"] == "seq")
    assert seq_problem["seq"] == 3
    assert "expected seq 2" in seq_problem["message"]


def test_deleted_first_entry_is_found(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    _fill(path, 3)
    path.write_text("".join(_lines(path)[1:]), encoding="utf-8")
    assert _kinds_at(Ledger(path).verify()) == {(1, "seq"), (1, "prev")}


def test_inserted_forged_entry_with_its_own_hash_is_found(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    _fill(path, 5)
    entries = _entries(path)
    forged = {"seq": 3, "at": entries[3]["at"], "actor": "mallory", "action": "approve",
              "subject": {"plan_id": "evil"}, "prev": entries[2]["hash"]}
    forged["hash"] = entry_hash(forged)  # a perfectly self-consistent entry, chained onto seq 2
    _write(path, [*entries[:3], forged, *entries[3:]])
    result = Ledger(path).verify()
    assert not result.ok
    # The forged entry itself is fine; the genuine seq 3 on the next line no longer chains onto it.
    prev_problems = [p for p in result.problems if p["kind"] == "prev"]
    assert prev_problems[0]["line"] == 5
    assert prev_problems[0]["seq"] == 3
    assert (5, "seq") in _kinds_at(result)


def test_swapped_entries_are_found(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    _fill(path, 6)
    lines = _lines(path)
    lines[2], lines[3] = lines[3], lines[2]
    path.write_text("".join(lines), encoding="utf-8")
    result = Ledger(path).verify()
    assert not result.ok
    assert min(p["line"] for p in result.problems) == 3
    assert {(3, "seq"), (3, "prev"), (4, "seq"), (4, "prev")} <= _kinds_at(result)
    assert all(p["kind"] != "hash" for p in result.problems)


@pytest.mark.parametrize(
    ("garbage", "kind"),
    [
        (b'{"seq": 2, "actor": \n', "garbled"),
        (b"\xff\xfe not utf-8\n", "garbled"),
        (b"\n", "garbled"),
        (b'{"seq": 2, "hello": "world"}\n', "schema"),
    ],
)
def test_garbled_line_is_found(tmp_path: Path, garbage: bytes, kind: str) -> None:
    path = tmp_path / "ledger.jsonl"
    _fill(path, 5)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = garbage
    path.write_bytes(b"".join(lines))
    result = Ledger(path).verify()
    assert not result.ok
    assert result.problems[0]["line"] == 3
    assert result.problems[0]["kind"] == kind
    assert result.entries == 4


def test_duplicate_keys_are_garbled(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    _fill(path, 2)
    lines = _lines(path)
    # The raw line would show "alice" first while every parser uses the genuine value: refuse the ambiguity.
    lines[1] = lines[1].replace('{"action"', '{"actor":"alice","action"', 1)
    path.write_text("".join(lines), encoding="utf-8")
    result = Ledger(path).verify()
    assert (2, "garbled") in _kinds_at(result)
    assert "duplicate key" in result.problems[0]["message"]


def test_cut_last_line_is_found_and_blocks_appends(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    _fill(path, 3)
    data = path.read_bytes()
    path.write_bytes(data[:-20])
    result = Ledger(path).verify()
    assert (3, "garbled") in _kinds_at(result)
    with pytest.raises(LedgerTamperedError):
        Ledger(path).append("tanaka", "audit", {})
    assert path.read_bytes() == data[:-20]


def test_truncated_tail_found_only_with_the_anchor(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = _fill(path, 6)
    anchor = ledger.head()
    assert anchor is not None
    assert anchor[0] == 5
    path.write_text("".join(_lines(path)[:4]), encoding="utf-8")  # drop seq 4 and 5
    assert ledger.verify().ok  # the documented limit: a shortened chain is still a valid chain
    result = ledger.verify(expected_head=anchor)
    assert not result.ok
    assert result.problems[0]["kind"] == "head"
    assert result.problems[0]["seq"] == 5
    assert "ends at seq 3" in result.problems[0]["message"]


def test_anchor_allows_later_appends_but_not_rewrites(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = _fill(path, 4)
    anchor = ledger.head()
    assert anchor is not None
    ledger.append("tanaka", "apply", {"plan_id": "p-2"})
    assert ledger.verify(expected_head=anchor).ok
    # Rewrite history from seq 2 on with every hash recomputed: the chain alone cannot see it, the anchor can.
    entries = _entries(path)
    entries[2]["actor"] = "mallory"
    for index in range(2, len(entries)):
        entries[index]["prev"] = entries[index - 1]["hash"]
        entries[index]["hash"] = entry_hash(entries[index])
    _write(path, entries)
    assert ledger.verify().ok
    result = ledger.verify(expected_head=anchor)
    assert [(p["line"], p["seq"], p["kind"]) for p in result.problems] == [(4, 3, "head")]


def test_append_refuses_to_extend_a_tampered_tail(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    _fill(path, 3)
    entries = _entries(path)
    entries[-1]["action"] = "rollback"
    _write(path, entries)
    before = path.read_bytes()
    with pytest.raises(LedgerTamperedError) as info:
        Ledger(path).append("tanaka", "audit", {})
    assert "seq 2" in str(info.value)
    assert path.read_bytes() == before
    with pytest.raises(LedgerTamperedError):
        Ledger(path).head()


def _worker(path: str, worker: int, count: int) -> None:
    ledger = Ledger(path)
    for index in range(count):
        ledger.append(f"worker-{worker}", "audit", {"worker": worker, "index": index})


def test_concurrent_appends_from_processes_make_one_valid_chain(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    workers, per_worker = 4, 30
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(str(path), w, per_worker)) for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * workers
    result = Ledger(path).verify()
    assert result.ok, result.problems
    assert result.entries == workers * per_worker
    entries = _entries(path)
    assert [e["seq"] for e in entries] == list(range(workers * per_worker))
    pairs = {(e["subject"]["worker"], e["subject"]["index"]) for e in entries}
    assert len(pairs) == workers * per_worker


def test_registered_secret_never_reaches_the_file(tmp_path: Path) -> None:
    secret = "enable-secret-Xy7!q2-ledger"  # noqa: S105 - the point of the test
    REDACTOR.register(secret)
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path)
    entry = ledger.append(f"tanaka ({secret})", "apply", {
        "command": f"enable secret {secret}",
        "nested": [{"value": secret}],
        secret: "as a key",
    })
    data = path.read_bytes()
    assert secret.encode() not in data
    assert b"***" in data
    assert secret not in json.dumps(entry, ensure_ascii=False)
    assert ledger.verify().ok
