"""protect.py: BitLocker and the TPM, Defender or another anti-virus product, BIOS passwords by vendor."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.platforms.windows.samples import load

from hardening.platforms.common.netcli import Result
from hardening.platforms.windows.protect import fill_antimalware, fill_disk_encryption, fill_firmware
from hardening.platforms.windows.pwsh import CommandOutput

Filler = Callable[[dict[str, CommandOutput], Result], None]


def parsed(fill: Filler, case: str, **replace: CommandOutput) -> Result:
    outputs = {**load("protect", case), **replace}
    result = Result()
    fill(outputs, result)
    return result


# -- disk encryption ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "expected"), [
    ("bitlocker_on_ps51", {"os_volume_encrypted": True, "protection_on": True, "method": "XtsAes256",
                           "tpm": {"present": True, "ready": True}}),
    ("bitlocker_in_progress_ps51", {"os_volume_encrypted": False, "protection_on": False, "method": "XtsAes256",
                                    "tpm": {"present": True, "ready": True}}),
    ("bitlocker_suspended_ps7", {"os_volume_encrypted": True, "protection_on": False, "method": "XtsAes128",
                                 "tpm": {"present": True, "ready": False}}),
    ("bitlocker_off_no_tpm_ps51", {"os_volume_encrypted": False, "protection_on": False, "method": None,
                                   "tpm": {"present": False, "ready": False}}),
])
def test_disk_encryption_cases(case: str, expected: dict[str, object]) -> None:
    result = parsed(fill_disk_encryption, case)
    assert result.facts["disk_encryption"] == expected
    assert result.errors == {}


@pytest.mark.parametrize(("text", "match"), [
    ("", "0 volumes"),
    ('{"MountPoint": "C:", "VolumeStatus": 9, "ProtectionStatus": 1, "EncryptionMethod": 7}', "enum value 9"),
    ('{"MountPoint": "C:", "VolumeStatus": "Encrypted", "ProtectionStatus": 1, "EncryptionMethod": 7}', "Encrypted"),
    ('{"MountPoint": "C:", "ProtectionStatus": 1, "EncryptionMethod": 7}', "VolumeStatus"),
    ("HARDENING-ERROR: The term 'Get-BitLockerVolume' is not recognized as the name of a cmdlet", "not recognized"),
])
def test_unreadable_bitlocker_is_an_error(text: str, match: str) -> None:
    result = parsed(fill_disk_encryption, "bitlocker_on_ps51", bitlocker=CommandOutput(text, 0, None))
    assert "os_volume_encrypted" not in result.facts.get("disk_encryption", {})
    assert match in result.errors["/disk_encryption/os_volume_encrypted"]
    assert result.facts["disk_encryption"]["tpm"] == {"present": True, "ready": True}


def test_tpm_error_is_not_absence() -> None:
    text = "Get-CimInstance : Access denied \r\n    + FullyQualifiedErrorId : HRESULT 0x80041003\r\n"
    result = parsed(fill_disk_encryption, "bitlocker_on_ps51", tpm=CommandOutput(text, 0, None))
    assert "tpm" not in result.facts["disk_encryption"]
    assert "Access denied" in result.errors["/disk_encryption/tpm"]


# -- anti-malware ------------------------------------------------------------------------------------------------


def test_defender_on_and_fresh() -> None:
    result = parsed(fill_antimalware, "defender_ok_ps51")
    assert result.facts["antimalware"] == {"products": ["Microsoft Defender Antivirus"], "resident": True,
                                           "signature_age_days": 0}


def test_defender_stale_on_server_without_security_center() -> None:
    result = parsed(fill_antimalware, "defender_stale_server_ps51")
    assert result.facts["antimalware"] == {"products": ["Microsoft Defender Antivirus"], "resident": True,
                                           "signature_age_days": 12}
    assert result.errors == {}


def test_third_party_product_resident_and_age_manual() -> None:
    result = parsed(fill_antimalware, "third_party_ps51")
    assert result.facts["antimalware"]["products"] == ["Trend Micro Apex One"]
    assert result.facts["antimalware"]["resident"] is True
    assert "signature_age_days" not in result.facts["antimalware"]
    assert "Trend Micro Apex One (up to date)" in result.manual["/antimalware/signature_age_days"]


def test_defender_absent_ja_with_third_party_out_of_date() -> None:
    result = parsed(fill_antimalware, "defender_absent_third_party_ja")
    assert result.facts["antimalware"] == {"products": ["ESET Security"], "resident": True}
    assert "ESET Security (out of date)" in result.manual["/antimalware/signature_age_days"]


@pytest.mark.parametrize(("state", "resident"), [(0x041000, True), (0x040000, False), (0x042000, False),
                                                 (0x043000, False), (0x041010, True)])
def test_product_state_decoding(state: int, resident: bool) -> None:
    products = CommandOutput(f'{{"displayName": "Sophos Anti-Virus", "productState": {state}}}', 0, None)
    result = parsed(fill_antimalware, "defender_absent_third_party_ja", av_products=products)
    assert result.facts["antimalware"]["resident"] is resident


def test_both_sources_unreadable_is_an_error() -> None:
    cut = CommandOutput("", -1, "no output block: the batch ended before this command")
    result = parsed(fill_antimalware, "defender_stale_server_ps51", defender=cut)
    assert "antimalware" not in result.facts
    assert "no output block" in result.errors["/antimalware/resident"]
    assert "Invalid namespace" in result.errors["/antimalware/resident"]


def test_defender_off_without_other_product_is_not_resident() -> None:
    off = CommandOutput('{"AMServiceEnabled": true, "AntivirusEnabled": true, "RealTimeProtectionEnabled": false,'
                        ' "AntivirusSignatureAge": 3, "AntivirusSignatureLastUpdated": null}', 0, None)
    result = parsed(fill_antimalware, "defender_stale_server_ps51", defender=off)
    assert result.facts["antimalware"] == {"products": ["Microsoft Defender Antivirus"], "resident": False,
                                           "signature_age_days": 3}


def test_defender_never_updated_has_no_signatures() -> None:
    never = CommandOutput('{"AMServiceEnabled": true, "AntivirusEnabled": true, "RealTimeProtectionEnabled": true,'
                          ' "AntivirusSignatureAge": 65535, "AntivirusSignatureLastUpdated": null}', 0, None)
    result = parsed(fill_antimalware, "defender_stale_server_ps51", defender=never)
    assert result.facts["antimalware"]["signature_age_days"] is None


# -- firmware ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "expected"), [
    ("dell_admin_set", {"vendor": "Dell Inc.", "interface": "dell-wmi", "admin_password_set": True,
                        "power_on_password_set": False}),
    ("hp_none_set", {"vendor": "HP", "interface": "hp-wmi", "admin_password_set": False,
                     "power_on_password_set": False}),
    ("hewlett_packard_both_set", {"vendor": "Hewlett-Packard", "interface": "hp-wmi", "admin_password_set": True,
                                  "power_on_password_set": True}),
    ("lenovo_supervisor", {"vendor": "LENOVO", "interface": "lenovo-wmi", "admin_password_set": True,
                           "power_on_password_set": False}),
    ("lenovo_power_on_and_smp", {"vendor": "LENOVO", "interface": "lenovo-wmi", "admin_password_set": False,
                                 "power_on_password_set": True}),
])
def test_vendor_interfaces(case: str, expected: dict[str, object]) -> None:
    result = parsed(fill_firmware, case)
    assert result.facts["firmware"] == expected
    assert result.errors == {}
    assert result.manual == {}


@pytest.mark.parametrize(("case", "vendor"), [("hyperv_vm", "Microsoft Corporation"), ("vmware_vm", "VMware, Inc."),
                                              ("qemu_vm", "QEMU")])
def test_other_vendors_are_manual_never_a_value(case: str, vendor: str) -> None:
    result = parsed(fill_firmware, case)
    assert result.facts["firmware"] == {"vendor": vendor}
    assert vendor in result.manual["/firmware/admin_password_set"]
    assert "/firmware/power_on_password_set" in result.manual


def test_vendor_namespace_error_is_an_error() -> None:
    result = parsed(fill_firmware, "dell_namespace_error")
    assert result.facts["firmware"] == {"vendor": "Dell Inc."}
    assert "Invalid namespace" in result.errors["/firmware/admin_password_set"]


@pytest.mark.parametrize(("text", "match"), [
    ("", "no password objects"),
    ('[{"NameId": "System", "IsPasswordSet": 1}]', "'Admin'"),
    ('[{"NameId": "Admin", "IsPasswordSet": 2}, {"NameId": "System", "IsPasswordSet": 0}]', "not 0 or 1"),
    ('[{"NameId": "Admin", "IsPasswordSet": null}, {"NameId": "System", "IsPasswordSet": 0}]', "not an integer"),
])
def test_dell_unreadable_answers_are_errors(text: str, match: str) -> None:
    result = parsed(fill_firmware, "dell_admin_set", bios_dell=CommandOutput(text, 0, None))
    assert "admin_password_set" not in result.facts["firmware"]
    assert match in result.errors["/firmware/admin_password_set"]


def test_only_the_manufacturers_block_is_read() -> None:
    # a Lenovo answer on a Dell host is ignored: the Dell block decides
    lenovo = CommandOutput('{"PasswordState": 0}', 0, None)
    result = parsed(fill_firmware, "dell_admin_set", bios_lenovo=lenovo)
    assert result.facts["firmware"]["admin_password_set"] is True


def test_computer_block_error() -> None:
    result = parsed(fill_firmware, "dell_admin_set", computer=CommandOutput("", 0, "no end marker after line 9"))
    assert "firmware" not in result.facts
    assert set(result.errors) == {"/firmware/vendor", "/firmware/admin_password_set",
                                  "/firmware/power_on_password_set"}
