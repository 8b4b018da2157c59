"""A fake Windows host behind a fake WinRM session (the Session API of platforms/windows/session.py), for the
plan/apply tests of Windows change control.

The host keeps its state as values (the local security policy, registry keys, services, W32Time, event logs,
SMB1, Defender, BitLocker, the BIOS admin password) and answers:
- the command table's reads (platform.yaml `commands`: the command must be exactly the table's for its id, else
  PowerShell's "not recognized" error), in the real output formats (secedit INF, `reg query`, `w32tm /query
  /configuration`, `wevtutil gl`, ConvertTo-Json of Windows PowerShell 5.1 with enums as numbers);
- the documented setter forms (reg.exe add/delete, secedit /configure of an INF given as a double-quoted
  PowerShell string, w32tm /config, wevtutil sl, Set-Service/Stop-Service/Start-Service,
  Set-SmbServerConfiguration, Set-MpPreference, Enable-/Disable-BitLocker, the Dell/HP/Lenovo BIOS WMI methods),
  each parsed by its own regex: a command in any other form fails, so a wrong form in the data shows.

Fault knobs: `fail_at` (the Nth setter, counted over the host's life, answers an error block), `fail_rc_at`
(answers rc 1), `lose_at` (the Nth setter runs, then the session dies with DeviceTimeout before its answer and
stays dead; a new session works), `ignore_at` (the Nth setter answers success and changes nothing),
`restore_fails` (a regex: setters matching it fail, to make a rollback impossible).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from hardening.core.errors import DeviceTimeout
from hardening.platforms.common.netcli import load_platform_data
from hardening.platforms.windows.settings import PLATFORM_FILE

START = {"Boot": 0, "System": 1, "Automatic": 2, "Manual": 3, "Disabled": 4}
NOT_FOUND = ("reg.exe : ERROR: The system was unable to find the specified registry key or value.\n"
             "At line:1 char:7\n    + CategoryInfo          : NotSpecified: (ERROR: The syst...y key or value.:String)"
             " [], RemoteException\n")


@dataclass(frozen=True)
class Output:
    text: str
    rc: int
    error: str | None


@dataclass
class WindowsHost:
    secedit: dict[str, int] = field(default_factory=lambda: {
        "MinimumPasswordAge": 0, "MaximumPasswordAge": 42, "MinimumPasswordLength": 6, "PasswordComplexity": 0,
        "PasswordHistorySize": 0, "LockoutBadCount": 0, "RequireLogonToChangePassword": 0,
        "ForceLogoffWhenHourExpire": 0, "ClearTextPassword": 0, "LSAAnonymousNameLookup": 0})
    registry: dict[str, dict[str, tuple[str, str]]] = field(default_factory=lambda: {
        r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System": {
            "ConsentPromptBehaviorAdmin": ("REG_DWORD", "0x5"), "LegalNoticeCaption": ("REG_SZ", ""),
            "LegalNoticeText": ("REG_SZ", "")},
        r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa": {"LimitBlankPasswordUse": ("REG_DWORD", "0x1")},
        r"HKLM\SYSTEM\CurrentControlSet\Control\SAM": {},
        r"HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service": {"AllowUnencryptedTraffic": ("REG_DWORD", "0x1"),
                                                                      "AllowBasic": ("REG_DWORD", "0x0")},
        r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp": {
            "UserAuthentication": ("REG_DWORD", "0x0"), "SecurityLayer": ("REG_DWORD", "0x1")},
        r"HKLM\SYSTEM\CurrentControlSet\Services\USBSTOR": {"Start": ("REG_DWORD", "0x3"),
                                                           "Type": ("REG_DWORD", "0x1")},
    })
    services: dict[str, tuple[str, bool]] = field(default_factory=lambda: {
        "RemoteRegistry": ("Automatic", True), "W32Time": ("Manual", True), "TlntSvr": ("Manual", False),
        "SNMP": ("Disabled", False)})
    smb1: bool = True
    realtime: bool = False
    w32tm: tuple[str, str] = ("time.windows.com,0x9", "NT5DS")
    eventlogs: dict[str, tuple[int, bool, bool]] = field(default_factory=lambda: {
        "Security": (20971520, False, False), "System": (20971520, False, False),
        "Application": (40000000, True, True)})
    bitlocker: int = 0
    manufacturer: str = "Dell Inc."
    bios_password: str | None = None
    # fault knobs
    fail_at: int | None = None
    fail_rc_at: int | None = None
    lose_at: int | None = None
    ignore_at: int | None = None
    restore_fails: str | None = None
    # what happened
    setters: int = 0
    commands: list[str] = field(default_factory=list)
    batches: int = 0

    def snapshot(self) -> dict[str, Any]:
        """Every value. A registry key without values is left out: reg.exe add creates the key, and the restore
        (reg.exe delete /v) removes the value only, so a key the apply created stays, empty (no value, no effect).
        secedit: the keys the export shows (see _secpol)."""
        state = copy.deepcopy({k: getattr(self, k) for k in (
            "registry", "services", "smb1", "realtime", "w32tm", "eventlogs", "bitlocker", "bios_password")})
        state["registry"] = {k.lower(): v for k, v in state["registry"].items() if v}
        state["secedit"] = self._exported()
        return state

    def _exported(self) -> dict[str, int]:
        # With no lockout threshold, the lockout duration and the counter reset are "Not applicable": the export
        # leaves them out (they stay stored; they show again once a threshold is set).
        hidden = {"LockoutDuration", "ResetLockoutCount"} if not self.secedit.get("LockoutBadCount") else set()
        return {k: v for k, v in self.secedit.items() if k not in hidden}

    # -- reads -------------------------------------------------------------------------------------------

    def read(self, command_id: str, command: str) -> Output:
        table = {str(r["id"]): str(r["command"]) for r in load_platform_data(PLATFORM_FILE)["commands"]}
        if " ".join(table.get(command_id, "").split()) != " ".join(command.split()):
            word = command.split(maxsplit=1)[0]
            return Output("", 1, f"The term '{word}' is not recognized as the name of a cmdlet, function, script "
                                 "file, or operable program.")
        found = re.fullmatch(r'reg\.exe query "([^"]+)"', command)
        if found:
            return self._reg_query(found.group(1))
        renderers = {
            "secpol": self._secpol, "w32tm_config": self._w32tm, "services": self._services,
            "smb": lambda: json.dumps({"EnableSMB1Protocol": self.smb1}, indent=4),
            "defender": lambda: json.dumps({"AMServiceEnabled": True, "AntivirusEnabled": True,
                                            "RealTimeProtectionEnabled": self.realtime,
                                            "AntivirusSignatureAge": 0}, indent=4),
            "bitlocker": lambda: json.dumps({"MountPoint": "C:", "VolumeStatus": self.bitlocker,
                                             "ProtectionStatus": 1 if self.bitlocker == 1 else 0,
                                             "EncryptionMethod": 0, "EncryptionPercentage": 0}, indent=4),
            "computer": lambda: json.dumps({"Manufacturer": self.manufacturer, "Model": "X", "PartOfDomain": False,
                                            "Domain": "WORKGROUP"}, indent=4),
            "bios_dell": lambda: json.dumps([{"NameId": "Admin", "IsPasswordSet": int(bool(self.bios_password))},
                                             {"NameId": "System", "IsPasswordSet": 0}], indent=4),
        }
        if command_id.startswith("eventlog_"):
            return Output(self._wevtutil(command_id.removeprefix("eventlog_").capitalize()), 0, None)
        if command_id in renderers and (command_id != "bios_dell" or self.manufacturer.startswith("Dell")):
            return Output(renderers[command_id](), 0, None)
        return Output("", 0, 'HARDENING-ERROR: Invalid namespace "root/x"')

    def _secpol(self) -> str:
        lines = ["[Unicode]", "Unicode=yes", "[System Access]",
                 *(f"{k} = {v}" for k, v in self._exported().items()),
                 'NewAdministratorName = "Administrator"', "[Event Audit]", "AuditSystemEvents = 0",
                 "[Version]", 'signature="$CHICAGO$"', "Revision=1"]
        return "\r\n".join(lines) + "\r\n"

    def _reg_query(self, key: str) -> Output:
        found = next((k for k in self.registry if k.lower() == key.lower()), None)
        if found is None:
            return Output(NOT_FOUND, 1, None)
        full = "HKEY_LOCAL_MACHINE" + found[4:]
        body = "".join(f"    {n}    {t}    {d}\n" for n, (t, d) in self.registry[found].items())
        return Output(f"\n{full}\n{body}\n", 0, None)

    def _w32tm(self) -> str:
        peers, kind = self.w32tm
        # as Windows prints it: Type and NtpServer under the NtpClient provider
        return ("[Configuration]\n\nEventLogFlags: 2 (Local)\nAnnounceFlags: 10 (Local)\n\n[TimeProviders]\n\n"
                "NtpClient (Local)\nDllName: C:\\Windows\\system32\\w32time.dll (Local)\nEnabled: 1 (Local)\n"
                f"InputProvider: 1 (Local)\nSpecialPollInterval: 3600 (Local)\nType: {kind} (Local)\n"
                f"NtpServer: {peers} (Local)\n\nVMICTimeProvider (Local)\nDllName: C:\\Windows\\System32\\"
                "vmictimeprovider.dll (Local)\nEnabled: 1 (Local)\nInputProvider: 1 (Local)\n")

    def _wevtutil(self, log: str) -> str:
        size, retention, backup = self.eventlogs[log]
        return (f"name: {log}\nenabled: true\ntype: Admin\nowningPublisher:\nisolation: Custom\nchannelAccess: "
                f"O:BAG:SYD:(A;;0xf0005;;;SY)\nlogging:\n  logFileName: %SystemRoot%\\System32\\Winevt\\Logs\\"
                f"{log}.evtx\n  retention: {str(retention).lower()}\n  autoBackup: {str(backup).lower()}\n"
                f"  maxSize: {size}\npublishing:\n  fileMax: 1\n")

    def _services(self) -> str:
        return json.dumps([{"Name": n, "Status": 4 if running else 1, "StartType": START[start]}
                           for n, (start, running) in self.services.items()], indent=4)

    # -- setters -----------------------------------------------------------------------------------------

    def set(self, command: str) -> Output:
        self.setters += 1
        if self.fail_at == self.setters:
            return Output("", 0, "HARDENING-ERROR: Access is denied.")
        if self.fail_rc_at == self.setters:
            return Output("ERROR: Access is denied.\n", 1, None)
        if self.restore_fails and re.search(self.restore_fails, command):
            return Output("", 0, "HARDENING-ERROR: The operation failed.")
        if self.ignore_at == self.setters:
            return Output("", 0, None)
        for pattern, handler in SETTERS:
            found = re.fullmatch(pattern, command)
            if found:
                return handler(self, found) or Output("", 0, None)
        word = command.split(maxsplit=1)[0]
        return Output("", 0, f"HARDENING-ERROR: The term '{word}' is not recognized as the name of a cmdlet")

    def _reg_add(self, m: re.Match[str]) -> Output | None:
        key, name, kind, data = m.group(1), m.group(2), m.group(3), m.group(4)
        data = data[1:-1] if data.startswith('"') else data
        if kind == "REG_DWORD":
            data = hex(int(data))
        found = next((k for k in self.registry if k.lower() == key.lower()), key)
        self.registry.setdefault(found, {})[name] = (kind, data)
        return None

    def _reg_delete(self, m: re.Match[str]) -> Output | None:
        key = next((k for k in self.registry if k.lower() == m.group(1).lower()), None)
        if key is None or m.group(2) not in self.registry[key]:
            return Output(NOT_FOUND, 1, None)
        del self.registry[key][m.group(2)]
        return None

    def _secedit(self, m: re.Match[str]) -> Output | None:
        inf = m.group(1).replace("`r`n", "\n").replace('`"', '"').replace("`$", "$").replace("``", "`")
        lines = inf.split("\n")
        if lines[:6] != ["[Unicode]", "Unicode=yes", "[Version]", 'signature="$CHICAGO$"', "Revision=1",
                         "[System Access]"]:
            return Output("", 1, None)
        for line in lines[6:]:
            if line.strip():
                key, _, value = line.partition("=")
                self.secedit[key.strip()] = int(value)
        return None

    def _w32tm_config(self, m: re.Match[str]) -> Output | None:
        kinds = {"manual": "NTP", "domhier": "NT5DS", "all": "AllSync", "no": "NoSync"}
        self.w32tm = (m.group(1), kinds[m.group(2).lower()])
        return None

    def _wevtutil_sl(self, m: re.Match[str]) -> Output | None:
        self.eventlogs[m.group(1)] = (int(m.group(2)), m.group(3) == "true", m.group(4) == "true")
        return None

    def _service(self, m: re.Match[str]) -> Output | None:
        name, start, stop, start_again = m.group(1), m.group(2), m.group(3), m.group(4)
        if name not in self.services:
            return Output("", 0, f"HARDENING-ERROR: Cannot find any service with service name '{name}'.")
        running = self.services[name][1]
        if stop:
            running = False
        if start_again:
            running = True
        self.services[name] = (start, running)
        return None

    def _smb(self, m: re.Match[str]) -> Output | None:
        self.smb1 = m.group(1) == "$true"
        return None

    def _mp(self, m: re.Match[str]) -> Output | None:
        self.realtime = m.group(1) == "$false"
        return None

    def _bitlocker(self, m: re.Match[str]) -> Output | None:
        self.bitlocker = 2 if m.group(1) == "Enable" else 0
        return None

    def _dell(self, m: re.Match[str]) -> Output | None:
        old, new = (g.replace("''", "'") for g in (m.group(1), m.group(2)))
        if (self.bios_password or "") != old:
            return Output("", 0, "HARDENING-ERROR: SetNewPassword returned 2")
        self.bios_password = new or None
        return None


SETTERS: list[tuple[str, Any]] = [
    (r'reg\.exe add "([^"]+)" /v (\S+) /t (REG_DWORD|REG_SZ) /d ("[^"]*"|\d+) /f', WindowsHost._reg_add),
    (r'reg\.exe delete "([^"]+)" /v (\S+) /f', WindowsHost._reg_delete),
    (r"\$f = Join-Path \$env:TEMP 'hardening-apply\.inf'; \$d = Join-Path \$env:TEMP 'hardening-apply\.sdb'; "
     r'Set-Content -Path \$f -Encoding Unicode -Value "((?:[^"`]|`.)*)"; '
     r"secedit\.exe /configure /db \$d /cfg \$f /areas SECURITYPOLICY /quiet; Remove-Item -Path \$f,\$d",
     WindowsHost._secedit),
    (r'w32tm\.exe /config /manualpeerlist:"([^"]*)" /syncfromflags:(manual|domhier|all|no) /update',
     WindowsHost._w32tm_config),
    (r"wevtutil\.exe sl (\w+) /ms:(\d+) /rt:(true|false) /ab:(true|false)", WindowsHost._wevtutil_sl),
    (r"Set-Service -Name (\S+) -StartupType (Automatic|Manual|Disabled)(; Stop-Service -Name \1 -Force)?"
     r"(; Start-Service -Name \1)?", WindowsHost._service),
    (r"Set-SmbServerConfiguration -EnableSMB1Protocol (\$true|\$false) -Force", WindowsHost._smb),
    (r"Set-MpPreference -DisableRealtimeMonitoring (\$true|\$false)", WindowsHost._mp),
    (r"(Enable)-BitLocker -MountPoint \$env:SystemDrive -EncryptionMethod XtsAes256 -TpmProtector",
     WindowsHost._bitlocker),
    (r"(Disable)-BitLocker -MountPoint \$env:SystemDrive", WindowsHost._bitlocker),
    (r"\$i = Get-CimInstance -Namespace root/dcim/sysman/wmisecurity -ClassName SecurityInterface; "
     r"\$r = Invoke-CimMethod -InputObject \$i -MethodName SetNewPassword -Arguments @\{SecType = 0; "
     r"SecHndCount = 0; SecHandle = \[byte\[\]\]@\(\); NameId = 'Admin'; OldPassword = '((?:[^']|'')*)'; "
     r"NewPassword = '((?:[^']|'')*)'\}; if \(\$r\.Status -ne 0\) \{ throw \('SetNewPassword returned ' \+ "
     r"\$r\.Status\) \}", WindowsHost._dell),
]


class FakeSession:
    """session.WinRMSession's API over a WindowsHost (one shell; dead after `lose_at`)."""

    def __init__(self, host: WindowsHost) -> None:
        self.host = host
        self.dead = False
        self.closed = False

    def _alive(self) -> None:
        if self.dead:
            raise DeviceTimeout("win1", "operation timed out (the WinRM shell did not answer)")

    def run_batch(self, commands: list[tuple[str, str]]) -> dict[str, Output]:
        """Each block: a read of the command table (its id and exact command), else a setter form."""
        self._alive()
        self.host.batches += 1
        outputs = {}
        for command_id, command in commands:
            outputs[command_id] = (self.host.read(command_id, command) if not re.fullmatch(r"(set|restore)_\d+",
                                                                                          command_id)
                                   else self._set(command))
        return outputs

    def _set(self, command: str) -> Output:
        self.host.commands.append(command)
        output = self.host.set(command)
        if self.host.lose_at == self.host.setters:  # the setter ran, the answer never came back
            self.dead = True
            self._alive()
        return output

    def run(self, command: str) -> Output:
        self._alive()
        return self._set(command)

    def close(self) -> None:
        self.closed = True
