"""Text the simulated Windows tools print (pure functions of a host's state; no network).

Formats and the documentation followed (where a detail is not documented, what was chosen is said):
- `reg.exe query` (learn.microsoft.com/windows-server/administration/windows-commands/reg-query): a blank line,
  the key with its root spelled out (HKEY_LOCAL_MACHINE\\...), one line per value `    Name    TYPE    data`
  (four-space separators), REG_DWORD/REG_QWORD as 0x<hex lowercase>, REG_MULTI_SZ joined with \\0, REG_BINARY as
  upper-case hex; then a blank line and the subkeys (full paths); /s recurses key by key. A missing key prints
  `ERROR: The system was unable to find the specified registry key or value.` on stderr, exit 1.
- `wevtutil gl <log>` (windows-commands/wevtutil): `key: value` lines, `logging:`/`publishing:` sections with
  two-space indented keys (logFileName, retention, autoBackup, maxSize; fileMax).
- `w32tm /query /status` and `/query /configuration` (windows-server/networking/windows-time-service/
  windows-time-service-tools-and-settings): en-US labels; ja-JP labels after the Japanese edition of that page and
  the @IT article "w32tmコマンドとレジストリによるWindows Timeサービスの制御" (閏インジケーター, 階層, 精度, ルート遅延,
  ルート分散, 参照 ID, 最終正常同期時刻, ソース, ポーリング間隔). UNCERTAIN: the exact ja-JP wording of the values in
  parentheses, and the ja-JP section headers of /configuration ([構成], [タイム プロバイダー]) and "(ローカル)"; the
  date format of "Last Successful Sync Time" follows the locale's short date + long time (en-US M/d/yyyy h:mm:ss tt,
  ja-JP yyyy/MM/dd H:mm:ss).
- `secedit /export /areas SECURITYPOLICY` (windows-commands/secedit-export): the INF as Get-Content reads the
  UTF-16 file: [Unicode], [System Access] (LockoutDuration/ResetLockoutCount only when LockoutBadCount > 0),
  [Event Audit], [Registry Values], [Version] signature="$CHICAGO$" Revision=1.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

ROOTS = {"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER", "HKCR": "HKEY_CLASSES_ROOT",
         "HKU": "HKEY_USERS", "HKCC": "HKEY_CURRENT_CONFIG"}
REG_NOT_FOUND = "ERROR: The system was unable to find the specified registry key or value."


def full_key(key: str) -> str:
    root, _, rest = key.partition("\\")
    return ROOTS.get(root.upper(), root) + ("\\" + rest if rest else "")


def short_key(key: str) -> str:
    """Canonical lookup form: HKLM\\..., case kept (keys compare case-insensitively)."""
    root, _, rest = key.strip().strip('"').rstrip("\\").partition("\\")
    for short, long in ROOTS.items():
        if root.upper() in (short, long):
            root = short
    return root + ("\\" + rest if rest else "")


def find_key(registry: dict[str, dict[str, Any]], key: str) -> str | None:
    want = short_key(key).lower()
    for k in registry:
        if short_key(k).lower() == want:
            return k
    return None


def subkeys(registry: dict[str, dict[str, Any]], key: str) -> list[str]:
    prefix = short_key(key).lower() + "\\"
    out = []
    for k in registry:
        low = short_key(k).lower()
        if low.startswith(prefix) and "\\" not in low[len(prefix):]:
            out.append(k)
    return sorted(out, key=str.lower)


def reg_data(rtype: str, value: Any) -> str:
    if rtype in ("REG_DWORD", "REG_QWORD"):
        return f"0x{int(value):x}"
    if rtype == "REG_MULTI_SZ":
        return "\\0".join(value or [])
    if rtype == "REG_BINARY":
        return bytes.fromhex(str(value)).hex().upper()
    return "" if value is None else str(value)


def reg_query(registry: dict[str, dict[str, Any]], key: str, recurse: bool) -> tuple[list[str], int]:
    """(stdout lines, exit code); a missing key: ([REG_NOT_FOUND], 1) meant for stderr."""
    found = find_key(registry, key)
    if found is None:
        return [REG_NOT_FOUND], 1
    lines: list[str] = []

    def one(k: str) -> None:
        lines.append("")
        lines.append(full_key(short_key(k)))
        for name, (rtype, value) in (registry.get(k) or {}).items():
            shown = "(Default)" if name == "" else name
            lines.append(f"    {shown}    {rtype}    {reg_data(rtype, value)}")
        if recurse:
            for sub in subkeys(registry, k):
                one(sub)
        else:
            subs = subkeys(registry, k)
            lines.append("")
            lines.extend(full_key(short_key(s)) for s in subs)

    one(found)
    if recurse:
        lines.append("")
    return lines, 0


def wevtutil_gl(name: str, log: dict[str, Any]) -> list[str]:
    return [
        f"name: {name}",
        f"enabled: {str(bool(log.get('enabled', True))).lower()}",
        f"type: {log.get('type', 'Admin')}",
        "owningPublisher:",
        f"isolation: {log.get('isolation', 'Custom' if name == 'Security' else 'Application')}",
        f"channelAccess: {log.get('channelAccess', 'O:BAG:SYD:(A;;0xf0005;;;SY)(A;;0x5;;;BA)(A;;0x1;;;S-1-5-32-573)')}",
        "logging:",
        f"  logFileName: %SystemRoot%\\System32\\Winevt\\Logs\\{name}.evtx",
        f"  retention: {str(bool(log.get('retention', False))).lower()}",
        f"  autoBackup: {str(bool(log.get('autoBackup', False))).lower()}",
        f"  maxSize: {int(log.get('maxSize', 20971520))}",
        "publishing:",
        "  fileMax: 1",
    ]


STATUS_LABELS = {
    "en-US": {"leap": "Leap Indicator", "stratum": "Stratum", "precision": "Precision", "delay": "Root Delay",
              "dispersion": "Root Dispersion", "refid": "ReferenceId", "last": "Last Successful Sync Time",
              "source": "Source", "poll": "Poll Interval", "leap0": "0(no warning)", "leap3": "3(not synchronized)",
              "stratum_sync": "(secondary reference - syncd by (S)NTP)", "stratum_none": "(unspecified)",
              "per_tick": "ns per tick", "source_ip": "source IP", "unspecified": "unspecified"},
    "ja-JP": {"leap": "閏インジケーター", "stratum": "階層", "precision": "精度", "delay": "ルート遅延",
              "dispersion": "ルート分散", "refid": "参照 ID", "last": "最終正常同期時刻",
              "source": "ソース", "poll": "ポーリング間隔", "leap0": "0(警告なし)", "leap3": "3(同期されていません)",
              "stratum_sync": "(二次参照 - (S)NTP で同期)", "stratum_none": "(未指定)",
              "per_tick": "ns/ティック", "source_ip": "ソース IP", "unspecified": "未指定"},
}


def local_datetime(when: dt.datetime, locale: str) -> str:
    if locale == "ja-JP":
        return f"{when:%Y/%m/%d} {when.hour}:{when:%M:%S}"
    hour = when.hour % 12 or 12
    return f"{when.month}/{when.day}/{when.year} {hour}:{when:%M:%S} {'AM' if when.hour < 12 else 'PM'}"


def w32tm_status(time: dict[str, Any], locale: str, now: dt.datetime) -> list[str]:
    lab = STATUS_LABELS.get(locale, STATUS_LABELS["en-US"])
    synced = bool(time.get("synced"))
    if not synced:
        source = time.get("unsynced_source", "Local CMOS Clock")
        return [f"{lab['leap']}: {lab['leap3']}", f"{lab['stratum']}: 0 {lab['stratum_none']}",
                f"{lab['precision']}: -23 (119.209{lab['per_tick']})", f"{lab['delay']}: 0.0000000s",
                f"{lab['dispersion']}: 0.0000000s", f"{lab['refid']}: 0x00000000 ({lab['unspecified']})",
                f"{lab['last']}: {lab['unspecified']}", f"{lab['source']}: {source}",
                f"{lab['poll']}: 10 (1024s)", ""]
    peer = str(time.get("source") or time.get("ntp_server", "").split(" ")[0])
    host = peer.split(",", maxsplit=1)[0]
    try:
        refid = "0x" + "".join(f"{int(o):02X}" for o in host.split("."))
    except ValueError:
        refid = "0x00000000"
    last = now - dt.timedelta(seconds=float(time.get("last_sync_age_s", 300)))
    return [f"{lab['leap']}: {lab['leap0']}", f"{lab['stratum']}: {int(time.get('stratum', 3))} {lab['stratum_sync']}",
            f"{lab['precision']}: -23 (119.209{lab['per_tick']})", f"{lab['delay']}: 0.0312500s",
            f"{lab['dispersion']}: 7.7844328s", f"{lab['refid']}: {refid} ({lab['source_ip']}:  {host})",
            f"{lab['last']}: {local_datetime(last, locale)}", f"{lab['source']}: {peer}",
            f"{lab['poll']}: 10 (1024s)", ""]


def w32tm_configuration(time: dict[str, Any], locale: str) -> list[str]:
    loc = "(ローカル)" if locale == "ja-JP" else "(Local)"
    ja = locale == "ja-JP"
    cfg, providers = ("[構成]", "[タイム プロバイダー]") if ja else ("[Configuration]", "[TimeProviders]")
    kind = time.get("type", "NTP")
    lines = [cfg, "", f"EventLogFlags: 2 {loc}", f"AnnounceFlags: 10 {loc}", f"TimeJumpAuditOffset: 28800 {loc}",
             f"MinPollInterval: 6 {loc}", f"MaxPollInterval: 10 {loc}", f"MaxNegPhaseCorrection: 172800 {loc}",
             f"MaxPosPhaseCorrection: 172800 {loc}", f"MaxAllowedPhaseOffset: 300 {loc}", "",
             f"FrequencyCorrectRate: 4 {loc}", f"PollAdjustFactor: 5 {loc}", f"LargePhaseOffset: 50000000 {loc}",
             f"SpikeWatchPeriod: 900 {loc}", f"LocalClockDispersion: 10 {loc}", f"HoldPeriod: 5 {loc}",
             f"PhaseCorrectRate: 1 {loc}", f"UpdateInterval: 100 {loc}", "", "", providers, "",
             f"NtpClient {loc}", f"DllName: C:\\Windows\\system32\\w32time.dll {loc}",
             f"Enabled: {1 if time.get('client_enabled', True) else 0} {loc}", f"InputProvider: 1 {loc}",
             f"CrossSiteSyncFlags: 2 {loc}", f"AllowNonstandardModeCombinations: 1 {loc}",
             f"ResolvePeerBackoffMinutes: 15 {loc}", f"ResolvePeerBackoffMaxTimes: 7 {loc}",
             f"CompatibilityFlags: 2147483648 {loc}", f"EventLogFlags: 1 {loc}", f"LargeSampleSkew: 3 {loc}",
             f"SpecialPollInterval: {int(time.get('special_poll_interval', 3600))} {loc}", f"Type: {kind} {loc}"]
    if time.get("ntp_server"):         # the NtpClient value, whatever the Type
        lines.append(f"NtpServer: {time['ntp_server']} {loc}")
    lines += ["", f"NtpServer {loc}", f"DllName: C:\\Windows\\system32\\w32time.dll {loc}", f"Enabled: 0 {loc}",
              f"InputProvider: 0 {loc}", "", f"VMICTimeProvider {loc}",
              f"DllName: C:\\Windows\\System32\\vmictimeprovider.dll {loc}", f"Enabled: 1 {loc}",
              f"InputProvider: 1 {loc}", ""]
    return lines


SYSTEM_ACCESS_ORDER = ["MinimumPasswordAge", "MaximumPasswordAge", "MinimumPasswordLength", "PasswordComplexity",
                       "PasswordHistorySize", "LockoutBadCount", "ResetLockoutCount", "LockoutDuration",
                       "RequireLogonToChangePassword", "ForceLogoffWhenHourExpire", "NewAdministratorName",
                       "NewGuestName", "ClearTextPassword", "LSAAnonymousNameLookup", "EnableAdminAccount",
                       "EnableGuestAccount"]


def secedit_inf(secpol: dict[str, dict[str, Any]]) -> list[str]:
    access = dict(secpol.get("System Access") or {})
    if int(access.get("LockoutBadCount", 0) or 0) == 0:
        access.pop("ResetLockoutCount", None)
        access.pop("LockoutDuration", None)
    keys = [k for k in SYSTEM_ACCESS_ORDER if k in access] + [k for k in access if k not in SYSTEM_ACCESS_ORDER]
    lines = ["[Unicode]", "Unicode=yes", "[System Access]"]
    for k in keys:
        v = access[k]
        lines.append(f'{k} = "{v}"' if k in ("NewAdministratorName", "NewGuestName") else f"{k} = {v}")
    for section in ("Event Audit", "Registry Values", "Privilege Rights"):
        if secpol.get(section):
            lines.append(f"[{section}]")
            sep = "=" if section == "Registry Values" else " = "
            lines += [f"{k}{sep}{v}" for k, v in secpol[section].items()]
    lines += ["[Version]", 'signature="$CHICAGO$"', "Revision=1"]
    return lines
