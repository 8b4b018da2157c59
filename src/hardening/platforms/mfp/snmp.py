"""One SNMP session per printer per run: pysnmp 7 (v3arch asyncio) inside, synchronous outside.

The session reads with the credentials of the inventory and the vault: SNMPv3 (USM user
`connection_options.snmp.extras.v3_user`, keys `snmp_auth_key`/`snmp_priv_key`, authPriv unless the inventory
says otherwise), or v2c/v1 with the `snmp_community` secret when `extras.version` says so. One SnmpEngine and one
event loop per session (never one per request); the async methods (`aget`, `awalk`, `aprobe_community`) let the
collection run the device's other checks on the same loop at the same time. OIDs are resolved against ONE MIB view
per process (`_object_types`, under a lock): pysnmp's hlapi would give each engine a view of its own and build a MIB
compiler for it at the first OID (ply generating its parser tables), which was half the CPU of a printer's pass.

Errors: no answer -> DeviceTimeout ("no SNMP answer: silent device or wrong community"); a wrong v3 key or an
unknown user (the agent's USM report) -> AuthenticationFailed. Never a key or community in a message.

change.py (plan/apply by SNMP SET) uses the same session: `set` raises SnmpSetError naming the OID.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import types
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from hardening.core.errors import AuthenticationFailed, CollectionError, DeviceTimeout, DeviceUnreachable
from hardening.core.platform import Target
from hardening.core.secrets import REDACTOR
from hardening.platforms.mfp.walk import SnmpValue, hex_bytes, hex_text

__all__ = ["SnmpSession", "SnmpSetError", "SnmpValue", "probe_community"]

T = TypeVar("T")

AUTH_PROTOCOLS = {"MD5": "usmHMACMD5AuthProtocol", "SHA": "usmHMACSHAAuthProtocol",
                  "SHA-224": "usmHMAC128SHA224AuthProtocol", "SHA-256": "usmHMAC192SHA256AuthProtocol",
                  "SHA-384": "usmHMAC256SHA384AuthProtocol", "SHA-512": "usmHMAC384SHA512AuthProtocol"}
PRIV_PROTOCOLS = {"DES": "usmDESPrivProtocol", "3DES": "usm3DESEDEPrivProtocol", "AES": "usmAesCfb128Protocol",
                  "AES-192": "usmAesCfb192Protocol", "AES-256": "usmAesCfb256Protocol"}
# The agent's USM reports (RFC 3414 3.2) that mean our credentials were refused, by pysnmp's indication class.
REFUSED = {"UnknownUserName": "unknown SNMPv3 user", "WrongDigest": "SNMPv3 authentication key refused",
           "DecryptionError": "SNMPv3 privacy key refused (the agent could not decrypt)",
           "UnsupportedSecLevel": "SNMPv3 security level not supported by the agent",
           "AuthenticationFailure": "SNMPv3 authentication refused",
           "AuthenticationError": "SNMPv3 authentication refused"}
NO_ANSWER = "no SNMP answer: silent device or wrong community"


class SnmpSetError(CollectionError):
    """A SET the agent refused (names the OID and the agent's error, never a value that is a secret)."""

    def __init__(self, host: str, oid: str, reason: str) -> None:
        super().__init__(host, f"SNMP SET of {oid} refused: {reason}")
        self.oid = oid
        self.reason = reason


def _secret(credentials: Any, field: str, purpose: str) -> str:
    credentials.require(field, purpose=purpose)
    return str(getattr(credentials, field).reveal())


def _hlapi() -> Any:
    from pysnmp.hlapi.v3arch import asyncio as hlapi

    cache_mib_compilation()
    return hlapi


_CODE: dict[tuple[str, str], types.CodeType] = {}


def _compile(source: str, filename: str, mode: str) -> types.CodeType:
    key = (filename, source)
    if key not in _CODE:
        _CODE[key] = compile(source, filename, mode)
    return _CODE[key]


def _run_path(path: str, init_globals: dict[str, Any]) -> dict[str, Any]:
    code = next((c for (name, _), c in list(_CODE.items()) if name == path), None)
    if code is None:
        code = _compile(Path(path).read_text(encoding="utf-8"), path, "exec")
    exec(code, init_globals)  # noqa: S102 - pysnmp's own MIB modules, as runpy.run_path would run them
    return init_globals


def cache_mib_compilation() -> None:
    """Make pysnmp's MibBuilder compile each of its MIB modules once per process. Every SnmpEngine (one per device:
    each printer has its own USM user and keys) loads the same modules again, and the builder compiles each source
    twice per load (`read`, then `runpy.run_path`): about 0.9 s of CPU per engine on the lab machine, 0.1 s with the
    code objects kept by path and source. Same modules, same execution: only the compilation is shared. Idempotent;
    the lab's SNMP agents (lab/mfpsim/responder.py) use it too."""
    from pysnmp.smi import builder

    if getattr(builder, "compile", None) is not _compile:
        builder.compile = _compile
        builder.runpy = types.SimpleNamespace(run_path=_run_path)


_VIEW_LOCK = threading.Lock()
_VIEW: list[Any] = []


def _view() -> Any:
    """The process's one MIB view (call with _VIEW_LOCK held)."""
    if not _VIEW:
        from pysnmp.smi import builder, view

        _VIEW.append(view.MibViewController(builder.MibBuilder()))
    return _VIEW[0]


def forget_mib_view() -> None:
    """Drop the shared MIB view: the next request builds it as a new process would (the benchmark's rounds)."""
    with _VIEW_LOCK:
        _VIEW.clear()


def _object_types(oids: Sequence[str], values: Sequence[Any] | None = None) -> list[Any]:
    """pysnmp ObjectTypes of `oids` (with `values` for a SET), resolved against the shared MIB view exactly as
    pysnmp's command generator resolves them (it then finds them resolved and leaves them)."""
    hlapi = _hlapi()
    with _VIEW_LOCK:
        view = _view()
        found = []
        for position, oid in enumerate(oids):
            identity = hlapi.ObjectIdentity(oid.strip("."))
            bind = hlapi.ObjectType(identity) if values is None else hlapi.ObjectType(identity, values[position])
            found.append(bind.resolve_with_mib(view, ignoreErrors=False))
        return found


class SnmpSession:
    """One device's SNMP session (see the module docstring). Use as a context manager or call close()."""

    def __init__(self, target: Target, timeout: float = 2.0, retries: int = 1) -> None:
        hlapi = _hlapi()
        self.host = target.host.name
        options = target.connection("snmp")
        self.address = (options.hostname, options.port)
        self.version = str(options.get("version") or "3")
        self.timeout = min(timeout, target.timeout)
        self.retries = int(options.get("retries", retries))
        credentials = target.credentials
        if self.version == "3":
            user = options.get("v3_user") or credentials.username
            if not user:
                raise AuthenticationFailed(self.host, "no SNMPv3 user: set connection_options.snmp.extras.v3_user")
            level = str(options.get("security_level") or "authPriv")
            auth_key = priv_key = None
            auth_protocol = priv_protocol = None
            if level in ("authPriv", "authNoPriv"):
                auth_key = _secret(credentials, "snmp_auth_key", "SNMPv3 authentication")
                auth_protocol = getattr(hlapi, AUTH_PROTOCOLS[str(options.get("auth_protocol") or "SHA")])
            if level == "authPriv":
                priv_key = _secret(credentials, "snmp_priv_key", "SNMPv3 privacy")
                priv_protocol = getattr(hlapi, PRIV_PROTOCOLS[str(options.get("priv_protocol") or "AES")])
            self.auth: Any = hlapi.UsmUserData(str(user), authKey=auth_key, privKey=priv_key,
                                               authProtocol=auth_protocol, privProtocol=priv_protocol)
        elif self.version in ("2c", "1"):
            self.auth = hlapi.CommunityData(_secret(credentials, "snmp_community", f"SNMP v{self.version}"),
                                            mpModel=1 if self.version == "2c" else 0)
        else:
            raise CollectionError(self.host, f"SNMP version {self.version!r} is not 3, 2c or 1")
        self.context = hlapi.ContextData(contextName=str(options.get("context") or ""))
        self.loop = asyncio.new_event_loop()
        self.engine = self.run(_engine())      # made on the session's loop, which its dispatcher then uses
        self._transports: dict[tuple[float, int], Any] = {}

    # -- synchronous API -------------------------------------------------------------------------------------------
    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def get(self, oids: Sequence[str]) -> dict[str, SnmpValue]:
        """{oid: value} of one GET; an object the agent has not is not in the result."""
        return self.run(self.aget(oids))

    def walk(self, prefix: str) -> dict[str, SnmpValue]:
        """{oid: value} of every object below `prefix` (GETBULK on v2c/v3, GETNEXT on v1)."""
        return self.run(self.awalk(prefix))

    def set(self, values: Mapping[str, SnmpValue]) -> None:
        """One SET of every value (the agent applies all or none); SnmpSetError naming the OID when refused."""
        self.run(self.aset(values))

    def close(self) -> None:
        if self.loop.is_closed():
            return
        with contextlib.suppress(Exception):       # closing what may never have opened
            self.engine.close_dispatcher()
        _finish(self.loop)

    def __enter__(self) -> SnmpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- asynchronous API (on self.loop) ---------------------------------------------------------------------------
    async def transport(self, timeout: float | None = None, retries: int | None = None) -> Any:
        key = (self.timeout if timeout is None else timeout, self.retries if retries is None else retries)
        if key not in self._transports:
            try:
                self._transports[key] = await _hlapi().UdpTransportTarget.create(self.address, timeout=key[0],
                                                                                 retries=key[1])
            except Exception as exc:
                raise DeviceUnreachable(self.host, f"SNMP address {self.address[0]}: "
                                                   f"{REDACTOR.scrub(str(exc))[:160]}") from None
        return self._transports[key]

    async def aget(self, oids: Sequence[str]) -> dict[str, SnmpValue]:
        hlapi = _hlapi()
        error, status, index, answer = await hlapi.get_cmd(self.engine, self.auth, await self.transport(),
                                                           self.context, *_object_types(oids), lookupMib=False)
        self._check(error, status, index, oids)
        return _values(answer)

    async def awalk(self, prefix: str) -> dict[str, SnmpValue]:
        hlapi = _hlapi()
        bind = _object_types([prefix])[0]
        transport = await self.transport()
        if self.version == "1":
            walker = hlapi.walk_cmd(self.engine, self.auth, transport, self.context, bind,
                                    lexicographicMode=False, lookupMib=False)
        else:
            walker = hlapi.bulk_walk_cmd(self.engine, self.auth, transport, self.context, 0, 16, bind,
                                         lexicographicMode=False, lookupMib=False)
        found: dict[str, SnmpValue] = {}
        async for error, status, index, answer in walker:
            self._check(error, status, index, [prefix])
            found.update(_values(answer))
        return found

    async def acolumns(self, prefixes: Sequence[str], repetitions: int = 24) -> dict[str, SnmpValue]:
        """Every object below each of `prefixes` (table columns) in one GETBULK where the columns are short (a
        printer's hrDeviceTable), walking on only a column that filled all `repetitions` rows; GETNEXT walks on v1."""
        if self.version == "1":
            found: dict[str, SnmpValue] = {}
            for prefix in prefixes:
                found.update(await self.awalk(prefix))
            return found
        hlapi = _hlapi()
        error, status, index, answer = await hlapi.bulk_cmd(self.engine, self.auth, await self.transport(),
                                                            self.context, 0, repetitions, *_object_types(prefixes),
                                                            lookupMib=False)
        self._check(error, status, index, list(prefixes))
        rows = _values(answer)
        found = {}
        for prefix in prefixes:
            inside = {oid: value for oid, value in rows.items() if oid.startswith(prefix.rstrip(".") + ".")}
            if len(inside) >= repetitions:          # the column may go on: walk it whole
                inside = await self.awalk(prefix)
            found.update(inside)
        return found

    async def aread(self, scalars: Sequence[str], columns: Sequence[str],
                    repetitions: int = 24) -> dict[str, SnmpValue]:
        """The scalar instances `scalars` and every object of the table `columns`, in ONE GETBULK on v2c/v3: each
        scalar as a non-repeater GETNEXT of its parent (kept only when the agent returns that very instance), the
        columns as the repeaters; a column that fills all `repetitions` rows is walked on. v1 (no GETBULK), or an
        agent refusing the request: a GET and the columns' walks."""
        if self.version == "1":
            found = await self.aget(scalars)
            found.update(await self.acolumns(columns))
            return found
        hlapi = _hlapi()
        parents = [oid.rstrip(".").rsplit(".", 1)[0] for oid in scalars]
        binds = _object_types([*parents, *columns])
        error, status, index, answer = await hlapi.bulk_cmd(self.engine, self.auth, await self.transport(),
                                                            self.context, len(scalars), repetitions, *binds,
                                                            lookupMib=False)
        if error is None and status:
            found = await self.aget(scalars)
            found.update(await self.acolumns(columns))
            return found
        self._check(error, status, index, [*scalars, *columns])
        rows = list(answer)
        found = {}
        for oid, bind in zip(scalars, rows[:len(scalars)], strict=False):
            value = _values([bind]).get(oid)
            if value is not None:
                found[oid] = value
        repeated = _values(rows[len(scalars):])
        for prefix in columns:
            inside = {oid: value for oid, value in repeated.items() if oid.startswith(prefix.rstrip(".") + ".")}
            if len(inside) >= repetitions:
                inside = await self.awalk(prefix)
            found.update(inside)
        return found

    async def aset(self, values: Mapping[str, SnmpValue]) -> None:
        hlapi = _hlapi()
        binds = _object_types(list(values), [_pysnmp_value(value) for value in values.values()])
        error, status, index, _answer = await hlapi.set_cmd(self.engine, self.auth, await self.transport(),
                                                            self.context, *binds, lookupMib=False)
        if error is None and status:
            oids = list(values)
            where = oids[int(index) - 1] if index and 0 < int(index) <= len(oids) else ", ".join(oids)
            raise SnmpSetError(self.host, where, str(status.prettyPrint()))
        self._check(error, status, index, list(values))

    async def aprobe_community(self, community: str, version: str, oid: str, timeout: float) -> bool:
        """One GET of `oid` with `community` over v1/v2c (one packet, never retried): did the agent answer?"""
        return await _probe(self.address, community, version, oid, timeout)

    def _check(self, error: Any, status: Any, index: Any, oids: Sequence[str]) -> None:
        if error is not None:
            kind = type(error).__name__
            if kind in REFUSED:
                raise AuthenticationFailed(self.host, REFUSED[kind])
            if kind == "RequestTimedOut":
                raise DeviceTimeout(self.host, f"{NO_ANSWER} ({self.address[0]} udp/{self.address[1]}, "
                                               f"SNMP v{self.version}, {self.timeout:g} s x {self.retries + 1})")
            raise DeviceUnreachable(self.host, f"SNMP: {REDACTOR.scrub(str(error))[:160]}")
        if status and str(status.prettyPrint()) != "noSuchName":
            where = oids[int(index) - 1] if index and 0 < int(index) <= len(oids) else ", ".join(oids)
            raise DeviceUnreachable(self.host, f"SNMP error {status.prettyPrint()} at {where}")


def _values(answer: Sequence[Any]) -> dict[str, SnmpValue]:
    found: dict[str, SnmpValue] = {}
    for bind in answer:
        oid, value = bind[0], bind[1]
        converted = snmp_value(value)
        if converted is not None:
            found["." + str(oid)] = converted
    return found


def snmp_value(value: Any) -> SnmpValue | None:
    """A pysnmp value as net-snmp prints it; None for noSuchObject/noSuchInstance/endOfMibView."""
    kind = type(value).__name__
    if kind in ("NoSuchObject", "NoSuchInstance", "EndOfMibView"):
        return None
    if kind in ("OctetString", "Opaque", "Bits"):
        data = bytes(value.asOctets())
        if printable(data):
            return SnmpValue("STRING", data.decode("ascii"))
        return SnmpValue("Hex-STRING", hex_text(data))
    if kind == "ObjectIdentifier":
        return SnmpValue("OID", "." + str(value))
    if kind == "TimeTicks":
        return SnmpValue("Timeticks", int(value))
    if kind == "IpAddress":
        return SnmpValue("IpAddress", ".".join(str(byte) for byte in bytes(value.asOctets())))
    if kind in ("Integer", "Integer32"):
        return SnmpValue("INTEGER", int(value))
    if kind in ("Counter32", "Counter64", "Gauge32"):
        return SnmpValue(kind, int(value))
    if kind == "Unsigned32":
        return SnmpValue("Gauge32", int(value))
    if kind == "Null":
        return SnmpValue("NULL", "")
    return SnmpValue(kind, str(value.prettyPrint()))


def printable(data: bytes) -> bool:
    """net-snmp prints an octet string as STRING when every byte is printable ASCII or white space."""
    return all(32 <= byte < 127 or byte in (9, 10, 13) for byte in data)


def _pysnmp_value(value: SnmpValue) -> Any:
    from pysnmp.proto import rfc1902

    if value.type == "STRING":
        return rfc1902.OctetString(str(value.value).encode("utf-8"))
    if value.type == "Hex-STRING":
        return rfc1902.OctetString(hex_bytes(str(value.value)))
    if value.type == "INTEGER":
        return rfc1902.Integer32(int(value.value))
    if value.type == "Gauge32":
        return rfc1902.Gauge32(int(value.value))
    if value.type == "OID":
        return rfc1902.ObjectName(str(value.value).strip("."))
    if value.type == "IpAddress":
        return rfc1902.IpAddress(str(value.value))
    raise ValueError(f"cannot SET a value of type {value.type}")


def _finish(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still pending on `loop` (pysnmp's timer task), let it end, close the loop."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()


async def _engine() -> Any:
    engine = _hlapi().SnmpEngine()
    with _VIEW_LOCK:
        engine.cache["mibViewController"] = _view()     # never used to resolve: the OIDs come resolved
    return engine


def _ber_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    data = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(data)]) + data


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _ber_length(len(value)) + value


def _ber_int(number: int) -> bytes:
    return _tlv(0x02, number.to_bytes(max(1, (number.bit_length() + 8) // 8), "big", signed=True))


def _ber_oid(oid: str) -> bytes:
    parts = [int(part) for part in oid.strip(".").split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        rest = part >> 7
        chunk = [part & 0x7F]
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def community_get(community: str, version: str, oid: str, request_id: int) -> bytes:
    """The datagram of one SNMP v1/v2c GetRequest of `oid` (RFC 1157 / RFC 3416 message, BER)."""
    varbind = _tlv(0x30, _ber_oid(oid) + b"\x05\x00")
    pdu = _tlv(0xA0, _ber_int(request_id) + _ber_int(0) + _ber_int(0) + _tlv(0x30, varbind))
    return _tlv(0x30, _ber_int(1 if version == "2c" else 0) + _tlv(0x04, community.encode("utf-8")) + pdu)


def _read_tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the BER element at `at`; ValueError when cut."""
    if at + 2 > len(data):
        raise ValueError("cut")
    tag, length, start = data[at], data[at + 1], at + 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(data[start:start + size], "big")
        start += size
    if start + length > len(data):
        raise ValueError("cut")
    return tag, start, start + length


def is_response(datagram: bytes, request_id: int) -> bool:
    """A Response PDU to our request id: the agent accepted the community (an agent that refuses one sends
    nothing, RFC 1157 4.1, RFC 3584)."""
    try:
        tag, start, _end = _read_tlv(datagram, 0)
        if tag != 0x30:
            return False
        _tag, _start, after_version = _read_tlv(datagram, start)
        _tag, _start, after_community = _read_tlv(datagram, after_version)
        tag, pdu_start, _end = _read_tlv(datagram, after_community)
        if tag != 0xA2:
            return False
        tag, id_start, id_end = _read_tlv(datagram, pdu_start)
        return tag == 0x02 and int.from_bytes(datagram[id_start:id_end], "big", signed=True) == request_id
    except ValueError:
        return False


async def _probe(address: tuple[str, int], community: str, version: str, oid: str, timeout: float) -> bool:
    """One GetRequest datagram with `community`, never repeated: True when the agent answered it in `timeout`."""
    loop = asyncio.get_running_loop()
    request_id = secrets.randbelow(2**31 - 1) + 1
    answered: asyncio.Future[bool] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            if is_response(data, request_id) and not answered.done():
                answered.set_result(True)

        def error_received(self, exc: Exception) -> None:      # ICMP port unreachable: nobody there
            if not answered.done():
                answered.set_result(False)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=address)
    try:
        transport.sendto(community_get(community, version, oid, request_id))
        return await asyncio.wait_for(answered, timeout)
    except TimeoutError:
        return False
    finally:
        transport.close()


def probe_community(host: str, port: int, community: str, version: str, timeout: float) -> bool:
    """One GET of sysDescr with `community` over v1 or v2c, one packet, never retried: True when the agent
    answered (any answer, even an error status, proves the community is accepted)."""
    return asyncio.run(_probe((host, port), community, version, ".1.3.6.1.2.1.1.1.0", timeout))
