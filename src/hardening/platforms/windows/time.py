"""The time facts of a Windows host from W32Time's own reports: `w32tm /query /configuration` (how the client picks
its source: Type, NtpServer) and `w32tm /query /status` (what it is doing: Leap Indicator, Stratum, Source, Last
Successful Sync Time, Phase Offset with /verbose), with `Get-Date -Format o` (`now`) for the age of the last sync.

Labels are read in en-US and ja-JP from platform.yaml `labels.w32tm` (data, with the sources they were checked
against). How each fact is decided:
- source_type: Type of the NtpClient provider (NTP, NT5DS = the domain hierarchy, AllSync, NoSync).
- ntp_servers: NTP and AllSync → NtpServer's names with their `,0x…` flags stripped; NoSync and NT5DS → [] (no
  configured server: NT5DS takes its time from the domain hierarchy; whether the domain's time chain ends at the
  approved servers is audited on its PDC emulator, which runs Type NTP; TIME-SYNC states the rule).
- synchronized: false when W32Time is stopped, Type is NoSync, Leap Indicator is 3 (not synchronised), the
  client never synchronised, or Source is a local clock (Local CMOS Clock, Free-running System Clock) or the
  Hyper-V host's clock (VM IC Time Synchronization Provider: not a site time server); true otherwise.
- offset_ms_abs: |Phase Offset| (printed only with /verbose; without it the fact is an error, never 0).
- last_sync_age_seconds: `now` minus Last Successful Sync Time, both the host's local time (the sync time has no
  zone: it is read in `now`'s offset); null when the client never synchronised.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from hardening.platforms.common.netcli import Result
from hardening.platforms.windows.data import section
from hardening.platforms.windows.pwsh import CommandOutput, OutputFormatError, block_text, read_iso_datetime

CONFIG, STATUS, NOW = "w32tm_config", "w32tm_status", "now"
LIVE = ("/time/synchronized", "/time/selected_source", "/time/stratum", "/time/offset_ms_abs",
        "/time/last_sync_age_seconds")
_FLAGS = re.compile(r",0x[0-9A-Fa-f]+$")


def _labels() -> dict[str, Any]:
    labels = section("labels").get("w32tm")
    if not isinstance(labels, dict):
        raise ValueError("platform.yaml: labels.w32tm is not a mapping")
    return labels


def fill_time(out: Mapping[str, CommandOutput], result: Result) -> None:
    """Fill /time/* from the w32tm blocks (see the module docstring); what a block cannot tell goes to errors
    (or manual for the domain hierarchy's servers) with the reason."""
    labels = _labels()
    source_type = _fill_configuration(out, result, labels)
    _fill_status(out, result, labels, source_type)


# -- /configuration ----------------------------------------------------------------------------------------------


def read_configuration(text: str, labels: Mapping[str, Any]) -> dict[str, str]:
    """The NtpClient provider's settings of `w32tm /query /configuration` ({name: value}, the origin annotation
    `(Local)`/`(Policy)`/`(ローカル)`/`(ポリシー)` removed). Raises OutputFormatError when W32Time is stopped or the
    text has no NtpClient section with a Type."""
    _refuse_stopped(text, labels)
    origins = tuple(str(o) for o in labels["origin"])
    client = str(labels["ntp_client"])
    sections: dict[str, dict[str, str]] = {}
    current = ""
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line or (line.startswith("[") and line.endswith("]")):
            continue
        name, colon, value = line.partition(":")
        if not colon or " " in name.strip():
            current = _strip_origin(line, origins)            # a provider's header: `NtpClient (Local)`
            continue
        sections.setdefault(current, {})[name.strip()] = _strip_origin(value.strip(), origins)
    settings = sections.get(client)
    if settings is None or "Type" not in settings:
        raise OutputFormatError(f"`w32tm /query /configuration` shows no {client} provider with a Type")
    return settings


def _strip_origin(value: str, origins: tuple[str, ...]) -> str:
    for origin in origins:
        if value.endswith(origin):
            return value[: -len(origin)].strip()
    return value


def _fill_configuration(out: Mapping[str, CommandOutput], result: Result, labels: Mapping[str, Any]) -> str | None:
    try:
        settings = read_configuration(block_text(out, CONFIG), labels)
    except OutputFormatError as exc:
        result.errors["/time/source_type"] = result.errors["/time/ntp_servers"] = str(exc)
        return None
    source_type = settings["Type"].split()[0] if settings["Type"].split() else ""
    result.put("/time/source_type", source_type)
    evidence = [f"Type: {settings['Type']}", f"NtpServer: {settings.get('NtpServer', '(not shown)')}"]
    result.cite("/time/source_type", "w32tm /query /configuration", evidence)
    servers = [_FLAGS.sub("", name) for name in settings.get("NtpServer", "").split()]
    if source_type in ("NTP", "AllSync"):
        # AllSync uses the domain hierarchy AND NtpServer: the NtpServer names are still servers it uses
        result.put("/time/ntp_servers", servers)
        result.cite("/time/ntp_servers", "w32tm /query /configuration", evidence)
    elif source_type in ("NoSync", "NT5DS"):
        # NT5DS: a domain controller is the source and NtpServer is not used, so no configured server; whether
        # the domain's time chain ends at the approved servers is audited on its PDC emulator (Type NTP).
        result.put("/time/ntp_servers", [])
        if source_type == "NT5DS":
            result.cite("/time/ntp_servers", "w32tm /query /configuration",
                        [*evidence, "NT5DS: the source is the Active Directory domain hierarchy (NtpServer unused)"])
    else:
        result.errors["/time/ntp_servers"] = f"W32Time Type {settings['Type']!r} is not one this tool knows"
    return source_type


def _stopped_text(text: str, labels: Mapping[str, Any]) -> bool:
    return any(str(code) in text for code in labels["service_stopped"])


def _refuse_stopped(text: str, labels: Mapping[str, Any]) -> None:
    if _stopped_text(text, labels):
        raise OutputFormatError(f"W32Time is not running: {' '.join(text.split())[:160]}")


# -- /status -----------------------------------------------------------------------------------------------------


def read_status(text: str, labels: Mapping[str, Any]) -> dict[str, str]:
    """`w32tm /query /status` as {key: value} with keys leap_indicator, stratum, last_sync, source, phase_offset
    (those present), whichever language its labels are in. Raises OutputFormatError when W32Time is stopped or
    none of the labels is there."""
    _refuse_stopped(text, labels)
    by_label = {str(label): key for key, names in labels["status"].items() for label in names}
    status: dict[str, str] = {}
    for raw in text.replace("\r\n", "\n").split("\n"):
        label, colon, value = raw.partition(":")
        if colon and label.strip() in by_label:
            status.setdefault(by_label[label.strip()], value.strip())
    if "leap_indicator" not in status or "source" not in status:
        raise OutputFormatError("`w32tm /query /status` has no Leap Indicator/Source line in a known language")
    return status


def _leading_int(value: str, what: str) -> int:
    match = re.match(r"\s*(-?\d+)", value)
    if not match:
        raise OutputFormatError(f"{what} {value!r} does not start with a number")
    return int(match.group(1))


def _fill_status(out: Mapping[str, CommandOutput], result: Result, labels: Mapping[str, Any],
                 source_type: str | None) -> None:
    raw = out.get(STATUS)
    if raw is not None and raw.error is None and _stopped_text(raw.text, labels):
        _stopped(result, f"W32Time is not running: {' '.join(raw.text.split())[:160]}")
        return
    try:
        status = read_status(block_text(out, STATUS), labels)
        leap = _leading_int(status["leap_indicator"], "Leap Indicator")
        stratum = _leading_int(status["stratum"], "Stratum") if "stratum" in status else None
    except OutputFormatError as exc:
        result.errors.update(dict.fromkeys(LIVE, str(exc)))
        return
    source = _FLAGS.sub("", status["source"].strip())
    never = status.get("last_sync", "").strip() in [str(n) for n in labels["never"]]
    local = source in [str(s) for s in labels["local_sources"]]
    synchronized = not (leap == 3 or never or local or source_type == "NoSync")
    evidence = [f"{k}: {v}" for k, v in status.items()]
    result.put("/time/synchronized", synchronized)
    result.cite("/time/synchronized", "w32tm /query /status", evidence)
    result.put("/time/selected_source", source or None)
    if stratum is None:
        result.errors["/time/stratum"] = "`w32tm /query /status` shows no Stratum"
    else:
        result.put("/time/stratum", stratum)
    _fill_offset(status, result, synchronized)
    _fill_last_sync(out, status, result, labels, never)


def _stopped(result: Result, why: str) -> None:
    """W32Time is stopped: nothing synchronises the clock (a fact), and there is no source, stratum or offset."""
    result.put("/time/synchronized", False)
    result.cite("/time/synchronized", "w32tm /query /status", [why])
    result.put("/time/selected_source", None)
    for pointer in ("/time/stratum", "/time/offset_ms_abs", "/time/last_sync_age_seconds"):
        result.errors[pointer] = why


def _fill_offset(status: Mapping[str, str], result: Result, synchronized: bool) -> None:
    if not synchronized:
        result.errors["/time/offset_ms_abs"] = "the clock is not synchronised: no offset from a time server"
        return
    value = status.get("phase_offset")
    if value is None:
        result.errors["/time/offset_ms_abs"] = ("`w32tm /query /status` shows no Phase Offset (printed only with "
                                                "/verbose)")
        return
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)s\s*", value)
    if not match:
        result.errors["/time/offset_ms_abs"] = f"Phase Offset {value!r} is not seconds"
        return
    result.put("/time/offset_ms_abs", round(abs(float(match.group(1))) * 1000, 4))   # 100 ns resolution


def _fill_last_sync(out: Mapping[str, CommandOutput], status: Mapping[str, str], result: Result,
                    labels: Mapping[str, Any], never: bool) -> None:
    pointer = "/time/last_sync_age_seconds"
    if never:
        result.put(pointer, None)
        return
    value = status.get("last_sync")
    if value is None:
        result.errors[pointer] = "`w32tm /query /status` shows no Last Successful Sync Time"
        return
    try:
        now = read_iso_datetime(block_text(out, NOW).strip())
    except OutputFormatError as exc:
        result.errors[pointer] = f"the host's current time is unknown: {exc}"
        return
    synced = _local_time(value, [str(f) for f in labels["sync_time_formats"]])
    if synced is None:
        result.errors[pointer] = f"Last Successful Sync Time {value!r} is in no date format this tool reads"
        return
    age = (now.replace(tzinfo=None) - synced).total_seconds()
    if age < 0:
        result.errors[pointer] = f"Last Successful Sync Time {value!r} is after the host's current time"
        return
    result.put(pointer, round(age))


def _local_time(value: str, formats: list[str]) -> dt.datetime | None:
    text = " ".join(value.split())
    for form in formats:
        try:
            return dt.datetime.strptime(text, form)   # naive: the host's local time, compared as such
        except ValueError:
            continue
    return None
