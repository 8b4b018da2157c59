"""YAMAHA RTX platform: parser rules the conformance cases do not pin down, and fetch over netmiko.

fetch is tested with netmiko's ConnectHandler replaced by a fake session (netcli._connect_handler); the lab
simulator test (tests/unit/test_netsim_rtx.py) drives netmiko's real `yamaha` driver over SSH on loopback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from netmiko.exceptions import NetmikoAuthenticationException, ReadTimeout
from tests.netfake import FakeSession, case_outputs, fake_handler

from hardening.core.errors import AuthenticationFailed, DeviceTimeout, DeviceUnreachable, SavedFactsError
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import Target, get_platform
from hardening.core.secrets import Credentials, Secret
from hardening.platforms.yamaha_rtx import driver
from hardening.platforms.yamaha_rtx.config import parse_config
from hardening.platforms.yamaha_rtx.data import capture_file, commands, platform_data, pseudo_commands
from hardening.platforms.yamaha_rtx.parse import RUNNING, parse_outputs, resolve_hosts

LOGIN_PASSWORD, ADMIN_PASSWORD = "pw-S3cret!", "adm-S3cret!"
CASES = Path(__file__).resolve().parents[1] / "platforms" / "yamaha_rtx" / "cases"


def facts(config: str, **live: str) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    outputs = {RUNNING: config, **{k.replace("_", " "): v for k, v in live.items()}}
    result, _ = parse_outputs(outputs)
    return result.facts, result.errors, result.manual


# --- the flat configuration ---------------------------------------------------------------------------

def test_select_contexts_header_and_negation() -> None:
    config = parse_config("# RTX830 Rev.15.02.26 (Tue Aug  1 12:00:00 2023)\n# Reporting Date: Nov 1 2026\n"
                          "telnetd host lan\npp select 1\n ip pp secure filter in 1 2\npp select none\n"
                          "no telnetd host\ntunnel select 2\n ip tunnel secure filter in 3\n"
                          'description lan1 "LAN side"\n')
    assert config.header[0].startswith("RTX830 Rev.15.02.26")
    assert config.find("telnetd", "host") == [], "`no telnetd host` removes the earlier line"
    assert [line.context for line in config.lines if line.words[:2] == ("ip", "pp")] == ["pp 1"]
    assert config.last("ip", "tunnel", "secure", context="tunnel 2") is not None
    assert config.lines[-1].words == ("description", "lan1", "LAN side"), "the description is in tunnel 2's context"


def rtx_session(outputs: dict[str, str], fail: dict[str, BaseException] | None = None) -> FakeSession:
    """netmiko's yamaha driver as the platform sees it: enable() = `administrator` + password."""
    return FakeSession(outputs, fail, name="RTX1210", invalid="Error: Invalid command name\n")


def test_wrapped_header_and_selection_in_a_typed_text() -> None:
    config = parse_config("# main:  RTX1210 ver=00 serial=S1 MAC-Address=00:a0:de:00:00:01 MAC-Addr\n"
                          "ess=00:a0:de:00:00:02 MAC-Address=00:a0:de:00:00:03 TAM=11\n"
                          "pp select 1\nip pp secure filter in 1\nip filter 1 pass * * * * *\n"
                          "schedule at 1 */* 0:00 * ntpdate 10.0.0.1\n")
    assert config.header[-1].startswith("ess="), "the wrapped rest of `# main:` is header"
    assert [(x.context, x.words[:2]) for x in config.lines] == [("pp 1", ("ip", "pp")), ("", ("ip", "filter")),
                                                                 ("", ("schedule", "at"))]
    found, _, _ = facts("pp select 1\nip pp secure filter in 1\nip filter 1 pass * * * * *\n")
    assert found["network"]["any_any_permits"][0]["applied_to"] == ["pp1 in"]


def test_ipv6_lists_and_removed_lists() -> None:
    found, _, _ = facts("ipv6 filter 9 pass * * * * *\nip filter 9 reject * * * * *\n"
                        "ipv6 lan2 secure filter out 9\nip lan2 secure filter out 9\n"
                        "ip filter 8 pass *\nip lan1 secure filter in 8\nno ip lan1 secure filter in\n")
    assert [(p["rule"], p["applied_to"]) for p in found["network"]["any_any_permits"]] == [
        ("ipv6 filter 9", ["lan2 out (IPv6)"])]


def test_capture_files_and_the_pseudo_prompt() -> None:
    assert capture_file("show config") == "show_config.txt"
    assert len({capture_file(c["command"]) for c in commands()}) == len(commands())
    assert pseudo_commands() == frozenset({"prompt"})


# --- effective values ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("config", "seconds", "source"), [
    ("", 300, "login timer (default 300)"),
    ("login timer 900\n", 900, "login timer 900"),
    ("login timer clear\n", 0, "login timer clear"),
    ("login timer 120\nlogin user a encrypted X\nuser attribute connection=off\nuser attribute a login-timer=1800\n",
     1800, "user attribute a login-timer=1800"),
    ("login timer 600\nlogin user a encrypted X\nuser attribute * login-timer=clear\n", 0,
     "user attribute a login-timer=clear"),
])
def test_idle_timeout_worst_account(config: str, seconds: int, source: str) -> None:
    found, _, _ = facts(config)
    assert found["login"]["idle_timeout"]["seconds"] == seconds
    assert found["login"]["idle_timeout"]["source"] == source


def test_default_on_services_and_their_default_hosts() -> None:
    found, _, _ = facts("ip lan1 address 192.168.100.1/24\n")
    access = {a["context"]: a for a in found["management"]["access"]}
    assert access["telnetd (default host any)"]["sources"] == ["0.0.0.0/0"]
    assert access["httpd (default host lan)"]["sources"] == ["192.168.100.0/24"]
    assert not any(a["protocols"] == ["ssh"] for a in access.values()), "sshd is off by default"
    assert {p["protocol"] for p in found["management"]["insecure_protocols"]} == {"telnet", "http"}
    assert found["services"]["prohibited_present"][0]["how"] == "enabled"
    found, _, _ = facts("telnetd service off\nhttpd service off\nsshd service on\nsshd host none\n")
    assert found["management"]["access"] == [], "`host none` admits nobody: no way in"
    assert found["services"]["prohibited_present"] == []


@pytest.mark.parametrize(("config", "tokens", "admits", "sources"), [
    ("", ["none"], False, []),
    ("", ["any"], True, ["0.0.0.0/0"]),
    ("", ["192.168.0.1-192.168.0.6"], True, ["192.168.0.1/32", "192.168.0.2/31", "192.168.0.4/31",
                                            "192.168.0.6/32"]),
    ("", ["10.1.2.3", "10.0.0.0/8"], True, ["10.0.0.0/8", "10.1.2.3/32"]),
    ("ip lan1 address 10.1.0.1/16\nip lan2 address 203.0.113.2/30\nip route default gateway 203.0.113.1\n",
     ["lan1"], True, ["10.1.0.0/16"]),
    ("ip lan1 address 10.1.0.1/16\nip lan2 address 203.0.113.2/30\nip route default gateway 203.0.113.1\n",
     ["lan2"], True, ["0.0.0.0/0"]),        # the default route leaves by lan2: anybody
    ("ip lan1 address dhcp\n", ["lan1"], True, ["0.0.0.0/0"]),   # network unknown: fail closed
    ("ip route default gateway dhcp lan2\nip lan1 address 10.1.0.1/16\nip lan2 address dhcp\n", ["lan"], True,
     ["0.0.0.0/0"]),
    ("", ["pp1"], True, ["0.0.0.0/0"]),
])
def test_host_lists_as_cidr(config: str, tokens: list[str], admits: bool, sources: list[str]) -> None:
    assert resolve_hosts(parse_config(config), tokens) == (admits, sources)


def test_security_class_three_refuses_remote_logins_live_or_configured() -> None:
    found, _, _ = facts("sshd service on\n", show_environment="Security Class: 3, FORGET: OFF, TELNET: OFF\n")
    assert found["management"]["access"] == []
    found, _, _ = facts("security class 3 off off\nsnmpv2c host 10.0.0.5 ro\n")
    assert [a["protocols"] for a in found["management"]["access"]] == [["snmp"]]


def test_any_any_rules_in_force() -> None:
    base = "ip filter 1 reject * * * * *\nip filter 2 pass * * * * *\nip filter 3 pass-nolog *\n" \
           "ip filter 4 pass 10.0.0.0/8 * * * *\nip filter 5 pass * * tcp * 22\n"
    found, _, _ = facts(base + "ip lan2 secure filter in 1 2\nip lan1 secure filter in 4 5 3\n"
                        "pp select 1\n ip pp secure filter out 2 dynamic 3\npp select none\n")
    permits = found["network"]["any_any_permits"]
    assert [(p["rule"], p["applied_to"]) for p in permits] == [("ip filter 2", ["pp1 out"]),
                                                                 ("ip filter 3", ["lan1 in"])]
    found, _, _ = facts(base)  # defined but applied nowhere
    assert found["network"]["any_any_permits"] == []


@pytest.mark.parametrize(("line", "servers"), [
    ("schedule at 1 */* 03:00 * ntpdate ntp.nict.jp syslog", ["ntp.nict.jp"]),
    ("schedule at 1 *:00 * ntpdate 10.0.0.1", ["10.0.0.1"]),
    ("schedule at 1 */mon-fri 8:30 * ntpdate 10.0.0.1", ["10.0.0.1"]),
    ("schedule at 1 startup * ntpdate 10.0.0.1", []),
    ("schedule at 1 2026/04/01 09:00 * ntpdate 10.0.0.1", []),
    ("schedule at 1 */* 0:00 * lua /x.lua", []),
])
def test_scheduled_ntpdate(line: str, servers: list[str]) -> None:
    found, errors, manual = facts(line + "\n")
    assert found["time"]["ntp_servers"] == servers
    assert "synchronized" not in found["time"]
    assert "/time/synchronized" not in errors
    assert "ntpdate" in manual["/time/synchronized"]  # a person confirms it from the log, never a value


def test_syslog_hosts_ports_and_types() -> None:
    found, _, _ = facts("syslog host 10.0.0.1 10.0.0.2\nsyslog host 10.0.0.3 5514\nsyslog notice on\n")
    targets = found["logging"]["remote_targets"]
    assert [(t["host"], t["port"]) for t in targets] == [("10.0.0.1", 514), ("10.0.0.2", 514), ("10.0.0.3", 5514)]
    assert targets[0]["selector"] == "types notice"
    assert found["logging"]["local_buffer"] == {"enabled": True, "severity": "notifications"}
    assert found["logging"]["timestamp_formats"][0]["full"] is False


def test_accounts_anonymous_plaintext_and_generic_names() -> None:
    found, _, _ = facts("login user Admin secret1\nlogin user ops encrypted AbCd\nlogin password secret2\n")
    storage = found["accounts"]["password_storage"]
    # `login user` stores the password encrypted even when it is typed in clear; `login password` does not
    assert storage["weak_hash_accounts"] == ["(anonymous)"]
    assert {m["method"] for m in storage["hash_methods"] if m["source"].startswith("login user")} == {"rtx_encrypted"}
    assert storage["empty_password_accounts"] == ["administrator"]
    assert found["accounts"]["generic_admin_names"] == ["(anonymous)", "Admin"]
    found, _, _ = facts("login user ops encrypted AbCd\nuser attribute connection=off\n"
                        "administrator password encrypted XyZ\n")
    assert found["accounts"]["generic_admin_names"] == []
    assert found["accounts"]["password_storage"]["empty_password_accounts"] == []
    assert found["password_policy"] == platform_data()["password_policy"]


def test_privilege_from_the_prompt_and_general_user_captures(tmp_path: Path) -> None:
    found, _, _ = facts("", prompt="\nRTX830# \n")
    assert found["management"]["privilege_level"] == 15
    _, errors, _ = facts("", prompt="Error: Invalid command name\n")
    assert "rejected" in errors["/management/privilege_level"]
    (tmp_path / "show_config.txt").write_text("login timer 300\n", encoding="utf-8")
    (tmp_path / "prompt.txt").write_text("RTX830>\n", encoding="utf-8")
    with pytest.raises(SavedFactsError, match="privilege level 1"):
        get_platform("yamaha_rtx").parse(tmp_path)


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()))
def test_no_secret_in_any_parsed_document(case: str) -> None:
    document = get_platform("yamaha_rtx").parse(CASES / case / "raw")
    text = json.dumps(document, ensure_ascii=False)
    for secret in ("PPPSECRETX", "PPPDUMMY", "IKEDUMMY", "AUTHKEYDUMMY", "PRIVKEYDUMMY", "sakado2026", "admin1234",
                   "adminpass", "public", "8kHZWF9rnJ1a6UaqGgV0Dw", "Pmt2yL6v7dkF0c8A1vJ8Hg"):
        assert secret not in text, f"{case}: {secret} leaked"


# --- fetch over netmiko (a fake session) ---------------------------------------------------------------

def target(tmp_path: Path, **extras: Any) -> Target:
    from hardening.core.connections import ConnectionOptions

    host = Host(name="rt1", hostname="192.0.2.1", port=22, platform="yamaha_rtx", device_class="router", zone="",
                classification={}, system=SystemInfo("net", "", ()), roles=(), groups=(), credentials="net")
    credentials = Credentials(name="net", username="audit", password=Secret(LOGIN_PASSWORD),
                              enable_secret=Secret(ADMIN_PASSWORD))
    options = ConnectionOptions(kind="netmiko", hostname="192.0.2.1", port=2222,
                                extras={"known_hosts": str(tmp_path / "known_hosts"), **extras})
    return Target(host=host, credentials=credentials, timeout=30.0, connections={"netmiko": options})


def test_fetch_one_session_administrator_every_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = "rtx1210-live-ssh-only-scheduled-ntpdate"
    session = rtx_session(case_outputs(CASES / case / "raw", commands()))
    calls = fake_handler(monkeypatch, session)
    document = get_platform("yamaha_rtx").collect(target(tmp_path))
    assert len(calls) == 1
    assert session.closed
    assert session.sent == [c["command"] for c in commands() if not c.get("pseudo")], "the prompt is not sent"
    kwargs = calls[0]
    assert kwargs["device_type"] == "yamaha"
    assert (kwargs["secret"], kwargs["password"]) == (ADMIN_PASSWORD, LOGIN_PASSWORD)
    expected = json.loads((CASES / case / "expected.json").read_text(encoding="utf-8"))
    assert document["facts"]["management"]["privilege_level"] == 15
    assert document["facts"] == expected["facts"]
    assert sorted(document["errors"]) == expected["errors"]


def test_wrong_administrator_password_and_lost_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = rtx_session({}, fail={"enable": ValueError("Failed to enter enable mode. Please ensure you pass "
                                                         "the 'secret' argument to ConnectHandler.")})
    fake_handler(monkeypatch, session)
    with pytest.raises(AuthenticationFailed, match="administrator password is wrong"):
        driver.RTXPlatform().fetch(target(tmp_path), tmp_path)
    assert session.closed
    fake_handler(monkeypatch, NetmikoAuthenticationException("Authentication to device failed. pw-S3cret!"))
    with pytest.raises(AuthenticationFailed) as raised:
        driver.RTXPlatform().fetch(target(tmp_path), tmp_path)
    assert "S3cret" not in str(raised.value)
    session = rtx_session({RUNNING: "login timer 300\n"}, fail={"show log": ReadTimeout("Pattern not detected")})
    fake_handler(monkeypatch, session)
    with pytest.raises(DeviceTimeout, match="show log"):
        driver.RTXPlatform().fetch(target(tmp_path), tmp_path)
    assert session.closed
    session = rtx_session({RUNNING: "login timer 300\n"}, fail={"show environment": OSError("Socket is closed")})
    fake_handler(monkeypatch, session)
    with pytest.raises(DeviceUnreachable, match="Socket is closed"):
        driver.RTXPlatform().fetch(target(tmp_path), tmp_path)
    assert session.closed


def test_fetch_needs_the_administrator_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from hardening.core.errors import SecretError

    calls = fake_handler(monkeypatch, rtx_session({}))
    plain = target(tmp_path)
    without = replace(plain, credentials=replace(plain.credentials, enable_secret=None))
    with pytest.raises(SecretError, match="ENABLE_SECRET"):
        driver.RTXPlatform().fetch(without, tmp_path)
    assert calls == []


def test_rejected_live_command_is_an_error_not_a_value() -> None:
    _, errors, _ = facts("login timer 300\n", show_log="エラー: コマンド名を確認してください\n")
    assert "rejected" in errors["/logging/running"]


# --- audit --from over saved RTX captures, through the stock command -----------------------------------

def test_offline_audit_of_rtx_captures(tmp_path: Path) -> None:
    """`hardening audit --from` over a live RTX capture and over the same router's `show config` backup: the
    configured facts give the same verdicts; TIME-SYNC is an error on both (RTX shows no synchronisation)."""
    import shutil
    import subprocess
    import sys

    import yaml

    root = Path(__file__).resolve().parents[2]
    catalog, inventory, saved = tmp_path / "catalog", tmp_path / "inventory", tmp_path / "saved"
    for folder in (catalog, inventory, saved):
        folder.mkdir()
    for rid in ("TIME-SYNC", "LOGIN-TIMEOUT", "MGMT-SECURE-PROTOCOLS", "LOG-FORWARD"):
        requirement = json.loads((root / "schemas" / "requirements" / f"{rid}.json").read_text(encoding="utf-8"))
        if "router" not in requirement["x-hardening"]["device_classes"]:
            requirement["x-hardening"]["device_classes"] += ["router"]
        (catalog / f"{rid}.json").write_text(json.dumps(requirement, ensure_ascii=False), encoding="utf-8")
    shutil.copyfile(root / "inventory" / "systems.yaml", inventory / "systems.yaml")
    (inventory / "site.yaml").write_text("site: {name: 坂戸市（試験）, name_en: Sakado test}\n"
                                         "parameters: {ntp_servers: [10.99.0.123], log_hosts: [10.99.0.50]}\n",
                                         encoding="utf-8")
    (inventory / "waivers.yaml").write_text("waivers: []\n", encoding="utf-8")
    common = {"zone": "kikan", "classification": {"c": 2, "i": 2, "a": 2}, "system": "情報基盤",
              "roles": ["router"], "credentials": "net", "device_class": "router"}
    hosts = {name: {"hostname": "192.0.2.1", "platform": "yamaha_rtx", "data": common}
             for name in ("live", "backup")}
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    case = CASES / "rtx1210-live-ssh-only-scheduled-ntpdate" / "raw"
    shutil.copytree(case, saved / "live")
    (saved / "backup").mkdir()
    shutil.copyfile(case / "show_config.txt", saved / "backup" / "show_config.txt")
    result = subprocess.run([str(Path(sys.executable).parent / "hardening"), "audit", "-i", str(inventory),
                             "--catalog", str(catalog), "--out", "out", "--ledger", "ledger.jsonl", "--no-progress",
                             "--from", str(saved)], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr  # nothing fails; TIME-SYNC needs a person on an RTX
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    verdicts = {(f["host"], f["requirement"]): f["status"] for f in report["findings"]}
    assert verdicts == {
        ("live", "TIME-SYNC"): "manual", ("backup", "TIME-SYNC"): "manual",
        ("live", "LOGIN-TIMEOUT"): "pass", ("backup", "LOGIN-TIMEOUT"): "pass",
        ("live", "MGMT-SECURE-PROTOCOLS"): "pass", ("backup", "MGMT-SECURE-PROTOCOLS"): "pass",
        ("live", "LOG-FORWARD"): "pass", ("backup", "LOG-FORWARD"): "pass"}


def test_no_lines_remove_what_they_name() -> None:
    config = parse_config("syslog host 10.0.0.1\nsyslog host 10.0.0.2\nno syslog host 10.0.0.1\n"
                          "ip lan1 address 10.1.0.1/16\nno ip lan1 secure filter in\ntelnetd host lan\n"
                          "no telnetd host\n")
    assert [x.words[2] for x in config.find("syslog", "host")] == ["10.0.0.2"]
    assert [x.text for x in config.find("ip")] == ["ip lan1 address 10.1.0.1/16"], "other ip lines stay"
    assert config.find("telnetd", "host") == []


@pytest.mark.parametrize("line", ["Security Class Level: 3, FORGET: OFF, TELNET: OFF",
                                  "セキュリティクラス レベル: 3, FORGET: OFF, TELNET: OFF",
                                  "Security Class: 3, FORGET: OFF, TELNET: OFF"])
def test_security_class_read_from_english_and_japanese_show_environment(line: str) -> None:
    """A Japanese console (`console character ja.utf8`) labels the level in Japanese: the running level 3 still
    refuses remote logins although the saved configuration says level 1."""
    found, _, _ = facts("security class 1 on off\nsshd service on\n", show_environment=line + "\n")
    assert found["management"]["access"] == []
