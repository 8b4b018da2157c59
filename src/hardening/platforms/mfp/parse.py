"""A printer's facts from its capture: the SNMP walk (net-snmp text) and, for a live run, probes.json. Pure
functions, contacting nothing: the same code serves a live collection, a saved capture and a walk an administrator
made by hand.

What each fact comes from:
- /os: sysDescr (name), sysName (hostname), the vendor profile recognised from sysObjectID/sysDescr (vendor),
  hrDeviceDescr of the hrDevicePrinter device, else prtGeneralPrinterName, else the profile's model object (model),
  the profile's firmware object (version: `manual` where the profile has none).
- /storage/present: an hrDeviceDiskStorage device in hrDeviceTable (none listed: `manual`, many agents list no
  disk); /storage/encrypted, /storage/overwrite_enabled, /logging/audit_log_enabled, /logging/remote_targets,
  /time/ntp_servers: the profile's setting objects, else `manual` naming the vendor and where to look.
- /time/offset_ms_abs: hrSystemDate against the auditor's clock at the read (probes.json `read_at`).
- live only (probes.json; absent: `errors`): /management/web_admin, /management/insecure_protocols,
  /network/exposed_sockets, /services/prohibited_present, /accounts/default_credentials_accepted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from hardening.platforms.common.netcli import Result
from hardening.platforms.mfp.data import platform_data, port_table
from hardening.platforms.mfp.profiles import SETTINGS, Profile, recognise
from hardening.platforms.mfp.walk import SnmpValue, date_and_time, under

LIVE_ONLY = ("/management/web_admin", "/management/insecure_protocols", "/network/exposed_sockets",
             "/services/prohibited_present", "/accounts/default_credentials_accepted", "/time/offset_ms_abs")
NO_PROBES = "live only: the capture has no probes.json (an SNMP walk alone cannot show open ports, TLS, web logins " \
            "or the auditor's clock at the read)"
UNSET_ADDRESSES = ("0.0.0.0", "::", "")  # noqa: S104 - an address a device shows for "not set"
TLS_ORDER = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def std(name: str) -> str:
    return str(platform_data()["standard_oids"][name])


def build(walk: Mapping[str, SnmpValue], probes: Mapping[str, Any] | None) -> Result:
    """The facts, errors, manual items and evidence of one printer's capture."""
    result = Result()
    descr = walk.get(std("sysDescr"))
    object_id = walk.get(std("sysObjectID"))
    descr_text = descr.text() if descr is not None else None
    profile = recognise(str(object_id.value) if object_id is not None else None, descr_text)
    result.put("/os/family", "mfp")
    result.put("/os/vendor", profile.key if profile else None)
    if descr_text is not None:
        result.put("/os/name", " ".join(descr_text.split()))
        result.cite("/os/name", "snmpwalk.txt", [f"sysDescr = {descr_text}"])
    else:
        result.errors["/os/name"] = "sysDescr (.1.3.6.1.2.1.1.1.0) is not in the walk"
    name = walk.get(std("sysName"))
    if name is not None and name.text().strip():
        result.put("/os/hostname", name.text().strip())
    else:
        result.errors["/os/hostname"] = "sysName (.1.3.6.1.2.1.1.5.0) is not in the walk or empty"
    if profile:
        result.cite("/os/vendor", "snmpwalk.txt", [f"sysObjectID = {object_id.value if object_id else '-'}",
                                                   f"profile: {profile.key} ({profile.name_en})"])
    _model(result, walk, profile)
    _firmware(result, walk, profile)
    _storage_present(result, walk)
    for setting, (pointer, words) in SETTINGS.items():
        _setting(result, walk, profile, setting, pointer, words)
    if probes is None:
        for pointer in LIVE_ONLY:
            result.errors[pointer] = NO_PROBES
        return result
    _clock(result, walk, probes)
    _live(result, probes, profile)
    return result


def _model(result: Result, walk: Mapping[str, SnmpValue], profile: Profile | None) -> None:
    types = under(walk, platform_data()["walked_oids"]["hrDeviceType"])
    descrs = under(walk, platform_data()["walked_oids"]["hrDeviceDescr"])
    printer = str(platform_data()["device_types"]["printer"])
    for index in sorted(types, key=lambda i: int(i) if i.isdigit() else 0):
        if str(types[index].value) == printer and index in descrs and descrs[index].text().strip():
            result.put("/os/model", descrs[index].text().strip())
            return
    general = walk.get(std("prtGeneralPrinterName"))
    if general is not None and general.text().strip():
        result.put("/os/model", general.text().strip())
        return
    if profile and profile.model_oid and profile.model_oid in walk and walk[profile.model_oid].text().strip():
        result.put("/os/model", walk[profile.model_oid].text().strip())
        return
    result.errors["/os/model"] = ("no model: neither hrDeviceDescr of an hrDevicePrinter device, "
                                  "prtGeneralPrinterName nor the vendor's model object is in the walk")


def _firmware(result: Result, walk: Mapping[str, SnmpValue], profile: Profile | None) -> None:
    if profile is None or profile.firmware_oid is None:
        for name in ("entPhysicalFirmwareRev", "entPhysicalSoftwareRev"):
            value = walk.get(std(name))
            if value is not None and value.text().strip():
                result.put("/os/version", value.text().strip())
                result.cite("/os/version", "snmpwalk.txt", [f"{name}.1 = {value.text().strip()}"])
                return
    if profile is None:
        result.manual["/os/version"] = ("unknown vendor: no profile says which SNMP object holds the firmware "
                                        "version; read it on the device's information page and attest it")
        return
    if profile.firmware_oid is None:
        result.manual["/os/version"] = (f"{profile.name_en} profile: no SNMP object for the firmware version (and no "
                                        "ENTITY-MIB firmware/software revision answered); read it on "
                                        f"{profile.product}'s device/system information page and attest it")
        return
    value = walk.get(profile.firmware_oid)
    if value is None or not value.text().strip():
        result.errors["/os/version"] = f"{profile.name_en} firmware object {profile.firmware_oid} is not in the walk"
        return
    result.put("/os/version", value.text().strip())
    result.cite("/os/version", "snmpwalk.txt", [f"{profile.firmware_oid} = {value.text().strip()}"])


def _storage_present(result: Result, walk: Mapping[str, SnmpValue]) -> None:
    types = under(walk, platform_data()["walked_oids"]["hrDeviceType"])
    disk = str(platform_data()["device_types"]["disk_storage"])
    if any(str(value.value) == disk for value in types.values()):
        result.put("/storage/present", True)
        return
    result.manual["/storage/present"] = ("hrDeviceTable lists no disk (hrDeviceDiskStorage); many printers list "
                                         "none even with an HDD/SSD: check the device's configuration page")


def _setting(result: Result, walk: Mapping[str, SnmpValue], profile: Profile | None, setting: str, pointer: str,
             words: str) -> None:
    if profile is None:
        result.manual[pointer] = f"unknown vendor: no SNMP object known for {words}; check it on the device or attest"
        return
    spec = profile.settings.get(setting)
    if spec is None:
        result.manual[pointer] = (f"{profile.name_en} profile: no SNMP object for {words}; check it in "
                                  f"{profile.product} or attest it")
        return
    oid = "." + str(spec["oid"]).strip(".")
    if spec.get("table"):
        rows = under(walk, oid)
        if not rows and oid not in walk:
            result.errors[pointer] = f"{profile.name_en} object {oid} ({spec.get('source')}) is not in the walk"
            return
        servers = [value.text().strip() for _, value in sorted(rows.items())]
        servers = [server for server in servers if server and server not in (UNSET_ADDRESSES)]
        if setting == "syslog_servers":
            result.put(pointer, [{"host": server, "protocol": "udp", "port": 514} for server in servers])
        else:
            result.put(pointer, servers)
        return
    value = walk.get(oid)
    if value is None:
        result.errors[pointer] = f"{profile.name_en} object {oid} ({spec.get('source')}) is not in the walk"
        return
    raw = value.text().strip()
    if setting in ("sntp_servers", "syslog_servers"):
        servers = [item for item in raw.replace(",", " ").split() if item not in (UNSET_ADDRESSES)]
        result.put(pointer, [{"host": s, "protocol": "udp", "port": 514} for s in servers]
                   if setting == "syslog_servers" else servers)
        return
    if "map" in spec:
        mapped = {str(key): item for key, item in dict(spec["map"]).items()}
        if raw not in mapped or not isinstance(mapped[raw], bool):
            result.errors[pointer] = f"{profile.name_en} object {oid} has the value {raw!r}, not one the profile maps"
            return
        result.put(pointer, mapped[raw])
    else:
        result.put(pointer, raw in {str(item) for item in spec.get("true_values") or ()})
    result.cite(pointer, "snmpwalk.txt", [f"{oid} = {raw}  ({spec.get('source')})"])


def _clock(result: Result, walk: Mapping[str, SnmpValue], probes: Mapping[str, Any]) -> None:
    value = walk.get(std("hrSystemDate"))
    read_at = probes.get("read_at")
    if value is None:
        result.errors["/time/offset_ms_abs"] = "hrSystemDate (.1.3.6.1.2.1.25.1.2.0) is not in the walk"
        return
    if not isinstance(read_at, str):
        result.errors["/time/offset_ms_abs"] = "probes.json has no `read_at` (the auditor's clock at the read)"
        return
    rtt = probes.get("read_rtt_ms")
    limit = float(platform_data()["clock_read_max_rtt_ms"])
    if isinstance(rtt, int | float) and rtt > limit:
        result.errors["/time/offset_ms_abs"] = (f"the read of hrSystemDate took {rtt:g} ms (over {limit:g} ms): the "
                                                "auditor's clock at the read is not known closely enough")
        return
    zone = str(probes.get("time_zone") or platform_data()["default_time_zone"])
    try:
        device = date_and_time(value, zone)
        auditor = dt.datetime.fromisoformat(read_at)
    except (ValueError, KeyError) as exc:
        result.errors["/time/offset_ms_abs"] = f"hrSystemDate or read_at unreadable: {exc}"
        return
    if auditor.tzinfo is None:
        auditor = auditor.replace(tzinfo=dt.UTC)
    offset = abs((device - auditor).total_seconds()) * 1000
    result.put("/time/offset_ms_abs", round(offset, 1))
    result.cite("/time/offset_ms_abs", "snmpwalk.txt + probes.json",
                [f"hrSystemDate = {device.isoformat()}", f"auditor clock at the read = {auditor.isoformat()}"])


def _live(result: Result, probes: Mapping[str, Any], profile: Profile | None) -> None:
    ports: dict[str, str] = {str(key): str(value) for key, value in (probes.get("ports") or {}).items()}
    table = {int(entry["port"]): entry for entry in port_table()}
    snmp = probes.get("snmp") or {}
    communities = list(probes.get("communities") or [])
    snmp_answered = bool(snmp.get("answered")) or any(item.get("answered") for item in communities)

    # exposed sockets and risky services
    failed = sorted(port for port, state in ports.items() if state.startswith("error") and port.isdigit())
    if failed:
        result.errors["/network/exposed_sockets"] = f"TCP check failed on port(s) {', '.join(failed)}"
    else:
        sockets = [f"tcp/{port}" for port in sorted((int(p) for p, s in ports.items() if s == "open"))]
        if snmp_answered:
            sockets.append("udp/161")
        result.put("/network/exposed_sockets", [{"socket": socket} for socket in sockets])
    risky_failed = [port for port in failed if table.get(int(port), {}).get("risky")]
    if risky_failed:
        result.errors["/services/prohibited_present"] = f"TCP check failed on port(s) {', '.join(risky_failed)}"
    else:
        present = [{"name": str(entry["service"]), "how": "running", "detail": f"tcp/{port} open: {entry['why']}"}
                   for port, entry in sorted(table.items())
                   if entry.get("risky") and ports.get(str(port)) == "open"]
        result.put("/services/prohibited_present", present)

    # web admin: TLS versions, certificate, plain HTTP
    https = probes.get("https") or {}
    http = probes.get("http") or {}
    web_problems = []
    versions: dict[str, str] = {str(k): str(v) for k, v in (https.get("tls_versions") or {}).items()}
    accepted = [version for version in TLS_ORDER if versions.get(version) == "accepted"]
    unknown = [version for version in TLS_ORDER if version != "SSLv3"
               and versions.get(version) not in ("accepted", "refused")]
    if https.get("port_state") == "open" and unknown:
        web_problems.append(f"TLS version(s) {', '.join(unknown)} could not be tested")
    if https.get("port_state", "open").startswith("error"):
        web_problems.append(f"HTTPS port: {https.get('port_state')}")
    if http.get("state") == "error":
        web_problems.append(f"plain HTTP: {http.get('detail') or 'no answer'}")
    if web_problems:
        result.errors["/management/web_admin"] = "; ".join(web_problems)
    else:
        web: dict[str, Any] = {"https": bool(accepted), "http_plain": http.get("state") == "page",
                               "tls_versions": accepted}
        if accepted and isinstance(https.get("certificate"), dict):
            web["certificate"] = dict(https["certificate"])
        result.put("/management/web_admin", web)

    # insecure management protocols
    insecure = []
    for port, entry in sorted(table.items()):
        if entry.get("insecure") and ports.get(str(port)) == "open":
            insecure.append({"protocol": str(entry["insecure"]), "how": "listening", "detail": f"tcp/{port} open"})
    if http.get("state") == "page":
        insecure.append({"protocol": "http", "how": "listening",
                         "detail": f"plain-HTTP admin answers with a page of its own (HTTP {http.get('status')}) on "
                                   f"tcp/{http.get('port', 80)}"})
    answered = sorted({f"{item.get('account')} v{item.get('version')}" for item in communities if item.get("answered")})
    if answered or (snmp.get("answered") and str(snmp.get("version")) in ("1", "2c")):
        detail = ("factory community answered: " + ", ".join(answered)) if answered else \
            f"the inventory's v{snmp.get('version')} community answered"
        insecure.append({"protocol": "snmp_v1_v2c", "how": "listening", "detail": detail})
    insecure_failed = [port for port in failed if table.get(int(port), {}).get("insecure")]
    unsent = [f"{item.get('account')} v{item.get('version')}" for item in communities
              if not isinstance(item.get("answered"), bool)]
    if insecure_failed or http.get("state") == "error":
        result.errors["/management/insecure_protocols"] = "a check of telnet/ftp/plain HTTP did not complete"
    elif unsent and not any(item["protocol"] == "snmp_v1_v2c" for item in insecure):
        result.errors["/management/insecure_protocols"] = f"factory community probe not sent: {', '.join(unsent)}"
    else:
        result.put("/management/insecure_protocols", insecure)

    _default_credentials(result, probes, communities, profile)


def _default_credentials(result: Result, probes: Mapping[str, Any], communities: list[Any],
                         profile: Profile | None) -> None:
    pointer = "/accounts/default_credentials_accepted"
    accepted: list[dict[str, str]] = []
    by_account: dict[str, list[str]] = {}
    for item in communities:
        if item.get("answered"):
            by_account.setdefault(str(item.get("account")), []).append(f"v{item.get('version')}")
    for account, versions in sorted(by_account.items()):
        accepted.append({"service": "snmp", "account": account, "detail": f"answered over {', '.join(versions)}"})
    unsent = [f"{item.get('account')} v{item.get('version')}" for item in communities
              if not isinstance(item.get("answered"), bool)]
    login = probes.get("web_login") or {}
    page = str(login.get("page") or "")
    manual = error = None
    if page == "matched":
        for item in login.get("accounts") or []:
            outcome = item.get("outcome")
            if outcome == "accepted":
                accepted.append({"service": "web", "account": str(item.get("account")),
                                 "detail": f"{login.get('product') or 'web admin'} accepted the factory password"})
            elif outcome != "refused":
                error = f"web login of {item.get('account')} undetermined: {item.get('detail') or 'no answer'}"
    elif page == "no_web_admin":
        pass                                   # neither HTTPS nor HTTP answers: no web login to try
    elif page == "no_profile" or profile is None:
        manual = ("unknown vendor: its factory web-admin accounts are not known; check that the default "
                  "administrator password was changed and attest it")
    elif page == "not_matched":
        manual = (f"{profile.name_en} profile: the login page {login.get('path', '')} did not show the expected "
                  f"form ({login.get('detail') or 'marker not found'}), so no login was tried; check the factory "
                  f"password in {profile.product} or attest it")
    else:
        error = f"web login page: {login.get('detail') or 'not checked'}"
    if unsent and not error:
        error = f"factory community probe not sent: {', '.join(unsent)}"
    if accepted:
        result.put(pointer, accepted)
    elif error:
        result.errors[pointer] = error
    elif manual:
        result.manual[pointer] = manual
    else:
        result.put(pointer, [])
