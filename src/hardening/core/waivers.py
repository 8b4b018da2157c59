"""Waivers (例外措置, 第2章 7(4)): host(s) × requirement(s) with reason, approver and expiry."""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass
from pathlib import Path

from hardening.core.errors import WaiverError
from hardening.core.models import WaiverMatch
from hardening.core.schemas import check, validator
from hardening.core.yamlio import load_yaml


@dataclass(frozen=True)
class Waiver:
    id: str
    hosts: tuple[str, ...]
    requirements: tuple[str, ...]
    reason: str
    approver: str
    expires: dt.date


def _date(value: str, path: Path, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise WaiverError(str(path), where, "not a date (YYYY-MM-DD)") from None


def load_waivers(path: Path, known_requirements: set[str], known_hosts: set[str],
                 today: dt.date | None = None) -> list[Waiver]:
    """Load and validate the waivers file (absent file = no waivers).

    An approval date, when given, must be on or before the expiry and not after `today` (default: the
    local date): a waiver approved after it ran out, or approved in the future, is a forged or mistyped
    record, not an exception anyone granted.
    """
    today = today or dt.date.today()
    if not path.exists():
        return []
    loaded = load_yaml(path, WaiverError)
    check(loaded.data, validator("waivers.schema.json"), str(path), WaiverError, loaded)
    waivers: list[Waiver] = []
    seen: set[str] = set()
    for index, entry in enumerate(loaded.data.get("waivers") or []):
        if entry["id"] in seen:
            raise WaiverError(str(path), loaded.where(["waivers", index, "id"]), f"duplicate waiver id {entry['id']!r}")
        seen.add(entry["id"])
        for r_index, requirement in enumerate(entry["requirements"]):
            if requirement not in known_requirements:
                where = loaded.where(["waivers", index, "requirements", r_index])
                raise WaiverError(str(path), where, f"unknown requirement {requirement!r}")
        for h_index, pattern in enumerate(entry["hosts"]):
            if not any(fnmatch.fnmatchcase(h, pattern) for h in known_hosts):
                where = loaded.where(["waivers", index, "hosts", h_index])
                raise WaiverError(str(path), where, f"{pattern!r} matches no inventory host")
        expires = _date(entry["expires"], path, loaded.where(["waivers", index, "expires"]))
        if "approved" in entry:
            where = loaded.where(["waivers", index, "approved"])
            approved = _date(entry["approved"], path, where)
            if approved > expires:
                raise WaiverError(str(path), where, f"approved {approved} after it expires ({expires})")
            if approved > today:
                raise WaiverError(str(path), where, f"approved {approved}, which is in the future (today is {today})")
        waivers.append(Waiver(entry["id"], tuple(entry["hosts"]), tuple(entry["requirements"]),
                              entry["reason"], entry["approver"], expires))
    return waivers


def match(waivers: list[Waiver], host: str, requirement: str, today: dt.date) -> WaiverMatch | None:
    """The waiver covering host × requirement; an active one wins over an expired one."""
    found: list[WaiverMatch] = []
    for waiver in waivers:
        if requirement in waiver.requirements and any(fnmatch.fnmatchcase(host, p) for p in waiver.hosts):
            found.append(WaiverMatch(waiver.id, waiver.reason, waiver.approver,
                                     waiver.expires.isoformat(), expired=today > waiver.expires))
    found.sort(key=lambda m: (m.expired, m.expires))
    return found[0] if found else None
