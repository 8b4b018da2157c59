"""One place that turns a platform's raw facts output into a checked facts document.

Live collection (a platform's collect), an offline parse of a saved capture (a platform's
OfflineParser.parse, via hardening.offline.parse_capture) and a saved facts file (audit --from) all go
through here: parsed with loads_finite (NaN and Infinity refused: they compare false with every limit and
would pass), stamped with the inventory's host name, device class and platform, and validated against
schemas/facts.schema.json. Failures raise the given CollectionError kind naming the host (and the file, for
saved data).
"""

from __future__ import annotations

import json
from typing import Any

from hardening.core.errors import CollectionError, ProbeError
from hardening.core.jsonio import NonFiniteNumber, loads_finite
from hardening.core.models import Host
from hardening.core.schemas import fast_valid, validator


def parse_document(host: str, data: str | bytes, what: str,
                   kind: type[CollectionError] = ProbeError) -> dict[str, Any]:
    """The JSON object in `data` (`what` names it in errors: "probe output", "facts/web01.json")."""
    try:
        document = loads_finite(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise kind(host, f"{what} is not JSON ({type(exc).__name__})") from None
    except NonFiniteNumber as exc:
        raise kind(host, f"{what} holds {exc.token} at {exc.pointer}, not a number") from None
    if not isinstance(document, dict):
        raise kind(host, f"{what} is not a JSON object")
    return document


def validate_document(host: str, document: dict[str, Any], what: str,
                      kind: type[CollectionError] = ProbeError) -> dict[str, Any]:
    """`document` if it is valid against facts.schema.json, else `kind` naming the first place."""
    schema_validator = validator("facts.schema.json")
    if fast_valid(schema_validator, document):
        return document
    errors = sorted(schema_validator.iter_errors(document), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/" + "/".join(str(p) for p in first.absolute_path)
        raise kind(host, f"{what} does not match facts.schema.json at {where}: {first.message[:200]}")
    return document


def stamp(document: dict[str, Any], host: Host, platform: str, what: str,
          kind: type[CollectionError] = ProbeError) -> dict[str, Any]:
    """Stamp a freshly collected or parsed document with the inventory's identity, then validate it."""
    document["host"] = host.name
    document["device_class"] = host.device_class
    document["platform"] = platform
    return validate_document(host.name, document, what, kind)


def check_saved(document: dict[str, Any], host: Host, what: str,
                kind: type[CollectionError] = ProbeError) -> dict[str, Any]:
    """A saved (already stamped) document: valid, and stamped for exactly this inventory host."""
    validate_document(host.name, document, what, kind)
    for key, want in (("host", host.name), ("platform", host.platform), ("device_class", host.device_class)):
        if document.get(key) != want:
            raise kind(host.name, f"{what} is for {key} {document.get(key)!r}, the inventory says {want!r}")
    return document
