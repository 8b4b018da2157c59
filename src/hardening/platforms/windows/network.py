"""Services, listening sockets and the host firewall from PowerShell's JSON (Windows PowerShell 5.1 writes enums as
numbers, PowerShell 7 may write their names: both are read through platform.yaml's enum tables).

- services (`Get-Service`): the prohibited services of platform.yaml `prohibited_services` that run or start
  automatically; SMB 1 from `Get-SmbServerConfiguration` EnableSMB1Protocol.
- sockets (`Get-NetTCPConnection -State Listen`, `Get-NetUDPEndpoint`, `Get-Process`): every listener not bound to
  loopback only, as the Linux probe counts them (one shared `exposed_sockets`).
- firewall (`Get-NetFirewallProfile -PolicyStore ActiveStore`): each profile's effective Enabled and default
  inbound action (NotConfigured in the active store = the documented default: on, inbound blocked).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hardening.platforms.linux.probe.sockets import exposed_sockets
from hardening.platforms.windows.data import platform_data
from hardening.platforms.windows.pwsh import (
    CommandOutput,
    OutputFormatError,
    block_json,
    enum_name,
    field,
    read_bool,
    read_int,
)

SERVICES, SMB, TCP, UDP, PROCESSES, FIREWALL = "services", "smb", "listen_tcp", "listen_udp", "processes", "firewall"


# -- services -----------------------------------------------------------------------------------------------------


def read_services(outputs: Mapping[str, CommandOutput]) -> dict[str, tuple[str, str]]:
    """{lower-case service name: (Status, StartType)} with the enum names. Raises OutputFormatError."""
    data = platform_data()
    services = {}
    for item in block_json(outputs, SERVICES):
        name = field(item, "Name")
        if not isinstance(name, str) or not name:
            raise OutputFormatError(f"`{SERVICES}`: a service without a name")
        status = enum_name(field(item, "Status"), data["enums"]["service_status"])
        start = enum_name(field(item, "StartType"), data["enums"]["service_start_type"])
        services[name.lower()] = (status, start)
    return services


def prohibited_services(services: dict[str, tuple[str, str]]) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """(facts item, platform.yaml entry) of each prohibited service that runs (how `running`) or starts
    automatically (how `enabled`). A service that is not installed is not in Get-Service's list."""
    found = []
    for entry in platform_data()["prohibited_services"]:
        state = services.get(str(entry["service"]).lower())
        if state is None:
            continue
        status, start = state
        if status == "Running" or start == "Automatic":
            how = "running" if status == "Running" else "enabled"
            found.append(({"name": str(entry["name"]), "how": how,
                           "detail": f"service {entry['service']}: Status {status}, StartType {start} "
                                     f"({entry['why']})"}, entry))
    return found


def smb1_enabled(outputs: Mapping[str, CommandOutput]) -> bool:
    """Get-SmbServerConfiguration's EnableSMB1Protocol. Raises OutputFormatError."""
    items = block_json(outputs, SMB)
    if len(items) != 1:
        raise OutputFormatError(f"`{SMB}`: {len(items)} objects, not one server configuration")
    return read_bool(field(items[0], "EnableSMB1Protocol"), "EnableSMB1Protocol")


# -- sockets ------------------------------------------------------------------------------------------------------


def _process_names(outputs: Mapping[str, CommandOutput]) -> dict[int, str]:
    names = {}
    for item in block_json(outputs, PROCESSES):
        names[read_int(field(item, "Id"), "process Id")] = str(field(item, "ProcessName"))
    return names


def read_exposed_sockets(outputs: Mapping[str, CommandOutput]) -> list[dict[str, Any]]:
    """/network/exposed_sockets: TCP listeners and UDP endpoints not bound to loopback only, `tcp/445` style,
    deduplicated by protocol and port, with the owning process's name. Raises OutputFormatError (a process list
    that cannot be read leaves the names out: null, never a guess)."""
    try:
        processes: dict[int, str] | None = _process_names(outputs)
    except OutputFormatError:
        processes = None
    entries = []
    for proto, command_id in (("tcp", TCP), ("udp", UDP)):
        for item in block_json(outputs, command_id):
            address = field(item, "LocalAddress")
            if not isinstance(address, str) or not address:
                raise OutputFormatError(f"`{command_id}`: an endpoint without a LocalAddress")
            port = read_int(field(item, "LocalPort"), "LocalPort")
            owner = read_int(field(item, "OwningProcess"), "OwningProcess")
            entries.append({"proto": proto, "addr": address, "iface": None, "port": port,
                            "process": processes.get(owner) if processes is not None else None})
    return exposed_sockets(entries)


# -- firewall -----------------------------------------------------------------------------------------------------


def read_firewall(outputs: Mapping[str, CommandOutput]) -> list[dict[str, Any]]:
    """/network/host_firewall/profiles: [{name, enabled, default_inbound}] per profile (Domain, Private, Public).
    Raises OutputFormatError, also when no profile is listed."""
    data = platform_data()
    profiles = []
    for item in block_json(outputs, FIREWALL):
        name = field(item, "Name")
        if not isinstance(name, str) or not name:
            raise OutputFormatError(f"`{FIREWALL}`: a profile without a name")
        enabled_value = field(item, "Enabled")
        if isinstance(enabled_value, bool):
            enabled = enabled_value
        else:
            enabled = enum_name(enabled_value, data["enums"]["firewall_enabled"]) != "False"   # NotConfigured: on
        action = enum_name(field(item, "DefaultInboundAction"), data["enums"]["firewall_action"])
        profiles.append({"name": name, "enabled": enabled,
                         "default_inbound": "allow" if action == "Allow" else "block"})   # NotConfigured: block
    if not profiles:
        raise OutputFormatError(f"`{FIREWALL}`: no firewall profile listed")
    return sorted(profiles, key=lambda profile: str(profile["name"]))
