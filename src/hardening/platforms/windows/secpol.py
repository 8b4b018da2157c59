"""The local security policy as `secedit /export /areas SECURITYPOLICY` writes it (a Windows INF file), and the
account policy facts it gives: password length and complexity, lockout threshold, duration and window, and whether
passwords are stored with reversible encryption.

    [Unicode]
    Unicode=yes
    [System Access]
    MinimumPasswordLength = 14
    PasswordComplexity = 1
    LockoutBadCount = 5
    ResetLockoutCount = 15
    LockoutDuration = 15
    ClearTextPassword = 0
    NewAdministratorName = "Administrator"
    [Registry Values]
    MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\NoLMHash=4,1
    [Version]
    signature="$CHICAGO$"
    Revision=1

secedit writes the file in UTF-16LE with a BOM; the audit's block holds it as `Get-Content` decoded it, and a
saved export may be the file itself (`read_capture_text` decodes both). Keys are case-insensitive; `Key = value`
with spaces in [System Access], `path=type,value` in [Registry Values] (type 1 REG_SZ, 4 REG_DWORD, 7 REG_MULTI_SZ,
3 REG_BINARY). With LockoutBadCount = 0 Windows leaves LockoutDuration and ResetLockoutCount out: there is no lockout.
Reference: https://learn.microsoft.com/windows-server/administration/windows-commands/secedit-export and the
security policy settings reference (Account Policies).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from hardening.platforms.common.netcli import Result
from hardening.platforms.windows.data import platform_data
from hardening.platforms.windows.pwsh import CommandOutput, OutputFormatError, block_text
from hardening.platforms.windows.regquery import RegQuery

SECPOL = "secpol"
SOURCE = "secedit /export /areas SECURITYPOLICY"
_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]\s*$")
_SETTING = re.compile(r"^(?P<key>[^=;]+?)\s*=\s*(?P<value>.*?)\s*$")


@dataclass
class SecurityPolicy:
    """The INF's sections ({lower-case section: {lower-case key: value as written, quotes removed}}) and its
    [Registry Values] ({lower-case MACHINE\\… path: (type, data)})."""

    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    registry_values: dict[str, tuple[int, str]] = field(default_factory=dict)
    lines: dict[str, str] = field(default_factory=dict)   # "section/key" -> the line as written (evidence)

    def get(self, section: str, key: str) -> str | None:
        return self.sections.get(section.lower(), {}).get(key.lower())

    def number(self, section: str, key: str) -> int | None:
        """A numeric setting; None when absent. OutputFormatError when it is not a number."""
        value = self.get(section, key)
        if value is None:
            return None
        if not re.fullmatch(r"-?\d+", value):
            raise OutputFormatError(f"[{section}] {key} = {value!r} is not a number")
        return int(value)

    def cite(self, section: str, *keys: str) -> list[str]:
        return [self.lines[f"{section.lower()}/{key.lower()}"] for key in keys
                if f"{section.lower()}/{key.lower()}" in self.lines]


def parse_inf(text: str) -> SecurityPolicy:
    """The settings of a secedit INF export. Raises OutputFormatError for a line outside any section or one that
    is neither a section header, a setting, a comment nor blank, and when there is no [System Access] section."""
    policy = SecurityPolicy()
    current: str | None = None
    for number, raw in enumerate(text.lstrip("\ufeff").replace("\r\n", "\n").split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        header = _SECTION.match(line)
        if header:
            current = header.group("name").strip().lower()
            policy.sections.setdefault(current, {})
            continue
        setting = _SETTING.match(line)
        if setting is None or current is None:
            raise OutputFormatError(f"line {number}: not a secedit INF line: {line[:80]!r}")
        key, value = setting.group("key").strip(), setting.group("value")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if current == "registry values":
            kind, _, data = value.partition(",")
            if not kind.strip().isdigit():
                raise OutputFormatError(f"line {number}: registry value {key} has no type: {value[:40]!r}")
            policy.registry_values[key.lower()] = (int(kind), data)
        policy.sections[current][key.lower()] = value
        policy.lines[f"{current}/{key.lower()}"] = line
    if "system access" not in policy.sections:
        raise OutputFormatError("the export has no [System Access] section (secedit exported nothing?)")
    return policy


def read_policy(outputs: Mapping[str, CommandOutput]) -> SecurityPolicy:
    """The secpol block's INF. Raises OutputFormatError naming the command."""
    text = block_text(outputs, SECPOL)
    try:
        return parse_inf(text)
    except OutputFormatError as exc:
        raise OutputFormatError(f"`{SECPOL}`: {exc}") from None


PASSWORD_POINTERS = ("/password_policy/enforced", "/password_policy/min_length", "/password_policy/min_char_classes",
                     "/password_policy/char_categories")
LOCKOUT_POINTERS = ("/login/lockout_threshold", "/login/lockout_duration_seconds", "/login/lockout_window_seconds")


def fill_password_policy(policy: SecurityPolicy, result: Result) -> None:
    """/password_policy from [System Access]: the SAM applies the account policy whenever a password is set, so it
    is enforced; complexity on = 3 of Windows' 5 categories (platform.yaml `defaults`)."""
    defaults = platform_data()["defaults"]
    section = "System Access"
    try:
        length = policy.number(section, "MinimumPasswordLength")
        complexity = policy.number(section, "PasswordComplexity")
        if length is None or complexity is None:
            raise OutputFormatError("[System Access] lacks MinimumPasswordLength or PasswordComplexity")
    except OutputFormatError as exc:
        for pointer in PASSWORD_POINTERS:
            result.errors[pointer] = f"`{SECPOL}`: {exc}"
        return
    result.put("/password_policy/enforced", True)
    result.put("/password_policy/min_length", length)
    result.put("/password_policy/min_char_classes", int(defaults["complexity_classes"]) if complexity == 1 else 1)
    result.put("/password_policy/char_categories", int(defaults["char_categories"]))
    result.cite("/password_policy", f"cmd:{SOURCE}",
                ["[System Access]", *policy.cite(section, "MinimumPasswordLength", "PasswordComplexity")])


def fill_length_limit(sam: RegQuery | None, sam_error: str | None, result: Result) -> None:
    """/password_policy/min_length_limit: 14 unless the SAM key's RelaxMinimumPasswordLengthLimits is 1 (then
    none: null)."""
    if sam is None:
        result.errors["/password_policy/min_length_limit"] = sam_error or "`reg_sam`: not read"
        return
    try:
        relax = sam.root.dword("RelaxMinimumPasswordLengthLimits") if sam.root is not None else None
    except ValueError as exc:
        result.errors["/password_policy/min_length_limit"] = f"`reg_sam`: {exc}"
        return
    limit = int(platform_data()["defaults"]["min_length_limit"])
    result.put("/password_policy/min_length_limit", None if relax == 1 else limit)
    result.cite("/password_policy/min_length_limit", "reg:HKLM\\SYSTEM\\CurrentControlSet\\Control\\SAM",
                [f"RelaxMinimumPasswordLengthLimits = {relax if relax is not None else '(absent)'}"])


def fill_lockout(policy: SecurityPolicy, result: Result) -> None:
    """/login lockout from [System Access]: LockoutBadCount; LockoutDuration in minutes (0 or -1: locked until an
    administrator unlocks = 0 s); ResetLockoutCount in minutes (the observation window). Without a lockout
    (threshold 0) duration and window are null."""
    section = "System Access"
    try:
        threshold = policy.number(section, "LockoutBadCount")
        if threshold is None:
            raise OutputFormatError("[System Access] lacks LockoutBadCount")
        duration = policy.number(section, "LockoutDuration")
        window = policy.number(section, "ResetLockoutCount")
        if threshold > 0 and (duration is None or window is None):
            raise OutputFormatError(f"LockoutBadCount = {threshold} but LockoutDuration or ResetLockoutCount is "
                                    "missing")
    except OutputFormatError as exc:
        for pointer in LOCKOUT_POINTERS:
            result.errors[pointer] = f"`{SECPOL}`: {exc}"
        return
    result.put("/login/lockout_threshold", threshold)
    if threshold == 0 or duration is None or window is None:
        result.put("/login/lockout_duration_seconds", None)
        result.put("/login/lockout_window_seconds", None)
    else:
        result.put("/login/lockout_duration_seconds", 0 if duration <= 0 else duration * 60)
        result.put("/login/lockout_window_seconds", max(window, 0) * 60)
    result.cite("/login/lockout_threshold", f"cmd:{SOURCE}",
                ["[System Access]", *policy.cite(section, "LockoutBadCount", "LockoutDuration", "ResetLockoutCount")])


def reversible_encryption(policy: SecurityPolicy) -> bool:
    """ClearTextPassword = 1: passwords are stored with reversible encryption (absent: 0, the documented
    default). OutputFormatError when it is not a number."""
    return policy.number("System Access", "ClearTextPassword") == 1
