"""Private scratch directories of one run (Ansible's private data directory, the ssh-agent socket).

Each lives under ``$TMPDIR/hardening-<uid>/`` (0700, owned by this user, never a symlink), is 0700 itself and
carries ``owner.json`` (pid and process start time of the run that made it). It is removed when the run ends, and
by the SIGTERM/SIGHUP handler (:func:`install_signal_cleanup`) when the run is told to stop. A run killed outright
(SIGKILL) cannot clean up: the next run sweeps every folder whose owner is no longer alive (same pid AND same start
time, so a reused pid does not keep a dead run's folder, and a live concurrent run's folder is never swept).
No secret is written in them (SSH keys travel through an agent, see engines/ansible.py); they still hold Ansible's
inventory and event log, whose diffs show configuration lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from hardening.core.errors import HardeningError

OWNER = "owner.json"
#: A folder without its owner file is being created right now, or was left by a run killed in that instant.
_UNOWNED_GRACE_S = 60.0

_lock = threading.RLock()  # re-entrant: the signal handler may interrupt its own thread holding it
_live_dirs: set[Path] = set()
_live_procs: set[subprocess.Popen[bytes]] = set()


class ScratchError(HardeningError):
    """The scratch root is not a private directory of this user: nothing is written there."""


def root() -> Path:
    """``$TMPDIR/hardening-<uid>``, created 0700; raises ScratchError if it is a symlink, foreign or open to others."""
    base = Path(tempfile.gettempdir()) / f"hardening-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        base.mkdir(mode=0o700)
    info = os.lstat(base)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ScratchError(f"{base}: not a private directory of this user (a symlink, another owner, or mode "
                           f"{stat.S_IMODE(info.st_mode):o}): refusing to use it for run files")
    return base


def start_time(pid: int) -> str:
    """The process start time (clock ticks since boot, /proc/<pid>/stat field 22); "" if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
    fields = text.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


def _owner_alive(folder: Path) -> bool:
    try:
        owner = json.loads((folder / OWNER).read_text(encoding="utf-8"))
        pid, started = int(owner["pid"]), str(owner["start"])
    except (OSError, ValueError, KeyError, TypeError):
        # No (readable) owner file: the folder is being made right now, or its run died in that instant.
        # A young folder is left alone; an old one is a dead run's.
        try:
            return time.time() - folder.lstat().st_mtime < _UNOWNED_GRACE_S
        except OSError:
            return False
    return bool(started) and start_time(pid) == started


def sweep() -> list[Path]:
    """Remove the folders of runs that are no longer alive (only this user's own folders); return them."""
    base = root()
    swept = []
    with _lock:
        live = set(_live_dirs)
    for folder in base.iterdir():
        if folder in live:  # this process's own run folders are alive by definition
            continue
        try:
            info = folder.lstat()
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or _owner_alive(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        swept.append(folder)
    return swept


@contextmanager
def private_dir(prefix: str) -> Iterator[Path]:
    """A fresh 0700 folder for this run (after sweeping dead runs' folders); removed on exit, even on SIGTERM."""
    sweep()
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=root()))
    with _lock:
        _live_dirs.add(folder)
    try:
        # Written whole and renamed into place: a concurrent sweep (another thread or run) never reads half of it.
        partial = folder / f".{OWNER}.tmp"
        partial.write_text(json.dumps({"pid": os.getpid(), "start": start_time(os.getpid())}), encoding="utf-8")
        partial.replace(folder / OWNER)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        with _lock:
            _live_dirs.discard(folder)


def track(process: subprocess.Popen[bytes]) -> None:
    """Terminate `process` too if this run is told to stop before it is untracked."""
    with _lock:
        _live_procs.add(process)


def untrack(process: subprocess.Popen[bytes]) -> None:
    with _lock:
        _live_procs.discard(process)


def cleanup_now() -> None:
    """Terminate tracked helper processes and remove every live scratch folder (the signal handler's job)."""
    with _lock:
        processes, folders = list(_live_procs), list(_live_dirs)
    for process in processes:
        with contextlib.suppress(OSError):
            process.terminate()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    cleanup_now()
    # Then die of the same signal, as without the handler (exit status 128 + signum for the caller).
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install_signal_cleanup() -> None:
    """On SIGTERM and SIGHUP: clean up, then die of the signal. Call from the main thread (the CLI does)."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
