"""Vendor profiles (profiles.yaml) and the recognition of a printer's maker.

Recognition: the enterprise number of sysObjectID (1.3.6.1.4.1.<enterprise>.…) names the profile; an agent that
reports a generic sysObjectID (net-snmp's, or none) is matched by the profiles' `sysdescr` regular expressions in
file order. No match is not an error: the device gets the vendor-neutral checks and `manual` for every vendor
setting (`recognise` returns None).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from hardening.platforms.mfp.data import PROFILES_FILE, profiles_data

# The settings a profile may read over SNMP (fact name -> the facts pointer it gives), and what each is in words.
SETTINGS: dict[str, tuple[str, str]] = {
    "storage_encrypted": ("/storage/encrypted", "storage (HDD/SSD) encryption"),
    "overwrite_enabled": ("/storage/overwrite_enabled", "overwrite/erase of job data on the storage"),
    "audit_log_enabled": ("/logging/audit_log_enabled", "the audit/job log"),
    "sntp_servers": ("/time/ntp_servers", "the SNTP/NTP time servers"),
    "syslog_servers": ("/logging/remote_targets", "syslog forwarding of the device's log"),
}


@dataclass(frozen=True)
class Profile:
    key: str
    name_ja: str
    name_en: str
    enterprises: tuple[int, ...]
    sysdescr: re.Pattern[str]
    model_oid: str | None
    firmware_oid: str | None
    web_admin: dict[str, Any]
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    writable: dict[str, dict[str, Any]] = field(default_factory=dict)
    manual_steps: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def product(self) -> str:
        """The web administration's own name (Web Image Monitor, Remote UI …), where a person looks."""
        return str(self.web_admin.get("product") or "the web administration page")


class ProfileError(ValueError):
    """profiles.yaml breaks its own format (names the profile and the key)."""


@functools.cache
def profiles() -> dict[str, Profile]:
    data = profiles_data().get("profiles")
    if not isinstance(data, dict):
        raise ProfileError(f"{PROFILES_FILE}: `profiles` is not a mapping")
    return {key: _profile(key, entry) for key, entry in data.items()}


def _profile(key: str, entry: Any) -> Profile:
    where = f"{PROFILES_FILE}: at /profiles/{key}"
    if not isinstance(entry, dict):
        raise ProfileError(f"{where}: not a mapping")
    try:
        name = entry["name"]
        settings = dict(entry.get("settings") or {})
        for setting, spec in settings.items():
            if setting not in SETTINGS:
                raise ProfileError(f"{where}/settings/{setting}: unknown setting (known: {', '.join(SETTINGS)})")
            if not isinstance(spec, dict) or not spec.get("oid") or not spec.get("source"):
                raise ProfileError(f"{where}/settings/{setting}: needs `oid` and `source` (the vendor MIB object)")
        for name_key in ("model_oid", "firmware_oid"):
            if entry.get(name_key) and not entry.get(name_key.replace("_oid", "_source")):
                raise ProfileError(f"{where}/{name_key}: needs `{name_key.replace('_oid', '_source')}`")
        return Profile(
            key=key, name_ja=str(name["ja"]), name_en=str(name["en"]),
            enterprises=tuple(int(number) for number in entry.get("enterprises") or ()),
            sysdescr=re.compile(str(entry["sysdescr"])),
            model_oid=_dotted(entry.get("model_oid")), firmware_oid=_dotted(entry.get("firmware_oid")),
            web_admin=dict(entry.get("web_admin") or {}), settings=settings,
            writable=dict(entry.get("writable") or {}), manual_steps=dict(entry.get("manual_steps") or {}))
    except (KeyError, TypeError, re.error) as exc:
        raise ProfileError(f"{where}: {type(exc).__name__}: {exc}") from None


def _dotted(oid: Any) -> str | None:
    if not oid:
        return None
    text = str(oid)
    return text if text.startswith(".") else "." + text


def enterprise_of(sys_object_id: str | None) -> int | None:
    """The private enterprise number of an OID under 1.3.6.1.4.1, else None."""
    if not sys_object_id:
        return None
    parts = sys_object_id.strip().strip(".").split(".")
    if len(parts) >= 7 and parts[:6] == ["1", "3", "6", "1", "4", "1"] and parts[6].isdigit():
        return int(parts[6])
    return None


# net-snmp's own enterprise (8072) is what a generic agent reports: it says nothing of the maker.
GENERIC_ENTERPRISES = frozenset({8072, 2021})


def recognise(sys_object_id: str | None, sys_descr: str | None) -> Profile | None:
    """The profile of a device from its sysObjectID (enterprise number), else its sysDescr; None = unknown."""
    enterprise = enterprise_of(sys_object_id)
    if enterprise is not None and enterprise not in GENERIC_ENTERPRISES:
        for profile in profiles().values():
            if enterprise in profile.enterprises:
                return profile
    if sys_descr:
        for profile in profiles().values():
            if profile.sysdescr.search(sys_descr):
                return profile
    return None
