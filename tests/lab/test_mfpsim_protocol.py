"""The lab's printers on the wire (labctl up starts them in netns hlab-mfpsim): real SNMP through pysnmp 7 against
the snmpsim agents, real HTTPS/HTTP against the web-admin simulator, real TCP against the service listeners.
Everything is compared with the host state files (lab/mfpsim/hosts/<host>.yaml), the one place that says what
each printer is."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.client
import json
import socket
import ssl
import time
import urllib.parse
from collections.abc import Sequence
from typing import Any

import pytest
import yaml
from lab.mfpsim import model
from lab.mfpsim.responder import cache_mib_compilation
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    Integer,
    ObjectIdentity,
    ObjectType,
    OctetString,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
    set_cmd,
    usmAesCfb128Protocol,
    usmHMACSHAAuthProtocol,
)
from tests.lab.labtools import LAB_STATE, ROOT

CA = LAB_STATE / "mfpsim" / "pki" / "ca.pem"
ATTEMPTS = LAB_STATE / "mfpsim" / "attempts.json"
SYS_DESCR, SYS_OBJECT_ID, SYS_CONTACT, SYS_LOCATION = ("1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0",
                                                       "1.3.6.1.2.1.1.4.0", "1.3.6.1.2.1.1.6.0")
HR_SYSTEM_DATE, HR_DEVICE_TYPE = "1.3.6.1.2.1.25.1.2.0", "1.3.6.1.2.1.25.3.2.1.2.1"
USER = "hardening-audit"
cache_mib_compilation()   # a new SnmpEngine per request costs 0.1 s instead of 0.9 s (same pysnmp code)


@pytest.fixture(scope="module")
def printers() -> dict[str, dict[str, Any]]:
    """name -> {ip, state, secrets} of every simulated printer; fails (does not skip) when the lab is down."""
    spec = yaml.safe_load((ROOT / "lab" / "lab.yaml").read_text(encoding="utf-8"))["mfpsim"]
    hosts = yaml.safe_load((ROOT / "inventory" / "hosts.yaml").read_text(encoding="utf-8"))
    pending = yaml.safe_load((ROOT / spec["inventory"]).read_text(encoding="utf-8"))
    hosts.update({**(pending.get("hosts") or {}), **(pending.get("lab_only") or {})})
    secrets = json.loads((LAB_STATE / "mfpsim-secrets.json").read_text(encoding="utf-8"))
    profiles = model.load_profiles()
    out = {}
    for name in spec["hosts"]:
        state = model.load_state(ROOT / "lab" / "mfpsim" / "hosts" / f"{name}.yaml", profiles)
        out[name] = {"ip": str(hosts[name]["hostname"]), "state": state,
                     "secrets": secrets[hosts[name]["data"]["credentials"]]}
    down = [n for n, p in out.items() if not _tcp_open(p["ip"], 443, 2)]
    assert not down, f"printers not answering on 443: {down} — run `labctl up` first"
    return out


def _tcp_open(ip: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return True
    except OSError:
        return False


def _v3(secrets: dict[str, str], auth_key: str | None = None) -> UsmUserData:
    return UsmUserData(USER, auth_key or secrets["snmp_auth_key"], secrets["snmp_priv_key"],
                       authProtocol=usmHMACSHAAuthProtocol, privProtocol=usmAesCfb128Protocol)


async def _get(ip: str, auth: Any, oids: Sequence[str], timeout: float = 2.0,
               engine: SnmpEngine | None = None) -> tuple[str, dict[str, Any]]:
    own = engine is None
    engine = engine or SnmpEngine()
    try:
        target = await UdpTransportTarget.create((ip, 161), timeout=timeout, retries=0)
        err, status, _, binds = await get_cmd(engine, auth, target, ContextData(),
                                              *(ObjectType(ObjectIdentity(o)) for o in oids))
        return str(err or status or ""), {str(name): value for name, value in binds}
    finally:
        if own:
            engine.close_dispatcher()


async def _set(ip: str, auth: Any, oid: str, value: Any) -> str:
    engine = SnmpEngine()
    try:
        target = await UdpTransportTarget.create((ip, 161), timeout=2.0, retries=0)
        err, status, _, _ = await set_cmd(engine, auth, target, ContextData(), ObjectType(ObjectIdentity(oid), value))
        return str(err or status or "")
    finally:
        engine.close_dispatcher()


def test_v3_get_identity_on_a_compliant_printer(printers: dict[str, dict[str, Any]]) -> None:
    p = printers["mfp-ricoh-01"]
    err, values = asyncio.run(_get(p["ip"], _v3(p["secrets"]), [SYS_DESCR, SYS_OBJECT_ID, HR_DEVICE_TYPE]))
    assert err == ""
    assert str(values[SYS_DESCR]) == p["state"].sysdescr
    assert str(values[SYS_OBJECT_ID]).startswith("1.3.6.1.4.1.367.")
    assert str(values[HR_DEVICE_TYPE]) == "1.3.6.1.2.1.25.3.1.5"       # hrDevicePrinter


def test_wrong_v3_key_is_a_digest_error(printers: dict[str, dict[str, Any]]) -> None:
    p = printers["mfp-badkey"]   # the vault's key, which the agent does not have
    err, values = asyncio.run(_get(p["ip"], _v3(p["secrets"]), [SYS_DESCR]))
    assert "Wrong SNMP PDU digest" in err
    assert values == {}
    good = printers["mfp-ricoh-01"]
    err, _ = asyncio.run(_get(good["ip"], _v3(good["secrets"], auth_key="Auth-not-the-key-1"), [SYS_DESCR]))
    assert "Wrong SNMP PDU digest" in err


def test_silent_printer_and_wrong_community_time_out(printers: dict[str, dict[str, Any]]) -> None:
    silent, badcomm = printers["mfp-silent"], printers["mfp-badcomm"]
    t0 = time.monotonic()
    err, _ = asyncio.run(_get(silent["ip"], _v3(silent["secrets"]), [SYS_DESCR], timeout=1.0))
    assert "No SNMP response" in err
    assert time.monotonic() - t0 >= 0.9
    err, _ = asyncio.run(_get(badcomm["ip"], CommunityData(badcomm["secrets"]["snmp_community"], mpModel=1),  # noqa: S508
                              [SYS_DESCR], timeout=1.0))
    assert "No SNMP response" in err


def test_factory_communities_answer_exactly_where_the_state_keeps_them(printers: dict[str, dict[str, Any]]) -> None:
    agents = {n: p for n, p in printers.items() if p["state"].snmp_agent}

    async def probe_all() -> dict[tuple[str, str], bool]:
        keys = [(n, c) for n in agents for c in ("public", "private")]
        engine = SnmpEngine()     # one engine for every probe, all in flight together (1 s, not 30)
        try:
            results = await asyncio.gather(*(_get(agents[n]["ip"], CommunityData(c, mpModel=1),  # noqa: S508
                                                  [SYS_DESCR], 1.0, engine) for n, c in keys))
        finally:
            engine.close_dispatcher()
        return {k: err == "" for k, (err, _) in zip(keys, results, strict=True)}

    answered = asyncio.run(probe_all())
    expected = {(n, c): c in p["state"].communities for n, p in agents.items() for c in ("public", "private")}
    assert answered == expected
    assert any(answered.values())
    assert not all(answered.values())


def test_set_persists_and_a_planted_set_failure_errors(printers: dict[str, dict[str, Any]]) -> None:
    p = printers["mfp-ricoh-01"]
    auth = _v3(p["secrets"])
    marker = f"lab-test {time.time():.0f}"
    _, before = asyncio.run(_get(p["ip"], auth, [SYS_CONTACT]))
    assert asyncio.run(_set(p["ip"], auth, SYS_CONTACT, OctetString(marker))) == ""
    try:
        _, after = asyncio.run(_get(p["ip"], auth, [SYS_CONTACT]))
        assert str(after[SYS_CONTACT]) == marker
        # the other printer of the same vendor keeps its own value (one writecache per printer)
        other = printers["mfp-ricoh-02"]
        _, theirs = asyncio.run(_get(other["ip"], _v3(other["secrets"]), [SYS_CONTACT]))
        assert str(theirs[SYS_CONTACT]) != marker
    finally:
        asyncio.run(_set(p["ip"], auth, SYS_CONTACT, OctetString(str(before[SYS_CONTACT]))))
    # a value of the wrong type is not stored (snmpsim's writecache answers it without an error)
    asyncio.run(_set(p["ip"], auth, SYS_CONTACT, Integer(5)))
    _, kept = asyncio.run(_get(p["ip"], auth, [SYS_CONTACT]))
    assert str(kept[SYS_CONTACT]) == str(before[SYS_CONTACT])
    failing = printers["mfp-generic-01"]
    assert "sysLocation" in failing["state"].set_fails
    err = asyncio.run(_set(failing["ip"], _v3(failing["secrets"]), SYS_LOCATION, OctetString("elsewhere")))
    assert err == "commitFailed"
    _, now = asyncio.run(_get(failing["ip"], _v3(failing["secrets"]), [SYS_LOCATION]))
    assert str(now[SYS_LOCATION]) == failing["state"].location


def _date(value: Any) -> dt.datetime:
    b = bytes(value)
    tz = dt.timezone((1 if b[8:9] == b"+" else -1) * dt.timedelta(hours=b[9], minutes=b[10]))
    return dt.datetime(int.from_bytes(b[:2], "big"), b[2], b[3], b[4], b[5], b[6], b[7] * 100000, tzinfo=tz)


def test_clock_is_served_with_the_planted_skew(printers: dict[str, dict[str, Any]]) -> None:
    for name in ("mfp-ricoh-01", "mfp-ricoh-02", "mfp-sharp-02"):
        p = printers[name]
        _, values = asyncio.run(_get(p["ip"], _v3(p["secrets"]), [HR_SYSTEM_DATE]))
        offset = (_date(values[HR_SYSTEM_DATE]) - dt.datetime.now(dt.UTC)).total_seconds()
        assert abs(offset - p["state"].clock_skew_seconds) < 3, (name, offset)
        assert bytes(values[HR_SYSTEM_DATE])[8:] == b"+\x09\x00"         # UTC+9 (Asia/Tokyo)


def _https(ip: str, method: str, path: str, body: str | None = None,
           headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    ctx = ssl.create_default_context(cafile=str(CA))
    conn = http.client.HTTPSConnection(ip, 443, context=ctx, timeout=5)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_web_login_page_refusal_and_attempt_count(printers: dict[str, dict[str, Any]]) -> None:
    profiles = model.load_profiles()
    p = printers["mfp-sharp-01"]
    web = profiles["sharp"]["web_admin"]
    ctx = ssl.create_default_context(cafile=str(CA))
    conn = http.client.HTTPSConnection(p["ip"], 443, context=ctx, timeout=5)
    conn.request("GET", web["login_page"])
    page = conn.getresponse()
    assert page.status == 200
    assert web["page_marker"] in page.read().decode()
    conn.close()
    before = json.loads(ATTEMPTS.read_text()) if ATTEMPTS.exists() else {}
    count = ((before.get("mfp-sharp-01") or {}).get("admin") or {}).get("attempts", 0)
    form = {k: str(v).format(account="admin", password="admin")  # noqa: S106 (Sharp's factory default)
            for k, v in web["login"]["form"].items()}
    answer = _https(p["ip"], "POST", web["login"]["path"], urllib.parse.urlencode(form),
                    {"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status != 302
    assert web["login"]["success"]["location_contains"] not in (
        answer.getheader("Location") or "")
    after = json.loads(ATTEMPTS.read_text())
    assert after["mfp-sharp-01"]["admin"]["attempts"] == count + 1
    # the drifted printer accepts the factory password (and counts it too)
    drifted = printers["mfp-sharp-02"]
    answer = _https(drifted["ip"], "POST", web["login"]["path"], urllib.parse.urlencode(form),
                    {"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 302
    assert "main.html" in answer.getheader("Location", "")
    assert json.loads(ATTEMPTS.read_text())["mfp-sharp-02"]["admin"]["accepted"] >= 1


def _tls_version(ip: str, version: ssl.TLSVersion) -> str | None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(CA))
    ctx.check_hostname = False
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")      # OpenSSL 3 offers no TLS 1.0/1.1 cipher at the default level
    ctx.minimum_version = ctx.maximum_version = version
    try:
        with socket.create_connection((ip, 443), timeout=3) as raw, ctx.wrap_socket(raw) as tls:
            return tls.version()
    except (ssl.SSLError, OSError):
        return None


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_legacy_tls_only_where_the_state_allows_it(printers: dict[str, dict[str, Any]]) -> None:
    assert _tls_version(printers["mfp-canon-02"]["ip"], ssl.TLSVersion.TLSv1) == "TLSv1"
    assert _tls_version(printers["mfp-canon-02"]["ip"], ssl.TLSVersion.TLSv1_1) == "TLSv1.1"
    assert _tls_version(printers["mfp-canon-01"]["ip"], ssl.TLSVersion.TLSv1) is None
    assert _tls_version(printers["mfp-canon-01"]["ip"], ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert _tls_version(printers["mfp-sharp-02"]["ip"], ssl.TLSVersion.TLSv1_1) is None   # [TLSv1, TLSv1.2]


def test_plain_http_and_listeners_exactly_as_the_state_says(printers: dict[str, dict[str, Any]]) -> None:
    ports = {name: port for name, (port, _) in model.SERVICES.items()}
    opened: dict[str, set[int]] = {}
    for name, p in printers.items():
        opened[name] = {port for port in [*ports.values(), 80, 443] if _tcp_open(p["ip"], port, 0.5)}
    expected = {name: {ports[s] for s in p["state"].services} | ({80} if p["state"].http else set())
                | ({443} if p["state"].https else set()) for name, p in printers.items()}
    assert opened == expected
    conn = http.client.HTTPConnection(printers["mfp-kyocera-02"]["ip"], 80, timeout=5)   # http, not plain
    conn.request("GET", "/startwlm/Start_Wlm.htm")
    answer = conn.getresponse()
    assert answer.status == 301
    assert answer.getheader("Location", "").startswith("https://")
    conn = http.client.HTTPConnection(printers["mfp-canon-02"]["ip"], 80, timeout=5)     # plain-HTTP admin
    conn.request("GET", "/login.html")
    assert conn.getresponse().status == 200
    with socket.create_connection((printers["mfp-sharp-02"]["ip"], 21), timeout=2) as s:
        s.settimeout(2)
        assert s.recv(100).startswith(b"220 ")
