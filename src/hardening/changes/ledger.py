"""The change ledger: an append-only, hash-chained record of every audit, plan, approval, apply and rollback.

Policy 第2章 6(1)④イ: 「システム変更等の作業を行った場合は、作業内容について記録を作成し、詐取、改ざん等をされない
ように適正に管理しなければならない。」 This module makes the record *tamper-evident*; keeping it where it cannot be
rewritten (permissions, a copy elsewhere, a WORM store) is the operator's part.

Format: JSON Lines, UTF-8, one entry per line (schemas/ledger-entry.schema.json)::

    {"action":"plan","actor":"tanaka","at":"…+00:00","hash":"sha256:…","prev":"sha256:…","seq":3,"subject":{…}}

``hash`` is :func:`hardening.report.build.canonical_digest` of the entry without ``hash`` (sorted keys, separators
``(",", ":")``, UTF-8 without ASCII escaping); ``prev`` is the previous entry's ``hash`` (64 zeros for seq 0).

What the chain detects (:meth:`Ledger.verify`, each problem with its line number and seq):

- an edited entry (its content no longer matches its ``hash``) -> kind ``hash``;
- an edited entry whose ``hash`` was recomputed -> the next entry's ``prev`` no longer matches -> kind ``prev``;
- a deleted, inserted, duplicated or reordered entry -> kinds ``seq`` and/or ``prev`` where the chain breaks;
- a line that is not UTF-8, not JSON, or has duplicate keys -> kind ``garbled``; valid JSON that is not a ledger
  entry -> kind ``schema``;
- a last line without its line end -> kind ``torn``: a write that was interrupted (a crash, or a full disk under an
  older version). It is the one recoverable problem: :meth:`Ledger.repair` (``hardening ledger repair``) completes
  it if it is a whole entry chained onto the one before, else cuts it, and records the repair as an entry (length
  and sha256 of what was cut, never its content); it refuses a ledger with any other problem.

What it cannot detect on its own:

- removal of the *last* entries (the shortened file is still a valid chain): record the head
  (:meth:`Ledger.head`) somewhere else (a report, a ticket, a second machine) and pass it to
  ``verify(expected_head=…)``; the ledger must then contain that entry with that hash;
- a complete rewrite by someone who recomputes every hash from the point of change onward (a hash chain has no
  secret): the same external anchor catches it as long as the anchor names an entry at or after the change;
- entries appended after the last anchor that were never anchored: anything after the anchor is only as good as the
  file's own protection;
- a wrong clock: ``at`` is what the appending machine believed.

Concurrency: appends from several processes on one machine are serialised by ``fcntl.flock`` on the ledger file
(advisory; it does not hold across NFS clients that lack lock support). Each entry is written on an ``O_APPEND``
descriptor and ``fsync``-ed before the lock is released; a write or fsync that fails (ENOSPC, EDQUOT, EFBIG) cuts the
file back to its size before the write, so an append is all or nothing.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from jsonschema.exceptions import best_match

from hardening.core.errors import InputError
from hardening.core.schemas import validator
from hardening.core.secrets import REDACTOR
from hardening.report.build import canonical_digest

SCHEMA = "ledger-entry.schema.json"
GENESIS = "sha256:" + "0" * 64
#: The actions the project writes; the schema accepts any lower-case word so later stages can add their own.
ACTIONS = ("audit", "plan", "approve", "apply_started", "apply", "rollback", "verify", "repair", "attest")
#: An entry larger than this is refused: the ledger records *what* happened, the evidence lives in reports.
MAX_ENTRY_BYTES = 1024 * 1024
_CHUNK = 64 * 1024
TORN = "the last line has no line end (a write was interrupted: full disk, crash, or the file was cut short)"


class LedgerError(InputError):
    """The ledger cannot be written or read as asked (bad subject, unreadable file). Names the file and place."""


class LedgerTamperedError(LedgerError):
    """The last entry does not verify, so nothing is chained onto it. Run `Ledger.verify()` to see the damage."""


class Problem(TypedDict):
    """One finding of :meth:`Ledger.verify`: 1-based line number (0: the file as a whole), seq if readable."""

    line: int
    seq: int | None
    kind: str  # missing | torn (recoverable) | garbled | schema | hash | seq | prev | head
    message: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :meth:`Ledger.verify`. ``entries`` counts lines that are well-formed ledger entries."""

    ok: bool
    entries: int
    problems: list[Problem] = field(default_factory=list)
    head: tuple[int, str] | None = None  # (seq, hash) of the last well-formed entry


def entry_hash(entry: Mapping[str, Any]) -> str:
    """The ``hash`` an entry must carry: canonical digest of the entry without its ``hash`` member."""
    return canonical_digest({key: value for key, value in entry.items() if key != "hash"})


def _dumps(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A duplicated key lets the raw line show one value while every parser uses the other: refuse it.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)


def _scrub(value: Any) -> Any:
    """REDACTOR.scrub_obj, keys included: a secret used as a key must not reach the file either."""
    if isinstance(value, dict):
        return {REDACTOR.scrub(key): _scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return REDACTOR.scrub_obj(value)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, int | None, str, str]:
    """Parse one line: (entry or None, seq if readable, problem kind, problem message); kind "" when fine."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, None, "garbled", f"not UTF-8 text (byte {exc.start})"
    if not text.strip():
        return None, None, "garbled", "empty line"
    try:
        document = _loads(text)
    except ValueError as exc:  # JSONDecodeError is a ValueError; so are duplicate keys and NaN
        return None, None, "garbled", f"not a JSON entry: {exc}"
    if not isinstance(document, dict):
        return None, None, "garbled", "not a JSON object"
    seq = document.get("seq")
    seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
    errors = list(validator(SCHEMA).iter_errors(document))
    if errors:
        worst = best_match(errors) or errors[0]
        pointer = "/" + "/".join(str(part) for part in worst.absolute_path)
        return None, seq, "schema", f"not a ledger entry: at {pointer}: {worst.message[:200]}"
    return document, seq, "", ""


def _problem(line: int, seq: int | None, kind: str, message: str) -> Problem:
    return {"line": line, "seq": seq, "kind": kind, "message": message}


class Ledger:
    """One ledger file. Cheap to construct; every call opens, locks and closes the file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    # -- writing -------------------------------------------------------------------------------------------------

    def append(self, actor: str, action: str, subject: Mapping[str, Any]) -> dict[str, Any]:
        """Append one entry and return it (with seq, at, prev and hash filled in).

        The subject is normalised to plain JSON and scrubbed of every secret registered with REDACTOR before it is
        written. Raises LedgerError for a subject that is not plain JSON data or an entry the schema refuses, and
        LedgerTamperedError when the current last entry does not verify (nothing is written then).
        """
        clean_subject = self._clean_subject(subject)
        clean_actor = REDACTOR.scrub(actor) if isinstance(actor, str) else actor
        with self._locked_for_append() as fd:
            return self._write_entry(fd, clean_actor, action, clean_subject)

    @contextmanager
    def _locked_for_append(self) -> Iterator[int]:
        """The ledger opened for appending, under the exclusive lock (created if absent, its directory synced)."""
        existed = self.path.exists()
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise LedgerError(str(self.path), "/", f"cannot open the ledger for appending ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if not existed:
                self._sync_directory()
            yield fd
        finally:
            os.close(fd)  # also releases the lock

    def _write_entry(self, fd: int, actor: str, action: str, subject: dict[str, Any]) -> dict[str, Any]:
        """Chain one entry onto the verified tail and write it all or nothing (the lock is held by the caller).

        A write or fsync that fails (a full disk, a quota, a file size limit) cuts the file back to its size before
        the write, so no half entry stays behind to block later runs; LedgerError names the file and the cause.
        """
        file = str(self.path)
        last = self._verified_tail(fd)
        entry: dict[str, Any] = {
            "seq": 0 if last is None else last["seq"] + 1,
            "at": _now(),
            "actor": actor,
            "action": action,
            "subject": subject,
            "prev": GENESIS if last is None else last["hash"],
        }
        entry["hash"] = entry_hash(entry)
        errors = list(validator(SCHEMA).iter_errors(entry))
        if errors:
            worst = best_match(errors) or errors[0]
            where = "new entry /" + "/".join(str(part) for part in worst.absolute_path)
            raise LedgerError(file, where, REDACTOR.scrub(worst.message[:200]))
        data = (_dumps(entry) + "\n").encode("utf-8")
        if len(data) > MAX_ENTRY_BYTES:
            raise LedgerError(file, "new entry /subject", f"entry is {len(data)} bytes; at most "
                              f"{MAX_ENTRY_BYTES} are kept (put bulky evidence in a report and log its digest)")
        size = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except OSError as exc:
            cut = self._cut_back(fd, size)
            raise LedgerError(file, f"new entry (seq {entry['seq']})", f"cannot write the ledger ({exc.strerror}); "
                              f"nothing was recorded{cut}") from None
        return entry

    @staticmethod
    def _cut_back(fd: int, size: int) -> str:
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        except OSError as exc:
            return (f"; cutting the partial entry back failed too ({exc.strerror}): run `hardening ledger repair` "
                    "when there is space")
        return f" (the file is back at its previous {size} bytes)"

    def _clean_subject(self, subject: Mapping[str, Any]) -> dict[str, Any]:
        file = str(self.path)
        if not isinstance(subject, Mapping):
            raise LedgerError(file, "new entry /subject", f"must be a JSON object, not {type(subject).__name__}")
        try:
            # The round trip through JSON text is what makes the hash reproducible from the file: tuples become
            # lists, int keys become strings, and anything that is not plain JSON data is refused here.
            text = json.dumps(dict(subject), ensure_ascii=False, allow_nan=False)
            text.encode("utf-8")
            normalised = _loads(text)
        except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
            raise LedgerError(file, "new entry /subject",
                              f"not plain JSON data: {REDACTOR.scrub(str(exc))[:200]}") from None
        cleaned: dict[str, Any] = _scrub(normalised)
        return cleaned

    def _sync_directory(self) -> None:
        # A new file's directory entry must be durable too, or a crash can lose the whole ledger.
        try:
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)

    # -- reading the tail ----------------------------------------------------------------------------------------

    def _verified_tail(self, fd: int) -> dict[str, Any] | None:
        """The last entry, checked against its own hash and the schema; None for an empty file."""
        file = str(self.path)
        size = os.fstat(fd).st_size
        if size == 0:
            return None
        if os.pread(fd, 1, size - 1) != b"\n":
            raise LedgerTamperedError(file, "end of file", f"torn tail: {TORN}; refusing to append until it is "
                                      "repaired: run `hardening ledger repair`")
        end = size - 1  # the final newline
        buffer = b""
        while True:
            start = max(0, end - _CHUNK)
            buffer = os.pread(fd, end - start, start) + buffer
            newline = buffer.rfind(b"\n")
            if newline >= 0:
                raw = buffer[newline + 1:]
                break
            if start == 0:
                raw = buffer
                break
            if len(buffer) > MAX_ENTRY_BYTES:
                raise LedgerTamperedError(file, "last line", f"longer than {MAX_ENTRY_BYTES} bytes: not an entry "
                                          "this ledger wrote; refusing to append: run verify")
            end = start
        entry, seq, kind, message = _parse(raw)
        where = "last line" if seq is None else f"last line (seq {seq})"
        if entry is None:
            raise LedgerTamperedError(file, where, f"{kind}: {message}; refusing to append: run verify")
        if entry_hash(entry) != entry["hash"]:
            raise LedgerTamperedError(file, where, "the entry does not match its hash (edited after it was "
                                      "written); refusing to append: run verify")
        return entry

    def head(self) -> tuple[int, str] | None:
        """(seq, hash) of the last entry, to be kept elsewhere as an anchor; None if the ledger is empty or absent.

        Raises LedgerTamperedError if the last entry does not verify (an anchor on a forged entry is worthless).
        """
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LedgerError(str(self.path), "/", f"cannot read the ledger ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            last = self._verified_tail(fd)
        finally:
            os.close(fd)
        return None if last is None else (last["seq"], last["hash"])

    # -- verifying the whole file --------------------------------------------------------------------------------

    @contextmanager
    def _locked_lines(self) -> Iterator[Iterator[bytes]]:
        with self.path.open("rb") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)  # no half-written line from a concurrent append
            yield iter(handle)

    def verify(self, expected_head: tuple[int, str] | None = None) -> VerifyResult:
        """Walk the whole chain; report every break with its line number and seq.

        ``expected_head``: a (seq, hash) recorded earlier by :meth:`head`. The ledger must contain that entry with
        that hash; if it ends before it, entries were cut off the end (a problem of kind ``head``). Entries appended
        after the anchor are fine. Without an anchor, removal of the last entries cannot be detected.
        A last line without its line end is kind ``torn``: an interrupted write, recoverable with :meth:`repair`;
        every other kind means the file was damaged or tampered with.
        Raises LedgerError only when the file exists but cannot be read; a missing file is a problem (kind
        ``missing``), not an error, so that deleting the ledger never verifies as ok.
        """
        if expected_head is not None:
            anchor_seq, anchor_hash = expected_head
            if not isinstance(anchor_seq, int) or anchor_seq < 0 or not isinstance(anchor_hash, str):
                raise ValueError("expected_head must be (seq >= 0, 'sha256:…') as returned by Ledger.head()")
        walk = _Walk()
        try:
            with self._locked_lines() as lines:
                for raw in lines:
                    walk.feed(raw)
        except FileNotFoundError:
            return VerifyResult(False, 0, [_problem(0, None, "missing", f"ledger file not found: {self.path}")])
        except OSError as exc:
            raise LedgerError(str(self.path), "/", f"cannot read the ledger ({exc.strerror})") from None
        problems = list(walk.problems)
        if expected_head is not None:
            problems += self._check_anchor(expected_head, walk.by_seq, walk.last, walk.last_line, walk.number)
        head = None if walk.last is None else (walk.last["seq"], walk.last["hash"])
        return VerifyResult(not problems, walk.count, problems, head)

    def intact_entries(self, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The entries ``keep`` selects, read only from a ledger whose whole chain verifies.

        What apply and approve rely on (who planned a plan, which approvals were used) is read here, so an entry
        written beside the chain, or a chain edited anywhere, is never believed. A missing ledger has no entries.
        Raises LedgerTamperedError naming the first problem (line, seq, kind) when the chain does not verify.
        """
        walk = _Walk(keep)
        try:
            with self._locked_lines() as lines:
                for raw in lines:
                    walk.feed(raw)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise LedgerError(str(self.path), "/", f"cannot read the ledger ({exc.strerror})") from None
        if walk.problems:
            first = walk.problems[0]
            more = f" (+{len(walk.problems) - 1} more)" if len(walk.problems) > 1 else ""
            raise LedgerTamperedError(str(self.path), f"line {first['line']} (seq {first['seq']})",
                                      f"{first['kind']}: {first['message']}{more}; run `hardening ledger verify`")
        return walk.kept

    # -- repairing a torn tail -----------------------------------------------------------------------------------

    def repair(self, actor: str) -> dict[str, Any]:
        """Make a ledger whose only problem is a torn tail usable again, and record the repair in it.

        A torn last line that is a whole entry chained onto the one before (only its line end was lost) is
        completed; anything else is cut off, and the repair entry records its length and sha256 (never its content,
        which may be half of anything). Returns the repair entry. Raises LedgerError when there is nothing to repair
        and LedgerTamperedError when the chain before the tail does not verify: tampering is not repaired.
        """
        file = str(self.path)
        clean_actor = REDACTOR.scrub(actor)
        with self._locked_for_append() as fd:
            size = os.fstat(fd).st_size
            data = os.pread(fd, size, 0) if size else b""
            if not data or data.endswith(b"\n"):
                raise LedgerError(file, "end of file", "the ledger has no torn tail: nothing to repair "
                                  "(run `hardening ledger verify` for other problems)")
            cut = data.rfind(b"\n") + 1
            walk = _Walk()
            for raw in data[:cut].splitlines(keepends=True):
                walk.feed(raw)
            if walk.problems:
                first = walk.problems[0]
                raise LedgerTamperedError(file, f"line {first['line']} (seq {first['seq']})",
                                          f"{first['kind']}: {first['message']}: the ledger is damaged before its "
                                          "tail; not repairing (run `hardening ledger verify`)")
            tail = data[cut:]
            whole = walk.whole_next(tail)
            if whole is not None:
                self._write_or_fail(fd, b"\n", size)
                subject: dict[str, Any] = {"completed_seq": whole["seq"], "added": "line end"}
            else:
                os.ftruncate(fd, cut)
                os.fsync(fd)
                subject = {"cut_bytes": len(tail), "cut_sha256": "sha256:" + hashlib.sha256(tail).hexdigest(),
                           "cut_at_byte": cut, "line": walk.number + 1}
            return self._write_entry(fd, clean_actor, "repair", subject)

    def _write_or_fail(self, fd: int, data: bytes, size: int) -> None:
        try:
            os.write(fd, data)
            os.fsync(fd)
        except OSError as exc:
            raise LedgerError(str(self.path), "end of file", f"cannot write ({exc.strerror})"
                              f"{self._cut_back(fd, size)}") from None

    @staticmethod
    def _check_link(
        number: int,
        entry: dict[str, Any],
        last: dict[str, Any] | None,
        last_line: int,
        unreadable_since: int | None,
        by_seq: dict[int, tuple[int, str]],
        by_hash: dict[str, tuple[int, int]],
    ) -> list[Problem]:
        problems: list[Problem] = []
        seq: int = entry["seq"]
        if entry_hash(entry) != entry["hash"]:
            problems.append(_problem(number, seq, "hash", "the entry does not match its hash: it was edited after "
                                     "it was written"))
        after = f" (line {unreadable_since} above is unreadable)" if unreadable_since else ""
        if last is None:
            if seq != 0:
                problems.append(_problem(number, seq, "seq", f"the first entry has seq {seq}, expected 0: entries "
                                         f"before it were removed{after}"))
            if entry["prev"] != GENESIS:
                problems.append(_problem(number, seq, "prev", "the first entry does not start the chain (prev is "
                                         f"not the genesis value): entries before it were removed{after}"))
            return problems
        expected = last["seq"] + 1
        if seq != expected:
            if seq in by_seq:
                why = f"seq {seq} already appeared on line {by_seq[seq][0]}: entries duplicated or reordered"
            elif seq > expected:
                why = "gap: entries removed or reordered"
            else:
                why = "entries inserted or reordered"
            problems.append(_problem(number, seq, "seq", f"expected seq {expected} after seq {last['seq']} on line "
                                     f"{last_line}, found seq {seq} ({why}){after}"))
        if entry["prev"] != last["hash"]:
            if entry["prev"] in by_hash:
                line, linked = by_hash[entry["prev"]]
                why = (f"it chains onto seq {linked} on line {line}, not onto the entry above: entries inserted, "
                       "duplicated or reordered")
            else:
                why = ("it chains onto an entry that is not in the file: an entry was removed here, or the entry "
                       "above was inserted or rewritten with a recomputed hash")
            problems.append(_problem(number, seq, "prev", f"prev does not match the hash of seq {last['seq']} on "
                                     f"line {last_line}: {why}{after}"))
        return problems

    @staticmethod
    def _check_anchor(
        expected_head: tuple[int, str],
        by_seq: dict[int, tuple[int, str]],
        last: dict[str, Any] | None,
        last_line: int,
        lines: int,
    ) -> list[Problem]:
        seq, digest = expected_head
        if seq in by_seq:
            line, actual = by_seq[seq]
            if actual == digest:
                return []
            return [_problem(line, seq, "head", f"seq {seq} does not carry the anchored hash: the ledger was "
                             "rewritten up to or after this entry")]
        ends = "is empty" if last is None else f"ends at seq {last['seq']} (line {last_line})"
        return [_problem(lines, seq, "head", f"the anchor names seq {seq} but the ledger {ends}: entries at the "
                         "end were removed")]


class _Walk:
    """The chain check, one raw line at a time (verify, intact_entries and repair share it)."""

    def __init__(self, keep: Callable[[dict[str, Any]], bool] | None = None) -> None:
        self.keep = keep
        self.kept: list[dict[str, Any]] = []
        self.problems: list[Problem] = []
        self.count = 0
        self.last: dict[str, Any] | None = None  # the last well-formed entry, the one the next should chain onto
        self.last_line = 0
        self.unreadable_since: int | None = None  # an unusable line between `last` and the current one
        self.by_seq: dict[int, tuple[int, str]] = {}  # seq -> (line, hash), first occurrence
        self.by_hash: dict[str, tuple[int, int]] = {}  # hash -> (line, seq)
        self.number = 0

    def feed(self, raw: bytes) -> None:
        self.number += 1
        number = self.number
        complete = raw.endswith(b"\n")
        entry, seq, kind, message = _parse(raw[:-1] if complete else raw)
        if not complete:
            self.problems.append(_problem(number, seq, "torn", f"{TORN}: recoverable, run `hardening ledger "
                                          "repair` (it records what it cuts)"))
        if entry is None:
            if complete:
                self.problems.append(_problem(number, seq, kind, message))
            self.unreadable_since = self.unreadable_since or number
            return
        self.count += 1
        self.problems += Ledger._check_link(number, entry, self.last, self.last_line, self.unreadable_since,
                                            self.by_seq, self.by_hash)
        self.by_seq.setdefault(entry["seq"], (number, entry["hash"]))
        self.by_hash.setdefault(entry["hash"], (number, entry["seq"]))
        self.last, self.last_line, self.unreadable_since = entry, number, None
        if self.keep is not None and self.keep(entry):
            self.kept.append(entry)

    def whole_next(self, raw: bytes) -> dict[str, Any] | None:
        """`raw` (without line end) as an entry if it is a valid one that chains onto the last one fed, else None."""
        entry, _, _, _ = _parse(raw)
        if entry is None or entry_hash(entry) != entry["hash"]:
            return None
        seq, prev = (0, GENESIS) if self.last is None else (self.last["seq"] + 1, self.last["hash"])
        return entry if entry["seq"] == seq and entry["prev"] == prev else None
