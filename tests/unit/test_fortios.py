"""FortiOS platform: the block reader, parser rules the conformance cases do not pin down, and fetch over netmiko
(ConnectHandler replaced by a fake session: netcli._connect_handler)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from netmiko.exceptions import NetmikoAuthenticationException, ReadTimeout
from tests.netfake import FakeSession, case_outputs, fake_handler

from hardening.core.errors import AuthenticationFailed, DeviceTimeout, DeviceUnreachable, SavedFactsError
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import Target, get_platform
from hardening.core.secrets import Credentials, Secret
from hardening.platforms.common import netcli
from hardening.platforms.fortios import driver
from hardening.platforms.fortios.config import ConfigSyntaxError, parse_config
from hardening.platforms.fortios.data import capture_file, commands, platform_data
from hardening.platforms.fortios.parse import RUNNING, parse_outputs, transcript_removed

LOGIN_PASSWORD = "pw-F0rti!S3cret"  # noqa: S105 - a test credential
CASES = Path(__file__).resolve().parents[1] / "platforms" / "fortios" / "cases"


GLOBAL = 'config system global\n    set hostname "FGT-TEST"\nend\n'


def facts(config: str, **live: str) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The facts of a snippet standing for a whole configuration: one without `config system global` gets the
    minimal block every FortiGate shows (its hostname), so its global settings are FortiOS's defaults."""
    if "config system global" not in config:
        config = GLOBAL + config
    outputs = {RUNNING: config, **{k.replace("_", " "): v for k, v in live.items()}}
    result, _ = parse_outputs(outputs)
    return result.facts, result.errors, result.manual


def test_a_text_without_system_global_leaves_its_settings_undetermined() -> None:
    """A partial text (no `config system global`): admintimeout, lockout, banner, admin ports … are errors, never
    FortiOS's defaults passing; what the text does show (the NTP servers) is still read."""
    snippet = ("config system ntp\n    set ntpsync enable\n    set type custom\n    config ntpserver\n"
               "        edit 1\n            set server \"10.203.0.10\"\n        next\n    end\nend\n")
    result, _ = parse_outputs({RUNNING: snippet})
    for pointer in ("/login/idle_timeout", "/login/lockout_threshold", "/login/banners", "/network/exposed_sockets",
                    "/management/insecure_protocols", "/accounts/generic_admin_names"):
        assert "config system global" in result.errors[pointer], pointer
    assert "idle_timeout" not in result.facts.get("login", {})
    assert result.facts["time"]["ntp_servers"] == ["10.203.0.10"]
    whole, errors, _ = facts(snippet)
    assert whole["login"]["idle_timeout"]["seconds"] == 300  # the documented default once the block is there
    assert "/login/idle_timeout" not in errors


# --- the block reader -----------------------------------------------------------------------------------

def test_nested_blocks_quotes_and_multiline_values() -> None:
    config = parse_config(
        'config system replacemsg admin "pre_admin-disclaimer-text"\n'
        '    set buffer "first line\nend\nnext\nsay \\"hi\\" \\\\ back"\n'
        "end\n"
        "config system interface\n"
        '    edit "port 1"\n'
        "        set allowaccess ping https\n"
        "        set description 'a b'\n"
        "        config ipv6\n"
        "            set ip6-allowaccess ssh\n"
        "        end\n"
        "    next\n"
        "end\n")
    message = config.table("system replacemsg admin pre_admin-disclaimer-text")
    assert message is not None
    assert message.value("buffer") == 'first line\nend\nnext\nsay "hi" \\ back'
    interfaces = config.table("system interface")
    assert interfaces is not None
    port = interfaces.entries["port 1"]
    assert port.get("allowaccess") == ["ping", "https"]
    assert port.value("description") == "a b"
    ipv6 = port.table("ipv6")
    assert ipv6 is not None
    assert ipv6.get("ip6-allowaccess") == ["ssh"]


@pytest.mark.parametrize(("line", "words"), [
    ('set service "HTTPS" "DNS"', ["set", "service", "HTTPS", "DNS"]),
    ('set comments ""', ["set", "comments", ""]),
    ('set alias ab"c d"', ["set", "alias", "abc d"]),           # a word quoted in part is one word
    ("set alias 'single quoted'", ["set", "alias", "single quoted"]),
    ('set alias "say \\"hi\\""', ["set", "alias", 'say "hi"']),
    ("set allowaccess ping ssh", ["set", "allowaccess", "ping", "ssh"]),
])
def test_words_of_a_statement(line: str, words: list[str]) -> None:
    from hardening.platforms.fortios.config import split_words

    assert split_words(line, 1) == words


def fgt_session(outputs: dict[str, str], fail: dict[str, BaseException] | None = None,
                vdoms: bool = False) -> FakeSession:
    """netmiko's fortinet driver as the platform sees it: no enable level; `vdoms` as found at login."""
    return FakeSession(outputs, fail, name="FGT", invalid="Unknown action 0\nCommand fail. Return code -1\n",
                       enable=False, vdoms=vdoms)


def test_unset_append_and_script_end_without_next() -> None:
    config = parse_config("config system global\n    set admintimeout 30\n    unset admintimeout\nend\n"
                          "config system interface\n    edit port1\n        set allowaccess ping\n"
                          "        append allowaccess ssh\nend\n")
    glob = config.table("system global")
    assert glob is not None
    assert glob.get("admintimeout") is None
    interfaces = config.table("system interface")
    assert interfaces is not None
    assert interfaces.entries["port1"].get("allowaccess") == ["ping", "ssh"]


@pytest.mark.parametrize(("text", "line", "words"), [
    ("config system global\n    set admintimeout 5\n", 1, "never closed"),
    ("end\n", 1, "without an open"),
    ("config system admin\n    next\nend\n", 2, "without an `edit`"),
    ('config system global\n    set hostname "unterminated\n', 2, "never closed"),
    ("config system global\n    delete x\nend\n", 2, "is a command"),
    ("set admintimeout 5\n", 1, "outside a `config`"),
])
def test_malformed_configuration_names_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigSyntaxError) as raised:
        parse_config(text)
    assert raised.value.line == line
    assert words in str(raised.value)


def test_a_truncated_backup_is_a_saved_facts_error_naming_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "show_full-configuration.txt").write_text(
        "#config-version=FGT60F-7.2.8-FW-build1639-240313:opmode=0:vdom=0:user=admin\n"
        "config system global\n    set admintimeout 5\nend\nconfig system admin\n    edit \"admin\"\n",
        encoding="utf-8")
    with pytest.raises(SavedFactsError, match=r"show_full-configuration\.txt: line 6: `edit admin` is never closed"):
        driver.FortiOSPlatform().parse(tmp_path)


def test_vdom_scopes() -> None:
    config = parse_config("config vdom\nedit root\nnext\nedit B\nnext\nend\n"
                          "config global\nconfig system global\n    set admintimeout 7\nend\nend\n"
                          "config vdom\nedit B\nconfig firewall policy\n    edit 1\n        set action accept\n"
                          "    next\nend\nnext\nend\n")
    assert config.vdom_mode
    glob = config.table("system global")
    assert glob is not None
    assert glob.value("admintimeout") == "7"
    assert sorted(config.vdoms()) == ["B", "root"]
    assert "firewall policy" in config.vdoms()["B"].tables


# --- effective values ---------------------------------------------------------------------------------

def test_absent_options_have_the_documented_defaults() -> None:
    found, _, manual = facts("config system global\n    set hostname \"F\"\nend\n")
    assert found["login"]["idle_timeout"]["seconds"] == 300
    assert (found["login"]["lockout_threshold"], found["login"]["lockout_duration_seconds"]) == (3, 60)
    assert found["password_policy"] == {"enforced": False, "min_length": 0, "min_char_classes": 0}
    assert found["time"]["ntp_servers"] == []              # ntpsync's default is disable
    assert found["logging"]["remote_targets"] == []
    assert found["accounts"]["generic_admin_names"] == ["maintainer"]  # admin-maintainer defaults on (<7.2.4)
    assert found["login"]["banners"][0]["text"] is None
    assert manual["/logging/timestamp_formats"]            # no header: the release is unknown


@pytest.mark.parametrize(("header", "maintainer"), [
    ("#config-version=FGT60F-7.2.3-FW-build1262-221115:opmode=0:vdom=0:user=a\n", True),
    ("#config-version=FGT60F-7.2.4-FW-build1396-230131:opmode=0:vdom=0:user=a\n", False),  # account removed
    ("", True),                                                                            # release unknown
])
def test_the_maintainer_account_until_7_2_4(header: str, maintainer: bool) -> None:
    found, _, _ = facts(header + "config system global\n    set hostname \"F\"\nend\n")
    assert ("maintainer" in found["accounts"]["generic_admin_names"]) is maintainer


def test_a_configuration_shown_to_another_profile_is_refused(tmp_path: Path) -> None:
    text = ("#config-version=FGT60F-7.2.8-FW-build1639-240313:opmode=0:vdom=0:user=helpdesk\n"
            "config system admin\n    edit \"helpdesk\"\n        set accprofile \"prof_admin\"\n    next\nend\n")
    (tmp_path / "show_full-configuration.txt").write_text(text, encoding="utf-8")
    with pytest.raises(SavedFactsError, match=r"access profile prof_admin.*partial"):
        driver.FortiOSPlatform().parse(tmp_path)
    (tmp_path / "show_full-configuration.txt").write_text(text.replace("prof_admin", "super_admin"),
                                                          encoding="utf-8")
    assert driver.FortiOSPlatform().parse(tmp_path)["facts"]["os"]["version"] == "7.2.8 build1639"


def test_console_timeout_longer_than_admintimeout_counts() -> None:
    found, _, _ = facts("config system global\n    set admintimeout 1\n    set admin-console-timeout 300\nend\n")
    assert found["login"]["idle_timeout"]["seconds"] == 300
    assert "console" in found["login"]["idle_timeout"]["source"]


def test_an_unreadable_admintimeout_is_an_error_not_zero() -> None:
    found, errors, _ = facts("config system global\n    set admintimeout abc\nend\n")
    assert "idle_timeout" not in found["login"]
    assert "/login/idle_timeout" in errors


def test_password_policy_must_apply_to_admin_passwords() -> None:
    policy = "config system password-policy\n    set status enable\n    set minimum-length 12\n{}end\n"
    found, _, _ = facts(policy.format("    set apply-to ipsec-preshared-key\n"))
    assert found["password_policy"]["enforced"] is False
    found, _, _ = facts(policy.format("    set min-non-alphanumeric 2\n    set min-number 1\n"))
    assert found["password_policy"] == {"enforced": True, "min_length": 12, "min_char_classes": 2}


def test_telnet_counts_only_while_admin_telnet_is_on_and_the_interface_is_up() -> None:
    interface = ("config system interface\n    edit \"p1\"\n        set allowaccess telnet ssh\n{}    next\nend\n")
    found, _, _ = facts(interface.format(""))
    assert [p["protocol"] for p in found["management"]["insecure_protocols"]] == ["telnet"]
    assert found["services"]["prohibited_present"][0]["name"] == "telnet"
    found, _, _ = facts("config system global\n    set admin-telnet disable\nend\n" + interface.format(""))
    assert found["management"]["insecure_protocols"] == []
    found, _, _ = facts(interface.format("        set status down\n"))
    assert found["management"]["insecure_protocols"] == []
    assert found["management"]["access"] == []


def test_trusthosts_unused_slots_and_ipv6() -> None:
    base = ("config system interface\n    edit \"p1\"\n        set allowaccess https\n{ipv6}    next\nend\n"
            "config system admin\n    edit \"a\"\n{hosts}        set password ENC SH2x\n    next\nend\n")
    found, _, _ = facts(base.format(ipv6="", hosts="        set trusthost1 0.0.0.0 0.0.0.0\n"))
    assert found["management"]["access"][0]["sources"] == ["0.0.0.0/0"]
    assert found["management"]["access"][0]["restricted"] is False
    found, _, _ = facts(base.format(ipv6="", hosts="        set trusthost3 10.1.2.0 255.255.255.0\n"))
    assert found["management"]["access"][0]["sources"] == ["10.1.2.0/24"]
    ipv6 = "        config ipv6\n            set ip6-allowaccess https\n        end\n"
    found, _, _ = facts(base.format(ipv6=ipv6, hosts="        set trusthost1 10.1.2.0/24\n"))
    assert found["management"]["access"][0]["sources"] == ["10.1.2.0/24", "::/0"]
    assert found["management"]["access"][0]["restricted"] is False


@pytest.mark.parametrize(("policy", "permits"), [
    ('set srcaddr "all"\n set dstaddr "all"\n set service "ALL"\n set action accept\n', 1),
    ('set srcaddr "all"\n set dstaddr "all"\n set service "ALL"\n', 0),                      # deny by default
    ('set srcaddr "all"\n set dstaddr "all"\n set service "ALL"\n set action accept\n set status disable\n', 0),
    ('set srcaddr "all"\n set dstaddr "all"\n set service "ALL"\n set action accept\n'
     ' set dstaddr-negate enable\n', 0),
    ('set srcaddr "h1" "all"\n set dstaddr "all"\n set service "ALL"\n set action accept\n', 1),
    ('set srcaddr "all"\n set dstaddr "all"\n set service "HTTPS"\n set action accept\n', 0),
])
def test_any_any_accept(policy: str, permits: int) -> None:
    config = "config firewall policy\n    edit 7\n" + policy + "    next\nend\n"
    found, _, _ = facts(config)
    assert len(found["network"]["any_any_permits"]) == permits


def test_password_storage_never_carries_a_value() -> None:
    config = ("config system admin\n    edit \"a1\"\n        set password ENC SH2AAAAsecretHashValue\n    next\n"
              "    edit \"a2\"\n        set password ENC PB2BBBBsecretHashValue\n    next\n"
              "    edit \"a3\"\n        set password ENC AK1CCCCsecretHashValue\n    next\n"
              "    edit \"a4\"\n    next\n"
              "    edit \"r\"\n        set remote-auth enable\n    next\nend\n"
              "config user local\n    edit \"u1\"\n        set passwd ENC DDDDsecretEncrypted\n    next\n"
              "    edit \"u2\"\n        set type ldap\n    next\nend\n")
    found, _, _ = facts(config)
    storage = found["accounts"]["password_storage"]
    assert [m["method"] for m in storage["hash_methods"]] == ["sha256", "pbkdf2_sha256", "sha1", "reversible"]
    assert storage["weak_hash_accounts"] == ["a3", "user local u1"]
    assert storage["empty_password_accounts"] == ["a4"]
    assert "secret" not in json.dumps(found)


def test_syslog_protocols_ports_and_severity() -> None:
    config = ("config log syslogd setting\n    set status enable\n    set server \"10.0.0.5\"\n"
              "    set mode reliable\n    set enc-algorithm high\n    set port 6514\nend\n"
              "config log syslogd3 setting\n    set status enable\n    set server \"10.0.0.6\"\nend\n"
              "config log syslogd3 filter\n    set severity warning\nend\n"
              "config log syslogd4 setting\n    set server \"10.0.0.7\"\nend\n")
    found, _, _ = facts(config)
    assert found["logging"]["remote_targets"] == [
        {"host": "10.0.0.5", "port": 6514, "protocol": "tls", "selector": "severity informational"},
        {"host": "10.0.0.6", "port": 514, "protocol": "udp", "selector": "severity warnings"},
    ]


def test_exposed_sockets_from_allowaccess_ports_sslvpn_and_ipsec() -> None:
    config = ("config system global\n    set admin-ssh-port 2022\n    set admin-telnet disable\nend\n"
              "config system interface\n    edit \"p1\"\n        set ip 10.0.0.1 255.255.255.0\n"
              "        set allowaccess ping ssh telnet snmp\n    next\n"
              "    edit \"p2\"\n        set mode dhcp\n        set allowaccess https\n        set status down\n"
              "    next\n    edit \"wan\"\n        set mode dhcp\n        set allowaccess fgfm\n    next\nend\n"
              "config vpn ssl settings\n    set source-interface \"wan\"\nend\n"
              "config vpn ipsec phase1-interface\n    edit \"to-hq\"\n        set interface \"wan\"\n    next\nend\n")
    found, _, _ = facts("#config-version=FGT60F-7.0.12-FW-build0523-230615:opmode=0\n" + config)
    assert [(s["socket"], s["addresses"]) for s in found["network"]["exposed_sockets"]] == [
        ("tcp/541", ["wan"]), ("tcp/2022", ["10.0.0.1"]), ("tcp/10443", ["wan"]),
        ("udp/161", ["10.0.0.1"]), ("udp/500", ["wan"]), ("udp/4500", ["wan"])]
    found, _, _ = facts("#config-version=FGT60F-6.4.12-FW-build2060-230615:opmode=0\n" + config)
    assert "tcp/443" in [s["socket"] for s in found["network"]["exposed_sockets"]]  # SSL VPN before 7.0


def test_live_outputs_rejected_or_missing_are_errors() -> None:
    config = "config system ntp\n    set ntpsync enable\nend\n"
    _, errors, _ = facts(config)
    assert {"/time/synchronized", "/logging/running"} <= set(errors)
    found, errors, _ = facts(config, diagnose_sys_ntp_status="Unknown action 0\nCommand fail. Return code -1\n",
                             diagnose_sys_process_pidof_miglogd="")
    assert "rejected" in errors["/time/synchronized"]
    assert found["logging"]["running"] is False
    found, errors, _ = facts(config, diagnose_sys_ntp_status="synchronized: no, ntpsync: enabled, server-mode: "
                                                             "disabled\n")
    assert found["time"]["synchronized"] is False
    assert found["time"]["selected_source"] is None
    assert "/time/offset_ms_abs" in errors


def test_pre_login_banner_without_its_text_is_manual() -> None:
    _, _, manual = facts("config system global\n    set pre-login-banner enable\nend\n")
    assert "/login/banners" in manual


# --- capture layout -------------------------------------------------------------------------------------

def test_capture_files_and_the_saved_configuration_alternatives(tmp_path: Path) -> None:
    assert [capture_file(c["command"]) for c in commands()][:2] == ["show_full-configuration.txt",
                                                                    "get_system_status.txt"]
    with pytest.raises(SavedFactsError, match="no saved configuration"):
        driver.FortiOSPlatform().parse(tmp_path)
    (tmp_path / "FGT60F_backup.conf").write_text("config system global\n    set hostname \"B\"\nend\n",
                                                 encoding="utf-8")
    assert driver.FortiOSPlatform().parse(tmp_path)["facts"]["os"]["hostname"] == "B"


def test_volatile_lines_match_the_header() -> None:
    patterns = [re.compile(p) for p in platform_data()["volatile_lines"]]
    header = ["#config-version=FGT60F-7.2.8-FW-build1639-240313:opmode=0:vdom=0:user=admin",
              "#conf_file_ver=84763520931776523", "#buildno=1639", "#global_vdom=1"]
    assert all(any(p.fullmatch(line) for p in patterns) for line in header)
    assert not any(p.fullmatch("    set hostname \"x\"") for p in patterns)


def secret_values(text: str) -> set[str]:
    """Passwords (`ENC …` or clear), SNMP community names and SNMPv3 keys of a configuration text."""
    config = parse_config(transcript_removed(text))
    found: set[str] = set()
    for path, options in (("system admin", ("password",)), ("user local", ("passwd",)),
                          ("system snmp community", ("name",)), ("system snmp user", ("auth-pwd", "priv-pwd"))):
        table = config.table(path)
        for entry in (table.entries.values() if table is not None else []):
            for option in options:
                words = [w for w in entry.get(option) or [] if w != "ENC"]
                found.update(w for w in words if len(w) > 3)
    return found


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()))
def test_no_secret_in_any_parsed_document(case: str) -> None:
    """Every password, community name and SNMP key of a case's configuration is absent from the whole facts
    document, evidence included."""
    raw = CASES / case / "raw"
    configuration = next(p for p in raw.iterdir() if p.name in {"show_full-configuration.txt", "show.txt"}
                         or p.suffix == ".conf")
    secrets = secret_values(netcli.read_capture(configuration))
    assert secrets, "the case carries secrets to look for"
    document = json.dumps(driver.FortiOSPlatform().parse(raw), ensure_ascii=False)
    assert [s for s in secrets if s in document] == []


# --- fetch over netmiko (ConnectHandler replaced) --------------------------------------------------------

def target(tmp_path: Path, **extras: Any) -> Target:
    from hardening.core.connections import ConnectionOptions

    host = Host(name="fw1", hostname="192.0.2.9", port=22, platform="fortios", device_class="firewall", zone="",
                classification={}, system=SystemInfo("net", "", ()), roles=(), groups=(), credentials="net")
    credentials = Credentials(name="net", username="audit", password=Secret(LOGIN_PASSWORD))
    options = ConnectionOptions(kind="netmiko", hostname="192.0.2.9", port=2222,
                                extras={"known_hosts": str(tmp_path / "known_hosts"), **extras})
    return Target(host=host, credentials=credentials, timeout=30.0, connections={"netmiko": options})


def test_fetch_one_session_every_command_then_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = "fos72-full-configuration-compliant-live"
    session = fgt_session(case_outputs(CASES / case / "raw", commands()))
    calls = fake_handler(monkeypatch, session)
    document = get_platform("fortios").collect(target(tmp_path))
    assert len(calls) == 1
    assert session.closed
    assert session.sent == [c["command"] for c in commands()]
    assert calls[0]["device_type"] == "fortinet"
    assert calls[0]["password"] == LOGIN_PASSWORD
    assert calls[0]["secret"] == ""
    expected = json.loads((CASES / case / "expected.json").read_text(encoding="utf-8"))
    assert document["facts"] == expected["facts"]


def test_vdom_devices_run_the_global_commands_in_config_global(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = {**case_outputs(CASES / "fos72-full-configuration-compliant-live" / "raw", commands()),
               "config global": "", "end": ""}
    session = fgt_session(outputs, vdoms=True)
    fake_handler(monkeypatch, session)
    driver.FortiOSPlatform().fetch(target(tmp_path), tmp_path)
    assert session.sent == ["show full-configuration", "get system status",
                            "config global", "diagnose sys ntp status", "end",
                            "config global", "diagnose sys process pidof miglogd", "end",
                            "config global", "get system interface physical", "end"]
    assert session.closed


def test_wrong_password_and_lost_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_handler(monkeypatch, NetmikoAuthenticationException(f"Authentication failed. {LOGIN_PASSWORD}"))
    with pytest.raises(AuthenticationFailed) as raised:
        driver.FortiOSPlatform().fetch(target(tmp_path), tmp_path)
    assert LOGIN_PASSWORD not in str(raised.value)
    session = fgt_session({RUNNING: "config system global\nend\n"},
                          fail={"diagnose sys ntp status": OSError("Socket is closed")})
    fake_handler(monkeypatch, session)
    with pytest.raises(DeviceUnreachable, match="Socket is closed"):
        driver.FortiOSPlatform().fetch(target(tmp_path), tmp_path)
    assert session.closed
    session = fgt_session({}, fail={RUNNING: ReadTimeout("Pattern not detected")})
    fake_handler(monkeypatch, session)
    with pytest.raises(DeviceTimeout, match="show full-configuration"):
        driver.FortiOSPlatform().fetch(target(tmp_path), tmp_path)
    assert session.closed


def test_a_terminal_log_of_the_command_is_read_without_its_prompts_and_pager_lines() -> None:
    """TeraTerm/PuTTY logs carry the prompt with the command, the closing prompt and `--More--` remnants."""
    log = ("FGT40F (global) # show full-configuration\nconfig system global\n    set admintimeout 15\n"
           " --More-- \n         \nend\nconfig system ntp\n    set ntpsync enable\nend\n\nFGT40F (global) # \n")
    found, _, _ = facts(log)
    assert found["login"]["idle_timeout"]["seconds"] == 900
    assert found["time"]["ntp_servers"] == platform_data()["fortiguard_ntp_servers"]
    with pytest.raises(ConfigSyntaxError, match="line 3"):  # line numbers still count the file's lines
        parse_outputs({RUNNING: "FGT # show\nconfig system global\nnext\n"})
