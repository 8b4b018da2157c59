"""Plan and apply of network devices (hardening.platforms.common.netchange) through a fake netmiko connection.

The catalog does not yet mark these requirements `fix: automated` for the network platforms (that is the
catalog's part), so `hardening plan` would list them as manual: these tests call the platform's Remediator
directly, as core's plan and apply do (`platform.plan(target, fix, parameters)`, `platform.apply(…)`).
"""

from __future__ import annotations

import json
import re
import stat
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from tests.netfake import FakeConnection, FakeDevice

from hardening.core.connections import ConnectionOptions
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import Remediator, Target, get_platform
from hardening.core.secrets import REDACTOR, Credentials, Secret
from hardening.platforms.common import netcli
from hardening.platforms.common.netchange import (
    FlatModel,
    HierModel,
    TemplateError,
    load_templates,
    text_equal,
)

LOGIN_PASSWORD, ENABLE_SECRET = "pw-N3tS3cret!", "en-N3tS3cret!"
COMMUNITY, USER_HASH, ENABLE_HASH = "c0mmun1tyS3cret", "$9$aBcDeFgHiJkL$xYz0123456789abcdefghijklmnopqrstuvwxyzABCD", \
    "$9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM"
PLATFORMS = Path(__file__).resolve().parents[2] / "src" / "hardening" / "platforms"
FIX_SET = {"LOGIN-BANNER", "LOGIN-TIMEOUT", "MGMT-SECURE-PROTOCOLS", "SVC-MINIMAL", "TIME-SYNC", "LOG-FORWARD",
           "LOG-TIMESTAMPS", "LOG-RETENTION", "PW-LEN", "LOGIN-LOCKOUT"}
PARAMETERS = {"idle_timeout_seconds": 900, "ntp_servers": ["10.203.0.10"], "log_hosts": ["10.203.0.11"],
              "min_length": 8, "lockout_threshold": 5, "lockout_duration_seconds": 900, "log_retention_days": 90,
              "log_buffer_min_bytes": 64000, "banner_warning_pattern": "Authorized"}

# A drifted IOS 15 router as `show running-config` shows it: every fix of the set fails on it.
DRIFTED = f"""Building configuration...

Current configuration : 1510 bytes
!
! Last configuration change at 09:12:44 JST Fri Nov 27 2026 by netadmin
!
version 15.4
service timestamps debug datetime msec
service timestamps log uptime
hostname SKD-RT09
!
logging buffered 4096
enable secret 9 {ENABLE_HASH}
!
username netadmin privilege 15 secret 9 {USER_HASH}
!
interface GigabitEthernet0/0
 ip address 10.203.0.9 255.255.0.0
!
ip http server
ntp server 192.0.2.123
snmp-server community {COMMUNITY} RO
!
banner motd ^C
SKD-RT09 maintenance: Sat 02:00-04:00
^C
!
line con 0
 exec-timeout 0 0
 logging synchronous
line vty 0 4
 exec-timeout 30 0
 transport input telnet ssh
line vty 5 15
 transport input telnet ssh
!
end
"""


def target(tmp_path: Path) -> Target:
    host = Host(name="rt9", hostname="10.203.0.9", port=22, platform="cisco_ios", device_class="router", zone="",
                classification={}, system=SystemInfo("net", "", ()), roles=(), groups=(), credentials="net")
    credentials = Credentials(name="net", username="audit", password=Secret(LOGIN_PASSWORD),
                              enable_secret=Secret(ENABLE_SECRET))
    options = ConnectionOptions(kind="netmiko", hostname="10.203.0.9", port=22,
                                extras={"known_hosts": str(tmp_path / "known_hosts")})
    return Target(host=host, credentials=credentials, timeout=30.0, connections={"netmiko": options},
                  backup_file=tmp_path / "backups" / "plan" / "run" / "rt9.json")


@pytest.fixture
def device(monkeypatch: pytest.MonkeyPatch) -> FakeDevice:
    fake = FakeDevice(DRIFTED)
    monkeypatch.setattr(netcli, "_connect_handler", lambda: lambda **_: FakeConnection(fake))
    for value in (LOGIN_PASSWORD, ENABLE_SECRET):
        REDACTOR.register(value)
    return fake


def ios() -> Any:
    platform = get_platform("cisco_ios")
    assert isinstance(platform, Remediator)
    return platform


def all_lines(changes: list[Any]) -> list[str]:
    return [line for change in changes for line in change.diff.splitlines()]


def volatile() -> list[re.Pattern[str]]:
    return ios().volatile_lines()


# --- plan ----------------------------------------------------------------------------------------------

def test_ios_fixes_the_whole_set_and_registers_as_remediator() -> None:
    assert ios().fixes == FIX_SET


def test_plan_shows_the_exact_lines_without_needless_negations(tmp_path: Path, device: FakeDevice) -> None:
    changes = ios().plan(target(tmp_path), sorted(FIX_SET), PARAMETERS)
    by_id = {c.requirement: c.diff.splitlines() for c in changes}
    assert set(by_id) == FIX_SET
    assert by_id["LOGIN-TIMEOUT"] == ["line con 0", "  exec-timeout 15 0", "  exit", "line vty 0 4",
                                      "  exec-timeout 15 0", "  exit"]
    assert by_id["TIME-SYNC"] == ["no ntp server 192.0.2.123", "ntp server 10.203.0.10"]
    assert by_id["LOG-FORWARD"] == ["logging host 10.203.0.11"]
    assert by_id["LOG-TIMESTAMPS"] == ["service timestamps log datetime msec localtime show-timezone year"]
    assert by_id["LOG-RETENTION"] == ["logging buffered 64000 informational"]
    assert by_id["PW-LEN"] == ["security passwords min-length 8"]
    assert by_id["LOGIN-LOCKOUT"] == ["login block-for 900 attempts 5 within 120"]
    assert by_id["LOGIN-BANNER"][0] == "banner login ^C"
    assert by_id["LOGIN-BANNER"][-1] == "^C"
    assert "no snmp-server community *** RO" in by_id["MGMT-SECURE-PROTOCOLS"]
    assert "no ip http server" in by_id["SVC-MINIMAL"]
    assert "no service pad" in by_id["SVC-MINIMAL"]
    lines = all_lines(changes)
    # hier-config's stock IOS rules would emit these before the new values; the tuned rules do not.
    assert not [x for x in lines if re.match(r"\s*no (exec-timeout|transport input|banner|service timestamps|"
                                             r"logging buffered)", x)]
    assert "SKD-RT09 maintenance: Sat 02:00-04:00" not in lines  # the motd is left alone, never repeated
    assert device.log == [], "a plan sends nothing to the device"


def test_plan_of_a_compliant_device_is_empty_and_an_unknown_id_is_an_error(tmp_path: Path,
                                                                          device: FakeDevice) -> None:
    platform = ios()
    assert platform.plan(target(tmp_path), [], PARAMETERS) == []
    with pytest.raises(Exception, match="no template"):
        platform.plan(target(tmp_path), ["PW-CLASS"], PARAMETERS)
    with pytest.raises(Exception, match="ntp_servers"):
        platform.plan(target(tmp_path), ["TIME-SYNC"], {k: v for k, v in PARAMETERS.items() if k != "ntp_servers"})


def test_idle_timeout_of_the_device_default_removes_the_line_instead_of_showing_it(tmp_path: Path,
                                                                                   device: FakeDevice) -> None:
    changes = ios().plan(target(tmp_path), ["LOGIN-TIMEOUT"], {**PARAMETERS, "idle_timeout_seconds": 600})
    assert all_lines(changes) == ["line con 0", "  no exec-timeout 0 0", "  exit", "line vty 0 4",
                                  "  no exec-timeout 30 0", "  exit"]


def test_a_stricter_setting_is_never_weakened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stricter = DRIFTED.replace("line con 0\n exec-timeout 0 0", "line con 0\n exec-timeout 5 0").replace(
        "hostname SKD-RT09\n", "hostname SKD-RT09\nsecurity passwords min-length 12\n"
        "login block-for 1800 attempts 3 within 60\n").replace("logging buffered 4096", "logging buffered 4194304")
    fake = FakeDevice(stricter)
    monkeypatch.setattr(netcli, "_connect_handler", lambda: lambda **_: FakeConnection(fake))
    changes = ios().plan(target(tmp_path), ["LOGIN-TIMEOUT", "PW-LEN", "LOGIN-LOCKOUT", "LOG-RETENTION"], PARAMETERS)
    # con 0 (5 minutes), vty 5 15 (no line: the default 10 minutes) and the 12-character, 3-attempt, 4 MiB settings
    # stay; only the line that fails changes
    assert [(c.requirement, c.diff.splitlines()) for c in changes] == [
        ("LOGIN-TIMEOUT", ["line vty 0 4", "  exec-timeout 15 0", "  exit"])]


def test_the_log_buffer_follows_the_site_parameter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """IOS LOG-RETENTION sizes the buffer from `log_buffer_min_bytes` (the catalog's parameter, site-tunable), not
    a constant of the template: a site asking for 256000 bytes gets them, and a 100000-byte buffer that passes
    the default 64000 is too small for it."""
    fake = FakeDevice(DRIFTED.replace("logging buffered 4096", "logging buffered 100000 informational"))
    monkeypatch.setattr(netcli, "_connect_handler", lambda: lambda **_: FakeConnection(fake))
    assert ios().plan(target(tmp_path), ["LOG-RETENTION"], PARAMETERS) == []
    bigger = {**PARAMETERS, "log_buffer_min_bytes": 256000}
    assert all_lines(ios().plan(target(tmp_path), ["LOG-RETENTION"], bigger)) == [
        "logging buffered 256000 informational"]


def test_an_approved_server_already_configured_stays_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDevice(DRIFTED.replace("ntp server 192.0.2.123", "ntp server 10.203.0.10 prefer\n"
                                      "ntp server 192.0.2.123\nntp server 10.203.0.100"))
    monkeypatch.setattr(netcli, "_connect_handler", lambda: lambda **_: FakeConnection(fake))
    changes = ios().plan(target(tmp_path), ["TIME-SYNC"], PARAMETERS)
    # 10.203.0.100 is not 10.203.0.10 (the address's dots are escaped in the template's regex)
    assert all_lines(changes) == ["no ntp server 192.0.2.123", "no ntp server 10.203.0.100"]


# --- apply ---------------------------------------------------------------------------------------------

def test_apply_backs_up_applies_saves_and_the_second_plan_is_empty(tmp_path: Path, device: FakeDevice) -> None:
    platform, where = ios(), target(tmp_path)
    fix = sorted(FIX_SET)
    planned = platform.plan(where, fix, PARAMETERS)
    before = device.render()
    result = platform.apply(where, fix, PARAMETERS, planned)
    assert result.failed is None, result.failed
    assert {c.key() for c in result.applied} == {c.key() for c in planned}
    assert platform.plan(where, fix, PARAMETERS) == []
    backup = where.backup_file
    assert backup is not None
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert json.loads(backup.read_text())["running"] == before
    assert any(x.startswith("copy running-config flash:hardening-") for x in device.log)
    assert device.saved is not None
    assert device.log[-2] == "write memory"
    assert device.log[-1].startswith("delete /force flash:hardening-")
    assert device.flash == {}, "the on-device copy is removed once the change is saved"
    # every send was one line, or a banner as one group
    assert "banner login #" in device.log


def test_apply_refuses_when_the_device_changed_since_the_plan(tmp_path: Path, device: FakeDevice) -> None:
    platform, where = ios(), target(tmp_path)
    planned = platform.plan(where, ["TIME-SYNC"], PARAMETERS)
    device.nodes.append(device.parse("ntp server 198.51.100.7")[0])
    result = platform.apply(where, ["TIME-SYNC"], PARAMETERS, planned)
    assert result.failed is not None
    assert "differs from the approved plan" in result.failed
    assert result.applied == []
    assert not result.rolled_back
    assert not [x for x in device.log if x.startswith(("ntp", "no ntp"))], "nothing applied"
    assert device.flash == {}, "and no copy left on the device"


def test_a_rejected_line_is_rolled_back_and_proven_text_equal(tmp_path: Path, device: FakeDevice) -> None:
    platform, where = ios(), target(tmp_path)
    fix = sorted(FIX_SET)
    planned = platform.plan(where, fix, PARAMETERS)
    before = device.render()
    device.reject = r"^login block-for"
    result = platform.apply(where, fix, PARAMETERS, planned)
    assert result.failed is not None
    assert "rejected `login block-for 900 attempts 5 within 120`" in result.failed
    assert result.rolled_back is True, result.rollback_problems
    assert result.rollback_problems == []
    assert any(x.startswith("configure replace flash:hardening-") for x in device.log)
    assert device.render() != before  # the header changed (volatile) ...
    assert text_equal(before, device.render(), volatile())[0]  # ... the configuration did not
    assert device.log[-2] == "write memory"
    assert device.flash == {}


def test_a_lost_session_reconnects_and_restores(tmp_path: Path, device: FakeDevice) -> None:
    platform, where = ios(), target(tmp_path)
    fix = sorted(FIX_SET)
    planned = platform.plan(where, fix, PARAMETERS)
    before = device.render()
    device.drop_after = 4
    connections = device.connections
    result = platform.apply(where, fix, PARAMETERS, planned)
    assert result.failed is not None
    assert "Socket is closed" in result.failed
    assert device.connections == connections + 2, "one session for the apply, one reconnect for the restore"
    assert result.rolled_back is True, result.rollback_problems
    assert text_equal(before, device.render(), volatile())[0]


def test_a_line_the_device_never_answers_is_a_timeout_and_is_rolled_back(tmp_path: Path, device: FakeDevice) -> None:
    platform, where = ios(), target(tmp_path)
    fix = sorted(FIX_SET)
    planned = platform.plan(where, fix, PARAMETERS)
    before = device.render()
    device.hang = r"^ntp server 10\."
    result = platform.apply(where, fix, PARAMETERS, planned)
    assert result.failed is not None
    assert result.failed.startswith("no answer in time")
    assert "Things you might try" not in result.failed
    assert result.rolled_back is True, result.rollback_problems
    assert text_equal(before, device.render(), volatile())[0]


def test_a_replace_that_changes_nothing_falls_back_to_the_reverse_remediation(tmp_path: Path,
                                                                              device: FakeDevice) -> None:
    platform, where = ios(), target(tmp_path)
    fix = sorted(FIX_SET)
    planned = platform.plan(where, fix, PARAMETERS)
    before = device.render()
    device.reject, device.broken_replace = r"^security passwords", True
    result = platform.apply(where, fix, PARAMETERS, planned)
    assert result.rolled_back is True, result.rollback_problems
    assert text_equal(before, device.render(), volatile())[0]


def test_a_restore_that_cannot_be_proven_equal_is_not_rolled_back(tmp_path: Path, device: FakeDevice) -> None:
    platform, where = ios(), target(tmp_path)
    fix = sorted(FIX_SET)
    planned = platform.plan(where, fix, PARAMETERS)
    device.reject, device.restore_noise = r"^ntp server 10", "service finger"
    result = platform.apply(where, fix, PARAMETERS, planned)
    assert result.failed is not None
    assert result.rolled_back is False
    assert any("replace: the running configuration is not text-equal to the backup" in p and "service finger" in p
               for p in result.rollback_problems), result.rollback_problems
    assert any(p.startswith("reverse: the device rejected `no service finger`") for p in result.rollback_problems)


def test_no_session_means_nothing_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**_: Any) -> Any:
        raise OSError(f"connection refused while using {LOGIN_PASSWORD}")

    monkeypatch.setattr(netcli, "_connect_handler", lambda: refuse)
    REDACTOR.register(LOGIN_PASSWORD)
    result = ios().apply(target(tmp_path), ["PW-LEN"], PARAMETERS, [])
    assert result.failed is not None
    assert result.failed.startswith("no session, nothing applied")
    assert LOGIN_PASSWORD not in result.failed


def test_no_secret_in_any_change_or_apply_result(tmp_path: Path, device: FakeDevice) -> None:
    platform, where = ios(), target(tmp_path)
    fix = sorted(FIX_SET)
    planned = platform.plan(where, fix, PARAMETERS)
    device.reject = r"^no snmp-server community"  # the line that carries the community is the one rejected
    result = platform.apply(where, fix, PARAMETERS, planned)
    assert result.failed is not None
    assert "no snmp-server community *** RO" in result.failed
    text = json.dumps([asdict(c) for c in planned]) + json.dumps(asdict(result))
    for secret in (COMMUNITY, USER_HASH, ENABLE_HASH, LOGIN_PASSWORD, ENABLE_SECRET):
        assert secret not in text


# --- the template files of every network platform ------------------------------------------------------

@pytest.mark.parametrize("platform", ["cisco_ios", "yamaha_rtx", "fortios"])
def test_every_remediation_file_loads_and_holds_no_secret(platform: str) -> None:
    templates = load_templates(PLATFORMS / platform / "remediation.yaml")
    assert set(templates.requirements) <= FIX_SET
    assert templates.session.get("save") is not None or platform == "fortios"


@pytest.mark.parametrize("platform", ["cisco_ios", "yamaha_rtx", "fortios"])
def test_each_platform_reads_the_remediation_file_of_its_package(platform: str) -> None:
    cls = type(get_platform(platform))
    assert "remediation_file" not in (PLATFORMS / platform / "driver.py").read_text(encoding="utf-8")  # the default
    assert cls.remediation_file == PLATFORMS / platform / "remediation.yaml"
    assert cls.fixes == frozenset(load_templates(PLATFORMS / platform / "remediation.yaml").requirements)


def test_a_platform_package_elsewhere_gets_its_own_remediation_file(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "acme_router"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "remediation.yaml").write_text(
        "engine: flat\nrequirements:\n  LOG-FORWARD:\n    - lines: ['syslog host {log_hosts}']\n", encoding="utf-8")
    (package / "driver.py").write_text(
        "from hardening.platforms.common.netchange import NetworkRemediator\n"
        "class AcmePlatform(NetworkRemediator):\n    pass\n"
        "class AcmeVariant(AcmePlatform):\n    pass\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    module = importlib.import_module("acme_router.driver")
    assert module.AcmePlatform.remediation_file == package / "remediation.yaml"
    assert module.AcmePlatform.fixes == frozenset({"LOG-FORWARD"})
    assert module.AcmeVariant.remediation_file == package / "remediation.yaml"   # inherited, not looked up again


def test_a_template_with_a_secret_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "remediation.yaml"
    path.write_text("engine: flat\nrequirements:\n  MGMT-SECURE-PROTOCOLS:\n"
                    "    - lines: ['snmp-server community public RO']\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="secret"):
        load_templates(path)


RTX_DRIFTED = """# RTX1210 Rev.14.01.42 (Fri Jan 12 10:00:00 2024)
# MAC Address : 00:a0:de:01:02:03, 00:a0:de:01:02:04, 00:a0:de:01:02:05
# Memory 256Mbytes, 3LAN, 1BRI
# main:  RTX1210 ver=00 serial=S00000000 MAC-Address=00:a0:de:01:02:03
# Reporting Date: Nov 27 09:00:00 2026
login timer clear
timezone +09:00
console character ascii
ip lan1 address 10.203.0.21/16
pp select 1
 pp keepalive use lcp-echo
 ip pp mtu 1454
pp enable 1
telnetd host any
sshd service on
sshd host lan1
schedule at 1 */* 05:00 * ntpdate 192.0.2.123 syslog
syslog host 192.0.2.50
"""


def test_rtx_flat_remediation_replaces_by_key_and_is_idempotent() -> None:
    templates = load_templates(PLATFORMS / "yamaha_rtx" / "remediation.yaml")
    flat = FlatModel(templates)
    platform_entries = [e for rid in ("LOGIN-TIMEOUT", "TIME-SYNC", "LOG-FORWARD", "MGMT-SECURE-PROTOCOLS")
                        for e in templates.requirements.get(rid, ())]
    from hardening.platforms.common.netchange import render

    entries = [r for e in platform_entries for r in render(e, {**templates.parameters, **PARAMETERS}, "rtx")]
    intended = flat.intended(RTX_DRIFTED, entries)
    lines = flat.remediation(RTX_DRIFTED, intended)
    assert "login timer 900" in lines
    assert "no login timer clear" not in lines, "a keyed line is replaced, not negated first"
    assert any(x.startswith("no schedule at 1") for x in lines)
    assert "syslog host 10.203.0.11" in lines
    assert "no syslog host 192.0.2.50" not in lines, "forwarding to another collector too is allowed"
    assert not [x for x in lines if x.startswith((" ", "pp "))], "select contexts are never touched"
    # the device after the change: running = the lines of intended (+ untouched contexts): nothing left to do
    after = "\n".join([*intended, " pp keepalive use lcp-echo"])
    assert flat.remediation(after, flat.intended(after, entries)) == []
    # and the reverse remediation takes it back to the prior lines
    back = flat.between(after, RTX_DRIFTED)
    assert "login timer clear" in back


FORTI_DRIFTED = """#config-version=FGT60F-7.2.5-FW-build1517-230606:opmode=0:vdom=0:user=admin
#conf_file_ver=123456789
#buildno=1517
#global_vdom=1
config system global
    set admintimeout 480
    set hostname "SKD-FW01"
    set timezone 60
end
config system ntp
    set ntpsync enable
    set type fortiguard
end
config log syslogd setting
    set status disable
end
config system interface
    edit "port1"
        set vdom "root"
        set allowaccess ping https ssh http telnet
    next
    edit "port2"
        set vdom "root"
        set allowaccess telnet
    next
end
"""


def test_fortios_time_sync_deletes_foreign_servers_and_keeps_the_approved_entry() -> None:
    templates = load_templates(PLATFORMS / "fortios" / "remediation.yaml")
    hier = HierModel(templates)
    from hardening.platforms.common.netchange import render

    running = FORTI_DRIFTED.replace("    set type fortiguard\n", """    set type custom
    config ntpserver
        edit 1
            set server "5.6.7.8"
            set ntpv3 disable
        next
        edit 2
            set server "10.203.0.10"
            set ntpv3 disable
        next
    end
""")
    entries = [r for e in templates.requirements["TIME-SYNC"]
               for r in render(e, {**templates.parameters, **PARAMETERS}, "fw")]
    lines = [x.strip() for x in hier.remediation(running, hier.intended(running, entries))]
    assert lines == ["config system ntp", "config ntpserver", "delete 1", "end", "end"]


def test_fortios_hier_config_remediation_has_no_needless_unset_and_is_idempotent() -> None:
    templates = load_templates(PLATFORMS / "fortios" / "remediation.yaml")
    hier = HierModel(templates)
    from hardening.platforms.common.netchange import render

    fix = ("LOGIN-TIMEOUT", "TIME-SYNC", "LOG-FORWARD", "LOGIN-LOCKOUT", "MGMT-SECURE-PROTOCOLS")
    entries = [r for rid in fix for e in templates.requirements[rid]
               for r in render(e, {**templates.parameters, **PARAMETERS}, "fw")]
    lines = [x.strip() for x in hier.remediation(FORTI_DRIFTED, hier.intended(FORTI_DRIFTED, entries))]
    assert "set admintimeout 15" in lines
    assert not [x for x in lines if x.startswith("unset admintimeout")]
    # clear-text protocols leave each interface's allowaccess list; an emptied list is unset
    assert lines[lines.index('edit "port1"') + 1] == "set allowaccess ping https ssh"
    assert lines[lines.index('edit "port2"') + 1] == "unset allowaccess"
    assert 'set server "10.203.0.10"' in lines
    assert 'set server "10.203.0.11"' in lines
    intended_text = "\n".join(hier.intended(FORTI_DRIFTED, entries).lines(sectional_exiting=True))
    assert hier.remediation(intended_text, hier.intended(intended_text, entries)) == []
