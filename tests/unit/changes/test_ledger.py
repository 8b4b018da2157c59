"""The change ledger is append-only and hash-chained: every kind of tampering is found and located."""

from __future__ import annotations

import errno
import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
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
    assert _kinds_at(result) == {(3, "torn")}
    with pytest.raises(LedgerTamperedError) as info:
        Ledger(path).append("tanaka", "audit", {})
    assert "hardening ledger repair" in str(info.value)
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


# -- a full disk never leaves half an entry; a torn tail is told from tampering and repaired on the record ----------


def test_append_on_a_full_disk_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = _fill(path, 3)
    before = path.read_bytes()
    real_write = os.write

    def half_then_enospc(fd: int, data: Any) -> int:
        if fd > 2 and len(data) > 40:  # the entry: half of it reaches the disk, then the disk is full
            real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", half_then_enospc)
    with pytest.raises(LedgerError) as info:
        ledger.append("tanaka", "apply", {"plan_id": "p-9", "hosts": ["web01"]})
    monkeypatch.undo()
    assert str(path) in str(info.value)
    assert "No space left on device" in str(info.value)
    assert path.read_bytes() == before
    assert ledger.verify().ok
    assert ledger.append("tanaka", "audit", {})["seq"] == 3


_FILL_UNDER_LIMIT = """
import resource, sys
from hardening.changes.ledger import Ledger, LedgerError
ledger = Ledger(sys.argv[1])
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    ledger.append("tanaka", "apply", {"padding": "x" * 4000})
except LedgerError as exc:
    print("refused:", exc)
    sys.exit(3)
"""


def test_append_past_the_file_size_limit_leaves_the_ledger_whole(tmp_path: Path) -> None:
    """A real short write from the kernel (RLIMIT_FSIZE, as a full disk gives): the file is cut back."""
    path = tmp_path / "ledger.jsonl"
    ledger = _fill(path, 3)
    before = path.read_bytes()
    proc = subprocess.run([sys.executable, "-c", _FILL_UNDER_LIMIT, str(path), str(len(before) + 1000)],
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "File too large" in proc.stdout
    assert path.read_bytes() == before
    assert ledger.verify().ok


def test_verify_tells_a_torn_tail_from_tampering(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    _fill(path, 4)
    data = path.read_bytes()
    path.write_bytes(data + b'{"seq":4,"at":"2026-')  # an append the disk filled up halfway
    torn = Ledger(path).verify()
    assert _kinds_at(torn) == {(5, "torn")}
    assert "hardening ledger repair" in torn.problems[0]["message"]
    lines = data.splitlines(keepends=True)
    lines[1] = lines[1].replace(b"operator-1", b"mallory", 1)
    path.write_bytes(b"".join(lines) + b'{"seq":4,')
    tampered = Ledger(path).verify()
    assert (2, "hash") in _kinds_at(tampered)
    assert (5, "torn") in _kinds_at(tampered)


def test_repair_cuts_the_torn_tail_and_records_what_was_cut(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = _fill(path, 4)
    torn = b'{"seq":4,"at":"2026-11-29","actor":"tanaka","subject":{"password":"hunter2'
    path.write_bytes(path.read_bytes() + torn)
    entry = ledger.repair("admin")
    assert entry["action"] == "repair"
    assert entry["seq"] == 4
    assert entry["subject"]["cut_bytes"] == len(torn)
    assert entry["subject"]["cut_sha256"] == "sha256:" + hashlib.sha256(torn).hexdigest()
    assert b"hunter2" not in path.read_bytes()
    assert ledger.verify().ok
    assert ledger.append("tanaka", "audit", {})["seq"] == 5


def test_repair_completes_an_entry_that_lost_only_its_line_end(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = _fill(path, 4)
    whole = path.read_bytes()
    path.write_bytes(whole[:-1])
    entry = ledger.repair("admin")
    assert entry["subject"] == {"completed_seq": 3, "added": "line end"}
    assert path.read_bytes().startswith(whole)
    assert ledger.verify().ok
    assert ledger.verify().entries == 5


def test_repair_refuses_a_tampered_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    _fill(path, 4)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"operator-1", b"mallory", 1)
    path.write_bytes(b"".join(lines) + b'{"seq":4,')
    before = path.read_bytes()
    with pytest.raises(LedgerTamperedError) as info:
        Ledger(path).repair("admin")
    assert "line 2" in str(info.value)
    assert path.read_bytes() == before
    intact = tmp_path / "intact.jsonl"
    _fill(intact, 2)
    with pytest.raises(LedgerError):
        Ledger(intact).repair("admin")  # nothing to repair


def test_cli_verify_names_the_torn_tail_and_repair_fixes_it(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from hardening import cli

    path = tmp_path / "ledger.jsonl"
    _fill(path, 3)
    path.write_bytes(path.read_bytes() + b'{"seq":3')
    assert cli.main(["ledger", "verify", "--ledger", str(path)]) == 1
    err = capsys.readouterr().err
    assert "torn" in err
    assert "hardening ledger repair" in err
    assert cli.main(["ledger", "repair", "--ledger", str(path)]) == 0
    assert cli.main(["ledger", "verify", "--ledger", str(path)]) == 0
    assert _entries(path)[-1]["action"] == "repair"
