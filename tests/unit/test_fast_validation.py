"""jsonschema-rs answers only "valid?", and only where its answer is jsonschema's: never a pass jsonschema would fail.

The quick validators (core.schemas.fast_validity / fast_valid / schema_surely_valid) stand beside jsonschema for
the facts schema, every requirement, the inventory and catalog files. These tests hold them to it: over every
conformance case's facts and many broken variants of them, a `valid` from the quick path always matches no error
from jsonschema, and the findings of every requirement are the same with and without the quick path.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hardening.core import evaluate as evaluate_mod
from hardening.core import schemas
from hardening.core.catalog import CatalogError, example_value, load_catalog, load_requirement, substitute
from hardening.core.evaluate import evaluate_host
from hardening.core.models import CollectResult, Host, SystemInfo
from hardening.core.params import resolve
from hardening.core.schemas import (
    fast_valid,
    fast_validity,
    offline_validator,
    plain_json,
    schema_surely_valid,
    validator,
)

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "schemas" / "requirements")
CASES = sorted((ROOT / "tests" / "platforms").glob("*/cases/*/expected.json"))
SITE = {"ntp_servers": ["10.0.0.1"], "syslog_servers": ["10.0.0.2"], "management_networks": ["10.0.0.0/16"],
        "allowed_ports_by_role": {"base": ["tcp/22"]}}
TODAY = dt.date(2026, 11, 26)
# Values a broken or hand-written facts document may carry where a fact is expected.
ODD = [None, "", "x", -1, 0, 1, 10**6, 2**70, 1.5, float("nan"), True, False, [], {}, ["a"], ("a",), [1, "a"],
       {"a": 1}, "0.0.0.0/0", "tcp/23"]


def _cases() -> list[dict[str, Any]]:
    """Each case's expected facts as a facts document (its expected errors and manual facts listed by pointer)."""
    documents = []
    for path in CASES:
        expected = json.loads(path.read_text(encoding="utf-8"))
        document = {**expected, "evidence": {}}
        for key in ("errors", "manual"):
            found = expected.get(key) or {}
            document[key] = dict.fromkeys(found, "not determined") if isinstance(found, list) else found
        documents.append(document)
    return documents


def _host(document: dict[str, Any], case: Path) -> Host:
    platform = document.get("platform") or case.parts[-4]
    device_class = document.get("device_class")
    if not device_class:
        meta = (case.parent / "case.yaml").read_text(encoding="utf-8")
        device_class = next((line.split(":", 1)[1].strip() for line in meta.splitlines()
                             if line.startswith("device_class:")), "linux_server")
    return Host(name="h1", hostname="192.0.2.10", port=22, platform=platform, device_class=device_class,
                zone="lgwan", classification={"c": 2, "i": 2, "a": 2},
                system=SystemInfo("情報基盤", "総合政策部長", ("情報政策課長",)), roles=("app_server",), groups=(),
                credentials="lab")


def _pointers() -> list[str]:
    return sorted({p for r in CATALOG.values() for p in r.facts}
                  | {p for r in CATALOG.values() for e in r.platforms.values() for p in e.get("facts", [])})


def _with(facts: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    """A copy of `facts` with `value` at `pointer` (the objects on the way copied, the rest shared)."""
    parts = pointer.strip("/").split("/")
    top = dict(facts)
    node = top
    for part in parts[:-1]:
        child = node.get(part)
        child = dict(child) if isinstance(child, dict) else {}
        node[part] = child
        node = child
    node[parts[-1]] = value
    return top


def _variants(facts: dict[str, Any], pointers: list[str] | None = None) -> list[dict[str, Any]]:
    """The facts as they are, and with each fact of `pointers` (default: every fact a requirement reads) replaced
    by each odd value."""
    out = [facts]
    for pointer in _pointers() if pointers is None else pointers:
        out += [_with(facts, pointer, value) for value in ODD]
    return out


def test_the_conformance_cases_are_here() -> None:
    assert len(CASES) >= 30    # every platform's cases: the tests below run over all of them


def test_a_quick_valid_is_never_a_jsonschema_error_for_any_requirement() -> None:
    """Every requirement (with its example parameters and the site's) over every case's facts and their broken
    variants: where the quick validator says valid, jsonschema finds nothing; and it does answer for most."""
    answered = checked = 0
    for requirement in CATALOG.values():
        for values in ({n: example_value(p) for n, p in requirement.parameters.items()},
                       {n: SITE.get(n, example_value(p)) for n, p in requirement.parameters.items()}):
            schema = substitute(requirement.schema, values)
            quick = fast_validity(schema, formats=False)
            python = offline_validator(schema)
            reads = sorted({*requirement.facts, *(p for e in requirement.platforms.values()
                                                  for p in e.get("facts", []))})
            for document in _cases()[::3]:
                for facts in _variants(document["facts"], reads):
                    checked += 1
                    if quick is not None and quick(facts):
                        answered += 1
                        assert not list(python.iter_errors(facts)), (requirement.id, facts)
    assert checked > 10_000
    assert answered > 1_000


def test_the_quick_path_gives_the_same_findings_as_jsonschema_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case's facts and their broken variants, evaluated with and without jsonschema-rs: the same findings
    (status, message, violations, everything)."""
    pairs = []
    for case, document in zip(CASES, _cases(), strict=True):
        host = _host(document, case)
        for facts in _variants(document["facts"])[::251]:
            result = CollectResult("h1", {**document, "facts": facts}, None, None, 0.1)
            pairs.append((host, result))
    requirements = list(CATALOG.values())

    def run() -> list[Any]:
        return [evaluate_host(h, r, requirements, SITE, [], TODAY) for h, r in pairs]

    quick = run()
    monkeypatch.setattr(evaluate_mod, "_VALIDATORS", evaluate_mod._ValidatorCache())
    monkeypatch.setattr(evaluate_mod, "fast_validity", lambda *_args, **_kwargs: None)
    slow = run()
    assert [[repr(f) for f in host] for host in quick] == [[repr(f) for f in host] for host in slow]
    assert len(pairs) > 200


def test_the_facts_schema_quick_path_never_passes_what_jsonschema_refuses() -> None:
    facts_validator = validator("facts.schema.json")
    answered = 0
    for case in _cases():
        document = {**case, "host": "h1", "device_class": "router", "platform": case.get("platform", "x"),
                    "collected_at": "2026-11-26T00:00:00+00:00"}
        for facts in _variants(document["facts"])[::13]:
            candidate = {**document, "facts": facts}
            if fast_valid(facts_validator, candidate):
                answered += 1
                assert not list(facts_validator.iter_errors(candidate))
    assert answered > 0


def test_a_schema_with_a_custom_keyword_is_left_to_jsonschema() -> None:
    schema = {"type": "object", "properties": {"sources": {"type": "array",
                                                           "items": {"x-within-networks": ["10.0.0.0/8"]}}}}
    assert "x-within-networks" in schemas.CUSTOM_KEYWORDS
    assert fast_validity(schema, formats=False) is None
    outside = {"sources": ["192.0.2.0/24"]}
    assert list(offline_validator(schema).iter_errors(outside))    # the custom keyword still judges
    assert fast_valid(offline_validator(schema), outside) is False


@pytest.mark.parametrize("instance", [("a",), {"a": ("b",)}, float("nan"), float("inf"), 2**64, {1: "a"},
                                      [object()]])
def test_what_is_not_plain_json_is_left_to_jsonschema(instance: Any) -> None:
    """jsonschema-rs reads a tuple as an array (jsonschema does not) and numbers its own way."""
    assert not plain_json(instance)
    quick = fast_validity({}, formats=False)
    assert quick is not None
    assert quick(instance) is False
    tuple_schema = {"type": "object", "properties": {"a": {"type": "array"}}}
    assert list(Draft202012Validator(tuple_schema).iter_errors({"a": ("b",)}))
    assert fast_valid(Draft202012Validator(tuple_schema), {"a": ("b",)}) is False


def test_plain_json_is_answered() -> None:
    assert plain_json({"a": [1, 2.5, "x", None, True, {"b": []}]})
    quick = fast_validity({"type": "object", "required": ["a"]}, formats=False)
    assert quick is not None
    assert quick({"a": 1}) is True
    assert quick({"b": 1}) is False


def test_a_format_jsonschema_checks_differently_is_left_to_it() -> None:
    assert fast_validity({"type": "string", "format": "ipv4"}, formats=True) is None
    assert fast_validity({"type": "string", "format": "ipv4"}, formats=False) is not None
    quick = fast_validity({"type": "string", "format": "date-time"}, formats=True)
    assert quick is not None
    assert quick("2026-11-26T00:00:00+00:00")
    assert not quick("yesterday")


def test_no_reference_is_fetched() -> None:
    assert fast_validity({"$ref": "https://example.invalid/schema.json"}, formats=False) is None


@pytest.mark.parametrize(("schema", "valid"), [
    ({"$schema": schemas.DRAFT_2020_12, "type": "object"}, True),
    ({"type": "string", "pattern": "^a+$"}, True),
    ({"type": "string", "pattern": "("}, False),                    # not a regex at all
    ({"type": "string", "pattern": "\\p{L}"}, False),               # ECMA-262 only: Python's re refuses it
    ({"patternProperties": {"(": {}}}, False),
    ({"type": "foo"}, False),
    ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}, False),   # another draft
])
def test_schema_surely_valid_only_when_check_schema_agrees(schema: dict[str, Any], valid: bool) -> None:
    assert schema_surely_valid(schema) is valid
    if valid:
        Draft202012Validator.check_schema(schema)


def test_a_requirement_with_a_python_invalid_regex_is_still_refused(tmp_path: Path) -> None:
    source = ROOT / "schemas" / "requirements" / "PW-LEN.json"
    document = json.loads(source.read_text(encoding="utf-8"))
    document["properties"]["password_policy"]["properties"]["min_length"]["pattern"] = "\\p{L}"
    broken = tmp_path / "PW-LEN.json"
    broken.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogError, match="not a valid JSON Schema"):
        load_requirement(broken)


def test_resolved_parameters_still_drive_the_schema() -> None:
    requirement = CATALOG["PW-LEN"]
    host = Host(name="h1", hostname="192.0.2.10", port=22, platform="linux", device_class="linux_server",
                zone="lgwan", classification={"c": 2, "i": 2, "a": 1},
                system=SystemInfo("財務会計システム", "総合政策部長", ("財政課長",)), roles=("app_server",),
                groups=(), credentials="lab")
    values = resolve(requirement, host, {})
    validator_, quick = evaluate_mod._VALIDATORS.get(requirement, values)
    assert quick is not None
    assert validator_ is evaluate_mod._VALIDATORS.get(requirement, values)[0]
