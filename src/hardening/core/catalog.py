"""The catalog: one JSON Schema document per requirement, validated by a meta-schema on load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from hardening.core.errors import CatalogError
from hardening.core.models import ParameterSpec, Requirement
from hardening.core.schemas import check, validator

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


def load_requirement(path: Path) -> Requirement:
    """Load one requirement file; raise CatalogError naming the file and place."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CatalogError(str(path), f"line {exc.lineno}, column {exc.colno}", f"not JSON: {exc.msg}") from None
    check(document, validator(META_SCHEMA), str(path), CatalogError)
    meta = document["x-hardening"]
    if meta["id"] != path.stem:
        raise CatalogError(str(path), "/x-hardening/id", f"id {meta['id']!r} differs from the file name")
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
    try:
        Draft202012Validator.check_schema(substitute(body, {n: example_value(p) for n, p in params.items()}))
    except SchemaError as exc:
        where = "/" + "/".join(str(p) for p in exc.absolute_path)
        raise CatalogError(str(path), where, f"not a valid JSON Schema: {exc.message}") from None
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
        automation=meta["automation"],
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
