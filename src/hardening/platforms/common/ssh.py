"""One SSH session per host, one command, a hard deadline: the transport of every SSH probe.

Shared by every platform that probes over SSH (Linux now; any OS with a shell later), so the
timeout, host-key and error handling are written once.
"""

from __future__ import annotations

import fcntl
import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paramiko

from hardening.core.errors import AuthenticationFailed, CollectionError, DeviceTimeout, DeviceUnreachable
from hardening.core.platform import Target
from hardening.core.secrets import REDACTOR
from hardening.platforms.common import knownhosts

_KEY_TYPES: tuple[type[paramiko.PKey], ...] = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)
MAX_OUTPUT = 16 * 1024 * 1024


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: bytes
    stderr: bytes


def _load_key(host: str, text: str) -> paramiko.PKey:
    for key_type in _KEY_TYPES:
        try:
            return key_type.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise AuthenticationFailed(host, "private key in the credentials is not a supported type (ed25519, ecdsa, rsa)")


_KNOWN_HOSTS_LOCK = threading.Lock()
_SYSTEM_KNOWN_HOSTS = "~/.ssh/known_hosts"


class _RevokedHostKey(paramiko.SSHException):
    """The server presented a key the known_hosts file marks @revoked (raised inside paramiko's connect)."""


def _refuse_revoked(index: knownhosts.KnownHosts | None, hostname: str, key: paramiko.PKey) -> None:
    if index is not None and index.is_revoked(key.get_name(), key.get_base64()):
        raise _RevokedHostKey(f"host key {key.get_name()} of {hostname} is marked @revoked in known_hosts file "
                              f"{index.path}")


class _Refuse(paramiko.MissingHostKeyPolicy):
    """strict: an unknown host is refused (as paramiko's RejectPolicy, same message); a revoked key is named as
    such."""

    def __init__(self, index: knownhosts.KnownHosts | None) -> None:
        self.index = index

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        _refuse_revoked(self.index, hostname, key)
        if self.index is not None and self.index.cert_authority_for(hostname):
            raise paramiko.SSHException(f"Server {hostname!r} not found in known_hosts (its @cert-authority line "
                                        "is not used: host certificates are not supported)")
        raise paramiko.SSHException(f"Server {hostname!r} not found in known_hosts")


class _TrustOnFirstUse(paramiko.MissingHostKeyPolicy):
    """accept-new: remember an unknown host's key in the known_hosts file (a changed key is still
    refused by paramiko before this is asked). Appends under a lock: many hosts connect at once."""

    def __init__(self, path: str, index: knownhosts.KnownHosts | None = None) -> None:
        self.path = Path(path)
        self.index = index

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        _refuse_revoked(self.index, hostname, key)
        try:
            self._remember(hostname, key)
        except OSError as exc:
            raise _KnownHostsUnwritable(f"cannot record the host key in known_hosts file {self.path}: "
                                        f"{exc.strerror or type(exc).__name__}") from None
        client.get_host_keys().add(hostname, key.get_name(), key)

    def _remember(self, hostname: str, key: paramiko.PKey) -> None:
        with _KNOWN_HOSTS_LOCK, self.path.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            known = paramiko.HostKeys()
            for line in handle.read().splitlines():
                entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
                if entry is not None:
                    for name in entry.hostnames:
                        known.add(name, entry.key.get_name(), entry.key)
            seen = known.lookup(hostname)
            if seen is not None and key.get_name() in seen:
                if seen[key.get_name()] != key:
                    raise paramiko.BadHostKeyException(hostname, key, seen[key.get_name()])
            else:
                handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
                handle.flush()


class _KnownHostsUnwritable(paramiko.SSHException):
    """accept-new could not append to the known_hosts file (raised inside paramiko's connect)."""


def known_hosts_file(target: Target) -> str:
    """The known_hosts file host keys are checked against, as a reader would name it."""
    return target.known_hosts or "~/.ssh/known_hosts (no --known-hosts / HARDENING_KNOWN_HOSTS given)"


def _client(target: Target) -> paramiko.SSHClient:
    """An SSHClient that knows this host's keys of the known_hosts file (read once per run and indexed:
    knownhosts.load; only the lines paramiko's lookup would match are decoded); AuthenticationFailed names the file
    when it cannot be read. A key marked @revoked in the file is refused under every policy."""
    client = paramiko.SSHClient()
    name = target.host.name
    path = target.known_hosts
    index: knownhosts.KnownHosts | None = None
    try:
        if path:
            if Path(path).exists():
                index = knownhosts.load(path)
            elif target.host_key_policy != "accept-new":
                raise AuthenticationFailed(name, f"known_hosts file {path} not found")
        elif Path(_SYSTEM_KNOWN_HOSTS).expanduser().exists():
            index = knownhosts.load(_SYSTEM_KNOWN_HOSTS)   # paramiko's default file (a missing one is no error)
        if index is not None:
            options = target.connection("ssh")
            lookup = knownhosts.lookup_name(options.hostname, options.port)
            # Never saved by paramiko (no load_host_keys file is set); accept-new appends to the file itself, locked.
            known = client.get_host_keys()
            for line in index.lines_for(lookup):
                entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
                if entry is not None and lookup_missing(known, lookup, entry.key.get_name()):
                    known.add(lookup, entry.key.get_name(), entry.key)
    except OSError as exc:
        if isinstance(exc, AuthenticationFailed):
            raise
        raise AuthenticationFailed(name, f"cannot read known_hosts file {known_hosts_file(target)}: "
                                         f"{exc.strerror or type(exc).__name__}") from None
    except (paramiko.SSHException, paramiko.hostkeys.InvalidHostKey) as exc:  # a line of this host it cannot parse
        raise AuthenticationFailed(name, f"known_hosts file {known_hosts_file(target)} is unusable: "
                                         f"{REDACTOR.scrub(str(exc))[:200]}") from None
    if target.host_key_policy == "accept-new" and target.known_hosts:
        client.set_missing_host_key_policy(_TrustOnFirstUse(target.known_hosts, index))
    else:
        client.set_missing_host_key_policy(_Refuse(index))
    return client


def lookup_missing(keys: paramiko.HostKeys, name: str, key_type: str) -> bool:
    """Whether `keys` has no `key_type` key for `name` yet (the first entry of a type counts, as in HostKeys.load)."""
    found = keys.lookup(name)
    return found is None or key_type not in found


def run(target: Target, command: str, stdin: bytes = b"") -> CommandResult:
    """Run one command over one SSH session within target.timeout seconds in all.

    Raises DeviceUnreachable (no TCP/SSH), AuthenticationFailed (credentials or host key refused),
    DeviceTimeout (the deadline passed; the session is closed, nothing is left running on our side).
    """
    host = target.host
    deadline = time.monotonic() + target.timeout

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeviceTimeout(host.name, f"no result within {target.timeout:g} s")
        return left

    client = _client(target)
    try:
        _connect(client, target, remaining, deadline)
        try:
            return _exec(client, target, command, stdin, remaining)
        except (EOFError, OSError, paramiko.SSHException) as exc:
            if isinstance(exc, CollectionError):
                raise
            raise DeviceUnreachable(host.name, f"SSH session lost while the command ran: {_why(exc)}") from None
    finally:
        client.close()


def _why(exc: BaseException) -> str:
    """One line for a transport failure, whatever paramiko raised (EOFError carries no text at all)."""
    if isinstance(exc, EOFError):
        return "the host closed the connection"
    if isinstance(exc, ConnectionResetError):
        return "the host reset the connection"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = " ".join(REDACTOR.scrub(str(exc)).split())[:200]
    return text or type(exc).__name__


def _connect(client: paramiko.SSHClient, target: Target, remaining: Callable[[], float], deadline: float) -> None:
    """TCP, SSH handshake, host key and authentication; raises one CollectionError with a one-line reason."""
    host = target.host
    creds = target.credentials
    creds.require("username", purpose="an SSH login")
    options = target.connection("ssh")
    address, port = options.hostname, options.port
    pkey = _load_key(host.name, creds.private_key.reveal()) if creds.private_key else None
    try:
        client.connect(
            address,
            port=port,
            username=creds.username,
            password=creds.password.reveal() if creds.password else None,
            pkey=pkey,
            key_filename=creds.private_key_file,
            timeout=min(remaining(), 10.0),
            banner_timeout=remaining(),
            auth_timeout=remaining(),
            allow_agent=False,
            look_for_keys=False,
        )
    except CollectionError:
        raise
    except paramiko.BadHostKeyException:
        raise AuthenticationFailed(host.name, f"host key differs from the entry in known_hosts file "
                                              f"{known_hosts_file(target)}") from None
    except paramiko.AuthenticationException:
        raise AuthenticationFailed(host.name, f"authentication as {creds.username!r} refused") from None
    except (_KnownHostsUnwritable, _RevokedHostKey) as exc:
        raise AuthenticationFailed(host.name, str(exc)) from None
    except paramiko.SSHException as exc:
        if "not found in known_hosts" in str(exc):
            raise AuthenticationFailed(host.name, f"host key unknown: not in known_hosts file "
                                                  f"{known_hosts_file(target)}") from None
        if time.monotonic() >= deadline:
            raise DeviceTimeout(host.name, f"SSH handshake not done within {target.timeout:g} s") from None
        if "protocol banner" in str(exc):
            raise DeviceUnreachable(host.name, f"no SSH banner from {address}:{port}: the host closed "
                                               "the connection or is not an SSH server") from None
        raise DeviceUnreachable(host.name, f"SSH error: {_why(exc)}") from None
    except EOFError:
        raise DeviceUnreachable(host.name, f"{address}:{port} closed the connection during the SSH "
                                           "handshake") from None
    except TimeoutError:
        raise DeviceUnreachable(host.name, f"no answer on {address}:{port}") from None
    except OSError as exc:
        raise DeviceUnreachable(host.name, f"cannot connect to {address}:{port}: {_why(exc)}") from None


def _exec(client: paramiko.SSHClient, target: Target, command: str, stdin: bytes,
          remaining: Callable[[], float]) -> CommandResult:
    """Run the command on the connected client and read its output until it exits or the deadline passes."""
    host = target.host
    transport = client.get_transport()
    if transport is None:
        raise DeviceUnreachable(host.name, "SSH transport closed")
    channel = transport.open_session(timeout=remaining())
    channel.settimeout(0.2)
    channel.exec_command(command)
    if stdin:
        channel.sendall(stdin)
    channel.shutdown_write()
    out = bytearray()
    err = bytearray()
    while True:
        remaining()
        got = False
        if channel.recv_ready():
            out += channel.recv(65536)
            got = True
        if channel.recv_stderr_ready():
            err += channel.recv_stderr(65536)
            got = True
        if len(out) > MAX_OUTPUT:
            raise DeviceTimeout(host.name, "probe output exceeds the size limit")
        drained = not channel.recv_ready() and not channel.recv_stderr_ready()
        if drained and (channel.exit_status_ready() or channel.closed):
            break
        if not got:
            try:
                chunk = channel.recv(65536)
                out += chunk
            except TimeoutError:
                pass
    # A session cut without an exit status (connection lost) reports -1: never a success.
    status = channel.recv_exit_status() if channel.exit_status_ready() else -1
    return CommandResult(status, bytes(out), bytes(err))
