"""Cisco IOS / IOS-XE routers and switches: fetch over one netmiko session, parse on the auditor's side."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from hardening.core.errors import AuthenticationFailed
from hardening.core.platform import Target
from hardening.platforms.cisco_ios import parse as ios
from hardening.platforms.cisco_ios.data import DATA_FILE
from hardening.platforms.common import netcli
from hardening.platforms.common.netcli import NetmikoCapturePlatform, Result, map_error


class IOSPlatform(NetmikoCapturePlatform):
    """Cisco IOS and IOS-XE (routers and switches); see the package docstring for the capture layout."""

    name: ClassVar[str] = "cisco_ios"
    device_classes: ClassVar[frozenset[str]] = frozenset({"router", "switch"})
    connections: ClassVar[tuple[str, ...]] = ("netmiko",)
    data_file: ClassVar[Path] = DATA_FILE
    default_device_type: ClassVar[str] = "cisco_ios"
    running_command: ClassVar[str] = ios.RUNNING
    probe_name: ClassVar[str] = "cisco_ios"
    required_credentials: ClassVar[tuple[tuple[str, str], ...]] = (
        ("password", "logging in to the device"),
        ("enable_secret", "privileged mode (`enable`)"),
    )
    steady_prompt: ClassVar[bool] = True      # every command of the table is a `show` at the `#` prompt

    def privileged(self, connection: Any, target: Target) -> None:
        try:
            connection.enable()
        except ValueError:
            raise AuthenticationFailed(target.host.name,
                                       "privileged mode refused: the enable secret is wrong") from None
        except Exception as exc:
            raise map_error(target.host.name, exc, "enable") from None

    def parse_outputs(self, outputs: dict[str, str]) -> tuple[Result, int | None]:
        return ios.parse_outputs(outputs)


# Kept for callers and tests that name them here; the one implementation is hardening.platforms.common.netcli.
netmiko_parameters = netcli.netmiko_parameters
