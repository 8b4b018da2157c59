"""Reading what one PowerShell batch prints: the framing of its blocks and the JSON ConvertTo-Json writes.

The audit runs every command of the platform's table in ONE `powershell.exe` process; each command is wrapped in a
block (see `block_script`)::

    <<<hardening:begin:ID>>>
    …the command's output (Out-String -Width 4096: text, errors merged by 2>&1)…
    <<<hardening:end:ID:RC>>>

`split_batch` turns the process's stdout into `{id: CommandOutput}`; anything it cannot account for (a block without
its end marker, text outside every block, a marker twice) is reported, never used as a value.

`read_json` reads ConvertTo-Json output as Windows PowerShell 5.1 and PowerShell 7 write it: a single object (no
`[ ]`) or an array, always returned as a list; empty output is no objects. Values the two versions write
differently have readers here: dates (`"\\/Date(ms)\\/"` in 5.1, ISO 8601 in 7), enums (numbers in 5.1, and in 7
without -EnumsAsStrings; names with it: `enum_name` maps either through a table given as data), SIDs (an object
with `Value`), booleans.

PowerShell error records inside a block (`Get-CimInstance : Invalid namespace`, `The term 'x' is not recognized…`,
their ja-JP texts, `HARDENING-ERROR: …` from the block's catch) are found by `error_reason`, which returns one line
saying why the block holds no data. The markers are data: platform.yaml `error_markers`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hardening.platforms.windows.data import platform_data

BEGIN = "<<<hardening:begin:{id}>>>"
END = "<<<hardening:end:{id}:{rc}>>>"
_BEGIN = re.compile(r"^<<<hardening:begin:([a-z0-9_]+)>>>$")
_END = re.compile(r"^<<<hardening:end:([a-z0-9_]+):(-?[0-9]+)>>>$")
_MARKER = re.compile(r"<<<hardening:(?:begin|end):")
_MARKER_TEXT = "<<<hardening:"    # what every marker, well-formed or not, holds (a plain substring test)
_ID = re.compile(r"^[a-z0-9_]+$")
ERROR_PREFIX = "HARDENING-ERROR: "


@dataclass(frozen=True)
class CommandOutput:
    """One command's block of a batch: its text (between the markers, `\\n` line ends), the exit code of its end
    marker (`$LASTEXITCODE`; -1 when there is no end marker) and why its text is not the command's output (None
    when it is): the block's HARDENING-ERROR text, or a framing problem such as a missing end marker."""

    text: str
    rc: int
    error: str | None


Block = CommandOutput


@dataclass(frozen=True)
class Batch:
    """A batch's stdout split into blocks, and what in it belongs to no block (one line each, with the line
    number: text before, between or after the blocks; markers out of order). `problems` are never data."""

    blocks: dict[str, CommandOutput]
    problems: list[str]


class OutputFormatError(ValueError):
    """A block's text is not in the format its command writes (one-line reason)."""


# -- building and splitting a batch ----------------------------------------------------------------------------


def block_script(command_id: str, command: str) -> str:
    """The PowerShell text of one block (the brief's framing, exactly): markers, $LASTEXITCODE reset, the command
    with its errors merged and rendered as text, a terminating error caught as HARDENING-ERROR."""
    if not _ID.match(command_id):
        raise ValueError(f"command id {command_id!r} is not [a-z0-9_]+")
    if "\n" in command or "\r" in command:
        raise ValueError(f"command {command_id!r} is not one line")
    return (f"Write-Output '{BEGIN.format(id=command_id)}'\n"
            "$global:LASTEXITCODE = 0\n"
            f"try {{ {command} 2>&1 | Out-String -Width 4096 }} catch {{ '{ERROR_PREFIX}' + $_.Exception.Message }}\n"
            f"Write-Output ('<<<hardening:end:{command_id}:' + $LASTEXITCODE + '>>>')\n")


def batch_script(commands: Iterable[tuple[str, str]]) -> str:
    """The whole batch script (stdin of the PowerShell process) for (id, command) pairs, in order."""
    seen: set[str] = set()
    parts = []
    for command_id, command in commands:
        if command_id in seen:
            raise ValueError(f"command id {command_id!r} appears twice in the batch")
        seen.add(command_id)
        parts.append(block_script(command_id, command))
    return "".join(parts)


def split_batch(stdout: str, expected: Sequence[str] = ()) -> Batch:
    """The blocks of a batch's stdout (CRLF or LF). Each `expected` id without a complete block gets a
    CommandOutput with `error` set (no output block / no end marker: the output was cut); a block whose text is
    a HARDENING-ERROR gets that message as `error`, and so does a block printed twice or holding a malformed
    marker. Text outside the blocks goes to `problems`."""
    splitter = _Splitter()
    for number, line in enumerate(_lines(stdout), 1):
        splitter.feed(number, line)
    splitter.close()
    missing = CommandOutput("", -1, "no output block: the batch ended before this command")
    return Batch({**dict.fromkeys(expected, missing), **splitter.blocks}, splitter.problems)


class _Splitter:
    """split_batch's state: the open block (id, first line, text so far, damage seen) and what was found."""

    def __init__(self) -> None:
        self.blocks: dict[str, CommandOutput] = {}
        self.problems: list[str] = []
        self.twice: set[str] = set()
        self.current: str | None = None
        self.start = 0
        self.body: list[str] = []
        self.damage: str | None = None

    def feed(self, number: int, line: str) -> None:
        if _MARKER_TEXT not in line:      # most lines: a command's output (no marker of either kind can be in it)
            if self.current is not None:
                self.body.append(line)
            elif line.strip():
                self.problems.append(f"line {number}: text outside any block: {_excerpt(line)}")
            return
        stripped = line.strip()
        begin, end = _BEGIN.match(stripped), _END.match(stripped)
        if begin:
            if self.current is not None:
                self._store(self.current, -1, f"no end marker after line {self.start} (cut by the next block's "
                                              f"begin at line {number})")
            self.current, self.start, self.body, self.damage = begin.group(1), number, [], None
            if self.current in self.blocks:
                self.problems.append(f"line {number}: block {self.current!r} begins a second time")
                self.twice.add(self.current)
        elif end:
            if self.current is None or end.group(1) != self.current:
                self.problems.append(f"line {number}: end marker of {end.group(1)!r} without its begin marker")
                return
            self._store(self.current, int(end.group(2)), self.damage)
        elif self.current is not None:
            self.body.append(line)
            if _MARKER.search(line):
                self.damage = f"a malformed hardening marker at line {number}"
                self.problems.append(f"line {number}: {self.damage} inside block {self.current!r}")
        elif line.strip():
            self.problems.append(f"line {number}: text outside any block: {_excerpt(line)}")

    def close(self) -> None:
        if self.current is not None:
            self._store(self.current, -1, f"no end marker after line {self.start}: the output was cut short")

    def _store(self, command_id: str, rc: int, error: str | None) -> None:
        text = "\n".join(self.body)
        if command_id in self.twice:
            error = "the batch printed this block twice"
        self.blocks[command_id] = CommandOutput(text, rc, error) if error else _block(text, rc)
        self.current = None


def _block(text: str, rc: int) -> CommandOutput:
    stripped = text.strip()
    if stripped.startswith(ERROR_PREFIX):
        return CommandOutput(text, rc, _one_line(stripped[len(ERROR_PREFIX):]) or "HARDENING-ERROR without a message")
    return CommandOutput(text, rc, None)


def _lines(text: str) -> list[str]:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _excerpt(text: str, limit: int = 200) -> str:
    line = _one_line(text)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- error records -----------------------------------------------------------------------------------------------


def _markers() -> Mapping[str, Any]:
    markers = platform_data().get("error_markers")
    if not isinstance(markers, Mapping):
        raise ValueError("platform.yaml: error_markers is not a mapping")
    return markers


def error_reason(text: str) -> str | None:
    """One line saying why a block's text is an error and not the command's output, or None when it reads as
    output: a HARDENING-ERROR line, a PowerShell error record (`+ FullyQualifiedErrorId :` in 5.1's view; in 7's
    concise view the `Cmdlet: message` line), or a known error message in en-US or ja-JP (platform.yaml
    `error_markers`). The reason is the line with the message (`Get-CimInstance : Invalid namespace`)."""
    lines = [line.strip() for line in _lines(text) if line.strip()]
    if not lines:
        return None
    for line in lines:
        if line.startswith(ERROR_PREFIX):
            return _excerpt(line[len(ERROR_PREFIX):]) or "HARDENING-ERROR"
    markers = _markers()
    record = [str(m) for m in markers.get("record", [])]
    messages = [str(m) for m in markers.get("messages", [])]
    if any(line.startswith(tuple(record)) for line in lines) or any(m in text for m in messages):
        return _excerpt(_message_line(lines, messages))
    return None


_POSITION = ("At line:", "At char:", "発生場所")


def _message_line(lines: list[str], messages: list[str]) -> str:
    """The line that carries the error's message: one with a known message, else the line before the record's
    position line (5.1's view), else the first line that is not part of the record's decoration."""
    for line in lines:
        if any(m in line for m in messages):
            return line
    for index, line in enumerate(lines):
        if line.startswith(_POSITION) and index > 0:
            return lines[index - 1]
    return next((line for line in lines if not line.startswith(("+", *_POSITION))), lines[0])


# -- ConvertTo-Json ----------------------------------------------------------------------------------------------


def read_json(output: CommandOutput | str) -> list[dict[str, Any]]:
    """The objects of a ConvertTo-Json output (single object or array → list; empty → []). Raises
    OutputFormatError with a one-line reason for an error block, an error record or text that is not JSON
    objects."""
    if isinstance(output, CommandOutput):
        if output.error:
            raise OutputFormatError(output.error)
        text = output.text
    else:
        text = output
    text = text.lstrip("\ufeff").strip()
    if not text:
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        # Not JSON: an error record says why (a JSON text is never taken for one, whatever strings it holds).
        raise OutputFormatError(error_reason(text) or f"not JSON (line {exc.lineno} column {exc.colno}: "
                                                      f"{exc.msg}): {_excerpt(text.splitlines()[0])}") from None
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise OutputFormatError(f"JSON item {index} is a {type(item).__name__}, not an object")
    return items


_MS_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


def read_date(value: Any) -> dt.datetime:
    """A date as ConvertTo-Json writes it, as an aware datetime: 5.1's `"\\/Date(ms)\\/"` (json gives
    `/Date(ms)/`; ms since 1970 UTC, a `+hhmm` suffix names the writer's zone only), 5.1's wrapped DateTime
    object (`{"value": "/Date(ms)/", "DateTime": …}`), or 7's ISO 8601 (with up to 7 fraction digits; without
    an offset it is taken as UTC only when it ends in Z, else refused). Raises OutputFormatError."""
    if isinstance(value, Mapping) and "value" in value:
        value = value["value"]
    if not isinstance(value, str):
        raise OutputFormatError(f"not a date: {value!r}")
    match = _MS_DATE.match(value.strip())
    if match:
        return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, tz=dt.UTC)
    return read_iso_datetime(value)


_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$")


def read_iso_datetime(value: str) -> dt.datetime:
    """An ISO 8601 date-time with its offset (`Get-Date -Format o`: `2026-11-29T21:40:00.1234567+09:00`, .NET's 7
    fraction digits cut to 6). Raises OutputFormatError when it has no offset or is not ISO 8601."""
    match = _ISO.match(value.strip())
    if not match:
        raise OutputFormatError(f"not an ISO 8601 date-time: {_excerpt(value)}")
    base, fraction, zone = match.groups()
    if zone is None:
        raise OutputFormatError(f"date-time without an offset (its zone is unknown): {value.strip()}")
    text = base + ("." + (fraction + "000000")[:6] if fraction else "") + ("+00:00" if zone == "Z" else zone)
    return dt.datetime.fromisoformat(text)


def enum_name(value: Any, table: Mapping[int, str] | Mapping[str, str]) -> str:
    """An enum written as a number (5.1; 7 without -EnumsAsStrings) or as its name (7 with it) → its name from
    `table` (number → name, as data; keys may be strings from YAML). Names compare case-insensitively and come
    back as the table spells them. Raises OutputFormatError for a value outside the table."""
    names = {int(k): str(v) for k, v in table.items()}
    if isinstance(value, bool):
        raise OutputFormatError(f"enum value {value!r} is a boolean")
    if isinstance(value, int):
        if value in names:
            return names[value]
        raise OutputFormatError(f"enum value {value} is not one of {sorted(names)}")
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return enum_name(int(text), table)
        for name in names.values():
            if name.lower() == text.lower():
                return name
        raise OutputFormatError(f"enum name {text!r} is not one of {sorted(names.values())}")
    raise OutputFormatError(f"enum value {value!r} is neither a number nor a name")


def sid_value(value: Any) -> str:
    """A SID as ConvertTo-Json writes it: an object with `Value` (`{"BinaryLength": 28, …, "Value": "S-1-5-…"}`)
    or the string itself. Raises OutputFormatError."""
    if isinstance(value, Mapping):
        value = value.get("Value")
    if isinstance(value, str) and re.fullmatch(r"S-1-\d+(-\d+)*", value.strip()):
        return value.strip()
    raise OutputFormatError(f"not a SID: {value!r}")


def read_bool(value: Any, what: str) -> bool:
    """A JSON boolean (ConvertTo-Json writes true/false). Raises OutputFormatError for anything else (null too:
    an unknown state is not false)."""
    if isinstance(value, bool):
        return value
    raise OutputFormatError(f"{what} is {json.dumps(value)}, not true or false")


def read_int(value: Any, what: str) -> int:
    """A JSON integer (or an integer written as a string). Raises OutputFormatError."""
    if isinstance(value, bool):
        raise OutputFormatError(f"{what} is a boolean, not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise OutputFormatError(f"{what} is {json.dumps(value)}, not an integer")


def field(item: Mapping[str, Any], name: str) -> Any:
    """An object's property by name, as PowerShell matches them (case-insensitively). Raises OutputFormatError
    when the object has no such property (Select-Object always writes every selected name, null when unset)."""
    if name in item:
        return item[name]
    for key, value in item.items():
        if key.lower() == name.lower():
            return value
    raise OutputFormatError(f"the object has no property {name!r}")


def block_text(outputs: Mapping[str, CommandOutput], command_id: str, *, records: bool = True) -> str:
    """The text of a command's block when it holds the command's output. Raises OutputFormatError with a one-line
    reason naming the command when the capture lacks it, the block is an error (HARDENING-ERROR, cut output) or
    (`records`) its text is an error record. A reader that knows its command's own error texts (reg.exe's
    missing key is `absent`, not an error) passes records=False and judges them itself."""
    output = outputs.get(command_id)
    if output is None:
        raise OutputFormatError(f"`{command_id}`: not in the capture")
    if output.error:
        raise OutputFormatError(f"`{command_id}`: {output.error}")
    text = output.text.lstrip("\ufeff")
    if not records:
        return text
    reason = error_reason(text)
    if reason:
        raise OutputFormatError(f"`{command_id}`: {reason}")
    return text


def block_json(outputs: Mapping[str, CommandOutput], command_id: str) -> list[dict[str, Any]]:
    """The ConvertTo-Json objects of a command's block (read_json), errors naming the command."""
    text = block_text(outputs, command_id, records=False)
    try:
        return read_json(text)
    except OutputFormatError as exc:
        raise OutputFormatError(f"`{command_id}`: {exc}") from None
