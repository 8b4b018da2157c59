"""One SSH session per host, one command, a hard deadline: the transport of every SSH probe.

Shared by every platform that probes over SSH (Linux now; any OS with a shell later), so the
timeout, host-key and error handling are written once.
"""

from __future__ import annotations

import fcntl
import io
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko

from hardening.core.errors import AuthenticationFailed, DeviceTimeout, DeviceUnreachable
from hardening.core.platform import Target
from hardening.core.secrets import REDACTOR

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


class _TrustOnFirstUse(paramiko.MissingHostKeyPolicy):
    """accept-new: remember an unknown host's key in the known_hosts file (a changed key is still
    refused by paramiko before this is asked). Appends under a lock: many hosts connect at once."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
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
        client.get_host_keys().add(hostname, key.get_name(), key)


def _client(target: Target) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    if target.known_hosts:
        if Path(target.known_hosts).exists():
            # Loaded into the "system" set: paramiko never rewrites it (we append ourselves, locked).
            client.load_system_host_keys(target.known_hosts)
        elif target.host_key_policy != "accept-new":
            raise AuthenticationFailed(target.host.name, f"known_hosts file {target.known_hosts} not found")
    else:
        client.load_system_host_keys()
    if target.host_key_policy == "accept-new" and target.known_hosts:
        client.set_missing_host_key_policy(_TrustOnFirstUse(target.known_hosts))
    else:
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return client


def run(target: Target, command: str, stdin: bytes = b"") -> CommandResult:
    """Run one command over one SSH session within target.timeout seconds in all.

    Raises DeviceUnreachable (no TCP/SSH), AuthenticationFailed (credentials or host key refused),
    DeviceTimeout (the deadline passed; the session is closed, nothing is left running on our side).
    """
    host = target.host
    deadline = time.monotonic() + target.timeout
    creds = target.credentials

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeviceTimeout(host.name, f"no result within {target.timeout:g} s")
        return left

    try:
        client = _client(target)
    except OSError as exc:
        raise AuthenticationFailed(host.name, f"cannot read known_hosts: {exc.strerror}") from None
    try:
        pkey = _load_key(host.name, creds.private_key.reveal()) if creds.private_key else None
        try:
            client.connect(
                host.hostname,
                port=host.port,
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
        except paramiko.BadHostKeyException:
            raise AuthenticationFailed(host.name, "host key differs from the known_hosts entry") from None
        except paramiko.AuthenticationException:
            raise AuthenticationFailed(host.name, f"authentication as {creds.username!r} refused") from None
        except paramiko.SSHException as exc:
            if "not found in known_hosts" in str(exc):
                raise AuthenticationFailed(host.name, "host key unknown (not in known_hosts)") from None
            if time.monotonic() >= deadline:
                raise DeviceTimeout(host.name, f"SSH handshake not done within {target.timeout:g} s") from None
            raise DeviceUnreachable(host.name, f"SSH error: {REDACTOR.scrub(str(exc))}") from None
        except TimeoutError:
            raise DeviceUnreachable(host.name, f"no answer on {host.hostname}:{host.port}") from None
        except OSError as exc:
            raise DeviceUnreachable(host.name, f"cannot connect to {host.hostname}:{host.port}: "
                                               f"{exc.strerror or type(exc).__name__}") from None
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
    finally:
        client.close()
