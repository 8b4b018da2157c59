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
  the @IT article "w32tmコマンドとレジストリによるWindows Timeサービスの制御" and public transcripts of Japanese
  Windows (`閏インジケーター: 0 (警告なし)`, `階層: 3 (二次参照 - (S)NTP で同期)`, `精度: -23 (ティックごとに
  119.209ns)`, `参照 ID: 0x... (ソース IP:  ...)`, `最終正常同期時刻: 2022/01/10 1:45:54`). UNCERTAIN: the ja-JP text of
  an unsynchronised status (leap 3, stratum 0), the ja-JP section headers of /configuration ([構成],
  [タイム プロバイダー]) and "(ローカル)"; the date format of "Last Successful Sync Time" follows the locale's
  short date + long time (en-US M/d/yyyy h:mm:ss tt, ja-JP yyyy/MM/dd H:mm:ss).
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

# Texts Windows prints in the OS language (en-US, ja-JP). ja-JP after public transcripts of Japanese Windows
# (w32tm's `コマンドは正しく完了しました。` is quoted in one); UNCERTAIN for reg.exe's and secedit's Japanese texts.
MESSAGES: dict[str, dict[str, str]] = {
    "en-US": {
        "not_recognized": "The term '{0}' is not recognized as the name of a cmdlet, function, script file, or "
                          "operable program. Check the spelling of the name, or if a path was included, verify that "
                          "the path is correct and try again.",
        "reg_not_found": REG_NOT_FOUND,
        "reg_ok": "The operation completed successfully.",
        "w32tm_ok": "The command completed successfully.",
        "secedit_ok": "The task has completed successfully.\nSee log %windir%\\security\\logs\\scesrv.log for "
                      "detail info.",
        "invalid_namespace": "Invalid namespace ",
        "invalid_class": "Invalid class ",
        "at_line": "At line:{0} char:{1}",
    },
    "ja-JP": {
        "not_recognized": "用語 '{0}' は、コマンドレット、関数、スクリプト ファイル、または操作可能な"
                          "プログラムの名前として認識されません。名前が正しく記述されていることを確認し、"
                          "パスが含まれている場合はそのパスが正しいことを確認してから、再試行してください。",
        "reg_not_found": "エラー: 指定されたレジストリ キーまたは値が見つかりませんでした。",
        "reg_ok": "この操作を正しく終了しました。",
        "w32tm_ok": "コマンドは正しく完了しました。",
        "secedit_ok": "タスクは正常に完了しました。\n詳細については、ログ "
                      "%windir%\\security\\logs\\scesrv.log を参照してください。",
        "invalid_namespace": "無効な名前空間です ",
        "invalid_class": "無効なクラスです ",
        "at_line": "発生場所 行:{0} 文字:{1}",
    },
}


def msg(locale: str, key: str, *args: object) -> str:
    return MESSAGES.get(locale, MESSAGES["en-US"])[key].format(*args)


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


def reg_query(registry: dict[str, dict[str, Any]], key: str, recurse: bool,
              locale: str = "en-US") -> tuple[list[str], int]:
    """(stdout lines, exit code); a missing key: ([the not-found error], 1) meant for stderr."""
    found = find_key(registry, key)
    if found is None:
        return [msg(locale, "reg_not_found")], 1
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
              "precision_value": "-23 (119.209ns per tick)", "source_ip": "source IP", "unspecified": "unspecified",
              "phase": "Phase Offset", "rate": "ClockRate", "state": "State Machine", "state_sync": "2 (Sync)",
              "state_unset": "0 (Unset)", "since": "Time since Last Good Sync Time"},
    "ja-JP": {"leap": "閏インジケーター", "stratum": "階層", "precision": "精度", "delay": "ルート遅延",
              "dispersion": "ルート分散", "refid": "参照 ID", "last": "最終正常同期時刻",
              "source": "ソース", "poll": "ポーリング間隔", "leap0": "0 (警告なし)", "leap3": "3 (同期されていません)",
              "stratum_sync": "(二次参照 - (S)NTP で同期)", "stratum_none": "(未指定)",
              "precision_value": "-23 (ティックごとに 119.209ns)", "source_ip": "ソース IP", "unspecified": "未指定",
              "phase": "位相オフセット", "rate": "クロック レート", "state": "状態マシン", "state_sync": "2 (同期)",
              "state_unset": "0 (未設定)", "since": "最終正常同期時刻からの経過時間"},
}


def local_datetime(when: dt.datetime, locale: str) -> str:
    if locale == "ja-JP":
        return f"{when:%Y/%m/%d} {when.hour}:{when:%M:%S}"
    hour = when.hour % 12 or 12
    return f"{when.month}/{when.day}/{when.year} {hour}:{when:%M:%S} {'AM' if when.hour < 12 else 'PM'}"


def w32tm_status(time: dict[str, Any], locale: str, now: dt.datetime, verbose: bool = False) -> list[str]:
    """`w32tm /query /status` (with /verbose: the blank line, then Phase Offset, ClockRate, State Machine … as
    learn.microsoft.com's Windows Time tools page shows them)."""
    lab = STATUS_LABELS.get(locale, STATUS_LABELS["en-US"])
    synced = bool(time.get("synced"))
    if not synced:
        source = time.get("unsynced_source", "Local CMOS Clock")
        lines = [f"{lab['leap']}: {lab['leap3']}", f"{lab['stratum']}: 0 {lab['stratum_none']}",
                 f"{lab['precision']}: {lab['precision_value']}", f"{lab['delay']}: 0.0000000s",
                 f"{lab['dispersion']}: 0.0000000s", f"{lab['refid']}: 0x00000000 ({lab['unspecified']})",
                 f"{lab['last']}: {lab['unspecified']}", f"{lab['source']}: {source}",
                 f"{lab['poll']}: 10 (1024s)", ""]
        if verbose:
            lines += [f"{lab['phase']}: 0.0000000s", f"{lab['rate']}: 0.0156250s",
                      f"{lab['state']}: {lab['state_unset']}", ""]
        return lines
    peer = str(time.get("source") or time.get("ntp_server", "").split(" ")[0])
    host = peer.split(",", maxsplit=1)[0]
    try:
        refid = "0x" + "".join(f"{int(o):02X}" for o in host.split("."))
    except ValueError:
        refid = "0x00000000"
    last = now - dt.timedelta(seconds=float(time.get("last_sync_age_s", 300)))
    return [f"{lab['leap']}: {lab['leap0']}", f"{lab['stratum']}: {int(time.get('stratum', 3))} {lab['stratum_sync']}",
            f"{lab['precision']}: {lab['precision_value']}", f"{lab['delay']}: 0.0312500s",
            f"{lab['dispersion']}: 7.7844328s", f"{lab['refid']}: {refid} ({lab['source_ip']}:  {host})",
            f"{lab['last']}: {local_datetime(last, locale)}", f"{lab['source']}: {peer}",
            f"{lab['poll']}: 10 (1024s)", ""] + ([
            f"{lab['phase']}: {float(time.get('offset_s', 0.0001234)):.7f}s", f"{lab['rate']}: 0.0156250s",
            f"{lab['state']}: {lab['state_sync']}",
            f"{lab['since']}: {float(time.get('last_sync_age_s', 300)):.7f}s", ""] if verbose else [])


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
