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

import codecs
import contextlib
import datetime as dt
import functools
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
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
from hardening.platforms.common import knownhosts

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

    def undetermined(self, pointer: str, reason: str) -> None:
        """Take back the fact at `pointer` (and what was cited for it or below it): it is an error, never a value."""
        parts = pointer.strip("/").split("/")
        node: Any = self.facts
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(parts[-1], None)
        for key in [k for k in self.evidence if k == pointer or k.startswith(pointer + "/")]:
            del self.evidence[key]
        self.manual.pop(pointer, None)
        self.errors[pointer] = reason


def live_output(outputs: dict[str, str], command: str, invalid: re.Pattern[str]) -> tuple[str | None, str]:
    """A live command's output, or None and why it cannot be used (`invalid` matches the CLI's rejection)."""
    text = outputs.get(command)
    if text is None:
        return None, f"live state: `{command}` is not in the capture (a saved configuration has no live state)"
    if invalid.search(text):
        return None, f"`{command}` was rejected by the device"
    return text, ""


def read_output(connection: Any, command: str, prompt: str, timeout: float,
                complete: Callable[[str], bool] | None = None) -> str:
    """Send `command` on an open netmiko SSH session and return its output: what follows the command's echo line,
    up to the line that is the session's `prompt` alone at the end of what the device sent.

    Blocks on the SSH channel (paramiko's recv with a timeout) instead of netmiko's fixed sleeps between reads
    (find_prompt, echo and read loops: ~80 ms per command with fast_cli, ~0.5 s without). Whatever arrives before
    the echo (a prompt answering an earlier newline) is dropped, as netmiko's cmd_verify does; the end is only the
    prompt at the very end of what was read, so prompt-like text inside the output (`hostname rt1`, a banner)
    does not end it early. A line of the output that is the prompt itself can still end a read that happens to
    stop right after it: `complete` (the platform's check that an output is whole, e.g. IOS's closing `end`)
    then says no, and the read goes on. The text is decoded and its newlines normalised as netmiko does
    (send_command gives the same string). Raises TimeoutError (no prompt, or never a whole output, in `timeout`
    s), EOFError (the session ended) or OverflowError (more than MAX_OUTPUT bytes)."""
    whole = None if complete is None else (lambda _command, text: complete(text))
    return read_outputs(connection, [command], prompt, timeout, whole)[0]


def read_outputs(connection: Any, commands: list[str], prompt: str, timeout: float,
                 complete: Callable[[str, str], bool] | None = None) -> list[str]:
    """read_output for several commands sent in one write (one round trip instead of one per command): the CLI
    reads them from its input one after the other and echoes each after the prompt that ends the previous one's
    output, as it does with lines pasted into a terminal. Command i's output ends at the prompt alone at the start
    of a line followed by command i+1's echo (the last one's: the prompt at the very end of what was read, and
    `complete(command, output)` saying it is whole, else the read goes on). Each output is the string read_output
    gives for the command alone. Each command has `timeout` s from the end of the previous one's output; an output
    `complete` refuses is a TimeoutError, never facts."""
    commands, prompt = [command.strip() for command in commands], prompt.strip()
    channel = connection.remote_conn
    encoding = getattr(connection, "encoding", "utf-8")
    echoes, ending = [command.encode(encoding) for command in commands], prompt.encode(encoding)
    previous = channel.gettimeout()
    deadline = time.monotonic() + timeout
    received = bytearray()
    starts: list[int] = []      # index just past each command's echo, once seen
    ends: list[int] = []        # index just past the prompt that ends each command's output
    scanned = 0                 # where the search for the next echo or end goes on from
    prompted = [False]          # the last command stopped at a prompt line, but its output was not whole

    def last_whole(start: int, end: int) -> bool:
        if complete is None or complete(commands[-1], _output_text(connection, bytes(received[start:end]), encoding)):
            return True
        prompted[0] = True
        return False

    connection.write_channel("".join(command + connection.RETURN for command in commands))
    try:
        while len(ends) < len(commands):
            waiting = commands[len(ends)]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(_no_end(waiting, timeout, prompted[0]))
            channel.settimeout(remaining)
            try:
                data = channel.recv(65536)
            except TimeoutError:   # socket.timeout
                raise TimeoutError(_no_end(waiting, timeout, prompted[0])) from None
            if not data:
                raise EOFError(f"the session ended during `{waiting}`")
            received += data
            if len(received) > MAX_OUTPUT:
                raise OverflowError(f"`{waiting}` output exceeds {MAX_OUTPUT} bytes")
            done = len(ends)
            scanned = _advance(received, echoes, ending, starts, ends, scanned, last_whole)
            if len(ends) > done:            # each command has `timeout` s from the end of the one before
                deadline = time.monotonic() + timeout
    finally:
        channel.settimeout(previous)
    outputs = [_output_text(connection, bytes(received[start:end]), encoding)
               for start, end in zip(starts, ends, strict=True)]
    for command, output in zip(commands, outputs, strict=True):
        if complete is not None and not complete(command, output):
            raise TimeoutError(f"no complete output of `{command}` (it stopped at a prompt line before its end)")
    return outputs


def _no_end(command: str, timeout: float, prompted: bool) -> str:
    if prompted:
        return f"no complete output of `{command}` in {timeout:g} s (it stopped at a prompt line before its end)"
    return f"no prompt after `{command}` in {timeout:g} s"


def _output_text(connection: Any, raw: bytes, encoding: str) -> str:
    """What follows the echo up to the prompt line, decoded and normalised as netmiko's send_command gives it."""
    text = raw.decode(encoding, "ignore")
    if getattr(connection, "ansi_escape_codes", False):
        text = connection.strip_ansi_escape_codes(text)
    lines = connection.normalize_linefeeds(text).split("\n")
    return "\n".join(lines[1:-1])   # the rest of the echo line and the prompt line dropped


def _advance(received: bytearray, echoes: list[bytes], ending: bytes, starts: list[int], ends: list[int],
             scanned: int, last_whole: Callable[[int, int], bool]) -> int:
    """read_outputs' parse of what has arrived: records every echo and end found from `scanned` on; returns
    where the next search starts (a match may straddle what arrives next, so a little before the end)."""
    while len(ends) < len(echoes):
        index = len(ends)
        if len(starts) == index:                  # waiting for this command's echo
            found = received.find(echoes[index], scanned)
            if found < 0:
                return max(scanned, len(received) - len(echoes[index]))
            starts.append(found + len(echoes[index]))
            scanned = starts[-1]
            continue
        if index + 1 < len(echoes):               # the prompt, at a line start, then the next command's echo
            marker = ending + echoes[index + 1]
            found = received.find(marker, scanned)
            while found >= 0 and (found == 0 or received[found - 1] not in b"\r\n"):
                found = received.find(marker, found + 1)
            if found < 0:
                return max(scanned, len(received) - len(marker))
            ends.append(found + len(ending))
            starts.append(found + len(marker))
            scanned = starts[-1]
            continue
        tail = bytes(received[max(starts[index], len(received) - len(ending) - 256):]).rstrip(b" \t")
        if tail.endswith(ending) and len(tail) > len(ending) and tail[-len(ending) - 1] in b"\r\n" \
                and last_whole(starts[index], len(received)):
            ends.append(len(received))
        return scanned
    return scanned


def _ssh_channel(connection: Any) -> bool:
    """True when the session reads from an SSH channel read_output can wait on (paramiko's recv/settimeout)."""
    channel = getattr(connection, "remote_conn", None)
    return all(callable(getattr(channel, name, None)) for name in ("recv", "settimeout", "gettimeout"))


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


@contextlib.contextmanager
def host_key_file(parameters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """ConnectHandler's parameters with `alt_key_file` narrowed to the known_hosts lines of this host only (a private
    temporary file, removed after the connection is made). paramiko decodes every key of the file it is given on
    each connection (~0.14 ms a line: 27 ms per connection with 200 devices, quadratic over a run); the lines
    kept are exactly those paramiko's lookup would match (`[host]:port`, or `host` on port 22, plain or hashed),
    so the check is unchanged: strict still refuses a host without an entry, a changed key is still refused. The
    file is read and indexed once per run (platforms/common/knownhosts.py, shared with the SSH transport); an entry
    whose key is marked @revoked is left out (strict refuses the host as unknown)."""
    source = str(parameters.get("alt_key_file") or "")
    if not parameters.get("alt_host_keys") or not source or not Path(source).is_file():
        yield parameters
        return
    lines = knownhosts.load(source).lines_for(knownhosts.lookup_name(str(parameters["host"]), int(parameters["port"])))
    handle, narrowed = tempfile.mkstemp(prefix="hardening-known-hosts-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write("".join(f"{line}\n" for line in lines))
        yield {**parameters, "alt_key_file": narrowed}
    finally:
        Path(narrowed).unlink(missing_ok=True)


def refuse_revoked(host: str, parameters: dict[str, Any], connection: Any) -> None:
    """AuthenticationFailed when the device's host key is marked @revoked in the known_hosts file. Under strict its
    entry was never given to paramiko (host_key_file), so it was refused as unknown before any login; under
    accept-new netmiko's AutoAddPolicy took it, and the session is refused here, before any command runs."""
    source = str(parameters.get("alt_key_file") or "")
    client = getattr(connection, "remote_conn_pre", None)
    transport = client.get_transport() if client is not None and hasattr(client, "get_transport") else None
    if not source or transport is None or not Path(source).is_file():
        return
    key = transport.get_remote_server_key()
    if knownhosts.load(source).is_revoked(key.get_name(), key.get_base64()):
        raise AuthenticationFailed(host, f"host key {key.get_name()} is marked @revoked in the known_hosts file "
                                         f"{source}")


def exception_reason(exc: BaseException) -> str:
    """An exception as one short line for a report, secrets masked (every platform's transport errors)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return REDACTOR.scrub(text)[:200]


_why = exception_reason


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
    # True when every command of the table runs at the same prompt (no mode change in between): the session reads
    # the prompt once and each command with read_command, instead of netmiko asking the device for it each time
    # (see `steady` for a platform where it depends on the device).
    steady_prompt: ClassVar[bool] = False
    # True when the CLI reads commands sent together one after the other, echoing each after the prompt that ends
    # the previous one's output (as it does with lines pasted into a terminal): a steady-prompt session then sends
    # the whole table in one write and reads it with read_outputs, one round trip instead of one per command.
    pipeline: ClassVar[bool] = False

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
            with host_key_file(parameters) as narrowed:
                connection = _connect_handler()(**narrowed)
        except Exception as exc:
            raise map_error(host, exc, f"connecting to {parameters['host']}:{parameters['port']}") from None
        try:
            refuse_revoked(host, parameters, connection)
            self.privileged(connection, target)
            self.prepare(connection, target)
        except CollectionError:
            disconnect(connection)
            raise
        except Exception as exc:
            disconnect(connection)
            raise map_error(host, exc, "entering privileged mode") from None
        return connection

    def steady(self, connection: Any) -> bool:
        """Whether this session runs the whole command table at one prompt (default: `steady_prompt`)."""
        return self.steady_prompt

    def known_prompt(self, connection: Any) -> str | None:
        """The session's prompt when the driver already knows it for certain (no need to ask the device), else
        None. Default: None."""
        return None

    def session_prompt(self, connection: Any, target: Target) -> str:
        """The session's prompt as the device shows it now (`rt1#`), asked once (ProbeError when there is none)."""
        known = self.known_prompt(connection)
        if known:
            return known
        try:
            prompt = connection.find_prompt()
        except Exception as exc:
            raise map_error(target.host.name, exc, "reading the prompt") from None
        if not isinstance(prompt, str) or not prompt.strip():
            raise ProbeError(target.host.name, "the session shows no prompt")
        return prompt.strip()

    def run_command(self, connection: Any, target: Target, command: str) -> str:
        """One command's output through netmiko's send_command (which asks the device for its prompt first)."""
        return self._checked(target, command, lambda: connection.send_command(command))

    def read_command(self, connection: Any, target: Target, command: str, prompt: str) -> str:
        """One command's output when the session's prompt is known not to have changed (fetch of a platform with
        `steady_prompt`): read by `read_output`, without netmiko's per-command prompt query and sleeps, until
        `output_complete` says the output is whole."""
        if not _ssh_channel(connection):
            return self.run_command(connection, target, command)
        return self._checked(target, command, lambda: read_output(
            connection, command, prompt, read_timeout(target), lambda text: self.output_complete(command, text)))

    def output_complete(self, command: str, output: str) -> bool:
        """Whether `output` (read up to a line that is the prompt) is the command's whole output; a platform whose
        output can hold a line equal to the prompt (a configuration) says how to tell. Default: True."""
        return True

    def read_commands(self, connection: Any, target: Target, commands: list[str], prompt: str) -> dict[str, str]:
        """Every command of a `pipeline` platform's table at its steady prompt, sent in one write (read_outputs)."""
        host = target.host.name
        try:
            texts = read_outputs(connection, commands, prompt, read_timeout(target),
                                 self.output_complete)
        except OverflowError as exc:
            raise ProbeError(host, _why(exc)) from None
        except Exception as exc:
            raise map_error(host, exc, "the command table") from None
        return dict(zip(commands, texts, strict=True))

    def _checked(self, target: Target, command: str, call: Callable[[], Any]) -> str:
        host = target.host.name
        try:
            output = call()
        except OverflowError:
            raise ProbeError(host, f"`{command}` output exceeds {MAX_OUTPUT} bytes") from None
        except Exception as exc:
            raise map_error(host, exc, f"`{command}`") from None
        if not isinstance(output, str):
            raise ProbeError(host, f"`{command}` gave no text output")
        if len(output) > MAX_OUTPUT:
            raise ProbeError(host, f"`{command}` output exceeds {MAX_OUTPUT} bytes")
        return output

    def session_outputs(self, target: Target) -> dict[str, str]:
        """One netmiko session: connect, reach privileged level, every command of the command table;
        {command: output}. Raises DeviceUnreachable, DeviceTimeout, AuthenticationFailed or ProbeError with a
        one-line reason and no secret."""
        connection = self.connect(target)
        try:
            steady = self.steady(connection) and _ssh_channel(connection)
            prompt = self.session_prompt(connection, target) if steady else None
            if prompt is not None and self.pipeline:
                return self.read_commands(connection, target, [str(e["command"]) for e in self.commands()], prompt)
            outputs: dict[str, str] = {}
            for entry in self.commands():
                command = str(entry["command"])
                if prompt is None:
                    outputs[command] = self.run_command(connection, target, command)
                else:
                    outputs[command] = self.read_command(connection, target, command, prompt)
            return outputs
        finally:
            disconnect(connection)

    def fetch(self, target: Target, into: Path) -> None:
        """The session's outputs saved to into/<capture_file(command)> (the layout `parse` reads)."""
        for command, output in self.session_outputs(target).items():
            path = into / capture_file(command)
            path.write_text(output, encoding="utf-8")
            path.chmod(0o600)

    def collect(self, target: Target) -> dict[str, Any]:
        """fetch + parse without the round trip through files: the session's outputs go to the same
        `document` as a saved capture's (with the newlines reading a capture file gives), and their masked
        text to target.captures under the capture file names."""
        outputs = {command: _universal_newlines(output) for command, output in self.session_outputs(target).items()}
        taken = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        document = self.document(outputs, target.host.name, f"`{self.running_command}` output", taken, ProbeError)
        for command, output in outputs.items():
            target.captures[capture_file(command)] = REDACTOR.scrub(mask_config_secrets(output))
        return document

    def parse(self, raw: Path) -> dict[str, Any]:
        """OfflineParser: the unstamped facts of the capture directory `raw` (DIR/<host>/)."""
        raw = Path(raw)
        outputs: dict[str, str] = {}
        for entry in self.commands():
            path = raw / capture_file(str(entry["command"]))
            if path.is_file():
                try:
                    outputs[str(entry["command"])] = read_capture(path)
                except (OSError, UnicodeDecodeError) as exc:
                    raise SavedFactsError(raw.name, f"{path}: unreadable ({type(exc).__name__})") from None
        running = raw / capture_file(self.running_command)
        if self.running_command not in outputs:
            running = self._alternative_running(raw) or running
            if running.is_file():
                try:
                    outputs[self.running_command] = read_capture(running)
                except (OSError, UnicodeDecodeError) as exc:
                    raise SavedFactsError(raw.name, f"{running}: unreadable ({type(exc).__name__})") from None
        if self.running_command not in outputs:
            raise SavedFactsError(raw.name, f"{raw}: no saved configuration {running} "
                                            f"(layout: <DIR>/<host>/{capture_file(self.running_command)})")
        taken = dt.datetime.fromtimestamp(running.stat().st_mtime, tz=dt.UTC).isoformat(timespec="seconds")
        return self.document(outputs, raw.name, str(running), taken, SavedFactsError, where=str(raw))

    def document(self, outputs: dict[str, str], host: str, source: str, taken: str,
                 kind: type[CollectionError], where: str = "") -> dict[str, Any]:
        """The unstamped facts document of one capture's outputs (the running configuration's among them).
        `source` names the configuration and `where` the capture in errors, raised as `kind`."""
        if not outputs[self.running_command].strip():
            raise kind(host, f"{source}: empty")
        try:
            result, level = self.parse_outputs(outputs)
        except ConfigurationError as exc:
            raise kind(host, f"{source}: {exc}") from None
        if level is not None and level < 15:
            raise kind(host, f"{where or host}: captured at privilege level {level}: below 15 the "
                             "configuration shown is partial")
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


# How saved configurations and handover texts reach an auditor, in the order tried: UTF-8 (what fetch writes, a
# FortiOS GUI backup, a UTF-8 console), then Windows Japanese (cp932, a superset of Shift_JIS: RTX consoles default
# to `console character ja.sjis`, and a handover text typed in a Windows editor in Japan is usually Shift_JIS).
# A byte-order mark decides by itself: UTF-8 with BOM (Notepad), UTF-16 (a PowerShell `>` redirect).
CAPTURE_ENCODINGS = ("utf-8", "cp932")


def read_capture(path: Path) -> str:
    """A saved output's text with universal newlines (CRLF of a Windows copy read as LF) and no byte-order mark.
    Raises UnicodeDecodeError when no encoding of CAPTURE_ENCODINGS reads it."""
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _universal_newlines(data.decode("utf-16"))
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    errors: list[UnicodeDecodeError] = []
    for encoding in CAPTURE_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            errors.append(exc)
            continue
        binary = _NOT_TEXT.search(text)
        if binary is None:
            return _universal_newlines(text)
        # Python's cp932 maps stray bytes to C1 controls and private-use characters: a binary file (a compressed
        # or encrypted backup) is not a configuration text whatever decodes it
        errors.append(UnicodeDecodeError(encoding, data, binary.start(), binary.start() + 1, "not text"))
    raise errors[0]


_NOT_TEXT = re.compile("[\x00\x80-\x9f\ue000-\uf8ff]")


def _universal_newlines(text: str) -> str:
    """The text as reading it back from a capture file gives it (Python's universal newlines)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def disconnect(connection: Any) -> None:
    with contextlib.suppress(Exception):  # the session is being dropped anyway
        connection.disconnect()
