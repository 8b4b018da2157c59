"""Reading `reg query` output (reg.exe is not localised except its messages and the default value's name).

    HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\EventLog\\EventForwarding\\SubscriptionManager
        1    REG_SZ    Server=http://wec.example:5985/wsman/SubscriptionManager/WEC,Refresh=60

    HKEY_LOCAL_MACHINE\\…\\SubscriptionManager\\Sub      (without /s: a subkey is listed by its path alone)

A value line is four spaces, the name, four spaces, the type, four spaces and the data (nothing after the type for
an empty string). REG_DWORD/REG_QWORD are hex (`0x5`), REG_MULTI_SZ items are separated by a literal `\\0`,
REG_BINARY is hex digits. With /s every key's header is followed by its values, and the output ends with
`End of search: N match(es) found.`. The unnamed value is `(Default)` (ja-JP `(既定)`); `(value not set)` (ja-JP
`(値の設定なし)`) is its data when it has none.

A key that does not exist is reported by reg.exe on stderr, exit code 1: `ERROR: The system was unable to find the
specified registry key or value.` (ja-JP `エラー: 指定されたレジストリ キーまたは値が見つかりませんでした。`),
which the batch's `2>&1` merges (Windows PowerShell 5.1 wraps it as `reg.exe : ERROR: …` with a
NativeCommandError record). That is `absent`, not an error: a policy key that is not there means the setting's
documented default applies. Any other reg.exe error (access denied …) raises RegQueryError.
Reference: https://learn.microsoft.com/windows-server/administration/windows-commands/reg-query
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from hardening.platforms.windows.data import section
from hardening.platforms.windows.pwsh import CommandOutput, OutputFormatError, block_text

_VALUE = re.compile(r"^ {4}(?P<name>.*?) {4}(?P<type>REG_[A-Z_]+)(?: {4}(?P<data>.*))?$")
_KEY = re.compile(r"^(HKEY_[A-Z_]+|HKLM|HKCU|HKCR|HKU|HKCC)(\\.*)?$")


class RegQueryError(OutputFormatError):
    """reg.exe reported an error other than a missing key, or its output has a line it does not write."""


@dataclass(frozen=True)
class RegValue:
    """One value: its name as shown (`(Default)` for the unnamed value), its type, and its data read by type:
    int (REG_DWORD, REG_QWORD, REG_DWORD_BIG_ENDIAN), str (REG_SZ, REG_EXPAND_SZ), list[str] (REG_MULTI_SZ),
    bytes (REG_BINARY), None (no data: `(value not set)`, REG_NONE). `text` is the data as printed."""

    name: str
    type: str
    data: int | str | list[str] | bytes | None
    text: str


@dataclass
class RegKey:
    """A key's values (looked up case-insensitively, as the registry does) and the subkeys listed under it."""

    path: str
    values: dict[str, RegValue] = field(default_factory=dict)
    subkeys: list[str] = field(default_factory=list)

    def get(self, name: str) -> RegValue | None:
        return self.values.get(name.lower())

    def dword(self, name: str) -> int | None:
        """A REG_DWORD/REG_QWORD value's number; None when the value is absent. RegQueryError when it has
        another type (a policy reader must not take a string for the number it expects)."""
        value = self.get(name)
        if value is None:
            return None
        if not isinstance(value.data, int):
            raise RegQueryError(f"{self.path}\\{value.name} is {value.type}, not a number")
        return value.data

    def string(self, name: str) -> str | None:
        """A REG_SZ/REG_EXPAND_SZ value's text (REG_MULTI_SZ items joined by newlines); None when absent."""
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value.data, list):
            return "\n".join(value.data)
        if value.data is None:
            return ""
        if not isinstance(value.data, str):
            raise RegQueryError(f"{self.path}\\{value.name} is {value.type}, not a string")
        return value.data


@dataclass
class RegQuery:
    """A `reg query` output: `absent` when the queried key does not exist, else its keys in order (without /s
    only the queried key, its subkeys named in `subkeys`; with /s the key and every key below it, values read)."""

    absent: bool
    keys: list[RegKey] = field(default_factory=list)

    @property
    def root(self) -> RegKey | None:
        """The queried key (the first listed); None when absent."""
        return self.keys[0] if self.keys else None

    def key(self, path: str) -> RegKey | None:
        """A key by its full path (HKEY_LOCAL_MACHINE\\… or HKLM\\…), case-insensitively."""
        wanted = canonical(path)
        return next((key for key in self.keys if canonical(key.path) == wanted), None)

    def under(self, path: str) -> list[RegKey]:
        """The keys at or below `path` (with /s)."""
        wanted = canonical(path)
        return [key for key in self.keys
                if canonical(key.path) == wanted or canonical(key.path).startswith(wanted + "\\")]


_HIVES = {"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER", "HKCR": "HKEY_CLASSES_ROOT",
          "HKU": "HKEY_USERS", "HKCC": "HKEY_CURRENT_CONFIG"}


def canonical(path: str) -> str:
    """A key path with its hive spelled out, lower case, no trailing backslash (for comparison)."""
    hive, _, rest = path.strip().rstrip("\\").partition("\\")
    hive = _HIVES.get(hive.upper(), hive.upper())
    return (hive + ("\\" + rest if rest else "")).lower()


def _labels() -> dict[str, list[str]]:
    labels = section("labels").get("reg", {})
    return {name: [str(v) for v in values] for name, values in labels.items()}


def parse_reg_query(text: str) -> RegQuery:
    """The keys and values of a `reg query` output (with or without /s). A missing key (en-US or ja-JP message)
    gives `RegQuery(absent=True)`. Raises RegQueryError for another reg.exe error or a line that is neither a key,
    a value, the /s summary nor part of PowerShell's error record."""
    labels = _labels()
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if _key_absent(text, lines, labels):
        return RegQuery(absent=True)
    result = RegQuery(absent=False)
    current: RegKey | None = None
    summary = _summary_line(lines, labels)
    recursive = summary is not None
    for number, line in enumerate(lines, 1):
        if not line.strip() or number == summary:
            continue
        value = _VALUE.match(line)
        if value:
            if current is None:
                raise RegQueryError(f"line {number}: a value before any key")
            parsed = _value(value.group("name"), value.group("type"), value.group("data") or "", labels, number)
            current.values[parsed.name.lower()] = parsed
            continue
        if line.startswith(" ") or not _KEY.match(line.strip()):
            raise RegQueryError(f"line {number}: not reg query output: {' '.join(line.split())[:120]}")
        path = line.strip()
        parent = result.key(path.rstrip("\\").rsplit("\\", 1)[0])
        if parent is not None:
            parent.subkeys.append(path)
        if recursive or not result.keys:
            result.keys.append(RegKey(path))
            current = result.keys[-1]
        else:
            # Without /s a subkey is listed by its path only, after the key's values: it is recorded as a subkey
            # of the queried key, not as a key of its own (its values were not read: none is not "default").
            current = None
    return result


def _key_absent(text: str, lines: list[str], labels: dict[str, list[str]]) -> bool:
    """True for reg.exe's missing-key message; RegQueryError for any other reg.exe error line."""
    if any(marker in text for marker in labels["not_found"]):
        if any(_KEY.match(line.strip()) for line in lines if not line.startswith(" ")):
            raise RegQueryError("reg.exe listed keys and also said the key was not found")
        return True
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(tuple(labels["error"])):
            raise RegQueryError(f"reg.exe: {' '.join(stripped.split())}")
    return False


def _summary_line(lines: list[str], labels: dict[str, list[str]]) -> int | None:
    """The 1-based number of /s's closing `End of search: N match(es) found.` line, or None (no /s). Its text is
    localised (only the en-US form is confirmed): the last non-empty line counts as the summary when it starts
    with a known label, or when it is neither a key nor a value line and states a count (a digit)."""
    for number in range(len(lines), 0, -1):
        line = lines[number - 1]
        if not line.strip():
            continue
        stripped = line.strip()
        if stripped.startswith(tuple(labels["summary"])):
            return number
        if not line.startswith(" ") and not _KEY.match(stripped) and re.search(r"\d", stripped):
            return number
        return None
    return None


def _value(name: str, kind: str, data: str, labels: dict[str, list[str]], number: int) -> RegValue:
    if name in labels["default_name"]:
        name = "(Default)"
    if data.strip() in labels["value_not_set"]:
        return RegValue(name, kind, None, data)
    try:
        if kind in ("REG_DWORD", "REG_QWORD", "REG_DWORD_BIG_ENDIAN", "REG_DWORD_LITTLE_ENDIAN",
                    "REG_QWORD_LITTLE_ENDIAN"):
            return RegValue(name, kind, int(data.strip(), 16), data)
        if kind in ("REG_SZ", "REG_EXPAND_SZ"):
            return RegValue(name, kind, data, data)
        if kind == "REG_MULTI_SZ":
            items = data.split("\\0")
            while items and items[-1] == "":
                items.pop()
            return RegValue(name, kind, items, data)
        if kind == "REG_BINARY":
            return RegValue(name, kind, bytes.fromhex(data.strip()), data)
        if kind == "REG_NONE":
            return RegValue(name, kind, None, data)
    except ValueError:
        raise RegQueryError(f"line {number}: {name} {kind} data {data.strip()[:60]!r} is not what reg.exe "
                            "writes for that type") from None
    return RegValue(name, kind, data, data)   # REG_LINK, REG_RESOURCE_LIST …: kept as printed


def read_block(outputs: Mapping[str, CommandOutput], command_id: str) -> RegQuery:
    """The `reg query` of a command's block: absent for a missing key (en-US/ja-JP, plain or as PowerShell 5.1's
    NativeCommandError record). Raises OutputFormatError (RegQueryError for reg.exe's own errors) naming the
    command when the block is missing, cut, a HARDENING-ERROR or not reg query output."""
    try:
        return parse_reg_query(block_text(outputs, command_id, records=False))
    except RegQueryError as exc:
        raise RegQueryError(f"`{command_id}`: {exc}") from None
