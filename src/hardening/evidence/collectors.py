"""The trusted registry of zone collectors (inventory/collectors.yaml, schemas/collectors.schema.json).

A collector runs inside one zone's network (基幹系, LGWAN接続系, インターネット接続系 are separated by policy) and
signs the evidence bundles of its runs with an Ed25519 key made and loaded as the approvers' keys are
(core/signing.py). The registry holds each collector's public key and the zones it may report: it is the root
of trust of `verify` and `import`, never anything inside a bundle."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hardening.core import signing
from hardening.core.errors import HardeningError, InputError
from hardening.core.schemas import check, project_root, validator
from hardening.core.yamlio import LoadedYaml

SCHEMA = "collectors.schema.json"


class CollectorRegistryError(InputError):
    """collectors.yaml is invalid: names the file, the JSON pointer and the line."""


class CollectorKeyError(HardeningError):
    """A collector key cannot be created or loaded (missing, wrong passphrase, not Ed25519, readable by others)."""


@dataclass(frozen=True)
class Collector:
    name: str
    public_key: Ed25519PublicKey = field(repr=False)
    zones: tuple[str, ...]
    description: str = ""

    def may_report(self, zone: str) -> bool:
        return zone in self.zones


@dataclass(frozen=True)
class Collectors:
    collectors: Mapping[str, Collector]
    source: str = "collectors.yaml"

    def get(self, name: str) -> Collector | None:
        return self.collectors.get(name)

    def by_key(self, raw: bytes) -> Collector | None:
        """The collector whose public key this is (raw 32 bytes)."""
        return next((c for c in self.collectors.values() if signing.raw_public_key(c.public_key) == raw), None)


def default_registry_path() -> Path:
    """$HARDENING_COLLECTORS, else inventory/collectors.yaml of the project."""
    env = os.environ.get("HARDENING_COLLECTORS")
    return Path(env) if env else project_root() / "inventory" / "collectors.yaml"


def parse_collectors(data: Any, source: str, loaded: LoadedYaml | None = None) -> Collectors:
    """A Collectors registry from parsed data (schema-checked here); CollectorRegistryError names source/place."""
    check(data, validator(SCHEMA), source, CollectorRegistryError, loaded)

    def where(parts: list[str | int]) -> str:
        return loaded.where(parts) if loaded is not None else "/" + "/".join(str(p) for p in parts)

    found: dict[str, Collector] = {}
    owner: dict[bytes, str] = {}
    for name, entry in data["collectors"].items():
        try:
            key = signing.parse_public_key(entry["public_key"])
        except ValueError as exc:
            raise CollectorRegistryError(source, where(["collectors", name, "public_key"]),
                                         f"{exc} (expected 'ssh-ed25519 AAAA…' or a PEM public key)") from None
        raw = signing.raw_public_key(key)
        if raw in owner:
            raise CollectorRegistryError(source, where(["collectors", name, "public_key"]),
                                         f"same public key as collector {owner[raw]!r}: one key per collector")
        owner[raw] = name
        found[name] = Collector(name, key, tuple(entry["zones"]), entry.get("description", ""))
    return Collectors(found, source)


def load_collectors(path: str | os.PathLike[str] | None = None) -> Collectors:
    """Load and validate collectors.yaml (default: default_registry_path()). Raises CollectorRegistryError."""
    file = Path(path) if path is not None else default_registry_path()
    if not file.is_file():
        raise CollectorRegistryError(str(file), "/", "collector registry not found")
    loaded = signing.load_trust_yaml(file, CollectorRegistryError)
    return parse_collectors(loaded.data, str(file), loaded)


def generate_collector_key(name: str, directory: str | os.PathLike[str],
                           passphrase: str | bytes | None = None) -> tuple[Path, Path]:
    """``<name>.key`` (0600) and ``<name>.pub`` for a collector; the .pub line goes into collectors.yaml."""
    return signing.generate_keypair(name, directory, passphrase, kind="collector", error=CollectorKeyError)


def load_collector_key(path: str | os.PathLike[str], passphrase: str | bytes | None = None) -> Any:
    """A collector's private key (signing.load_private_key: mode 0600 required, Ed25519 only)."""
    return signing.load_private_key(path, passphrase, error=CollectorKeyError)
