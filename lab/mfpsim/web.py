"""The printers' web administration and risky-service listeners: one asyncio process for every simulated printer.

Per printer address (spec.json written by labctl, 0600):
- HTTPS on 443 (lab CA certificate; the TLS versions of the host state, legacy ones with OpenSSL `@SECLEVEL=0`),
  HTTP on 80: the admin pages when the state says `http_plain`, else `301` to https;
- the vendor's login exactly as src/hardening/platforms/mfp/profiles.yaml `web_admin` describes it (the page at
  `login_page` carries `page_marker`; a form POST or HTTP Basic; the `success` answer for accepted credentials,
  an answer that matches none of `success` for refused ones);
- every login attempt counted per host and account in attempts.json (atomic replace), accepted or not, so a test
  can prove "at most one attempt per account per run";
- TCP listeners for the risky services the state opens (telnet/ftp send a banner line, then close).
Never logged: passwords, form bodies, cookies.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import functools
import json
import os
import secrets
import ssl
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.mfpsim.model import SERVICES, tls_bounds

TLS = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1, "TLSv1.2": ssl.TLSVersion.TLSv1_2,
       "TLSv1.3": ssl.TLSVersion.TLSv1_3}
REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 400: "Bad Request", 401: "Unauthorized",
           404: "Not Found", 405: "Method Not Allowed"}


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


class Attempts:
    """attempts.json: {"<host>": {"<account>": {"attempts": n, "accepted": n, "last_at": ISO-8601 UTC}}}."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.data: dict[str, dict[str, dict[str, Any]]] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.data = {}

    def record(self, host: str, account: str, accepted: bool) -> None:
        entry = self.data.setdefault(host, {}).setdefault(account, {"attempts": 0, "accepted": 0})
        entry["attempts"] += 1
        entry["accepted"] += int(accepted)
        entry["last_at"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


@dataclass
class Printer:
    name: str
    address: str
    vendor: str | None
    model: str
    firmware: str
    web: dict[str, Any]                        # the profile's web_admin ({} for an unknown maker)
    passwords: dict[str, str]                  # account -> the password it accepts now
    https: bool
    http: bool
    http_plain: bool
    tls_versions: list[str]
    services: list[str]
    sessions: set[str] = field(default_factory=set)


def _page(title: str, body: str) -> bytes:
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>"
            f"<body>{body}</body></html>").encode()


def login_page(p: Printer) -> bytes:
    web = p.web
    product = web.get("product", "Web")
    if not web:
        return _page(f"{p.model}", f"<h1>{p.model}</h1><form method=\"post\" action=\"/login\">"
                     "<input name=\"username\"><input type=\"password\" name=\"password\"></form>")
    login = web["login"]
    if login["method"] == "basic":
        # the page links to the protected area; the marker is part of the page's product banner
        return _page(f"{product} - {p.model}", f"<h1>{web['page_marker']}</h1><p>{p.model}</p>"
                     f"<a href=\"{login['path']}\">Properties</a>")
    inputs = "".join(f"<input type=\"{'password' if 'password' in k.lower() else 'text'}\" name=\"{k}\">"
                     for k in (login.get("form") or {}))
    return _page(f"{product} - {p.model}", f"<!-- {web['page_marker']} --><h1>{product}</h1><p>{p.model}</p>"
                 f"<form method=\"post\" action=\"{login['path']}\">{inputs}</form>")


def _credentials_from_form(p: Printer, fields: dict[str, str]) -> tuple[str, str] | None:
    """(account, password) out of a POSTed form, by the profile's form template; None if it is not that form."""
    form = p.web["login"].get("form") or {}
    account: str | None = None
    password: str | None = None
    for key, raw_template in form.items():
        value = fields.get(key)
        template = str(raw_template)
        if "{account" in template or "{password" in template:
            if value is None:
                return None
            decoded = value
            if template.endswith("_b64}"):
                try:
                    decoded = base64.b64decode(value, validate=True).decode("utf-8")
                except ValueError:
                    decoded = "\0invalid"
            if "{account" in template:
                account = decoded
            else:
                password = decoded
    if password is None:
        return None
    if account is None:   # the form names no account (Konica Minolta's administrator login): the profile's one
        account = str(p.web["default_accounts"][0]["account"])
    return account, password


def _success(p: Printer) -> tuple[int, dict[str, str], bytes]:
    ok = p.web["login"]["success"]
    headers: dict[str, str] = {}
    token = secrets.token_hex(16)
    p.sessions.add(token)
    if ok.get("set_cookie"):
        headers["Set-Cookie"] = f"{ok['set_cookie']}={token}; Path=/; Secure; HttpOnly"
    if ok.get("location_contains"):
        headers["Location"] = f"/{ok['location_contains'].lstrip('/')}"
    elif int(ok["status"]) in (301, 302, 303):
        headers["Location"] = "/"
    body = _page(p.model, f"<p>{ok.get('body_contains', 'OK')}</p>")
    return int(ok["status"]), headers, body


def _refused(p: Printer) -> tuple[int, dict[str, str], bytes]:
    """An answer no part of `success` matches: the login page again (200), or 401 where 200 means success."""
    ok = p.web["login"]["success"]
    if p.web["login"]["method"] == "basic":
        return 401, {"WWW-Authenticate": f"Basic realm=\"{p.web.get('product', 'admin')}\""}, _page(
            "401", "<p>Authorization Required</p>")
    body = login_page(p)
    if ok.get("body_contains") and ok["body_contains"].encode() in body:
        body = _page("Login", "<p>Login failed</p>")
    return 200, {}, body


def handle(p: Printer, attempts: Attempts, method: str, target: str, headers: dict[str, str],
           body: bytes, tls: bool) -> tuple[int, dict[str, str], bytes]:
    if not tls and not p.http_plain:
        return 301, {"Location": f"https://{p.address}{target}"}, b""
    path = target.split("?", 1)[0]
    web = p.web
    if not web:                                     # an unknown maker: a page the profiles do not know
        if method == "POST" and path == "/login":
            fields = dict(urllib.parse.parse_qsl(body.decode("latin-1")))
            account = fields.get("username") or "?"
            attempts.record(p.name, account, False)
            log(f"login {p.name} account={account} refused")
            return 200, {}, login_page(p)
        if method == "GET" and path in ("/", "/index.html"):
            return 200, {}, login_page(p)
        return 404, {}, _page("404", "Not Found")
    login = web["login"]
    if method == "GET" and (target == web["login_page"] or path == web["login_page"].split("?", 1)[0]) and not (
            login["method"] == "basic" and path == login["path"]):
        return 200, {}, login_page(p)
    if method == "GET" and path == "/":
        return 302, {"Location": web["login_page"]}, b""
    if login["method"] == "form" and path == login["path"].split("?", 1)[0]:
        if method != "POST":
            return 405, {"Allow": "POST"}, b""
        fields = dict(urllib.parse.parse_qsl(body.decode("latin-1"), keep_blank_values=True))
        creds = _credentials_from_form(p, fields)
        if creds is None:
            return 400, {}, _page("400", "Bad Request")
        account, password = creds
        accepted = account in p.passwords and secrets.compare_digest(p.passwords[account].encode(),
                                                                      password.encode())
        attempts.record(p.name, account, accepted)
        log(f"login {p.name} account={account} {'accepted' if accepted else 'refused'}")
        return _success(p) if accepted else _refused(p)
    if login["method"] == "basic" and path == login["path"].split("?", 1)[0]:
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("basic "):
            return _refused(p)
        try:
            account, _, password = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
        except ValueError:
            return 400, {}, _page("400", "Bad Request")
        accepted = account in p.passwords and secrets.compare_digest(p.passwords[account].encode(),
                                                                      password.encode())
        attempts.record(p.name, account, accepted)
        log(f"login {p.name} account={account} {'accepted' if accepted else 'refused'}")
        return _success(p) if accepted else _refused(p)
    return 404, {}, _page("404", "Not Found")


async def serve_http(p: Printer, attempts: Attempts, tls: bool, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            line = await asyncio.wait_for(reader.readline(), 30)
            if not line:
                break
            try:
                method, target, _ = line.decode("latin-1").split(" ", 2)
            except ValueError:
                break
            headers: dict[str, str] = {}
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(length) if 0 < length < 1 << 20 else b""
            status, out_headers, out_body = handle(p, attempts, method, target, headers, body, tls)
            close = headers.get("connection", "").lower() == "close"
            head = [f"HTTP/1.1 {status} {REASONS.get(status, '')}", "Server: Web-Server/3.0",
                    f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}",
                    "Content-Type: text/html; charset=utf-8", f"Content-Length: {len(out_body)}",
                    *(f"{k}: {v}" for k, v in out_headers.items())]
            if close:
                head.append("Connection: close")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (out_body if method != "HEAD" else b""))
            await writer.drain()
            if close:
                break
    except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, ValueError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve_banner(p: Printer, banner: bytes | None, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        if banner:
            writer.write(banner % {b"model": p.model.encode(), b"firmware": p.firmware.encode()})
            await writer.drain()
        writer.close()


def tls_context(cert: str, key: str, versions: list[str]) -> ssl.SSLContext:
    """The printer's TLS: exactly the versions of its state. TLS 1.0/1.1 need OpenSSL security level 0 (OpenSSL 3
    refuses them with SHA-1 signatures at the default level 1+)."""
    low, high = tls_bounds(versions)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if TLS[low] < ssl.TLSVersion.TLSv1_2:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = TLS[low]
    ctx.maximum_version = TLS[high]
    gaps = {"TLSv1.1": ssl.OP_NO_TLSv1_1, "TLSv1.2": ssl.OP_NO_TLSv1_2}   # e.g. [TLSv1, TLSv1.2]: no TLS 1.1
    for name, flag in gaps.items():
        if TLS[low] < TLS[name] < TLS[high] and name not in versions:
            ctx.options |= flag
    ctx.load_cert_chain(cert, key)
    return ctx


async def serve(spec: dict[str, Any]) -> None:
    attempts = Attempts(Path(spec["attempts_file"]))
    servers = []
    for entry in spec["hosts"]:
        p = Printer(name=entry["name"], address=entry["address"], vendor=entry.get("vendor"), model=entry["model"],
                    firmware=entry["firmware"], web=entry.get("web") or {}, passwords=dict(entry["passwords"]),
                    https=entry["https"], http=entry["http"], http_plain=entry["http_plain"],
                    tls_versions=entry["tls_versions"], services=entry["services"])
        if p.https:
            ctx = tls_context(spec["cert"], spec["key"], p.tls_versions)
            servers.append(await asyncio.start_server(functools.partial(serve_http, p, attempts, True), p.address,
                                                      443, ssl=ctx, reuse_address=True, ssl_handshake_timeout=10))
        if p.http:
            servers.append(await asyncio.start_server(functools.partial(serve_http, p, attempts, False), p.address,
                                                      80, reuse_address=True))
        for name in p.services:
            port, banner = SERVICES[name]
            servers.append(await asyncio.start_server(functools.partial(serve_banner, p, banner), p.address, port,
                                                      reuse_address=True))
    log(f"mfpsim web: {len(spec['hosts'])} printer(s), {len(servers)} listener(s)")
    if spec.get("ready_file"):
        Path(spec["ready_file"]).write_text("ready\n")
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m lab.mfpsim SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(spec))
    return 0
