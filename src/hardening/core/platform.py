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
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from hardening.core.errors import UnknownPlatformError
from hardening.core.models import Host
from hardening.core.secrets import Credentials


@dataclass(frozen=True)
class Target:
    """Everything a platform needs to reach one host. Credentials print as ***."""

    host: Host
    credentials: Credentials
    timeout: float
    known_hosts: str | None = None
    host_key_policy: str = "strict"
    # Where apply keeps this host's pre-change backup (mode 0600) so it survives a crash of this process.
    backup_file: Path | None = None

    def __post_init__(self) -> None:
        # NaN would remove the deadline (every comparison with it is false); 0 or less would end it at once.
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"{self.host.name}: time budget {self.timeout!r} is not a finite number of seconds "
                             "above 0")


@dataclass(frozen=True)
class Change:
    """One reviewable change: which requirement, which step, what it touches, the unified diff."""

    requirement: str
    task: str
    target: str
    diff: str

    def key(self) -> tuple[str, str, str]:
        return (self.requirement, self.task, self.target)


@dataclass
class ApplyResult:
    """What apply did on one host. `failed` set = the host was restored to its prior files."""

    host: str
    applied: list[Change] = field(default_factory=list)
    failed: str | None = None
    rolled_back: bool = False
    rollback_problems: list[str] = field(default_factory=list)


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

    def plan(self, target: Target, fix: Sequence[str], parameters: Mapping[str, Any]) -> list[Change]:
        """Dry run: the changes that would make the `fix` requirements pass, changing nothing.

        Raises CollectionError subclasses, or ChangeError when the dry run itself fails.
        """
        ...

    def apply(self, target: Target, fix: Sequence[str], parameters: Mapping[str, Any],
              planned: Sequence[Change]) -> ApplyResult:
        """Apply the changes for `fix` after backing up every target in `planned`; on any failure
        restore the backup and return failed + rolled_back (never raise for a failure on the host)."""
        ...


@runtime_checkable
class OfflineParser(Protocol):
    """Optional capability: the facts of one host from a saved capture (a file tree, a config backup, a
    directory of command outputs), parsed on the auditor's side by pure functions, contacting nothing.

    `raw` is the host's capture directory exactly as `hardening audit --from DIR` lays it out
    (DIR/<host>/); the platform documents what it expects inside (Linux: raw/root/ is a copy of "/").
    The result is an UNSTAMPED facts document: core stamps it with the inventory's host, device class and
    platform and validates it (hardening.core.facts), for every platform alike. Facts only a running device
    can give are left out with an entry under `errors` (or `manual`), never a value, so they can never
    pass. Raise SavedFactsError when the capture is unusable. Every platform's conformance cases
    (tests/platforms/<platform>/cases/<case>/raw/) go through this very entry point.
    """

    def parse(self, raw: Path) -> dict[str, Any]:
        """The unstamped facts document (schemas/facts.schema.json) of the capture at `raw`, offline."""
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
