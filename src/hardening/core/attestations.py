"""Attestations as evaluation reads them: verified records of "a person saw evidence that host × requirement holds".

What no remote read can prove (an MFP's storage erased at disposal, an overwrite setting without an SNMP object, a
check the catalog marks `check: manual`) stays `manual` until a person other than the host's administrators attests
it with `hardening attest` (hardening.changes.attest, which signs the record and appends it to the ledger). This
module holds only the verified result of reading the ledger, so evaluation (core) never touches keys or files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Attestation:
    """One attestation whose ledger entry and signature verified: who, when, which evidence (name + SHA-256 only),
    valid through `expires` (inclusive, like a waiver)."""

    ledger_seq: int
    host: str
    requirement: str
    attester: str
    attested_at: str
    evidence_sha256: str
    evidence_name: str
    evidence_bytes: int
    expires: dt.date
    statement: str = ""

    def expired(self, today: dt.date) -> bool:
        return today > self.expires


@dataclass(frozen=True)
class Attestations:
    """The attestations a run may use, and what the run must say about reading them.

    `source`: the ledger read (None: attestations were not read at all, e.g. a library caller). `error`: why no
    attestation could be used (the ledger does not verify, the registry cannot be read): every one is ignored and
    the run exits 1. `warnings`: each record ignored on its own (forged or edited signature, attester not in the
    registry, attester now an administrator of the host, host or requirement unknown).
    """

    records: tuple[Attestation, ...] = ()
    source: str | None = None
    warnings: tuple[str, ...] = ()
    error: str | None = None

    def for_finding(self, host: str, requirement: str, today: dt.date) -> Attestation | None:
        """The attestation that decides host × requirement: the newest (by ledger order) still valid on `today`,
        else the newest expired one, else None. A later attestation with a shorter expiry does not cut an earlier
        one short: each holds until its own expiry."""
        matching = [a for a in self.records if a.host == host and a.requirement == requirement]
        if not matching:
            return None
        valid = [a for a in matching if not a.expired(today)]
        return max(valid or matching, key=lambda a: a.ledger_seq)

    def summary(self) -> dict[str, object] | None:
        """What the report's run.attestations says (None when attestations were not read)."""
        if self.source is None:
            return None
        return {"ledger": self.source, "verified": len(self.records), "warnings": list(self.warnings),
                "error": self.error}


NONE = Attestations()
