"""The catalog: one JSON Schema document per requirement, validated by a meta-schema on load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable

from hardening.core.errors import CatalogError
from hardening.core.jsonio import NonFiniteNumber, loads_finite
from hardening.core.models import ParameterSpec, Requirement
from hardening.core.schemas import check, load_schema, offline_resolver, schema_surely_valid, validator

META_SCHEMA = "requirement.meta.schema.json"


def substitute(schema: Any, values: dict[str, Any]) -> Any:
    """Replace every {"$param": name} in a schema with the parameter's resolved value."""
    if isinstance(schema, dict):
        if set(schema) == {"$param"}:
            return values[schema["$param"]]
        return {key: substitute(value, values) for key, value in schema.items()}
    if isinstance(schema, list):
        return [substitute(item, values) for item in schema]
    return schema


def _param_refs(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        if set(schema) == {"$param"}:
            return {schema["$param"]}
        return set().union(*(_param_refs(v) for v in schema.values())) if schema else set()
    if isinstance(schema, list):
        return set().union(*(_param_refs(v) for v in schema)) if schema else set()
    return set()


def example_value(spec: ParameterSpec) -> Any:
    """The default as the schema sees it: a per-role mapping resolves to the union of its lists."""
    if spec.per_role and isinstance(spec.default, dict):
        return [item for items in spec.default.values() for item in (items or [])]
    return spec.default


def _check_refs(schema: Any, file: str) -> None:
    """Every $ref / $dynamicRef must resolve inside the requirement itself, now: what `validate` accepts,
    `audit` can evaluate, and evaluation never fetches anything (no other file, no network)."""
    resolver = offline_resolver(schema)

    def walk(node: Any, base: str, pointer: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$id"), str):
                base = urljoin(base, node["$id"])
            for keyword in ("$ref", "$dynamicRef"):
                ref = node.get(keyword)
                if isinstance(ref, str):
                    try:
                        resolver.lookup(urljoin(base, ref))
                    except Unresolvable:
                        raise CatalogError(file, f"{pointer}/{keyword}", f"{ref!r} does not resolve inside this "
                                           "requirement (references to other files or URLs are not followed)"
                                           ) from None
            for key, value in node.items():
                walk(value, base, f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, base, f"{pointer}/{index}")

    walk(schema, schema.get("$id", "") if isinstance(schema, dict) else "", "")


def _read_document(path: Path) -> Any:
    """The parsed JSON of a requirement file; CatalogError names the byte, line or pointer of a problem."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(str(path), f"byte {exc.start}", f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise CatalogError(str(path), "/", f"cannot read: {exc.strerror or type(exc).__name__}") from None
    try:
        return loads_finite(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(str(path), f"line {exc.lineno}, column {exc.colno}", f"not JSON: {exc.msg}") from None
    except NonFiniteNumber as exc:
        raise CatalogError(str(path), exc.pointer, f"{exc.token} is not a JSON number (only finite numbers are)"
                           ) from None


def _refuse_single_platform_shape(document: Any, file: str) -> None:
    """The format before per-platform remediation had one `automation` per requirement: say where it went
    (a bare "additional property" error would not)."""
    meta = document.get("x-hardening") if isinstance(document, dict) else None
    if isinstance(meta, dict) and "automation" in meta:
        raise CatalogError(file, "/x-hardening/automation", "the single-platform shape is no longer read: move "
                           "`automation` and the platform's own remediation text under "
                           "x-hardening.platforms.<platform> (e.g. platforms.linux), and keep a platform-neutral "
                           "intent in x-hardening.remediation (docs/catalog.md)")


def is_fact_path(pointer: str) -> bool:
    """Whether `pointer` names a fact facts.schema.json defines (through `properties`, from the facts object)."""
    node: Any = load_schema("facts.schema.json")["properties"]["facts"]
    for part in pointer.strip("/").split("/"):
        properties = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(properties, dict) or part not in properties:
            return False
        node = properties[part]
    return True


def _check_fact_pointers(pointers: list[str], file: str, where: str) -> None:
    for index, pointer in enumerate(pointers):
        if not is_fact_path(pointer):
            raise CatalogError(file, f"{where}/{index}", f"{pointer!r} is not a fact of facts.schema.json")


def _check_platform_entries(meta: dict[str, Any], file: str) -> None:
    """What the meta-schema cannot say about the facts and `platforms`: every fact pointer (the requirement's and
    a platform's own `facts`) is a fact of facts.schema.json, manual_facts are facts the requirement reads on
    that platform, and only an automated fix has them."""
    _check_fact_pointers(meta["facts"], file, "/x-hardening/facts")
    for platform, entry in meta["platforms"].items():
        reads = entry.get("facts", meta["facts"])
        _check_fact_pointers(entry.get("facts", []), file, f"/x-hardening/platforms/{platform}/facts")
        automation = entry.get("automation", {})
        manual = automation.get("manual_facts", [])
        if manual and automation.get("fix") != "automated":
            raise CatalogError(file, f"/x-hardening/platforms/{platform}/automation/manual_facts",
                               "manual_facts only mean something beside an automated fix")
        for index, pointer in enumerate(manual):
            if pointer not in reads:
                raise CatalogError(file, f"/x-hardening/platforms/{platform}/automation/manual_facts/{index}",
                                   f"{pointer!r} is not one of the facts this requirement reads on {platform}")


def load_requirement(path: Path) -> Requirement:
    """Load one requirement file; raise CatalogError naming the file and place."""
    document = _read_document(path)
    _refuse_single_platform_shape(document, str(path))
    check(document, validator(META_SCHEMA), str(path), CatalogError)
    meta = document["x-hardening"]
    if meta["id"] != path.stem:
        raise CatalogError(str(path), "/x-hardening/id", f"id {meta['id']!r} differs from the file name")
    _check_platform_entries(meta, str(path))
    params = {
        name: ParameterSpec(
            name=name,
            schema=spec["schema"],
            default=spec["default"],
            basis=spec["basis"],
            description=spec["description"],
            per_role=bool(spec.get("per_role", False)),
        )
        for name, spec in meta.get("parameters", {}).items()
    }
    body = {k: v for k, v in document.items() if k != "x-hardening"}
    unknown = _param_refs(body) - set(params)
    if unknown:
        raise CatalogError(str(path), "/", f"uses undeclared parameter(s): {', '.join(sorted(unknown))}")
    example = substitute(body, {n: example_value(p) for n, p in params.items()})
    try:
        if not schema_surely_valid(example):
            Draft202012Validator.check_schema(example)
    except SchemaError as exc:
        where = "/" + "/".join(str(p) for p in exc.absolute_path)
        raise CatalogError(str(path), where, f"not a valid JSON Schema: {exc.message}") from None
    _check_refs(example, str(path))
    return Requirement(
        id=meta["id"],
        clause=meta["clause"],
        quote_ja=meta["quote_ja"],
        title=meta["title"],
        rationale=meta["rationale"],
        severity=meta["severity"],
        device_classes=tuple(meta["device_classes"]),
        scope=meta.get("scope", {}),
        parameters=params,
        facts=tuple(meta["facts"]),
        expected=meta["expected"],
        remediation=meta["remediation"],
        platforms=meta["platforms"],
        schema=body,
        path=str(path),
    )


def load_catalog(directory: Path) -> dict[str, Requirement]:
    """Load every requirements/*.json, sorted by id; an empty catalog is an error."""
    files = sorted(Path(directory).glob("*.json"))
    if not files:
        raise CatalogError(str(directory), "/", "no requirement files (*.json) found")
    catalog: dict[str, Requirement] = {}
    for path in files:
        requirement = load_requirement(path)
        catalog[requirement.id] = requirement
    return dict(sorted(catalog.items()))
