"""The protection facts of a Windows host: BitLocker on the OS volume and the TPM (disk_encryption), Microsoft
Defender or another registered anti-virus product (antimalware), and the BIOS/UEFI passwords through the
manufacturer's WMI interface (firmware). Tables (enums, vendors, productState bits) are platform.yaml data.

- disk_encryption: os_volume_encrypted = VolumeStatus FullyEncrypted (EncryptionInProgress is not yet);
  protection_on = ProtectionStatus On (suspended protection leaves the key in the clear); method = the
  EncryptionMethod name (null for None); tpm.present = Win32_Tpm has an instance (no TPM: the query returns
  nothing), tpm.ready = enabled, activated and owned.
- antimalware: Defender is resident when AMServiceEnabled and RealTimeProtectionEnabled; another product from
  SecurityCenter2 when its productState says on. signature_age_days: Defender's AntivirusSignatureAge when
  Defender is the resident scanner (or no other product is); a third-party product reports only up to date /
  out of date, never an age: manual. SecurityCenter2 does not exist on Windows Server (an error block there is
  not a failure when Defender answers).
- firmware: the block of the vendor Win32_ComputerSystem.Manufacturer names; any other vendor is manual.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hardening.platforms.common.netcli import Result
from hardening.platforms.windows.data import platform_data, section
from hardening.platforms.windows.pwsh import (
    CommandOutput,
    OutputFormatError,
    block_json,
    enum_name,
    field,
    read_bool,
    read_int,
)

BITLOCKER, TPM, DEFENDER, AV_PRODUCTS, COMPUTER = "bitlocker", "tpm", "defender", "av_products", "computer"


# -- disk encryption ---------------------------------------------------------------------------------------------


def fill_disk_encryption(out: Mapping[str, CommandOutput], result: Result) -> None:
    """Fill /disk_encryption/* from Get-BitLockerVolume (OS volume) and Win32_Tpm."""
    enums = section("enums")
    pointers = ("/disk_encryption/os_volume_encrypted", "/disk_encryption/protection_on", "/disk_encryption/method")
    try:
        volumes = block_json(out, BITLOCKER)
        if len(volumes) != 1:
            raise OutputFormatError(f"`{BITLOCKER}`: {len(volumes)} volumes for the system drive, not 1")
        volume = volumes[0]
        status = enum_name(field(volume, "VolumeStatus"), enums["bitlocker_volume_status"])
        protection = enum_name(field(volume, "ProtectionStatus"), enums["bitlocker_protection_status"])
        method = enum_name(field(volume, "EncryptionMethod"), enums["bitlocker_encryption_method"])
    except OutputFormatError as exc:
        result.errors.update(dict.fromkeys(pointers, str(exc)))
    else:
        result.put(pointers[0], status == "FullyEncrypted")
        result.put(pointers[1], protection == "On")
        result.put(pointers[2], None if method == "None" else method)
        percentage = volume.get("EncryptionPercentage")
        result.cite(pointers[0], "Get-BitLockerVolume",
                    [f"MountPoint {volume.get('MountPoint')}: VolumeStatus {status}, ProtectionStatus {protection}, "
                     f"EncryptionMethod {method}, EncryptionPercentage {percentage}"])
    _fill_tpm(out, result)


def _fill_tpm(out: Mapping[str, CommandOutput], result: Result) -> None:
    pointer = "/disk_encryption/tpm"
    try:
        tpms = block_json(out, TPM)
        if len(tpms) > 1:
            raise OutputFormatError(f"`{TPM}`: {len(tpms)} Win32_Tpm instances")
        ready = bool(tpms) and all(read_bool(field(tpms[0], name), name) for name in (
            "IsEnabled_InitialValue", "IsActivated_InitialValue", "IsOwned_InitialValue"))
    except OutputFormatError as exc:
        result.errors[pointer] = str(exc)
        return
    result.put(pointer, {"present": bool(tpms), "ready": ready})
    result.cite(pointer, "Get-CimInstance Win32_Tpm",
                [", ".join(f"{k} {v}" for k, v in tpms[0].items())] if tpms else ["(no Win32_Tpm instance)"])


# -- anti-malware ------------------------------------------------------------------------------------------------


def _defender(out: Mapping[str, CommandOutput]) -> dict[str, Any] | None:
    """Defender's status (None when Get-MpComputerStatus returned nothing: Defender not running/installed).
    Raises OutputFormatError."""
    items = block_json(out, DEFENDER)
    if not items:
        return None
    if len(items) != 1:
        raise OutputFormatError(f"`{DEFENDER}`: {len(items)} status objects")
    item = items[0]
    return {"service": read_bool(field(item, "AMServiceEnabled"), "AMServiceEnabled"),
            "realtime": read_bool(field(item, "RealTimeProtectionEnabled"), "RealTimeProtectionEnabled"),
            "age": read_int(field(item, "AntivirusSignatureAge"), "AntivirusSignatureAge")}


def _products(out: Mapping[str, CommandOutput], settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """SecurityCenter2's anti-virus products: name, on, out_of_date, state. Raises OutputFormatError."""
    products = []
    for item in block_json(out, AV_PRODUCTS):
        name = field(item, "displayName")
        state = read_int(field(item, "productState"), "productState")
        if not isinstance(name, str) or not name.strip():
            raise OutputFormatError(f"`{AV_PRODUCTS}`: a product without a displayName")
        products.append({
            "name": name.strip(), "state": state,
            "on": state & int(settings["product_state_mask"]) == int(settings["product_state_on"]),
            "out_of_date": bool(state & int(settings["signatures_out_of_date_bit"]))})
    return products


def fill_antimalware(out: Mapping[str, CommandOutput], result: Result) -> None:
    """Fill /antimalware/products, resident, signature_age_days (see the module docstring)."""
    settings = section("antimalware")
    pointers = ("/antimalware/products", "/antimalware/resident", "/antimalware/signature_age_days")
    defender: dict[str, Any] | None = None
    products: list[dict[str, Any]] | None = None
    reasons = []
    try:
        defender = _defender(out)
    except OutputFormatError as exc:
        reasons.append(str(exc))
    try:
        products = _products(out, settings)
    except OutputFormatError as exc:
        reasons.append(str(exc))
    if reasons and defender is None and not products:
        # A source failed and the other shows no product: a product that is there might be missed.
        result.errors.update(dict.fromkeys(pointers, "; ".join(reasons)))
        return
    products = products or []
    defender_names = {str(n).lower() for n in settings["defender_names"]}
    others = [p for p in products if p["name"].lower() not in defender_names]
    defender_on = defender is not None and defender["service"] and defender["realtime"]
    names = [p["name"] for p in others]
    if defender is not None and defender["service"]:
        names.insert(0, str(settings["defender_name"]))
    result.put(pointers[0], names)
    result.put(pointers[1], defender_on or any(p["on"] for p in others))
    result.cite(pointers[1], "Get-MpComputerStatus / SecurityCenter2 AntiVirusProduct",
                ([f"Defender: AMServiceEnabled {defender['service']}, RealTimeProtectionEnabled "
                  f"{defender['realtime']}, AntivirusSignatureAge {defender['age']}"] if defender else
                 ["Defender: no status"])
                + [f"{p['name']}: productState {p['state']:#08x}" for p in others])
    _fill_signature_age(result, settings, defender, defender_on, others)


def _fill_signature_age(result: Result, settings: Mapping[str, Any], defender: dict[str, Any] | None,
                        defender_on: bool, others: list[dict[str, Any]]) -> None:
    pointer = "/antimalware/signature_age_days"
    active = [p for p in others if p["on"]]
    if defender is not None and (defender_on or not active) and defender["service"]:
        never = defender["age"] >= int(settings["signature_age_never"])
        result.put(pointer, None if never else defender["age"])
        return
    if active:
        states = ", ".join(f"{p['name']} ({'out of date' if p['out_of_date'] else 'up to date'})" for p in active)
        result.manual[pointer] = (f"the resident product reports only whether its signatures are up to date to "
                                  f"Windows Security Center, not their age: {states}; check the age in its console")
        return
    result.put(pointer, None)   # no product with signatures at all


# -- firmware ----------------------------------------------------------------------------------------------------

FIRMWARE = ("/firmware/admin_password_set", "/firmware/power_on_password_set")


def vendor_entry(manufacturer: str) -> dict[str, Any] | None:
    """The platform.yaml firmware_vendors entry for a Win32_ComputerSystem.Manufacturer (None: no interface)."""
    for entry in platform_data()["firmware_vendors"]:
        if manufacturer.strip().lower() in {str(m).lower() for m in entry["manufacturers"]}:
            return dict(entry)
    return None


def fill_firmware(out: Mapping[str, CommandOutput], result: Result) -> None:
    """Fill /firmware/* through the manufacturer's WMI block; another manufacturer → manual, never a value."""
    try:
        computers = block_json(out, COMPUTER)
        if len(computers) != 1:
            raise OutputFormatError(f"`{COMPUTER}`: {len(computers)} Win32_ComputerSystem objects")
        manufacturer = field(computers[0], "Manufacturer")
        if not isinstance(manufacturer, str) or not manufacturer.strip():
            raise OutputFormatError(f"`{COMPUTER}`: no Manufacturer")
    except OutputFormatError as exc:
        result.errors.update(dict.fromkeys(("/firmware/vendor", *FIRMWARE), str(exc)))
        return
    result.put("/firmware/vendor", manufacturer.strip())
    entry = vendor_entry(manufacturer)
    if entry is None:
        why = (f"manufacturer {manufacturer.strip()!r} has no BIOS/UEFI password interface this tool reads (Dell, HP "
               "and Lenovo WMI only; a virtual machine's firmware has none): check the firmware setup by hand")
        result.manual.update(dict.fromkeys(FIRMWARE, why))
        return
    try:
        states = _vendor_states(out, entry)
    except OutputFormatError as exc:
        result.errors.update(dict.fromkeys(FIRMWARE, str(exc)))
        return
    result.put("/firmware/interface", str(entry["interface"]))
    for fact, value in states.items():
        result.put(f"/firmware/{fact}", value)
    result.cite(FIRMWARE[0], f"{entry['command']} ({entry['interface']})",
                [f"{fact}: {value}" for fact, value in states.items()])


def _vendor_states(out: Mapping[str, CommandOutput], entry: Mapping[str, Any]) -> dict[str, bool]:
    command = str(entry["command"])
    items = block_json(out, command)
    if not items:
        raise OutputFormatError(f"`{command}`: the {entry['interface']} interface returned no password objects")
    passwords: Mapping[str, Any] = entry["passwords"]
    if entry["interface"] == "lenovo-wmi":
        if len(items) != 1:
            raise OutputFormatError(f"`{command}`: {len(items)} Lenovo_BiosPasswordSettings objects")
        bits = read_int(field(items[0], "PasswordState"), "PasswordState")
        return {fact: bool(bits & int(bit)) for fact, bit in passwords.items()}
    name_field, set_field = ("NameId", "IsPasswordSet") if entry["interface"] == "dell-wmi" else ("Name", "IsSet")
    by_name = {str(field(item, name_field)).strip().lower(): field(item, set_field) for item in items}
    states = {}
    for fact, name in passwords.items():
        if str(name).lower() not in by_name:
            raise OutputFormatError(f"`{command}`: no {name_field} {name!r} among {sorted(by_name)}")
        states[fact] = _is_set(by_name[str(name).lower()], f"{name} {set_field}")
    return states


def _is_set(value: Any, what: str) -> bool:
    """IsPasswordSet/IsSet: a uint32 1/0 (or a boolean)."""
    if isinstance(value, bool):
        return value
    number = read_int(value, what)
    if number not in (0, 1):
        raise OutputFormatError(f"{what} is {number}, not 0 or 1")
    return number == 1
