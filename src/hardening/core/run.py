"""The settings of one run, and the one place a Target (everything needed to reach a host) is built.

`audit`, `plan` and `apply` take one RunOptions instead of loose keywords; `build_target` resolves a host's
connection options (inventory host → groups → defaults, then the run's defaults) for every connection kind
its platform declares and looks up its credentials. Nothing else constructs a Target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardening.core.connections import KINDS, ConnectionOptions, resolve
from hardening.core.models import Host
from hardening.core.platform import Target, platform_class
from hardening.core.secrets import SecretStore

MAX_WORKERS = 1000


@dataclass(frozen=True)
class RunOptions:
    """How a run reaches hosts: per-host time budget (s), parallel workers, progress bar (None: only on a
    terminal), and the run's connection defaults per kind ({"ssh": {"known_hosts": …, "host_key_policy": …}}),
    which sit below everything the inventory sets."""

    timeout: float = 30.0
    workers: int = 20
    progress: bool | None = None
    connection_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"time budget {self.timeout!r} is not a finite number of seconds above 0")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ValueError(f"workers {self.workers} is not between 1 and {MAX_WORKERS}")
        unknown = set(self.connection_defaults) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown connection kind(s) {', '.join(sorted(unknown))} (known: {', '.join(KINDS)})")

    @classmethod
    def ssh(cls, *, timeout: float = 30.0, workers: int = 20, progress: bool | None = None,
            known_hosts: str | None = None, host_key_policy: str = "strict") -> RunOptions:
        """The command line's case: host keys of every SSH-based kind (the Linux probe's ssh, network devices'
        netmiko) checked against `known_hosts` with `host_key_policy`, unless the inventory says otherwise."""
        keys = {"known_hosts": known_hosts, "host_key_policy": host_key_policy}
        return cls(timeout=timeout, workers=workers, progress=progress,
                   connection_defaults={"ssh": dict(keys), "netmiko": dict(keys)})


def connection_options(host: Host, kinds: tuple[str, ...], run: RunOptions) -> dict[str, ConnectionOptions]:
    """The resolved options of each kind for `host`: its inventory layers, then the run's defaults."""
    return {
        kind: resolve(kind, host.connection_layers, hostname=host.hostname, port=host.port,
                      run_defaults=run.connection_defaults.get(kind))
        for kind in kinds
    }


def build_target(host: Host, secrets: SecretStore, run: RunOptions, *, backup_file: Path | None = None) -> Target:
    """The Target for one host (raises SecretError when its credentials cannot be found)."""
    kinds: tuple[str, ...] = platform_class(host.platform).connections
    return Target(host=host, credentials=secrets.credentials(host.credentials), timeout=run.timeout,
                  connections=connection_options(host, kinds, run), backup_file=backup_file)
