"""One WinRM shell per Windows host, and one PowerShell process per batch of commands.

pywinrm's `winrm.protocol.Protocol` is used directly (not `winrm.Session.run_ps`, which opens a shell per call and
puts the script on the command line): the shell is created once (`open_shell`) and serves every batch of the
session (`run_command` → `send_command_input` → `get_command_output_raw` … → `cleanup_command`), then is deleted
(`close_shell`). A command that finished (Receive said Done) is signalled when the next batch starts, and not at
all when the shell is deleted next: Delete ends the shell with everything in it ([MS-WSMV] 3.1.4.4.1, "all
resources for the Shell SHOULD be freed"), so an audit's one batch costs no Signal round trip. A command that did
not finish (error, timeout) is signalled at once. A batch is ONE `powershell.exe` whose command line carries only a
fixed bootstrap (as Ansible's PowerShell exec wrapper does)::

    powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand <base64 UTF-16LE of BOOTSTRAP>

and whose script arrives on stdin (UTF-8; the shell runs with code page 65001, so stdout is UTF-8 too). The script
is one block per command (`hardening.platforms.windows.pwsh.block_script`), and stdout is split back into blocks by
`pwsh.split_batch`: a block without its end marker, or whose command threw (`HARDENING-ERROR`), comes back with
`CommandOutput.error` set, never as a value.

The endpoint comes from the target's `winrm` connection options (docs/platforms.md §3): `scheme` https (default;
plain http only with message encryption, which NTLM, Kerberos and CredSSP give: `message_encryption` `always` is
used then and `never` is refused), `port` (5986 unless the inventory says otherwise; an http site sets 5985),
`transport` ntlm (default), kerberos or credssp, `server_cert_validation` (validate by default), `ca_trust_path`
(the CA bundle; without it the library's default bundle, never one named by environment variables), and
`operation_timeout_s` (WS-Management OperationTimeout, default 20 s; each HTTP read waits 10 s longer). No proxy is
used. The login is the credential entry's `username` with `winrm_password`, else `password`.

Errors are hardening.core.errors with one line of reason: HTTP 401 → AuthenticationFailed, a server certificate
that does not validate → AuthenticationFailed, connection refused / no route / no connection in time →
DeviceUnreachable, no answer in time → DeviceTimeout, a SOAP fault, another HTTP status or an answer that is not
WS-Management → ProbeError. The password never appears in them (the endpoint URL carries no credential, and every
text is passed through the REDACTOR).
"""

from __future__ import annotations

import base64
import contextlib
import math
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from hardening.core.errors import (
    AuthenticationFailed,
    CollectionError,
    DeviceTimeout,
    DeviceUnreachable,
    ProbeError,
)
from hardening.core.platform import Target
from hardening.core.secrets import REDACTOR
from hardening.platforms.common.netcli import exception_reason as _why
from hardening.platforms.windows.pwsh import CommandOutput, batch_script, split_batch

__all__ = ["BOOTSTRAP", "CommandOutput", "WinRMSession", "endpoint_parameters", "map_error", "powershell_arguments",
           "powershell_command_line", "within_budget"]

BOOTSTRAP = "$ErrorActionPreference = 'Continue'; $s = [Console]::In.ReadToEnd(); Invoke-Expression $s"
POWERSHELL = "powershell.exe"
CODEPAGE_UTF8 = 65001
DEFAULT_OPERATION_TIMEOUT_S = 20
READ_MARGIN_S = 10            # an HTTP read waits this much longer than the WS-Management operation may take
MAX_OUTPUT = 16 * 1024 * 1024
STDIN_CHUNK = 32 * 1024       # bytes of script per Send message (a WS-Management envelope is at most 150 KiB)
TRANSPORTS = ("ntlm", "kerberos", "credssp")
ENCRYPTING = frozenset(TRANSPORTS)    # transports whose security context can encrypt messages over plain http


def powershell_arguments() -> list[str]:
    """The arguments of the batch's powershell.exe: the bootstrap as -EncodedCommand (base64 of UTF-16LE)."""
    encoded = base64.b64encode(BOOTSTRAP.encode("utf-16-le")).decode("ascii")
    return ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand", encoded]


def powershell_command_line() -> str:
    """The whole command line the shell runs for a batch (what the Command message carries)."""
    return " ".join([POWERSHELL, *powershell_arguments()])


def _protocol_class() -> Any:
    """pywinrm's Protocol (a function so tests can replace it)."""
    from winrm.protocol import Protocol

    return Protocol


def map_error(host: str, exc: BaseException, where: str) -> CollectionError:
    """A pywinrm/requests/XML failure as the collection error the runner reports (one line, no secret)."""
    import requests
    from winrm.exceptions import (
        AuthenticationError,
        WinRMError,
        WinRMOperationTimeoutError,
        WinRMTransportError,
        WSManFaultError,
    )

    if isinstance(exc, CollectionError):
        return exc
    if isinstance(exc, AuthenticationError):
        return AuthenticationFailed(host, f"WinRM credentials refused ({where})")
    if isinstance(exc, requests.exceptions.SSLError):
        return AuthenticationFailed(host, f"the server's TLS certificate was not accepted ({where}): {_why(exc)}")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return DeviceUnreachable(host, f"no WinRM connection in time ({where})")
    if isinstance(exc, requests.exceptions.Timeout | WinRMOperationTimeoutError | TimeoutError):
        return DeviceTimeout(host, f"no answer in time ({where})")
    if isinstance(exc, requests.exceptions.ConnectionError | ConnectionError):
        return DeviceUnreachable(host, f"no WinRM connection ({where}): {_why(exc)}")
    if isinstance(exc, WSManFaultError):
        return ProbeError(host, f"WS-Management fault ({where}): {_why(Exception(exc.reason))}")
    if isinstance(exc, WinRMTransportError):
        return ProbeError(host, f"unexpected HTTP status {exc.code} ({where})")
    if isinstance(exc, ET.ParseError | StopIteration | AssertionError | KeyError | IndexError):
        return ProbeError(host, f"the answer is not WS-Management ({where}): {type(exc).__name__}")
    if isinstance(exc, WinRMError):
        return ProbeError(host, f"WinRM ({where}): {_why(exc)}")
    if isinstance(exc, requests.exceptions.RequestException):
        return ProbeError(host, f"malformed HTTP exchange ({where}): {type(exc).__name__}: {_why(exc)}")
    if isinstance(exc, OSError):
        return DeviceUnreachable(host, f"WinRM connection failed ({where}): {_why(exc)}")
    return ProbeError(host, f"{where}: {type(exc).__name__}: {_why(exc)}")


def _no_environment(protocol: Any) -> None:
    """No proxy: pywinrm (proxy None) sets requests' `no_proxy *`, yet requests still reads the proxy variables of
    the environment on every request to decide that; its session is built now and told not to read the
    environment at all (`trust_env` off: no proxy, no netrc), which also saves that per-message work."""
    transport = getattr(protocol, "transport", None)
    build = getattr(transport, "build_session", None)
    if transport is None or build is None:
        return
    session = build()
    session.trust_env = False
    transport.session = session


def endpoint_parameters(target: Target) -> dict[str, Any]:
    """Protocol's keyword arguments for the target, password excluded (see the module docstring). Raises
    ProbeError for a combination that would send in the clear or that this platform cannot drive."""
    host = target.host.name
    options = target.connection("winrm")
    scheme = str(options.get("scheme", "https"))
    transport = str(options.get("transport", "ntlm"))
    encryption = str(options.get("message_encryption", "auto"))
    if transport not in TRANSPORTS:
        raise ProbeError(host, f"WinRM transport {transport!r} is not supported here (the inventory names no "
                               "client certificate); use one of " + ", ".join(TRANSPORTS))
    if scheme == "http":
        if encryption == "never":
            raise ProbeError(host, "WinRM over http without message encryption would send everything in the "
                                   "clear: set scheme https, or message_encryption always")
        encryption = "always"
    elif scheme != "https":
        raise ProbeError(host, f"WinRM scheme {scheme!r} is neither https nor http")
    operation = int(options.get("operation_timeout_s", DEFAULT_OPERATION_TIMEOUT_S))
    hostname = options.hostname
    if ":" in hostname and not hostname.startswith("["):
        hostname = f"[{hostname}]"   # an IPv6 address in a URL
    ca_trust_path = options.get("ca_trust_path")
    return {
        "endpoint": f"{scheme}://{hostname}:{options.port}/wsman",
        "transport": transport,
        "server_cert_validation": str(options.get("server_cert_validation", "validate")),
        "ca_trust_path": str(ca_trust_path) if ca_trust_path else None,
        "message_encryption": encryption,
        "operation_timeout_sec": operation,
        "read_timeout_sec": operation + READ_MARGIN_S,
        "proxy": None,
    }


def within_budget(parameters: dict[str, Any], budget_s: float) -> dict[str, Any]:
    """The endpoint parameters with no single HTTP read longer than the session's time budget (the host's
    `--timeout`): a listener that accepts the connection and never answers ends in DeviceTimeout within the budget,
    not after the WS-Management operation timeout plus its margin. The operation timeout stays below the read
    timeout (pywinrm requires it; a shorter one only makes "no output yet" come sooner, which is asked again)."""
    read = max(2, math.ceil(budget_s))
    if parameters["read_timeout_sec"] <= read:
        return parameters
    return {**parameters, "read_timeout_sec": read,
            "operation_timeout_sec": min(int(parameters["operation_timeout_sec"]), read - 1)}


class WinRMSession:
    """One WinRM shell on one host for the session's life (a context manager). `run_batch` runs commands in one
    PowerShell process; `run` one command. Each call may take `timeout_s` seconds (default: the target's time
    budget) before DeviceTimeout."""

    def __init__(self, target: Target, *, timeout_s: float | None = None) -> None:
        self.target = target
        self.host = target.host.name
        self.timeout_s = float(timeout_s if timeout_s is not None else target.timeout)
        self.parameters = within_budget(endpoint_parameters(target), self.timeout_s)
        self.problems: list[str] = []   # what the last batch printed outside its blocks (never data)
        self._protocol: Any = None
        self._shell_id: str | None = None
        self._finished: str | None = None  # a command that finished and is not signalled yet (see the docstring)

    # -- the shell -------------------------------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str | None]:
        credentials = self.target.credentials
        password = credentials.winrm_password or credentials.password
        if self.parameters["transport"] == "kerberos":
            return credentials.username, password.reveal() if password else None
        if not password:
            credentials.require("password", purpose="logging in over WinRM (or set winrm_password)")
        if not credentials.username:
            raise ProbeError(self.host, f"credentials {credentials.name!r} have no username for the WinRM login")
        return credentials.username, password.reveal() if password else None

    def _shell(self) -> tuple[Any, str]:
        if self._protocol is not None and self._shell_id is not None:
            return self._protocol, self._shell_id
        username, password = self._credentials()
        where = f"opening a shell at {self.parameters['endpoint']}"
        try:
            protocol = _protocol_class()(username=username, password=password, **self.parameters)
            _no_environment(protocol)
            self._protocol = protocol
            # As Ansible's winrm connection: UTF-8 console, the user's profile loaded (secedit exports to its TEMP).
            self._shell_id = str(protocol.open_shell(codepage=CODEPAGE_UTF8))
        except Exception as exc:
            self._protocol = None
            raise map_error(self.host, exc, where) from None
        return protocol, self._shell_id

    def __enter__(self) -> WinRMSession:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Delete the shell (best effort: the session is being dropped anyway)."""
        protocol, shell_id = self._protocol, self._shell_id
        self._protocol, self._shell_id, self._finished = None, None, None
        if protocol is None or shell_id is None:
            return
        with contextlib.suppress(Exception):
            protocol.close_shell(shell_id)

    # -- batches ---------------------------------------------------------------------------------------------

    def run_batch(self, commands: Sequence[tuple[str, str]]) -> dict[str, CommandOutput]:
        """Run (id, command) pairs in ONE PowerShell process; {id: CommandOutput} for every id (a command whose block
        is missing, cut or threw has `error` set). What the process printed outside the blocks is in
        `self.problems`. Raises AuthenticationFailed, DeviceUnreachable, DeviceTimeout or ProbeError (also when
        the process printed no block at all)."""
        ids = [command_id for command_id, _ in commands]
        try:
            script = batch_script(commands)
        except ValueError as exc:
            raise ProbeError(self.host, f"batch not built: {exc}") from None
        stdout, stderr = self._run_powershell(script.encode("utf-8"))
        text = stdout.decode("utf-8", errors="replace")
        batch = split_batch(text, ids)
        self.problems = list(batch.problems)
        if ids and "<<<hardening:begin:" not in text:
            said = _excerpt(stderr) or _excerpt(stdout) or "nothing"
            raise ProbeError(self.host, f"the PowerShell batch printed no block of its {len(ids)} commands "
                                        f"(it said: {said})")
        return {command_id: batch.blocks[command_id] for command_id in ids}

    def run(self, command: str) -> CommandOutput:
        """One command in its own PowerShell process (block id `cmd`)."""
        return self.run_batch([("cmd", command)])["cmd"]

    def _run_powershell(self, script: bytes) -> tuple[bytes, bytes]:
        protocol, shell_id = self._shell()
        deadline = time.monotonic() + self.timeout_s
        if self._finished is not None:
            finished, self._finished = self._finished, None
            with contextlib.suppress(Exception):   # its output is read already; the shell stays usable
                protocol.cleanup_command(shell_id, finished)
        where = "starting powershell.exe"
        try:
            # The script is on stdin, so stdin is a pipe, not a console (WINRS_CONSOLEMODE_STDIN false, as Ansible).
            command_id = protocol.run_command(shell_id, POWERSHELL, powershell_arguments(), console_mode_stdin=False)
        except Exception as exc:
            raise map_error(self.host, exc, where) from None
        try:
            where = "sending the batch script"
            for start in range(0, max(len(script), 1), STDIN_CHUNK):
                chunk = script[start:start + STDIN_CHUNK]
                protocol.send_command_input(shell_id, command_id, chunk, end=start + STDIN_CHUNK >= len(script))
            where = "reading the batch output"
            output = self._receive(protocol, shell_id, command_id, deadline)
        except Exception as exc:
            with contextlib.suppress(Exception):   # the output is lost; the shell stays usable
                protocol.cleanup_command(shell_id, command_id)
            raise map_error(self.host, exc, where) from None
        self._finished = command_id                # signalled by the next batch, or ended with the shell
        return output

    def _receive(self, protocol: Any, shell_id: str, command_id: str, deadline: float) -> tuple[bytes, bytes]:
        from winrm.exceptions import WinRMOperationTimeoutError

        stdout, stderr = bytearray(), bytearray()
        while True:
            if time.monotonic() > deadline:
                raise DeviceTimeout(self.host, f"the batch did not finish in {self.timeout_s:g} s")
            try:
                out, err, _rc, done = protocol.get_command_output_raw(shell_id, command_id)
            except WinRMOperationTimeoutError:
                continue   # WS-Management's answer "no output yet": ask again until our own deadline
            stdout += out
            stderr += err
            if len(stdout) + len(stderr) > MAX_OUTPUT:
                raise ProbeError(self.host, f"the batch output exceeds {MAX_OUTPUT} bytes")
            if done:
                return bytes(stdout), bytes(stderr)


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="replace").splitlines()


def _excerpt(data: bytes) -> str:
    """The first meaningful line of a stream, scrubbed (PowerShell's CLIXML progress records are skipped)."""
    for line in _lines(data):
        text = " ".join(line.split())
        if text and not text.startswith(("#< CLIXML", "<Objs ")):
            return REDACTOR.scrub(text)[:200]
    return ""
