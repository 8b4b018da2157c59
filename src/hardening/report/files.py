"""Atomic file writes: the reports, and the plan, approval and result files of change control."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from hardening.core.errors import OutputError


def atomic_write(path: Path | str, data: str | Iterable[str], encoding: str = "utf-8", *,
                 mode: int = 0o600) -> None:
    """Write `data` to `path` through a temporary file in the same directory, fsync and a rename: a run that
    dies halfway (or a full disk) leaves the previous file, never half of a new one. The file gets `mode`
    whatever the umask (0600 by default: plans and results carry context lines of configuration files).
    `data` may be an iterable of text pieces (e.g. JSONEncoder.iterencode), written as they come: a large report
    is never held as one string as well as a document. Raises OutputError naming `path` (the temporary file is
    removed); an exception from the iterable leaves the previous file too."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(str(target), exc.strerror or type(exc).__name__) from None
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            os.fchmod(handle.fileno(), mode)
            if isinstance(data, str):
                handle.write(data)
            else:
                buffered: list[str] = []
                size = 0
                for piece in data:
                    buffered.append(piece)
                    size += len(piece)
                    if size >= 1 << 20:
                        handle.write("".join(buffered))
                        buffered, size = [], 0
                handle.write("".join(buffered))
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(target)
    except OSError as exc:  # a full disk, a quota, a read-only file system: name the file, not a traceback
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(str(target), exc.strerror or type(exc).__name__) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_directory(target.parent)


def _sync_directory(directory: Path) -> None:
    # The rename is durable only once the directory is; a directory that cannot be opened is not an error here.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
