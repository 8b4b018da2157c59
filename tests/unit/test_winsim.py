"""The lab's Windows simulator without the network: its renderers, the batch framing and the setters."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml
from lab.winsim import psjson, renderers
from lab.winsim.host import BOOTSTRAP, BOOTSTRAP_B64, Batch, HostState, load_host_file, load_table, render_stdout

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ROOT / "lab" / "winsim" / "hosts"
TABLE = load_table()
ROWS = yaml.safe_load((ROOT / "src/hardening/platforms/windows/platform.yaml").read_text(encoding="utf-8"))["commands"]


def block(block_id: str, command: str) -> str:
    return (f"Write-Output '<<<hardening:begin:{block_id}>>>'\n$global:LASTEXITCODE = 0\n"
            f"try {{ {command} 2>&1 | Out-String -Width 4096 }} "
            "catch { 'HARDENING-ERROR: ' + $_.Exception.Message }\n"
            f"Write-Output ('<<<hardening:end:{block_id}:' + $LASTEXITCODE + '>>>')\n")


def host(name: str, tmp_path: Path | None = None) -> HostState:
    if tmp_path is None:
        return HostState(load_host_file(HOSTS / f"{name}.yaml"))
    return HostState.seed(HOSTS / f"{name}.yaml", tmp_path / name)


Blocks = dict[str, tuple[str, int]]


def run(h: HostState, blocks: list[tuple[str, str]], state_dir: Path | None = None) -> tuple[Blocks, Batch]:
    batch = Batch(h, TABLE, state_dir)
    batch.run("".join(block(i, c) for i, c in blocks))
    out = render_stdout(batch)
    found = {}
    for m in re.finditer(r"<<<hardening:begin:(\w+)>>>\r\n(.*?)<<<hardening:end:\1:(-?\d+)>>>", out, re.S):
        found[m.group(1)] = (m.group(2), int(m.group(3)))
    return found, batch


def query(h: HostState, block_id: str) -> tuple[str, int]:
    command = next(r["command"] for r in ROWS if r["id"] == block_id)
    return run(h, [(block_id, command)])[0][block_id]


# ---- formats ---------------------------------------------------------------------------------------------------
def test_bootstrap_is_the_shared_designs() -> None:
    assert BOOTSTRAP == "$ErrorActionPreference = 'Continue'; $s = [Console]::In.ReadToEnd(); Invoke-Expression $s"
    assert BOOTSTRAP_B64.startswith("JABFAHIAcgBvAHIAQQBjAHQAaQBvAG4AUAByAGUAZgBlAHIAZQBuAGMAZQAg")


def test_convertto_json_51_single_object_two_spaces_numbers_and_dates() -> None:
    when = dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    text = psjson.convert_to_json([{"Name": "O'Brien <x>", "Status": 4, "On": True, "At": psjson.PSDate(when),
                                    "None": None}])
    assert text == ('{\n    "Name":  "O\\u0027Brien \\u003cx\\u003e",\n    "Status":  4,\n    "On":  true,\n'
                    '    "At":  "\\/Date(1700000000000)\\/",\n    "None":  null\n}')


def test_convertto_json_51_array_and_sid_nested_at_its_column_depth_two() -> None:
    text = psjson.convert_to_json([{"Name": "a", "SID": psjson.sid("S-1-5-21-1-2-3-500")}, {"Name": "b", "SID": None}])
    assert text.startswith("[\n    {\n        \"Name\":  \"a\",\n        \"SID\":  {\n")
    assert '                    "AccountDomainSid":  "S-1-5-21-1-2-3",\n' in text     # beyond -Depth 2: a string
    assert '                    "Value":  "S-1-5-21-1-2-3-500"\n                }\n    },' in text
    assert json.loads(text)[0]["SID"]["Value"] == "S-1-5-21-1-2-3-500"


def test_reg_query_layout_and_missing_key() -> None:
    reg = {"HKLM\\SOFTWARE\\A": {"Start": ["REG_DWORD", 4], "Name": ["REG_SZ", "x y"]}, "HKLM\\SOFTWARE\\A\\B": {}}
    lines, rc = renderers.reg_query(reg, '"HKLM\\SOFTWARE\\A"', recurse=False)
    assert rc == 0
    assert lines == ["", "HKEY_LOCAL_MACHINE\\SOFTWARE\\A", "    Start    REG_DWORD    0x4",
                     "    Name    REG_SZ    x y", "", "HKEY_LOCAL_MACHINE\\SOFTWARE\\A\\B"]
    assert renderers.reg_query(reg, "HKLM\\SOFTWARE\\Nope", recurse=False) == ([renderers.REG_NOT_FOUND], 1)


def test_every_table_command_is_answered_on_every_host() -> None:
    for path in sorted(HOSTS.glob("[!_]*.yaml")):
        found, _ = run(HostState(load_host_file(path)), [(r["id"], r["command"]) for r in ROWS])
        assert set(found) == {r["id"] for r in ROWS}, path.name
        assert not any("HARDENING-ERROR" in text for text, _ in found.values()), path.name


def test_json_blocks_parse_and_enums_are_numbers() -> None:
    h = host("srv-win-02")
    services = {s["Name"]: s for s in json.loads(query(h, "services")[0])}
    assert services["RemoteRegistry"] == {"Name": "RemoteRegistry", "Status": 4, "StartType": 2}
    os_info = json.loads(query(h, "os")[0])
    assert os_info["Caption"] == "Microsoft Windows Server 2022 Standard"
    assert os_info["CSName"] == "SRV-WIN-02"
    assert json.loads(query(h, "smb")[0]) == {"EnableSMB1Protocol": True}
    ports = {p["LocalPort"] for p in json.loads(query(h, "listen_tcp")[0])}
    assert 8080 in ports
    assert 3389 in ports


def test_defender_dates_are_relative_to_now() -> None:
    text, _ = query(host("pc-win-02"), "defender")
    status = json.loads(text)
    ms = int(re.match(r"/Date\((\d+)\)/", status["AntivirusSignatureLastUpdated"]).group(1))  # type: ignore[union-attr]
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    assert 29 < age.total_seconds() / 86400 < 31
    assert status["AntivirusSignatureAge"] == 30


def test_w32tm_localised_on_a_ja_jp_host() -> None:
    text, rc = query(host("pc-win-01"), "w32tm_status")
    assert rc == 0
    assert "閏インジケーター: 0 (警告なし)" in text
    assert "ソース: 10.203.0.10,0x8" in text
    text, _ = query(host("srv-win-02"), "w32tm_status")
    assert "Leap Indicator: 3(not synchronized)" in text
    assert "Source: Local CMOS Clock" in text
    text, _ = query(host("srv-win-01"), "w32tm_config")
    assert "Type: NTP (Local)" in text
    assert "NtpServer: 10.203.0.10,0x8 (Local)" in text


def test_wevtutil_and_secedit_layouts() -> None:
    text, _ = query(host("srv-win-02"), "eventlog_security")
    assert "name: Security\r\n" in text
    assert "  retention: false\r\n" in text
    assert "  maxSize: 1048576\r\n" in text
    text, _ = query(host("srv-win-02"), "secpol")
    lines = text.split("\r\n")
    assert lines[:3] == ["[Unicode]", "Unicode=yes", "[System Access]"]
    assert "MinimumPasswordLength = 6" in lines
    assert "LockoutBadCount = 0" in lines
    assert not any(x.startswith("LockoutDuration") for x in lines)        # only with a lockout threshold
    assert 'signature="$CHICAGO$"' in lines


# ---- PowerShell semantics of the framing ---------------------------------------------------------------------------
def test_native_error_is_in_the_block_with_exit_code() -> None:
    text, rc = query(host("srv-win-01"), "reg_removable_storage")
    assert rc == 1
    assert text.startswith("reg.exe : ERROR: The system was unable to find the specified registry key or value.\r\n")
    assert "FullyQualifiedErrorId : NativeCommandError" in text


def test_missing_vendor_namespace_goes_to_stderr_and_leaves_the_block_empty() -> None:
    found, batch = run(host("pc-win-02"), [("bios_dell", next(r["command"] for r in ROWS if r["id"] == "bios_dell"))])
    assert found["bios_dell"] == ("\r\n", 0)      # Out-String's "" and the host's newline
    assert batch.stderr[0] == "Get-CimInstance : 無効な名前空間です "       # a ja-JP host: in Japanese
    assert batch.stderr[1].startswith("発生場所 行:")
    _, english = run(host("srv-win-02"), [("bios_hp", next(r["command"] for r in ROWS if r["id"] == "bios_hp"))])
    assert english.stderr[0] == "Get-CimInstance : Invalid namespace "


def test_the_vendor_block_answers_on_its_vendor() -> None:
    assert json.loads(query(host("pc-win-01"), "bios_dell")[0])[0] == {"NameId": "Admin", "IsPasswordSet": 1}
    assert json.loads(query(host("pc-win-03"), "bios_lenovo")[0]) == {"PasswordState": 0}
    assert [x["IsSet"] for x in json.loads(query(host("pc-win-02"), "bios_hp")[0])] == [1, 0]


def test_error_texts_are_in_the_os_language() -> None:
    found, _ = run(host("pc-win-01"), [("x", "Get-ChildItem C:\\"),
                                       ("cmd", 'reg.exe delete "HKLM\\SOFTWARE\\Nope" /v X /f')])
    assert found["x"][0].startswith("HARDENING-ERROR: 用語 'Get-ChildItem' は、コマンドレット、関数、")
    assert found["cmd"][0].startswith("reg.exe : エラー: 指定されたレジストリ キーまたは値が見つかりませんでした。\r\n"
                                      "発生場所 行:")


def test_unknown_or_altered_command_is_not_recognized() -> None:
    altered = next(r["command"] for r in ROWS if r["id"] == "users").replace("Name,Enabled", "Name,Description")
    found, _ = run(host("srv-win-01"), [("users", altered), ("x", "Get-ChildItem C:\\"), ("now", "Get-Date -Format o")])
    assert found["users"][0].startswith("HARDENING-ERROR: The term 'Get-LocalUser' is not recognized as the name")
    assert found["x"][0].startswith("HARDENING-ERROR: The term 'Get-ChildItem' is not recognized")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+09:00\r\n\r\n", found["now"][0])


def test_whitespace_of_the_command_is_normalised() -> None:
    found, _ = run(host("srv-win-01"), [("now", "Get-Date   -Format  o")])
    assert "HARDENING-ERROR" not in found["now"][0]


def test_a_script_that_does_not_parse_runs_nothing() -> None:
    found, batch = run(host("srv-win-01"), [("now", "Get-Date -Format o"), ("bad", "Write-Output 'unterminated")])
    assert found == {}
    assert any("missing the terminator" in line for line in batch.stderr)


# ---- setters -----------------------------------------------------------------------------------------------------
INF = ("[Unicode]`r`nUnicode=yes`r`n[Version]`r`nsignature=`\"`$CHICAGO`$`\"`r`nRevision=1`r`n[System Access]`r`n"
       "MinimumPasswordLength = 14`r`nPasswordComplexity = 1`r`nLockoutBadCount = 5`r`n")
SECEDIT = ("$f = Join-Path $env:TEMP 'hardening-apply.inf'; $d = Join-Path $env:TEMP 'hardening-apply.sdb'; "
           f'Set-Content -Path $f -Encoding Unicode -Value "{INF}"; '
           "secedit.exe /configure /db $d /cfg $f /areas SECURITYPOLICY /quiet; Remove-Item -Path $f,$d")


def test_setters_change_what_the_next_query_shows(tmp_path: Path) -> None:
    h = host("srv-win-02", tmp_path)
    found, _ = run(h, [
        ("a", 'reg.exe add "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WinRM\\Service" /v AllowUnencryptedTraffic '
              "/t REG_DWORD /d 0 /f"),
        ("b", 'reg.exe add "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System" /v '
              'LegalNoticeText /t REG_SZ /d "Authorised use only" /f'),
        ("c", SECEDIT),
        ("d", 'w32tm.exe /config /manualpeerlist:"10.203.0.10,0x8" /syncfromflags:manual /update'),
        ("e", "wevtutil.exe sl Security /ms:268435456 /rt:true /ab:true"),
        ("f", "Set-Service -Name RemoteRegistry -StartupType Disabled; Stop-Service -Name RemoteRegistry -Force"),
        ("g", "Set-SmbServerConfiguration -EnableSMB1Protocol $false -Force"),
    ])
    assert found["a"] == ("The operation completed successfully.\r\n\r\n", 0)
    assert found["c"][0].startswith("The task has completed successfully.")
    # persisted: a new load of the state dir sees the changes
    again = HostState.seed(HOSTS / "srv-win-02.yaml", tmp_path / "srv-win-02")
    assert "AllowUnencryptedTraffic    REG_DWORD    0x0" in query(again, "reg_winrm_policy")[0]
    assert "LegalNoticeText    REG_SZ    Authorised use only" in query(again, "reg_system_policies")[0]
    secpol = query(again, "secpol")[0]
    assert "MinimumPasswordLength = 14" in secpol
    assert "LockoutDuration = 15" in secpol
    assert "Source: 10.203.0.10,0x8" in query(again, "w32tm_status")[0]
    assert "  maxSize: 268435456" in query(again, "eventlog_security")[0]
    services = {s["Name"]: s for s in json.loads(query(again, "services")[0])}
    assert services["RemoteRegistry"]["Status"] == 1
    assert services["RemoteRegistry"]["StartType"] == 4
    assert json.loads(query(again, "smb")[0]) == {"EnableSMB1Protocol": False}


def test_an_unescaped_dollar_in_the_inf_is_expanded_like_powershell(tmp_path: Path) -> None:
    h = host("srv-win-02", tmp_path)
    bad = SECEDIT.replace("`$CHICAGO`$", "$CHICAGO$")
    found, _ = run(h, [("c", bad)])
    assert found["c"][1] != 0
    assert "MinimumPasswordLength = 6" in query(h, "secpol")[0]


def test_stopping_a_service_closes_its_sockets(tmp_path: Path) -> None:
    h = host("srv-win-01", tmp_path)
    run(h, [("x", "Set-Service -Name TermService -StartupType Disabled; Stop-Service -Name TermService -Force")])
    assert 3389 not in {p["LocalPort"] for p in json.loads(query(h, "listen_tcp")[0])}
    found, _ = run(h, [("y", "Start-Service -Name TermService")])
    assert "cannot be started" in found["y"][0]


def test_bitlocker_defender_and_bios_setters(tmp_path: Path) -> None:
    h = host("pc-win-02", tmp_path)
    run(h, [("a", "Enable-BitLocker -MountPoint $env:SystemDrive -EncryptionMethod XtsAes256 -TpmProtector"),
            ("b", "Set-MpPreference -DisableRealtimeMonitoring $false"),
            ("c", "$i = Get-CimInstance -Namespace root/HP/InstrumentedBIOS -ClassName HP_BIOSSettingInterface; "
                  "Invoke-CimMethod -InputObject $i -MethodName SetBIOSSetting -Arguments "
                  "@{Name='Power-On Password'; Value='<utf-16/>s3cret'; Password='<utf-16/>'}")])
    vol = json.loads(query(h, "bitlocker")[0])
    assert (vol["VolumeStatus"], vol["ProtectionStatus"], vol["EncryptionMethod"]) == (1, 1, 7)
    assert [x["IsSet"] for x in json.loads(query(h, "bios_hp")[0])] == [1, 1]
    assert "s3cret" not in (tmp_path / "pc-win-02" / "state.json").read_text(encoding="utf-8")
    lenovo = host("pc-win-03", tmp_path)
    run(lenovo, [("a", "(Get-WmiObject -Namespace root/wmi -Class Lenovo_SetBiosPassword).SetBiosPassword("
                       "'pap,,N3w-pass,ascii,us')")])
    assert json.loads(query(lenovo, "bios_lenovo")[0]) == {"PasswordState": 2}
    found, _ = run(lenovo, [("d", "(Get-WmiObject -Namespace root/dcim/sysman/wmisecurity -Class SecurityInterface)"
                                  ".SetNewPassword(0, 0, 0, 'Admin', '', 'x')")])
    assert found["d"][0] == "\r\n"          # a Dell setter on a Lenovo: its namespace does not exist


def test_faults_fail_the_nth_setter_and_drop_after_n(tmp_path: Path) -> None:
    h = host("pc-win-03", tmp_path)
    faults = tmp_path / "pc-win-03" / "faults.json"
    faults.write_text(json.dumps({"fail_setter": 2, "fail_message": "Access is denied."}))
    found, _ = run(h, [("a", "Set-MpPreference -DisableRealtimeMonitoring $false"),
                       ("b", 'reg.exe add "HKLM\\SYSTEM\\CurrentControlSet\\Services\\USBSTOR" /v Start '
                             "/t REG_DWORD /d 4 /f"),
                       ("c", "Stop-Service -Name Spooler -Force")], tmp_path / "pc-win-03")
    assert found["b"][1] == 1
    assert "ERROR: Access is denied." in found["b"][0]
    assert "0x3" in query(h, "reg_usbstor")[0]                         # the failed setter changed nothing
    assert json.loads(query(h, "defender")[0])["RealTimeProtectionEnabled"] is True
    (tmp_path / "pc-win-03" / "faults.json").write_text(json.dumps({"drop_after_setters": 1}))
    found, batch = run(h, [("a", "Start-Service -Name Spooler"), ("b", "Stop-Service -Name W32Time -Force")],
                       tmp_path / "pc-win-03")
    assert batch.dropped
    assert "b" not in found
    services = {s["Name"]: s for s in json.loads(query(h, "services")[0])}
    assert services["Spooler"]["Status"] == 4
    assert services["W32Time"]["Status"] == 4


def test_state_reseeds_when_the_host_file_changes(tmp_path: Path) -> None:
    src = tmp_path / "hosts"
    src.mkdir()
    for f in HOSTS.glob("_*.yaml"):
        (src / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (src / "h.yaml").write_text("base: _server2022.yaml\ncomputer_name: H1\n", encoding="utf-8")
    h = HostState.seed(src / "h.yaml", tmp_path / "state")
    run(h, [("a", "Set-SmbServerConfiguration -EnableSMB1Protocol $true -Force")])
    assert HostState.seed(src / "h.yaml", tmp_path / "state").data["objects"]["Get-SmbServerConfiguration"][0][
        "EnableSMB1Protocol"] is True
    (src / "h.yaml").write_text("base: _server2022.yaml\ncomputer_name: H2\n", encoding="utf-8")
    fresh = HostState.seed(src / "h.yaml", tmp_path / "state")
    assert fresh.computer_name == "H2"
    assert fresh.data["objects"]["Get-SmbServerConfiguration"][0]["EnableSMB1Protocol"] is False


@pytest.mark.parametrize("name", ["srv-win-01", "pc-win-01"])
def test_compliant_hosts_state_what_the_policy_wants(name: str) -> None:
    h = host(name)
    secpol = query(h, "secpol")[0]
    assert "PasswordComplexity = 1" in secpol
    assert "LockoutBadCount = 5" in secpol
    assert "InactivityTimeoutSecs    REG_DWORD    0x384" in query(h, "reg_system_policies")[0]


def test_capture_writes_each_block_and_the_exit_codes(tmp_path: Path) -> None:
    from lab.winsim.capture import capture

    rcs = capture(HOSTS / "pc-win-02.yaml", tmp_path)
    assert set(rcs) == {r["id"] for r in ROWS}
    assert json.loads((tmp_path / "os.txt").read_text(encoding="utf-8"))["CSName"] == "PC-WIN-02"
    codes = json.loads((tmp_path / "rc.json").read_text(encoding="utf-8"))
    assert codes["reg_removable_storage"] == 1
    assert "Get-CimInstance : 無効な名前空間です" in codes["stderr"]


def _envelope(action: str, shell_id: str | None = None, body: str = "") -> bytes:
    selector = (f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
                if shell_id else "")
    return ('<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
            'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
            'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><env:Header>'
            "<a:MessageID>uuid:11111111-1111-1111-1111-111111111111</a:MessageID>"
            "<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>"
            f"<a:Action>{action}</a:Action>{selector}<w:OperationTimeout>PT1S</w:OperationTimeout></env:Header>"
            f"<env:Body>{body}</env:Body></env:Envelope>").encode()


def test_wsman_shell_lifecycle_and_the_invalid_selectors_fault(tmp_path: Path) -> None:
    import asyncio
    import base64
    import xml.etree.ElementTree as ET

    from lab.winsim.server import SHELL, SimHost, WSMan

    h = SimHost(name="srv-win-01", address="127.0.0.1", http_port=None, https_port=None, username="u",
                user_file="", state_dir=tmp_path, state=host("srv-win-01"), behaviour="normal")
    wsman = WSMan(h, TABLE)
    ns = {"w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd", "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
          "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing"}

    def parse(data: bytes) -> ET.Element:
        return ET.fromstring(data)  # noqa: S314 (the simulator's own reply)

    async def go() -> None:
        created, _ = await wsman.handle(_envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"))
        root = parse(created)
        assert root.findtext(".//a:RelatesTo", None, ns) == "uuid:11111111-1111-1111-1111-111111111111"
        shell_id = root.findtext(".//w:Selector", None, ns)
        reply, _ = await wsman.handle(_envelope(SHELL + "Command", shell_id,
                                                "<rsp:CommandLine><rsp:Command>hostname</rsp:Command></rsp:CommandLine>"))
        command_id = parse(reply).findtext(".//rsp:CommandId", None, ns)
        reply, _ = await wsman.handle(_envelope(SHELL + "Receive", shell_id,
                                                f'<rsp:Receive><rsp:DesiredStream CommandId="{command_id}">'
                                                "stdout stderr</rsp:DesiredStream></rsp:Receive>"))
        root = parse(reply)
        stdout = next(s for s in root.iterfind(".//rsp:Stream", ns) if s.get("Name") == "stdout" and s.text)
        assert base64.b64decode(stdout.text or "") == b"SRV-WIN-01\r\n"
        assert root.find(".//rsp:CommandState", ns).get("State", "").endswith("CommandState/Done")  # type: ignore[union-attr]
        await wsman.handle(_envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete", shell_id))
        from lab.winsim.server import Fault

        with pytest.raises(Fault) as fault:
            await wsman.handle(_envelope(SHELL + "Receive", shell_id))
        assert fault.value.subcode == "w:InvalidSelectors"
        assert fault.value.wsman_code == 2150858843
        assert b"<s:Value>w:InvalidSelectors</s:Value>" in fault.value.soap("uuid:x", "SRV-WIN-01")

    asyncio.run(go())


def test_a_malformed_block_prints_its_markers_but_not_the_command() -> None:
    script = ("Write-Output '<<<hardening:begin:now>>>'\n$global:LASTEXITCODE = 0\n"
              "try { Get-Date -Format o | Out-String } catch { 'x' }\n"
              "Write-Output ('<<<hardening:end:now:' + $LASTEXITCODE + '>>>')\n")
    batch = Batch(host("srv-win-01"), TABLE, None)
    batch.run(script)
    assert render_stdout(batch) == "<<<hardening:begin:now>>>\r\n<<<hardening:end:now:0>>>\r\n"
    assert batch.stderr[0].startswith("try : The term 'try' is not recognized")


def test_w32tm_config_can_restore_no_sync(tmp_path: Path) -> None:
    h = host("srv-win-02", tmp_path)
    run(h, [("a", 'w32tm.exe /config /manualpeerlist:"10.203.0.10,0x8" /syncfromflags:manual /update')])
    assert "Source: 10.203.0.10,0x8" in query(h, "w32tm_status")[0]
    run(h, [("b", 'w32tm.exe /config /manualpeerlist:"time.windows.com,0x9" /syncfromflags:NO /update')])
    assert "Type: NoSync (Local)" in query(h, "w32tm_config")[0]
    assert "Source: Local CMOS Clock" in query(h, "w32tm_status")[0]


def test_registry_value_names_are_case_insensitive(tmp_path: Path) -> None:
    """Windows compares value names case-insensitively: `reg add /v NoLMHash` overwrites the seeded `NoLmHash` (which
    keeps its case) instead of adding a second value; `reg delete /v nolmhash` removes it."""
    h = host("srv-win-02", tmp_path)
    lsa = 'reg.exe {} "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa" /v {} {}'
    found, _ = run(h, [("a", lsa.format("add", "NoLMHash", "/t REG_DWORD /d 1 /f"))])
    assert found["a"][1] == 0
    text = query(h, "reg_lsa")[0]
    assert re.findall(r"(?im)^\s+(nolmhash)\s+REG_DWORD\s+(\S+)", text) == [("NoLmHash", "0x1")]
    found, _ = run(h, [("a", lsa.format("delete", "nolmhash", "/f"))])
    assert found["a"][1] == 0
    assert "nolmhash" not in query(h, "reg_lsa")[0].lower()


@pytest.mark.parametrize("mode", ["blocks", "stdout", "soap"])
def test_the_garbage_fault_mangles_one_batch(tmp_path: Path, mode: str) -> None:
    from lab.winsim.host import garble

    h = host("srv-win-01", tmp_path)
    (tmp_path / "srv-win-01" / "faults.json").write_text(json.dumps({"garbage": mode}))
    batch = Batch(h, TABLE, tmp_path / "srv-win-01")
    batch.run(block("now", "Get-Date -Format o") + block("smb", next(r["command"] for r in ROWS if r["id"] == "smb")))
    assert garble(batch) == mode
    out = render_stdout(batch)
    if mode == "blocks":   # the framing stays, no block holds its documented format
        assert re.findall(r"<<<hardening:(?:begin|end):(\w+)", out) == ["now", "now", "smb", "smb"]
        assert "EnableSMB1Protocol" not in out
        assert "CLIXML" in out
    elif mode == "stdout":
        assert "<<<hardening:" not in out
    else:                  # the server answers the Receive with a page that is not WS-Management
        assert "EnableSMB1Protocol" in out
    assert json.loads((tmp_path / "srv-win-01" / "faults.json").read_text()) == {}   # fired once
    again = Batch(h, TABLE, tmp_path / "srv-win-01")
    again.run(block("now", "Get-Date -Format o"))
    assert garble(again) is None
