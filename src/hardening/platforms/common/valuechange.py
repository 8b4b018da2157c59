"""Change control shared by the platforms that change named values one at a time and read them back: Windows
settings over WinRM (platforms/windows/change.py) and printer settings over SNMP SET (platforms/mfp/change.py).

Both apply the same way: read every value again, refuse a host whose values no longer give exactly the approved
changes (`drifted`), save what will change (`save_backup`, mode 0600) before setting anything, verify by reading
back, and on any failure restore every saved value and prove it by another read. This module holds the parts that
are the same for both; what a value is and how it is set stays with each platform.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import suppress
from typing import Any, ClassVar, Generic, TypeVar

from hardening.core.errors import CollectionError, HardeningError
from hardening.core.platform import ApplyResult, Change, Target
from hardening.core.secrets import REDACTOR

StateT = TypeVar("StateT")


class ApplyFailure(Exception):
    """Why an apply stopped (one line, no secret): the rollback follows."""


def drifted(approved: Sequence[Change], now: Sequence[Change], fix: Collection[str]) -> list[str]:
    """The requirement ids whose changes computed now differ from the approved ones (the host changed since
    planning: its prior values are not what the reviewer saw), sorted; [] = apply may go on."""
    wanted = {(c.requirement, c.task, c.diff) for c in approved if c.requirement in fix}
    got = {(c.requirement, c.task, c.diff) for c in now}
    return sorted({requirement for requirement, _, _ in wanted ^ got})


def save_backup(target: Target, values: Mapping[str, Any]) -> None:
    """The values an apply will change, before it changes them, to `target.backup_file` (mode 0600, JSON; the
    caller passes no secret). Nothing without a backup file (a unit test's target)."""
    if target.backup_file is None:
        return
    from hardening.report.files import atomic_write

    target.backup_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(target.backup_file, json.dumps({
        "host": target.host.name, "taken_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "values": values}, ensure_ascii=False))


def reason(exc: BaseException) -> str:
    """An exception as one line without a secret (at most 500 characters)."""
    if isinstance(exc, CollectionError):
        text = exc.message
    else:
        text = str(exc) if isinstance(exc, ApplyFailure | HardeningError) else f"{type(exc).__name__}: {exc}"
    return REDACTOR.scrub(" ".join(text.split()) or type(exc).__name__)[:500]


class ValueRun:
    """One apply's session (reopened for the restore), the prior values saved and the settings attempted."""

    def __init__(self, target: Target, session: Any, opener: Callable[[Target], Any]) -> None:
        self.target = target
        self.session = session
        self._opener = opener
        self.saved: dict[str, Any] = {}
        self.attempted: list[str] = []

    def fresh(self) -> None:
        """A new session: after a failure the old one may be stuck."""
        self.close()
        self.session = self._opener(self.target)

    def close(self) -> None:
        with suppress(Exception):
            self.session.close()


class ValueApply(Generic[StateT]):
    """The apply both platforms share: one session; read every value again and refuse a host that drifted from the
    approved plan; save what will change before setting anything; set; verify by reading back; on any failure restore
    every saved value, in reverse order, and prove it by another read (two attempts, each on a fresh session).
    Never raises for a failure on the host. A platform supplies the hooks below."""

    # How the refusal names what drifted: "host" (a Windows host), "device" (a printer).
    subject: ClassVar[str] = "host"

    def _open(self, target: Target) -> Any:
        raise NotImplementedError

    def _new_run(self, target: Target, session: Any) -> ValueRun:
        return ValueRun(target, session, self._open)

    def _read_state(self, session: Any, target: Target, fix: Sequence[str], parameters: Mapping[str, Any]) -> StateT:
        """Every value the fix touches, read now (raises when one cannot be read)."""
        raise NotImplementedError

    def changes(self, state: StateT) -> list[Change]:
        raise NotImplementedError

    def _prior(self, state: StateT) -> dict[str, Any]:
        """{setting: its current value} of every setting that will change, each once."""
        raise NotImplementedError

    def _backup(self, state: StateT, saved: Mapping[str, Any]) -> Mapping[str, Any]:
        """What the backup file keeps of the saved values (JSON, no secret)."""
        return saved

    def _set(self, run: ValueRun, state: StateT) -> None:
        """Set every changing value, each counted in run.attempted before it is tried (ApplyFailure on error)."""
        raise NotImplementedError

    def _verify(self, run: ValueRun, state: StateT) -> None:
        """Every changed value read back is the value set (ApplyFailure otherwise)."""
        raise NotImplementedError

    def _restore(self, run: ValueRun, state: StateT, settings: Sequence[str]) -> list[str]:
        """Put `settings` back to run.saved, in the order given; the problems met (only the re-read decides)."""
        raise NotImplementedError

    def _read_back(self, run: ValueRun, state: StateT) -> Mapping[str, Any]:
        """{setting: its value now (None: unreadable)} for every saved setting."""
        raise NotImplementedError

    def _differs(self, state: StateT, setting: str, now: Any, saved: Any) -> str | None:
        """None when `now` is the saved value, else one line saying how it differs."""
        raise NotImplementedError

    def apply(self, target: Target, fix: Sequence[str], parameters: Mapping[str, Any],
              planned: Sequence[Change]) -> ApplyResult:
        result = ApplyResult(target.host.name)
        if not fix:
            return result
        try:
            session = self._open(target)
        except Exception as exc:
            result.refuse(f"no session, nothing applied: {reason(exc)}")
            return result
        run = self._new_run(target, session)
        try:
            state = self._prepare(run, fix, parameters, planned, result)
            if state is None:
                return result
            try:
                self._set(run, state)
                self._verify(run, state)
            except Exception as exc:  # any failure on the host: restore and prove
                result.failed = reason(exc)
                self._roll_back(run, state, result)
                return result
            result.applied = self.changes(state)
            return result
        except Exception as exc:  # a failure in the bookkeeping itself: say so, never raise
            result.failed = result.failed or reason(exc)
            return result
        finally:
            run.close()

    def _prepare(self, run: ValueRun, fix: Sequence[str], parameters: Mapping[str, Any],
                 approved: Sequence[Change], result: ApplyResult) -> StateT | None:
        """Read every prior value, refuse a host that drifted from the approved plan, save what will change.
        The state to apply, or None with the result refused (nothing set)."""
        try:
            state = self._read_state(run.session, run.target, fix, parameters)
        except Exception as exc:
            result.refuse(f"the current values could not be read, nothing applied: {reason(exc)}")
            return None
        differing = drifted(approved, self.changes(state), fix)
        if differing:
            result.refuse(f"the {self.subject}'s values differ from the approved plan for {', '.join(differing)}: "
                          f"the {self.subject} changed since planning; nothing applied, make a new plan")
            return None
        saved = self._prior(state)
        try:
            save_backup(run.target, self._backup(state, saved))
        except Exception as exc:
            result.refuse(f"backup before the change failed, nothing applied: {reason(exc)}")
            return None
        run.saved = saved
        return state

    def _roll_back(self, run: ValueRun, state: StateT, result: ApplyResult) -> None:
        """Restore every attempted setting, in reverse order, then prove every saved value is back by reading it.
        Two attempts, each on a fresh session (the failed one is not trusted)."""
        touched = [name for name in dict.fromkeys(run.attempted) if name in run.saved]
        problems: list[str] = []
        for attempt in (1, 2):
            problems = []
            try:
                run.fresh()
                problems += self._restore(run, state, list(reversed(touched)))
                now = self._read_back(run, state)
            except Exception as exc:
                problems.append(f"attempt {attempt}: {reason(exc)}")
                continue
            differ = [line for name, saved in run.saved.items()
                      if (line := self._differs(state, name, now.get(name), saved)) is not None]
            if not differ:
                result.rolled_back = True
                result.rollback_problems = []
                return
            problems = differ + problems
        result.rollback_problems = [REDACTOR.scrub(p)[:300] for p in problems] or ["no restore was possible"]
