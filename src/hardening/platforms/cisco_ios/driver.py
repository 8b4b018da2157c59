"""Cisco IOS / IOS-XE routers and switches: fetch over one netmiko session, parse on the auditor's side."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from hardening.core.errors import AuthenticationFailed, DeviceTimeout
from hardening.core.platform import Target
from hardening.platforms.cisco_ios import parse as ios
from hardening.platforms.cisco_ios.config import truncation
from hardening.platforms.cisco_ios.data import DATA_FILE
from hardening.platforms.common import netcli
from hardening.platforms.common.netchange import NetworkRemediator
from hardening.platforms.common.netcli import NetmikoCapturePlatform, Result, map_error

ENABLE_TIMEOUT = 10.0


def _enable_refused(connection: Any) -> bool:
    """After a timed-out `enable`: answer the remaining `Password:` prompts with nothing (IOS gives up after three
    and prints `% Bad secrets`) and see whether the session is back at the user prompt `>`."""
    try:
        for _ in range(3):
            connection.write_channel(connection.RETURN)
        return str(connection.find_prompt()).rstrip().endswith(">")
    except Exception:  # the session is gone or silent: not a proven refusal
        return False


class IOSPlatform(NetworkRemediator, NetmikoCapturePlatform):
    """Cisco IOS and IOS-XE (routers and switches); see the package docstring for the capture layout.
    Plan/apply: the shared NetworkRemediator with the templates of remediation.yaml."""

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
    # IOS reads lines sent together (pasted) one after the other, echoing each at the prompt as it runs it.
    pipeline: ClassVar[bool] = True

    def known_prompt(self, connection: Any) -> str | None:
        """After `privileged`, the prompt is the hostname and `#`. netmiko's cisco_ios driver keeps the hostname it
        read at login as base_prompt, cut to 16 characters: a shorter one is the whole hostname."""
        base = getattr(connection, "base_prompt", None)
        if isinstance(base, str) and 0 < len(base) < 16 and base == base.strip() and not base.endswith(("#", ">")):
            return base + "#"
        return None

    def privileged(self, connection: Any, target: Target) -> None:
        """`enable` with the enable secret. A wrong secret makes IOS ask `Password:` again (three times, then
        `% Bad secrets`), which netmiko sees as a read timeout: the prompt it lands on tells a refusal (`>`) from
        a device that did not answer. The wait for `#` is bounded by ENABLE_TIMEOUT, not the session's."""
        from netmiko.exceptions import ReadTimeout

        host = target.host.name
        saved = getattr(connection, "read_timeout_override", None)
        if saved is not None:
            connection.read_timeout_override = min(float(saved), ENABLE_TIMEOUT)
        try:
            connection.enable()
        except ValueError:
            raise AuthenticationFailed(host, "privileged mode refused: the enable secret is wrong") from None
        except ReadTimeout:
            if _enable_refused(connection):
                raise AuthenticationFailed(host, "privileged mode refused: the enable secret is wrong") from None
            raise DeviceTimeout(host, f"no answer to `enable` within {ENABLE_TIMEOUT:g} s") from None
        except Exception as exc:
            raise map_error(host, exc, "enable") from None
        finally:
            if saved is not None:
                connection.read_timeout_override = saved

    def output_complete(self, command: str, output: str) -> bool:
        """`show running-config` is whole once its top-level `end` line came (a line of the configuration, e.g. in
        a banner, may equal the prompt)."""
        return command != self.running_command or truncation(output) is None

    def parse_outputs(self, outputs: dict[str, str]) -> tuple[Result, int | None]:
        return ios.parse_outputs(outputs)


# Kept for callers and tests that name them here; the one implementation is hardening.platforms.common.netcli.
netmiko_parameters = netcli.netmiko_parameters
