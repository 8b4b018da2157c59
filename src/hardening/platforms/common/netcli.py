"""What every network-device platform shares: platform data files, the capture layout, one netmiko session that
runs a command table, netmiko/paramiko errors as collection errors, and the facts accumulator parsers fill.

A network platform (cisco_ios, yamaha_rtx, fortios …) is a `NetmikoCapturePlatform`: it names its data file
(platform.yaml: the command table, documented defaults …), its netmiko device_type, how it reaches the level
that shows the whole configuration (`privileged`), and its pure `parse_outputs(outputs)`. Fetch and the offline
parse of a capture directory are the same code for all of them, so a saved backup and a live session go
through one parser.

Capture layout (DIR/<host>/): one file per command, named by `capture_file` (`show running-config` ->
`show_running-config.txt`). The platform's `running_command` output is required; the others are live state.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
from hardening.core.secrets import REDACTOR, mask_config_secrets
from hardening.core.yamlio import load_yaml

MAX_OUTPUT = 16 * 1024 * 1024


class ConfigurationError(ValueError):
    """A platform parser's refusal of a malformed configuration text (`line` is 1-based; 0 = not one line).
    `parse` reports it as a SavedFactsError naming the file and the line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line
        self.message = message


@functools.cache
def load_platform_data(path: Path) -> dict[str, Any]:
    """A platform's knowledge file (YAML mapping), loaded once with the project's strict loader."""
    data = load_yaml(path).data
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a mapping")
    return data


def capture_file(command: str) -> str:
    """The file a command's output is saved in: `show running-config` -> `show_running-config.txt`.
    The one place the name is derived (fetch writes it, parse reads it)."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", command.strip()) + ".txt"


@dataclass
class Result:
    """The facts a parser builds: values by JSON pointer, what could not be determined (errors), what needs a
    person (manual), and masked configuration excerpts as evidence."""

    facts: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    manual: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def put(self, pointer: str, value: Any) -> None:
        parts = pointer.strip("/").split("/")
        node = self.facts
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def cite(self, pointer: str, source: str, lines: list[str]) -> None:
        excerpt = mask_config_secrets("\n".join(lines))[:2000]
        self.evidence.setdefault(pointer, []).append({"source": source, "excerpt": excerpt})


def live_output(outputs: dict[str, str], command: str, invalid: re.Pattern[str]) -> tuple[str | None, str]:
    """A live command's output, or None and why it cannot be used (`invalid` matches the CLI's rejection)."""
    text = outputs.get(command)
    if text is None:
        return None, f"live state: `{command}` is not in the capture (a saved configuration has no live state)"
    if invalid.search(text):
        return None, f"`{command}` was rejected by the device"
    return text, ""


def read_output(connection: Any, command: str, prompt: str, timeout: float) -> str:
    """Send `command` on an open netmiko session and return its output: what follows the command's echo line, up to
    the line that is the session's `prompt` alone at the end of what the device sent.

    Waits on the SSH channel (poll on paramiko's channel descriptor) instead of netmiko's fixed sleeps between
    reads (find_prompt, echo and read loops: ~80 ms per command with fast_cli, ~0.5 s without). Whatever arrives
    before the echo (a prompt answering an earlier newline) is dropped, as netmiko's cmd_verify does; the end is
    only the prompt at the very end of what was read, so prompt-like text inside the output (`hostname rt1`, a
    banner) does not end it early. Raises TimeoutError (no prompt in `timeout` s), EOFError (the session ended)
    or OverflowError (more than MAX_OUTPUT characters)."""
    command, prompt = command.strip(), prompt.strip()
    channel = getattr(connection, "remote_conn", None)
    wait = _waiter(channel)
    connection.write_channel(command + connection.RETURN)
    deadline = time.monotonic() + timeout
    text, echoed, ending = "", False, "\n" + prompt
    while True:
        chunk = connection.read_channel()
        if chunk:
            text += chunk
            if len(text) > MAX_OUTPUT:
                raise OverflowError(f"`{command}` output exceeds {MAX_OUTPUT} characters")
            if not echoed:
                echo = text.find(command)
                newline = text.find("\n", echo) if echo >= 0 else -1
                if newline >= 0:
                    text, echoed = text[newline:], True       # keeps the echo's newline: "\n" + output
            if echoed:
                tail = text.rstrip(" \t")
                if tail.endswith(ending):
                    return tail[1:len(tail) - len(ending)]
            continue
        if channel is not None and (getattr(channel, "closed", False) or getattr(channel, "eof_received", False)):
            raise EOFError(f"the session ended during `{command}`")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no prompt after `{command}` in {timeout:g} s")
        wait(min(remaining, 0.5))


def _waiter(channel: Any) -> Callable[[float], None]:
    """A function that waits (at most the given seconds) until the channel has data to read."""
    try:
        poller = select.poll()
        poller.register(channel.fileno(), select.POLLIN)
    except (AttributeError, OSError, TypeError, ValueError):   # not a paramiko channel (or no poll here)
        return lambda seconds: time.sleep(min(seconds, 0.005))

    def wait(seconds: float) -> None:
        poller.poll(seconds * 1000)

    return wait


def read_timeout(target: Target) -> float:
    """Seconds a command may take to answer: the inventory's netmiko `read_timeout`, else the run's timeout (at most
    120)."""
    return float(target.connection("netmiko").get("read_timeout", min(target.timeout, 120.0)))


def _connect_handler() -> Any:
    """netmiko's ConnectHandler (a function so tests can replace it)."""
    from netmiko import ConnectHandler

    return ConnectHandler


def netmiko_parameters(target: Target, default_device_type: str) -> dict[str, Any]:
    """ConnectHandler's keyword arguments for the target: its netmiko connection options (device type,
    host-key policy and known_hosts file, read timeout, fast_cli) and credentials. Host keys are always
    checked against a known_hosts file; `strict` refuses an unknown host, `accept-new` takes it for this
    session (a changed key is refused either way: paramiko raises BadHostKeyException)."""
    options = target.connection("netmiko")
    credentials = target.credentials
    known_hosts = options.get("known_hosts") or target.known_hosts
    policy = options.get("host_key_policy") or target.host_key_policy
    return {
        "device_type": options.get("device_type", default_device_type),
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
        "read_timeout_override": read_timeout(target),
        "fast_cli": bool(options.get("fast_cli", True)),   # netmiko's own default; false for a slow device
        "allow_agent": False,
        "use_keys": False,
    }


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


class NetmikoCapturePlatform(CapturePlatform):
    """Fetch = one netmiko session running the platform's command table; parse = the platform's pure
    `parse_outputs` over the saved outputs. Subclasses set the class attributes and the two hooks."""

    data_file: ClassVar[Path]                 # platform.yaml with a `commands` table
    default_device_type: ClassVar[str]        # netmiko device_type when the inventory sets none
    running_command: ClassVar[str]            # the command whose output is the configuration (required)
    probe_name: ClassVar[str]
    # Other names a saved configuration may have in a capture when `running_command`'s file is absent (glob
    # patterns in DIR/<host>/, first match wins): e.g. FortiOS's plain `show` or a GUI backup `*.conf`.
    running_alternatives: ClassVar[tuple[str, ...]] = ()
    # The credential fields the session needs, with what for (Credentials.require's purpose).
    required_credentials: ClassVar[tuple[tuple[str, str], ...]] = (("password", "logging in to the device"),)
    # True when every command of the table runs at the same prompt (no mode change in between): fetch reads the
    # prompt once and passes it to run_command, instead of netmiko asking the device for it before each command.
    steady_prompt: ClassVar[bool] = False

    @classmethod
    def platform_data(cls) -> dict[str, Any]:
        return load_platform_data(cls.data_file)

    @classmethod
    def commands(cls) -> list[dict[str, Any]]:
        return list(cls.platform_data()["commands"])

    def privileged(self, connection: Any, target: Target) -> None:
        """Reach the level that shows the whole configuration (IOS `enable`, RTX `administrator`). Raise
        AuthenticationFailed when the device refuses it. Default: nothing to do."""

    def prepare(self, connection: Any, target: Target) -> None:
        """Anything the session needs before the commands (paging off beyond netmiko's own). Default: nothing."""

    def parse_outputs(self, outputs: dict[str, str]) -> tuple[Result, int | None]:
        """The facts of one capture and the privilege level it was taken at (None: not recorded)."""
        raise NotImplementedError

    # -- the session -------------------------------------------------------------------------------------

    def connect(self, target: Target) -> Any:
        """An open, privileged netmiko session to the target (the caller disconnects it)."""
        host = target.host.name
        for name, purpose in self.required_credentials:
            target.credentials.require(name, purpose=purpose)
        parameters = netmiko_parameters(target, self.default_device_type)
        try:
            connection = _connect_handler()(**parameters)
        except Exception as exc:
            raise map_error(host, exc, f"connecting to {parameters['host']}:{parameters['port']}") from None
        try:
            self.privileged(connection, target)
            self.prepare(connection, target)
        except CollectionError:
            disconnect(connection)
            raise
        except Exception as exc:
            disconnect(connection)
            raise map_error(host, exc, "entering privileged mode") from None
        return connection

    def session_prompt(self, connection: Any, target: Target) -> str:
        """The session's prompt as the device shows it now (`rt1#`), asked once (ProbeError when there is none)."""
        try:
            prompt = connection.find_prompt()
        except Exception as exc:
            raise map_error(target.host.name, exc, "reading the prompt") from None
        if not isinstance(prompt, str) or not prompt.strip():
            raise ProbeError(target.host.name, "the session shows no prompt")
        return prompt.strip()

    def run_command(self, connection: Any, target: Target, command: str, prompt: str | None = None) -> str:
        """One command's output. `prompt`: the session's prompt when the caller knows it has not changed (fetch,
        `steady_prompt`): the output is read by `read_output`. Without it, netmiko's send_command (which asks the
        device for its prompt before each command)."""
        host = target.host.name
        try:
            if prompt is None:
                output = connection.send_command(command)
            else:
                output = read_output(connection, command, prompt, read_timeout(target))
        except OverflowError:
            raise ProbeError(host, f"`{command}` output exceeds {MAX_OUTPUT} bytes") from None
        except Exception as exc:
            raise map_error(host, exc, f"`{command}`") from None
        if not isinstance(output, str):
            raise ProbeError(host, f"`{command}` gave no text output")
        if len(output) > MAX_OUTPUT:
            raise ProbeError(host, f"`{command}` output exceeds {MAX_OUTPUT} bytes")
        return output

    def fetch(self, target: Target, into: Path) -> None:
        """One netmiko session: connect, reach privileged level, every command of the command table, each output
        saved to into/<capture_file(command)>. Raises DeviceUnreachable, DeviceTimeout, AuthenticationFailed or
        ProbeError with a one-line reason and no secret."""
        connection = self.connect(target)
        try:
            prompt = self.session_prompt(connection, target) if self.steady_prompt else None
            for entry in self.commands():
                command = str(entry["command"])
                if prompt is None:
                    output = self.run_command(connection, target, command)
                else:
                    output = self.run_command(connection, target, command, prompt=prompt)
                path = into / capture_file(command)
                path.write_text(output, encoding="utf-8")
                path.chmod(0o600)
        finally:
            disconnect(connection)

    def parse(self, raw: Path) -> dict[str, Any]:
        """OfflineParser: the unstamped facts of the capture directory `raw` (DIR/<host>/)."""
        raw = Path(raw)
        outputs: dict[str, str] = {}
        for entry in self.commands():
            path = raw / capture_file(str(entry["command"]))
            if path.is_file():
                try:
                    outputs[str(entry["command"])] = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise SavedFactsError(raw.name, f"{path}: unreadable ({type(exc).__name__})") from None
        running = raw / capture_file(self.running_command)
        if self.running_command not in outputs:
            running = self._alternative_running(raw) or running
            if running.is_file():
                try:
                    outputs[self.running_command] = running.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise SavedFactsError(raw.name, f"{running}: unreadable ({type(exc).__name__})") from None
        if self.running_command not in outputs:
            raise SavedFactsError(raw.name, f"{raw}: no saved configuration {running} "
                                            f"(layout: <DIR>/<host>/{capture_file(self.running_command)})")
        if not outputs[self.running_command].strip():
            raise SavedFactsError(raw.name, f"{running}: empty")
        try:
            result, level = self.parse_outputs(outputs)
        except ConfigurationError as exc:
            raise SavedFactsError(raw.name, f"{running}: {exc}") from None
        if level is not None and level < 15:
            raise SavedFactsError(raw.name, f"{raw}: captured at privilege level {level}: below 15 the "
                                            "configuration shown is partial")
        taken = dt.datetime.fromtimestamp(running.stat().st_mtime, tz=dt.UTC).isoformat(timespec="seconds")
        return {"format_version": "1", "collected_at": taken,
                "probe": {"name": f"hardening.platforms.{self.probe_name}", "version": "1"},
                "facts": result.facts, "errors": result.errors, "manual": result.manual,
                "evidence": result.evidence}


    def _alternative_running(self, raw: Path) -> Path | None:
        for pattern in self.running_alternatives:
            found = sorted(p for p in raw.glob(pattern) if p.is_file())
            if found:
                return found[0]
        return None


def disconnect(connection: Any) -> None:
    with contextlib.suppress(Exception):  # the session is being dropped anyway
        connection.disconnect()
