"""The WinRM session of the windows platform (hardening.platforms.windows.session) with pywinrm's Protocol replaced:
the endpoint and options it builds, the one shell per session, the batch (bootstrap command line, script on stdin,
framing read back), and how every failure maps to a collection error without the password. The wire itself is the
lab simulator's test (lab/winsim)."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from typing import Any, ClassVar

import pytest
import requests
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)

from hardening.core.connections import ConnectionOptions
from hardening.core.errors import AuthenticationFailed, DeviceTimeout, DeviceUnreachable, ProbeError, SecretError
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import Target
from hardening.core.secrets import Credentials, Secret
from hardening.platforms.windows import session as winrm_session
from hardening.platforms.windows.pwsh import batch_script
from hardening.platforms.windows.session import (
    BOOTSTRAP,
    WinRMSession,
    endpoint_parameters,
    map_error,
    powershell_arguments,
    powershell_command_line,
)

PASSWORD = "Win-Rm-Pa55word!"  # noqa: S105 (a fake one)
OTHER = "Other-WinRM-Pw1"


def target(*, password: str | None = PASSWORD, winrm_password: str | None = None, timeout: float = 30.0,
           hostname: str = "192.0.2.10", port: int = 5986, **extras: Any) -> Target:
    host = Host(name="pc1", hostname=hostname, port=None, platform="windows", device_class="windows_pc", zone="",
                classification={}, system=SystemInfo("pcs", "", ()), roles=(), groups=(), credentials="win")
    credentials = Credentials(name="win", username="CITY\\audit", password=Secret(password) if password else None,
                              winrm_password=Secret(winrm_password) if winrm_password else None)
    options = ConnectionOptions(kind="winrm", hostname=hostname, port=port, extras=extras)
    return Target(host=host, credentials=credentials, timeout=timeout, connections={"winrm": options})


def framed(blocks: list[tuple[str, str, int]]) -> bytes:
    """What PowerShell prints for a batch whose blocks print `text` and end with `rc`."""
    out = []
    for command_id, text, rc in blocks:
        out.append(f"<<<hardening:begin:{command_id}>>>\r\n{text}\r\n<<<hardening:end:{command_id}:{rc}>>>\r\n")
    return "".join(out).encode("utf-8")


class FakeProtocol:
    """pywinrm's Protocol as the session uses it; records every call and answers Receive from `chunks` (an
    exception in the list is raised at that Receive)."""

    instances: ClassVar[list[FakeProtocol]] = []

    def __init__(self, chunks: list[Any] | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls: list[tuple[str, Any]] = []
        self.stdin = bytearray()
        self.chunks = list(chunks or [])
        FakeProtocol.instances.append(self)

    def open_shell(self, **kwargs: Any) -> str:
        self.calls.append(("open_shell", kwargs))
        return "SHELL-1"

    def run_command(self, shell_id: str, command: str, arguments: list[str], console_mode_stdin: bool = True) -> str:
        self.calls.append(("run_command", (shell_id, command, list(arguments), console_mode_stdin)))
        return f"CMD-{len(self.calls)}"

    def send_command_input(self, shell_id: str, command_id: str, data: bytes, end: bool = False) -> None:
        self.calls.append(("send_command_input", (shell_id, command_id, end)))
        self.stdin += data

    def get_command_output_raw(self, shell_id: str, command_id: str) -> tuple[bytes, bytes, int, bool]:
        self.calls.append(("receive", command_id))
        chunk = self.chunks.pop(0)
        if isinstance(chunk, BaseException):
            raise chunk
        return chunk  # type: ignore[no-any-return]

    def cleanup_command(self, shell_id: str, command_id: str) -> None:
        self.calls.append(("cleanup_command", command_id))

    def close_shell(self, shell_id: str) -> None:
        self.calls.append(("close_shell", shell_id))


@pytest.fixture
def protocol(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The Receive answers the next session's Protocol gives (fill the list in the test)."""
    chunks: list[Any] = []
    FakeProtocol.instances = []
    monkeypatch.setattr(winrm_session, "_protocol_class", lambda: lambda **kw: FakeProtocol(chunks, **kw))
    return chunks


def names(fake: FakeProtocol) -> list[str]:
    return [name for name, _ in fake.calls]


# -- the command line and the endpoint ----------------------------------------------------------------------------


def test_bootstrap_is_the_encoded_command_exactly() -> None:
    arguments = powershell_arguments()
    assert arguments[:5] == ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand"]
    assert base64.b64decode(arguments[5]).decode("utf-16-le") == (
        "$ErrorActionPreference = 'Continue'; $s = [Console]::In.ReadToEnd(); Invoke-Expression $s")
    assert BOOTSTRAP in base64.b64decode(arguments[5]).decode("utf-16-le")
    assert powershell_command_line().startswith("powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass "
                                                "-EncodedCommand ")


def test_endpoint_defaults_https_ntlm_validated_no_proxy() -> None:
    parameters = endpoint_parameters(target())
    assert parameters == {"endpoint": "https://192.0.2.10:5986/wsman", "transport": "ntlm",
                          "server_cert_validation": "validate", "ca_trust_path": None, "message_encryption": "auto",
                          "operation_timeout_sec": 20, "read_timeout_sec": 30, "proxy": None}
    assert PASSWORD not in repr(parameters)


def test_endpoint_options_from_the_inventory() -> None:
    parameters = endpoint_parameters(target(hostname="2001:db8::10", port=15986, transport="credssp",
                                            server_cert_validation="ignore", ca_trust_path="/etc/city-ca.pem",
                                            operation_timeout_s=45))
    assert parameters["endpoint"] == "https://[2001:db8::10]:15986/wsman"
    assert parameters["transport"] == "credssp"
    assert parameters["server_cert_validation"] == "ignore"
    assert parameters["ca_trust_path"] == "/etc/city-ca.pem"
    assert (parameters["operation_timeout_sec"], parameters["read_timeout_sec"]) == (45, 55)


def test_http_only_with_message_encryption() -> None:
    assert endpoint_parameters(target(scheme="http", port=5985))["message_encryption"] == "always"
    assert endpoint_parameters(target(scheme="http", port=5985, message_encryption="auto"))[
        "message_encryption"] == "always"
    with pytest.raises(ProbeError, match="in the clear"):
        endpoint_parameters(target(scheme="http", port=5985, message_encryption="never"))


def test_certificate_transport_is_refused_with_a_reason() -> None:
    with pytest.raises(ProbeError, match="certificate"):
        endpoint_parameters(target(transport="certificate"))


# -- the session --------------------------------------------------------------------------------------------------


def test_one_shell_one_powershell_per_batch_script_on_stdin(protocol: list[Any]) -> None:
    commands = [("now", "Get-Date -Format o"), ("os", "Get-CimInstance -ClassName Win32_OperatingSystem")]
    protocol.extend([WinRMOperationTimeoutError(),
                     (framed([("now", "2026-11-29T21:40:00.0000000+09:00", 0)]), b"", -1, False),
                     (framed([("os", "{}", 0)]), b"", 0, True),
                     (framed([("cmd", "x", 3)]), b"", 0, True)])
    with WinRMSession(target(winrm_password=OTHER)) as session:
        outputs = session.run_batch(commands)
        single = session.run("Write-Output x")
    fake = FakeProtocol.instances[0]
    assert len(FakeProtocol.instances) == 1
    assert names(fake).count("open_shell") == 1
    assert names(fake).count("close_shell") == 1
    assert fake.calls[0] == ("open_shell", {"codepage": 65001})
    assert fake.kwargs["username"] == "CITY\\audit"
    assert fake.kwargs["password"] == OTHER           # winrm_password wins over password
    run = next(args for name, args in fake.calls if name == "run_command")
    assert run == ("SHELL-1", "powershell.exe", powershell_arguments(), False)
    expected = batch_script(commands) + batch_script([("cmd", "Write-Output x")])
    assert fake.stdin.decode("utf-8") == expected
    sends = [args for name, args in fake.calls if name == "send_command_input"]
    assert [end for _, _, end in sends] == [True, True]
    # The first batch's finished command is signalled when the second starts; the second's is not signalled at all:
    # deleting the shell ends it (one Signal round trip less per audited host).
    commands_run = [f"CMD-{i + 1}" for i, (name, _) in enumerate(fake.calls) if name == "run_command"]
    assert [args for name, args in fake.calls if name == "cleanup_command"] == [commands_run[0]]
    assert names(fake).index("cleanup_command") < [i for i, n in enumerate(names(fake)) if n == "run_command"][1]
    assert names(fake)[-1] == "close_shell"
    assert outputs["now"].text == "2026-11-29T21:40:00.0000000+09:00"
    assert outputs["now"].rc == 0
    assert outputs["os"].error is None
    assert (single.text, single.rc) == ("x", 3)


def test_a_cut_batch_gives_errors_for_the_missing_blocks(protocol: list[Any]) -> None:
    protocol.append((b"<<<hardening:begin:now>>>\r\n2026-11-29T21:40:00+09:00\r\n<<<hardening:begin:os>>>\r\n{",
                     b"", 0, True))
    with WinRMSession(target()) as session:
        outputs = session.run_batch([("now", "Get-Date -Format o"), ("os", "x"), ("users", "y")])
    assert outputs["now"].error
    assert "no end marker" in outputs["now"].error
    assert outputs["os"].error
    assert outputs["os"].rc == -1
    assert outputs["users"].error
    assert "no output block" in outputs["users"].error


def test_output_without_any_block_is_a_probe_error(protocol: list[Any]) -> None:
    protocol.append((b"Windows PowerShell\r\nCopyright (C) Microsoft Corporation.\r\n",
                     b"#< CLIXML\r\npowershell.exe : The term is not recognized\r\n", 1, True))
    with WinRMSession(target()) as session, pytest.raises(ProbeError, match="printed no block") as error:
        session.run_batch([("now", "Get-Date -Format o")])
    assert "The term is not recognized" in str(error.value)


def test_the_batch_has_a_deadline(protocol: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    def no_output_yet(self: FakeProtocol, shell_id: str, command_id: str) -> tuple[bytes, bytes, int, bool]:
        self.calls.append(("receive", command_id))
        raise WinRMOperationTimeoutError

    monkeypatch.setattr(FakeProtocol, "get_command_output_raw", no_output_yet)
    with WinRMSession(target(), timeout_s=0.05) as session, pytest.raises(DeviceTimeout, match=r"0\.05 s"):
        session.run_batch([("now", "Get-Date -Format o")])   # WS-Management says "no output yet" again and again
    fake = FakeProtocol.instances[0]
    assert names(fake).count("receive") > 1      # the operation timeouts were retried until the deadline
    assert "cleanup_command" in names(fake)      # the command is signalled even when it timed out


def test_no_http_read_outlasts_the_time_budget(protocol: list[Any]) -> None:
    """A listener that accepts and never answers (the lab's srv-win-hang) must end in DeviceTimeout within the
    host's --timeout, not after the operation timeout (20 s) plus the read margin (10 s)."""
    protocol.append((framed([("now", "2026-01-01T00:00:00", 0)]), b"", 0, True))
    with WinRMSession(target(timeout=6)) as session:
        session.run_batch([("now", "Get-Date -Format o")])
    fake = FakeProtocol.instances[0]
    assert (fake.kwargs["operation_timeout_sec"], fake.kwargs["read_timeout_sec"]) == (5, 6)
    with WinRMSession(target(timeout=0.3)) as session:   # pywinrm needs read > operation >= 1
        assert (session.parameters["operation_timeout_sec"], session.parameters["read_timeout_sec"]) == (1, 2)
    with WinRMSession(target(timeout=300, operation_timeout_s=45)) as session:   # a larger budget changes nothing
        assert (session.parameters["operation_timeout_sec"], session.parameters["read_timeout_sec"]) == (45, 55)


def test_output_over_the_limit_is_refused(protocol: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(winrm_session, "MAX_OUTPUT", 10)
    protocol.append((b"x" * 11, b"", 0, True))
    with WinRMSession(target()) as session, pytest.raises(ProbeError, match="exceeds"):
        session.run("Get-Date")


def test_a_missing_password_names_the_entry_not_a_value(protocol: list[Any]) -> None:
    with WinRMSession(target(password=None)) as session, pytest.raises(SecretError) as error:
        session.run("Get-Date")
    assert "HARDENING_CRED_WIN_PASSWORD" in str(error.value)
    assert FakeProtocol.instances == []


# -- errors ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("exc", "kind"), [
    (InvalidCredentialsError("the specified credentials were rejected by the server"), AuthenticationFailed),
    (requests.exceptions.SSLError(f"certificate verify failed for {PASSWORD}"), AuthenticationFailed),
    (requests.exceptions.ConnectionError(f"[Errno 111] Connection refused {PASSWORD}"), DeviceUnreachable),
    (requests.exceptions.ConnectTimeout("connect timed out"), DeviceUnreachable),
    (requests.exceptions.ReadTimeout("read timed out"), DeviceTimeout),
    (WinRMOperationTimeoutError(), DeviceTimeout),
    (WinRMTransportError("http", 500, "<html>oops</html>"), ProbeError),
    (WSManFaultError(500, "Bad HTTP response", "<x/>", f"Access is denied {PASSWORD}"), ProbeError),
    (ET.ParseError("not well-formed"), ProbeError),
    (StopIteration(), ProbeError),
    (OSError(113, "No route to host"), DeviceUnreachable),
])
def test_errors_map_to_collection_errors_without_the_password(exc: BaseException, kind: type) -> None:
    Secret(PASSWORD)   # loaded secrets are registered with the redactor, as the secret store does
    mapped = map_error("pc1", exc, "opening a shell at https://192.0.2.10:5986/wsman")
    assert type(mapped) is kind
    assert PASSWORD not in str(mapped)
    assert str(mapped).startswith("pc1: ")
    assert "\n" not in str(mapped)


def test_open_shell_refused_is_authentication_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    class Refusing(FakeProtocol):
        def open_shell(self, **kwargs: Any) -> str:
            raise InvalidCredentialsError("the specified credentials were rejected by the server")

    monkeypatch.setattr(winrm_session, "_protocol_class", lambda: Refusing)
    with WinRMSession(target()) as session, pytest.raises(AuthenticationFailed) as error:
        session.run_batch([("now", "Get-Date -Format o")])
    assert PASSWORD not in str(error.value)
    assert "https://192.0.2.10:5986/wsman" in str(error.value)
    assert error.value.__suppress_context__


def test_the_winrm_session_reads_nothing_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """pywinrm's requests session is built with the shell and told not to read proxy (or netrc) settings from the
    environment: no proxy is used, and requests stops looking the variables up again on every message."""
    class Transport:
        def __init__(self) -> None:
            self.session: requests.Session | None = None

        def build_session(self) -> requests.Session:
            self.session = self.session or requests.Session()
            return self.session

    class WithTransport(FakeProtocol):
        def __init__(self, chunks: list[Any] | None = None, **kwargs: Any) -> None:
            super().__init__(chunks, **kwargs)
            self.transport = Transport()

    monkeypatch.setattr(winrm_session, "_protocol_class", lambda: WithTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://192.0.2.1:3128")
    with WinRMSession(target()) as session:
        session._shell()
        transport = session._protocol.transport
        assert transport.session is not None
        assert transport.session.trust_env is False
        assert requests.utils.resolve_proxies(requests.Request("POST", "https://192.0.2.9:5986/wsman").prepare(),
                                              transport.session.proxies, transport.session.trust_env) == {}
