"""The one rule for a host's status and the one rule for a command's exit code.

The report builder, the report validator, `plan` and `apply` all decide through these two functions, so
a host or a run can never be judged one way when it is written and another way when it is checked.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from hardening.core.models import Status


class ExitCode(enum.IntEnum):
    """What every command returns: 0 all good, 2 drift (or changes pending), 1 something could not be judged."""

    OK = 0
    ERROR = 1
    DRIFT = 2


def host_status(collected: bool, finding_statuses: Iterable[str]) -> str:
    """'error' when the host gave no facts or any finding is an error, else 'fail' when any failed, else 'pass'.

    Waived findings keep their own status (`waived`), so they neither fail nor error the host."""
    statuses = {str(s) for s in finding_statuses}
    if not collected or Status.ERROR in statuses:
        return "error"
    if Status.FAIL in statuses:
        return "fail"
    return "pass"


def exit_code(*, errors: bool, drift: bool) -> ExitCode:
    """ERROR beats DRIFT beats OK: a run with anything it could not judge never exits as mere drift."""
    if errors:
        return ExitCode.ERROR
    if drift:
        return ExitCode.DRIFT
    return ExitCode.OK


def report_exit_code(host_statuses: Iterable[str], finding_statuses: Iterable[str], *,
                     unreadable_evidence: bool = False) -> ExitCode:
    """The exit code of an audit: its hosts' statuses and its findings' statuses; `unreadable_evidence`: the
    attestations could not be read (a ledger that does not verify), so what they would have decided is unknown."""
    hosts = set(host_statuses)
    findings = {str(s) for s in finding_statuses}
    return exit_code(errors=unreadable_evidence or "error" in hosts or Status.ERROR in findings,
                     drift=Status.FAIL in findings)
