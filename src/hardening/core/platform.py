"""The platform contract every device family implements, and the registry that finds platforms.

A platform turns one host into a facts document. That is its only required capability (`Platform.collect`).
Everything else is optional and detected by protocol:

- `Remediator`: `plan` (a dry run a reviewer reads) and `apply` (an approved plan, with rollback), with the
  requirement ids the platform can fix. A printer that is check-only simply does not implement it, and its
  failing findings are listed as manual in a plan.
- `OfflineParser`: `parse(raw)`, the facts of a saved capture (a config backup, command outputs, a file
  tree) by pure functions on the auditor's side. `hardening audit --from` and the conformance suite
  (tests/platforms/) call it.
- `BatchPlanner`: `plan_many(targets, …)`, the dry run of many hosts at once (one ansible-playbook process).
- `Fetcher`: `fetch(target, into)` saves the raw capture of a live device in the layout `parse` reads.
  A platform with both need not write `collect` itself: `CapturePlatform.collect` is fetch, then parse.
- `ManualGuide`: `manual_steps(facts, requirement)`, what a person does on this very device (which page of its
  web administration, which setting) for a failing requirement no automated fix covers; the plan lists it, and
  the catalog's remediation text for the platform where the platform has nothing more specific.

Core, not the platform, stamps every facts document with the inventory's host, device class and platform and
validates it against schemas/facts.schema.json (`collect_facts`), for every platform alike.

Platforms register through the `hardening.platforms` entry-point group (as Nornir's plugins do), e.g. in a
package's pyproject.toml::

    [project.entry-points."hardening.platforms"]
    cisco_ios = "hardening_cisco.driver:IOSPlatform"

so a new platform is a new package plus data (requirement files, facts schema fields) and never an edit to
core. The core never branches on a platform name. docs/platforms.md is the guide.
"""

from __future__ import annotations

import functools
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from hardening.core.connections import ConnectionOptions
from hardening.core.errors import HardeningError, UnknownPlatformError
from hardening.core.facts import stamp
from hardening.core.models import DEVICE_CLASSES, Host
from hardening.core.secrets import Credentials

ENTRY_POINT_GROUP = "hardening.platforms"


class PlatformLoadError(HardeningError):
    """A registered platform cannot be used: its entry point does not load or breaks the contract."""


@dataclass(frozen=True)
class Target:
    """Everything a platform needs to reach one host. Credentials print as ***.

    `connections` holds the resolved options of every connection kind the platform declares
    (`Platform.connections`), built by hardening.core.run.build_target, the one place targets are made."""

    host: Host
    credentials: Credentials
    timeout: float
    connections: Mapping[str, ConnectionOptions] = field(default_factory=dict)
    # Where apply keeps this host's pre-change backup (mode 0600) so it survives a crash of this process.
    backup_file: Path | None = None
    # Filled by CapturePlatform.collect: the raw outputs it parsed (file name -> text, secrets masked).
    captures: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # NaN would remove the deadline (every comparison with it is false); 0 or less would end it at once.
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"{self.host.name}: time budget {self.timeout!r} is not a finite number of seconds "
                             "above 0")

    def connection(self, kind: str) -> ConnectionOptions:
        """The resolved options of one connection kind (defaults when the inventory sets none)."""
        options = self.connections.get(kind)
        if options is None:
            from hardening.core.connections import resolve

            options = resolve(kind, [], hostname=self.host.hostname, port=self.host.port)
        return options

    # The SSH kind's two settings, which the SSH transport and the Ansible bridge read.
    @property
    def known_hosts(self) -> str | None:
        value = self.connection("ssh").get("known_hosts")
        return str(value) if value else None

    @property
    def host_key_policy(self) -> str:
        return str(self.connection("ssh").get("host_key_policy") or "strict")


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
    """What apply did on one host. `failed` set = the host was restored to its prior files, or, with
    `untouched`, the failure came before anything was sent (no session, a refused login, a host that drifted
    since the plan, a backup that could not be taken): nothing to restore."""

    host: str
    applied: list[Change] = field(default_factory=list)
    failed: str | None = None
    rolled_back: bool = False
    rollback_problems: list[str] = field(default_factory=list)
    untouched: bool = False

    def refuse(self, reason: str) -> None:
        """Fail before any change reached the host."""
        self.failed = reason
        self.untouched = True


@runtime_checkable
class Platform(Protocol):
    """The required capability: collect -> facts. Raise CollectionError subclasses on failure."""

    name: ClassVar[str]
    device_classes: ClassVar[frozenset[str]]
    # The connection kinds (hardening.core.connections.KINDS) this platform reads options of, e.g. ("ssh",).
    connections: ClassVar[tuple[str, ...]]

    def collect(self, target: Target) -> dict[str, Any]:
        """The UNSTAMPED facts document of the host (schemas/facts.schema.json without host/device_class/
        platform): core stamps and validates it (collect_facts).

        Raises DeviceUnreachable, DeviceTimeout, AuthenticationFailed or ProbeError.
        """
        ...


@runtime_checkable
class Remediator(Protocol):
    """Optional capability: dry-run and apply the fixes of failing requirements."""

    # The requirement ids this platform can fix (the catalog's automation for this platform must agree).
    fixes: ClassVar[frozenset[str]]

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
class HostFixes(Protocol):
    """Optional part of remediation: which of the platform's `fixes` it can fix on ONE host, judged from that host's
    collected facts (a printer: only the settings its vendor's profile can write). `plan` fixes the intersection
    and lists the host's other failing requirements as manual, with their steps."""

    def fixes_on(self, facts: Mapping[str, Any]) -> frozenset[str]:
        """The requirement ids fixable on the host whose stamped facts document is `facts` (no contact)."""
        ...


@runtime_checkable
class ManualGuide(Protocol):
    """Optional capability: the steps a person takes on one device to make a failing requirement pass where no
    automated fix can (a printer's web-admin page and the setting on it), from the platform's data and the host's
    collected facts (e.g. its vendor). `hardening plan` lists them per host under `manual_steps`, falling back to
    the catalog's remediation text for the platform when this returns None; the requirement keeps failing until a
    re-audit or an attestation proves it."""

    def manual_steps(self, facts: Mapping[str, Any], requirement: str) -> dict[str, str] | None:
        """{"ja": …, "en": …} for `requirement` on the host whose stamped facts document is `facts`, or None
        (nothing more specific than the catalog). Must not contact the host: the plan is made from the audit."""
        ...


@runtime_checkable
class BatchPlanner(Protocol):
    """Optional part of remediation: the dry run of many hosts at once (Linux: one ansible-playbook process for all),
    {host: its changes, or the error of that host alone}. `plan` groups a run's hosts by platform and uses it where
    a platform has it; other platforms are planned host by host."""

    def plan_many(self, targets: Sequence[Target], fix_by_host: Mapping[str, Sequence[str]],
                  params_by_host: Mapping[str, Mapping[str, Any]], *,
                  workers: int) -> dict[str, list[Change] | HardeningError]:
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


@runtime_checkable
class Fetcher(Protocol):
    """Optional capability: save a live device's raw output (its configuration, command outputs) into `into`,
    in the layout the platform's `parse` reads, and nothing else. With `parse` it splits collection into
    fetch on the device and parse on the auditor's side."""

    def fetch(self, target: Target, into: Path) -> None:
        ...


class CapturePlatform:
    """A base for platforms made of fetch + parse: collect is fetch into a private folder, then parse.

    Facts only a live session gives (NTP associations, link state, listening sockets) are written by fetch
    as part of the capture; parse reads them when present and records them as not collected when absent."""

    def fetch(self, target: Target, into: Path) -> None:
        raise NotImplementedError

    def parse(self, raw: Path) -> dict[str, Any]:
        raise NotImplementedError

    def collect(self, target: Target) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="hardening-capture-") as folder:
            capture = Path(folder) / target.host.name
            capture.mkdir(mode=0o700)
            self.fetch(target, capture)
            document = self.parse(capture)
            from hardening.core.secrets import REDACTOR, mask_config_secrets
            for path in sorted(capture.iterdir()):
                if path.is_file():
                    text = path.read_text(encoding="utf-8", errors="replace")
                    target.captures[path.name] = REDACTOR.scrub(mask_config_secrets(text))
            return document


def collect_facts(platform: Platform, target: Target) -> dict[str, Any]:
    """Collect one host and stamp + validate the document (ProbeError naming the first invalid place)."""
    document = platform.collect(target)
    if not isinstance(document, dict):
        from hardening.core.errors import ProbeError

        raise ProbeError(target.host.name, f"platform {platform.name} returned {type(document).__name__}, "
                                           "not a facts document")
    return stamp(document, target.host, platform.name, f"{platform.name} facts")


def can_remediate(platform: Platform) -> bool:
    return isinstance(platform, Remediator)


@functools.cache
def _entry_points() -> dict[str, metadata.EntryPoint]:
    found: dict[str, metadata.EntryPoint] = {}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        # The first distribution on the path wins, as for any console script; a second one is ignored.
        found.setdefault(entry.name, entry)
    return found


def refresh_registry() -> None:
    """Forget what was found (after a package was installed or sys.path changed, e.g. in a test)."""
    _entry_points.cache_clear()
    _load.cache_clear()


def known_platforms() -> list[str]:
    """The names of every registered platform, sorted."""
    return sorted(_entry_points())


@functools.cache
def _load(name: str) -> type[Any]:
    entry = _entry_points().get(name)
    if entry is None:
        raise UnknownPlatformError(name, known_platforms())
    where = f"entry point {ENTRY_POINT_GROUP}:{name} = {entry.value}"
    try:
        cls = entry.load()
    except Exception as exc:
        raise PlatformLoadError(f"{where} does not load: {type(exc).__name__}: {exc}") from None
    problems = []
    if getattr(cls, "name", None) != name:
        problems.append(f"its name is {getattr(cls, 'name', None)!r}, not {name!r}")
    classes = getattr(cls, "device_classes", None)
    if not isinstance(classes, frozenset) or not classes or not classes <= set(DEVICE_CLASSES):
        problems.append(f"device_classes {classes!r} is not a non-empty frozenset of {', '.join(DEVICE_CLASSES)}")
    from hardening.core.connections import KINDS

    kinds = getattr(cls, "connections", None)
    if not isinstance(kinds, tuple) or not set(kinds) <= set(KINDS):
        problems.append(f"connections {kinds!r} is not a tuple of {', '.join(KINDS)}")
    if not callable(getattr(cls, "collect", None)):
        problems.append("it has no collect method")
    if callable(getattr(cls, "plan", None)) or callable(getattr(cls, "apply", None)):
        fixes = getattr(cls, "fixes", None)
        if not (callable(getattr(cls, "plan", None)) and callable(getattr(cls, "apply", None))
                and isinstance(fixes, frozenset)):
            problems.append("remediation needs plan, apply and a frozenset `fixes` together")
    if problems:
        raise PlatformLoadError(f"{where} breaks the platform contract: {'; '.join(problems)}")
    return cls  # type: ignore[no-any-return]


def platform_class(name: str) -> type[Any]:
    """The registered class of a platform (its declarations, without making a driver)."""
    return _load(name)


def get_platform(name: str) -> Platform:
    """The platform driver for a name; UnknownPlatformError lists the known ones."""
    driver: Platform = _load(name)()
    return driver
