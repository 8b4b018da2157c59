"""One run of a job at a time: a non-blocking flock on the job's lock file in its output directory.

The loser is refused at once (a scheduled run that finds the previous one still going must not queue behind it
nor touch its directory): JobRunningError says who holds it since when. The kernel releases a flock when its
holder dies, so a lock file left by a killed run never blocks the next one; the file itself stays (removing a
flock file while another process may be about to lock it would let two holders in).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hardening.changes.locks import lock_name, try_flock
from hardening.core.errors import HardeningError


class JobRunningError(HardeningError):
    """Another run of the same job holds its lock: refused, nothing touched."""

    def __init__(self, name: str, holder: str) -> None:
        self.name = name
        self.holder = holder
        super().__init__(f"ジョブ {name} は実行中です (already running: {holder})")


def lock_path(output: Path, name: str) -> Path:
    return Path(output) / f".{lock_name('job', name)}"


@contextmanager
def job_lock(output: Path, name: str) -> Iterator[Path]:
    """Hold the job's lock for the block; raise JobRunningError when another process holds it. The file then
    says `pid N since T` for the next one's message."""
    path = lock_path(output, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, holder = try_flock(path)
    if fd is None:
        raise JobRunningError(name, holder.strip() or "pid unknown")
    try:
        since = dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")
        with contextlib.suppress(OSError):  # only the next one's message needs it
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} since {since}\n".encode("ascii"), 0)
        yield path
    finally:
        os.close(fd)
