"""One apply at a time per plan and per host: advisory ``flock`` files beside the ledger.

A second apply of the same plan, or one that would touch a host another apply is changing, is refused at once
(never queued: the first may change what the second was approved for). Lock files stay in place: removing a
flock file while someone may be about to lock it would let two holders in.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hardening.core.errors import HardeningError

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")


class ApplyBusyError(HardeningError):
    """Another apply holds the plan or a host: refused, nothing changed."""


def lock_name(kind: str, name: str) -> str:
    """``<kind>-<name>.lock`` for a name safe as a file name, else ``<kind>-<sha256 prefix>.lock``."""
    safe = name if _SAFE.match(name) else hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
    return f"{kind}-{safe}.lock"


def try_flock(path: Path) -> tuple[int, str] | tuple[None, str]:
    """Take an exclusive flock on `path` (created 0600) without waiting: (fd, "") when taken (close the fd to release
    it), else (None, what the holder wrote into the file, at most 200 characters)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode("ascii", "replace")
        os.close(fd)
        return None, holder
    except BaseException:
        os.close(fd)
        raise
    return fd, ""


@contextmanager
def held(directory: Path, locks: list[tuple[str, str]]) -> Iterator[None]:
    """Hold every (kind, name) lock, in the given order, or raise ApplyBusyError naming the one that is taken."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fds: list[int] = []
    try:
        for kind, name in locks:
            path = directory / lock_name(kind, name)
            fd, holder = try_flock(path)
            if fd is None:
                holder = holder[:11].strip()
                by = f" (pid {holder})" if holder.isdigit() else ""
                raise ApplyBusyError(f"another apply holds {kind} {name!r}{by}, lock {path}: wait until it has "
                                     "finished; refused, nothing changed") from None
            fds.append(fd)
            with contextlib.suppress(OSError):  # who holds it, for the next one's message; the lock needs no space
                os.pwrite(fd, f"{os.getpid():>10}\n".encode("ascii"), 0)
        yield
    finally:
        for fd in fds:
            os.close(fd)
