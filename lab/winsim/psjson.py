"""ConvertTo-Json as Windows PowerShell 5.1 writes it (pure; no network).

What 5.1 does, and what this reproduces (docs: learn.microsoft.com/powershell/module/microsoft.powershell.utility/
convertto-json?view=powershell-5.1, and the 5.1 serializer, System.Web.Script.Serialization.JavaScriptSerializer):
- one object -> `{...}` (no `[ ]`); several -> `[ {...}, ... ]`;
- `"Name":  value` (two spaces after the colon); four-space indent, and a nested object or array is indented from
  the column where its opening bracket stands (5.1's own pretty printer, not .NET's);
- enums as their NUMBER (no -EnumsAsStrings in 5.1), booleans true/false, $null null;
- DateTime as `"\\/Date(<ms since 1970 UTC>)\\/"`;
- JavaScriptSerializer escapes `'` `<` `>` `&` as \\u0027 \\u003c \\u003e \\u0026; other non-ASCII stays literal;
- -Depth 2 (default): deeper objects are written as their ToString() (a SecurityIdentifier's is its SDDL string).
Values given here: str, int, float, bool, None, list, dict, and the marker types below.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PSDate:
    """A System.DateTime (UTC instant)."""
    when: dt.datetime


@dataclass(frozen=True)
class PSObject:
    """A .NET object with properties (in order) and a ToString() used beyond -Depth."""
    props: tuple[tuple[str, Any], ...]
    text: str


def sid(value: str) -> PSObject:
    """System.Security.Principal.SecurityIdentifier: BinaryLength, AccountDomainSid, Value."""
    parts = value.split("-")
    sub = len(parts) - 3
    domain = "-".join(parts[:-1]) if value.startswith("S-1-5-21-") else None
    domain_obj: Any = None
    if domain:
        dparts = domain.split("-")
        domain_obj = PSObject((("BinaryLength", 8 + 4 * (len(dparts) - 3)), ("AccountDomainSid", domain),
                               ("Value", domain)), domain)
    return PSObject((("BinaryLength", 8 + 4 * sub), ("AccountDomainSid", domain_obj), ("Value", value)), value)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "'": "\\u0027", "<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if v != int(v) else str(int(v))
    if isinstance(v, PSDate):
        ms = int(v.when.astimezone(dt.UTC).timestamp() * 1000)
        return _string(f"/Date({ms})/").replace("/", "\\/")
    return _string(str(v))


def _value(v: Any, depth: int, column: int, max_depth: int) -> str:
    """v written at `column` (where its first character goes)."""
    if isinstance(v, PSObject):
        if depth >= max_depth:
            return _string(v.text)
        return _object(list(v.props), depth, column, max_depth)
    if isinstance(v, dict):
        if depth >= max_depth:
            return _string(" ".join(f"{k}={x}" for k, x in v.items()))
        return _object(list(v.items()), depth, column, max_depth)
    if isinstance(v, list | tuple):
        if depth >= max_depth:
            return _string(" ".join(str(x) for x in v))
        return _array(list(v), depth, column, max_depth)
    return _scalar(v)


def _object(props: list[tuple[str, Any]], depth: int, column: int, max_depth: int) -> str:
    if not props:
        return "{\n" + " " * column + "}"
    pad = " " * (column + 4)
    lines = []
    for key, val in props:
        head = f"{_string(key)}:  "
        lines.append(pad + head + _value(val, depth + 1, column + 4 + len(head), max_depth))
    return "{\n" + ",\n".join(lines) + "\n" + " " * column + "}"


def _array(items: list[Any], depth: int, column: int, max_depth: int) -> str:
    if not items:
        return "[\n\n" + " " * column + "]"
    pad = " " * (column + 4)
    body = ",\n".join(pad + _value(x, depth + 1, column + 4, max_depth) for x in items)
    return "[\n" + body + "\n" + " " * column + "]"


def convert_to_json(objects: list[Any], max_depth: int = 2) -> str:
    """The text ConvertTo-Json writes for the objects a pipeline sent it ("" for none)."""
    if not objects:
        return ""
    if len(objects) == 1:
        return _value(objects[0], 0, 0, max_depth)
    # the pipeline's objects are collected into one array; its elements are depth 1
    return _array(objects, -1, 0, max_depth)
