"""Local accounts (`Get-LocalUser | Select-Object Name,Enabled,SID,PasswordRequired | ConvertTo-Json`): the
built-in administrator (the account whose SID ends in -500, whatever it is called), enabled accounts with a
generic administrator name, and enabled accounts that may have an empty password (PasswordRequired false).
https://learn.microsoft.com/powershell/module/microsoft.powershell.localaccounts/get-localuser
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hardening.platforms.windows.data import platform_data
from hardening.platforms.windows.pwsh import (
    CommandOutput,
    OutputFormatError,
    block_json,
    field,
    read_bool,
    sid_value,
)

USERS = "users"


@dataclass(frozen=True)
class LocalUser:
    name: str
    enabled: bool
    sid: str
    password_required: bool


def read_users(outputs: Mapping[str, CommandOutput]) -> list[LocalUser]:
    """The local users of the block. Raises OutputFormatError."""
    users = []
    for item in block_json(outputs, USERS):
        name = field(item, "Name")
        if not isinstance(name, str) or not name:
            raise OutputFormatError(f"`{USERS}`: a user without a name: {name!r}")
        users.append(LocalUser(name=name, enabled=read_bool(field(item, "Enabled"), f"{name}.Enabled"),
                               sid=sid_value(field(item, "SID")),
                               password_required=read_bool(field(item, "PasswordRequired"),
                                                           f"{name}.PasswordRequired")))
    return users


def generic_names() -> set[str]:
    return {str(name).casefold() for name in platform_data()["generic_admin_names"]}


def builtin_admin(users: list[LocalUser]) -> dict[str, object] | None:
    """{name, enabled, renamed} of the account whose SID ends in -500 (None when the list has none)."""
    admin = next((user for user in users if user.sid.endswith("-500")), None)
    if admin is None:
        return None
    return {"name": admin.name, "enabled": admin.enabled, "renamed": admin.name.casefold() not in generic_names()}


def generic_admin_names(users: list[LocalUser]) -> list[str]:
    """Enabled local accounts whose name is in the platform's generic administrator list, sorted."""
    generic = generic_names()
    return sorted(user.name for user in users if user.enabled and user.name.casefold() in generic)


def empty_password_accounts(users: list[LocalUser]) -> list[str]:
    """Enabled local accounts for which Windows does not require a password (PasswordRequired false), sorted."""
    return sorted(user.name for user in users if user.enabled and not user.password_required)
