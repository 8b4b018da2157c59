"""What the history answers with: a Change of one host x requirement between two runs, and the Drift of two runs.

Drift semantics (fail closed): a (host, requirement) is drifted when its status is `fail`.
- new:        fail in B, and not fail in A (any other status, or absent from A);
- resolved:   fail in A, and pass / waived / not_applicable in B;
- persisting: fail in both;
- unknown:    fail in A, and error / manual / absent in B: not counted as resolved (nothing shows it was fixed).
"""

from __future__ import annotations

import dataclasses
from typing import Any

RESOLVING = frozenset({"pass", "waived", "not_applicable"})
STATUSES = ("pass", "fail", "error", "not_applicable", "manual", "waived")


@dataclasses.dataclass(frozen=True)
class Change:
    """One host x requirement between run A and run B; before/after are its statuses, None = absent from that run."""

    host: str
    requirement: str
    clause: str
    before: str | None
    after: str | None
    title_ja: str = ""
    title_en: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Drift:
    """The drift of run B against run A (None when there was no run A to compare with: `since` before any run)."""

    new: list[Change]
    resolved: list[Change]
    persisting: list[Change]
    unknown: list[Change]
    run_a: str | None = None
    run_b: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"run_a": self.run_a, "run_b": self.run_b,
                **{kind: [c.as_dict() for c in getattr(self, kind)]
                   for kind in ("new", "resolved", "persisting", "unknown")}}


def classify(before: str | None, after: str | None) -> str | None:
    """The drift kind of one host x requirement (None: not drift in either run)."""
    if after == "fail":
        return "persisting" if before == "fail" else "new"
    if before != "fail":
        return None
    return "resolved" if after in RESOLVING else "unknown"
