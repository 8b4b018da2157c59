"""Cisco IOS/IOS-XE platform: parser rules the conformance cases do not pin down, and fetch over netmiko.

asyncssh is not installed here, so fetch is tested with netmiko's ConnectHandler replaced by a fake session
(driver._connect_handler), not against an SSH server.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import paramiko
import pytest
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout
from tests.netfake import FakeSession, case_outputs, fake_handler

from hardening.core.errors import AuthenticationFailed, DeviceTimeout, DeviceUnreachable, SavedFactsError
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import Target, get_platform
from hardening.core.secrets import Credentials, Secret
from hardening.platforms.cisco_ios import driver
from hardening.platforms.cisco_ios.config import expand_interface_range, interfaces, parse_config, truncation
from hardening.platforms.cisco_ios.data import capture_file, commands
from hardening.platforms.cisco_ios.parse import RUNNING, parse_outputs

LOGIN_PASSWORD, ENABLE_SECRET = "pw-S3cret!", "en-S3cret!"
CASES = Path(__file__).resolve().parents[1] / "platforms" / "cisco_ios" / "cases"


def facts(config: str, **live: str) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    outputs = {RUNNING: config, **{k.replace("_", " "): v for k, v in live.items()}}
    result, _ = parse_outputs(outputs)
    return result.facts, result.errors, result.manual


# --- configuration reading ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kind", "expected"), [
    ("banner motd #Authorized only#\n", "motd", "Authorized only"),
    ("banner login ^C\nline 1\nline 2\n^C\n", "login", "line 1\nline 2"),
    ("banner login $\nfirst\nsecond $ rest ignored\n", "login", "first\nsecond "),
    ("banner %One line banner%\n", "motd", "One line banner"),
    ("banner motd ^CSame line^C\n", "motd", "Same line"),
])
def test_banner_delimiters(text: str, kind: str, expected: str) -> None:
    config = parse_config(text + "hostname R1\n")
    assert config.banners[kind].text == expected
    assert config.has("hostname R1"), "the line after a banner is configuration again"


def test_banner_text_that_looks_like_commands_is_not_configuration() -> None:
    config = parse_config("banner motd ^C\nline vty 0 4\n exec-timeout 0 0\n^C\nline vty 0 4\n exec-timeout 5 0\n")
    found, _, _ = facts("banner motd ^C\nline vty 0 4\n exec-timeout 0 0\n^C\nversion 12.4\nline vty 0 4\n"
                        " exec-timeout 5 0\n transport input ssh\nline con 0\n exec-timeout 5 0\n")
    assert len(config.globals("line")) == 1
    assert found["login"]["idle_timeout"]["seconds"] == 300


def test_interface_range_expansion_and_later_blocks() -> None:
    assert expand_interface_range("GigabitEthernet1/0/1 - 3 , GigabitEthernet1/0/10") == [
        "GigabitEthernet1/0/1", "GigabitEthernet1/0/2", "GigabitEthernet1/0/3", "GigabitEthernet1/0/10"]
    assert expand_interface_range("Fa0/1-2") == ["Fa0/1", "Fa0/2"]
    config = parse_config("interface range Gi1/0/1 - 4\n shutdown\n!\ninterface Gi1/0/2\n no shutdown\n")
    settings = interfaces(config)
    assert [n for n, s in settings.items() if "shutdown" in s] == ["Gi1/0/1", "Gi1/0/3", "Gi1/0/4"]


def test_capture_file_names() -> None:
    assert capture_file("show running-config") == "show_running-config.txt"
    assert capture_file("show control-plane host open-ports") == "show_control-plane_host_open-ports.txt"
    assert capture_file("show run | include ip ssh") == "show_run_include_ip_ssh.txt"
    assert len({capture_file(c["command"]) for c in commands()}) == len(commands())


# --- effective values ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("lines", "seconds", "source"), [
    ("line con 0\nline vty 0 4\n transport input ssh\n", 600, "line con 0"),           # default 10 min
    ("line con 0\n exec-timeout 5\nline vty 0 4\n exec-timeout 3 30\n transport input ssh\n", 300, "line con 0"),
    ("line con 0\n exec-timeout 5 0\nline vty 0 4\n exec-timeout 5 0\n no exec-timeout\n transport input ssh\n",
     0, "line vty 0 4"),                                                                # `no exec-timeout` = never
    ("line con 0\n exec-timeout 5 0\nline aux 0\n exec-timeout 0 0\n no exec\nline vty 0 4\n exec-timeout 1 0\n"
     " transport input ssh\nline vty 5 15\n exec-timeout 0 0\n transport input none\n", 300, "line con 0"),
    ("line con 0\n exec-timeout 5 0\nline vty 0 4\n exec-timeout 5 0\n transport input ssh\nline vty 5 97\n"
     " transport input ssh\n", 600, "line vty 5 97"),                                   # IOS-XE extra vty range
])
def test_idle_timeout_worst_line(lines: str, seconds: int, source: str) -> None:
    found, _, _ = facts("version 15.2\n" + lines)
    assert found["login"]["idle_timeout"] == {"seconds": seconds, "readonly": True, "exported": True,
                                              "source": source}


def test_vty_transport_default_by_release() -> None:
    old, _, manual = facts("version 12.4\nline vty 0 4\n")
    assert {"protocol": "telnet", "how": "configured",
            "detail": "line vty 0 4: transport input all (the release's default)"} in \
        old["management"]["insecure_protocols"]
    assert not manual
    new, _, manual = facts("version 15.2\nline vty 0 4\n transport input ssh\nline vty 5 15\n")
    assert "insecure_protocols" not in new.get("management", {})
    assert "line vty 5 15" in manual["/management/insecure_protocols"]
    assert "/services/prohibited_present" in manual


def test_ssh_version_default_counts_only_when_ssh_is_offered() -> None:
    found, _, _ = facts("version 15.2\nline vty 0 4\n transport input ssh\n")
    ssh1 = {"protocol": "ssh1", "how": "configured", "detail": "no `ip ssh version`: the default 1.99 accepts SSH 1"}
    assert ssh1 in found["management"]["insecure_protocols"]
    assert found["remote_access"]["ssh"]["protocol_version"] == 1
    found, _, _ = facts("version 15.2\nip ssh version 2\nline vty 0 4\n transport input ssh\n")
    assert found["management"]["insecure_protocols"] == []
    found, _, _ = facts("version 15.2\nline vty 0 4\n transport input none\n")
    assert found["management"]["insecure_protocols"] == []


def test_snmp_versions() -> None:
    found, _, _ = facts("version 15.2\nip ssh version 2\nline vty 0 4\n transport input ssh\n"
                        "snmp-server group RO-G v3 priv read V\nsnmp-server group OLD v3 auth\n"
                        "snmp-server group LEGACY v2c\nsnmp-server user mon RO-G v3 auth sha Ab1 priv aes 128 Cd2\n")
    assert found["management"]["insecure_protocols"] == [
        {"protocol": "snmp_v3_without_privacy", "how": "configured",
         "detail": "snmp-server group OLD v3 auth (no encryption)"},
        {"protocol": "snmp_v1_v2c", "how": "configured", "detail": "snmp-server group LEGACY v2c"}]


def test_logging_forms_and_trap_level() -> None:
    found, _, _ = facts("logging trap 3\nlogging 10.0.0.1\nlogging host 10.0.0.2 vrf X transport tcp\n"
                        "logging host ipv6 2001:db8::5 transport udp port 5514\nlogging buffered 20000 errors\n"
                        "logging console\n")
    assert found["logging"]["remote_targets"] == [
        {"host": "10.0.0.1", "port": 514, "protocol": "udp", "selector": "trap errors"},
        {"host": "10.0.0.2", "port": 601, "protocol": "tcp", "selector": "trap errors"},
        {"host": "2001:db8::5", "port": 5514, "protocol": "udp", "selector": "trap errors"}]
    assert found["logging"]["local_buffer"] == {"enabled": True, "size_bytes": 20000, "severity": "errors"}
    found, _, _ = facts("logging syslog.city.example\nlogging trap informational\n")
    assert found["logging"]["remote_targets"] == [
        {"host": "syslog.city.example", "port": 514, "protocol": "udp", "selector": "trap informational"}]
    found, _, _ = facts("logging host 10.0.0.1\nno logging trap\n")
    assert found["logging"]["remote_targets"] == []
    found, _, _ = facts("hostname R\n")
    assert found["logging"]["local_buffer"] == {"enabled": True, "size_bytes": 4096, "severity": "debugging"}


@pytest.mark.parametrize(("line", "full"), [
    ("service timestamps log datetime msec localtime show-timezone year", True),
    ("service timestamps log datetime show-timezone year", True),          # UTC, with the zone named
    ("service timestamps log datetime msec localtime year", False),        # no zone
    ("service timestamps log datetime msec localtime show-timezone", False),  # no year
    ("service timestamps log uptime", False),
    ("no service timestamps log", False),
    ("hostname R", False),                                                 # the default carries neither
])
def test_timestamps(line: str, full: bool) -> None:
    found, _, _ = facts(line + "\n")
    assert found["logging"]["timestamp_formats"][0]["full"] is full


def test_password_storage_types() -> None:
    found, _, _ = facts("enable secret 9 $9$x$y\nusername a secret 8 $8$x$y\nusername b secret 5 $1$x$y\n"
                        "username c password 7 0822455D0A16\nusername d password plain\nusername e nopassword\n"
                        "username f privilege 15 secret 4 AbC\nline con 0\n password 0 x\n")
    storage = found["accounts"]["password_storage"]
    assert [m["method"] for m in storage["hash_methods"]] == [
        "scrypt", "pbkdf2_sha256", "md5", "reversible", "plaintext", "sha256_unsalted", "plaintext"]
    assert storage["weak_hash_accounts"] == ["c", "d", "f", "line con 0"]
    assert storage["empty_password_accounts"] == ["e"]
    found, _, _ = facts("service password-encryption\nusername d password plain\n")
    assert found["accounts"]["password_storage"]["hash_methods"] == [{"source": "username d", "method": "reversible"}]


def test_algorithm_type_in_a_handover_text() -> None:
    found, _, _ = facts("enable algorithm-type scrypt secret Plain1\nusername a algorithm-type sha256 secret Plain2\n"
                        "username b privilege 15 algorithm-type scrypt secret 9 $9$x$y\n")
    storage = found["accounts"]["password_storage"]
    assert [(m["source"], m["method"]) for m in storage["hash_methods"]] == [
        ("enable secret", "scrypt"), ("username a", "pbkdf2_sha256"), ("username b", "scrypt")]
    assert storage["weak_hash_accounts"] == []
    found, _, _ = facts("service password-encryption\nno service password-encryption\nusername d password x\n")
    assert found["accounts"]["password_storage"]["hash_methods"][0]["method"] == "plaintext"


def test_generic_admin_names_case_insensitive() -> None:
    found, _, _ = facts("username Admin secret 9 x\nusername CISCO secret 9 x\nusername yamada secret 9 x\n")
    assert found["accounts"]["generic_admin_names"] == ["Admin", "CISCO"]


def test_common_criteria_policy_needs_binding() -> None:
    policy = ("aaa common-criteria policy P\n min-length 12\n upper-case 1\n lower-case 1\n numeric-count 1\n"
              " special-case 1\n")
    unbound, _, _ = facts(policy + "username a secret 9 x\n")
    assert unbound["password_policy"] == {"enforced": False, "min_length": 1, "min_char_classes": 0}
    bound, _, _ = facts(policy + "username a common-criteria-policy P secret 9 x\n")
    assert bound["password_policy"] == {"enforced": True, "min_length": 12, "min_char_classes": 4}
    undefined, _, _ = facts(policy + "username a common-criteria-policy Q secret 9 x\n")
    assert undefined["password_policy"]["enforced"] is False
    global_only, _, _ = facts("security passwords min-length 9\n")
    assert global_only["password_policy"] == {"enforced": True, "min_length": 9, "min_char_classes": 0}


@pytest.mark.parametrize(("config", "threshold", "duration"), [
    ("username a privilege 1 secret 9 x\n", 0, None),
    ("aaa new-model\naaa local authentication attempts max-fail 3\nusername a privilege 1 secret 9 x\n", 3, 0),
    # privilege 15 users are never locked by max-fail: with only them, there is no lockout
    ("aaa local authentication attempts max-fail 3\nusername a privilege 15 secret 9 x\n", 0, None),
    ("aaa local authentication attempts max-fail 3\nlogin block-for 90 attempts 4 within 60\n"
     "username a privilege 15 secret 9 x\nusername b secret 9 x\n", 4, 90),
    ("login block-for 90 attempts 4 within 60\n", 4, 90),  # line passwords only
])
def test_lockout_worst_account(config: str, threshold: int, duration: int | None) -> None:
    found, _, _ = facts(config)
    assert (found["login"]["lockout_threshold"], found["login"]["lockout_duration_seconds"]) == (threshold, duration)


def test_ntp_server_forms() -> None:
    found, _, _ = facts("ntp server vrf MGMT 10.0.0.1 prefer\nntp server ip 10.0.0.2 key 1 source Lo0\n"
                        "ntp server ipv6 2001:db8::123\nntp peer 10.0.0.3\nsntp server 10.0.0.4\n"
                        "ntp server 10.0.0.1\n")
    assert found["time"]["ntp_servers"] == ["10.0.0.1", "10.0.0.2", "2001:db8::123", "10.0.0.3", "10.0.0.4"]


def test_live_outputs_rejected_or_missing_are_errors() -> None:
    found, errors, manual = facts("interface GigabitEthernet0/1\n", show_ntp_status="% Invalid input detected at "
                                  "'^' marker.\n")
    assert "rejected" in errors["/time/synchronized"]
    assert "/management/privilege_level" in errors
    assert "/logging/running" in errors
    assert "/network/unused_ports_enabled" in manual
    assert "network" not in found or "unused_ports_enabled" not in found["network"]


def test_every_port_shut_down_needs_no_link_state() -> None:
    found, _, manual = facts("interface range GigabitEthernet1/0/1 - 4\n shutdown\ninterface Vlan1\n ip address "
                             "10.0.0.1 255.255.255.0\n")
    assert found["network"]["unused_ports_enabled"] == []
    assert "/network/unused_ports_enabled" not in manual


def test_lines_left_out_of_a_configuration_text_are_at_their_defaults() -> None:
    found, _, _ = facts("version 12.4\nhostname R\n")
    assert found["login"]["idle_timeout"]["seconds"] == 600
    assert found["login"]["idle_timeout"]["source"] == "line con 0"
    assert "line vty 0 4: transport input all (the release's default)" in [
        p.get("detail") for p in found["management"]["insecure_protocols"]]
    _, _, manual = facts("version 17.9\nhostname R\n")
    assert "line vty 0 4" in manual["/management/insecure_protocols"]


# --- the capture as a whole ---------------------------------------------------------------------------

def test_capture_without_configuration_or_below_privilege_15(tmp_path: Path) -> None:
    platform = driver.IOSPlatform()
    with pytest.raises(SavedFactsError, match="no saved configuration"):
        platform.parse(tmp_path)
    (tmp_path / "show_running-config.txt").write_text("hostname R\n", encoding="utf-8")
    (tmp_path / "show_privilege.txt").write_text("Current privilege level is 1\n", encoding="utf-8")
    with pytest.raises(SavedFactsError, match="privilege level 1"):
        platform.parse(tmp_path)


WHOLE = "Building configuration...\n\nCurrent configuration : 120 bytes\n!\nhostname R\n!\nline vty 0 4\n" \
        " transport input ssh\n!\nend\n"


@pytest.mark.parametrize(("text", "cut"), [
    (WHOLE, None),
    (WHOLE.replace("!\nend\n", ""), "stops after ' transport input ssh'"),
    # a banner's own `end` line (and a line equal to the prompt) is not the configuration's end
    (WHOLE.replace("!\nline vty", "banner motd ^C\nR#\nend\n^C\n!\nline vty").replace("!\nend\n", ""),
     "stops after ' transport input ssh'"),
    (WHOLE.split("!\nline vty", maxsplit=1)[0] + "banner motd ^C\nR#\nend\n", "a banner not closed"),
    ("Building configuration...\n\nCurrent configuration : 0 bytes\n", "empty"),
    ("hostname R\nline vty 0 4\n transport input ssh\n", None),   # a handed-over text: not judged
])
def test_a_running_configuration_cut_short_is_refused(tmp_path: Path, text: str, cut: str | None) -> None:
    assert (truncation(text) is None) == (cut is None)
    (tmp_path / "show_running-config.txt").write_text(text, encoding="utf-8")
    if cut is None:
        assert driver.IOSPlatform().parse(tmp_path)["facts"]["os"]["hostname"] == "R"
        return
    assert cut in str(truncation(text))
    with pytest.raises(SavedFactsError, match=r"show_running-config\.txt: .*(cut short|empty)"):
        driver.IOSPlatform().parse(tmp_path)


SECRET_VALUE = re.compile(r"(?im)^\s*(?:enable\s+(?:secret|password)|username\s+\S+.*?\s(?:secret|password)|"
                          r"password|snmp-server\s+community)\s+(?:level\s+\d+\s+)?(?:\d\s+)?(\S+)")


TRAP_COMMUNITY = re.compile(r"(?im)^snmp-server\s+host\s+\S+(?:\s+vrf\s+\S+)?(?:\s+(?:informs|traps))?"
                            r"\s+version\s+(?:1|2c)\s+(\S+)")


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()))
def test_no_secret_in_any_parsed_document(case: str) -> None:
    """Every secret value of a case's configuration (enable/user/line passwords and secrets, communities) is
    absent from the whole facts document, evidence included."""
    raw = CASES / case / "raw"
    config = (raw / "show_running-config.txt").read_text(encoding="utf-8")
    secrets = set(SECRET_VALUE.findall(config)) | set(TRAP_COMMUNITY.findall(config))
    assert secrets, "the case carries secrets to look for"
    document = json.dumps(driver.IOSPlatform().parse(raw), ensure_ascii=False)
    assert [s for s in secrets if s in document] == []


# --- fetch over netmiko (ConnectHandler replaced: asyncssh is not installed for an in-test SSH server) --

def target(tmp_path: Path, **extras: Any) -> Target:
    from hardening.core.connections import ConnectionOptions

    host = Host(name="rt1", hostname="192.0.2.1", port=22, platform="cisco_ios", device_class="router", zone="",
                classification={}, system=SystemInfo("net", "", ()), roles=(), groups=(), credentials="net")
    credentials = Credentials(name="net", username="audit", password=Secret(LOGIN_PASSWORD),
                              enable_secret=Secret(ENABLE_SECRET))
    options = ConnectionOptions(kind="netmiko", hostname="192.0.2.1", port=2222,
                                extras={"known_hosts": str(tmp_path / "known_hosts"), **extras})
    return Target(host=host, credentials=credentials, timeout=30.0, connections={"netmiko": options})


def test_fetch_one_session_every_command_then_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = "iosxe17-router-common-criteria-live-synced"
    session = FakeSession(case_outputs(CASES / case / "raw", commands()))
    calls = fake_handler(monkeypatch, session)
    platform = get_platform("cisco_ios")
    document = platform.collect(target(tmp_path))
    assert len(calls) == 1
    assert session.closed
    assert session.sent == [c["command"] for c in commands()]
    kwargs = calls[0]
    assert kwargs["device_type"] == "cisco_ios"
    assert (kwargs["host"], kwargs["port"]) == ("192.0.2.1", 2222)
    assert kwargs["secret"] == ENABLE_SECRET
    assert kwargs["password"] == LOGIN_PASSWORD
    assert kwargs["ssh_strict"] is True
    assert kwargs["alt_host_keys"] is True
    assert kwargs["system_host_keys"] is False
    assert kwargs["alt_key_file"] == str(tmp_path / "known_hosts")
    expected = json.loads((CASES / case / "expected.json").read_text(encoding="utf-8"))
    assert document["facts"] == expected["facts"]
    assert sorted(document["errors"]) == expected["errors"] == []


def test_fetch_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_handler(monkeypatch, FakeSession({RUNNING: "hostname R\n"}))
    into = tmp_path / "cap"
    into.mkdir()
    driver.IOSPlatform().fetch(target(tmp_path, device_type="cisco_xe", host_key_policy="accept-new",
                                      fast_cli=True), into)
    assert calls[0]["device_type"] == "cisco_xe"
    assert calls[0]["ssh_strict"] is False
    assert calls[0]["fast_cli"]
    assert (into / "show_running-config.txt").read_text(encoding="utf-8") == "hostname R\n"
    assert (into / "show_running-config.txt").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(("failure", "error", "words"), [
    (NetmikoAuthenticationException("Authentication to device failed. pw-S3cret!"), AuthenticationFailed,
     "authentication refused"),
    (NetmikoTimeoutException("TCP connection to device failed."), DeviceUnreachable, "no SSH connection"),
    (paramiko.BadHostKeyException("192.0.2.1", paramiko.RSAKey.generate(1024), paramiko.RSAKey.generate(1024)),
     AuthenticationFailed, "host key differs"),
    (paramiko.SSHException("Server '[192.0.2.1]:2222' not found in known_hosts"), AuthenticationFailed,
     "host key unknown"),
    (ConnectionRefusedError(111, "Connection refused"), DeviceUnreachable, "SSH session failed"),
])
def test_connect_failures_are_mapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException,
                                     error: type[Exception], words: str) -> None:
    fake_handler(monkeypatch, failure)
    with pytest.raises(error) as raised:
        driver.IOSPlatform().fetch(target(tmp_path), tmp_path)
    message = str(raised.value)
    assert words in message
    assert "\n" not in message
    assert "S3cret" not in message


def test_wrong_enable_secret_and_lost_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = FakeSession({}, fail={"enable": ValueError("Failed to enter enable mode. Please ensure you pass "
                                                         "the 'secret' argument to ConnectHandler.")})
    fake_handler(monkeypatch, session)
    with pytest.raises(AuthenticationFailed, match="enable secret is wrong"):
        driver.IOSPlatform().fetch(target(tmp_path), tmp_path)
    assert session.closed
    session = FakeSession({RUNNING: "hostname R\n"}, fail={"show ntp status": ReadTimeout("Pattern not detected")})
    fake_handler(monkeypatch, session)
    with pytest.raises(DeviceTimeout, match="show ntp status"):
        driver.IOSPlatform().fetch(target(tmp_path), tmp_path)
    assert session.closed
    session = FakeSession({RUNNING: "hostname R\n"}, fail={"show version": OSError("Socket is closed")})
    fake_handler(monkeypatch, session)
    with pytest.raises(DeviceUnreachable, match="Socket is closed"):
        driver.IOSPlatform().fetch(target(tmp_path), tmp_path)


def test_fetch_needs_the_enable_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from hardening.core.errors import SecretError

    calls = fake_handler(monkeypatch, FakeSession({}))
    plain = target(tmp_path)
    without = replace(plain, credentials=replace(plain.credentials, enable_secret=None))
    with pytest.raises(SecretError, match="ENABLE_SECRET"):
        driver.IOSPlatform().fetch(without, tmp_path)
    assert calls == []


# --- audit --from over saved IOS captures, through the stock command -----------------------------------

def test_offline_audit_of_ios_captures(tmp_path: Path) -> None:
    """`hardening audit --from` over a full live capture and over a configuration backup: the backup's TIME-SYNC
    (synchronisation is live-only) is an error, never a pass; the configured facts give the same verdicts."""
    import shutil
    import subprocess
    import sys

    import yaml

    root = Path(__file__).resolve().parents[2]
    catalog, inventory, saved = tmp_path / "catalog", tmp_path / "inventory", tmp_path / "saved"
    for folder in (catalog, inventory, saved):
        folder.mkdir()
    for rid in ("TIME-SYNC", "LOGIN-TIMEOUT", "MGMT-SECURE-PROTOCOLS", "LOG-TIMESTAMPS"):
        requirement = json.loads((root / "schemas" / "requirements" / f"{rid}.json").read_text(encoding="utf-8"))
        classes = requirement["x-hardening"]["device_classes"]  # the catalog names them itself since issue 8
        classes += [c for c in ("router", "switch") if c not in classes]
        (catalog / f"{rid}.json").write_text(json.dumps(requirement, ensure_ascii=False), encoding="utf-8")
    shutil.copyfile(root / "inventory" / "systems.yaml", inventory / "systems.yaml")
    (inventory / "site.yaml").write_text("site: {name: 坂戸市（試験）, name_en: Sakado test}\n"
                                         "parameters: {ntp_servers: [10.99.0.123, 10.99.0.124]}\n", encoding="utf-8")
    (inventory / "waivers.yaml").write_text("waivers: []\n", encoding="utf-8")
    common = {"zone": "kikan", "classification": {"c": 2, "i": 2, "a": 2}, "system": "情報基盤",
              "roles": ["router"], "credentials": "net", "device_class": "router"}
    hosts = {name: {"hostname": "192.0.2.1", "platform": "cisco_ios", "data": common} for name in ("live", "backup")}
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    case = CASES / "iosxe17-router-common-criteria-live-synced" / "raw"
    shutil.copytree(case, saved / "live")
    (saved / "backup").mkdir()
    shutil.copyfile(case / "show_running-config.txt", saved / "backup" / "show_running-config.txt")
    result = subprocess.run([str(Path(sys.executable).parent / "hardening"), "audit", "-i", str(inventory),
                             "--catalog", str(catalog), "--out", "out", "--ledger", "ledger.jsonl", "--no-progress",
                             "--from", str(saved)], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                            check=False)
    assert result.returncode == 1, result.stderr  # the backup's TIME-SYNC cannot be decided
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    verdicts = {(f["host"], f["requirement"]): f["status"] for f in report["findings"]}
    assert verdicts == {
        ("live", "TIME-SYNC"): "pass", ("backup", "TIME-SYNC"): "error",
        ("live", "LOGIN-TIMEOUT"): "pass", ("backup", "LOGIN-TIMEOUT"): "pass",
        ("live", "MGMT-SECURE-PROTOCOLS"): "pass", ("backup", "MGMT-SECURE-PROTOCOLS"): "pass",
        ("live", "LOG-TIMESTAMPS"): "pass", ("backup", "LOG-TIMESTAMPS"): "pass"}


# --- syntax variants real devices and handover texts carry --------------------------------------------

@pytest.mark.parametrize(("text", "kind", "expected"), [
    ("banner motd \x03\nAuthorized only\n\x03\n", "motd", "Authorized only"),   # the raw Ctrl-C of a file copy
    ("banner login ^CAuthorized\nusers only^C trailing words\n", "login", "Authorized\nusers only"),
    ("banner login ##Authorized##\n", "login", ""),          # the second `#` ends it: IOS keeps an empty banner
])
def test_more_banner_delimiters(text: str, kind: str, expected: str) -> None:
    config = parse_config(text + "hostname R1\n")
    assert config.banners[kind].text == expected
    assert config.has("hostname R1")


def test_overlapping_line_blocks_later_setting_wins() -> None:
    """A handover text types `line vty 0 15` and then narrows part of it: per line number, the later setting of
    the same command replaces the earlier one; the ranges come out as the device keeps them."""
    from hardening.platforms.cisco_ios.lines import config_lines

    config = parse_config("line con 0\nline vty 0 15\n transport input telnet\n exec-timeout 30 0\n"
                          "line vty 0 4\n transport input ssh\nline vty 16 31\n transport input ssh\n"
                          "line console 0\n exec-timeout 5 0\nline tty 1 8\n transport input ssh\n")
    lines = {line.name: line.settings for line in config_lines(config)}
    assert lines == {"con 0": ["exec-timeout 5 0"], "vty 0 4": ["exec-timeout 30 0", "transport input ssh"],
                     "vty 5 15": ["transport input telnet", "exec-timeout 30 0"],
                     "vty 16 31": ["transport input ssh"], "1 8": ["transport input ssh"]}
    found, _, _ = facts("version 15.2\nip ssh version 2\n" + "line con 0\nline vty 0 15\n transport input telnet\n"
                        "line vty 0 15\n transport input ssh\n")
    assert found["management"]["insecure_protocols"] == []


def test_aux_and_tty_count_only_with_a_network_transport() -> None:
    base = "version 15.2\nip ssh version 2\nline con 0\n exec-timeout 5 0\nline vty 0 4\n exec-timeout 5 0\n" \
           " transport input ssh\n"
    found, _, _ = facts(base + "line aux 0\n exec-timeout 0 0\n")  # 11.1 on: no network connection by default
    assert found["management"]["insecure_protocols"] == []
    found, _, _ = facts(base + "line aux 0\n exec-timeout 0 0\n transport input telnet\n")
    assert {"protocol": "telnet", "how": "configured", "detail": "line aux 0: transport input telnet"} in \
        found["management"]["insecure_protocols"]
    assert found["login"]["idle_timeout"]["source"] == "line aux 0"  # the console-side line counted either way


def test_login_forms_decide_whose_lockout_counts() -> None:
    users = "username ops privilege 1 secret 9 $9$x$y\naaa local authentication attempts max-fail 3\n"
    # `login local`: the local users (max-fail locks privilege 1)
    found, _, _ = facts("aaa new-model\naaa authentication login default local\n" + users +
                        "line vty 0 4\n transport input ssh\n")
    assert found["login"]["lockout_threshold"] == 3
    # the vty lines check the line password (AAA `line`): max-fail never applies to it
    found, _, _ = facts("aaa new-model\naaa authentication login VTY line\n" + users +
                        "line vty 0 4\n login authentication VTY\n password 7 0822455D0A16\n transport input ssh\n")
    assert found["login"]["lockout_threshold"] == 0
    # without aaa new-model: `login` + `password` is the line password
    found, _, _ = facts(users.replace("aaa local authentication attempts max-fail 3\n", "") +
                        "login block-for 60 attempts 4 within 30\nline vty 0 4\n login\n password 7 0822455D0A16\n"
                        " transport input ssh\n")
    assert (found["login"]["lockout_threshold"], found["login"]["lockout_duration_seconds"]) == (4, 60)
    # an AAA server group decides its own lockout: the configuration cannot show it
    found, _, manual = facts("aaa new-model\naaa authentication login default group tacacs+ local\n" + users +
                             "line vty 0 4\n transport input ssh\n")
    assert "/login/lockout_threshold" in manual
    assert "lockout_threshold" not in found["login"]


def test_no_login_on_a_network_line_is_an_empty_password() -> None:
    found, _, _ = facts("no aaa new-model\nline con 0\nline vty 0 4\n no login\n transport input ssh\n"
                        "line vty 5 15\n login\n password 7 0822455D0A16\n transport input ssh\n")
    assert found["accounts"]["password_storage"]["empty_password_accounts"] == ["line vty 0 4"]
    found, _, _ = facts("aaa new-model\naaa authentication login OPEN none\nline vty 0 4\n login authentication OPEN\n"
                        " transport input ssh\n")
    assert found["accounts"]["password_storage"]["empty_password_accounts"] == ["line vty 0 4"]


def test_logging_on_off_and_trap_last_wins() -> None:
    found, _, _ = facts("logging host 10.0.0.1\nno logging on\nlogging on\n")
    assert [t["host"] for t in found["logging"]["remote_targets"]] == ["10.0.0.1"]
    found, _, _ = facts("logging host 10.0.0.1\nlogging on\nno logging on\n")
    assert found["logging"]["remote_targets"] == []
    assert found["logging"]["local_buffer"]["enabled"] is False
    found, _, _ = facts("logging host 10.0.0.1\nno logging trap\nlogging trap\n")
    assert found["logging"]["remote_targets"][0]["selector"] == "trap informational"


@pytest.mark.parametrize(("lines", "buffer"), [
    ("logging buffered 64000 informational\n", {"enabled": True, "size_bytes": 64000, "severity": "informational"}),
    ("logging buffered informational\n", {"enabled": True, "size_bytes": 4096, "severity": "informational"}),
    ("logging buffered discriminator NOISY 32000\n", {"enabled": True, "size_bytes": 32000, "severity": "debugging"}),
    ("no logging buffered\n", {"enabled": False, "size_bytes": 0, "severity": None}),
    ("no logging buffered\nlogging buffered 16000\n", {"enabled": True, "size_bytes": 16000, "severity": "debugging"}),
])
def test_logging_buffered_forms(lines: str, buffer: dict[str, Any]) -> None:
    found, _, _ = facts(lines)
    assert found["logging"]["local_buffer"] == buffer


def test_vrf_on_logging_ntp_and_snmp() -> None:
    found, _, _ = facts("logging host 10.0.0.9 vrf Mgmt-intf transport udp port 5514\n"
                        "ntp server vrf Mgmt-intf 10.0.0.1 prefer\n"
                        "snmp-server host 10.0.0.7 vrf Mgmt-intf version 2c Tr4pC0mm\n")
    assert found["logging"]["remote_targets"] == [
        {"host": "10.0.0.9", "port": 5514, "protocol": "udp", "selector": "trap informational"}]
    assert found["time"]["ntp_servers"] == ["10.0.0.1"]
    assert not [a for a in found["management"]["access"] if "snmp" in a["context"]]  # a trap receiver: no way in


def test_aaa_password_restriction_needs_aaa_new_model() -> None:
    found, _, _ = facts("aaa new-model\naaa password restriction\nsecurity passwords min-length 12\n"
                        "username a secret 9 x\n")
    assert found["password_policy"] == {"enforced": True, "min_length": 12, "min_char_classes": 3}
    found, _, _ = facts("aaa password restriction\nusername a secret 9 x\n")  # ignored without aaa new-model
    assert found["password_policy"] == {"enforced": False, "min_length": 1, "min_char_classes": 0}


def test_type_8_and_9_secrets_are_strong_type_5_7_0_not_all() -> None:
    found, _, _ = facts("enable secret 8 $8$abc$def\nenable password 7 0822455D0A16\nusername a secret 9 $9$x$y\n")
    storage = found["accounts"]["password_storage"]
    assert [m["method"] for m in storage["hash_methods"]] == ["pbkdf2_sha256", "reversible", "scrypt"]
    assert storage["weak_hash_accounts"] == ["enable"]  # the enable password is stored although the secret wins


class ReaskingSession(FakeSession):
    """IOS after a wrong enable secret: `Password:` again, so netmiko's enable() times out waiting for `#`."""

    RETURN = "\n"

    def __init__(self, lands_on: str | None) -> None:
        super().__init__({}, fail={"enable": ReadTimeout("Pattern not detected: '#'")})
        self.lands_on, self.written, self.read_timeout_override = lands_on, "", 60.0
        self.timeouts_seen: list[float] = []

    def enable(self) -> None:
        self.timeouts_seen.append(self.read_timeout_override)
        super().enable()

    def write_channel(self, text: str) -> None:
        self.written += text

    def find_prompt(self) -> str:
        if self.lands_on is None:
            raise ReadTimeout("silent")
        return self.lands_on


def test_wrong_enable_secret_is_a_refusal_not_a_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = ReaskingSession("rt-ios-02>")
    fake_handler(monkeypatch, session)
    with pytest.raises(AuthenticationFailed, match="enable secret is wrong"):
        driver.IOSPlatform().fetch(target(tmp_path), tmp_path)
    assert session.written == "\n\n\n"  # the remaining Password: prompts answered with nothing
    assert session.timeouts_seen == [driver.ENABLE_TIMEOUT]  # the wait for `#` is short, not the session's
    assert session.read_timeout_override == 60.0
    assert session.closed
    silent = ReaskingSession(None)
    fake_handler(monkeypatch, silent)
    with pytest.raises(DeviceTimeout, match="no answer to `enable`"):
        driver.IOSPlatform().fetch(target(tmp_path), tmp_path)


def test_interfaces_status_reads_the_status_column_not_a_description_word() -> None:
    """The Name column is free text: a port described "disabled printer" that is notconnect is unused."""
    status = ("Port         Name               Status       Vlan       Duplex  Speed Type\n"
              "Gi1/0/1      disabled printer ( notconnect   30           auto   auto 10/100/1000BaseTX\n"
              "Gi1/0/2      to connected AP    notconnect   30           auto   auto 10/100/1000BaseTX\n"
              "Gi1/0/3      uplink notconnect- connected    trunk        full   1000 1000BaseSX SFP\n")
    config = ("version 17.6\nline vty 0 4\n transport input ssh\ninterface GigabitEthernet1/0/1\n"
              "interface GigabitEthernet1/0/2\ninterface GigabitEthernet1/0/3\n")
    found, _, _ = facts(config, show_interfaces_status=status)
    assert found["network"]["unused_ports_enabled"] == ["GigabitEthernet1/0/1", "GigabitEthernet1/0/2"]


def test_a_secret_typed_as_type_0_is_stored_hashed_not_in_clear() -> None:
    """`enable secret 0 TEXT` / `username … secret 0 TEXT` in a handover text: IOS hashes it (the method depends on
    the release and `algorithm-type`), unlike `password 0 TEXT`, which it keeps in clear."""
    found, _, _ = facts("enable secret 0 Fake-En-1\nusername ops secret 0 Fake-Ops-1\n"
                        "username alg algorithm-type scrypt secret 0 Fake-Alg-1\nusername old password 0 Fake-Old-1\n")
    methods = {m["source"]: m["method"] for m in found["accounts"]["password_storage"]["hash_methods"]}
    assert methods == {"enable secret": "unknown:secret-without-type", "username ops": "unknown:secret-without-type",
                       "username alg": "scrypt", "username old": "plaintext"}
