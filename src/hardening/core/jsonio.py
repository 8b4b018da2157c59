"""Reading JSON that other people wrote (catalog files, probe output): standard JSON only.

Python's json module accepts ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON. A NaN makes
every comparison false, so a NaN limit or a NaN fact would turn a drift into a pass; and a document
holding one cannot be written back as JSON. `loads_finite` refuses them and says where they are.
Every writer of this project passes ``allow_nan=False`` for the same reason.
"""

from __future__ import annotations

import json
from typing import Any


class NonFiniteNumber(ValueError):
    """A JSON document holds NaN or an infinity; `pointer` says where."""

    def __init__(self, pointer: str, token: str) -> None:
        self.pointer = pointer
        self.token = token
        super().__init__(f"{pointer}: {token} is not a JSON number (only finite numbers are)")


class _Constant:
    def __init__(self, token: str) -> None:
        self.token = token


def _find(value: Any, path: list[str]) -> tuple[list[str], str] | None:
    if isinstance(value, _Constant):
        return path, value.token
    items: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    for name, item in items:
        found = _find(item, [*path, name])
        if found is not None:
            return found
    return None


def loads_finite(text: str | bytes) -> Any:
    """json.loads, but NaN / Infinity / -Infinity raise NonFiniteNumber naming their JSON pointer.

    Raises json.JSONDecodeError for text that is not JSON (and UnicodeDecodeError for bytes that are not UTF-8).
    """
    found_any: list[bool] = []

    def constant(token: str) -> _Constant:
        found_any.append(True)
        return _Constant(token)

    document = json.loads(text, parse_constant=constant)
    if found_any:
        found = _find(document, [])
        pointer, token = found if found is not None else ([], "NaN")
        raise NonFiniteNumber("/" + "/".join(pointer), token)
    return document
