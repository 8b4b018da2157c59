"""Multifunction printers (platform `mfp`): one pass per device over SNMP, TCP, TLS and HTTP(S).

Changes: SNMP SET of the settings a vendor profile lists as writable, and manual steps per vendor (change.py).

fetch (live, one event loop per device, the checks concurrent):
- SNMP session (snmp.py: v3 authPriv from the vault, or v2c/v1 with `snmp_community` where the inventory says so):
  sysDescr, sysObjectID, sysUpTime, sysName, hrSystemDate, prtGeneralPrinterName and the hrDeviceTable columns,
  then the recognised vendor profile's model, firmware and setting objects;
- one GET with each factory community (`public`, `private`) over v1 and over v2c, one packet each, never retried;
- one TCP connect to each port of platform.yaml's table; each TLS version offered alone to the HTTPS admin port,
  and its certificate; the plain-HTTP admin page (a page of its own, or a redirect to HTTPS);
- the default-credential check of the profile's web admin: the login page must show the profile's marker, else
  nothing is tried (`manual`); then at most ONE attempt per factory account, no retry; the answer is kept only as
  accepted / refused / undetermined (never a body, never a password).
parse: the pure functions of parse.py over the capture.

Capture layout (DIR/<host>/, what `fetch` writes and `parse` reads; an administrator can make the walk by hand):
  snmpwalk.txt  net-snmp `snmpwalk -On` / `snmpget -On` output (required), e.g.
                `snmpwalk -v3 -l authPriv -u U -a SHA -A … -x AES -X … -On PRINTER .1.3.6.1.2.1.1 > snmpwalk.txt`,
                then `.1.3.6.1.2.1.25.1.2`, `.1.3.6.1.2.1.25.3.2.1` and the vendor objects appended (docs/mfp.md);
  probes.json   live only: the auditor's clock at the read, TCP ports, community probes, TLS versions,
                certificate, plain HTTP, web-login outcomes. Absent: the live-only facts are `errors`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
import time
from pathlib import Path
from typing import Any, ClassVar

from hardening.core.errors import CollectionError, DeviceTimeout, SavedFactsError
from hardening.core.platform import CapturePlatform, Target
from hardening.core.secrets import REDACTOR
from hardening.platforms.mfp import probes as wire
from hardening.platforms.mfp.change import MfpRemediator
from hardening.platforms.mfp.data import platform_data, port_table
from hardening.platforms.mfp.parse import build
from hardening.platforms.mfp.profiles import Profile, recognise
from hardening.platforms.mfp.snmp import NO_ANSWER, SnmpSession
from hardening.platforms.mfp.walk import SnmpValue, WalkFormatError, parse_walk, render_walk

WALK_FILE = "snmpwalk.txt"
PROBES_FILE = "probes.json"
PROBE = {"name": "hardening.platforms.mfp", "version": "1"}
PROBES_FORMAT = "hardening-mfp-probes/1"


class MfpPlatform(MfpRemediator, CapturePlatform):
    """Multifunction printers of any maker (vendor profiles in profiles.yaml); see the module docstring. Plan/apply
    by SNMP SET where a profile lists a writable setting, and the manual steps per vendor: change.MfpRemediator."""

    name: ClassVar[str] = "mfp"
    device_classes: ClassVar[frozenset[str]] = frozenset({"mfp"})
    connections: ClassVar[tuple[str, ...]] = ("snmp", "https")

    def fetch(self, target: Target, into: Path) -> None:
        values, probes = capture(target)
        # Nothing secret is read, but a device may echo a value that is one (a community in sysContact): masked.
        _write(into / WALK_FILE, REDACTOR.scrub(render_walk(values)))
        _write(into / PROBES_FILE, REDACTOR.scrub(json.dumps(probes, indent=2, sort_keys=True,
                                                             ensure_ascii=False) + "\n"))

    def parse(self, raw: Path) -> dict[str, Any]:
        """OfflineParser: the unstamped facts of DIR/<host>/ (snmpwalk.txt required, probes.json optional)."""
        raw = Path(raw)
        path = raw / WALK_FILE
        if not path.is_file():
            raise SavedFactsError(raw.name, f"{raw}: no {WALK_FILE} (layout: <DIR>/<host>/{WALK_FILE} as "
                                            f"`snmpwalk -On` prints it, and {PROBES_FILE} from a live run)")
        try:
            walk = parse_walk(path.read_text(encoding="utf-8", errors="replace"))
        except WalkFormatError as exc:
            raise SavedFactsError(raw.name, f"{path}: at line {exc.line}: {exc}") from None
        except OSError as exc:
            raise SavedFactsError(raw.name, f"{path}: unreadable ({type(exc).__name__})") from None
        probes = read_probes(raw)
        result = build(walk, probes)
        taken = probes.get("read_at") if probes else None
        if not isinstance(taken, str):
            taken = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC).isoformat(timespec="seconds")
        return {"format_version": "1", "collected_at": taken, "probe": dict(PROBE), "facts": result.facts,
                "errors": result.errors, "manual": result.manual, "evidence": result.evidence}


def read_probes(raw: Path) -> dict[str, Any] | None:
    path = raw / PROBES_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SavedFactsError(raw.name, f"{path}: unreadable ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != PROBES_FORMAT:
        raise SavedFactsError(raw.name, f"{path}: at /format: not {PROBES_FORMAT!r}")
    return data


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


# -- the live pass ---------------------------------------------------------------------------------------------------
def capture(target: Target) -> tuple[dict[str, SnmpValue | None], dict[str, Any]]:
    """({oid: value or None = no such object}, probes.json) of one device, in one pass."""
    with SnmpSession(target) as session:
        probes: dict[str, Any] = {"format": PROBES_FORMAT, "time_zone": _zone(target),
                                  "snmp": {"version": session.version, "answered": False}}
        try:
            # the host's deadline holds for the whole pass, whatever each check's own timeout
            return session.run(asyncio.wait_for(_capture(session, target, probes), target.timeout))
        except BaseExceptionGroup as group:     # the TaskGroup of the checks: the device's own error first
            raise _first(group) from None
        except TimeoutError:
            what = "the checks did not finish" if probes["snmp"]["answered"] else NO_ANSWER
            raise DeviceTimeout(target.host.name, f"{what} within the host's deadline of {target.timeout:g} s "
                                                  f"({target.connection('snmp').hostname})") from None


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    """The error to report of a failed pass: a collection error (SNMP timeout, refused key) before any other."""
    flat: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        item = stack.pop(0)
        if isinstance(item, BaseExceptionGroup):
            stack.extend(item.exceptions)
        else:
            flat.append(item)
    return next((exc for exc in flat if isinstance(exc, CollectionError)), flat[0])


async def _capture(session: SnmpSession, target: Target,
                   probes: dict[str, Any]) -> tuple[dict[str, SnmpValue | None], dict[str, Any]]:
    data = platform_data()
    https = target.connection("https")
    host = https.hostname
    budget = target.timeout
    connect = min(float(data["connect_timeout"]), budget)
    values: dict[str, SnmpValue | None] = {}
    async with asyncio.TaskGroup() as group:
        identity = group.create_task(_identity(session, values, probes))
        ports = group.create_task(_ports(host, connect))
        community = min(float(data["community_timeout"]), session.timeout, budget)
        communities = group.create_task(_communities(session, community))
        tls = group.create_task(_tls(host, https.port, min(float(data["tls_timeout"]), budget)))
        http = group.create_task(_plain_http(host, connect, min(float(data["http_timeout"]), budget)))
        profile = await identity
        port_states = await ports
        https_probe = await tls
        web = group.create_task(asyncio.to_thread(
            web_login, target, profile, https_probe, port_states.get("80") == "open",
            min(float(data["http_timeout"]), budget)))
        group.create_task(_profile_objects(session, profile, values))
    probes.update({"ports": port_states, "communities": communities.result(), "https": https_probe,
                   "http": http.result(), "web_login": web.result()})
    return values, probes


def _zone(target: Target) -> str:
    zone = target.host.parameters.get("site_time_zone") if isinstance(target.host.parameters, dict) else None
    return str(zone or platform_data()["default_time_zone"])


async def _identity(session: SnmpSession, values: dict[str, SnmpValue | None],
                    probes: dict[str, Any]) -> Profile | None:
    data = platform_data()
    clock = str(data["standard_oids"]["hrSystemDate"])
    oids = [str(oid) for oid in data["standard_oids"].values() if str(oid) != clock]
    columns = [str(column) for column in data["walked_oids"].values()]
    got = await session.aread(oids, columns)
    probes["snmp"]["answered"] = True
    descr = got.get(str(data["standard_oids"]["sysDescr"]))
    object_id = got.get(str(data["standard_oids"]["sysObjectID"]))
    profile = recognise(str(object_id.value) if object_id else None, descr.text() if descr else None)
    # hrSystemDate in a GET of its own once the session is up (engine discovery and key localisation done): the
    # device read its clock between our request and its answer, so the midpoint is the auditor's clock at the read,
    # within half the round trip, which probes.json keeps (parse refuses an offset measured over too long a one).
    # On v2c/v3 the profile's model and firmware objects ride in the same GET (an object the agent has not comes
    # back as noSuchObject, the others are answered all the same); on v1 one missing object fails the whole GET,
    # so there they are read apart (_profile_objects).
    riders = _profile_scalars(profile) if session.version != "1" else []
    before = time.time()
    got.update(await session.aget([clock, *riders]))
    after = time.time()
    probes["read_at"] = dt.datetime.fromtimestamp((before + after) / 2, tz=dt.UTC).isoformat(timespec="milliseconds")
    probes["read_rtt_ms"] = round((after - before) * 1000, 1)
    oids.append(clock)
    values.update({oid: got.get(oid) for oid in oids})
    values.update({oid: got.get(oid) for oid in riders})
    values.update({oid: value for oid, value in got.items() if oid not in values})
    return profile


def _profile_scalars(profile: Profile | None) -> list[str]:
    """The vendor profile's scalar objects: model, firmware and the settings that are no table."""
    if profile is None:
        return []
    scalars = [oid for oid in (profile.model_oid, profile.firmware_oid) if oid]
    scalars += ["." + str(spec["oid"]).strip(".") for spec in profile.settings.values() if not spec.get("table")]
    return scalars


async def _profile_objects(session: SnmpSession, profile: Profile | None,
                           values: dict[str, SnmpValue | None]) -> None:
    if profile is None:
        return
    scalars = _profile_scalars(profile) if session.version == "1" else []    # v2c/v3: read with the clock
    tables = ["." + str(spec["oid"]).strip(".") for spec in profile.settings.values() if spec.get("table")]
    if scalars:
        got = await session.aget(scalars)
        values.update({oid: got.get(oid) for oid in scalars})
    for oid in tables:
        values.update(await session.awalk(oid))


async def _ports(host: str, timeout: float) -> dict[str, str]:
    numbers = [int(entry["port"]) for entry in port_table()]
    states = await asyncio.to_thread(wire.port_states, host, numbers, timeout)
    return {str(port): states[port] for port in numbers}


async def _port(host: str, port: int, timeout: float) -> str:
    return (await asyncio.to_thread(wire.port_states, host, [port], timeout))[port]


async def _communities(session: SnmpSession, timeout: float) -> list[dict[str, Any]]:
    data = platform_data()
    tries = [(entry, version) for entry in data["factory_communities"] for version in data["community_versions"]]
    answers = await asyncio.gather(*(session.aprobe_community(str(entry["community"]), str(version),
                                                              str(data["community_probe_oid"]), timeout)
                                     for entry, version in tries), return_exceptions=True)
    return [{"account": str(entry["account"]), "version": str(version),
             "answered": answer if isinstance(answer, bool) else None,
             **({"detail": wire.reason(answer)} if isinstance(answer, BaseException) else {})}
            for (entry, version), answer in zip(tries, answers, strict=True)]


async def _tls(host: str, port: int, timeout: float) -> dict[str, Any]:
    state = await _port(host, port, timeout)
    result: dict[str, Any] = {"port": port, "port_state": state, "tls_versions": {}}
    if state != "open":
        return result
    versions = [str(version) for version in platform_data()["tls_versions"]]
    tries = await asyncio.gather(*(wire.tls_try(host, port, version, timeout) for version in versions))
    certificate = None
    for version, (outcome, der, detail) in zip(versions, tries, strict=True):
        result["tls_versions"][version] = outcome
        if outcome != "accepted":
            result.setdefault("details", {})[version] = detail
        if der and certificate is None:
            certificate = der
    if certificate is not None:
        result["certificate"] = wire.certificate_facts(certificate, dt.datetime.now(dt.UTC))
    return result


async def _plain_http(host: str, connect: float, timeout: float) -> dict[str, Any]:
    port = next((int(e["port"]) for e in port_table() if e.get("service") == "http"), 80)
    state = await _port(host, port, connect)
    if state != "open":
        return {"port": port, "state": "closed" if state in ("closed", "filtered") else "error", "detail": state}
    try:
        answer = await asyncio.to_thread(wire.http_request, "http", host, port, "GET", "/", timeout=timeout)
    except Exception as exc:
        return {"port": port, "state": "error", "detail": wire.reason(exc)}
    return {"port": port, **wire.decide_plain_http(answer, True)}


def login_context(target: Target) -> ssl.SSLContext:
    """The TLS context of the login attempts: verified as the inventory's https extras say (default: verify)."""
    options = target.connection("https")
    if options.get("verify", True) is False:
        return wire.tls_context(None)
    return ssl.create_default_context(cafile=options.get("ca_file"))


def web_login(target: Target, profile: Profile | None, https_probe: dict[str, Any], http_open: bool,
              timeout: float) -> dict[str, Any]:
    """The default-credential check of the web admin (module docstring): at most one attempt per factory account."""
    if profile is None:
        return {"page": "no_profile"}
    admin = profile.web_admin
    login = dict(admin.get("login") or {})
    https = target.connection("https")
    if any(outcome == "accepted" for outcome in https_probe.get("tls_versions", {}).values()):
        scheme, port, context = "https", https.port, login_context(target)
    elif http_open:
        scheme, port, context = "http", int(admin.get("http_port") or 80), None
    elif https_probe.get("port_state") in ("closed", "filtered"):
        return {"page": "no_web_admin", "product": profile.product}
    else:                          # the HTTPS port answers but no handshake completed, or its check failed
        return {"page": "error", "product": profile.product,
                "detail": f"HTTPS port {https_probe.get('port_state')}, no TLS handshake completed"}
    page_path = str(admin.get("login_page") or "/")
    base = {"scheme": scheme, "path": page_path, "product": profile.product}
    try:
        page = wire.http_request(scheme, https.hostname, port, "GET", page_path, timeout=timeout, context=context)
    except ssl.SSLCertVerificationError as exc:
        return {**base, "page": "error", "detail": "certificate not verified (set connection_options.https.extras "
                                                   f"ca_file, or verify: false): {wire.reason(exc)}"}
    except Exception as exc:
        return {**base, "page": "error", "detail": wire.reason(exc)}
    if not wire.page_matches(page, str(admin.get("page_marker") or "")):
        return {**base, "page": "not_matched", "detail": f"HTTP {page.status}, the profile's marker is not in the page"}
    accounts = []
    for entry in admin.get("default_accounts") or []:
        account, password = str(entry["account"]), str(entry.get("password") or "")
        method, path, body, headers = wire.login_request(login, account, password)
        try:
            answer = wire.http_request(scheme, https.hostname, port, method, path, timeout=timeout,
                                       context=context, body=body, headers=headers)
        except Exception as exc:
            accounts.append({"account": account, "outcome": "undetermined", "detail": wire.reason(exc)})
            continue
        outcome = wire.decide_login(answer, dict(login.get("success") or {}))
        accounts.append({"account": account, "outcome": outcome, "detail": f"HTTP {answer.status}"})
        del answer                                  # the body of an accepted login is never kept
    return {**base, "page": "matched", "accounts": accounts}
