"""Loads and validates the inventory: Nornir SimpleInventory files, site parameters, systems table.

The files are plain Nornir SimpleInventory (hosts.yaml, groups.yaml, defaults.yaml), so any Nornir
script can read them too. We validate every file against schemas/inventory.schema.json before
anything runs, then merge data the way Nornir resolves it (host, then its groups in order, each
group's own parents, then defaults; first found wins per top-level key) and validate the merged
host data. Every error names the file, the JSON pointer and the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardening.core.errors import InventoryError
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import known_platforms, platform_class
from hardening.core.schemas import check, validator
from hardening.core.yamlio import LoadedYaml, load_yaml

SCHEMA = "inventory.schema.json"


@dataclass(frozen=True)
class Inventory:
    directory: Path
    hosts: dict[str, Host]
    site: dict[str, Any]
    parameters: dict[str, Any]
    systems: dict[str, SystemInfo]
    group_names: frozenset[str]


def _load(path: Path, definition: str, optional: bool = False) -> LoadedYaml:
    if optional and not path.exists():
        return LoadedYaml(path, None, None)
    loaded = load_yaml(path, InventoryError)
    check(loaded.data, validator(SCHEMA, definition), str(path), InventoryError, loaded)
    return loaded


def _group_chain(name: str, groups: dict[str, Any], seen: tuple[str, ...] = ()) -> list[str]:
    """Groups in Nornir's resolution order: the group, then its parents depth-first."""
    if name in seen:
        return []
    chain = [name]
    for parent in (groups.get(name) or {}).get("groups", []) or []:
        chain += _group_chain(parent, groups, (*seen, name))
    return chain


def load_inventory(directory: Path) -> Inventory:
    """Read and validate the inventory directory; raise InventoryError naming file and place."""
    directory = Path(directory)
    hosts_y = _load(directory / "hosts.yaml", "hosts_file")
    groups_y = _load(directory / "groups.yaml", "groups_file", optional=True)
    defaults_y = _load(directory / "defaults.yaml", "defaults_file", optional=True)
    site_y = _load(directory / "site.yaml", "site_file")
    systems_y = _load(directory / "systems.yaml", "systems_file")

    systems = {
        name: SystemInfo(
            name=name,
            security_officer=entry["security_officer"],
            security_managers=tuple(entry["security_managers"]),
            listed_in_policy=entry.get("listed_in_policy", True),
        )
        for name, entry in systems_y.data["systems"].items()
    }
    groups: dict[str, Any] = groups_y.data or {}
    defaults: dict[str, Any] = defaults_y.data or {}
    host_entries: dict[str, Any] = hosts_y.data or {}
    if not host_entries:
        raise InventoryError(str(hosts_y.path), "/", "no hosts defined")

    for gname, gentry in groups.items():
        for parent in (gentry or {}).get("groups", []) or []:
            if parent not in groups:
                where = groups_y.where([gname, "groups"])
                raise InventoryError(str(groups_y.path), where, f"unknown group {parent!r}")

    host_data_validator = validator(SCHEMA, "host_data")
    hosts: dict[str, Host] = {}
    for name, raw_entry in host_entries.items():
        entry = raw_entry or {}
        chain: list[str] = []
        for group in entry.get("groups", []) or []:
            if group not in groups:
                where = hosts_y.where([name, "groups"])
                known = ", ".join(sorted(groups)) or "none"
                raise InventoryError(str(hosts_y.path), where, f"unknown group {group!r} (known: {known})")
            chain += [g for g in _group_chain(group, groups) if g not in chain]
        layers = [entry, *(groups[g] or {} for g in chain), defaults]

        def first(key: str, layers: list[Any] = layers) -> Any:
            for layer in layers:
                if key in layer:
                    return layer[key]
            return None

        data: dict[str, Any] = {}
        for layer in layers:  # Nornir resolves per key, host first: the first layer that has it wins
            for key, value in (layer.get("data") or {}).items():
                data.setdefault(key, value)
        check(data, host_data_validator, str(hosts_y.path), InventoryError, hosts_y, [name, "data"])
        system_name = data["system"]
        if system_name not in systems:
            raise InventoryError(
                str(hosts_y.path),
                hosts_y.where([name, "data"]),
                f"system {system_name!r} is not in {systems_y.path.name} (第3章 2 table plus site additions)",
            )
        hostname = first("hostname")
        if not hostname:
            raise InventoryError(str(hosts_y.path), hosts_y.where([name]), "hostname is required")
        platform = first("platform")
        if not platform:
            raise InventoryError(str(hosts_y.path), hosts_y.where([name]), "platform is required")
        # Name the file that set a value: the host entry, one of its groups, or the defaults.
        sources = [(hosts_y, [name]), *((groups_y, [g]) for g in chain), (defaults_y, [])]
        if str(platform) not in known_platforms():
            loaded, parts = next((y, p) for (y, p), layer in zip(sources, layers, strict=True) if "platform" in layer)
            raise InventoryError(str(loaded.path), loaded.where([*parts, "platform"]),
                                 f"host {name!r}: unknown platform {platform!r} "
                                 f"(known: {', '.join(known_platforms())})")
        classes = platform_class(str(platform)).device_classes
        if data["device_class"] not in classes:
            loaded, parts = next((y, p) for (y, p), layer in zip(sources, layers, strict=True)
                                 if "device_class" in (layer.get("data") or {}))
            raise InventoryError(str(loaded.path), loaded.where([*parts, "data", "device_class"]),
                                 f"host {name!r}: platform {platform!r} does not handle device class "
                                 f"{data['device_class']!r} (it declares: {', '.join(sorted(classes))})")
        port = first("port")
        hosts[name] = Host(
            name=name,
            hostname=str(hostname),
            port=int(port) if port is not None else None,
            platform=str(platform),
            device_class=data["device_class"],
            zone=data["zone"],
            classification=dict(data["classification"]),
            system=systems[system_name],
            roles=tuple(data["roles"]),
            groups=tuple(chain),
            credentials=data["credentials"],
            become=bool(data.get("become", True)),
            parameters=dict(data.get("parameters") or {}),
            administrators=tuple(data.get("administrators") or ()),
            connection_layers=tuple({"connection_options": dict(layer.get("connection_options") or {})}
                                    for layer in layers if layer.get("connection_options")),
        )
    return Inventory(
        directory=directory,
        hosts=hosts,
        site=dict(site_y.data["site"]),
        parameters=dict(site_y.data["parameters"] or {}),
        systems=systems,
        group_names=frozenset(groups),
    )
