"""Shared by the per-platform catalog tests: a compliant facts document edited fact by fact, and one requirement
evaluated on it the way the audit does."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from hardening.core.evaluate import evaluate_requirement
from hardening.core.models import CollectResult, Finding, Host, Requirement


def edited(facts: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of `facts` with `changes` applied: {"time/offset_ms_abs": 9000, …} sets a fact by its path
    (list items by index); a key ending in `!` deletes that fact."""
    out = copy.deepcopy(dict(facts))
    for where, value in changes.items():
        parts = where.rstrip("!").split("/")
        node: Any = out
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        last: Any = int(parts[-1]) if isinstance(node, list) else parts[-1]
        if where.endswith("!"):
            del node[last]
        else:
            node[last] = value
    return out


def evaluate_on(target: Host, document: Mapping[str, Any], facts: dict[str, Any], requirement: Requirement,
                site: dict[str, Any], *, errors: dict[str, str] | None = None,
                manual: dict[str, str] | None = None) -> Finding:
    """`requirement` on `target` whose collected document is `document` with these facts, errors and manual notes."""
    full = {**document, "facts": facts, "errors": errors or {}, "manual": manual or {}}
    return evaluate_requirement(target, CollectResult(target.name, full, None, None, 0.1), requirement, site)
