"""The printer platform's live checks against local test servers (loopback only): TCP port states, TLS versions
offered alone and the certificate, the plain-HTTP admin, and the default-credential check (one attempt per
account, no retry, marker first, nothing of the answer kept); the SNMP session's error mapping."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from hardening.core.connections import resolve
from hardening.core.errors import AuthenticationFailed, DeviceTimeout
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import Target
from hardening.core.secrets import Credentials, Secret
from hardening.platforms.mfp import probes as wire
from hardening.platforms.mfp.driver import web_login
from hardening.platforms.mfp.profiles import Profile, profiles
from hardening.platforms.mfp.snmp import SnmpSession

LOCAL = "127.0.0.1"


def target(https_port: int = 443, snmp_port: int = 161, https_extras: dict[str, Any] | None = None,
           snmp_extras: dict[str, Any] | None = None, credentials: Credentials | None = None,
           timeout: float = 10) -> Target:
    host = Host(name="mfp-test", hostname=LOCAL, port=None, platform="mfp", device_class="mfp", zone="lgwan",
                classification={}, system=SystemInfo("test", "", ()), roles=(), groups=(), credentials="mfp")
    layers = ({"connection_options": {"https": {"port": https_port, "extras": https_extras or {}},
                                      "snmp": {"port": snmp_port, "extras": snmp_extras or {"version": "3",
                                                                                            "v3_user": "audit"}}}},)
    connections = {kind: resolve(kind, layers, hostname=LOCAL, port=None) for kind in ("snmp", "https")}
    creds = credentials or Credentials(name="mfp", username="", snmp_auth_key=Secret("auth-key-for-test"),
                                       snmp_priv_key=Secret("priv-key-for-test"))
    return Target(host=host, credentials=creds, timeout=timeout, connections=connections)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOCAL, 0))
        return int(probe.getsockname()[1])


# -- TCP ---------------------------------------------------------------------------------------------------------------
def test_port_state_open_and_closed() -> None:
    with socket.socket() as server:
        server.bind((LOCAL, 0))
        server.listen()
        open_port = server.getsockname()[1]
        closed_port = free_port()
        states = wire.port_states(LOCAL, [open_port, closed_port], 1.0)
    assert states == {open_port: "open", closed_port: "closed"}


# -- TLS ---------------------------------------------------------------------------------------------------------------
def make_certificate(tmp_path: Path, *, days: int = 365, expired: bool = False) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mfp-test")])
    now = dt.datetime.now(dt.UTC)
    start, end = (now - dt.timedelta(days=400), now - dt.timedelta(days=1)) if expired else \
        (now - dt.timedelta(days=1), now + dt.timedelta(days=days))
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("mfp-test")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@dataclass
class TLSServer:
    port: int
    stop: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TLSServer]:
    """A TLS server that accepts TLS 1.2 only (as a hardened admin port might)."""
    cert, key = make_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    listener = socket.socket()
    listener.bind((LOCAL, 0))
    listener.listen(16)
    listener.settimeout(0.2)
    server = TLSServer(listener.getsockname()[1])

    def serve() -> None:
        while not server.stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            raw.settimeout(2)
            try:
                with context.wrap_socket(raw, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass
            finally:
                raw.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server
    server.stop.set()
    thread.join(2)
    listener.close()


def test_tls_versions_each_offered_alone_and_the_certificate(tls_server: TLSServer) -> None:
    async def run() -> dict[str, tuple[str, bytes | None, str]]:
        versions = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
        tries = await asyncio.gather(*(wire.tls_try(LOCAL, tls_server.port, v, 2.0) for v in versions))
        return dict(zip(versions, tries, strict=True))

    results = asyncio.run(run())
    assert results["TLSv1.2"][0] == "accepted"
    assert results["TLSv1.3"][0] == "refused"
    # the old versions are refused by the server, or (where this OpenSSL cannot offer them at all) untestable:
    # never accepted
    assert results["TLSv1"][0] in ("refused", "untestable")
    assert results["TLSv1.1"][0] in ("refused", "untestable")
    der = results["TLSv1.2"][1]
    assert der is not None
    facts = wire.certificate_facts(der, dt.datetime.now(dt.UTC))
    assert facts["self_signed"] is True
    assert facts["expired"] is False
    assert facts["key_bits"] == 256


def test_certificate_facts_of_an_expired_certificate(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert_file, _ = make_certificate(tmp_path, expired=True)
    der = x509.load_pem_x509_certificate(cert_file.read_bytes()).public_bytes(serialization.Encoding.DER)
    facts = wire.certificate_facts(der, dt.datetime.now(dt.UTC))
    assert facts["expired"] is True
    assert dt.datetime.fromisoformat(facts["not_after"]) < dt.datetime.now(dt.UTC)


@pytest.mark.parametrize(("exc", "outcome"), [
    (None, "accepted"),
    (ssl.SSLError(1, "[SSL: NO_PROTOCOLS_AVAILABLE] no protocols available"), "untestable"),
    (ssl.SSLError(1, "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version"), "refused"),
    (ConnectionResetError(104, "Connection reset by peer"), "refused"),
    (TimeoutError(), "error"),
])
def test_decide_tls(exc: BaseException | None, outcome: str) -> None:
    assert wire.decide_tls(exc) == outcome


# -- HTTP and the default-credential check -----------------------------------------------------------------------------
@dataclass
class AdminSim:
    """A web admin that knows one factory account and counts every login attempt."""

    port: int = 0
    marker: bool = True
    password_kept: bool = True
    drop_login: bool = False
    attempts: dict[str, int] = field(default_factory=dict)
    pages: int = 0


@pytest.fixture
def admin_sim() -> Iterator[AdminSim]:
    sim = AdminSim()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"<html>admin</html>")
                return
            sim.pages += 1
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<form action="webArch/login.cgi">' if sim.marker else b"<html>new UI</html>")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            from urllib.parse import parse_qs

            form = parse_qs(body, keep_blank_values=True)
            import base64

            account = base64.b64decode(form["userid"][0]).decode()
            sim.attempts[account] = sim.attempts.get(account, 0) + 1
            if sim.drop_login:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            password = base64.b64decode(form["password"][0]).decode()
            if sim.password_kept and account == "admin" and password == "":
                self.send_response(302)
                self.send_header("Location", "/web/entry/ja/websys/webArch/mainFrame.cgi")
                self.send_header("Set-Cookie", "wimsesid=SECRET-SESSION; path=/")
                self.end_headers()
                self.wfile.write(b"WELCOME ADMIN SECRET-PAGE")
                return
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"login failed")

    server = http.server.ThreadingHTTPServer((LOCAL, 0), Handler)
    sim.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sim
    server.shutdown()
    server.server_close()


def ricoh_on(port: int) -> Profile:
    ricoh = profiles()["ricoh"]
    return replace(ricoh, web_admin={**ricoh.web_admin, "http_port": port})


NO_HTTPS: dict[str, Any] = {"port_state": "closed", "tls_versions": {}}


def test_factory_password_kept_is_accepted_with_one_attempt_and_nothing_kept(admin_sim: AdminSim) -> None:
    result = web_login(target(), ricoh_on(admin_sim.port), NO_HTTPS, True, 3.0)
    assert result["page"] == "matched"
    assert result["accounts"] == [{"account": "admin", "outcome": "accepted", "detail": "HTTP 302"}]
    assert admin_sim.attempts == {"admin": 1}
    text = json.dumps(result)
    assert "SECRET" not in text
    assert "WELCOME" not in text
    assert "wimsesid=" not in text


def test_changed_password_is_refused_with_one_attempt(admin_sim: AdminSim) -> None:
    admin_sim.password_kept = False
    result = web_login(target(), ricoh_on(admin_sim.port), NO_HTTPS, True, 3.0)
    assert result["accounts"][0]["outcome"] == "refused"
    assert admin_sim.attempts == {"admin": 1}


def test_no_marker_no_attempt(admin_sim: AdminSim) -> None:
    admin_sim.marker = False
    result = web_login(target(), ricoh_on(admin_sim.port), NO_HTTPS, True, 3.0)
    assert result["page"] == "not_matched"
    assert admin_sim.attempts == {}
    assert admin_sim.pages == 1


def test_a_dropped_login_is_undetermined_and_never_retried(admin_sim: AdminSim) -> None:
    admin_sim.drop_login = True
    result = web_login(target(), ricoh_on(admin_sim.port), NO_HTTPS, True, 3.0)
    assert result["accounts"][0]["outcome"] == "undetermined"
    assert admin_sim.attempts == {"admin": 1}


def test_unknown_vendor_and_no_web_admin() -> None:
    assert web_login(target(), None, NO_HTTPS, True, 1.0) == {"page": "no_profile"}
    assert web_login(target(), profiles()["ricoh"], NO_HTTPS, False, 1.0)["page"] == "no_web_admin"
    # HTTPS answers but no handshake completed: undetermined, never "no web admin" (that would pass the check)
    no_handshake = {"port_state": "open", "tls_versions": {"TLSv1.2": "error"}}
    assert web_login(target(), profiles()["ricoh"], no_handshake, False, 1.0)["page"] == "error"


def test_https_login_verifies_the_certificate_unless_the_inventory_says_not(tls_server: TLSServer) -> None:
    accepted = {"tls_versions": {"TLSv1.2": "accepted"}}
    result = web_login(target(https_port=tls_server.port), profiles()["ricoh"], accepted, False, 2.0)
    assert result["page"] == "error"
    assert "certificate not verified" in result["detail"]


def test_plain_http_page_or_redirect() -> None:
    page = wire.Answer(200, (("Content-Type", "text/html"),), b"<html>")
    redirect = wire.Answer(301, (("Location", "https://10.0.0.1/"),), b"")
    elsewhere = wire.Answer(302, (("Location", "/login.html"),), b"")
    assert wire.decide_plain_http(page, True)["state"] == "page"
    assert wire.decide_plain_http(redirect, True)["state"] == "redirect"
    assert wire.decide_plain_http(elsewhere, True)["state"] == "page"     # a redirect to itself over http
    assert wire.decide_plain_http(None, False)["state"] == "closed"


@pytest.mark.parametrize(("answer", "success", "outcome"), [
    (wire.Answer(302, (("Set-Cookie", "sessionid=x; path=/"),), b""), {"status": 302, "set_cookie": "sessionid"},
     "accepted"),
    (wire.Answer(302, (("Set-Cookie", "other=x"),), b""), {"status": 302, "set_cookie": "sessionid"}, "refused"),
    (wire.Answer(200, (), b"<h1>security</h1>"), {"status": 200, "body_contains": "security"}, "accepted"),
    (wire.Answer(401, (), b"security"), {"status": 200, "body_contains": "security"}, "refused"),
    (wire.Answer(302, (("Location", "/main.html"),), b""), {"status": 302, "location_contains": "main.html"},
     "accepted"),
    (wire.Answer(302, (("Location", "/login.html"),), b""), {"status": 302, "location_contains": "main.html"},
     "refused"),
])
def test_decide_login(answer: wire.Answer, success: dict[str, Any], outcome: str) -> None:
    assert wire.decide_login(answer, success) == outcome


def test_login_request_forms() -> None:
    fujifilm = profiles()["fujifilm"].web_admin["login"]
    method, _path, body, headers = wire.login_request(fujifilm, "11111", "x-admin")
    assert method == "GET"
    assert body is None
    assert headers["Authorization"] == "Basic MTExMTE6eC1hZG1pbg=="
    sharp = profiles()["sharp"].web_admin["login"]
    method, _path, body, headers = wire.login_request(sharp, "admin", "admin")
    assert method == "POST"
    assert body is not None
    assert b"ggt_textbox%2810002%29=admin" in body


# -- SNMP errors ---------------------------------------------------------------------------------------------------
def test_a_silent_agent_is_a_device_timeout_naming_it() -> None:
    port = free_port()
    with SnmpSession(target(snmp_port=port), timeout=0.3, retries=0) as session, \
            pytest.raises(DeviceTimeout, match="no SNMP answer: silent device or wrong community"):
        session.get([".1.3.6.1.2.1.1.1.0"])


def test_usm_reports_are_authentication_failures() -> None:
    class WrongDigest(Exception):
        pass

    class UnknownUserName(Exception):
        pass

    with SnmpSession(target()) as session:
        for error, words in ((WrongDigest(), "authentication key refused"), (UnknownUserName(), "unknown SNMPv3 user")):
            with pytest.raises(AuthenticationFailed, match=words):
                session._check(error, 0, 0, [".1.3.6.1.2.1.1.1.0"])


def test_a_v2c_session_needs_the_community_and_never_shows_it() -> None:
    creds = Credentials(name="mfp", username="", snmp_community=Secret("city-secret-community"))
    with SnmpSession(target(snmp_extras={"version": "2c"}, credentials=creds), timeout=0.3, retries=0) as session:
        with pytest.raises(DeviceTimeout) as caught:
            session.get([".1.3.6.1.2.1.1.1.0"])
        assert "city-secret-community" not in str(caught.value)
    from hardening.core.errors import SecretError

    with pytest.raises(SecretError, match="snmp_community"):
        SnmpSession(target(snmp_extras={"version": "2c"}, credentials=Credentials(name="mfp", username="")))


# -- the whole pass, with a stand-in SNMP session -------------------------------------------------------------------
class FakeSession:
    """Answers like a RICOH agent read with a v2c community; `fail` makes the identity GET raise."""

    def __init__(self, target: Target, timeout: float = 2.0, retries: int = 1, fail: Exception | None = None) -> None:
        import asyncio as aio

        self.loop = aio.new_event_loop()
        self.version = "2c"
        self.timeout = timeout
        self.fail = fail
        self.probes: list[tuple[str, str]] = []
        self.gets: list[list[str]] = []

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    async def aget(self, oids: Any) -> dict[str, Any]:
        from hardening.platforms.mfp.walk import SnmpValue

        if self.fail is not None:
            raise self.fail
        self.gets.append(list(oids))
        known = {".1.3.6.1.2.1.1.1.0": SnmpValue("STRING", "RICOH IM C3000"),
                 ".1.3.6.1.2.1.1.2.0": SnmpValue("OID", ".1.3.6.1.4.1.367.1.1"),
                 ".1.3.6.1.2.1.1.5.0": SnmpValue("STRING", "mfp-ricoh-09"),
                 ".1.3.6.1.2.1.25.1.2.0": SnmpValue("Hex-STRING", "07 EA 0B 1E 0A 00 00 00 2B 09 00"),
                 ".1.3.6.1.4.1.367.3.2.1.1.1.2.0": SnmpValue("STRING", "1.07")}
        return {oid: known[oid] for oid in oids if oid in known}

    async def acolumns(self, prefixes: Any) -> dict[str, Any]:
        return {}

    async def aread(self, scalars: Any, columns: Any) -> dict[str, Any]:
        return await self.aget(scalars)

    async def aprobe_community(self, community: str, version: str, oid: str, timeout: float) -> bool:
        self.probes.append((community, version))
        return community == "public" and version == "2c"

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.close()


def test_one_pass_writes_a_capture_parse_reads_and_no_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from hardening.platforms.mfp import driver

    sessions: list[FakeSession] = []

    def make(target: Target, *args: Any, **kwargs: Any) -> FakeSession:
        sessions.append(FakeSession(target))
        return sessions[-1]

    monkeypatch.setattr(driver, "SnmpSession", make)
    creds = Credentials(name="mfp", username="", snmp_community=Secret("city-secret-community"))
    live = target(https_port=free_port(), snmp_extras={"version": "2c"}, credentials=creds)
    driver.MfpPlatform().fetch(live, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probes.json", "snmpwalk.txt"]
    for path in tmp_path.iterdir():
        assert "city-secret-community" not in path.read_text(encoding="utf-8")
        assert path.stat().st_mode & 0o077 == 0
    # one probe per factory community and version, never more
    assert sorted(sessions[0].probes) == [("private", "1"), ("private", "2c"), ("public", "1"), ("public", "2c")]
    document = driver.MfpPlatform().parse(tmp_path)
    facts = document["facts"]
    assert facts["os"]["vendor"] == "ricoh"
    assert facts["os"]["version"] == "1.07"
    assert {"service": "snmp", "account": "community:read", "detail": "answered over v2c"} in \
        facts["accounts"]["default_credentials_accepted"]
    assert [item["protocol"] for item in facts["management"]["insecure_protocols"]] == ["snmp_v1_v2c"]
    assert facts["management"]["web_admin"]["https"] is False          # nothing listens on that port
    assert facts["management"]["web_admin"]["tls_versions"] == []
    assert facts["time"]["offset_ms_abs"] >= 0


@pytest.mark.parametrize("version", ["2c", "1"])
def test_the_clock_get_carries_the_profile_scalars_except_on_v1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                version: str) -> None:
    """v2c/v3: hrSystemDate and the profile's model and firmware objects in ONE GET after the identity read (a
    missing object is noSuchObject there); v1 (one missing object fails the whole GET): the clock alone first."""
    from hardening.platforms.mfp import driver

    sessions: list[FakeSession] = []

    def make(target: Target, *args: Any, **kwargs: Any) -> FakeSession:
        sessions.append(FakeSession(target))
        sessions[-1].version = version
        return sessions[-1]

    monkeypatch.setattr(driver, "SnmpSession", make)
    creds = Credentials(name="mfp", username="", snmp_community=Secret("city-secret-community"))
    driver.MfpPlatform().fetch(target(https_port=free_port(), snmp_extras={"version": version}, credentials=creds),
                               tmp_path)
    clock, model, firmware = ".1.3.6.1.2.1.25.1.2.0", ".1.3.6.1.4.1.367.3.2.1.1.1.1.0", ".1.3.6.1.4.1.367.3.2.1.1.1.2.0"
    gets = [get for get in sessions[0].gets if clock in get or firmware in get]
    if version == "2c":
        assert gets == [[clock, model, firmware]]
    else:
        assert gets == [[clock], [model, firmware]]
    document = driver.MfpPlatform().parse(tmp_path)
    assert document["facts"]["os"]["version"] == "1.07"
    assert document["facts"]["time"]["offset_ms_abs"] >= 0


def test_every_session_resolves_its_oids_against_one_mib_view() -> None:
    """pysnmp's hlapi gives each engine (one per printer) a MIB view of its own and builds a MIB compiler for it at
    the first OID: the sessions share ONE view, built once, and their requests still go out and time out as before."""
    from hardening.platforms.mfp import snmp

    snmp.forget_mib_view()
    port = free_port()
    engines = []
    for _ in range(2):
        with SnmpSession(target(snmp_port=port), timeout=0.2, retries=0) as session:
            engines.append(session.engine)
            with pytest.raises(DeviceTimeout):
                session.get([".1.3.6.1.2.1.1.1.0"])
    views = {id(engine.cache["mibViewController"]) for engine in engines}
    assert len(views) == 1
    assert views == {id(snmp._VIEW[0])}
    assert snmp._VIEW[0].mibBuilder.get_mib_compiler() is not None       # built once, on the shared view


def test_a_failed_snmp_read_is_the_collection_error_not_a_group(monkeypatch: pytest.MonkeyPatch) -> None:
    from hardening.platforms.mfp import driver

    monkeypatch.setattr(driver, "SnmpSession", lambda target, *a, **k: FakeSession(
        target, fail=AuthenticationFailed("mfp-test", "SNMPv3 authentication key refused")))
    with pytest.raises(AuthenticationFailed, match="authentication key refused"):
        driver.MfpPlatform().collect(target(https_port=free_port()))


# -- factory-community probe: one datagram, a real SNMP message ----------------------------------------------------
def test_community_get_is_a_valid_snmp_message() -> None:
    from pyasn1.codec.ber import decoder
    from pysnmp.proto import api

    from hardening.platforms.mfp.snmp import community_get

    for version, module in (("2c", api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]),
                            ("1", api.PROTOCOL_MODULES[api.SNMP_VERSION_1])):
        message, _rest = decoder.decode(community_get("public", version, ".1.3.6.1.2.1.1.1.0", 4242),
                                        asn1Spec=module.Message())
        assert str(module.apiMessage.get_community(message)) == "public"
        pdu = module.apiMessage.get_pdu(message)
        assert int(module.apiPDU.get_request_id(pdu)) == 4242
        assert [str(oid) for oid, _ in module.apiPDU.get_varbinds(pdu)] == ["1.3.6.1.2.1.1.1.0"]


@pytest.mark.parametrize(("answer", "expected"), [("echo", True), ("silent", False), ("other-id", False)])
def test_probe_community_one_datagram(answer: str, expected: bool) -> None:
    from hardening.platforms.mfp.snmp import probe_community

    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((LOCAL, 0))
    server.settimeout(3)
    seen: list[bytes] = []

    def serve() -> None:
        try:
            data, peer = server.recvfrom(2048)
        except TimeoutError:
            return
        seen.append(data)
        if answer == "echo":           # the request turned into a GetResponse: same request id
            server.sendto(data.replace(b"\xa0", b"\xa2", 1), peer)
        elif answer == "other-id":         # a response, but to another request
            from hardening.platforms.mfp.snmp import community_get

            other = community_get("public", "2c", ".1.3.6.1.2.1.1.1.0", 1).replace(b"\xa0", b"\xa2", 1)
            server.sendto(other, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        assert probe_community(LOCAL, server.getsockname()[1], "public", "2c", 0.5) is expected
    finally:
        thread.join(3)
        server.close()
    assert len(seen) == 1                  # one packet, never retried
