"""A scheduled job's file (schemas/job.schema.json): read, validated, paths resolved, or one InputError naming the
file and the place in it. Nothing runs before the whole file is known good."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hardening.core.errors import InputError
from hardening.core.schemas import check, validator
from hardening.core.scope import Selection
from hardening.core.yamlio import LoadedYaml, load_yaml
from hardening.report.outputs import DEFAULT_FORMATS, FORMATS

SCHEMA = "job.schema.json"


class JobFileError(InputError):
    """A job file is missing, not YAML, or not valid against schemas/job.schema.json."""


@dataclass(frozen=True)
class Relay:
    """The SMTP relay of a job's notifications (STARTTLS always; AUTH when `credentials` names a vault entry)."""

    host: str
    port: int = 587
    ca_file: Path | None = None
    credentials: str | None = None
    timeout: float = 60.0


@dataclass(frozen=True)
class Notify:
    relay: Relay
    sender: str
    to: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default: tuple[str, ...] = ()
    attach: bool = True

    def addresses(self, manager: str) -> tuple[str, ...]:
        """The manager's addresses (`to`, else `default`); empty: nobody to tell."""
        return self.to.get(manager, self.default)


@dataclass(frozen=True)
class Job:
    path: Path
    name: str
    selection: Selection
    output: Path
    formats: tuple[str, ...] = DEFAULT_FORMATS
    inventory: Path | None = None
    catalog: Path | None = None
    waivers: Path | None = None
    approvers: Path | None = None
    offline_from: Path | None = None
    history: str | None = None
    ledger: Path | None = None
    plan: bool = False
    lang: str = "ja"
    timeout: float = 30.0
    workers: int = 20
    known_hosts: str | None = None
    host_key_policy: str = "strict"
    notify: Notify | None = None


def _addresses(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _notify(data: dict[str, Any], resolve: Any) -> Notify | None:
    if data is None:
        return None
    smtp = data["smtp"]
    relay = Relay(host=smtp["host"], port=int(smtp.get("port", 587)), ca_file=resolve(smtp.get("ca_file")),
                  credentials=smtp.get("credentials"), timeout=float(smtp.get("timeout", 60)))
    return Notify(relay=relay, sender=data["from"],
                  to={manager: _addresses(value) for manager, value in (data.get("to") or {}).items()},
                  default=_addresses(data.get("default")), attach=bool(data.get("attach", True)))


def load_job(path: Path) -> Job:
    """Read and validate a job file; relative paths are taken from the file's directory. Raises JobFileError
    naming the file, the JSON pointer and the line."""
    path = Path(path)
    loaded: LoadedYaml = load_yaml(path, JobFileError)
    data = loaded.data
    check(data, validator(SCHEMA), str(path), JobFileError, loaded)
    unknown = [i for i, name in enumerate(data.get("formats") or []) if name not in FORMATS]
    if unknown:
        name = data["formats"][unknown[0]]
        raise JobFileError(str(path), loaded.where(["formats", unknown[0]]),
                           f"unknown report format {name!r} (known: {', '.join(FORMATS)})")
    base = path.parent

    def resolve(value: str | None) -> Path | None:
        return None if value is None else base / value

    scope = data.get("scope") or {}
    formats = tuple(data.get("formats") or DEFAULT_FORMATS)
    return Job(
        path=path,
        name=data["name"],
        selection=Selection(**{key: list(value) for key, value in scope.items()}),
        output=base / data["output"],
        formats=formats if "json" in formats else ("json", *formats),
        inventory=resolve(data.get("inventory")),
        catalog=resolve(data.get("catalog")),
        waivers=resolve(data.get("waivers")),
        approvers=resolve(data.get("approvers")),
        offline_from=resolve(data.get("from")),
        history=_history_location(data.get("history"), path),
        ledger=resolve(data.get("ledger")),
        plan=bool(data.get("plan", False)),
        lang=data.get("lang", "ja"),
        timeout=float(data.get("timeout", 30.0)),
        workers=int(data.get("workers", 20)),
        known_hosts=str(resolve(data["known_hosts"])) if data.get("known_hosts") else None,
        host_key_policy=data.get("host_key_policy", "strict"),
        notify=_notify(data.get("notify"), resolve),
    )


def _history_location(value: str | None, path: Path) -> str | None:
    """A database URL as written; a SQLite file relative to the job file's directory."""
    if value is None:
        return None
    if "://" in value:
        try:
            password = urlsplit(value).password
        except ValueError:
            password = None
        if password:
            raise JobFileError(str(path), "/history", "a database URL with a password: keep the password in "
                               "PGPASSFILE or HARDENING_HISTORY_PASSWORD, never in the job file")
        return value
    return str(path.parent / value)
