"""net-snmp's `snmpwalk -On` / `snmpget -On` text: render and parse it, by pure functions.

The capture of a printer (`DIR/<host>/snmpwalk.txt`) is this text, so an administrator can make one by hand
(`snmpwalk -v3 -l authPriv … -On <printer> .1.3.6.1.2.1.1 >> snmpwalk.txt`) and audit it with `audit --from`.
One line per object: `.1.3.6.1.2.1.1.1.0 = STRING: "RICOH IM C3000 …"`. A STRING may hold quotes and newlines
(net-snmp prints them as they are: the value runs on over the following lines that do not start a new object);
a value of bytes net-snmp does not print as text is `Hex-STRING: 07 E8 0B 1E …` (16 bytes per line); an empty
string is `""`; an object the agent does not have is `= No Such Object available on this agent at this OID` or
`= No Such Instance currently exists at this OID` (absent: not in the parsed walk).

DateAndTime (HOST-RESOURCES hrSystemDate) comes as Hex-STRING (no MIB loaded) or with its display hint
(`STRING: 2026-11-30,10:20:30.0,+9:0`); `date_and_time` reads both.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class SnmpValue:
    """One SNMP value as net-snmp prints it: `type` is its label (STRING, INTEGER, OID, Timeticks, Hex-STRING,
    IpAddress, Counter32, Gauge32, Counter64), `value` its text (STRING: the text; Hex-STRING: the bytes as upper
    case hex pairs separated by spaces) or number (INTEGER, counters, gauges, Timeticks in hundredths)."""

    type: str
    value: str | int

    def text(self) -> str:
        """The value as text: a Hex-STRING decoded as UTF-8 where it is (Japanese sysLocation, model names)."""
        if self.type == "Hex-STRING":
            data = hex_bytes(str(self.value))
            try:
                return data.decode("utf-8").rstrip("\x00")
            except UnicodeDecodeError:
                return str(self.value)
        return str(self.value)

    def octets(self) -> bytes:
        """The value's bytes (a STRING's UTF-8 text, a Hex-STRING's bytes)."""
        if self.type == "Hex-STRING":
            return hex_bytes(str(self.value))
        return str(self.value).encode("utf-8")


class WalkFormatError(ValueError):
    """A line of a walk that is not net-snmp output (`line` is 1-based)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


NUMERIC = {"INTEGER", "Counter32", "Gauge32", "Counter64", "Unsigned32", "Timeticks", "UInteger32"}
MISSING = ("No Such Object", "No Such Instance", "No more variables")
_START = re.compile(r"^(\.?[0-9]+(?:\.[0-9]+)+)\s+=\s?(.*)$")
_TYPED = re.compile(r"^([A-Za-z][A-Za-z0-9 -]*?):\s?(.*)$", re.S)


def hex_bytes(text: str) -> bytes:
    try:
        return bytes.fromhex("".join(text.split()))
    except ValueError:
        raise ValueError(f"not hex octets: {text[:40]!r}") from None


def hex_text(data: bytes) -> str:
    """Bytes as net-snmp prints a Hex-STRING value (upper case pairs separated by spaces)."""
    return " ".join(f"{byte:02X}" for byte in data)


def parse_walk(text: str) -> dict[str, SnmpValue]:
    """{numeric OID with a leading dot: value} of a walk's text; objects the agent said it has not are left out.
    WalkFormatError for text that is not walk output (a first line that is no object, a value of no known shape)."""
    entries: list[tuple[int, str, list[str]]] = []
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        match = _START.match(line)
        if match:
            oid = match.group(1) if match.group(1).startswith(".") else "." + match.group(1)
            entries.append((number, oid, [match.group(2)]))
        elif entries:
            entries[-1][2].append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            raise WalkFormatError(number, f"not an `OID = TYPE: value` line: {line[:60]!r}")
    values: dict[str, SnmpValue] = {}
    for number, oid, lines in entries:
        value = _value(number, lines)
        if value is not None:
            values[oid] = value
    return values


def _value(number: int, lines: list[str]) -> SnmpValue | None:
    # Lines after the first belong to a STRING (embedded newlines) or a wrapped Hex-STRING; a trailing empty line
    # is the end of the output, not part of the value.
    while len(lines) > 1 and not lines[-1].strip():
        lines = lines[:-1]
    raw = "\n".join(lines)
    body = raw.strip()
    if body.startswith(MISSING):
        return None
    if body == '""':
        return SnmpValue("STRING", "")
    if body.startswith("Wrong Type"):       # `Wrong Type (should be OCTET STRING): INTEGER: 3`
        body = body.split(":", 1)[1].strip() if ":" in body else body
    if body == "NULL":
        return SnmpValue("NULL", "")
    match = _TYPED.match(body)
    if not match:
        raise WalkFormatError(number, f"a value of no known form: {body[:60]!r}")
    label, rest = match.group(1), match.group(2)
    if label == "STRING":
        return SnmpValue("STRING", _string(rest))
    if label == "Hex-STRING":
        try:
            return SnmpValue("Hex-STRING", hex_text(hex_bytes(rest)))
        except ValueError as exc:
            raise WalkFormatError(number, str(exc)) from None
    if label == "Timeticks":
        ticks = re.match(r"\((\d+)\)", rest.strip())
        if not ticks:
            raise WalkFormatError(number, f"Timeticks without (hundredths): {rest[:40]!r}")
        return SnmpValue("Timeticks", int(ticks.group(1)))
    if label in NUMERIC:
        # `INTEGER: up(1)` with the MIB loaded, `INTEGER: 1` without; units may follow (`Gauge32: 3 pages`).
        found = re.search(r"\((-?\d+)\)\s*$", rest.strip()) or re.match(r"\s*(-?\d+)", rest)
        if not found:
            raise WalkFormatError(number, f"{label} without a number: {rest[:40]!r}")
        return SnmpValue("Gauge32" if label in ("Unsigned32", "UInteger32") else label, int(found.group(1)))
    if label == "OID":
        return SnmpValue("OID", rest.strip())
    return SnmpValue(label, rest.strip())


def _string(rest: str) -> str:
    """A STRING's text: between the first and the last double quote (net-snmp does not escape the quotes inside);
    a STRING printed by a display hint (DateAndTime) has no quotes."""
    stripped = rest.strip()
    if stripped.startswith('"') and stripped.endswith('"') and len(stripped) >= 2:
        return stripped[1:-1]
    return stripped


def render_value(value: SnmpValue) -> str:
    """The text after `= ` as net-snmp prints the value."""
    if value.type == "STRING":
        return '""' if value.value == "" else f'STRING: "{value.value}"'
    if value.type == "Hex-STRING":
        pairs = str(value.value).split()
        rows = [" ".join(pairs[i:i + 16]) + " " for i in range(0, len(pairs), 16)] or [""]
        return "Hex-STRING: " + "\n".join(rows)
    if value.type == "Timeticks":
        return f"Timeticks: ({value.value}) {timeticks_text(int(value.value))}"
    if value.type == "NULL":
        return "NULL"
    return f"{value.type}: {value.value}"


def timeticks_text(ticks: int) -> str:
    """net-snmp's rendering of hundredths of a second: `1 day, 2:03:04.05`, `3 days, …`, `0:00:01.23`."""
    days, rest = divmod(ticks, 8640000)
    hours, rest = divmod(rest, 360000)
    minutes, rest = divmod(rest, 6000)
    seconds, hundredths = divmod(rest, 100)
    clock = f"{hours}:{minutes:02d}:{seconds:02d}.{hundredths:02d}"
    if days:
        return f"{days} day{'s' if days != 1 else ''}, {clock}"
    return clock


def render_walk(values: Mapping[str, SnmpValue | None]) -> str:
    """The `snmpwalk -On` text of `values` in OID order; None = the agent has no such object."""
    lines = []
    for oid in sorted(values, key=oid_key):
        value = values[oid]
        if value is None:
            lines.append(f"{oid} = No Such Object available on this agent at this OID")
        else:
            lines.append(f"{oid} = {render_value(value)}")
    return "\n".join(lines) + ("\n" if lines else "")


def oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.strip(".").split(".") if part)


def under(values: Mapping[str, SnmpValue], prefix: str) -> dict[str, SnmpValue]:
    """The objects of a walk below `prefix` (a table column), keyed by their index after the prefix."""
    prefix = prefix.rstrip(".") + "."
    return {oid[len(prefix):]: value for oid, value in values.items() if oid.startswith(prefix)}


_HINTED = re.compile(r"^(\d{1,5})-(\d{1,2})-(\d{1,2}),(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d))?"
                     r"(?:,([+-])(\d{1,2}):(\d{1,2}))?$")


def date_and_time(value: SnmpValue, site_zone: str) -> dt.datetime:
    """A DateAndTime (SNMPv2-TC) as an aware datetime: 11 octets carry the UTC offset; 8 octets have none, and
    the device's clock is then read in the site's zone `site_zone` (e.g. Asia/Tokyo). ValueError when it is not
    a DateAndTime."""
    if value.type == "STRING":
        match = _HINTED.match(str(value.value).strip())
        if not match:
            raise ValueError(f"not a DateAndTime: {str(value.value)[:40]!r}")
        year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
        deci = int(match.group(7) or 0)
        offset: tuple[str, int, int] | None = None
        if match.group(8):
            offset = (match.group(8), int(match.group(9)), int(match.group(10)))
    else:
        data = value.octets()
        if len(data) not in (8, 11):
            raise ValueError(f"DateAndTime has {len(data)} octets, not 8 or 11")
        year = int.from_bytes(data[0:2], "big")
        month, day, hour, minute, second, deci = data[2], data[3], data[4], data[5], data[6], data[7]
        offset = None
        if len(data) == 11:
            direction = chr(data[8])
            if direction not in "+-":
                raise ValueError(f"DateAndTime direction from UTC is {direction!r}, not + or -")
            offset = (direction, data[9], data[10])
    second = min(second, 59)                     # 60 = a leap second
    if offset is None:
        zone: dt.tzinfo = ZoneInfo(site_zone)
    else:
        sign = 1 if offset[0] == "+" else -1
        zone = dt.timezone(sign * dt.timedelta(hours=offset[1], minutes=offset[2]))
    try:
        return dt.datetime(year, month, day, hour, minute, second, deci * 100000, tzinfo=zone)
    except ValueError as exc:
        raise ValueError(f"not a DateAndTime: {exc}") from None
