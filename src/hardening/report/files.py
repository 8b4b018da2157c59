"""Atomic file writes for the report files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hardening.core.errors import OutputError


def atomic_write(path: Path | str, data: str, encoding: str = "utf-8") -> None:
    """Write `data` to `path` through a temporary file in the same directory and a rename: a run that
    dies halfway leaves the previous file, never half of a new one. Raises OutputError naming `path`."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(str(target), exc.strerror or type(exc).__name__) from None
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            handle.write(data)
        Path(tmp).replace(target)
    except OSError as exc:  # a full disk, a quota, a read-only file system: name the file, not a traceback
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(str(target), exc.strerror or type(exc).__name__) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
