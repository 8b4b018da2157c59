"""A Windows capture -> the shared normalised facts, by pure functions on the auditor's side.

`parse_outputs(outputs)` takes the blocks of one batch ({command id: CommandOutput}, the ids of platform.yaml's
`commands` table) and returns the facts Result. Each fact comes from the blocks named below; a block that is
missing, cut, an error record or not in its command's format makes the facts it would give errors (with the
reason), never a value. Facts only a running host gives (sockets, services, time synchronisation) come from the
live blocks, which a capture always holds since fetch runs the whole table.

| facts | blocks |
|---|---|
| /os | os |
| /password_policy, /login lockout | secpol ([System Access]), reg_sam (RelaxMinimumPasswordLengthLimits) |
| /login/banners, /login/banner, /screen_lock | reg_system_policies |
| /login/idle_timeout | reg_ts_policy (MaxIdleTime) |
| /accounts (builtin_admin, generic_admin_names) | users |
| /accounts/password_storage | reg_lsa (NoLMHash), reg_winlogon (CachedLogonsCount), secpol (ClearTextPassword), users |
| /management/insecure_protocols | services (Telnet, SNMP), smb, reg_winrm_policy, reg_ts_policy, |
|   | reg_terminal_server, reg_rdp_tcp |
| /services/prohibited_present | services, smb |
| /removable_media/usb_storage_blocked | reg_usbstor, reg_removable_storage |
| /network/exposed_sockets | listen_tcp, listen_udp, processes |
| /network/host_firewall | firewall |
| /time | w32tm_config, w32tm_status, now (time.fill_time) |
| /logging | eventlog_*, reg_event_forwarding, services (logs.fill_logging) |
| /disk_encryption, /antimalware, /firmware | bitlocker, tpm, defender, av_products, computer, bios_* (protect.py) |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hardening.platforms.common.netcli import Result
from hardening.platforms.windows import accounts, network, regfacts, secpol
from hardening.platforms.windows.logs import fill_logging
from hardening.platforms.windows.protect import fill_antimalware, fill_disk_encryption, fill_firmware
from hardening.platforms.windows.pwsh import CommandOutput, OutputFormatError, block_json, field
from hardening.platforms.windows.regquery import RegQuery, read_block
from hardening.platforms.windows.time import fill_time

Outputs = Mapping[str, CommandOutput]


def parse_outputs(outputs: Outputs) -> Result:
    """The facts of one capture's blocks (see the module docstring for which block gives which fact)."""
    result = Result()
    fill_os(outputs, result)
    policy = _policy(outputs)
    fill_account_policy(outputs, policy, result)
    fill_registry_facts(outputs, result)
    fill_accounts(outputs, policy, result)
    fill_services_and_protocols(outputs, result)
    fill_network(outputs, result)
    fill_time(outputs, result)
    fill_logging(outputs, result)
    fill_disk_encryption(outputs, result)
    fill_antimalware(outputs, result)
    fill_firmware(outputs, result)
    return result


# -- helpers ----------------------------------------------------------------------------------------------------


def _errors(result: Result, pointers: tuple[str, ...] | list[str], reason: str) -> None:
    for pointer in pointers:
        result.errors[pointer] = reason


def _guard(result: Result, pointers: tuple[str, ...], fill: Callable[[], None]) -> None:
    """Run `fill`; a block it cannot read makes every one of `pointers` an error (nothing half-filled stays)."""
    try:
        fill()
    except ValueError as exc:   # OutputFormatError, RegQueryError: the block is not what its command writes
        for pointer in pointers:
            _drop(result, pointer)
        _errors(result, pointers, str(exc))


def _drop(result: Result, pointer: str) -> None:
    parts = pointer.strip("/").split("/")
    node: Any = result.facts
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(parts[-1], None)


def _reg(outputs: Outputs, command_id: str) -> RegQuery:
    return read_block(outputs, command_id)


def _policy(outputs: Outputs) -> secpol.SecurityPolicy | str:
    """The security policy export, or why it cannot be read."""
    try:
        return secpol.read_policy(outputs)
    except OutputFormatError as exc:
        return str(exc)


# -- os ---------------------------------------------------------------------------------------------------------


def fill_os(outputs: Outputs, result: Result) -> None:
    """/os from Win32_OperatingSystem: family windows, name = Caption, version = Version, hostname = CSName."""
    def fill() -> None:
        items = block_json(outputs, "os")
        if len(items) != 1:
            raise OutputFormatError(f"`os`: {len(items)} objects, not one operating system")
        item = items[0]
        result.put("/os", {"family": "windows", "name": str(field(item, "Caption")).strip(),
                           "version": str(field(item, "Version")), "hostname": str(field(item, "CSName"))})
        result.cite("/os", "wmi:Win32_OperatingSystem",
                    [f"{name}: {item.get(name)}" for name in ("Caption", "Version", "BuildNumber", "CSName",
                                                              "OSLanguage", "ProductType")])
    _guard(result, ("/os",), fill)


# -- account policy -----------------------------------------------------------------------------------------------


def fill_account_policy(outputs: Outputs, policy: secpol.SecurityPolicy | str, result: Result) -> None:
    """/password_policy and the lockout facts of /login from the export; the length limit from the SAM key."""
    if isinstance(policy, str):
        _errors(result, secpol.PASSWORD_POINTERS + secpol.LOCKOUT_POINTERS, policy)
    else:
        secpol.fill_password_policy(policy, result)
        secpol.fill_lockout(policy, result)
    try:
        sam: RegQuery | None = _reg(outputs, "reg_sam")
        sam_error = None
    except ValueError as exc:
        sam, sam_error = None, str(exc)
    secpol.fill_length_limit(sam, sam_error, result)


# -- registry: banner, idle limit, screen lock, removable storage -------------------------------------------------


def fill_registry_facts(outputs: Outputs, result: Result) -> None:
    def system_policies() -> None:
        system = _reg(outputs, "reg_system_policies")
        regfacts.fill_banners(system, result)
        regfacts.fill_screen_lock(system, result)

    _guard(result, ("/login/banners", "/login/banner", "/screen_lock"), system_policies)
    _guard(result, ("/login/idle_timeout",),
           lambda: regfacts.fill_idle_timeout(_reg(outputs, "reg_ts_policy"), result))
    _guard(result, ("/removable_media/usb_storage_blocked",),
           lambda: regfacts.fill_usb_storage(_reg(outputs, "reg_usbstor"), _reg(outputs, "reg_removable_storage"),
                                             result))


# -- accounts -------------------------------------------------------------------------------------------------------


def fill_accounts(outputs: Outputs, policy: secpol.SecurityPolicy | str, result: Result) -> None:
    """/accounts: the built-in administrator, generic administrator names, and how passwords are stored."""
    users: list[accounts.LocalUser] | None = None
    try:
        users = accounts.read_users(outputs)
    except ValueError as exc:
        _errors(result, ("/accounts/builtin_admin", "/accounts/generic_admin_names",
                         "/accounts/password_storage/empty_password_accounts"), str(exc))
    if users is not None:
        admin = accounts.builtin_admin(users)
        if admin is None:
            result.errors["/accounts/builtin_admin"] = "`users`: no local account has a SID ending in -500"
        else:
            result.put("/accounts/builtin_admin", admin)
        result.put("/accounts/generic_admin_names", accounts.generic_admin_names(users))
        result.put("/accounts/password_storage/empty_password_accounts", accounts.empty_password_accounts(users))
        result.cite("/accounts", "Get-LocalUser",
                    [f"{u.name} enabled={u.enabled} sid=…{u.sid[-4:]} password_required={u.password_required}"
                     for u in users])
    _guard(result, ("/accounts/password_storage/lm_hash_stored", "/accounts/password_storage/hash_methods"),
           lambda: _fill_hash_methods(outputs, policy, result))
    _guard(result, ("/accounts/password_storage/cached_logons",), lambda: _fill_cached_logons(outputs, result))
    result.put("/accounts/password_storage/weak_hash_accounts", [])


def _fill_hash_methods(outputs: Outputs, policy: secpol.SecurityPolicy | str, result: Result) -> None:
    """NoLMHash decides whether an LM hash is stored next to the NT hash; ClearTextPassword = 1 adds reversible
    encryption."""
    stored, how = regfacts.lm_hash_stored(_reg(outputs, "reg_lsa"))
    result.put("/accounts/password_storage/lm_hash_stored", stored)
    result.cite("/accounts/password_storage/lm_hash_stored", "reg:HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa",
                [how])
    if isinstance(policy, str):
        result.errors["/accounts/password_storage/hash_methods"] = policy
        return
    methods = [{"source": "NoLMHash", "method": "lm" if stored else "nt"}]
    if secpol.reversible_encryption(policy):
        methods.append({"source": "ClearTextPassword", "method": "reversible"})
    result.put("/accounts/password_storage/hash_methods", methods)


def _fill_cached_logons(outputs: Outputs, result: Result) -> None:
    count, how = regfacts.cached_logons(_reg(outputs, "reg_winlogon"))
    result.put("/accounts/password_storage/cached_logons", count)
    result.cite("/accounts/password_storage/cached_logons",
                "reg:HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon", [how])


# -- services and management protocols -----------------------------------------------------------------------------


def fill_services_and_protocols(outputs: Outputs, result: Result) -> None:
    """/services/prohibited_present (prohibited services, SMB 1) and /management/insecure_protocols (Telnet and
    SNMP servers, SMB 1, WinRM unencrypted, RDP without NLA or TLS). Each list is whole or an error: a part that
    cannot be read would hide what it would have added."""
    prohibited: list[dict[str, str]] = []
    insecure: list[dict[str, str]] = []
    service_problem = protocol_problem = None
    try:
        for item, entry in network.prohibited_services(network.read_services(outputs)):
            prohibited.append(item)
            if entry.get("insecure_protocol"):
                insecure.append({"protocol": str(entry["insecure_protocol"]), "how": item["how"],
                                 "detail": item["detail"]})
    except ValueError as exc:
        service_problem = protocol_problem = str(exc)
    try:
        if network.smb1_enabled(outputs):
            detail = "Get-SmbServerConfiguration: EnableSMB1Protocol True"
            prohibited.append({"name": "smb1", "how": "enabled", "detail": detail})
            insecure.append({"protocol": "smb1", "how": "enabled", "detail": detail})
    except ValueError as exc:
        service_problem = protocol_problem = "; ".join(filter(None, (service_problem, str(exc))))
    try:
        insecure.extend(regfacts.winrm_insecure(_reg(outputs, "reg_winrm_policy")))
        insecure.extend(regfacts.rdp_insecure(_reg(outputs, "reg_ts_policy"), _reg(outputs, "reg_terminal_server"),
                                              _reg(outputs, "reg_rdp_tcp")))
    except ValueError as exc:
        protocol_problem = "; ".join(filter(None, (protocol_problem, str(exc))))
    if service_problem:
        result.errors["/services/prohibited_present"] = service_problem
    else:
        result.put("/services/prohibited_present", prohibited)
    if protocol_problem:
        result.errors["/management/insecure_protocols"] = protocol_problem
    else:
        result.put("/management/insecure_protocols", insecure)


# -- network --------------------------------------------------------------------------------------------------------


def fill_network(outputs: Outputs, result: Result) -> None:
    _guard(result, ("/network/exposed_sockets",),
           lambda: result.put("/network/exposed_sockets", network.read_exposed_sockets(outputs)))
    _guard(result, ("/network/host_firewall",),
           lambda: result.put("/network/host_firewall", {"profiles": network.read_firewall(outputs)}))
