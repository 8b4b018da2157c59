"""The windows platform's own parsers and driver: the secedit INF, the registry facts (documented defaults, policy over
local settings), accounts, services, sockets and firewall, the fail-closed orchestration, and fetch/parse/collect
over a fake session. Whole hosts are the conformance cases (tests/platforms/windows/cases)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from hardening.core.connections import ConnectionOptions
from hardening.core.errors import SavedFactsError
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import Fetcher, OfflineParser, Target, get_platform
from hardening.core.secrets import Credentials, Secret
from hardening.platforms.common.netcli import Result
from hardening.platforms.windows import accounts, driver, network, regfacts, secpol
from hardening.platforms.windows.data import platform_data
from hardening.platforms.windows.parse import parse_outputs
from hardening.platforms.windows.pwsh import CommandOutput, OutputFormatError
from hardening.platforms.windows.regquery import parse_reg_query

CASES = Path(__file__).resolve().parents[1] / "platforms" / "windows" / "cases"
COMPLIANT = CASES / "ws2022-en-member-server-compliant" / "raw"


def ok(text: str) -> CommandOutput:
    return CommandOutput(text, 0, None)


def case_outputs(raw: Path = COMPLIANT) -> dict[str, CommandOutput]:
    return {path.stem: ok(path.read_text(encoding="utf-8")) for path in raw.glob("*.txt")}


def reg(key: str, *values: tuple[str, str, str]) -> Any:
    lines = ["", key, *(f"    {name}    {kind}    {data}" for name, kind, data in values), ""]
    return parse_reg_query("\n".join(lines))


ABSENT = parse_reg_query("ERROR: The system was unable to find the specified registry key or value.\n")


# -- the platform and its table -----------------------------------------------------------------------------------


def test_registered_with_its_classes_and_connection() -> None:
    platform = get_platform("windows")
    assert isinstance(platform, driver.WindowsPlatform)
    assert isinstance(platform, OfflineParser)
    assert isinstance(platform, Fetcher)
    assert platform.device_classes == frozenset({"windows_server", "windows_pc"})
    assert platform.connections == ("winrm",)


def test_command_table_is_one_batch_of_one_line_ascii_commands() -> None:
    table = driver.command_table()
    ids = [command_id for command_id, _ in table]
    assert len(ids) == len(set(ids)) >= 34
    for command_id, command in table:
        assert command.isascii(), command_id          # stdin is read in the console's code page as well
        assert "\n" not in command, command_id
    assert dict(table)["w32tm_status"] == "w32tm.exe /query /status /verbose"   # Phase Offset is /verbose only
    assert all(entry["doc"].startswith("https://") for entry in platform_data()["commands"])


# -- secedit INF ---------------------------------------------------------------------------------------------------


INF = """\ufeff[Unicode]\r
Unicode=yes\r
; a comment\r
[System Access]\r
MinimumPasswordLength = 10\r
passwordcomplexity = 1\r
LockoutBadCount = 3\r
ResetLockoutCount = 20\r
LockoutDuration = 0\r
NewAdministratorName = "Local Admin"\r
[Registry Values]\r
MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\NoLMHash=4,1\r
MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\LegalNoticeText=7,Line one,Line two\r
[Version]\r
signature="$CHICAGO$"\r
"""


def test_inf_sections_keys_quotes_and_registry_values() -> None:
    policy = secpol.parse_inf(INF)
    assert policy.number("system access", "PasswordComplexity") == 1     # keys and sections case-insensitive
    assert policy.get("System Access", "NewAdministratorName") == "Local Admin"
    assert policy.registry_values["machine\\system\\currentcontrolset\\control\\lsa\\nolmhash"] == (4, "1")
    assert policy.registry_values[
        "machine\\software\\microsoft\\windows\\currentversion\\policies\\system\\legalnoticetext"] == (
        7, "Line one,Line two")
    assert policy.get("Version", "signature") == "$CHICAGO$"


def test_inf_from_the_file_secedit_writes_utf16() -> None:
    text = driver.decode_capture(b"\xff\xfe" + INF.lstrip("\ufeff").encode("utf-16-le"))
    assert "\r" not in text
    assert secpol.parse_inf(text).number("System Access", "MinimumPasswordLength") == 10


@pytest.mark.parametrize(("text", "message"), [
    ("MinimumPasswordLength = 8\n", "line 1"),                         # outside any section
    ("[System Access]\nthis is not a setting\n", "line 2"),
    ("[Unicode]\nUnicode=yes\n", "no \\[System Access\\]"),           # secedit exported nothing useful
    ("[System Access]\n[Registry Values]\nMACHINE\\x=oops\n", "no type"),
])
def test_inf_refuses_what_secedit_does_not_write(text: str, message: str) -> None:
    with pytest.raises(OutputFormatError, match=message):
        secpol.parse_inf(text)


def test_lockout_duration_zero_and_minus_one_mean_until_unlocked() -> None:
    for duration in ("0", "-1"):
        result = Result()
        secpol.fill_lockout(secpol.parse_inf(INF.replace("LockoutDuration = 0", f"LockoutDuration = {duration}")),
                            result)
        assert result.facts["login"] == {"lockout_threshold": 3, "lockout_duration_seconds": 0,
                                         "lockout_window_seconds": 1200}


def test_no_lockout_has_no_duration_or_window() -> None:
    result = Result()
    secpol.fill_lockout(secpol.parse_inf("[System Access]\nLockoutBadCount = 0\n"), result)
    assert result.facts["login"] == {"lockout_threshold": 0, "lockout_duration_seconds": None,
                                     "lockout_window_seconds": None}


def test_a_lockout_without_its_duration_is_an_error_not_a_default() -> None:
    result = Result()
    secpol.fill_lockout(secpol.parse_inf("[System Access]\nLockoutBadCount = 5\n"), result)
    assert "login" not in result.facts
    assert set(result.errors) == set(secpol.LOCKOUT_POINTERS)


def test_complexity_off_is_one_class_and_the_length_limit_follows_the_sam_key() -> None:
    result = Result()
    secpol.fill_password_policy(secpol.parse_inf(INF.replace("passwordcomplexity = 1", "passwordcomplexity = 0")),
                                result)
    secpol.fill_length_limit(reg("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SAM"), None, result)
    assert result.facts["password_policy"] == {"enforced": True, "min_length": 10, "min_char_classes": 1,
                                               "char_categories": 5, "min_length_limit": 14}
    relaxed = Result()
    secpol.fill_length_limit(reg("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SAM",
                                 ("RelaxMinimumPasswordLengthLimits", "REG_DWORD", "0x1")), None, relaxed)
    assert relaxed.facts["password_policy"]["min_length_limit"] is None


# -- registry facts ----------------------------------------------------------------------------------------------

TS = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services"
TSV = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server"
RDP = TSV + "\\WinStations\\RDP-Tcp"


def test_rdp_policy_wins_over_the_listener_and_rdp_off_offers_nothing() -> None:
    on = reg(TSV, ("fDenyTSConnections", "REG_DWORD", "0x0"))
    weak = reg(RDP, ("UserAuthentication", "REG_DWORD", "0x0"), ("SecurityLayer", "REG_DWORD", "0x0"))
    assert [i["protocol"] for i in regfacts.rdp_insecure(ABSENT, on, weak)] == ["rdp_without_nla",
                                                                                 "rdp_security_layer"]
    policy = reg(TS, ("UserAuthentication", "REG_DWORD", "0x1"), ("SecurityLayer", "REG_DWORD", "0x2"))
    assert regfacts.rdp_insecure(policy, on, weak) == []
    assert regfacts.rdp_insecure(ABSENT, reg(TSV, ("fDenyTSConnections", "REG_DWORD", "0x1")), weak) == []
    # Nothing set anywhere: RDP is off by default (and NLA and Negotiate would apply).
    assert regfacts.rdp_insecure(ABSENT, reg(TSV), reg(RDP)) == []
    policy_on = reg(TS, ("fDenyTSConnections", "REG_DWORD", "0x0"))
    assert [i["protocol"] for i in regfacts.rdp_insecure(policy_on, reg(TSV), weak)] == [
        "rdp_without_nla", "rdp_security_layer"]


def test_winrm_unencrypted_only_when_the_policy_allows_it() -> None:
    key = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\WinRM\\Service"
    assert regfacts.winrm_insecure(ABSENT) == []
    assert regfacts.winrm_insecure(reg(key, ("AllowUnencryptedTraffic", "REG_DWORD", "0x0"))) == []
    assert regfacts.winrm_insecure(reg(key, ("AllowUnencryptedTraffic", "REG_DWORD", "0x1")))[0]["protocol"] == (
        "winrm_unencrypted")


RS = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\RemovableStorageDevices"
DISKS = RS + "\\{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}"
USBSTOR = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\USBSTOR"


def usb(usbstor: Any, removable: Any) -> bool:
    result = Result()
    regfacts.fill_usb_storage(usbstor, removable, result)
    return bool(result.facts["removable_media"]["usb_storage_blocked"])


def recursive(*keys: tuple[str, list[tuple[str, str, str]]]) -> Any:
    lines: list[str] = [""]
    for key, values in keys:
        lines += [key, *(f"    {n}    {k}    {d}" for n, k, d in values), ""]
    lines.append("End of search: 2 match(es) found.")
    return parse_reg_query("\n".join(lines))


def test_usb_storage_blocked_by_driver_deny_all_or_disks_read_and_write() -> None:
    start3 = reg(USBSTOR, ("Start", "REG_DWORD", "0x3"))
    assert usb(reg(USBSTOR, ("Start", "REG_DWORD", "0x4")), ABSENT)
    assert usb(start3, recursive((RS, [("Deny_All", "REG_DWORD", "0x1")])))
    assert usb(start3, recursive((RS, []), (DISKS, [("Deny_Read", "REG_DWORD", "0x1"),
                                                    ("Deny_Write", "REG_DWORD", "0x1")])))
    assert not usb(start3, recursive((RS, []), (DISKS, [("Deny_Read", "REG_DWORD", "0x1")])))
    assert not usb(start3, ABSENT)


def test_lm_hash_and_cached_logons_defaults_are_documented_values() -> None:
    lsa = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Lsa"
    assert regfacts.lm_hash_stored(reg(lsa))[0] is False                       # absent: default 1
    assert regfacts.lm_hash_stored(reg(lsa, ("NoLMHash", "REG_DWORD", "0x0")))[0] is True
    winlogon = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon"
    assert regfacts.cached_logons(reg(winlogon))[0] == 10
    assert regfacts.cached_logons(reg(winlogon, ("CachedLogonsCount", "REG_SZ", "0")))[0] == 0
    with pytest.raises(OutputFormatError):
        regfacts.cached_logons(reg(winlogon, ("CachedLogonsCount", "REG_SZ", "ten")))


def test_banner_null_when_both_values_are_empty_and_screen_lock_off_when_absent() -> None:
    key = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System"
    result = Result()
    system = parse_reg_query(f"\n{key}\n    legalnoticecaption    REG_SZ    \n    legalnoticetext    REG_SZ    \n")
    regfacts.fill_banners(system, result)
    regfacts.fill_screen_lock(system, result)
    assert result.facts["login"]["banner"] is None
    assert result.facts["login"]["banners"][0]["text"] is None
    assert result.facts["screen_lock"] == {"enabled": False, "idle_seconds": None, "enforced": False}


def test_idle_timeout_unset_is_null_and_policy_milliseconds_become_seconds() -> None:
    result = Result()
    regfacts.fill_idle_timeout(ABSENT, result)
    assert result.facts["login"]["idle_timeout"]["seconds"] is None
    regfacts.fill_idle_timeout(reg(TS, ("MaxIdleTime", "REG_DWORD", "0xdbba0")), result)
    assert result.facts["login"]["idle_timeout"] == {
        "seconds": 900, "readonly": True, "exported": True, "source": f"{platform_data()['registry']['ts_policy']}"
                                                                      "\\MaxIdleTime"}


# -- accounts, services, sockets, firewall ------------------------------------------------------------------------


def users_block(*users: tuple[str, bool, str, bool]) -> dict[str, CommandOutput]:
    items = [{"Name": n, "Enabled": e, "SID": {"BinaryLength": 28, "Value": s}, "PasswordRequired": p}
             for n, e, s, p in users]
    return {"users": ok(json.dumps(items))}


def test_builtin_admin_is_found_by_its_sid_and_generic_names_by_data() -> None:
    users = accounts.read_users(users_block(("Root", True, "S-1-5-21-1-2-3-500", True),
                                            ("ADMINISTRATOR", False, "S-1-5-21-1-2-3-1001", True),
                                            ("guest", True, "S-1-5-21-1-2-3-501", False)))
    assert accounts.builtin_admin(users) == {"name": "Root", "enabled": True, "renamed": False}
    assert accounts.generic_admin_names(users) == ["Root"]          # a disabled one does not count
    assert accounts.empty_password_accounts(users) == ["guest"]


def test_services_read_as_numbers_or_names() -> None:
    numbers = {"services": ok('[{"Name": "TlntSvr", "Status": 1, "StartType": 2},'
                              ' {"Name": "SNMP", "Status": 4, "StartType": 3}]')}
    names = {"services": ok('[{"Name": "tlntsvr", "Status": "Stopped", "StartType": "Automatic"},'
                            ' {"Name": "SNMP", "Status": "Running", "StartType": "Manual"}]')}
    for block in (numbers, names):
        found = network.prohibited_services(network.read_services(block))
        assert [(item["name"], item["how"]) for item, _ in found] == [("telnet", "enabled"), ("snmp", "running")]
        assert [entry.get("insecure_protocol") for _, entry in found] == ["telnet", "snmp_v1_v2c"]


ANY = "0.0.0.0"  # noqa: S104 (an address a listener shows, nothing binds here)


def test_exposed_sockets_leave_out_loopback_only_listeners() -> None:
    outputs = {
        "listen_tcp": ok(json.dumps([{"LocalAddress": "127.0.0.1", "LocalPort": 8080, "OwningProcess": 9},
                                     {"LocalAddress": "::1", "LocalPort": 8080, "OwningProcess": 9},
                                     {"LocalAddress": "::ffff:127.0.0.1", "LocalPort": 8081, "OwningProcess": 9},
                                     {"LocalAddress": "10.0.0.5", "LocalPort": 139, "OwningProcess": 4}])),
        "listen_udp": ok(json.dumps({"LocalAddress": ANY, "LocalPort": 123, "OwningProcess": 77})),
        "processes": ok(json.dumps([{"Id": 4, "ProcessName": "System"}])),
    }
    assert network.read_exposed_sockets(outputs) == [
        {"socket": "tcp/139", "addresses": ["10.0.0.5"], "process": "System"},
        {"socket": "udp/123", "addresses": [ANY], "process": None}]


def test_firewall_not_configured_is_the_default_on_and_block() -> None:
    outputs = {"firewall": ok(json.dumps([{"Name": "Public", "Enabled": 2, "DefaultInboundAction": 0},
                                          {"Name": "Domain", "Enabled": "False", "DefaultInboundAction": "Allow"}]))}
    assert network.read_firewall(outputs) == [
        {"name": "Domain", "enabled": False, "default_inbound": "allow"},
        {"name": "Public", "enabled": True, "default_inbound": "block"}]
    with pytest.raises(OutputFormatError):
        network.read_firewall({"firewall": ok("")})


# -- the whole parse fails closed -----------------------------------------------------------------------------------


def test_a_missing_or_broken_block_makes_only_its_facts_errors() -> None:
    outputs = case_outputs()
    whole = parse_outputs(outputs)
    assert whole.errors == {}
    del outputs["users"]
    outputs["listen_udp"] = CommandOutput("[{", -1, "no end marker after line 97: the output was cut short")
    outputs["reg_lsa"] = ok("ERROR: Access is denied.\n")
    result = parse_outputs(outputs)
    assert set(result.errors) == {"/accounts/builtin_admin", "/accounts/generic_admin_names",
                                  "/accounts/password_storage/empty_password_accounts",
                                  "/network/exposed_sockets", "/accounts/password_storage/lm_hash_stored",
                                  "/accounts/password_storage/hash_methods"}
    assert "not in the capture" in result.errors["/accounts/builtin_admin"]
    assert "exposed_sockets" not in result.facts["network"]
    assert result.facts["network"]["host_firewall"] == whole.facts["network"]["host_firewall"]
    assert "lm_hash_stored" not in result.facts["accounts"]["password_storage"]


def test_a_part_that_cannot_be_read_never_leaves_a_partial_list() -> None:
    outputs = case_outputs()
    outputs["smb"] = CommandOutput("HARDENING-ERROR: Access denied", 0, "Access denied")
    outputs["services"] = ok(outputs["services"].text.replace('"TermService"', '"TlntSvr"'))   # running, manual
    result = parse_outputs(outputs)
    assert "services" not in result.facts
    assert "management" not in result.facts
    assert "Access denied" in result.errors["/services/prohibited_present"]


# -- driver: fetch, parse, collect ----------------------------------------------------------------------------------

PASSWORD = "Fake-WinRM-Pw-123"  # noqa: S105


def target() -> Target:
    host = Host(name="sv-file01", hostname="192.0.2.20", port=None, platform="windows",
                device_class="windows_server", zone="", classification={}, system=SystemInfo("s", "", ()), roles=(),
                groups=(), credentials="win")
    return Target(host=host, credentials=Credentials(name="win", username="audit", password=Secret(PASSWORD)),
                  timeout=30.0, connections={"winrm": ConnectionOptions(kind="winrm", hostname="192.0.2.20",
                                                                         port=5986)})


@pytest.fixture
def fake_session(monkeypatch: pytest.MonkeyPatch) -> dict[str, CommandOutput]:
    """The compliant case's blocks as a session would return them (CRLF, as WinRM carries them), plus an error
    block whose text names the password (it must not reach a capture)."""
    outputs = {cid: CommandOutput(out.text.replace("\n", "\r\n"), 0, None) for cid, out in case_outputs().items()}
    outputs["av_products"] = CommandOutput(f"HARDENING-ERROR: denied for {PASSWORD}", 0, f"denied for {PASSWORD}")

    def session_outputs(self: driver.WindowsPlatform, target: Target) -> tuple[dict[str, CommandOutput], list[str]]:
        return dict(outputs), ["line 1: text outside any block: Windows PowerShell"]

    monkeypatch.setattr(driver.WindowsPlatform, "session_outputs", session_outputs)
    return outputs


def test_fetch_then_parse_equals_collect(fake_session: dict[str, CommandOutput], tmp_path: Path) -> None:
    platform = driver.WindowsPlatform()
    into = tmp_path / "sv-file01"
    into.mkdir()
    platform.fetch(target(), into)
    assert {p.name for p in into.iterdir()} == {f"{cid}.txt" for cid in fake_session} | {"rc.json"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in into.iterdir())
    meta = json.loads((into / "rc.json").read_text(encoding="utf-8"))
    assert meta["rc"]["secpol"] == 0
    assert meta["errors"] == {"av_products": f"denied for {PASSWORD}"}       # fetch's file is the host's own data
    assert meta["problems"] == ["line 1: text outside any block: Windows PowerShell"]
    parsed = platform.parse(into)
    live_target = target()
    collected = platform.collect(live_target)
    for document in (parsed, collected):
        document.pop("collected_at")
    assert parsed == collected
    assert parsed["facts"]["password_policy"]["min_length"] == 14
    assert set(live_target.captures) == {f"{cid}.txt" for cid in fake_session} | {"rc.json"}
    assert all(PASSWORD not in text for text in live_target.captures.values())


def test_parse_refuses_a_folder_without_a_capture(tmp_path: Path) -> None:
    with pytest.raises(SavedFactsError, match="no Windows capture"):
        driver.WindowsPlatform().parse(tmp_path)
    (tmp_path / "secpol.txt").write_text("[System Access]\nMinimumPasswordLength = 8\n", encoding="utf-8")
    (tmp_path / "rc.json").write_text('{"rc": [1]}', encoding="utf-8")
    with pytest.raises(SavedFactsError, match=r"rc\.json"):
        driver.WindowsPlatform().parse(tmp_path)


def test_parse_reads_undecodable_text_as_an_error(tmp_path: Path) -> None:
    (tmp_path / "secpol.txt").write_bytes(b"\x81\xff\xfe not utf-8")
    with pytest.raises(SavedFactsError, match=r"secpol\.txt: unreadable"):
        driver.WindowsPlatform().parse(tmp_path)


def test_collected_at_is_the_hosts_clock_in_utc() -> None:
    document = driver.WindowsPlatform().parse(COMPLIANT)
    assert document["collected_at"] == "2026-11-29T12:40:00+00:00"
