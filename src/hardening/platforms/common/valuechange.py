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
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from hardening.core.errors import CollectionError, HardeningError
from hardening.core.platform import Change, Target
from hardening.core.secrets import REDACTOR


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
