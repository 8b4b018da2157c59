"""Cisco IOS / IOS-XE routers and switches: fetch over one netmiko session, parse on the auditor's side."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
from pathlib import Path
from typing import Any, ClassVar

from hardening.core.errors import (
    AuthenticationFailed,
    CollectionError,
    DeviceTimeout,
    DeviceUnreachable,
    ProbeError,
    SavedFactsError,
)
from hardening.core.platform import CapturePlatform, Target
from hardening.core.secrets import REDACTOR
from hardening.platforms.cisco_ios import parse as ios
from hardening.platforms.cisco_ios.data import capture_file, commands

PROBE = {"name": "hardening.platforms.cisco_ios", "version": "1"}
MAX_OUTPUT = 16 * 1024 * 1024


def _connect_handler() -> Any:
    """netmiko's ConnectHandler (a function so tests can replace it)."""
    from netmiko import ConnectHandler

    return ConnectHandler


def netmiko_parameters(target: Target) -> dict[str, Any]:
    """ConnectHandler's keyword arguments for the target: its netmiko connection options (device type,
    host-key policy and known_hosts file, read timeout, fast_cli) and credentials. Host keys are always
    checked against a known_hosts file; `strict` refuses an unknown host, `accept-new` takes it for this
    session (a changed key is refused either way: paramiko raises BadHostKeyException)."""
    options = target.connection("netmiko")
    credentials = target.credentials
    known_hosts = options.get("known_hosts") or target.known_hosts
    policy = options.get("host_key_policy") or target.host_key_policy
    parameters: dict[str, Any] = {
        "device_type": options.get("device_type", "cisco_ios"),
        "host": options.hostname,
        "port": options.port,
        "username": credentials.username,
        "password": credentials.password.reveal() if credentials.password else "",
        "secret": credentials.enable_secret.reveal() if credentials.enable_secret else "",
        "ssh_strict": policy != "accept-new",
        "system_host_keys": not known_hosts,
        "alt_host_keys": bool(known_hosts),
        "alt_key_file": str(Path(str(known_hosts)).expanduser()) if known_hosts else "",
        "conn_timeout": min(target.timeout, 30.0),
        "auth_timeout": min(target.timeout, 30.0),
        "banner_timeout": min(target.timeout, 30.0),
        "read_timeout_override": float(options.get("read_timeout", min(target.timeout, 120.0))),
        "fast_cli": bool(options.get("fast_cli", False)),
        "allow_agent": False,
        "use_keys": False,
    }
    return parameters


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return REDACTOR.scrub(text)[:200]


def map_error(host: str, exc: BaseException, where: str) -> CollectionError:
    """A netmiko/paramiko/socket failure as the collection error the runner reports (one line, no secret)."""
    import paramiko
    from netmiko.exceptions import (
        NetmikoAuthenticationException,
        NetmikoTimeoutException,
        ReadTimeout,
    )

    if isinstance(exc, paramiko.BadHostKeyException):
        return AuthenticationFailed(host, f"host key differs from the entry in the known_hosts file ({where})")
    if isinstance(exc, NetmikoAuthenticationException | paramiko.AuthenticationException):
        return AuthenticationFailed(host, f"authentication refused ({where})")
    if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
        return AuthenticationFailed(host, f"host key unknown: not in the known_hosts file ({where})")
    if isinstance(exc, ReadTimeout | socket.timeout | TimeoutError):
        return DeviceTimeout(host, f"no answer in time ({where}): {_why(exc)}")
    if isinstance(exc, NetmikoTimeoutException):
        return DeviceUnreachable(host, f"no SSH connection ({where}): {_why(exc)}")
    if isinstance(exc, OSError | EOFError | paramiko.SSHException):
        return DeviceUnreachable(host, f"SSH session failed ({where}): {_why(exc)}")
    return ProbeError(host, f"{where}: {type(exc).__name__}: {_why(exc)}")


class IOSPlatform(CapturePlatform):
    """Cisco IOS and IOS-XE (routers and switches); see the package docstring for the capture layout."""

    name: ClassVar[str] = "cisco_ios"
    device_classes: ClassVar[frozenset[str]] = frozenset({"router", "switch"})
    connections: ClassVar[tuple[str, ...]] = ("netmiko",)

    def fetch(self, target: Target, into: Path) -> None:
        """One netmiko session: connect, `enable`, every command of the command table, each output saved to
        into/<capture_file(command)>. Raises DeviceUnreachable, DeviceTimeout, AuthenticationFailed or
        ProbeError with a one-line reason and no secret."""
        host = target.host.name
        target.credentials.require("password", purpose="logging in to the device")
        target.credentials.require("enable_secret", purpose="privileged mode (`enable`)")
        parameters = netmiko_parameters(target)
        try:
            connection = _connect_handler()(**parameters)
        except Exception as exc:
            raise map_error(host, exc, f"connecting to {parameters['host']}:{parameters['port']}") from None
        try:
            try:
                connection.enable()
            except ValueError:
                raise AuthenticationFailed(host, "privileged mode refused: the enable secret is wrong") from None
            except Exception as exc:
                raise map_error(host, exc, "enable") from None
            for entry in commands():
                command = str(entry["command"])
                try:
                    output = connection.send_command(command)
                except Exception as exc:
                    raise map_error(host, exc, f"`{command}`") from None
                if not isinstance(output, str):
                    raise ProbeError(host, f"`{command}` gave no text output")
                if len(output) > MAX_OUTPUT:
                    raise ProbeError(host, f"`{command}` output exceeds {MAX_OUTPUT} bytes")
                path = into / capture_file(command)
                path.write_text(output, encoding="utf-8")
                path.chmod(0o600)
        finally:
            with contextlib.suppress(Exception):  # the session is being dropped anyway
                connection.disconnect()

    def parse(self, raw: Path) -> dict[str, Any]:
        """OfflineParser: the unstamped facts of the capture directory `raw` (DIR/<host>/)."""
        raw = Path(raw)
        outputs: dict[str, str] = {}
        for entry in commands():
            path = raw / capture_file(str(entry["command"]))
            if path.is_file():
                try:
                    outputs[str(entry["command"])] = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise SavedFactsError(raw.name, f"{path}: unreadable ({type(exc).__name__})") from None
        running = raw / capture_file(ios.RUNNING)
        if ios.RUNNING not in outputs:
            raise SavedFactsError(raw.name, f"{raw}: no saved configuration {running} "
                                            f"(layout: <DIR>/<host>/{capture_file(ios.RUNNING)})")
        if not outputs[ios.RUNNING].strip():
            raise SavedFactsError(raw.name, f"{running}: empty")
        result, level = ios.parse_outputs(outputs)
        if level is not None and level < 15:
            raise SavedFactsError(raw.name, f"{raw / capture_file('show privilege')}: captured at privilege level "
                                            f"{level}: below 15 `show running-config` is partial")
        taken = dt.datetime.fromtimestamp(running.stat().st_mtime, tz=dt.UTC).isoformat(timespec="seconds")
        return {"format_version": "1", "collected_at": taken, "probe": dict(PROBE), "facts": result.facts,
                "errors": result.errors, "manual": result.manual, "evidence": result.evidence}
