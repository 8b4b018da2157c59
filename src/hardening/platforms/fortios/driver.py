"""FortiGate firewalls (FortiOS): fetch over one netmiko session, parse on the auditor's side."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from hardening.core.platform import Target
from hardening.platforms.common.netchange import NetworkRemediator
from hardening.platforms.common.netcli import NetmikoCapturePlatform, Result, map_error
from hardening.platforms.fortios import parse as fortios
from hardening.platforms.fortios.data import DATA_FILE, platform_data


class FortiOSPlatform(NetworkRemediator, NetmikoCapturePlatform):
    """FortiOS 6.4 .. 7.4 (FortiGate); see the package docstring for the capture layout."""

    name: ClassVar[str] = "fortios"
    device_classes: ClassVar[frozenset[str]] = frozenset({"firewall"})
    connections: ClassVar[tuple[str, ...]] = ("netmiko",)
    data_file: ClassVar[Path] = DATA_FILE
    default_device_type: ClassVar[str] = "fortinet"
    running_command: ClassVar[str] = fortios.RUNNING
    running_alternatives: ClassVar[tuple[str, ...]] = tuple(platform_data()["running_alternatives"])
    probe_name: ClassVar[str] = "fortios"
    # FortiOS has no enable level: the administrator's access profile decides; netmiko's `fortinet` driver
    # turns paging off itself (`config system console` / `set output standard`, in `config global` with VDOMs).
    # Without VDOMs every command of the table runs at the one prompt (`fw1 # `): see `steady`.
    steady_prompt: ClassVar[bool] = True

    def steady(self, connection: Any) -> bool:
        """With VDOMs the global commands run inside `config global` (another prompt): netmiko's send_command."""
        return not getattr(connection, "_vdoms", False)

    def run_command(self, connection: Any, target: Target, command: str) -> str:
        """A command of the table; on a device with VDOMs (netmiko's driver found them at login) the global
        ones run inside `config global` and the session returns to the top level after each."""
        globals_ = {str(c["command"]) for c in self.commands() if c.get("global")}
        if command not in globals_ or not getattr(connection, "_vdoms", False):
            return super().run_command(connection, target, command)
        try:
            connection.send_command("config global", expect_string=r"[#$]")
        except Exception as exc:
            raise map_error(target.host.name, exc, "`config global`") from None
        try:
            return super().run_command(connection, target, command)
        finally:
            try:
                connection.send_command("end", expect_string=r"[#$]")
            except Exception as exc:
                raise map_error(target.host.name, exc, "`end` of `config global`") from None

    def parse_outputs(self, outputs: dict[str, str]) -> tuple[Result, int | None]:
        return fortios.parse_outputs(outputs)
