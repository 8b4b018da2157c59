"""Garbage collection tuned for a batch run (an audit: collect, evaluate and report every host in one process).

A run allocates facts, findings, report entries and SSH sessions that mostly live to its end. With CPython's default
thresholds (700, 10, 10) that means a young collection every few hundred objects and, every hundred of those, a full
collection over everything the process holds (netmiko, paramiko, Nornir, jsonschema and the catalog loaded: tens of
milliseconds each, with the GIL held, while every session thread waits). `batch_gc` raises the thresholds for the
duration of the run: cycles (paramiko's sessions are cycles) are still collected, in fewer, larger passes, and memory
stays bounded (a young pass every BATCH_THRESHOLD[0] container allocations). The previous thresholds come back when
the last overlapping run ends; a process that disabled collection is left as it is.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

BATCH_THRESHOLD = (20_000, 20, 20)



class _Batches:
    """How many runs are inside `batch_gc` now, and the thresholds the first one found (None: left as they were)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.saved: tuple[int, ...] | None = None


_BATCHES = _Batches()


@contextlib.contextmanager
def batch_gc() -> Iterator[None]:
    """Thresholds at least BATCH_THRESHOLD while the block runs (runs may overlap in threads: the first one in
    saves the process's thresholds, the last one out restores them)."""
    state = _BATCHES
    with state.lock:
        if state.depth == 0:
            current = gc.get_threshold()
            state.saved = current if gc.isenabled() and current[0] > 0 else None
            if state.saved is not None:
                gc.set_threshold(*(max(mine, theirs) for mine, theirs in zip(BATCH_THRESHOLD, current, strict=False)))
        state.depth += 1
    try:
        yield
    finally:
        with state.lock:
            state.depth -= 1
            if state.depth == 0 and state.saved is not None:
                gc.set_threshold(*state.saved)
                state.saved = None
