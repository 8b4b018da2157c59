"""The live checks of a printer other than SNMP reads, on the session's event loop: TCP connects of the risky
ports, the HTTPS admin port's TLS versions (each offered alone) and certificate, the plain-HTTP admin page, and
the default-credential check of the web admin. Each result is plain data for probes.json (never a password, a
community or a response body); `decide_*` are the pure mappings from what the wire said to that data.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import http.client
import ssl
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hardening.core.secrets import REDACTOR

TLS_VERSIONS = {"SSLv3": "SSLv3", "TLSv1": "TLSv1", "TLSv1.1": "TLSv1_1", "TLSv1.2": "TLSv1_2",
                "TLSv1.3": "TLSv1_3"}
# OpenSSL's reasons for a handshake this client could not even offer (the local library lacks the version):
# the version was not tested, which is not a refusal by the device.
LOCAL_REASONS = ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE", "NO_SUITABLE_SIGNATURE_ALGORITHM")
MAX_BODY = 256 * 1024


def reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return REDACTOR.scrub(f"{type(exc).__name__}: {text}")[:160]


# -- TCP ports -------------------------------------------------------------------------------------------------------
def port_states(host: str, ports: list[int], timeout: float) -> dict[int, str]:
    """Every port's state from ONE non-blocking connect each, decided by the kernel (poll), not by when a busy
    process gets round to look: open (handshake completed), closed (RST), filtered (still pending after
    `timeout`), `error: …`. A late look still sees what the kernel saw, so load never turns an open port into a
    filtered one."""
    import errno
    import select
    import socket
    import time

    try:
        family, kind, proto, _name, address = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0]
    except OSError as exc:
        return {port: f"error: {reason(exc)}" for port in ports}
    states: dict[int, str] = {}
    pending: dict[int, tuple[socket.socket, int]] = {}
    poller = select.poll()
    for port in ports:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        code = sock.connect_ex((address[0], port, *address[2:]))
        if code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            pending[sock.fileno()] = (sock, port)
            poller.register(sock, select.POLLOUT)
            continue
        states[port] = _connect_state(code)
        sock.close()
    deadline = time.monotonic() + timeout
    while pending:
        events = poller.poll(max(0.0, deadline - time.monotonic()) * 1000)
        for fd, _event in events:
            sock, port = pending.pop(fd)
            poller.unregister(fd)
            states[port] = _connect_state(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
            sock.close()
        if not events and time.monotonic() >= deadline:
            break
    for sock, port in pending.values():
        states[port] = "filtered"
        sock.close()
    return states


def _connect_state(code: int) -> str:
    import errno
    import os

    if code == 0:
        return "open"
    if code == errno.ECONNREFUSED:
        return "closed"
    return f"error: {os.strerror(code)}"


# -- TLS -------------------------------------------------------------------------------------------------------------
def tls_context(version: str | None) -> ssl.SSLContext:
    """A client context that offers exactly `version` (None: whatever this library offers by default), with
    OpenSSL security level 0 so that old versions and ciphers can be offered at all; no verification (the
    certificate is read, not trusted)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if version is not None:
        member = getattr(ssl.TLSVersion, TLS_VERSIONS[version])
        context.minimum_version = member
        context.maximum_version = member
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def decide_tls(exc: BaseException | None) -> str:
    """accepted / refused / untestable (this client could not offer the version) / error."""
    if exc is None:
        return "accepted"
    if isinstance(exc, ssl.SSLError) and any(local in str(exc) for local in LOCAL_REASONS):
        return "untestable"
    if isinstance(exc, ssl.SSLError | ConnectionResetError | EOFError | asyncio.IncompleteReadError):
        return "refused"
    if isinstance(exc, ConnectionError) and not isinstance(exc, ConnectionRefusedError):
        return "refused"
    return "error"


async def tls_try(host: str, port: int, version: str | None, timeout: float) -> tuple[str, bytes | None, str]:
    """(outcome, the peer certificate DER when accepted, detail)."""
    try:
        context = tls_context(version)
    except (ValueError, AttributeError, ssl.SSLError) as exc:     # the library cannot set that version
        return "untestable", None, reason(exc)
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, ssl_handshake_timeout=timeout), timeout + 0.5)
    except Exception as exc:
        outcome = decide_tls(exc)
        return outcome, None, reason(exc)
    ssl_object = writer.get_extra_info("ssl_object")
    certificate = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    negotiated = ssl_object.version() if ssl_object is not None else None
    writer.transport.abort()
    return "accepted", certificate, str(negotiated or "")


def certificate_facts(der: bytes, now: dt.datetime) -> dict[str, Any]:
    """{not_after, expired, self_signed, key_bits} of a DER certificate (self-signed: issuer = subject and its own
    key verifies its signature)."""
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    key = cert.public_key()
    bits = getattr(key, "key_size", None)
    if bits is None and type(key).__name__.startswith(("Ed25519", "X25519")):
        bits = 256
    elif bits is None and type(key).__name__.startswith(("Ed448", "X448")):
        bits = 448
    self_signed = cert.issuer == cert.subject
    if self_signed:
        try:
            cert.verify_directly_issued_by(cert)
        except Exception:
            self_signed = False
    return {"not_after": not_after.isoformat(timespec="seconds"), "expired": not_after <= now,
            "self_signed": self_signed, "key_bits": int(bits) if bits is not None else None}


# -- HTTP ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


def http_request(scheme: str, host: str, port: int, method: str, path: str, *, timeout: float,
                 context: ssl.SSLContext | None = None, body: bytes | None = None,
                 headers: Mapping[str, str] | None = None) -> Answer:
    """One HTTP request, no redirect followed, no retry; the body read up to MAX_BODY bytes."""
    connection: http.client.HTTPConnection
    if scheme == "https":
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        sent = {"User-Agent": "hardening-audit", "Connection": "close", **(headers or {})}
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read(MAX_BODY)
        return Answer(response.status, tuple(response.getheaders()), data)
    finally:
        connection.close()


def decide_plain_http(answer: Answer | None, port_open: bool) -> dict[str, Any]:
    """The plain-HTTP admin: `page` (an answer of its own: credentials would cross in clear), `redirect` (only a
    redirect to https), `closed`."""
    if answer is None:
        return {"state": "closed" if not port_open else "error"}
    location = (answer.header("Location") or [""])[0]
    if answer.status in (301, 302, 303, 307, 308) and location.lower().startswith("https://"):
        return {"state": "redirect", "status": answer.status}
    return {"state": "page", "status": answer.status}


def login_request(login: Mapping[str, Any], account: str, password: str) -> tuple[str, str, bytes | None,
                                                                                   dict[str, str]]:
    """(method, path, body, headers) of one login attempt as the profile's `login` describes it."""
    path = str(login["path"])
    if login.get("method") == "basic":
        token = base64.b64encode(f"{account}:{password}".encode()).decode("ascii")
        return "GET", path, None, {"Authorization": f"Basic {token}"}
    values = {"account": account, "password": password,
              "account_b64": base64.b64encode(account.encode()).decode("ascii"),
              "password_b64": base64.b64encode(password.encode()).decode("ascii")}
    form = {str(key): str(value).format(**values) for key, value in (login.get("form") or {}).items()}
    body = urllib.parse.urlencode(form).encode("ascii")
    return "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}


def decide_login(answer: Answer, success: Mapping[str, Any]) -> str:
    """accepted when the answer is the profile's `success` (status, and every one of location_contains /
    set_cookie / body_contains it names), refused for any other answer."""
    if "status" in success and answer.status != int(success["status"]):
        return "refused"
    location = success.get("location_contains")
    if location and not any(str(location) in value for value in answer.header("Location")):
        return "refused"
    cookie = success.get("set_cookie")
    if cookie and not any(value.split("=", 1)[0].strip() == str(cookie) for value in answer.header("Set-Cookie")):
        return "refused"
    marker = success.get("body_contains")
    if marker and str(marker).encode("utf-8") not in answer.body:
        return "refused"
    return "accepted"


def page_matches(answer: Answer, marker: str) -> bool:
    return answer.status == 200 and marker.encode("utf-8") in answer.body
