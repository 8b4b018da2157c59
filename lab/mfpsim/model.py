"""A simulated printer's state (lab/mfpsim/hosts/<name>.yaml) and what the SNMP agent serves from it.

Pure functions (no network, no files written): `load_state` checks a state file, `snmprec_lines` turns a state and
its vendor's profile (src/hardening/platforms/mfp/profiles.yaml, read at generation time) into the `.snmprec`
records snmpsim serves, `responder_args` is the engine part of one snmpsim-command-responder command line.
The web-admin simulator and the TCP listeners read the same state (lab/mfpsim/web.py).
"""

from __future__ import annotations

import ipaddress
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "src" / "hardening" / "platforms" / "mfp" / "profiles.yaml"

# Risky services a state can open: name -> TCP port, and the first line a client sees (None: accept and close).
SERVICES: dict[str, tuple[int, bytes | None]] = {
    "ftp": (21, b"220 %(model)s FTP server (%(firmware)s) ready.\r\n"),
    "telnet": (23, b"\xff\xfb\x01\xff\xfb\x03\r\n%(model)s\r\nlogin: "),
    "lpd": (515, None),
    "ipp": (631, None),
    "wsd": (5357, None),
    "raw9100": (9100, None),
}
TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
SNMP_TAGS = {"INTEGER": "2", "STRING": "4", "Hex-STRING": "4x", "OID": "6", "IpAddress": "64", "Counter32": "65",
             "Gauge32": "66", "Timeticks": "67", "Counter64": "70"}
SETTING_FACTS = ("storage_encrypted", "overwrite_enabled", "audit_log_enabled", "sntp_servers", "syslog_servers")

# Standard objects (SNMPv2-MIB, HOST-RESOURCES-MIB, ENTITY-MIB, Printer-MIB RFC 3805)
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"
HR_SYSTEM_DATE = "1.3.6.1.2.1.25.1.2.0"
HR_DEVICE_PRINTER = "1.3.6.1.2.1.25.3.1.5"
HR_DEVICE_DISK = "1.3.6.1.2.1.25.3.1.6"
# SNMPv2-MIB's read-write scalars: writable on every printer (writecache), `set_fails` may name them too
STANDARD_WRITABLE = {"sysContact": "1.3.6.1.2.1.1.4.0", "sysName": SYS_NAME, "sysLocation": "1.3.6.1.2.1.1.6.0"}


class StateError(ValueError):
    """A state file that cannot be served: the message names the file and the place."""


@dataclass
class PrinterState:
    name: str
    file: Path
    vendor: str | None                  # profile key; None = a maker no profile knows
    model: str
    firmware: str
    serial: str
    sysdescr: str
    sys_object_id: str
    location: str
    contact: str
    clock_skew_seconds: int
    utc_offset_minutes: int
    uptime_seconds: int
    settings: dict[str, Any]
    set_fails: list[str]
    snmp_agent: bool                    # False: no agent on the address (a silent device)
    snmp_v3: bool
    communities: list[str]              # v2c communities the agent answers ("public"/"private" = factory ones)
    vault_community: bool               # it also answers the vault's snmp_community (or a wrong one: see bad)
    bad: str | None                     # lab fault: "v3_key" (the vault's key is wrong) / "community"
    https: bool
    http: bool                          # port 80 listens at all
    http_plain: bool                    # port 80 serves the admin pages (False: 301 to https)
    tls_versions: list[str]
    default_password_kept: list[str]    # accounts still accepting the factory password
    services: list[str]
    disk: str                           # hrDeviceDescr of the internal storage; "" = none
    extra: dict[str, Any] = field(default_factory=dict)


def load_profiles(path: Path = PROFILES) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return dict(data.get("profiles") or {})


def _need(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise StateError(f"{where}: `{key}` missing")
    if not isinstance(data[key], kind):
        raise StateError(f"{where}: `{key}` must be {getattr(kind, '__name__', kind)}")
    return data[key]


def load_state(path: Path, profiles: Mapping[str, Any]) -> PrinterState:
    """Read and check one host state file (every error names the file and the key)."""
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise StateError(f"{where}: {e}") from None
    if not isinstance(data, dict):
        raise StateError(f"{where}: a mapping is expected")
    vendor = data.get("vendor")
    if vendor is not None and vendor not in profiles:
        raise StateError(f"{where}: vendor {vendor!r} is not a profile of {PROFILES.name} ({', '.join(profiles)})")
    model = str(_need(data, "model", (str, int), where))
    firmware = str(_need(data, "firmware", (str, int, float), where))
    if vendor is None:
        enterprise = int(_need(data, "enterprise", int, where))
        known = {e for p in profiles.values() for e in p.get("enterprises") or []}
        if enterprise in known:
            raise StateError(f"{where}: enterprise {enterprise} belongs to a profile; an unknown maker needs another")
        sysdescr = str(_need(data, "sysdescr", str, where))
        oid = f"1.3.6.1.4.1.{enterprise}.{data.get('product_oid', '1.1')}"
    else:
        enterprise = int(profiles[vendor]["enterprises"][0])
        sysdescr = str(data.get("sysdescr") or "")
        if not sysdescr:
            raise StateError(f"{where}: `sysdescr` missing (the maker's product text)")
        if not re.search(profiles[vendor]["sysdescr"], sysdescr):
            raise StateError(f"{where}: sysdescr does not match the {vendor} profile's pattern")
        oid = f"1.3.6.1.4.1.{enterprise}.{data.get('product_oid', '1.1')}"
    settings = dict(data.get("settings") or {})
    for key in settings:
        if key not in SETTING_FACTS:
            raise StateError(f"{where}: settings.{key} unknown (one of {', '.join(SETTING_FACTS)})")
    for key in ("sntp_servers", "syslog_servers"):
        for ip in settings.get(key) or []:
            try:
                ipaddress.ip_address(str(ip))
            except ValueError:
                raise StateError(f"{where}: settings.{key}: {ip!r} is not an IP address") from None
    snmp = dict(data.get("snmp") or {})
    web = dict(data.get("web") or {})
    tls = [str(v) for v in web.get("tls_versions") or ["TLSv1.2", "TLSv1.3"]]
    for v in tls:
        if v not in TLS_VERSIONS:
            raise StateError(f"{where}: web.tls_versions: {v!r} is not one of {', '.join(TLS_VERSIONS)}")
    services = [str(s) for s in data.get("services") or []]
    for s in services:
        if s not in SERVICES:
            raise StateError(f"{where}: services: {s!r} unknown (one of {', '.join(SERVICES)})")
    bad = snmp.get("bad")
    if bad not in (None, "v3_key", "community"):
        raise StateError(f"{where}: snmp.bad must be v3_key or community")
    accounts = [str(a["account"]) for a in (profiles[vendor]["web_admin"]["default_accounts"] if vendor else [])]
    kept = [str(a) for a in web.get("default_password_kept") or []]
    for a in kept:
        if a not in accounts:
            raise StateError(f"{where}: web.default_password_kept: {a!r} is not a default account of {vendor}")
    set_fails = [str(s) for s in data.get("set_fails") or []]
    return PrinterState(
        name=path.stem, file=path, vendor=vendor, model=model, firmware=firmware,
        serial=str(data.get("serial") or f"SIM{zlib.crc32(path.stem.encode()) % 10**8:08d}"), sysdescr=sysdescr,
        sys_object_id=oid, location=str(data.get("location") or ""), contact=str(data.get("contact") or ""),
        clock_skew_seconds=int(data.get("clock_skew_seconds") or 0),
        utc_offset_minutes=int(data.get("utc_offset_minutes", 540)),
        uptime_seconds=int(data.get("uptime_seconds") or 86400),
        settings=settings, set_fails=set_fails,
        snmp_agent=bool(snmp.get("agent", True)), snmp_v3=bool(snmp.get("v3", True)),
        communities=[str(c) for c in snmp.get("communities") or []],
        vault_community=bool(snmp.get("vault_community", False)), bad=bad,
        https=bool(web.get("https", True)), http=bool(web.get("http", True)),
        http_plain=bool(web.get("http_plain", False)), tls_versions=tls, default_password_kept=kept,
        services=services, disk=str(data.get("disk", "Internal Storage (HDD)") or ""),
        extra=dict(data.get("extra") or {}))


# --------------------------------------------------------------------------------------------------
# .snmprec
# --------------------------------------------------------------------------------------------------
def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(x) for x in oid.strip(".").split("."))


def _record(oid: str, tag: str, value: str) -> str:
    if "|" in value or "\n" in value:
        raise StateError(f"value for {oid} contains '|' or a newline")
    return f"{oid.strip('.')}|{tag}|{value}"


def _hex(text: str) -> str:
    return text.encode("utf-8").hex()


def _string(oid: str, text: str) -> str:
    """OCTET STRING: plain when ASCII-printable, else hex (snmprec's 4x) so UTF-8 stays intact."""
    if text.isascii() and text.isprintable():
        return _record(oid, "4", text)
    return _record(oid, "4x", _hex(text))


def _scalar_oid(oid: str) -> str:
    return oid.strip(".")


def encode_setting(name: str, entry: Mapping[str, Any], value: Any) -> list[tuple[str, str, str]]:
    """A fact-level value (bool, list of IPs) as the (oid, tag, value) records of the profile's object.

    `true_values` (booleans: true -> the first, false -> `false_value` or the first integer that is no true value),
    `map` ({snmp value: fact value}: the key whose value is `value`), lists (one instance per element under a
    column OID, or the first element at a scalar `.0`)."""
    oid = _scalar_oid(str(entry["oid"]))
    kind = str(entry.get("type") or "")
    if isinstance(value, list):
        tag = SNMP_TAGS.get(kind, "64" if all(_is_ip(v) for v in value) else "4")
        if oid.endswith(".0"):
            return [(oid, tag, str(value[0]) if value else ("0.0.0.0" if tag == "64" else ""))]
        return [(f"{oid}.{i}", tag, str(v)) for i, v in enumerate(value, 1)]
    if "map" in entry:
        wanted = [k for k, v in (entry["map"] or {}).items() if v == value]
        if not wanted:
            raise StateError(f"settings.{name}: no value of the profile's map means {value!r}")
        raw: Any = wanted[0]
    elif "true_values" in entry:
        trues = list(entry["true_values"] or [])
        if value:
            raw = trues[0]
        elif "false_value" in entry:
            raw = entry["false_value"]
        else:
            raw = next(i for i in (2, 0, 1, 3, 4) if i not in trues)
    else:
        raw = value
    if isinstance(raw, bool):
        raw = int(raw)
    tag = SNMP_TAGS.get(kind, "2" if isinstance(raw, int) else "4")
    return [(oid, tag, str(raw))]


def _is_ip(v: Any) -> bool:
    try:
        ipaddress.ip_address(str(v))
        return True
    except ValueError:
        return False


def _zero(kind: str) -> str:
    return {"STRING": "", "IpAddress": "0.0.0.0", "OID": "0.0"}.get(kind, "0")


def writecache_alias(host: str) -> str:
    """The writecache module loaded once per printer (its cache is per module, keyed by OID only)."""
    return "wc_" + re.sub(r"[^A-Za-z0-9]", "_", host)


def snmprec_lines(state: PrinterState, profiles: Mapping[str, Any]) -> list[str]:
    """Every record the printer's agent serves, sorted by OID (snmpsim's index needs the order)."""
    profile = profiles.get(state.vendor or "") or {}
    recs: dict[str, tuple[str, str]] = {}

    def put(oid: str, tag: str, value: str) -> None:
        recs[_scalar_oid(oid)] = (tag, value)

    put(SYS_DESCR, *_split(_string(SYS_DESCR, state.sysdescr)))
    put(SYS_OBJECT_ID, "6", state.sys_object_id)
    put(SYS_UPTIME, "67:mfpclock", f"kind=uptime,base={state.uptime_seconds}")
    put("1.3.6.1.2.1.1.4.0", *_split(_string("1.3.6.1.2.1.1.4.0", state.contact)))
    put(SYS_NAME, "4", state.name)
    put("1.3.6.1.2.1.1.6.0", *_split(_string("1.3.6.1.2.1.1.6.0", state.location)))
    put("1.3.6.1.2.1.1.7.0", "2", "72")
    put(HR_SYSTEM_UPTIME, "67:mfpclock", f"kind=uptime,base={state.uptime_seconds}")
    put(HR_SYSTEM_DATE, "4x:mfpclock",
        f"kind=date,skew={state.clock_skew_seconds},utc_offset={state.utc_offset_minutes}")
    # hrDeviceTable row 1: the printer; hrPrinterTable
    put("1.3.6.1.2.1.25.3.2.1.1.1", "2", "1")
    put("1.3.6.1.2.1.25.3.2.1.2.1", "6", HR_DEVICE_PRINTER)
    put("1.3.6.1.2.1.25.3.2.1.3.1", *_split(_string("x", _vendor_name(profile) + state.model)))
    put("1.3.6.1.2.1.25.3.2.1.4.1", "6", "0.0")
    put("1.3.6.1.2.1.25.3.2.1.5.1", "2", "2")
    if state.disk:      # row 2: the internal storage (hrDeviceDiskStorage), what /storage/present is read from
        put("1.3.6.1.2.1.25.3.2.1.1.2", "2", "2")
        put("1.3.6.1.2.1.25.3.2.1.2.2", "6", HR_DEVICE_DISK)
        put("1.3.6.1.2.1.25.3.2.1.3.2", "4", state.disk)
        put("1.3.6.1.2.1.25.3.2.1.4.2", "6", "0.0")
        put("1.3.6.1.2.1.25.3.2.1.5.2", "2", "2")
    put("1.3.6.1.2.1.25.3.5.1.1.1", "2", "3")
    put("1.3.6.1.2.1.25.3.5.1.2.1", "4x", "00")
    # ENTITY-MIB entPhysicalTable row 1 (chassis): descr, class, name, firmware/software revision, serial, model
    put("1.3.6.1.2.1.47.1.1.1.1.2.1", *_split(_string("x", state.sysdescr)))
    put("1.3.6.1.2.1.47.1.1.1.1.5.1", "2", "3")
    put("1.3.6.1.2.1.47.1.1.1.1.7.1", *_split(_string("x", state.model)))
    put("1.3.6.1.2.1.47.1.1.1.1.9.1", *_split(_string("x", state.firmware)))
    put("1.3.6.1.2.1.47.1.1.1.1.10.1", *_split(_string("x", state.firmware)))
    put("1.3.6.1.2.1.47.1.1.1.1.11.1", *_split(_string("x", state.serial)))
    put("1.3.6.1.2.1.47.1.1.1.1.13.1", *_split(_string("x", state.model)))
    # Printer-MIB prtGeneralTable (hrDeviceIndex 1): config changes, localization, reset, printer name, serial
    put("1.3.6.1.2.1.43.5.1.1.1.1", "65", "3")
    put("1.3.6.1.2.1.43.5.1.1.2.1", "2", "1")
    put("1.3.6.1.2.1.43.5.1.1.3.1", "2", "3")
    put("1.3.6.1.2.1.43.5.1.1.16.1", *_split(_string("x", state.model)))
    put("1.3.6.1.2.1.43.5.1.1.17.1", *_split(_string("x", state.serial)))
    put("1.3.6.1.2.1.43.10.2.1.4.1.1", "65", "48213")     # prtMarkerLifeCount
    # the vendor's own objects for model and firmware, where the profile names them
    if profile.get("model_oid"):
        put(str(profile["model_oid"]), *_split(_string("x", state.model)))
    if profile.get("firmware_oid"):
        put(str(profile["firmware_oid"]), *_split(_string("x", state.firmware)))
    # vendor settings (only where the profile has the object: elsewhere the platform says `manual`)
    settings = dict(profile.get("settings") or {})
    for name, value in state.settings.items():
        if name in settings and (settings[name] or {}).get("oid"):
            for oid, tag, raw in encode_setting(name, settings[name], value):
                put(oid, tag, raw)
    # writable objects: writecache (SET persists in memory, per printer); a planted failure: the error variation
    alias = writecache_alias(state.name)
    writable = {name: {"oid": oid, "type": "STRING"} for name, oid in STANDARD_WRITABLE.items()}
    writable.update({k: v for k, v in (profile.get("writable") or {}).items() if (v or {}).get("oid")})
    unknown = set(state.set_fails) - set(writable)
    if unknown:
        raise StateError(f"{state.file}: set_fails {sorted(unknown)} are neither writable settings of the profile "
                         f"nor {', '.join(STANDARD_WRITABLE)}")
    for name, entry in writable.items():
        oid = _scalar_oid(str(entry["oid"]))
        tag, raw = recs.get(oid, (SNMP_TAGS.get(str(entry.get("type") or "INTEGER"), "2"),
                                  _zero(str(entry.get("type") or ""))))
        base = tag.split(":")[0]
        value = f"value={raw}"
        if base.endswith("x") or "," in raw or "=" in raw:     # the variations' own syntax: hex it
            base = base.rstrip("x")
            value = f"hexvalue={raw if tag.endswith('x') else _hex(raw)}"
        if name in state.set_fails:
            put(oid, f"{base}:error", f"op=set,status=commitfailed,{value}")
        else:
            put(oid, f"{base}:{alias}", value)
    return [_record(oid, tag, value) for oid, (tag, value) in sorted(recs.items(), key=lambda kv: _oid_key(kv[0]))]


def _split(record: str) -> tuple[str, str]:
    _, tag, value = record.split("|", 2)
    return tag, value


def _vendor_name(profile: Mapping[str, Any]) -> str:
    name = (profile.get("name") or {}).get("en")
    return f"{name} " if name and not str(name).startswith("FUJIFILM Business") else (
        "FUJIFILM " if name else "")


# --------------------------------------------------------------------------------------------------
# snmpsim command line
# --------------------------------------------------------------------------------------------------
def derived_wrong(secret: str, prefix: str) -> str:
    """A lab fault's device-side secret: derived from the vault's, never equal to it."""
    import hashlib

    return prefix + hashlib.sha256(("mfpsim-wrong:" + secret).encode()).hexdigest()[:20]


def engine_args(state: PrinterState, address: str, data_dir: Path, secrets: Mapping[str, str],
                v3_user: str) -> list[str]:
    """One snmpsim engine (its own engine ID, endpoint, data dir and USM user), as `--opt=value` items of the
    responder's --args-from-file (values without blanks). Empty for a silent printer."""
    if not state.snmp_agent:
        return []
    args = ["--v3-engine-id=auto", f"--data-dir={data_dir}", f"--agent-udpv4-endpoint={address}:161"]
    if state.snmp_v3 and secrets.get("snmp_auth_key"):
        auth = str(secrets["snmp_auth_key"])
        if state.bad == "v3_key":
            auth = derived_wrong(auth, "Auth-")
        args += [f"--v3-user={v3_user}", f"--v3-auth-key={auth}", "--v3-auth-proto=SHA",
                 f"--v3-priv-key={secrets['snmp_priv_key']}", "--v3-priv-proto=AES"]
    else:   # snmpsim would add its documented default user (simulator/auctoritas): one nobody knows instead
        seed = str(secrets.get("snmp_community") or state.name)
        args += ["--v3-user=disabled", f"--v3-auth-key={derived_wrong(seed, 'A')}", "--v3-auth-proto=SHA",
                 f"--v3-priv-key={derived_wrong(seed, 'P')}", "--v3-priv-proto=AES"]
    for a in args:
        if any(c.isspace() for c in a):
            raise StateError(f"{state.name}: blank in an snmpsim argument")
    return args


def data_files(state: PrinterState, secrets: Mapping[str, str]) -> list[str]:
    """The community names (= data file names) of a printer: `self` (the v3 default context), the factory
    communities it keeps, and the configured v2c community (a wrong one for the bad-community fault)."""
    names = ["self"] if state.snmp_v3 else []
    names += state.communities
    if state.vault_community and secrets.get("snmp_community"):
        community = str(secrets["snmp_community"])
        names.append(derived_wrong(community, "c") if state.bad == "community" else community)
    for n in names:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", n):
            raise StateError(f"{state.name}: community/data file name {n!r} not usable")
    return names


def vendor_accounts(state: PrinterState, profiles: Mapping[str, Any]) -> list[dict[str, str]]:
    if not state.vendor:
        return []
    return [dict(a) for a in profiles[state.vendor]["web_admin"]["default_accounts"]]


def tls_bounds(versions: Sequence[str]) -> tuple[str, str]:
    order = [v for v in TLS_VERSIONS if v in versions]
    if not order:
        raise StateError("web.tls_versions is empty")
    return order[0], order[-1]
