"""The WS-Management endpoint: HTTP/1.1 (5985) and HTTPS (5986) on /wsman, NTLM, WinRM message encryption, and the
Windows Remote Shell resource (create shell, command, send, receive, signal, delete) that pywinrm drives.

What a Windows WinRM listener does and this reproduces ([MS-WSMV] 2.2.9.1.1 for the encryption; pywinrm's
winrm/protocol.py, winrm/transport.py, winrm/encryption.py and requests_ntlm for the client's side):
- a request without credentials: HTTP 401, `WWW-Authenticate: Negotiate` and `WWW-Authenticate: Kerberos` (Basic
  off), empty body; `Server: Microsoft-HTTPAPI/2.0`;
- `Authorization: Negotiate <NTLM NEGOTIATE>` -> 401 with the CHALLENGE; `Negotiate <AUTHENTICATE>` -> the request
  is processed, or 401 again when the response is wrong (the client raises InvalidCredentialsError). NTLM
  authenticates the CONNECTION: later requests on it carry no Authorization header. The acceptor is pyspnego's
  (spnego.server(protocol="ntlm")): it reads NTLM_USER_FILE; each host has its own file (see _host_credentials).
  Over HTTPS the client's channel binding (tls-server-end-point, RFC 5929) is checked.
- message encryption (HTTP): request and response bodies are multipart/encrypted,
  protocol="application/HTTP-SPNEGO-session-encrypted", each part sealed with the NTLM session (wrap/unwrap);
  a plain SOAP body on HTTP is refused unless the host's policy AllowUnencryptedTraffic = 1.
- faults are SOAP 1.2 faults with a wsmanfault:WSManFault detail (HTTP 500), encrypted like any response.
Not simulated: Kerberos and CredSSP (the 401 offers Kerberos as Windows does, but only NTLM tokens are accepted),
Basic, certificate authentication, the shell's idle timeout and quotas.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import json
import os
import re
import ssl
import struct
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import spnego
import spnego._ntlm as spnego_ntlm
from lab.winsim.host import (
    BOOTSTRAP_B64,
    POWERSHELL,
    Batch,
    HostState,
    garble,
    load_table,
    render_stderr,
    render_stdout,
)
from spnego.channel_bindings import GssChannelBindings

NS = {"s": "http://www.w3.org/2003/05/soap-envelope", "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
      "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd", "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
      "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer", "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"}
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
A_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
A_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
ENC_PROTOCOL = b"application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
MAX_CHUNK = 48 * 1024          # stdout bytes per Receive response (a long output takes several Receives)


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S ") + msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# NTLM credentials per host: pyspnego's acceptor reads the file named by NTLM_USER_FILE; each listener's
# handshake runs with its own host's file (a process-wide env var would let one host accept another's password).
# --------------------------------------------------------------------------------------------------
_current_user_file = threading.local()
_original_get_credential_file = spnego_ntlm._get_credential_file


def _host_credential_file() -> str | None:
    path = getattr(_current_user_file, "path", None)
    return path if path else _original_get_credential_file()


spnego_ntlm._get_credential_file = _host_credential_file


@dataclass
class Command:
    command_id: str
    stdin: bytearray = field(default_factory=bytearray)
    stdin_done: asyncio.Event = field(default_factory=asyncio.Event)
    stdout: bytes = b""
    stderr: bytes = b""
    sent: int = 0
    exit_code: int = 0
    finished: bool = False
    drop: bool = False
    garbage: bool = False             # the garbage fault ("soap"): the Receive answer is not WS-Management
    is_bootstrap: bool = False


@dataclass
class Shell:
    shell_id: str
    codepage: str
    commands: dict[str, Command] = field(default_factory=dict)


@dataclass
class SimHost:
    """One simulated host: its listener addresses, credentials and state."""
    name: str
    address: str
    http_port: int | None
    https_port: int | None
    username: str
    user_file: str
    state_dir: Path
    state: HostState
    behaviour: str
    shells: dict[str, Shell] = field(default_factory=dict)

    def allow_unencrypted(self) -> bool:
        key = self.state.registry.get("HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WinRM\\Service") or {}
        value = key.get("AllowUnencryptedTraffic")
        return bool(value and int(value[1]) == 1)


# The garbage fault's answer to a Receive: HTTP.sys's own error page (HTML, not XML: `<hr>` is never closed) where
# a WS-Management envelope belongs.
GARBAGE_PAGE = (b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
                b"<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n"
                b'<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
                b"<BODY><h2>Service Unavailable</h2>\r\n<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n"
                b"</BODY></HTML>\r\n")


def codec(codepage: str) -> str:
    return {"65001": "utf-8", "932": "cp932", "437": "cp437", "1252": "cp1252"}.get(codepage, "cp437")


# --------------------------------------------------------------------------------------------------
# SOAP
# --------------------------------------------------------------------------------------------------
def envelope(action: str, relates_to: str, body: str, extra_ns: str = "") -> bytes:
    return ('<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
            'xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" '
            'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
            'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" '
            f'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"{extra_ns}>'
            f"<s:Header><a:Action>{action}</a:Action>"
            f"<a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
            "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
            f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header>"
            f"<s:Body>{body}</s:Body></s:Envelope>").encode()


class Fault(Exception):
    def __init__(self, code: str, subcode: str, reason: str, wsman_code: int) -> None:
        super().__init__(reason)
        self.code, self.subcode, self.reason, self.wsman_code = code, subcode, reason, wsman_code

    def soap(self, relates_to: str, machine: str) -> bytes:
        body = (f"<s:Fault><s:Code><s:Value>{self.code}</s:Value><s:Subcode><s:Value>{self.subcode}</s:Value>"
                f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{escape(self.reason)} </s:Text></s:Reason>'
                f'<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" '
                f'Code="{self.wsman_code}" Machine="{escape(machine)}"><f:Message>{escape(self.reason)} </f:Message>'
                "</f:WSManFault></s:Detail></s:Fault>")
        return envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)


def shell_not_found(shell_id: str) -> Fault:
    return Fault("s:Sender", "w:InvalidSelectors",
                 f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not "
                 "found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
                 "exists on the server. Provide the correct ShellId or create a new shell and retry the operation.",
                 2150858843)


def timed_out() -> Fault:
    return Fault("s:Receiver", "w:TimedOut", "The WS-Management service cannot complete the operation within the "
                 "time specified in OperationTimeout.", 2150858793)


class WSMan:
    """The Windows Remote Shell resource of one host."""

    def __init__(self, host: SimHost, table: dict[str, str]) -> None:
        self.host = host
        self.table = table

    async def handle(self, body: bytes) -> tuple[bytes, bool]:
        """(SOAP response, drop the connection)."""
        try:
            root = ET.fromstring(body)  # noqa: S314 (the lab's own client; no entity expansion in ElementTree)
        except ET.ParseError:
            raise Fault("s:Sender", "w:SchemaValidationError", "The SOAP XML in the message does not match the "
                        "corresponding XML schema definition. Change the XML and retry.", 2150858817) from None
        header = root.find("s:Header", NS)
        rbody = root.find("s:Body", NS)
        if header is None or rbody is None:
            raise Fault("s:Sender", "w:SchemaValidationError", "The SOAP XML in the message does not match the "
                        "corresponding XML schema definition. Change the XML and retry.", 2150858817)
        action = (header.findtext("a:Action", "", NS) or "").strip()
        message_id = (header.findtext("a:MessageID", "", NS) or "").strip()
        resource = (header.findtext("w:ResourceURI", "", NS) or "").strip()
        self.message_id = message_id
        if resource != SHELL_URI:
            raise Fault("s:Sender", "w:DestinationUnreachable", "The WS-Management service cannot process the "
                        "request. The resource URI is not supported by the service.", 2150858770)
        options = {o.get("Name"): (o.text or "") for o in header.iterfind("w:OptionSet/w:Option", NS)}
        selector = header.find("w:SelectorSet/w:Selector[@Name='ShellId']", NS)
        shell_id = (selector.text or "").strip() if selector is not None else ""
        timeout = 20.0
        m = re.match(r"PT([\d.]+)S", header.findtext("w:OperationTimeout", "", NS) or "")
        if m:
            timeout = float(m.group(1))
        if action == A_CREATE:
            return self.create(message_id, options), False
        shell = self.host.shells.get(shell_id)
        if shell is None:
            raise shell_not_found(shell_id)
        if action == A_DELETE:
            del self.host.shells[shell_id]
            return envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse", message_id, ""), False
        if action == SHELL + "Command":
            return self.command(shell, rbody, message_id), False
        if action == SHELL + "Send":
            return self.send(shell, rbody, message_id), False
        if action == SHELL + "Receive":
            return await self.receive(shell, rbody, message_id, timeout)
        if action == SHELL + "Signal":
            sig = rbody.find("rsp:Signal", NS)
            cid = sig.get("CommandId", "") if sig is not None else ""
            shell.commands.pop(cid, None)
            return envelope(SHELL + "SignalResponse", message_id, "<rsp:SignalResponse/>"), False
        raise Fault("s:Sender", "a:ActionNotSupported", "The action is not supported by the service.", 2150858753)

    def create(self, message_id: str, options: dict[str | None, str]) -> bytes:
        shell_id = str(uuid.uuid4()).upper()
        self.host.shells[shell_id] = Shell(shell_id, options.get("WINRS_CODEPAGE", "437").strip() or "437")
        body = ("<x:ResourceCreated><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
                "</a:Address><a:ReferenceParameters>"
                f"<w:ResourceURI>{SHELL_URI}</w:ResourceURI><w:SelectorSet><w:Selector Name=\"ShellId\">{shell_id}"
                "</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"
                f"<rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId><rsp:ResourceUri>{SHELL_URI}</rsp:ResourceUri>"
                f"<rsp:Owner>{escape(self.host.state.computer_name)}\\{escape(self.host.username)}</rsp:Owner>"
                "<rsp:ClientIP>10.203.0.1</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
                "<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>"
                "<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>"
                "</rsp:Shell>")
        return envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse", message_id, body)

    def command(self, shell: Shell, rbody: ET.Element, message_id: str) -> bytes:
        line = (rbody.findtext("rsp:CommandLine/rsp:Command", "", NS) or "").strip()
        args = (rbody.findtext("rsp:CommandLine/rsp:Arguments", "", NS) or "").strip()
        full = " ".join((line + " " + args).split())
        cmd = Command(str(uuid.uuid4()).upper())
        enc = codec(shell.codepage)
        if full == f"{POWERSHELL} {BOOTSTRAP_B64}":
            cmd.is_bootstrap = True
        else:
            # cmd.exe runs anything else: `hostname` and `echo` (the benchmark's trivial command) are known
            word = full.split(" ", 1)[0].lower() if full else ""
            if word == "hostname":
                cmd.stdout = (self.host.state.computer_name + "\r\n").encode(enc, "replace")
            elif word == "echo":
                cmd.stdout = (full.split(" ", 1)[1] if " " in full else "ECHO is on.").encode(enc, "replace") + b"\r\n"
            else:
                cmd.stderr = (f"'{full.split(' ', 1)[0]}' is not recognized as an internal or external command,\r\n"
                              "operable program or batch file.\r\n").encode(enc, "replace")
                cmd.exit_code = 1
            cmd.finished = True
        shell.commands[cmd.command_id] = cmd
        return envelope(SHELL + "CommandResponse", message_id,
                        f"<rsp:CommandResponse><rsp:CommandId>{cmd.command_id}</rsp:CommandId></rsp:CommandResponse>")

    def send(self, shell: Shell, rbody: ET.Element, message_id: str) -> bytes:
        stream = rbody.find("rsp:Send/rsp:Stream", NS)
        if stream is None:
            raise Fault("s:Sender", "w:SchemaValidationError", "The SOAP XML in the message does not match the "
                        "corresponding XML schema definition. Change the XML and retry.", 2150858817)
        cmd = shell.commands.get(stream.get("CommandId", ""))
        if cmd is None:
            raise Fault("s:Sender", "w:InvalidParameter", "The parameter is incorrect.", 2150858882)
        cmd.stdin += base64.b64decode((stream.text or "").encode("ascii"))
        if stream.get("End", "false").lower() == "true" and cmd.is_bootstrap and not cmd.finished:
            self.run_batch(shell, cmd)
        return envelope(SHELL + "SendResponse", message_id, "<rsp:SendResponse/>")

    def run_batch(self, shell: Shell, cmd: Command) -> None:
        enc = codec(shell.codepage)
        script = bytes(cmd.stdin).decode(enc, "replace")
        batch = Batch(self.host.state, self.table, self.host.state_dir, log=lambda m: log(f"{self.host.name}: {m}"))
        batch.run(script)
        cmd.garbage = garble(batch) == "soap"
        cmd.stdout = render_stdout(batch).encode(enc, "replace")
        cmd.stderr = render_stderr(batch).encode(enc, "replace")
        cmd.drop = batch.dropped
        cmd.finished = True
        log(f"{self.host.name}: batch of {script.count('<<<hardening:begin:')} block(s), "
            f"{len(cmd.stdout)} bytes out{' (dropped by fault)' if cmd.drop else ''}")

    async def receive(self, shell: Shell, rbody: ET.Element, message_id: str, timeout: float) -> tuple[bytes, bool]:
        desired = rbody.find("rsp:Receive/rsp:DesiredStream", NS)
        cid = desired.get("CommandId", "") if desired is not None else ""
        cmd = shell.commands.get(cid)
        if cmd is None:
            raise Fault("s:Sender", "w:InvalidParameter", "The parameter is incorrect.", 2150858882)
        if not cmd.finished:
            # PowerShell is still reading stdin: Windows answers when the operation timeout expires
            await asyncio.sleep(max(0.0, timeout))
            if not cmd.finished:
                raise timed_out()
        if cmd.drop:
            return b"", True
        if cmd.garbage:
            # the garbage fault: what answers is not WS-Management (a proxy's or a broken listener's page)
            return GARBAGE_PAGE, False
        chunk = cmd.stdout[cmd.sent:cmd.sent + MAX_CHUNK]
        cmd.sent += len(chunk)
        streams = []
        if chunk:
            data = base64.b64encode(chunk).decode()
            streams.append(f'<rsp:Stream Name="stdout" CommandId="{cid}">{data}</rsp:Stream>')
        done = cmd.sent >= len(cmd.stdout)
        if done and cmd.stderr:
            streams.append(f'<rsp:Stream Name="stderr" CommandId="{cid}">{base64.b64encode(cmd.stderr).decode()}'
                           "</rsp:Stream>")
        if done:
            streams += [f'<rsp:Stream Name="stdout" CommandId="{cid}" End="true"></rsp:Stream>',
                        f'<rsp:Stream Name="stderr" CommandId="{cid}" End="true"></rsp:Stream>',
                        f'<rsp:CommandState CommandId="{cid}" State="{SHELL}CommandState/Done">'
                        f"<rsp:ExitCode>{cmd.exit_code}</rsp:ExitCode></rsp:CommandState>"]
        else:
            streams.append(f'<rsp:CommandState CommandId="{cid}" State="{SHELL}CommandState/Running"/>')
        body = '<rsp:ReceiveResponse SequenceID="0">' + "".join(streams) + "</rsp:ReceiveResponse>"
        return envelope(SHELL + "ReceiveResponse", message_id, body), False


# --------------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------------
class Connection:
    def __init__(self, host: SimHost, table: dict[str, str], tls: bool, cert_hash: bytes | None) -> None:
        self.host = host
        self.wsman = WSMan(host, table)
        self.tls = tls
        self.cert_hash = cert_hash
        self.ctx: Any = None              # NTLM acceptor context
        self.authenticated = False

    def _new_ctx(self) -> Any:
        cbt = GssChannelBindings(application_data=b"tls-server-end-point:" + self.cert_hash) if self.cert_hash else None
        _current_user_file.path = self.host.user_file
        try:
            return spnego.server(hostname=self.host.address, service="http", protocol="ntlm", channel_bindings=cbt,
                                 options=spnego.NegotiateOptions.use_ntlm)
        finally:
            _current_user_file.path = None

    def _step(self, token: bytes) -> bytes | None:
        _current_user_file.path = self.host.user_file
        try:
            return self.ctx.step(token)  # type: ignore[no-any-return]
        finally:
            _current_user_file.path = None

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: bytes) -> tuple[int, dict[str, str], bytes, bool]:
        """(status, headers, body, close)."""
        if path.split("?", maxsplit=1)[0].rstrip("/").lower() != "/wsman":
            return 404, {}, b"", False
        if method != "POST":
            return 405, {"Allow": "POST"}, b"", False
        auth = headers.get("authorization", "")
        if auth:
            kind, _, token_b64 = auth.partition(" ")
            if kind.lower() not in ("negotiate", "ntlm"):
                return 401, {}, b"", False
            try:
                token = base64.b64decode(token_b64)
            except ValueError:
                return 401, {}, b"", False
            if token[:8] == b"NTLMSSP\x00" and token[8:12] == struct.pack("<I", 1):
                self.ctx = self._new_ctx()
                self.authenticated = False
                challenge = self._step(token)
                return 401, {"WWW-Authenticate": f"{kind} " + base64.b64encode(challenge or b"").decode()}, b"", False
            if self.ctx is None:
                return 401, {}, b"", False
            try:
                if self.host.behaviour == "reject_credentials":
                    raise spnego.exceptions.InvalidTokenError(context_msg="rejected")
                self._step(token)
            except Exception:
                log(f"{self.host.name}: authentication failed")
                self.ctx = None
                self.authenticated = False
                return 401, {}, b"", False
            self.authenticated = True
        if not self.authenticated:
            return 401, {}, b"", False
        if not body:
            return 200, {}, b"", False
        ctype = headers.get("content-type", "")
        encrypted = "multipart/encrypted" in ctype.lower()
        if encrypted:
            try:
                soap = self.unwrap(body)
            except Exception:
                return 400, {}, b"", True
        else:
            if not self.tls and not self.host.allow_unencrypted():
                # UNCERTAIN: the status a Windows listener gives a plain body when unencrypted traffic is off
                return 400, {}, b"", False
            soap = body
        try:
            reply, drop = await self.wsman.handle(soap)
            status = 200
        except Fault as f:
            reply = f.soap(getattr(self.wsman, "message_id", ""), self.host.state.computer_name)
            drop, status = False, 500
        if drop:
            return 0, {}, b"", True
        if encrypted:
            return status, {"Content-Type": 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";'
                                            'boundary="Encrypted Boundary"'}, self.wrap(reply), False
        return status, {"Content-Type": "application/soap+xml;charset=UTF-8"}, reply, False

    def unwrap(self, body: bytes) -> bytes:
        parts = [p for p in body.split(BOUNDARY + b"\r\n") if p]
        header, payload = parts[0], parts[1]
        length = int(re.search(rb"Length=(\d+)", header).group(1))  # type: ignore[union-attr]
        if payload.endswith(BOUNDARY + b"--\r\n"):
            payload = payload[:-len(BOUNDARY + b"--\r\n")]
        data = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
        sig_len = struct.unpack("<i", data[:4])[0]
        message = self.ctx.unwrap(data[4:4 + sig_len] + data[4 + sig_len:]).data
        if len(message) != length:
            raise ValueError("length mismatch")
        return message  # type: ignore[no-any-return]

    def wrap(self, message: bytes) -> bytes:
        sealed = bytes(self.ctx.wrap(message, encrypt=True).data)
        signature, data = sealed[:16], sealed[16:]
        return (BOUNDARY + b"\r\n\tContent-Type: " + ENC_PROTOCOL + b"\r\n"
                b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + str(len(message)).encode()
                + b"\r\n" + BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n"
                + struct.pack("<i", len(signature)) + signature + data + BOUNDARY + b"--\r\n")


REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error"}


async def serve_connection(host: SimHost, table: dict[str, str], reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter, tls: bool, cert_hash: bytes | None) -> None:
    if host.behaviour == "hang":
        # accepts the connection (and the TLS handshake) and never answers
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass
        writer.close()
        return
    conn = Connection(host, table, tls, cert_hash)
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            try:
                method, path, _ = line.decode("latin-1").split(" ", 2)
            except ValueError:
                break
            headers: dict[str, str] = {}
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                key = k.strip().lower()
                headers[key] = (headers[key] + ", " + v.strip()) if key in headers else v.strip()
            length = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(length) if length else b""
            status, out_headers, out_body, close = await conn.request(method, path, headers, body)
            if status == 0:          # the drop fault: abrupt close, no response
                transport = writer.transport
                transport.abort()
                return
            head = [f"HTTP/1.1 {status} {REASONS.get(status, '')}", "Server: Microsoft-HTTPAPI/2.0",
                    f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}",
                    f"Content-Length: {len(out_body)}"]
            if status == 401 and "WWW-Authenticate" not in out_headers:
                head += ["WWW-Authenticate: Negotiate", "WWW-Authenticate: Kerberos"]
            head += [f"{k}: {v}" for k, v in out_headers.items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + out_body)
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


# --------------------------------------------------------------------------------------------------
# Process
# --------------------------------------------------------------------------------------------------
def _host_credentials(entry: dict[str, Any], state_dir: Path) -> str:
    """The host's NTLM_USER_FILE (DOMAIN:USER:PASSWORD, 0600). A host that rejects credentials gets a password
    nobody knows."""
    password = entry["password"] if entry.get("behaviour") != "reject_credentials" else base64.b64encode(
        os.urandom(18)).decode()
    path = state_dir / "ntlm-users"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f":{entry['username']}:{password}\n")
    return str(path)


async def _accept(host: SimHost, table: dict[str, str], tls: bool, cert_hash: bytes | None,
                  reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await serve_connection(host, table, reader, writer, tls, cert_hash)


async def serve(spec: dict[str, Any]) -> None:
    table = load_table(Path(spec["platform_yaml"])) if spec.get("platform_yaml") else load_table()
    tls_ctx = None
    cert_hash = None
    if spec.get("cert") and spec.get("key"):
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(spec["cert"], spec["key"])
        der = ssl.PEM_cert_to_DER_cert(Path(spec["cert"]).read_text())
        cert_hash = hashlib.sha256(der).digest()      # RFC 5929: SHA-256 for a sha256WithRSA/ECDSA-SHA256 cert
    servers = []
    for entry in spec["hosts"]:
        state_dir = Path(entry["state_dir"])
        state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(state_dir, 0o700)
        state = HostState.seed(Path(entry["host_file"]), state_dir)
        behaviour = entry.get("behaviour") or str(state.data.get("behaviour", "normal"))
        host = SimHost(name=entry["name"], address=entry["address"], http_port=entry.get("http_port"),
                       https_port=entry.get("https_port"), username=entry["username"],
                       user_file=_host_credentials({**entry, "behaviour": behaviour}, state_dir), state_dir=state_dir,
                       state=state, behaviour=behaviour)
        if host.http_port:
            servers.append(await asyncio.start_server(
                functools.partial(_accept, host, table, False, None), host.address, host.http_port,
                reuse_address=True, backlog=256))
        if host.https_port and tls_ctx is not None:
            servers.append(await asyncio.start_server(
                functools.partial(_accept, host, table, True, cert_hash), host.address,
                host.https_port, ssl=tls_ctx, reuse_address=True, backlog=256))
    log(f"winsim: {len(spec['hosts'])} host(s), {len(servers)} listener(s)")
    if spec.get("ready_file"):
        Path(spec["ready_file"]).write_text("ready\n")
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m lab.winsim SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(spec))
    return 0
