"""pwsh.py: the batch framing and ConvertTo-Json as Windows PowerShell 5.1 and PowerShell 7 write it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hardening.platforms.windows import pwsh
from hardening.platforms.windows.pwsh import CommandOutput, OutputFormatError

ERRORS = Path(__file__).resolve().parents[1] / "platforms" / "windows" / "samples" / "errors"

CRLF = "\r\n"


def test_block_script_is_the_documented_framing() -> None:
    assert pwsh.block_script("now", "Get-Date -Format o") == (
        "Write-Output '<<<hardening:begin:now>>>'\n"
        "$global:LASTEXITCODE = 0\n"
        "try { Get-Date -Format o 2>&1 | Out-String -Width 4096 } "
        "catch { 'HARDENING-ERROR: ' + $_.Exception.Message }\n"
        "Write-Output ('<<<hardening:end:now:' + $LASTEXITCODE + '>>>')\n")


@pytest.mark.parametrize(("command_id", "command"), [("Now", "x"), ("a-b", "x"), ("ok", "a\nb")])
def test_block_script_refuses_bad_ids_and_multiline_commands(command_id: str, command: str) -> None:
    with pytest.raises(ValueError, match=r"\[a-z0-9_\]|one line"):
        pwsh.block_script(command_id, command)


def test_batch_script_refuses_a_duplicate_id() -> None:
    with pytest.raises(ValueError, match="twice"):
        pwsh.batch_script([("a", "x"), ("a", "y")])


def test_split_batch_crlf_bom_rc_and_hardening_error() -> None:
    stdout = CRLF.join([
        "\ufeff<<<hardening:begin:now>>>", "2026-11-29T21:40:00.1234567+09:00", "",
        "<<<hardening:end:now:0>>>",
        "<<<hardening:begin:reg_lsa>>>", "ERROR: Access is denied.", "<<<hardening:end:reg_lsa:1>>>",
        "<<<hardening:begin:defender>>>",
        "HARDENING-ERROR: The term 'Get-MpComputerStatus' is not recognized as the name of a cmdlet, function,",
        "<<<hardening:end:defender:-2147024891>>>", ""])
    batch = pwsh.split_batch(stdout, ["now", "reg_lsa", "defender"])
    assert batch.problems == []
    assert batch.blocks["now"] == CommandOutput("2026-11-29T21:40:00.1234567+09:00\n", 0, None)
    assert batch.blocks["reg_lsa"] == CommandOutput("ERROR: Access is denied.", 1, None)
    defender = batch.blocks["defender"]
    assert defender.rc == -2147024891
    assert defender.error is not None
    assert defender.error.startswith("The term 'Get-MpComputerStatus'")


def test_split_batch_cut_output_and_missing_blocks_are_errors() -> None:
    stdout = "<<<hardening:begin:os>>>\n{\n  \"Caption\": \"Microsoft Windows"
    batch = pwsh.split_batch(stdout, ["os", "computer"])
    assert batch.blocks["os"].error is not None
    assert "no end marker" in batch.blocks["os"].error
    assert batch.blocks["os"].rc == -1
    assert batch.blocks["computer"].error is not None
    assert "no output block" in batch.blocks["computer"].error


def test_split_batch_next_begin_cuts_a_block_without_end() -> None:
    stdout = "<<<hardening:begin:a>>>\none\n<<<hardening:begin:b>>>\ntwo\n<<<hardening:end:b:0>>>\n"
    batch = pwsh.split_batch(stdout, ["a", "b"])
    assert batch.blocks["a"].error is not None
    assert "no end marker" in batch.blocks["a"].error
    assert batch.blocks["b"] == CommandOutput("two", 0, None)


def test_split_batch_reports_text_outside_blocks_and_stray_markers() -> None:
    stdout = ("Windows PowerShell banner\n<<<hardening:begin:a>>>\none\n<<<hardening:end:a:0>>>\n"
              "garbage between\n<<<hardening:end:zz:0>>>\n<<<hardening:begin:a>>>\nx\n<<<hardening:end:a:0>>>\n")
    batch = pwsh.split_batch(stdout)
    assert [p.split(":")[0] for p in batch.problems] == ["line 1", "line 5", "line 6", "line 7"]
    assert "Windows PowerShell banner" in batch.problems[0]


def test_split_batch_end_marker_of_another_block_is_not_used() -> None:
    batch = pwsh.split_batch("<<<hardening:begin:a>>>\none\n<<<hardening:end:b:0>>>\n", ["a"])
    assert batch.blocks["a"].error is not None
    assert any("'b'" in p for p in batch.problems)


# -- ConvertTo-Json -----------------------------------------------------------------------------------------------

PS51_SINGLE = CRLF.join([
    "{",
    "    \"MountPoint\":  \"C:\",",
    "    \"VolumeStatus\":  1,",
    "    \"ProtectionStatus\":  1,",
    "    \"EncryptionMethod\":  7,",
    "    \"EncryptionPercentage\":  100",
    "}", ""])

PS7_LIST = """[
  {
    "MountPoint": "C:",
    "VolumeStatus": "FullyEncrypted",
    "ProtectionStatus": "On",
    "EncryptionMethod": "XtsAes256",
    "EncryptionPercentage": 100
  }
]
"""


def test_read_json_single_object_and_list_are_both_lists() -> None:
    (single,) = pwsh.read_json(PS51_SINGLE)
    (listed,) = pwsh.read_json(PS7_LIST)
    table = {0: "FullyDecrypted", 1: "FullyEncrypted", 2: "EncryptionInProgress"}
    assert pwsh.enum_name(single["VolumeStatus"], table) == pwsh.enum_name(listed["VolumeStatus"], table) \
        == "FullyEncrypted"


def test_read_json_empty_output_is_no_objects_and_bom_is_ignored() -> None:
    assert pwsh.read_json("\r\n\r\n") == []
    assert pwsh.read_json(CommandOutput("", 0, None)) == []
    assert pwsh.read_json("\ufeff{\"a\": 1}") == [{"a": 1}]


@pytest.mark.parametrize("name", ["invalid_namespace_ps51_en.txt", "invalid_namespace_ps51_ja.txt",
                                  "invalid_namespace_ps7.txt"])
def test_error_records_are_errors_with_their_first_line(name: str) -> None:
    text = (ERRORS / name).read_text(encoding="utf-8")
    reason = pwsh.error_reason(text)
    assert reason is not None
    assert reason.startswith("Get-CimInstance")
    assert "\n" not in reason
    with pytest.raises(OutputFormatError, match="Get-CimInstance"):
        pwsh.read_json(text)


@pytest.mark.parametrize(("name", "start"), [
    ("not_recognized_en.txt", "The term 'Get-BitLockerVolume' is not recognized"),
    ("not_recognized_ja.txt", "用語 'Get-BitLockerVolume' は"),
])
def test_not_recognized_en_and_ja_are_errors(name: str, start: str) -> None:
    text = (ERRORS / name).read_text(encoding="utf-8")
    for reason in (pwsh.error_reason(text), pwsh.error_reason(text.replace("HARDENING-ERROR: ", ""))):
        assert reason is not None
        assert reason.startswith(start)
        assert len(reason) <= 200
    block = pwsh.split_batch(f"<<<hardening:begin:bitlocker>>>\r\n{text}<<<hardening:end:bitlocker:0>>>\r\n")
    error = block.blocks["bitlocker"].error
    assert error is not None
    assert error.startswith(start)


def test_json_output_is_not_an_error() -> None:
    assert pwsh.error_reason(PS51_SINGLE) is None
    assert pwsh.error_reason("") is None


def test_error_block_and_garbage_raise() -> None:
    with pytest.raises(OutputFormatError, match="no end marker"):
        pwsh.read_json(CommandOutput("{", -1, "no end marker after line 3"))
    with pytest.raises(OutputFormatError, match="not JSON"):
        pwsh.read_json("Caption : Microsoft Windows Server 2022\r\n")
    with pytest.raises(OutputFormatError, match="not an object"):
        pwsh.read_json("[1, 2]")


def test_dates_of_both_versions() -> None:
    expected = dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    (item,) = pwsh.read_json('{"AntivirusSignatureLastUpdated":  "\\/Date(1700000000000)\\/"}')
    assert pwsh.read_date(item["AntivirusSignatureLastUpdated"]) == expected
    assert pwsh.read_date({"value": "/Date(1700000000000)/", "DisplayHint": 2}) == expected
    assert pwsh.read_date("2023-11-15T07:13:20.0000000+09:00") == expected
    assert pwsh.read_date("2023-11-14T22:13:20Z") == expected
    with pytest.raises(OutputFormatError, match="without an offset"):
        pwsh.read_date("2023-11-14T22:13:20")
    with pytest.raises(OutputFormatError):
        pwsh.read_date(None)


def test_iso_datetime_with_seven_fraction_digits() -> None:
    value = pwsh.read_iso_datetime("2026-11-29T21:40:00.1234567+09:00")
    assert value.microsecond == 123456
    assert value.utcoffset() == dt.timedelta(hours=9)


def test_enum_name_numbers_names_and_unknowns() -> None:
    table = {"1": "Stopped", "4": "Running"}   # YAML may give string keys
    assert pwsh.enum_name(4, table) == "Running"
    assert pwsh.enum_name("4", table) == "Running"
    assert pwsh.enum_name("running", table) == "Running"
    for bad in (5, "Paused", True, None, 4.0):
        with pytest.raises(OutputFormatError):
            pwsh.enum_name(bad, table)


def test_sid_object_or_string() -> None:
    sid = "S-1-5-21-1004336348-1177238915-682003330-500"
    assert pwsh.sid_value({"BinaryLength": 28, "AccountDomainSid": {"Value": "S-1-5-21-1"}, "Value": sid}) == sid
    assert pwsh.sid_value(sid) == sid
    with pytest.raises(OutputFormatError):
        pwsh.sid_value({"BinaryLength": 28})


def test_read_bool_int_and_field() -> None:
    item = {"IsPasswordSet": 1, "Enabled": True, "Age": "3"}
    assert pwsh.read_bool(pwsh.field(item, "enabled"), "Enabled") is True
    assert pwsh.read_int(pwsh.field(item, "age"), "Age") == 3
    with pytest.raises(OutputFormatError):
        pwsh.read_bool(item["IsPasswordSet"], "IsPasswordSet")
    with pytest.raises(OutputFormatError):
        pwsh.read_bool(None, "x")
    with pytest.raises(OutputFormatError, match="no property"):
        pwsh.field(item, "Missing")


def test_block_twice_or_with_a_malformed_marker_is_an_error() -> None:
    stdout = ("<<<hardening:begin:a>>>\none\n<<<hardening:end:a:0>>>\n<<<hardening:begin:a>>>\ntwo\n"
              "<<<hardening:end:a:0>>>\n<<<hardening:begin:b>>>\n<<<hardening:end:b:x>>>\n<<<hardening:end:b:0>>>\n")
    batch = pwsh.split_batch(stdout, ["a", "b"])
    assert batch.blocks["a"].error == "the batch printed this block twice"
    assert batch.blocks["b"].error is not None
    assert "malformed hardening marker at line 8" in batch.blocks["b"].error
    assert len(batch.problems) == 2


def test_json_holding_error_words_is_data_not_an_error() -> None:
    text = '[{"displayName": "Access is denied Invalid namespace AV", "productState": 266240}]'
    assert pwsh.read_json(text)[0]["productState"] == 266240
    assert pwsh.block_json({"av_products": CommandOutput(text, 0, None)}, "av_products")[0]["productState"] == 266240


def test_json_followed_by_an_error_record_is_an_error() -> None:
    text = '{"a": 1}\r\nGet-CimInstance : Access denied \r\n    + FullyQualifiedErrorId : HRESULT 0x80041003\r\n'
    with pytest.raises(OutputFormatError, match="Access denied"):
        pwsh.read_json(text)
