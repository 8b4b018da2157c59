"""The statements a simulated host understands: the product's queries and the setter forms of the shared design.

Queries answer from the state in the command's real output format (lab/winsim/renderers.py, lab/winsim/psjson.py).
Setters change the state (the caller saves it). A BIOS password given to a setter is used for nothing but "is a
password set now"; it is never stored, echoed or logged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lab.winsim import psjson, renderers
from lab.winsim.host import HostState, Result, ps_double_quoted

CIM_RE = re.compile(r"^Get-CimInstance(?: -Namespace (?P<ns>\S+))? -ClassName (?P<cls>\S+)$", re.I)
SELECT_RE = re.compile(r"^Select-Object (?P<props>[A-Za-z0-9_,]+)$", re.I)
CIM_ERR_ID = "HRESULT 0x8004100e,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand"
SERVICE_STATUS = {1: "Stopped", 4: "Running"}


def _pipeline(stmt: str) -> list[str]:
    """Split a statement at top-level pipes."""
    parts, quote, depth, cur = [], "", 0, ""
    for ch in stmt:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += ch
    parts.append(cur.strip())
    return parts


def args_of(stmt: str) -> list[str]:
    """PowerShell-ish argument tokens: '...' literal ('' escapes), "..." with PowerShell's escapes/expansion."""
    out: list[str] = []
    i, n = 0, len(stmt)
    while i < n:
        if stmt[i].isspace():
            i += 1
            continue
        tok = ""
        while i < n and not stmt[i].isspace():
            ch = stmt[i]
            if ch == "'":
                j = i + 1
                buf = ""
                while j < n:
                    if stmt[j] == "'" and stmt[j + 1:j + 2] == "'":
                        buf += "'"
                        j += 2
                        continue
                    if stmt[j] == "'":
                        break
                    buf += stmt[j]
                    j += 1
                tok += buf
                i = j + 1
            elif ch == '"':
                j = i + 1
                while j < n:
                    if stmt[j] == "`":
                        j += 2
                        continue
                    if stmt[j] == '"' and stmt[j + 1:j + 2] == '"':
                        j += 2
                        continue
                    if stmt[j] == '"':
                        break
                    j += 1
                tok += ps_double_quoted(stmt[i + 1:j])
                i = j + 1
            else:
                tok += ch
                i += 1
        out.append(tok)
    return out


def _objects_visible(host: HostState, objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects tied to a service (`_service`) exist only while it runs (its sockets, its process)."""
    running = {str(s.get("Name", "")).lower() for s in host.objects("Get-Service") or [] if s.get("Status") == 4}
    return [o for o in objs if not o.get("_service") or str(o["_service"]).lower() in running]


def _select_json(host: HostState, objs: list[dict[str, Any]], props: list[str]) -> list[str]:
    now = host.now()
    picked = []
    for o in _objects_visible(host, objs):
        lower = {k.lower(): v for k, v in o.items()}
        picked.append({p: host_value(lower.get(p.lower()), now) for p in props})
    text = psjson.convert_to_json(picked)
    return text.split("\n") if text else []


def host_value(v: Any, now: Any) -> Any:
    from lab.winsim.host import _ps_value

    return _ps_value(v, now)


# --------------------------------------------------------------------------------------------------
# Queries (only for a block whose COMMAND is the table's command of its id)
# --------------------------------------------------------------------------------------------------
def query(host: HostState, stmt: str, whole: str) -> Result:
    words = stmt.split()
    if not words:
        return Result()
    head = words[0].lower()
    if re.match(r"^\$\w+ = Join-Path \$env:TEMP '[^']+'$", stmt):
        return Result()
    if head == "secedit.exe" and "/export" in stmt.lower():
        return Result(rc=0)
    if head == "get-content":
        return Result(out=renderers.secedit_inf(secpol_view(host)))
    if head == "remove-item":
        return Result()
    if stmt == "Get-Date -Format o":
        now = host.now()
        return Result(out=[now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}0" + now.strftime("%z")[:3]
                           + ":" + now.strftime("%z")[3:]])
    if head == "reg.exe" and len(words) >= 3 and words[1].lower() == "query":
        a = args_of(stmt)
        lines, rc = renderers.reg_query(host.registry, a[2], "/s" in [x.lower() for x in a[3:]], host.locale)
        return Result(native_err=lines, rc=rc) if rc else Result(out=lines, rc=0)
    if head == "w32tm.exe":
        time = host.data.get("time") or {}
        if "/status" in stmt:
            return Result(out=renderers.w32tm_status(time, host.locale, host.now(), "/verbose" in stmt.lower()), rc=0)
        return Result(out=renderers.w32tm_configuration(time, host.locale), rc=0)
    if head == "wevtutil.exe" and words[1].lower() == "gl":
        logs = host.data.get("eventlogs") or {}
        return Result(out=renderers.wevtutil_gl(words[2], logs.get(words[2]) or {}), rc=0)
    stages = _pipeline(stmt)
    if len(stages) == 3 and stages[2] == "ConvertTo-Json" and SELECT_RE.match(stages[1]):
        props = SELECT_RE.match(stages[1]).group("props").split(",")  # type: ignore[union-attr]
        source = stages[0]
        m = CIM_RE.match(source)
        if m:
            ns = (m.group("ns") or "root/cimv2").replace("\\", "/")
            cls = m.group("cls")
            if ns.lower() not in host.cim_namespaces():
                return Result(cmdlet_err=[("Get-CimInstance", renderers.msg(host.locale, "invalid_namespace"),
                                           f"MetadataError: ({ns}:{cls}:String) [Get-CimInstance], CimException",
                                           CIM_ERR_ID)])
            objs = host.objects(f"cim:{ns}:{cls}")
            if objs is None:
                return Result(cmdlet_err=[("Get-CimInstance", renderers.msg(host.locale, "invalid_class"),
                                           f"MetadataError: ({ns}:{cls}:String) [Get-CimInstance], CimException",
                                           "HRESULT 0x80041010,Microsoft.Management.Infrastructure.CimCmdlets."
                                           "GetCimInstanceCommand")])
            return Result(out=_select_json(host, objs, props))
        objs = host.objects(source)
        if objs is None:
            name = source.split()[0]
            return Result(terminating=renderers.msg(host.locale, "not_recognized", name))
        return Result(out=_select_json(host, objs, props))
    name = words[0]
    return Result(terminating=renderers.msg(host.locale, "not_recognized", name))


def builtin_admin(host: HostState) -> tuple[str, dict[str, Any]] | None:
    users = host.data.get("objects", {}).get("Get-LocalUser") or {}
    for name, props in users.items():
        if str((props or {}).get("SID", {}).get("sid", "")).endswith("-500"):
            return name, props
    return None


def secpol_view(host: HostState) -> dict[str, dict[str, Any]]:
    """secedit's view: [System Access] with the built-in Administrator's name/enabled state from the accounts."""
    pol = {k: dict(v) for k, v in (host.data.get("secpol") or {}).items()}
    access = pol.setdefault("System Access", {})
    values = pol.get("Registry Values") or {}
    for name in list(values):       # security options are registry values: show what the registry holds now
        path, _, value_name = name.rpartition("\\")
        key = renderers.find_key(host.registry, "HKLM\\" + path.split("\\", 1)[1])
        entry = (host.registry.get(key) or {}).get(value_name) if key else None
        if entry is None:
            entry = next((v for k, v in (host.registry.get(key) or {}).items() if k.lower() == value_name.lower()),
                         None) if key else None
        if entry is None:
            del values[name]
        else:
            kind = {"REG_SZ": 1, "REG_EXPAND_SZ": 2, "REG_BINARY": 3, "REG_DWORD": 4, "REG_MULTI_SZ": 7}[entry[0]]
            values[name] = f"{kind},{entry[1]}"
    admin = builtin_admin(host)
    if admin:
        access["NewAdministratorName"] = admin[0]
        access["EnableAdminAccount"] = 1 if admin[1].get("Enabled") else 0
    return pol


# --------------------------------------------------------------------------------------------------
# Setters
# --------------------------------------------------------------------------------------------------
Setter = Callable[[HostState, str], Result]


def _reg_add(host: HostState, stmt: str) -> Result:
    a = args_of(stmt)
    key = a[2]
    opts = {a[i].lower(): a[i + 1] if i + 1 < len(a) else "" for i in range(3, len(a)) if a[i].startswith("/")}
    name = opts.get("/v", "")
    rtype = opts.get("/t", "REG_SZ").upper()
    data = opts.get("/d", "")
    if rtype not in ("REG_DWORD", "REG_SZ", "REG_QWORD", "REG_EXPAND_SZ", "REG_MULTI_SZ"):
        return Result(native_err=["ERROR: Invalid syntax.", 'Type "REG ADD /?" for usage.'], rc=1)
    value: Any = data
    if rtype in ("REG_DWORD", "REG_QWORD"):
        try:
            value = int(data, 0)
        except ValueError:
            return Result(native_err=["ERROR: Invalid syntax.", 'Type "REG ADD /?" for usage.'], rc=1)
    found = renderers.find_key(host.registry, key) or renderers.short_key(key)
    values = host.registry.setdefault(found, {})
    # value names are case-insensitive: an existing value is overwritten and keeps the case it was created with
    values[_value_name(values, name) or name] = [rtype, value]
    return Result(out=[renderers.msg(host.locale, "reg_ok")], rc=0)


def _value_name(values: dict[str, Any], name: str) -> str | None:
    """The stored name of registry value `name` (Windows compares value names case-insensitively), or None."""
    return next((k for k in values if k.lower() == name.lower()), None)


def _reg_delete(host: HostState, stmt: str) -> Result:
    a = args_of(stmt)
    found = renderers.find_key(host.registry, a[2])
    opts = [x.lower() for x in a[3:]]
    name = a[3 + opts.index("/v") + 1] if "/v" in opts else None
    existing = _value_name(host.registry.get(found) or {}, name) if found is not None and name is not None else None
    if found is None or (name is not None and existing is None):
        return Result(native_err=[renderers.msg(host.locale, "reg_not_found")], rc=1)
    if existing is None:
        del host.registry[found]
    else:
        del host.registry[found][existing]
    return Result(out=[renderers.msg(host.locale, "reg_ok")], rc=0)


def _join_path(host: HostState, stmt: str) -> Result:
    m = re.match(r"^\$(\w+) = Join-Path \$env:TEMP '([^']+)'$", stmt)
    assert m
    host.scratch["var:" + m.group(1)] = m.group(2)
    return Result()


def _set_content(host: HostState, stmt: str) -> Result:
    m = re.match(r'^Set-Content -Path \$(\w+) -Encoding Unicode -Value "(.*)"$', stmt, re.S)
    assert m
    host.scratch["file:" + host.scratch.get("var:" + m.group(1), "")] = ps_double_quoted(m.group(2))
    return Result()


def _remove_item(host: HostState, stmt: str) -> Result:
    for var in re.findall(r"\$(\w+)", stmt):
        host.scratch.pop("file:" + host.scratch.get("var:" + var, ""), None)
    return Result()


def parse_inf(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif current is not None and "=" in line:
            k, v = line.split("=", 1)
            current[k.strip()] = v.strip()
    return sections


def _secedit_configure(host: HostState, stmt: str) -> Result:
    m = re.search(r"/cfg \$(\w+)", stmt)
    inf_text = host.scratch.get("file:" + host.scratch.get("var:" + m.group(1), "")) if m else None
    if inf_text is None:
        return Result(native_err=["The system cannot find the file specified."], rc=2)
    inf = parse_inf(inf_text)
    if inf.get("Version", {}).get("signature", "").strip('"') != "$CHICAGO$":
        # UNCERTAIN: secedit's exact text for a template without the $CHICAGO$ signature
        return Result(native_err=["The parameter is incorrect."], rc=87)
    access = host.data.setdefault("secpol", {}).setdefault("System Access", {})
    admin = builtin_admin(host)
    for k, v in (inf.get("System Access") or {}).items():
        if k == "NewAdministratorName" and admin:
            users = host.data["objects"]["Get-LocalUser"]
            users[v.strip('"')] = users.pop(admin[0])
        elif k == "EnableAdminAccount" and admin:
            admin[1]["Enabled"] = v.strip() == "1"
        else:
            access[k] = int(v) if re.fullmatch(r"-?\d+", v.strip()) else v.strip()
    return Result(out=renderers.msg(host.locale, "secedit_ok").split("\n"), rc=0)


def _w32tm_config(host: HostState, stmt: str) -> Result:
    a = args_of(stmt)
    opts = {x.split(":", 1)[0].lower(): (x.split(":", 1)[1] if ":" in x else "") for x in a[1:]}
    time = host.data.setdefault("time", {})
    if "/manualpeerlist" in opts:
        time["ntp_server"] = opts["/manualpeerlist"]
    flags = opts.get("/syncfromflags", "").lower()     # MANUAL, DOMHIER, NO, ALL (windows-time-service tools)
    time["type"] = {"manual": "NTP", "domhier": "NT5DS", "no": "NoSync", "all": "AllSync"}.get(flags, time.get("type"))
    if time["type"] in ("NoSync", "NT5DS"):     # no peer to synchronise from (a workgroup host has no domain)
        time.update({"synced": False, "unsynced_source": "Local CMOS Clock"})
    peers = [p.split(",")[0] for p in str(time.get("ntp_server", "")).split()]
    reachable = [str(x) for x in (host.data.get("params") or {}).get("ntp_reachable") or []]
    good = [p for p in peers if p in reachable]
    if "/update" in opts and good and time.get("type") == "NTP":
        time.update({"synced": True, "source": next(p for p in str(time["ntp_server"]).split()
                                                     if p.split(",")[0] == good[0]),
                     "stratum": 3, "last_sync_age_s": 5})
    return Result(out=[renderers.msg(host.locale, "w32tm_ok")], rc=0)


def _wevtutil_sl(host: HostState, stmt: str) -> Result:
    a = args_of(stmt)
    logs = host.data.setdefault("eventlogs", {})
    name = a[2]
    if name not in logs:
        return Result(native_err=[f"Failed to read configuration for log {name}. "
                                  "The specified channel could not be found."], rc=15007)
    for opt in a[3:]:
        k, _, v = opt.partition(":")
        if k.lower() == "/ms":
            logs[name]["maxSize"] = int(v)
        elif k.lower() == "/rt":
            logs[name]["retention"] = v.lower() == "true"
        elif k.lower() == "/ab":
            logs[name]["autoBackup"] = v.lower() == "true"
    return Result(rc=0)


START_TYPES = {"automatic": 2, "manual": 3, "disabled": 4}


def _service(host: HostState, stmt: str) -> Result:
    a = args_of(stmt)
    verb = a[0].lower()
    opts = {a[i].lower(): a[i + 1] if i + 1 < len(a) else "" for i in range(1, len(a)) if a[i].startswith("-")}
    name = opts.get("-name", "")
    services = host.data.setdefault("objects", {}).setdefault("Get-Service", {})
    key = next((k for k in services if k.lower() == name.lower()), None)
    if key is None:
        return Result(cmdlet_err=[(a[0], f"Service {name} was not found on computer '.'.",
                                   f"ObjectNotFound: (.:String) [{a[0]}], InvalidOperationException",
                                   f"InvalidOperationException,Microsoft.PowerShell.Commands.{a[0].replace('-', '')}"
                                   "Command")])
    svc = services[key]
    if verb == "set-service":
        svc["StartType"] = START_TYPES[opts.get("-startuptype", "").lower()]
    elif verb == "stop-service":
        svc["Status"] = 1
    elif verb == "start-service":
        if svc.get("StartType") == 4:
            return Result(cmdlet_err=[("Start-Service", f"Service '{key} ({key})' cannot be started due to the "
                                       f"following error: Cannot start service {key} on computer '.'.",
                                       "OpenError: (System.ServiceProcess.ServiceController:ServiceController) "
                                       "[Start-Service], ServiceCommandException",
                                       "CouldNotStartService,Microsoft.PowerShell.Commands.StartServiceCommand")])
        svc["Status"] = 4
    return Result()


def _smb(host: HostState, stmt: str) -> Result:
    m = re.search(r"-EnableSMB1Protocol \$(true|false)", stmt, re.I)
    assert m
    objs = host.data.setdefault("objects", {}).setdefault("Get-SmbServerConfiguration", [{}])
    objs[0]["EnableSMB1Protocol"] = m.group(1).lower() == "true"
    return Result()


def _mp(host: HostState, stmt: str) -> Result:
    m = re.search(r"-DisableRealtimeMonitoring \$(true|false)", stmt, re.I)
    assert m
    objs = host.data.setdefault("objects", {}).setdefault("Get-MpComputerStatus", [{}])
    objs[0]["RealTimeProtectionEnabled"] = m.group(1).lower() == "false"
    return Result()


def _bitlocker(host: HostState, stmt: str) -> Result:
    tpm = host.objects("cim:root/cimv2/Security/MicrosoftTpm:Win32_Tpm") or []
    if not tpm or not tpm[0].get("IsEnabled_InitialValue"):
        return Result(cmdlet_err=[("Enable-BitLocker", "No compatible TPM is found on this device. (Exception from "
                                   "HRESULT: 0x80310084)", "NotSpecified: (:) [Enable-BitLocker], COMException",
                                   "System.Runtime.InteropServices.COMException,Enable-BitLocker")])
    vols = host.data.setdefault("objects", {}).setdefault("Get-BitLockerVolume -MountPoint $env:SystemDrive", [{}])
    method = 7 if "XtsAes256" in stmt else 6
    # the simulated encryption completes at once (a real volume reports EncryptionInProgress for a while)
    vols[0].update({"VolumeStatus": 1, "ProtectionStatus": 1, "EncryptionMethod": method, "EncryptionPercentage": 100})
    return Result(out=["", f"   ComputerName: {host.computer_name}", "",
                       "VolumeType      Mount CapacityGB VolumeStatus           Encryption KeyProtector "
                       "             AutoUnlock Protection",
                       "                Point                                   Percentage              "
                       "             Enabled    Status",
                       "----------      ----- ---------- ------------           ---------- ------------ "
                       "             ---------- ----------",
                       "OperatingSystem C:        237.84 EncryptionInProgress   0          {Tpm}        "
                       "                        Off", ""])


def _bitlocker_off(host: HostState, stmt: str) -> Result:
    vols = host.data.setdefault("objects", {}).setdefault("Get-BitLockerVolume -MountPoint $env:SystemDrive", [{}])
    # the simulated decryption completes at once (a real volume reports DecryptionInProgress for a while)
    vols[0].update({"VolumeStatus": 0, "ProtectionStatus": 0, "EncryptionMethod": 0, "EncryptionPercentage": 0})
    return Result()


BIOS = {  # vendor -> (namespace, setter class, method, object source, how a set admin password shows)
    "dell": ("root/dcim/sysman/wmisecurity", "SecurityInterface", "SetNewPassword"),
    "hp": ("root/HP/InstrumentedBIOS", "HP_BIOSSettingInterface", "SetBIOSSetting"),
    "lenovo": ("root/wmi", "Lenovo_SetBiosPassword", "SetBiosPassword"),
}


def _bios(vendor: str) -> Setter:
    ns, cls, _method = BIOS[vendor]

    def setter(host: HostState, stmt: str) -> Result:
        if ns.lower() not in host.cim_namespaces() or str(host.data.get("bios_vendor", "")) != vendor:
            return Result(cmdlet_err=[("Get-CimInstance", renderers.msg(host.locale, "invalid_namespace"),
                                       f"MetadataError: ({ns}:{cls}:String) [Get-CimInstance], CimException",
                                       CIM_ERR_ID)])
        objs = host.data["objects"]
        if vendor == "dell":
            role = "System" if re.search(r"""['"]System['"]""", stmt) else "Admin"
            for o in objs.get(f"cim:{ns}:PasswordObject") or []:
                if o.get("NameId") == role:
                    o["IsPasswordSet"] = 1
            return Result(out=["", "Status PSComputerName", "------ --------------", "     0", ""])
        if vendor == "hp":
            role = "Power-On Password" if "Power-On Password" in stmt else "Setup Password"
            for o in objs.get(f"cim:{ns}:HP_BIOSPassword") or []:
                if o.get("Name") == role:
                    o["IsSet"] = 1
            return Result(out=["", "Return PSComputerName", "------ --------------", "     0", ""])
        role_bit = 1 if re.search(r"""['"]pop,""", stmt) else 2
        for o in objs.get(f"cim:{ns}:Lenovo_BiosPasswordSettings") or []:
            o["PasswordState"] = int(o.get("PasswordState", 0)) | role_bit
        return Result(out=["", "Return  PSComputerName", "------  --------------", "Success", ""])

    return setter


SETTERS: list[tuple[re.Pattern[str], Setter]] = [
    (re.compile(r'^reg\.exe add "[^"]+" /v \S+ /t REG_\w+ /d .+ /f$', re.I | re.S), _reg_add),
    (re.compile(r'^reg\.exe delete "[^"]+" /v \S+ /f$', re.I), _reg_delete),
    (re.compile(r"^secedit\.exe /configure /db \$\w+ /cfg \$\w+ /areas SECURITYPOLICY /quiet$", re.I),
     _secedit_configure),
    (re.compile(r'^w32tm\.exe /config( /manualpeerlist:"[^"]*")? /syncfromflags:(manual|domhier|no|all) /update$',
                re.I), _w32tm_config),
    (re.compile(r"^wevtutil\.exe sl \w+( /(ms|rt|ab):\S+)+$", re.I), _wevtutil_sl),
    (re.compile(r"^Set-Service -Name \S+ -StartupType (Automatic|Manual|Disabled)$", re.I), _service),
    (re.compile(r"^Stop-Service -Name \S+ -Force$", re.I), _service),
    (re.compile(r"^Start-Service -Name \S+$", re.I), _service),
    (re.compile(r"^Set-SmbServerConfiguration -EnableSMB1Protocol \$(true|false) -Force$", re.I), _smb),
    (re.compile(r"^Set-MpPreference -DisableRealtimeMonitoring \$(true|false)$", re.I), _mp),
    (re.compile(r"^Enable-BitLocker -MountPoint \$env:SystemDrive -EncryptionMethod XtsAes(128|256) -TpmProtector$",
                re.I), _bitlocker),
    (re.compile(r"^Disable-BitLocker -MountPoint \$env:SystemDrive$", re.I), _bitlocker_off),
    (re.compile(r"\bSetNewPassword\b", re.I), _bios("dell")),
    (re.compile(r"\bSetBIOSSetting\b", re.I), _bios("hp")),
    (re.compile(r"\bSetBiosPassword\b", re.I), _bios("lenovo")),
]
def _wmi_object(host: HostState, stmt: str) -> Result:
    """`$x = Get-CimInstance|Get-WmiObject -Namespace NS -ClassName|-Class CLS`: the vendor's setter object."""
    m = re.search(r"-Namespace (\S+)", stmt)
    ns = (m.group(1) if m else "root/cimv2").replace("\\", "/").strip("'\"")
    if ns.lower() not in host.cim_namespaces():
        cmd = stmt.split("=", 1)[1].split(maxsplit=1)[0]
        return Result(cmdlet_err=[(cmd, renderers.msg(host.locale, "invalid_namespace"),
                                   f"MetadataError: ({ns}:String) [{cmd}], CimException",
                                   CIM_ERR_ID)])
    return Result()


AUX: list[tuple[re.Pattern[str], Setter]] = [   # statements around a setter (the secedit temp files)
    (re.compile(r"^\$\w+ = (Get-CimInstance|Get-WmiObject) -Namespace \S+ -Class(Name)? \w+$", re.I), _wmi_object),
    (re.compile(r"^\$\w+ = Join-Path \$env:TEMP '[^']+'$"), _join_path),
    (re.compile(r'^Set-Content -Path \$\w+ -Encoding Unicode -Value ".*"$', re.S), _set_content),
    (re.compile(r"^Remove-Item -Path \$\w+(,\$\w+)*$"), _remove_item),
]


def find_setter(stmt: str) -> Setter | None:
    for pattern, fn in SETTERS:
        if pattern.search(stmt):
            return fn
    return None


def find_aux(stmt: str) -> Setter | None:
    for pattern, fn in AUX:
        if pattern.search(stmt):
            return fn
    return None


def failed_setter(stmt: str, message: str) -> Result:
    """The fault: the setter fails with `message` and changes nothing."""
    exe = stmt.split(maxsplit=1)[0]
    if exe.lower().endswith(".exe") or "$" in exe:
        return Result(native_err=[f"ERROR: {message}"], rc=1)
    return Result(cmdlet_err=[(exe, message, f"PermissionDenied: (:) [{exe}], UnauthorizedAccessException",
                               f"System.UnauthorizedAccessException,{exe}")])
