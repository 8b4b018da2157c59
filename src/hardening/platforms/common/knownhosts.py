"""A known_hosts file read ONCE per run (per version of the file), indexed by host, for every SSH transport.

paramiko decodes every key of the file it is given, on every connection (`SSHClient.load_system_host_keys`: ~0.14 ms
a line, and its duplicate check is quadratic in the file): with 10,000 lines that is seconds per host, spent inside
the host's deadline. Here the file is read once per (path, mtime, size), its lines indexed by plain host name
(`name`, `[name]:port`, several names separated by commas) with the hashed ones (`|1|salt|hmac`) kept with their
salt decoded, and each connection gets only the lines paramiko's own lookup would match for it (the lookup name is
`host` on port 22, else `[host]:port`: paramiko's), decoded then. The check is unchanged: strict still refuses a
host without an entry, a changed key is still refused, the first entry of a key type is the one that counts (as in
paramiko's HostKeys.load).

Markers (OpenSSH sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
- ``@revoked``: the key is refused, for whichever host presents it (wider than OpenSSH's per-pattern scope: fail
  closed). A host entry carrying a revoked key is never handed to paramiko, and the host-key policies refuse a
  revoked key before anything is learned (accept-new does not re-learn it).
- ``@cert-authority``: host certificates are not supported by paramiko: such a line vouches for nothing (a host known
  only through it is an unknown host, refused under strict), and `cert_authority_for` lets the error say why.
Plain host patterns with wildcards (``*``, ``?``, ``!``) are not matched (paramiko does not match them either): a
host named only by a pattern is unknown, never accepted.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


def lookup_name(host: str, port: int) -> str:
    """The name paramiko looks a server up by: `host` on port 22, else `[host]:port`."""
    return host if port == 22 else f"[{host}]:{port}"


@dataclass(frozen=True)
class _Hashed:
    salt: bytes
    digest: bytes
    line: str


def _hashed(name: str) -> tuple[bytes, bytes] | None:
    """(salt, hmac) of a `|1|salt|hmac` name; None when malformed (it then matches nothing, as in paramiko)."""
    parts = name.split("|")
    if len(parts) != 4 or parts[1] != "1":
        return None
    try:
        return base64.b64decode(parts[2], validate=True), base64.b64decode(parts[3], validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass
class KnownHosts:
    """The index of one version of a known_hosts file."""

    path: str
    plain: dict[str, list[str]] = field(default_factory=dict)       # host name -> lines naming it, in file order
    hashed: list[_Hashed] = field(default_factory=list)
    revoked: frozenset[str] = frozenset()                           # "keytype base64" of every @revoked key
    authorities: list[str] = field(default_factory=list)           # host fields of @cert-authority lines
    order: dict[str, int] = field(default_factory=dict)            # line -> position (file order of the result)

    @classmethod
    def parse(cls, path: str, text: str) -> KnownHosts:
        index = cls(path)
        revoked: set[str] = set()
        for number, raw in enumerate(text.splitlines()):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split()
            if fields[0].startswith("@"):
                marker, fields = fields[0], fields[1:]
                if len(fields) >= 3 and marker == "@revoked":
                    revoked.add(f"{fields[1]} {fields[2]}")
                elif len(fields) >= 3 and marker == "@cert-authority":
                    index.authorities.append(fields[0])
                continue  # an unknown marker vouches for nothing (OpenSSH ignores the line too)
            if len(fields) < 3:
                continue
            index.order.setdefault(line, number)
            for name in fields[0].split(","):
                if name.startswith("|1|"):
                    decoded = _hashed(name)
                    if decoded is not None:
                        index.hashed.append(_Hashed(*decoded, line))
                else:
                    index.plain.setdefault(name, []).append(line)
        index.revoked = frozenset(revoked)
        return index

    def lines_for(self, name: str) -> list[str]:
        """The entry lines paramiko's lookup of `name` would match, in file order, without those of a revoked key."""
        found = dict.fromkeys(self.plain.get(name, ()))
        encoded = name.encode("utf-8")
        for entry in self.hashed:
            if hmac.compare_digest(hmac.digest(entry.salt, encoded, "sha1"), entry.digest):
                found.setdefault(entry.line)
        return sorted((line for line in found if not self.is_revoked_line(line)), key=lambda x: self.order[x])

    def is_revoked_line(self, line: str) -> bool:
        fields = line.split()
        return f"{fields[1]} {fields[2]}" in self.revoked

    def is_revoked(self, key_type: str, key_base64: str) -> bool:
        return f"{key_type} {key_base64}" in self.revoked

    def cert_authority_for(self, name: str) -> bool:
        """Whether a @cert-authority line names `name` literally (for the error message only: it is never trusted)."""
        return any(name in field_.split(",") for field_ in self.authorities)


_LOCK = threading.Lock()


@functools.lru_cache(maxsize=8)
def _read(path: str, mtime_ns: int, size: int) -> KnownHosts:
    return KnownHosts.parse(path, Path(path).read_text(encoding="utf-8", errors="replace"))


def load(path: str | Path) -> KnownHosts:
    """The index of `path` as it is now: read once per version (path, mtime, size) of the file, whatever the number of
    hosts that ask. Raises OSError when it cannot be read."""
    source = str(Path(path).expanduser())
    stat = Path(source).stat()
    with _LOCK:
        return _read(source, stat.st_mtime_ns, stat.st_size)


def entries_text(lines: Iterable[str]) -> str:
    return "".join(f"{line}\n" for line in lines)
