"""Connection options per kind (resolved host → groups → defaults as Nornir does, then the run's defaults),
typed secret fields, one RunOptions and one Target builder, and the one host-status / exit-code rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.inventory_edit import edit_yaml

from hardening import cli
from hardening.core.connections import DEFAULT_PORTS, resolve
from hardening.core.errors import InventoryError, SecretError
from hardening.core.inventory import load_inventory
from hardening.core.outcome import ExitCode, exit_code, host_status, report_exit_code
from hardening.core.run import RunOptions, build_target
from hardening.core.secrets import FIELDS, REDACTOR, SecretStore, mask_config_secrets

ROOT = Path(__file__).resolve().parents[2]




def test_resolution_is_per_field_host_first_and_extras_whole_from_the_first_level() -> None:
    host = {"connection_options": {"winrm": {"port": 5985}}}
    group = {"connection_options": {"winrm": {"hostname": "win-mgmt.example", "port": 1,
                                              "extras": {"transport": "kerberos"}}}}
    defaults = {"connection_options": {"winrm": {"extras": {"transport": "ntlm", "scheme": "https"}}}}
    options = resolve("winrm", [host, group, defaults], hostname="10.0.0.5", port=None)
    assert (options.hostname, options.port) == ("win-mgmt.example", 5985)
    assert dict(options.extras) == {"transport": "kerberos"}  # Nornir: extras are not merged key by key


def test_standard_port_then_host_port_then_option_port() -> None:
    assert resolve("snmp", [], hostname="mfp1", port=None).port == DEFAULT_PORTS["snmp"] == 161
    assert resolve("ssh", [], hostname="h", port=2222).port == 2222
    assert resolve("ssh", [{"connection_options": {"ssh": {"port": 22022}}}], hostname="h", port=2222).port == 22022


def test_run_defaults_only_fill_what_the_inventory_left_unset() -> None:
    layers = [{"connection_options": {"ssh": {"extras": {"host_key_policy": "accept-new"}}}}]
    options = resolve("ssh", layers, hostname="h", port=None,
                      run_defaults={"host_key_policy": "strict", "known_hosts": "/etc/ssh/known"})
    assert dict(options.extras) == {"host_key_policy": "accept-new", "known_hosts": "/etc/ssh/known"}


def test_inventory_connection_options_reach_the_target(inv: Path) -> None:
    edit_yaml(inv / "groups.yaml", lambda d: d["servers"].update(
        connection_options={"ssh": {"port": 2201, "extras": {"known_hosts": "/srv/kh"}}}))
    edit_yaml(inv / "hosts.yaml", lambda d: d["ntp01"].update(connection_options={"ssh": {"port": 2202}}))
    inventory = load_inventory(inv)
    secrets = SecretStore(environ={"HARDENING_CRED_LAB_USERNAME": "auditor"})
    run = RunOptions.ssh(known_hosts="/run/kh", host_key_policy="strict")
    ntp = build_target(inventory.hosts["ntp01"], secrets, run)
    assert ntp.connection("ssh").port == 2202
    assert ntp.known_hosts == "/srv/kh"
    assert ntp.host_key_policy == "strict"
    pc = next(h for h in inventory.hosts.values() if "servers" not in h.groups)
    target = build_target(pc, secrets, run)
    assert target.connection("ssh").port == 22
    assert target.known_hosts == "/run/kh"


@pytest.mark.parametrize(("options", "place", "why"), [
    ({"ssh": {"password": "x"}}, "connection_options/ssh/password", "should not be valid"),
    ({"snmp": {"extras": {"auth_key": "k"}}}, "connection_options/snmp/extras", "auth_key"),
    ({"winrm": {"extras": {"transport": "basic"}}}, "connection_options/winrm/extras/transport", "basic"),
    ({"telnet": {}}, "connection_options", "telnet"),
])
def test_bad_connection_options_name_file_and_place(inv: Path, options: dict[str, object], place: str,
                                                    why: str) -> None:
    edit_yaml(inv / "groups.yaml", lambda d: d["servers"].update(connection_options=options))
    with pytest.raises(InventoryError) as info:
        load_inventory(inv)
    assert "groups.yaml" in str(info.value)
    assert why in str(info.value)
    assert place.split("/", maxsplit=1)[0] in str(info.value)


def test_device_class_the_platform_does_not_declare_is_refused_naming_host_and_file(
        inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit_yaml(inv / "hosts.yaml", lambda d: d["ntp01"].setdefault("data", {}).update(device_class="router"))
    code = cli.main(["validate", "--inventory", str(inv)])
    err = capsys.readouterr().err
    assert code == 1
    assert "hosts.yaml" in err
    assert "'ntp01'" in err
    assert "does not handle device class 'router'" in err


@pytest.mark.parametrize("field", [f for f, (secret, _) in FIELDS.items() if secret])
def test_every_typed_secret_field_comes_from_the_environment_and_never_prints(field: str) -> None:
    value = f"v3ry-secret-{field}-0123"
    store = SecretStore(environ={"HARDENING_CRED_RT_USERNAME": "admin", f"HARDENING_CRED_RT_{field.upper()}": value})
    creds = store.credentials("rt")
    assert getattr(creds, field).reveal() == value
    assert value not in repr(creds)
    assert value not in str(creds)
    assert REDACTOR.scrub(f"error: {value}") == "error: ***"


def test_typed_secret_fields_from_the_vault(tmp_path: Path) -> None:
    from ansible.parsing.vault import VaultLib, VaultSecret

    plain = (b"credentials:\n  mfp:\n    snmp_auth_key: auth-key-from-vault-1\n"
             b"    snmp_priv_key: priv-key-from-vault-2\n"
             b"  rt:\n    username: admin\n    enable_secret: enable-from-vault-3\n")
    (tmp_path / "v.yml").write_bytes(VaultLib([("default", VaultSecret(b"pw"))]).encrypt(plain))
    (tmp_path / "p").write_bytes(b"pw")
    store = SecretStore(str(tmp_path / "v.yml"), str(tmp_path / "p"), environ={})
    mfp = store.credentials("mfp")  # an SNMP-only entry needs no user name
    assert mfp.snmp_auth_key is not None
    assert mfp.snmp_auth_key.reveal() == "auth-key-from-vault-1"
    assert mfp.username == ""
    with pytest.raises(SecretError, match=r"lack username needed for an SSH login.*HARDENING_CRED_MFP_USERNAME"):
        mfp.require("username", purpose="an SSH login")
    assert REDACTOR.scrub("enable-from-vault-3") == "***"


@pytest.mark.parametrize(("line", "secret"), [
    ("enable secret 9 $9$abcdefghijkl$mnopqrstuvwx", "$9$abcdefghijkl$mnopqrstuvwx"),
    ("enable password 7 0822455D0A16", "0822455D0A16"),
    ("username admin privilege 15 secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0", "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0"),
    ("username ops password 0 Plaintext-Pw1", "Plaintext-Pw1"),
    ("snmp-server user nms grp v3 auth sha AuthKey-123 priv aes 128 PrivKey-456", "AuthKey-123"),
    ("snmp-server user nms grp v3 auth sha AuthKey-123 priv aes 128 PrivKey-456", "PrivKey-456"),
    ("administrator password encrypted ABCDEF0123", "ABCDEF0123"),
    ("login password Rtx-Login-1", "Rtx-Login-1"),
    ("login user admin encrypted 5F2E3A", "5F2E3A"),
    ("        set password ENC SH2xyzxyzxyz", "SH2xyzxyzxyz"),
    ("+tacacs-server key 7 045802150C2E", "045802150C2E"),
    (" password 7 060506324F41", "060506324F41"),
    ("ntp authentication-key 1 md5 NtpKey-1 7", "NtpKey-1"),
    ("snmp-server host 10.1.1.1 Trap-Comm", "Trap-Comm"),
    ("snmp-server host 10.1.1.1 vrf Mgmt version 2c Comm-2c udp-port 162", "Comm-2c"),
    ("crypto isakmp key 6 Ike-Key address 192.0.2.1", "Ike-Key"),
    (" ip ospf message-digest-key 1 md5 7 Ospf-Key", "Ospf-Key"),
    ("snmp community read-only Rtx-Comm", "Rtx-Comm"),
    ("snmpv2c trap community Rtx-Trap", "Rtx-Trap"),
    ("snmpv3 usm user 1 ops group 1 sha Rtx-Auth aes128-cfb Rtx-Priv", "Rtx-Auth"),
    ("snmpv3 usm user 1 ops group 1 sha Rtx-Auth aes128-cfb Rtx-Priv", "Rtx-Priv"),
    ("ipsec ike pre-shared-key 1 text Rtx-Psk", "Rtx-Psk"),
    ("pp auth username isp1 Ppp-Pass", "Ppp-Pass"),
    ('        set sso-password "Fgt Sso"', "Fgt Sso"),
    ('config system snmp community\n    edit 1\n        set name "Fgt-Comm"\n        config hosts\n'
     '            edit 1\n            next\n        end\n    next\n    edit 2\n        set name "Fgt-Comm2"\n'
     '    next\nend', "Fgt-Comm2"),
])
def test_network_config_secrets_are_masked(line: str, secret: str) -> None:
    masked = mask_config_secrets(line)
    assert secret not in masked
    assert "***" in masked


def test_the_command_lines_host_key_settings_cover_every_ssh_based_kind() -> None:
    run = RunOptions.ssh(known_hosts="/kh", host_key_policy="strict")
    for kind in ("ssh", "netmiko"):
        options = resolve(kind, [], hostname="h", port=None, run_defaults=run.connection_defaults.get(kind))
        assert options.get("known_hosts") == "/kh"
        assert options.get("host_key_policy") == "strict"


def test_run_options_refuse_what_would_remove_a_limit() -> None:
    for bad in ({"timeout": float("nan")}, {"timeout": 0}, {"workers": 0},
                {"connection_defaults": {"telnet": {}}}):
        with pytest.raises(ValueError, match=r"time budget|workers|connection kind"):
            RunOptions(**bad)  # type: ignore[arg-type]


def test_one_host_status_and_one_exit_code_rule() -> None:
    assert host_status(False, []) == "error"
    assert host_status(True, ["pass", "error", "fail"]) == "error"
    assert host_status(True, ["pass", "waived", "fail"]) == "fail"
    assert host_status(True, ["pass", "waived", "manual", "not_applicable"]) == "pass"
    assert exit_code(errors=True, drift=True) is ExitCode.ERROR
    assert exit_code(errors=False, drift=True) is ExitCode.DRIFT
    assert exit_code(errors=False, drift=False) is ExitCode.OK
    assert report_exit_code(["pass"], ["pass", "fail"]) == 2
    assert report_exit_code(["error"], []) == 1
