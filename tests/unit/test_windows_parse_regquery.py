"""regquery.py: `reg query` output with and without /s, en-US and ja-JP messages, missing key = absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardening.platforms.windows.regquery import RegQueryError, canonical, parse_reg_query

SAMPLES = Path(__file__).resolve().parents[1] / "platforms" / "windows" / "samples" / "registry"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def test_values_of_one_key_and_subkeys_listed_by_path() -> None:
    query = parse_reg_query(sample("system_policies.txt"))
    assert not query.absent
    root = query.root
    assert root is not None
    assert root.dword("InactivityTimeoutSecs") == 900
    assert root.dword("inactivitytimeoutsecs") == 900           # names are case-insensitive
    assert root.string("LegalNoticeCaption") == ""               # `Name    REG_SZ    ` = empty string
    assert root.dword("NoSuchValue") is None
    assert [k.rsplit("\\", 1)[1] for k in root.subkeys] == ["Audit", "UIPCC"]
    assert len(query.keys) == 1                                   # without /s subkeys' values were not read
    assert query.key(r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\Audit") is None


def test_types_multi_sz_binary_and_names_with_spaces() -> None:
    root = parse_reg_query(sample("lsa.txt")).root
    assert root is not None
    assert root.dword("NoLMHash") == 1
    value = root.get("Notification Packages")
    assert value is not None
    assert value.type == "REG_MULTI_SZ"
    assert value.data == ["scecli"]
    binary = root.get("fullprivilegeauditing")
    assert binary is not None
    assert binary.data == b"\x00"
    assert root.dword("LsaPid") == 0x2A8
    with pytest.raises(RegQueryError, match="not a number"):
        root.dword("Authentication Packages")


def test_recursive_query_reads_every_key() -> None:
    query = parse_reg_query(sample("removable_storage_s.txt"))
    assert len(query.keys) == 2
    assert query.root is not None
    assert query.root.dword("Deny_All") == 0
    disks = query.key(r"HKLM\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices"
                      r"\{53F5630D-B6BF-11D0-94F2-00A0C91EFB8B}")
    assert disks is not None
    assert disks.dword("Deny_Read") == 1
    assert disks.dword("Deny_Write") == 1
    assert len(query.under(r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices")) == 2


@pytest.mark.parametrize("name", ["absent_ps51_en.txt", "absent_ps51_ja.txt"])
def test_missing_key_is_absent_in_both_languages(name: str) -> None:
    query = parse_reg_query(sample(name))
    assert query.absent
    assert query.root is None
    assert query.keys == []


@pytest.mark.parametrize("text", [
    "ERROR: The system was unable to find the specified registry key or value.\r\n",
    "エラー: 指定されたレジストリ キーまたは値が見つかりませんでした。\r\n",
])
def test_missing_key_plain_stderr_text(text: str) -> None:
    assert parse_reg_query(text).absent


@pytest.mark.parametrize("text", [
    "ERROR: Access is denied.\r\n",
    "エラー: アクセスが拒否されました。\r\n",
    "ERROR: Invalid key name.\r\nType \"REG QUERY /?\" for usage.\r\n",
])
def test_other_reg_errors_raise(text: str) -> None:
    with pytest.raises(RegQueryError, match=r"reg\.exe"):
        parse_reg_query(text)


def test_default_value_en_and_ja() -> None:
    text = ("\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\X\r\n    (既定)    REG_SZ    (値の設定なし)\r\n"
            "    Multi    REG_MULTI_SZ    a\\0b c\\0\r\n    Big    REG_QWORD    0x100000000\r\n"
            "    Path    REG_EXPAND_SZ    %SystemRoot%\\system32\r\n")
    root = parse_reg_query(text).root
    assert root is not None
    default = root.get("(Default)")
    assert default is not None
    assert default.data is None
    assert root.string("Multi") == "a\nb c"
    assert root.dword("Big") == 2**32
    assert root.string("Path") == "%SystemRoot%\\system32"
    english = parse_reg_query("HKEY_LOCAL_MACHINE\\SOFTWARE\\X\r\n    (Default)    REG_SZ    hello\r\n").root
    assert english is not None
    assert english.string("(default)") == "hello"


@pytest.mark.parametrize(("text", "match"), [
    ("    Orphan    REG_DWORD    0x1\r\n", "before any key"),
    ("HKEY_LOCAL_MACHINE\\SOFTWARE\\X\r\n    Bad    REG_DWORD    zz\r\n", "not what reg.exe writes"),
    ("HKEY_LOCAL_MACHINE\\SOFTWARE\\X\r\n  two spaces    REG_DWORD    0x1\r\n", "not reg query output"),
    ("Caption : Windows\r\n", "not reg query output"),
])
def test_garbage_raises_with_the_line(text: str, match: str) -> None:
    with pytest.raises(RegQueryError, match=match):
        parse_reg_query(text)


def test_canonical_paths() -> None:
    assert canonical(r"HKLM\Software\X\\") == canonical(r"hkey_local_machine\SOFTWARE\x")


def test_recursive_summary_in_another_wording_is_recognised() -> None:
    text = sample("removable_storage_s.txt").replace("End of search: 3 match(es) found.", "検索完了: 3 件")
    query = parse_reg_query(text)
    assert len(query.keys) == 2


def test_garbage_last_line_without_a_count_is_refused() -> None:
    text = sample("removable_storage_s.txt").replace("End of search: 3 match(es) found.", "garbage")
    with pytest.raises(RegQueryError, match="line"):
        parse_reg_query(text)
