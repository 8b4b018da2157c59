"""Requirement parameters: catalog default < site.yaml < group/host data, validated on load."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from hardening.core.errors import InventoryError
from hardening.core.inventory import Inventory
from hardening.core.models import Host, ParameterSpec, Requirement


def _specs(catalog: dict[str, Requirement]) -> dict[str, ParameterSpec]:
    specs: dict[str, ParameterSpec] = {}
    for requirement in catalog.values():
        specs.update(requirement.parameters)
    return specs


def _validate_value(spec: ParameterSpec, value: Any, file: str, where: str) -> None:
    if spec.per_role:
        if not isinstance(value, dict):
            raise InventoryError(file, where, f"parameter {spec.name!r} is per role: expected a mapping role -> value")
        for role, role_value in value.items():
            _validate_plain(spec, role_value, file, f"{where}/{role}")
    else:
        _validate_plain(spec, value, file, where)


def _validate_plain(spec: ParameterSpec, value: Any, file: str, where: str) -> None:
    errors = list(Draft202012Validator(spec.schema).iter_errors(value))
    if errors:
        inside = "".join(f"/{part}" for part in errors[0].absolute_path)  # the item of a list or table parameter
        raise InventoryError(file, where + inside, f"parameter {spec.name!r}: {errors[0].message}")


def validate_parameters(inventory: Inventory, catalog: dict[str, Requirement]) -> None:
    """Check every site/group/host parameter is known to the catalog and has a valid value."""
    specs = _specs(catalog)
    known = ", ".join(sorted(specs))
    site_file = str(inventory.directory / "site.yaml")
    for name, value in inventory.parameters.items():
        if name not in specs:
            raise InventoryError(site_file, f"/parameters/{name}", f"unknown parameter (known: {known})")
        _validate_value(specs[name], value, site_file, f"/parameters/{name}")
    hosts_file = str(inventory.directory / "hosts.yaml")
    for host in inventory.hosts.values():
        for name, value in host.parameters.items():
            where = f"/{host.name}/data/parameters/{name} (merged with its groups)"
            if name not in specs:
                raise InventoryError(hosts_file, where, f"unknown parameter (known: {known})")
            _validate_value(specs[name], value, hosts_file, where)


def resolve(requirement: Requirement, host: Host, site_parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameter values that apply to this host for this requirement."""
    values: dict[str, Any] = {}
    for name, spec in requirement.parameters.items():
        if name in host.parameters:
            value = host.parameters[name]
        elif name in site_parameters:
            value = site_parameters[name]
        else:
            value = spec.default
        if spec.per_role:
            merged: list[Any] = []
            for role in ("base", *host.roles):
                for item in (value or {}).get(role, []) or []:
                    if item not in merged:
                        merged.append(item)
            value = merged
        values[name] = value
    return values


def fill(template: dict[str, str], values: dict[str, Any]) -> dict[str, str]:
    """A catalog text {ja, en} with its {param} placeholders replaced by the host's resolved values (a list
    reads "a, b"); a text whose placeholders do not resolve is returned as written."""
    out: dict[str, str] = {}
    shown: dict[str, Any] | None = None
    for lang, text in template.items():
        if "{" not in text and "}" not in text:     # nothing to fill: format would give the text as it is
            out[lang] = text
            continue
        if shown is None:
            shown = {k: (", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in values.items()}
        try:
            out[lang] = text.format(**shown)
        except (KeyError, IndexError, ValueError):
            out[lang] = text
    return out
