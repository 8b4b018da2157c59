"""Connection options: how to reach a host over each kind of connection, resolved as Nornir does.

The inventory's `connection_options` (Nornir SimpleInventory's own key) may sit on a host, a group or the
defaults: ``connection_options: {<kind>: {hostname, port, platform, extras: {...}}}``. For one kind,
each field is taken from the first of host → its groups (in order, each group's parents depth-first) →
defaults that sets it, and `extras` is taken whole from the first level that has it, exactly as Nornir's
``Host.get_connection_parameters`` resolves them, so a Nornir script reading the same files agrees.
Below the inventory sit the run's defaults (RunOptions.connection_defaults: the command line and the
environment, e.g. HARDENING_KNOWN_HOSTS); they fill only the extras keys the inventory left unset.

Kinds and their extras are fixed by schemas/inventory.schema.json (`connection_options`), so a typo is
an input error naming the file and the place, never a silently ignored setting. No kind holds a secret:
passwords, enable secrets, SNMPv3 keys and the rest are credential fields (hardening.core.secrets).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Where a kind listens unless the inventory says otherwise (the host's own `port`, then this).
DEFAULT_PORTS: dict[str, int] = {
    "ssh": 22,
    "netmiko": 22,
    "winrm": 5986,  # HTTPS; plain HTTP (5985) only with message encryption, by choice of the site
    "snmp": 161,
    "https": 443,
}
KINDS = tuple(DEFAULT_PORTS)


@dataclass(frozen=True)
class ConnectionOptions:
    """One kind's resolved options for one host."""

    kind: str
    hostname: str
    port: int
    platform: str | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.extras.get(key, default)


def resolve(kind: str, layers: Iterable[Mapping[str, Any]], *, hostname: str, port: int | None,
            run_defaults: Mapping[str, Any] | None = None) -> ConnectionOptions:
    """The options of `kind` from inventory `layers` (host first, then its groups, then the defaults: each the
    layer's whole entry, whose `connection_options` is read), the host's own hostname/port below them, and the
    run's default extras at the very bottom."""
    fields: dict[str, Any] = {"hostname": None, "port": None, "platform": None, "extras": None}
    for layer in layers:
        entry = ((layer or {}).get("connection_options") or {}).get(kind)
        if not entry:
            continue
        for name, value in list(fields.items()):
            if value is None and entry.get(name) is not None:
                fields[name] = entry[name]
    extras = dict(fields["extras"] or {})
    for key, value in (run_defaults or {}).items():
        if value is not None:
            extras.setdefault(key, value)
    return ConnectionOptions(
        kind=kind,
        hostname=str(fields["hostname"] or hostname),
        port=int(fields["port"] or port or DEFAULT_PORTS[kind]),
        platform=fields["platform"],
        extras=extras,
    )

