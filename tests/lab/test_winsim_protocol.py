"""The lab's Windows simulator through the real pywinrm client on the wire (labctl up starts it in netns hlab-winsim).

One shell per host as the product uses it: open_shell -> run_command (the bootstrap) -> send_command_input (the
framed batch on stdin) -> get_command_output (Receive until Done) -> cleanup_command (Signal) -> close_shell
(Delete); over HTTP with NTLM message encryption and over HTTPS (lab CA, channel binding).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from lab.winsim.host import BOOTSTRAP_B64
from tests.lab.labtools import LAB_STATE, ROOT
from winrm.exceptions import InvalidCredentialsError, WinRMTransportError
from winrm.protocol import Protocol

ROWS = yaml.safe_load((ROOT / "src/hardening/platforms/windows/platform.yaml").read_text(encoding="utf-8"))["commands"]
CA = LAB_STATE / "winsim" / "pki" / "ca.pem"
STATE = LAB_STATE / "winsim" / "hosts"


def _addresses() -> dict[str, str]:
    hosts = yaml.safe_load((ROOT / "inventory" / "hosts.yaml").read_text(encoding="utf-8")) or {}
    pending = yaml.safe_load((ROOT / "lab" / "winsim" / "inventory.yaml").read_text(encoding="utf-8"))["hosts"] \
        if (ROOT / "lab" / "winsim" / "inventory.yaml").exists() else {}
    return {name: str(h["hostname"]) for name, h in {**pending, **hosts}.items()}


@pytest.fixture(scope="module")
def lab_windows() -> dict[str, Any]:
    """Addresses and credentials of the simulated Windows hosts; fails (does not skip) when the lab is down."""
    secrets = json.loads((LAB_STATE / "winsim-secrets.json").read_text(encoding="utf-8"))
    addresses = _addresses()
    spec = yaml.safe_load((ROOT / "lab" / "lab.yaml").read_text(encoding="utf-8"))["winsim"]["hosts"]
    for name in spec:
        try:
            requests.head(f"http://{addresses[name]}:5985/wsman", timeout=2) if name != "srv-win-hang" else None
        except requests.RequestException as e:
            pytest.fail(f"{name} not answering ({e}): run `labctl up` first")
    return {"addresses": addresses, "secrets": secrets}


def protocol(lab: dict[str, Any], name: str, *, https: bool, password: str | None = None, read_timeout: int = 30,
             encryption: str | None = None) -> Protocol:
    creds = lab["secrets"][name]
    scheme, port = ("https", 5986) if https else ("http", 5985)
    return Protocol(f"{scheme}://{lab['addresses'][name]}:{port}/wsman", transport="ntlm",
                    username=creds["username"], password=password or creds["password"],
                    message_encryption=encryption or ("never" if https else "always"),
                    server_cert_validation="validate", ca_trust_path=str(CA),
                    read_timeout_sec=read_timeout, operation_timeout_sec=read_timeout - 1)


def block(block_id: str, command: str) -> str:
    return (f"Write-Output '<<<hardening:begin:{block_id}>>>'\n$global:LASTEXITCODE = 0\n"
            f"try {{ {command} 2>&1 | Out-String -Width 4096 }} "
            "catch { 'HARDENING-ERROR: ' + $_.Exception.Message }\n"
            f"Write-Output ('<<<hardening:end:{block_id}:' + $LASTEXITCODE + '>>>')\n")


def batch(p: Protocol, blocks: list[tuple[str, str]], codepage: int = 65001) -> tuple[dict[str, tuple[str, int]], str]:
    shell = p.open_shell(codepage=codepage)
    try:
        command = p.run_command(shell, "powershell.exe", ["-NoProfile", "-NonInteractive", "-ExecutionPolicy",
                                                          "Bypass", "-EncodedCommand", BOOTSTRAP_B64])
        p.send_command_input(shell, command, "".join(block(i, c) for i, c in blocks).encode("utf-8"), end=True)
        out, err, rc = p.get_command_output(shell, command)
        assert rc == 0
        p.cleanup_command(shell, command)
    finally:
        p.close_shell(shell)
    text = out.decode("utf-8" if codepage == 65001 else "cp437")
    found = {m.group(1): (m.group(2), int(m.group(3))) for m in re.finditer(
        r"<<<hardening:begin:(\w+)>>>\r\n(.*?)<<<hardening:end:\1:(-?\d+)>>>", text, re.S)}
    return found, err.decode("utf-8", "replace")


def table() -> list[tuple[str, str]]:
    return [(r["id"], r["command"]) for r in ROWS]


def test_the_whole_table_over_http_with_message_encryption(lab_windows: dict[str, Any]) -> None:
    found, err = batch(protocol(lab_windows, "pc-win-02", https=False), table())
    assert set(found) == {r["id"] for r in ROWS}
    assert json.loads(found["os"][0])["CSName"] == "PC-WIN-02"
    assert "閏インジケーター" in found["w32tm_status"][0]                 # ja-JP host, code page 65001
    assert json.loads(found["bitlocker"][0])["VolumeStatus"] == 0
    assert found["bios_dell"] == ("\r\n", 0)                          # not a Dell: the error is on stderr
    assert "Get-CimInstance : 無効な名前空間です" in err                # ja-JP: the error in Japanese


def test_the_whole_table_over_https_with_the_lab_ca(lab_windows: dict[str, Any]) -> None:
    found, _ = batch(protocol(lab_windows, "srv-win-01", https=True), table())
    assert set(found) == {r["id"] for r in ROWS}
    assert json.loads(found["computer"][0])["Manufacturer"] == "VMware, Inc."
    assert "Source: 10.203.0.10,0x8" in found["w32tm_status"][0]


def test_https_refuses_a_server_the_ca_did_not_sign(lab_windows: dict[str, Any], tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    from lab.winsim import pki

    pki.ensure_ca(tmp_path)
    other.write_bytes((tmp_path / "ca.pem").read_bytes())
    p = protocol(lab_windows, "srv-win-01", https=True)
    p.transport.ca_trust_path = str(other)
    with pytest.raises(requests.exceptions.SSLError):
        p.open_shell()


def test_plain_http_without_encryption_is_refused(lab_windows: dict[str, Any]) -> None:
    with pytest.raises(WinRMTransportError):
        protocol(lab_windows, "srv-win-01", https=False, encryption="never").open_shell()


def test_a_ja_jp_host_in_code_page_437_loses_its_japanese(lab_windows: dict[str, Any]) -> None:
    found, _ = batch(protocol(lab_windows, "pc-win-01", https=True), [("w32tm_status", "w32tm.exe /query /status")],
                     codepage=437)
    assert "閏" not in found["w32tm_status"][0]
    assert "?" in found["w32tm_status"][0]


def test_wrong_password_is_http_401(lab_windows: dict[str, Any]) -> None:
    wrong = "not-" + "the-password"
    with pytest.raises(InvalidCredentialsError):
        protocol(lab_windows, "srv-win-02", https=False, password=wrong).open_shell()


def test_the_host_that_rejects_credentials(lab_windows: dict[str, Any]) -> None:
    with pytest.raises(InvalidCredentialsError):
        protocol(lab_windows, "srv-win-badcred", https=True).open_shell()


def test_the_host_that_never_answers_times_out(lab_windows: dict[str, Any]) -> None:
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        protocol(lab_windows, "srv-win-hang", https=False, read_timeout=3).open_shell()
    assert 2.5 < time.monotonic() - started < 15


def test_an_unknown_command_is_not_recognized(lab_windows: dict[str, Any]) -> None:
    found, _ = batch(protocol(lab_windows, "srv-win-01", https=True),
                     [("x", "Get-ChildItem -Path C:\\Windows"), ("now", "Get-Date -Format o")])
    assert found["x"][0].startswith("HARDENING-ERROR: The term 'Get-ChildItem' is not recognized as the name of a "
                                    "cmdlet, function, script file, or operable program.")
    assert re.match(r"\d{4}-\d\d-\d\dT", found["now"][0])


@pytest.fixture
def srv_win_02_restored(lab_windows: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield lab_windows
    (STATE / "srv-win-02" / "faults.json").unlink(missing_ok=True)
    batch(protocol(lab_windows, "srv-win-02", https=False), [
        ("r1", "Set-SmbServerConfiguration -EnableSMB1Protocol $true -Force"),
        ("r2", 'reg.exe add "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WinRM\\Service" /v '
               "AllowUnencryptedTraffic /t REG_DWORD /d 1 /f")])


def test_a_setter_changes_what_the_next_query_shows(srv_win_02_restored: dict[str, Any]) -> None:
    lab = srv_win_02_restored
    smb = next(r["command"] for r in ROWS if r["id"] == "smb")
    before, _ = batch(protocol(lab, "srv-win-02", https=False), [("smb", smb)])
    assert json.loads(before["smb"][0]) == {"EnableSMB1Protocol": True}
    done, _ = batch(protocol(lab, "srv-win-02", https=False),
                    [("cmd", "Set-SmbServerConfiguration -EnableSMB1Protocol $false -Force")])
    assert done["cmd"] == ("\r\n", 0)
    after, _ = batch(protocol(lab, "srv-win-02", https=False), [("smb", smb)])
    assert json.loads(after["smb"][0]) == {"EnableSMB1Protocol": False}


def test_faults_fail_a_setter_or_drop_the_connection(srv_win_02_restored: dict[str, Any]) -> None:
    lab = srv_win_02_restored
    key = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WinRM\\Service"
    setter = f'reg.exe add "{key}" /v AllowUnencryptedTraffic /t REG_DWORD /d 0 /f'
    faults = STATE / "srv-win-02" / "faults.json"
    faults.write_text(json.dumps({"fail_setter": 1, "fail_message": "Access is denied."}))
    found, _ = batch(protocol(lab, "srv-win-02", https=False), [("cmd", setter)])
    assert found["cmd"][1] == 1
    assert "ERROR: Access is denied." in found["cmd"][0]
    (STATE / "srv-win-02" / "faults.json").write_text(json.dumps({"drop_after_setters": 1}))
    p = protocol(lab, "srv-win-02", https=False)
    shell = p.open_shell(codepage=65001)
    command = p.run_command(shell, "powershell.exe", ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass",
                                                      "-EncodedCommand", BOOTSTRAP_B64])
    p.send_command_input(shell, command, block("cmd", setter).encode("utf-8"), end=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        p.get_command_output(shell, command)
    # the NTLM session died with the connection: a new connection must authenticate again (a fresh Protocol)
    (STATE / "srv-win-02" / "faults.json").unlink()
    found, _ = batch(protocol(lab, "srv-win-02", https=False), [("reg_winrm_policy", f'reg.exe query "{key}"')])
    assert "AllowUnencryptedTraffic    REG_DWORD    0x0" in found["reg_winrm_policy"][0]     # applied before the drop
