"""The platform contract every device family implements, and the explicit registry of platforms.

A platform turns one host into a facts document (collect), the failing findings into changes a
reviewer can read (plan), and an approved plan into changes on the device (apply). Everything that
differs between Linux, Windows, IOS, RTX, FortiGate and MFPs lives behind this Protocol; the core
never branches on a platform name. A new platform is a new package under hardening.platforms plus
one line in _REGISTRY and, where it has new kinds of facts, fields in schemas/facts.schema.json.
"""

from __future__ import annotations

import enum
import importlib
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from hardening.core.errors import UnknownPlatformError
from hardening.core.models import Finding, Host
from hardening.core.secrets import Credentials


@dataclass(frozen=True)
class Target:
    """Everything a platform needs to reach one host. Credentials print as ***."""

    host: Host
    credentials: Credentials
    timeout: float
    known_hosts: str | None = None
    host_key_policy: str = "strict"


@dataclass
class Change:
    """One reviewable change: a file/setting/config line, before and after (a unified diff)."""

    requirement: str
    target: str
    diff: str


@dataclass
class HostPlan:
    host: str
    fingerprint: str
    changes: list[Change] = field(default_factory=list)


@dataclass
class ApplyResult:
    host: str
    applied: list[Change] = field(default_factory=list)
    failed: str | None = None
    rolled_back: bool = False


@runtime_checkable
class Platform(Protocol):
    """collect -> facts; plan -> changes; apply -> result. Raise CollectionError subclasses on failure."""

    name: ClassVar[str]
    device_classes: ClassVar[frozenset[str]]

    def collect(self, target: Target) -> dict[str, Any]:
        """Return a facts document valid against schemas/facts.schema.json.

        Raises DeviceUnreachable, DeviceTimeout, AuthenticationFailed or ProbeError.
        """
        ...

    def plan(self, target: Target, findings: list[Finding]) -> HostPlan:
        """Return the changes that would fix the failing, automatable findings (dry run)."""
        ...

    def apply(self, target: Target, plan: HostPlan) -> ApplyResult:
        """Apply exactly the changes of an approved plan; restore the prior state on failure."""
        ...


class PlatformName(enum.StrEnum):
    LINUX = "linux"


# Explicit map: a platform exists when it is listed here (module:class), imported on first use.
_REGISTRY: dict[PlatformName, str] = {
    PlatformName.LINUX: "hardening.platforms.linux.driver:LinuxPlatform",
}


def known_platforms() -> list[str]:
    return [p.value for p in PlatformName]


def get_platform(name: str) -> Platform:
    """The platform driver for a name; UnknownPlatformError lists the known ones."""
    try:
        key = PlatformName(name)
    except ValueError:
        raise UnknownPlatformError(name, known_platforms()) from None
    module_name, _, class_name = _REGISTRY[key].partition(":")
    driver: Platform = getattr(importlib.import_module(module_name), class_name)()
    return driver
