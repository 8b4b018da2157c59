"""One error hierarchy. Messages never carry secrets: they name files, places and hosts."""

from __future__ import annotations


class HardeningError(Exception):
    """Root of every error this project raises on purpose."""


class InputError(HardeningError):
    """Bad input (inventory, site parameters, catalog, waivers, plan): names the file and the place in it."""

    def __init__(self, file: str, where: str, message: str) -> None:
        self.file = file
        self.where = where or "/"
        self.message = message
        super().__init__(f"{file}: at {self.where}: {message}")


class InventoryError(InputError):
    """The inventory, the site parameters or the systems table is invalid."""


class CatalogError(InputError):
    """A requirement document is invalid."""


class WaiverError(InputError):
    """The waivers file is invalid."""


class OutputError(HardeningError):
    """A file this tool writes (report, facts, plan) could not be written: names the path and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot write {path}: {reason}")


class SecretError(HardeningError):
    """A secret could not be resolved. The message names the reference, never the value."""


class UnknownPlatformError(HardeningError, KeyError):
    """A host names a platform this project does not implement."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown platform {name!r}; known platforms: {', '.join(known)}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class CollectionError(HardeningError):
    """Facts could not be collected from a host."""

    def __init__(self, host: str, message: str) -> None:
        self.host = host
        self.message = message
        super().__init__(f"{host}: {message}")


class DeviceUnreachable(CollectionError, ConnectionError):
    """The host did not answer or refused the connection."""


class DeviceTimeout(CollectionError, TimeoutError):
    """The host answered but the collection did not finish in time."""


class AuthenticationFailed(CollectionError, PermissionError):
    """The host refused our credentials (or privilege escalation)."""


class ChangeError(CollectionError):
    """A dry run or an apply could not run on a host (not a drift: the change machinery failed)."""


class ProbeError(CollectionError):
    """The probe ran but its output was unusable (non-zero exit, not JSON, not valid facts)."""


class SavedFactsError(CollectionError):
    """An offline audit's saved facts or saved file tree for a host is missing, unreadable, altered or
    not this host's (the host is an error, never a pass)."""
