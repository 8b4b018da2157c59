"""The logging facts of a Windows host: the Security, System and Application event logs as `wevtutil gl` shows them,
Windows Event Forwarding targets from the SubscriptionManager policy, the Event Log service's state, and the
timestamps event records carry.

`wevtutil gl <Log>` (not localised; https://learn.microsoft.com/windows-server/administration/windows-commands/
wevtutil):

    name: Security
    enabled: true
    …
    logging:
      logFileName: %SystemRoot%\\System32\\Winevt\\Logs\\Security.evtx
      retention: false
      autoBackup: false
      maxSize: 20971520

When the log is full it overwrites the oldest events (retention false), archives the full file and starts a new one
(retention true, autoBackup true), or keeps every event and stops logging (retention true, autoBackup false).

Forwarding: the policy "Configure target Subscription Manager" writes one REG_SZ value per collector (named 1, 2,
…) under HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\EventLog\\EventForwarding\\SubscriptionManager:
`Server=http://wec.example:5985/wsman/SubscriptionManager/WEC,Refresh=60` (HTTPS: `Server=HTTPS://…:5986/…,
Refresh=60,IssuerCA=<thumbprint>`). https://learn.microsoft.com/windows/security/operating-system-security/
device-management/use-windows-event-forwarding-to-assist-in-intrusion-detection . The port defaults to WinRM's
(5985 http, 5986 https). The key absent = no forwarding.

Timestamps: every event record carries its creation time as a FILETIME in UTC (System/TimeCreated/@SystemTime;
EvtSystemTimeCreated is EvtVarTypeFileTime: https://learn.microsoft.com/windows/win32/api/winevt/
ne-winevt-evt_system_property_id and https://learn.microsoft.com/windows/win32/api/minwinbase/ns-minwinbase-filetime
"the number of 100-nanosecond intervals since January 1, 1601 (UTC)"): full date, year and zone, whatever the
viewer shows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from hardening.platforms.common.netcli import Result
from hardening.platforms.windows.data import section
from hardening.platforms.windows.pwsh import (
    CommandOutput,
    OutputFormatError,
    block_json,
    block_text,
    enum_name,
    field,
)
from hardening.platforms.windows.regquery import read_block

EVENT_LOGS = (("Security", "eventlog_security"), ("System", "eventlog_system"),
              ("Application", "eventlog_application"))
FORWARDING = "reg_event_forwarding"
SERVICES = "services"
EVENTLOG_SERVICE = "EventLog"
TIMESTAMP_SOURCE = "https://learn.microsoft.com/windows/win32/api/winevt/ne-winevt-evt_system_property_id"
WEF_PORTS = {"http": 5985, "https": 5986}


def fill_logging(out: Mapping[str, CommandOutput], result: Result) -> None:
    """Fill /logging/event_logs, /logging/timestamp_formats, /logging/remote_targets and /logging/running; a block
    that cannot be read makes its fact an error with the reason."""
    _fill_event_logs(out, result)
    _fill_remote_targets(out, result)
    _fill_running(out, result)


# -- wevtutil gl -------------------------------------------------------------------------------------------------


def read_wevtutil(text: str) -> dict[str, str]:
    """`wevtutil gl` as flat {key: value} (the `logging:` section's keys at top level: logFileName, retention,
    autoBackup, maxSize). Raises OutputFormatError when a line is not `key: value` or `key:`."""
    settings: dict[str, str] = {}
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if not raw.strip():
            continue
        key, colon, value = raw.strip().partition(":")
        if not colon or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key):
            raise OutputFormatError(f"line {number} is not `key: value`: {' '.join(raw.split())[:120]}")
        settings.setdefault(key, value.strip())
    return settings


def _flag(settings: Mapping[str, str], key: str, log: str) -> bool:
    value = settings.get(key)
    if value not in ("true", "false"):
        raise OutputFormatError(f"{log}: {key} is {value!r}, not true or false")
    return value == "true"


def event_log(settings: Mapping[str, str], log: str) -> dict[str, Any]:
    """One item of /logging/event_logs from `wevtutil gl` settings. Raises OutputFormatError when a field is
    missing or not in its format, or the output is for another log."""
    if settings.get("name", "").lower() != log.lower():
        raise OutputFormatError(f"`wevtutil gl {log}` shows the log {settings.get('name')!r}")
    enabled = _flag(settings, "enabled", log)
    retention = _flag(settings, "retention", log)
    backup = _flag(settings, "autoBackup", log)
    size = settings.get("maxSize", "")
    if not size.isdigit():
        raise OutputFormatError(f"{log}: maxSize is {size!r}, not a number of bytes")
    mode = "overwrite" if not retention else "archive" if backup else "keep"
    return {"name": log, "enabled": enabled, "max_size_bytes": int(size), "mode": mode,
            "source": f"wevtutil gl {log}"}


def _fill_event_logs(out: Mapping[str, CommandOutput], result: Result) -> None:
    logs, evidence = [], []
    try:
        for log, command_id in EVENT_LOGS:
            settings = read_wevtutil(block_text(out, command_id))
            logs.append(event_log(settings, log))
            evidence.append(" ".join(f"{k}: {settings.get(k)}" for k in
                                     ("name", "enabled", "retention", "autoBackup", "maxSize")))
    except OutputFormatError as exc:
        # A partial list would hide the log that could not be read: the whole fact is an error.
        result.errors["/logging/event_logs"] = result.errors["/logging/timestamp_formats"] = str(exc)
        return
    result.put("/logging/event_logs", logs)
    result.cite("/logging/event_logs", "wevtutil gl", evidence)
    result.put("/logging/timestamp_formats", [
        {"log": item["name"], "writer": "eventlog", "format": "UTC FILETIME", "full": True,
         "source": TIMESTAMP_SOURCE} for item in logs])


# -- Windows Event Forwarding --------------------------------------------------------------------------------------


def subscription_target(value: str) -> dict[str, Any]:
    """One SubscriptionManager value as a /logging/remote_targets item {host, port, protocol}. Raises
    OutputFormatError when it is not `Server=http(s)://host[:port]/…[,Refresh=N][,IssuerCA=…]`."""
    options = dict(part.strip().partition("=")[::2] for part in value.split(",") if part.strip())
    server = next((v for k, v in options.items() if k.strip().lower() == "server"), "")
    url = urlsplit(server.strip())
    scheme = url.scheme.lower()
    if scheme not in WEF_PORTS or not url.hostname:
        raise OutputFormatError(f"SubscriptionManager value {value[:160]!r} has no Server=http(s)://host/… URL")
    try:
        port = url.port or WEF_PORTS[scheme]
    except ValueError:
        raise OutputFormatError(f"SubscriptionManager value {value[:160]!r} has an invalid port") from None
    return {"host": url.hostname, "port": port, "protocol": f"wef-{scheme}"}


def _fill_remote_targets(out: Mapping[str, CommandOutput], result: Result) -> None:
    pointer = "/logging/remote_targets"
    try:
        query = read_block(out, FORWARDING)
        key = query.root
        values = [] if key is None else [key.values[name] for name in key.values]
        targets = []
        for value in values:
            if not isinstance(value.data, str):
                raise OutputFormatError(f"SubscriptionManager value {value.name} is {value.type}, not REG_SZ")
            targets.append(subscription_target(value.data))
    except OutputFormatError as exc:
        result.errors[pointer] = str(exc)
        return
    result.put(pointer, targets)
    lines = [f"{v.name} {v.type} {v.text}" for v in values] or ["(SubscriptionManager policy key absent or empty)"]
    result.cite(pointer, "reg query …\\EventForwarding\\SubscriptionManager", lines)


# -- the Event Log service -----------------------------------------------------------------------------------------


def _fill_running(out: Mapping[str, CommandOutput], result: Result) -> None:
    pointer = "/logging/running"
    try:
        services = block_json(out, SERVICES)
        state = service_status(services, EVENTLOG_SERVICE)
    except OutputFormatError as exc:
        result.errors[pointer] = str(exc)
        return
    result.put(pointer, state == "Running")
    result.cite(pointer, "Get-Service", [f"{EVENTLOG_SERVICE}: {state}"])


def service_status(services: list[dict[str, Any]], name: str) -> str:
    """A service's Status name (Running, Stopped …) from Get-Service's objects, number or name. Raises
    OutputFormatError when the service is not listed or its status is unreadable."""
    table = section("enums")["service_status"]
    for item in services:
        if str(field(item, "Name")).lower() == name.lower():
            return enum_name(field(item, "Status"), table)
    raise OutputFormatError(f"`Get-Service` does not list the {name} service")
