"""YAMAHA RTX routers: fetch over one netmiko session, parse on the auditor's side."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from hardening.core.errors import AuthenticationFailed, ProbeError
from hardening.core.platform import Target
from hardening.platforms.common.netchange import NetworkRemediator
from hardening.platforms.common.netcli import NetmikoCapturePlatform, Result, map_error
from hardening.platforms.yamaha_rtx import parse as rtx
from hardening.platforms.yamaha_rtx.data import DATA_FILE, pseudo_commands


class RTXPlatform(NetworkRemediator, NetmikoCapturePlatform):
    """YAMAHA RTX (RTX830, RTX1210, RTX1300, RTX5000 …); see the package docstring for the capture layout.
    Plan/apply: the shared NetworkRemediator with the templates of remediation.yaml (flat configuration)."""

    name: ClassVar[str] = "yamaha_rtx"
    device_classes: ClassVar[frozenset[str]] = frozenset({"router"})
    connections: ClassVar[tuple[str, ...]] = ("netmiko",)
    data_file: ClassVar[Path] = DATA_FILE
    default_device_type: ClassVar[str] = "yamaha"
    running_command: ClassVar[str] = rtx.RUNNING
    probe_name: ClassVar[str] = "yamaha_rtx"
    required_credentials: ClassVar[tuple[tuple[str, str], ...]] = (
        ("password", "logging in to the router"),
        ("enable_secret", "administrator mode (`administrator` password)"),
    )
    # Every command of the table is a `show` at the administrator prompt (paging off: netmiko's yamaha driver
    # sends `console lines infinity`); the pseudo command `prompt` is that prompt.
    steady_prompt: ClassVar[bool] = True

    def privileged(self, connection: Any, target: Target) -> None:
        """netmiko's yamaha driver: `administrator`, then the administrator password at `Password:`; a prompt that
        does not end in `#` afterwards (a wrong password) raises ValueError."""
        try:
            connection.enable()
        except ValueError:
            raise AuthenticationFailed(target.host.name,
                                       "administrator mode refused: the administrator password is wrong") from None
        except Exception as exc:
            raise map_error(target.host.name, exc, "administrator") from None

    def read_command(self, connection: Any, target: Target, command: str, prompt: str) -> str:
        if command in pseudo_commands():
            return prompt + "\n"
        return super().read_command(connection, target, command, prompt)

    def run_command(self, connection: Any, target: Target, command: str) -> str:
        if command not in pseudo_commands():
            return super().run_command(connection, target, command)
        try:
            prompt = connection.find_prompt()
        except Exception as exc:
            raise map_error(target.host.name, exc, "reading the prompt") from None
        if not isinstance(prompt, str):
            raise ProbeError(target.host.name, "the session gave no prompt")
        return prompt + "\n"

    def parse_outputs(self, outputs: dict[str, str]) -> tuple[Result, int | None]:
        return rtx.parse_outputs(outputs)
