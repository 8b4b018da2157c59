"""Device data in a report is hostile until proven otherwise: this bounds and cleans it once, for every format.

A device can answer with megabytes (a banner, a command's output), with bytes that are not UTF-8 (kept as lone
surrogates by ``errors="surrogateescape"`` or replaced), with markup or formula text. Markup and formulas are
each format's business (HTML escapes, CSV prefixes, XLSX writes strings, XML escapes, the terminal shows
controls); what every format shares is here:

- `bound(value)`: a copy of a finding's or host's data in which no string is longer than MAX_TEXT characters and
  no value's JSON longer than MAX_VALUE; the facts file keeps the whole value (its digest is in the report), the
  report says where the rest is.
- `clean_text(text)`: lone surrogates (undecodable bytes) become U+FFFD, so a file is always valid UTF-8.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_TEXT = 16_384  # characters of one string in the report (an excerpt, a value, an error)
MAX_VALUE = 65_536  # characters of one value's JSON (a list of ten thousand sockets, say)
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` with every lone surrogate (a byte that was not UTF-8) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def truncated(text: str, limit: int = MAX_TEXT) -> str:
    """`text` cut at `limit` characters, saying how much was left out (ja + en: the reader may be either)."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"…［以下 {len(text) - limit} 文字省略 / {len(text) - limit} more characters cut］"


def bound(value: Any) -> Any:
    """A copy of `value` (JSON data) with lone surrogates replaced and every string and large value cut (see the
    module docstring)."""
    return _bound(value)[0]


def _bound(value: Any) -> tuple[Any, int]:
    """(bounded value, about how many characters its JSON takes): sizes add up on the way out, so a value is
    serialised only when it is really too large."""
    if isinstance(value, str):
        text = truncated(clean_text(value))
        return text, len(text) + 2
    if isinstance(value, dict):
        size, items = 2, {}
        for key, item in value.items():
            key_text, key_size = _bound(key) if isinstance(key, str) else (key, 8)
            items[key_text], item_size = _bound(item)
            size += key_size + item_size + 2
        return _cap(items, size)
    if isinstance(value, list):
        size, entries = 2, []
        for item in value:
            entry, item_size = _bound(item)
            entries.append(entry)
            size += item_size + 1
        return _cap(entries, size)
    return value, 8


def _cap(value: dict[str, Any] | list[Any], size: int) -> tuple[Any, int]:
    if size <= MAX_VALUE:
        return value, size
    text = truncated(json.dumps(value, ensure_ascii=False, allow_nan=False), MAX_VALUE)
    return text, len(text) + 2


def bound_members(value: dict[str, Any]) -> dict[str, Any]:
    """`value` (an object the report schema requires) with each member bounded: the object stays an object."""
    return {clean_text(key): bound(item) for key, item in value.items()}


def bound_report(report: dict[str, Any]) -> dict[str, Any]:
    """A report document read from a file (not built by this run) with its device data bounded as build_report
    bounds it: findings' message, actual, violations and evidence, and hosts' errors."""
    findings = [{**f, "message": bound_members(f["message"]), "actual": bound_members(f["actual"]),
                 "violations": [bound_members(v) for v in f["violations"]],
                 "evidence": [bound_members(e) for e in f["evidence"]]} for f in report["findings"]]
    hosts = [{**h, "error": bound(h["error"])} for h in report["hosts"]]
    return {**report, "hosts": hosts, "findings": findings}
