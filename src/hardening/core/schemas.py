"""Where the project's JSON Schemas live, and validation that names the file and the place."""

from __future__ import annotations

import functools
import ipaddress
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing._core import Resolver
from referencing.jsonschema import DRAFT202012

from hardening.core.errors import InputError
from hardening.core.yamlio import LoadedYaml


def project_root() -> Path:
    """The directory holding schemas/, inventory/ … (HARDENING_HOME, else the source checkout)."""
    env = os.environ.get("HARDENING_HOME")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "schemas" / "facts.schema.json").is_file():
            return parent
    return Path.cwd()


def schemas_dir() -> Path:
    return project_root() / "schemas"


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """Load schemas/<name> (cached)."""
    with (schemas_dir() / name).open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@functools.cache
def validator(name: str, definition: str | None = None) -> Draft202012Validator:
    """A validator for a whole schema file, or for one of its $defs (refs resolve inside the file)."""
    schema = load_schema(name)
    if definition is not None:
        schema = {**schema, "$ref": f"#/$defs/{definition}"}
        schema.pop("title", None)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# No retrieval: a $ref to another file or a URL is unresolvable instead of fetched (jsonschema's default
# registry would download http(s) references).
_OFFLINE: Registry[Any] = Registry()


def _network(text: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return None


def _within_networks(
    _validator: Any, networks: Any, instance: Any, _schema: Any
) -> Iterator[ValidationError]:
    """`x-within-networks: [CIDR …]`: the instance (an address or CIDR string) lies wholly inside one of them.

    JSON Schema has no address containment; management sources written `10.203.5.0/24` or `10.203.0.5/32` are inside
    a site's `10.203.0.0/16`, which `enum` cannot see. An unparsable value or network never counts as inside."""
    if not isinstance(instance, str):
        return
    own = _network(instance)
    listed = [n for n in (_network(item) for item in (networks or [])) if n is not None]
    if own is not None and any(own.version == n.version and own.subnet_of(n) for n in listed):  # type: ignore[arg-type]
        return
    yield ValidationError(f"{instance!r} is not inside any of {list(networks or [])!r}")


# The requirement vocabulary: Draft 2020-12 plus `x-within-networks` (docs/catalog.md).
RequirementValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"x-within-networks": _within_networks}
)


def offline_validator(schema: Any) -> Draft202012Validator:
    """A validator for a requirement schema that resolves references inside the schema only."""
    found: Draft202012Validator = RequirementValidator(schema, registry=_OFFLINE)
    return found


def offline_resolver(schema: Any) -> Resolver[Any]:
    """A resolver over `schema` alone (what offline_validator sees, without the meta-schemas)."""
    resource = DRAFT202012.create_resource(schema)
    uri = schema.get("$id", "") if isinstance(schema, dict) else ""
    resolver: Resolver[Any] = _OFFLINE.with_resource(uri, resource).crawl().resolver(base_uri=uri)
    return resolver


def _describe(error: ValidationError) -> str:
    return error.message if len(error.message) <= 300 else error.message[:297] + "..."


def check(
    instance: Any,
    schema_validator: Draft202012Validator,
    file: str,
    error: type[InputError] = InputError,
    loaded: LoadedYaml | None = None,
    prefix: list[str | int] | None = None,
) -> None:
    """Raise `error` for the most relevant validation error, naming file, JSON pointer and line."""
    errors = list(schema_validator.iter_errors(instance))
    if not errors:
        return
    worst = best_match(errors) or errors[0]
    parts: list[str | int] = [*(prefix or []), *worst.absolute_path]
    where = loaded.where(parts) if loaded is not None else "/" + "/".join(str(p) for p in parts)
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    raise error(file, where, _describe(worst) + more)
