"""Facts read from the registry keys the audit queries (`reg query`, parsed by regquery.py): the logon banner, the
Remote Desktop idle limit, the machine inactivity limit (screen lock), removable storage policy, LM hash and cached
logons, and the remote-access settings that send credentials or sessions unprotected (RDP without NLA or with the
RDP security layer, WinRM accepting unencrypted traffic).

A key that does not exist (`absent`) means no setting: the documented default applies (platform.yaml `defaults`,
each with its Microsoft source). A block that is an error, cut, or not `reg query` output makes the facts it would
give errors, never a value.
"""

from __future__ import annotations

from typing import Any

from hardening.platforms.common.netcli import Result
from hardening.platforms.windows.data import platform_data
from hardening.platforms.windows.pwsh import OutputFormatError
from hardening.platforms.windows.regquery import RegKey, RegQuery


def _root(query: RegQuery) -> RegKey:
    """The queried key, or an empty one when it does not exist (every value absent)."""
    return query.root if query.root is not None else RegKey(path="")


def _defaults() -> dict[str, Any]:
    return dict(platform_data()["defaults"])


def _registry(name: str) -> str:
    return str(platform_data()["registry"][name])


def _dword(key: RegKey, name: str) -> int | None:
    try:
        return key.dword(name)
    except ValueError as exc:
        raise OutputFormatError(str(exc)) from None


def _string(key: RegKey, name: str) -> str | None:
    try:
        return key.string(name)
    except ValueError as exc:
        raise OutputFormatError(str(exc)) from None


# -- login: banner, RDP idle limit; screen lock ---------------------------------------------------------------


def fill_banners(system: RegQuery, result: Result) -> None:
    """/login/banners and /login/banner: LegalNoticeCaption and LegalNoticeText (Interactive logon: message
    title/text), shown before every interactive logon, console and Remote Desktop alike. Both empty or absent:
    no banner (text null)."""
    key = _root(system)
    caption = (_string(key, "LegalNoticeCaption") or "").strip()
    text = (_string(key, "LegalNoticeText") or "").strip()
    banner = "\n".join(part for part in (caption, text) if part) or None
    source = _registry("system_policies")
    result.put("/login/banners", [{"surface": "gui", "context": str(platform_data()["banner_context"]),
                                   "source": source, "text": banner}])
    result.put("/login/banner", banner)
    result.cite("/login/banners", f"reg:{source}",
                [f"LegalNoticeCaption = {caption!r}", f"LegalNoticeText = {text[:300]!r}"])


def fill_idle_timeout(ts_policy: RegQuery, result: Result) -> None:
    """/login/idle_timeout: the Remote Desktop idle session limit (policy MaxIdleTime, milliseconds; 0 = never).
    From the policy key users cannot change it (readonly); it applies to every RDP session (exported). Unset:
    seconds null."""
    key = _root(ts_policy)
    value = _dword(key, "MaxIdleTime")
    source = _registry("ts_policy")
    if value is None:
        result.put("/login/idle_timeout", {"seconds": None, "readonly": False, "exported": True, "source": None})
    else:
        result.put("/login/idle_timeout", {"seconds": value // 1000, "readonly": True, "exported": True,
                                           "source": f"{source}\\MaxIdleTime"})
    result.cite("/login/idle_timeout", f"reg:{source}",
                [f"MaxIdleTime = {value if value is not None else '(absent)'}"])


def fill_screen_lock(system: RegQuery, result: Result) -> None:
    """/screen_lock: the machine inactivity limit (Interactive logon: Machine inactivity limit,
    InactivityTimeoutSecs): after that many idle seconds the session locks, whatever the user's screen saver.
    Absent or 0: no machine limit."""
    value = _dword(_root(system), "InactivityTimeoutSecs")
    result.put("/screen_lock", {"enabled": bool(value), "idle_seconds": value or None,
                                "enforced": value is not None and value > 0})
    result.cite("/screen_lock", f"reg:{_registry('system_policies')}",
                [f"InactivityTimeoutSecs = {value if value is not None else '(absent)'}"])


# -- removable storage -------------------------------------------------------------------------------------------


def fill_usb_storage(usbstor: RegQuery, removable: RegQuery, result: Result) -> None:
    """/removable_media/usb_storage_blocked: the USB mass-storage driver cannot start (USBSTOR Start = 4), or the
    removable storage policy denies all classes (Deny_All = 1) or both reading and writing removable disks."""
    start = _dword(_root(usbstor), "Start")
    deny_all = _dword(_root(removable), "Deny_All")
    disks = removable.key(f"{_registry('removable_storage')}\\{_registry('removable_disks_class')}")
    deny_read = _dword(disks, "Deny_Read") if disks is not None else None
    deny_write = _dword(disks, "Deny_Write") if disks is not None else None
    blocked = start == 4 or deny_all == 1 or (deny_read == 1 and deny_write == 1)
    result.put("/removable_media/usb_storage_blocked", blocked)
    result.cite("/removable_media/usb_storage_blocked", "reg:HKLM\\SYSTEM\\CurrentControlSet\\Services\\USBSTOR",
                [f"USBSTOR Start = {start if start is not None else '(absent)'}",
                 f"Deny_All = {deny_all if deny_all is not None else '(absent)'}",
                 f"Removable Disks Deny_Read = {deny_read}, Deny_Write = {deny_write}"])


# -- credential storage -----------------------------------------------------------------------------------------


def lm_hash_stored(lsa: RegQuery) -> tuple[bool, str]:
    """Whether an LM hash is kept for new passwords (NoLMHash != 1; absent: the documented default 1), and how
    that was decided."""
    value = _dword(_root(lsa), "NoLMHash")
    if value is None:
        value = int(_defaults()["no_lm_hash"])
        return value != 1, f"NoLMHash absent: the documented default {value} applies"
    return value != 1, f"NoLMHash = {value}"


def cached_logons(winlogon: RegQuery) -> tuple[int, str]:
    """CachedLogonsCount (a REG_SZ number; absent: the documented default 10). OutputFormatError for text that is
    not a number."""
    value = _string(_root(winlogon), "CachedLogonsCount")
    if value is None:
        default = int(_defaults()["cached_logons"])
        return default, f"CachedLogonsCount absent: the documented default {default} applies"
    if not value.strip().isdigit():
        raise OutputFormatError(f"CachedLogonsCount {value!r} is not a number")
    return int(value.strip()), f"CachedLogonsCount = {value.strip()}"


# -- remote access protocols ----------------------------------------------------------------------------------


def _effective(policy: RegKey, local: RegKey, name: str, default: int) -> tuple[int, str]:
    """A Remote Desktop setting: the policy key wins over the local configuration, then the documented default."""
    for key, where in ((policy, "policy"), (local, "local")):
        value = _dword(key, name)
        if value is not None:
            return value, f"{name} = {value} ({where})"
    return default, f"{name} absent: the documented default {default} applies"


def rdp_insecure(ts_policy: RegQuery, terminal_server: RegQuery, rdp_tcp: RegQuery) -> list[dict[str, str]]:
    """Remote Desktop accepts logons without Network Level Authentication (UserAuthentication 0) or with the RDP
    security layer alone (SecurityLayer 0: no TLS, the server is not authenticated); only when Remote Desktop
    accepts connections (fDenyTSConnections 0)."""
    defaults = _defaults()
    policy, server, listener = _root(ts_policy), _root(terminal_server), _root(rdp_tcp)
    deny, deny_how = _effective(policy, server, "fDenyTSConnections", int(defaults["deny_ts_connections"]))
    if deny == 1:
        return []
    found = []
    nla, nla_how = _effective(policy, listener, "UserAuthentication", int(defaults["rdp_user_authentication"]))
    if nla == 0:
        found.append({"protocol": "rdp_without_nla", "how": "configured", "detail": f"{nla_how}; {deny_how}"})
    layer, layer_how = _effective(policy, listener, "SecurityLayer", int(defaults["rdp_security_layer"]))
    if layer == 0:
        found.append({"protocol": "rdp_security_layer", "how": "configured", "detail": f"{layer_how}; {deny_how}"})
    return found


def winrm_insecure(winrm_policy: RegQuery) -> list[dict[str, str]]:
    """The WinRM service accepts unencrypted traffic (policy "Allow unencrypted traffic": AllowUnencryptedTraffic
    = 1; absent: the documented default 0)."""
    value = _dword(_root(winrm_policy), "AllowUnencryptedTraffic")
    if value is None:
        value = int(_defaults()["winrm_allow_unencrypted"])
    if value == 1:
        return [{"protocol": "winrm_unencrypted", "how": "configured",
                 "detail": "WinRM service policy AllowUnencryptedTraffic = 1"}]
    return []
