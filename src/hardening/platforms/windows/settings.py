"""Windows settings as data: remediation.yaml read into `Setting`s that know how to read, judge, set and restore
themselves over the WinRM command blocks of session.py.

A `Setting` is one value on the host (a secedit key, a registry value, a service's start type and state …). It
names the command-table ids it is read from (platform.yaml `commands`), turns their outputs into a plain JSON-able
value (`read`, with the audit's own readers: pwsh, regquery, time, logs, protect; None = absent), says whether a
value complies (`complies`), what it becomes (`wanted`: a stricter value already there is kept) and the PowerShell
lines that set it (`setter`) and put a saved value back (`restorer`). Every command is one of the setter forms of
the shared Windows design (reg.exe add/delete, secedit /configure of a generated INF, w32tm /config, wevtutil sl,
Set-/Stop-/Start-Service, Set-SmbServerConfiguration, Set-MpPreference, Enable-BitLocker, the vendors' BIOS WMI
methods), which the lab simulator (lab/winsim) implements. No value shown by `show` is a secret: the BIOS password
is never read back, only whether one is set.
"""

from __future__ import annotations

import functools
import json
import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardening.core.errors import ChangeError, HardeningError
from hardening.core.secrets import REDACTOR, Secret
from hardening.platforms.common.netcli import Result, load_platform_data
from hardening.platforms.windows import regquery
from hardening.platforms.windows.data import platform_data, section
from hardening.platforms.windows.logs import read_wevtutil
from hardening.platforms.windows.protect import fill_firmware
from hardening.platforms.windows.pwsh import OutputFormatError, block_json, block_text, enum_name
from hardening.platforms.windows.secpol import parse_inf
from hardening.platforms.windows.time import read_configuration

REMEDIATION_FILE = Path(__file__).with_name("remediation.yaml")
PLATFORM_FILE = Path(__file__).with_name("platform.yaml")
ABSENT = "(absent)"
KINDS = ("registry", "secedit", "service", "smb1", "w32tm", "eventlog", "defender", "bios_password", "bitlocker")
# The order in which an apply sets the kinds: the registry first (the relax flag before a MinimumPasswordLength
# above 14), then one secedit INF, …, and the two with effects beyond a setting last, each in a batch of its own
# (change.py): the BIOS password (undone with the password), then BitLocker (undone only by decrypting).
ORDER = {kind: index for index, kind in enumerate(KINDS)}
OPT_IN_KINDS = ("bios_password", "bitlocker")


class ReadError(HardeningError):
    """A command the plan or apply reads a value from failed (error block, cut output, garbage): never a value."""


class TemplateError(HardeningError):
    """remediation.yaml is not usable (names the file and the place)."""


# --- reading the command outputs (the parsers' own readers: pwsh, regquery, time, logs, protect) ----------------

def output_text(outputs: Mapping[str, Any], command_id: str) -> str:
    """The text of a read block, or ReadError when the block failed (HARDENING-ERROR, cut output, an error record,
    missing)."""
    try:
        return block_text(outputs, command_id)
    except OutputFormatError as exc:
        raise ReadError(str(exc)) from None


def json_objects(outputs: Mapping[str, Any], command_id: str) -> list[dict[str, Any]]:
    """The ConvertTo-Json objects of a block; an empty block is a ReadError too (a cmdlet that failed early in
    its pipeline leaves the block empty: not determined, never "nothing there")."""
    try:
        items = block_json(outputs, command_id)
    except OutputFormatError as exc:
        raise ReadError(str(exc)) from None
    if not items:
        raise ReadError(f"`{command_id}`: empty block")
    return items


def enum(value: Any, table: str, what: str) -> str:
    try:
        return enum_name(value, section("enums")[table])
    except OutputFormatError as exc:
        raise ReadError(f"{what}: {exc}") from None


def secedit_value(text: str, key: str) -> str | None:
    """A `[System Access]` key of a secedit INF export, read by the audit's own INF parser (secpol.parse_inf)."""
    try:
        return parse_inf(text).get("System Access", key)
    except OutputFormatError as exc:
        raise ReadError(f"secpol: {exc}") from None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0"}:
        return value.strip().lower() in {"true", "1"}
    return None


# --- templates --------------------------------------------------------------------------------------------------

class _Formatter(string.Formatter):
    """`{p}`; `{p:minutes_up}` seconds rounded up to whole minutes; `{p:ms}` seconds as milliseconds."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "minutes_up":
            return str(math.ceil(int(value) / 60))
        if format_spec == "ms":
            return str(int(value) * 1000)
        return str(super().format_field(value, format_spec))


FORMATTER = _Formatter()


def fields_of(text: str) -> tuple[set[str], set[str]]:
    """(every parameter a template names, those named whole: `{a}` but not `{a[0]}`)."""
    names, whole = set(), set()
    for _, name, _, _ in FORMATTER.parse(text):
        if name:
            base = re.split(r"[.\[]", name)[0]
            names.add(base)
            if base == name:
                whole.add(base)
    return names, whole


def fill(template: Any, values: Mapping[str, Any], where: str) -> str:
    text = str(template)
    try:
        return FORMATTER.format(text, **values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ChangeError(where, f"template `{text}`: {exc}") from None


# --- the settings ---------------------------------------------------------------------------------------------

def ps_quote(text: str) -> str:
    """A PowerShell single-quoted string (no expansion; a quote is doubled)."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Setting:
    """One value on the host. Subclasses per kind; `ident` is what makes two requirements' settings the same."""

    kind: str
    ident: str            # unique per value on the host
    label: str            # what the plan shows before `from → to`
    target: str           # Change.target: what it touches
    reads: tuple[str, ...]

    def read(self, outputs: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def complies(self, value: Any) -> bool:
        raise NotImplementedError

    def wanted(self, value: Any) -> Any:
        raise NotImplementedError

    def show(self, value: Any) -> str:
        return ABSENT if value is None else str(value)

    def setter(self, current: Any) -> list[str]:
        raise NotImplementedError

    def restorer(self, saved: Any) -> list[str]:
        raise NotImplementedError

    def settled(self, value: Any, target: Any) -> bool:
        """Whether a value read after the setter is the value it set (verify)."""
        return bool(value == target)


@dataclass(frozen=True)
class Keep:
    """A current integer within [minimum, maximum], or one of `also`, complies and stays."""

    minimum: int | None = None
    maximum: int | None = None
    also: tuple[int, ...] = ()

    def holds(self, value: int) -> bool:
        return value in self.also or ((self.minimum is None or value >= self.minimum)
                                      and (self.maximum is None or value <= self.maximum))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class SeceditSetting(Setting):
    key: str = ""
    value: int = 0
    keep: Keep | None = None

    def read(self, outputs: Mapping[str, Any]) -> Any:
        raw = secedit_value(output_text(outputs, "secpol"), self.key)
        if raw is None:
            return None
        number = _int_or_none(raw)
        if number is None:
            raise ReadError(f"secpol: {self.key} = {raw!r} is not a number")
        return number

    def complies(self, value: Any) -> bool:
        if value is None:
            return False
        return value == self.value or (self.keep is not None and self.keep.holds(int(value)))

    def wanted(self, value: Any) -> Any:
        return value if self.complies(value) else self.value

    def setter(self, current: Any) -> list[str]:
        return [secedit_command({self.key: self.value})]

    def restorer(self, saved: Any) -> list[str]:
        return [] if saved is None else [secedit_command({self.key: saved})]


def secedit_command(values: Mapping[str, Any]) -> str:
    """`secedit /configure` of a generated INF holding only `values` under [System Access] (one line of
    PowerShell: the INF is a double-quoted string with `r`n line breaks and its $ and quotes escaped)."""
    lines = ["[Unicode]", "Unicode=yes", "[Version]", 'signature="$CHICAGO$"', "Revision=1", "[System Access]",
             *(f"{key} = {value}" for key, value in values.items())]
    inf = "`r`n".join(line.replace("`", "``").replace('"', '`"').replace("$", "`$") for line in lines) + "`r`n"
    return ("$f = Join-Path $env:TEMP 'hardening-apply.inf'; $d = Join-Path $env:TEMP 'hardening-apply.sdb'; "
            f'Set-Content -Path $f -Encoding Unicode -Value "{inf}"; '
            "secedit.exe /configure /db $d /cfg $f /areas SECURITYPOLICY /quiet; Remove-Item -Path $f,$d")


_REG_SZ_REFUSED = re.compile(r'["$`\r\n]')


@dataclass(frozen=True)
class RegistrySetting(Setting):
    key: str = ""
    name: str = ""
    type: str = "REG_DWORD"
    value: str | int = 0
    default: str | int | None = None
    keep: Keep | None = None

    def read(self, outputs: Mapping[str, Any]) -> Any:
        """The value's data (int for REG_DWORD, str for REG_SZ), None when it or its key is absent."""
        try:
            key = regquery.read_block(outputs, self.reads[0]).root
            value = None if key is None else key.get(self.name)
        except OutputFormatError as exc:
            raise ReadError(str(exc)) from None
        if value is None:
            return None
        wanted = int if self.type == "REG_DWORD" else str
        if value.type != self.type or not isinstance(value.data, wanted):
            raise ReadError(f"`{self.reads[0]}`: {self.name} is {value.type} {value.text!r}, not {self.type}")
        return value.data

    def complies(self, value: Any) -> bool:
        effective = self.default if value is None else value
        if effective is None:
            return False
        if effective == self.value:
            return True
        number = _int_or_none(effective)  # a REG_SZ number too (CachedLogonsCount)
        return self.keep is not None and number is not None and self.keep.holds(number)

    def wanted(self, value: Any) -> Any:
        return value if self.complies(value) else self.value

    def show(self, value: Any) -> str:
        if value is None:
            return ABSENT
        return str(value) if self.type == "REG_DWORD" else json.dumps(str(value), ensure_ascii=False)

    def _add(self, value: Any) -> str:
        data = str(value)
        if self.type != "REG_DWORD":
            data = f'"{data}"'
        return f'reg.exe add "{self.key}" /v {self.name} /t {self.type} /d {data} /f'

    def setter(self, current: Any) -> list[str]:
        return [self._add(self.value)]

    def restorer(self, saved: Any) -> list[str]:
        if saved is None:
            return [f'reg.exe delete "{self.key}" /v {self.name} /f']
        if self.type != "REG_DWORD" and _REG_SZ_REFUSED.search(str(saved)):
            raise ChangeError(self.label, "the saved text has a quote, $, backtick or line break that reg.exe add "
                                          "cannot write back exactly")
        return [self._add(saved)]


@dataclass(frozen=True)
class ServiceSetting(Setting):
    name: str = ""

    def read(self, outputs: Mapping[str, Any]) -> Any:
        for item in json_objects(outputs, "services"):
            if str(item.get("Name", "")).lower() == self.name.lower():
                start = enum(item.get("StartType"), "service_start_type", f"services: {self.name} StartType")
                status = enum(item.get("Status"), "service_status", f"services: {self.name} Status")
                return {"start": start, "running": status != "Stopped"}
        return None   # not installed: nothing to do

    def complies(self, value: Any) -> bool:
        return value is None or (value["start"] == "Disabled" and not value["running"])

    def wanted(self, value: Any) -> Any:
        return value if self.complies(value) else {"start": "Disabled", "running": False}

    def show(self, value: Any) -> str:
        if value is None:
            return "(not installed)"
        return f"{value['start']}, {'running' if value['running'] else 'stopped'}"

    def setter(self, current: Any) -> list[str]:
        return [f"Set-Service -Name {self.name} -StartupType Disabled; Stop-Service -Name {self.name} -Force"]

    def restorer(self, saved: Any) -> list[str]:
        if saved is None:
            return []
        if saved["start"] not in {"Automatic", "Manual", "Disabled"}:
            raise ChangeError(self.label, f"start type {saved['start']} cannot be set back with Set-Service")
        command = f"Set-Service -Name {self.name} -StartupType {saved['start']}"
        return [command + (f"; Start-Service -Name {self.name}" if saved["running"] else "")]


@dataclass(frozen=True)
class Smb1Setting(Setting):
    def read(self, outputs: Mapping[str, Any]) -> Any:
        value = as_bool(json_objects(outputs, "smb")[0].get("EnableSMB1Protocol"))
        if value is None:
            raise ReadError("smb: no EnableSMB1Protocol")
        return value

    def complies(self, value: Any) -> bool:
        return value is False

    def wanted(self, value: Any) -> Any:
        return False

    def show(self, value: Any) -> str:
        return "enabled" if value else "disabled"

    def setter(self, current: Any) -> list[str]:
        return ["Set-SmbServerConfiguration -EnableSMB1Protocol $false -Force"]

    def restorer(self, saved: Any) -> list[str]:
        return [f"Set-SmbServerConfiguration -EnableSMB1Protocol {'$true' if saved else '$false'} -Force"]


@dataclass(frozen=True)
class DefenderSetting(Setting):
    def read(self, outputs: Mapping[str, Any]) -> Any:
        value = as_bool(json_objects(outputs, "defender")[0].get("RealTimeProtectionEnabled"))
        if value is None:
            raise ReadError("defender: no RealTimeProtectionEnabled")
        return value

    def complies(self, value: Any) -> bool:
        return value is True

    def wanted(self, value: Any) -> Any:
        return True

    def show(self, value: Any) -> str:
        return "on" if value else "off"

    def setter(self, current: Any) -> list[str]:
        return ["Set-MpPreference -DisableRealtimeMonitoring $false"]

    def restorer(self, saved: Any) -> list[str]:
        return [f"Set-MpPreference -DisableRealtimeMonitoring {'$false' if saved else '$true'}"]


SYNC_FLAGS = {"NTP": "manual", "NT5DS": "domhier", "ALLSYNC": "all", "NOSYNC": "no"}


@dataclass(frozen=True)
class W32tmSetting(Setting):
    peers: tuple[str, ...] = ()
    flags: str = "0x8"
    accept_types: tuple[str, ...] = ("NTP",)

    def read(self, outputs: Mapping[str, Any]) -> Any:
        try:
            values = read_configuration(output_text(outputs, "w32tm_config"), section("labels")["w32tm"])
        except OutputFormatError as exc:
            raise ReadError(f"`w32tm_config`: {exc}") from None
        kind = values["Type"].split()
        return {"peers": values.get("NtpServer", ""), "type": kind[0] if kind else ""}

    def complies(self, value: Any) -> bool:
        kind = value["type"].upper()
        if kind not in {t.upper() for t in self.accept_types}:
            return False
        if kind == "NT5DS":  # the domain hierarchy: NtpServer is not used
            return True
        hosts = [peer.split(",")[0] for peer in value["peers"].split()]
        return kind in {"NTP", "ALLSYNC"} and bool(hosts) and all(h in self.peers for h in hosts)

    def wanted(self, value: Any) -> Any:
        if self.complies(value):
            return value
        return {"peers": " ".join(f"{peer},{self.flags}" for peer in self.peers), "type": "NTP"}

    def show(self, value: Any) -> str:
        return f"{value['peers'] or '(none)'} ({value['type']})"

    @staticmethod
    def _config(peers: str, sync: str) -> str:
        return f'w32tm.exe /config /manualpeerlist:"{peers}" /syncfromflags:{sync} /update'

    def setter(self, current: Any) -> list[str]:
        return [self._config(self.wanted(current)["peers"], "manual")]

    def restorer(self, saved: Any) -> list[str]:
        sync = SYNC_FLAGS.get(str(saved["type"]).upper())
        if sync is None:
            raise ChangeError(self.label, f"W32Time Type {saved['type']} has no /syncfromflags value")
        return [self._config(saved["peers"], sync)]


@dataclass(frozen=True)
class EventLogSetting(Setting):
    log: str = ""
    min_bytes: int = 0
    retention: bool = True
    auto_backup: bool = True

    def read(self, outputs: Mapping[str, Any]) -> Any:
        try:
            values = read_wevtutil(output_text(outputs, self.reads[0]))
        except OutputFormatError as exc:
            raise ReadError(f"`{self.reads[0]}`: {exc}") from None
        size, retention, backup = (_int_or_none(values.get("maxSize", "")), as_bool(values.get("retention")),
                                   as_bool(values.get("autoBackup")))
        if size is None or retention is None or backup is None:
            raise ReadError(f"{self.reads[0]}: no maxSize, retention or autoBackup")
        return {"max_size": size, "retention": retention, "auto_backup": backup}

    def complies(self, value: Any) -> bool:
        return bool(value["max_size"] >= self.min_bytes and value["retention"] == self.retention
                    and value["auto_backup"] == self.auto_backup)

    def wanted(self, value: Any) -> Any:
        return {"max_size": max(value["max_size"], self.min_bytes), "retention": self.retention,
                "auto_backup": self.auto_backup}

    def show(self, value: Any) -> str:
        return (f"maxSize {value['max_size']}, retention {str(value['retention']).lower()}, "
                f"autoBackup {str(value['auto_backup']).lower()}")

    def _sl(self, value: Mapping[str, Any]) -> str:
        return (f"wevtutil.exe sl {self.log} /ms:{value['max_size']} /rt:{str(value['retention']).lower()} "
                f"/ab:{str(value['auto_backup']).lower()}")

    def setter(self, current: Any) -> list[str]:
        return [self._sl(self.wanted(current))]

    def restorer(self, saved: Any) -> list[str]:
        return [self._sl(saved)]


@dataclass(frozen=True)
class BitLockerSetting(Setting):
    def read(self, outputs: Mapping[str, Any]) -> Any:
        return enum(json_objects(outputs, "bitlocker")[0].get("VolumeStatus"), "bitlocker_volume_status",
                    "bitlocker VolumeStatus")

    def complies(self, value: Any) -> bool:
        # only a decrypted volume is encrypted by this fix; one in progress or paused is left to a person
        return bool(value != "FullyDecrypted")

    def wanted(self, value: Any) -> Any:
        return value if self.complies(value) else "EncryptionInProgress"

    def settled(self, value: Any, target: Any) -> bool:
        return value in {"EncryptionInProgress", "FullyEncrypted"} if target == "EncryptionInProgress" else bool(
            value == target)

    def setter(self, current: Any) -> list[str]:
        return ["Enable-BitLocker -MountPoint $env:SystemDrive -EncryptionMethod XtsAes256 -TpmProtector"]

    def restorer(self, saved: Any) -> list[str]:
        return ["Disable-BitLocker -MountPoint $env:SystemDrive"] if saved == "FullyDecrypted" else []


@dataclass(frozen=True)
class BiosVendor:
    """A vendor's setter (remediation.yaml `bios`), by the interface protect.fill_firmware reports (dell-wmi …)."""

    name: str
    set: str


@dataclass(frozen=True)
class BiosPasswordSetting(Setting):
    """The BIOS admin password: set only where none is set. The password comes from the vault entry
    (`entry`, field bios_password) at the moment a command is made and is never part of a value."""

    vendors: tuple[BiosVendor, ...] = ()
    entry: str = ""
    password: Secret | None = field(default=None, repr=False, compare=False)

    def read(self, outputs: Mapping[str, Any]) -> Any:
        """{vendor: the WMI interface (dell-wmi, hp-wmi, lenovo-wmi) or None for a manufacturer without one,
        set: whether the admin password is set}, read as the audit reads it (protect.fill_firmware)."""
        result = Result()
        fill_firmware(outputs, result)
        pointer = "/firmware/admin_password_set"
        if pointer in result.errors:
            raise ReadError(result.errors[pointer])
        if pointer in result.manual:
            return {"vendor": None, "set": None}
        firmware = result.facts["firmware"]
        if firmware["interface"] not in {v.name for v in self.vendors}:
            return {"vendor": None, "set": None}
        return {"vendor": str(firmware["interface"]), "set": bool(firmware["admin_password_set"])}

    def complies(self, value: Any) -> bool:
        # an unknown vendor cannot be set: no change (the plan then says the fix shows no change)
        return value["vendor"] is None or value["set"] is True

    def wanted(self, value: Any) -> Any:
        return value if self.complies(value) else {"vendor": value["vendor"], "set": True}

    def show(self, value: Any) -> str:
        if value["vendor"] is None:
            return "(vendor without a known WMI interface)"
        if value["set"]:
            return f"set ({value['vendor']})"
        return f"not set ({value['vendor']})"

    def shown_wanted(self) -> str:
        return f"(set from vault entry {self.entry})"

    def _vendor(self, name: str) -> BiosVendor:
        return next(v for v in self.vendors if v.name == name)

    def _command(self, vendor: str, old: str, new: str) -> str:
        for password in (old, new):  # its quoted form too: an error record may echo the command line
            REDACTOR.register(password.replace("'", "''"))
        return self._vendor(vendor).set.replace("{old}", ps_quote(old)).replace("{new}", ps_quote(new))

    def _password(self) -> str:
        if self.password is None or not self.password.reveal():
            raise ChangeError(self.label, f"vault entry {self.entry} has no bios_password")
        return self.password.reveal()

    def setter(self, current: Any) -> list[str]:
        return [self._command(str(current["vendor"]), "", self._password())]

    def restorer(self, saved: Any) -> list[str]:
        if saved["set"] is not False:
            return []
        return [self._command(str(saved["vendor"]), self._password(), "")]


# --- remediation.yaml -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Remediation:
    source: Path
    parameters: Mapping[str, Any]
    requirements: Mapping[str, tuple[Mapping[str, Any], ...]]
    vendors: tuple[BiosVendor, ...]
    reg_reads: Mapping[str, str]       # registry key (lower case) -> command id of its `reg.exe query`
    commands: Mapping[str, str]        # command id -> command (platform.yaml table)


_FIELDS = {
    "registry": {"key", "name", "type", "value", "default", "keep", "when"},
    "secedit": {"key", "value", "keep", "when"},
    "service": {"name", "when"},
    "w32tm": {"peers", "flags", "accept_types", "when"},
    "eventlog": {"log", "min_bytes", "retention", "auto_backup", "when"},
    "smb1": {"when"}, "defender": {"when"}, "bitlocker": {"when"}, "bios_password": {"when"},
}


@functools.cache
def load_remediation(path: Path = REMEDIATION_FILE, platform_file: Path = PLATFORM_FILE) -> Remediation:
    """remediation.yaml, checked (TemplateError naming the file and the place)."""
    try:
        data = load_platform_data(path)
        table = load_platform_data(platform_file).get("commands") or []
    except (HardeningError, ValueError) as exc:
        raise TemplateError(f"{path}: {exc}") from None
    commands = {str(row["id"]): str(row["command"]) for row in table}
    reg_reads = {}
    for command_id, command in commands.items():
        found = re.fullmatch(r'reg\.exe query "([^"]+)"', command)
        if found:
            reg_reads[found.group(1).lower()] = command_id
    requirements: dict[str, tuple[Mapping[str, Any], ...]] = {}
    for rid, entries in (data.get("requirements") or {}).items():
        where = f"{path}: /requirements/{rid}"
        if not isinstance(entries, list) or not entries:
            raise TemplateError(f"{where}: a non-empty list of settings")
        for index, entry in enumerate(entries):
            kind = entry.get("kind") if isinstance(entry, dict) else None
            if kind not in _FIELDS:
                raise TemplateError(f"{where}/{index}: kind is one of {', '.join(_FIELDS)}")
            unknown = set(entry) - _FIELDS[kind] - {"kind"}
            if unknown:
                raise TemplateError(f"{where}/{index}: unknown field(s) {', '.join(sorted(unknown))} for {kind}")
            if kind == "registry":
                if entry.get("type") not in {"REG_DWORD", "REG_SZ"}:
                    raise TemplateError(f"{where}/{index}/type: REG_DWORD or REG_SZ")
                if str(entry.get("key", "")).lower() not in reg_reads:
                    raise TemplateError(f"{where}/{index}/key: no `reg.exe query` of it in {platform_file.name}")
        requirements[str(rid)] = tuple(entries)
    vendors = tuple(BiosVendor(str(name), str(v["set"])) for name, v in (data.get("bios") or {}).items())
    return Remediation(path, data.get("parameters") or {}, requirements, vendors,
                       reg_reads, commands)


def build(remediation: Remediation, rid: str, parameters: Mapping[str, Any], *, host: str,
          credentials: Any = None) -> list[Setting]:
    """The settings of one requirement with its parameters filled (ChangeError for a missing parameter)."""
    values = {**remediation.parameters, **parameters}
    settings: list[Setting] = []
    for index, entry in enumerate(remediation.requirements[rid]):
        where = f"{host}: {remediation.source.name} /requirements/{rid}/{index}"
        when = entry.get("when")
        if when is not None and not int(values.get(str(when["parameter"]), 0)) > int(when["above"]):
            continue
        names = set()
        whole = set()
        for name in ("name", "value", "min_bytes"):
            if isinstance(entry.get(name), str):
                n, w = fields_of(entry[name])
                names |= n
                whole |= w
        missing = sorted(n for n in names - {"n"} if n not in values)
        if missing:
            raise ChangeError(host, f"{rid}: parameter(s) {', '.join(missing)} not set (site parameters or the "
                                    "catalog)")
        lists = sorted(n for n in whole if isinstance(values.get(n), list | tuple))
        if len(lists) > 1:
            raise ChangeError(where, f"one setting may repeat over one list parameter, not {', '.join(lists)}")
        rounds: list[tuple[dict[str, Any], Any]] = [(dict(values), None)]
        if lists:
            if not values[lists[0]]:
                raise ChangeError(host, f"{rid}: parameter {lists[0]} is an empty list: the site must set it")
            rounds = [({**values, lists[0]: item, "n": number}, (lists[0], item))
                      for number, item in enumerate(values[lists[0]], start=1)]
        for round_values, item in rounds:
            settings.append(_setting(remediation, entry, round_values, values, item, where, credentials))
    return settings


def _keep(raw: Any, values: Mapping[str, Any], where: str) -> Keep | None:
    if not raw:
        return None
    bound = {k: None if raw.get(k) is None else int(fill(raw[k], values, where)) for k in ("min", "max")}
    return Keep(bound["min"], bound["max"], tuple(int(x) for x in raw.get("also") or []))


def _list_parameter(raw: Any, values: Mapping[str, Any], where: str) -> list[Any]:
    """A field naming a list parameter whole (`"{ntp_servers}"`) or a literal list: a non-empty list."""
    found = values.get(raw.strip().strip("{}")) if isinstance(raw, str) else raw
    if not isinstance(found, list | tuple) or not found:
        raise ChangeError(where, f"{raw} is not a non-empty list (the site must set it)")
    return list(found)


def _setting(remediation: Remediation, entry: Mapping[str, Any], values: Mapping[str, Any],
             all_values: Mapping[str, Any], item: tuple[str, Any] | None, where: str, credentials: Any) -> Setting:
    kind = str(entry["kind"])
    if kind == "registry":
        key, name = str(entry["key"]), fill(entry["name"], values, where)
        value: str | int = fill(entry["value"], values, where)
        if entry["type"] == "REG_DWORD":
            value = int(value)
        elif _REG_SZ_REFUSED.search(str(value)):
            raise ChangeError(where, f"the text for {name} has a double quote, $, backtick or line break, which "
                                     "reg.exe add cannot write as given")
        default = entry.get("default")
        short = key.replace("HKLM\\SOFTWARE\\", "HKLM\\…\\").replace("HKLM\\SYSTEM\\CurrentControlSet\\",
                                                                       "HKLM\\…\\")
        return RegistrySetting(kind, f"registry:{key.lower()}:{name.lower()}", f"{short} {name}", key,
                               (remediation.reg_reads[key.lower()],), key=key, name=name, type=str(entry["type"]),
                               value=value, default=default, keep=_keep(entry.get("keep"), values, where))
    if kind == "secedit":
        key = str(entry["key"])
        return SeceditSetting(kind, f"secedit:{key.lower()}", f"[System Access] {key}", "secedit SECURITYPOLICY",
                              ("secpol",), key=key, value=int(fill(entry["value"], values, where)),
                              keep=_keep(entry.get("keep"), values, where))
    if kind == "service":
        name = fill(entry["name"], values, where)
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ChangeError(where, f"service name {name!r} is not a plain service name")
        return ServiceSetting(kind, f"service:{name.lower()}", f"service {name}", f"service {name}", ("services",),
                              name=name)
    if kind == "w32tm":
        peers = _list_parameter(entry["peers"], all_values, where)
        if any(not re.fullmatch(r"[A-Za-z0-9_.:-]+", str(p)) for p in peers):
            raise ChangeError(where, "an NTP server is not a plain host name or address")
        accept = _list_parameter(entry.get("accept_types", ["NTP"]), all_values, where)
        return W32tmSetting(kind, "w32tm", "W32Time NtpServer (Type)", "w32tm", ("w32tm_config",),
                            peers=tuple(str(p) for p in peers), flags=str(entry.get("flags", "0x8")),
                            accept_types=tuple(str(t) for t in accept))
    if kind == "eventlog":
        log = str(entry["log"])
        return EventLogSetting(kind, f"eventlog:{log.lower()}", f"event log {log}", f"wevtutil {log}",
                               (f"eventlog_{log.lower()}",), log=log,
                               min_bytes=int(fill(entry["min_bytes"], values, where)),
                               retention=bool(entry.get("retention", True)),
                               auto_backup=bool(entry.get("auto_backup", True)))
    if kind == "smb1":
        return Smb1Setting(kind, "smb1", "SMB server EnableSMB1Protocol", "SMB server", ("smb",))
    if kind == "defender":
        return DefenderSetting(kind, "defender", "Defender real-time protection", "Defender", ("defender",))
    if kind == "bitlocker":
        return BitLockerSetting(kind, "bitlocker", "BitLocker OS volume ($env:SystemDrive)", "BitLocker",
                                ("bitlocker",))
    entry_name = getattr(credentials, "name", "") or "(none)"
    password = getattr(credentials, "bios_password", None)
    reads = ("computer", *sorted({str(v["command"]) for v in platform_data()["firmware_vendors"]}))
    return BiosPasswordSetting(kind, "bios_password", "BIOS/UEFI admin password", "firmware", reads,
                               vendors=remediation.vendors, entry=entry_name, password=password)
