"""Nornir orchestration: every host in parallel, one collect task each, per-host time budget, progress.

The per-host timeout is enforced inside the transport (a hard deadline on connect, handshake and
probe); a host that fails in any way becomes an error result and never stops the others.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Hosts, Inventory
from nornir.core.inventory import Host as NornirHost
from nornir.core.processor import Processors
from nornir.core.task import AggregatedResult, MultiResult, Result, Task
from nornir.plugins.runners import ThreadedRunner

from hardening.core.errors import CollectionError, HardeningError
from hardening.core.models import CollectResult, Host
from hardening.core.platform import collect_facts, get_platform
from hardening.core.run import RunOptions, build_target
from hardening.core.secrets import REDACTOR, SecretStore


class Progress:
    """A Nornir processor printing a one-line progress bar to stderr (only on a terminal)."""

    def __init__(self, total: int, enabled: bool, label: str = "収集中 collecting") -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.failed = 0
        self.enabled = enabled
        self._lock = threading.Lock()
        self._start = time.monotonic()

    def task_started(self, task: Task) -> None:
        self._draw()

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def task_instance_started(self, task: Task, host: NornirHost) -> None:
        return None

    def task_instance_completed(self, task: Task, host: NornirHost, result: MultiResult) -> None:
        with self._lock:
            self.done += 1
            value = result[0].result
            self.failed += int(result.failed or bool(getattr(value, "error", None) or getattr(value, "failed", None)))
        self._draw()

    def subtask_instance_started(self, task: Task, host: NornirHost) -> None:
        return None

    def subtask_instance_completed(self, task: Task, host: NornirHost, result: MultiResult) -> None:
        return None

    def _draw(self) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        elapsed = time.monotonic() - self._start
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
            f"  error {self.failed}  {elapsed:5.1f}s"
        )
        sys.stderr.flush()


def build_nornir(hosts: list[Host], workers: int, processors: list[Any]) -> Nornir:
    """A Nornir object over our validated hosts (no secrets in its inventory)."""
    defaults = Defaults()
    nornir_hosts = Hosts(
        {
            h.name: NornirHost(name=h.name, hostname=h.hostname, port=h.port, platform=h.platform,
                               data={"model": h}, defaults=defaults)
            for h in hosts
        }
    )
    inventory = Inventory(hosts=nornir_hosts, groups=Groups(), defaults=defaults)
    return Nornir(inventory=inventory, runner=ThreadedRunner(num_workers=workers), processors=Processors(processors))


def _collect_one(host: Host, secrets: SecretStore, run: RunOptions) -> CollectResult:
    start = time.monotonic()
    try:
        platform = get_platform(host.platform)
        target = build_target(host, secrets, run)
        facts = collect_facts(platform, target)
        return CollectResult(host.name, facts, None, None, time.monotonic() - start, captures=dict(target.captures))
    except CollectionError as exc:
        return CollectResult(host.name, None, REDACTOR.scrub(exc.message), type(exc).__name__,
                             time.monotonic() - start)
    except HardeningError as exc:
        return CollectResult(host.name, None, REDACTOR.scrub(str(exc)), type(exc).__name__,
                             time.monotonic() - start)
    except Exception as exc:  # fail closed: an unexpected bug is this host's error, not a crash or a pass
        return CollectResult(host.name, None, REDACTOR.scrub(f"{type(exc).__name__}: {exc}")[:500],
                             "InternalError", time.monotonic() - start)


T = TypeVar("T")


def run_each(hosts: list[Host], func: Callable[[Host], T], *, workers: int, progress: bool | None = None,
             label: str = "処理中 working") -> dict[str, T | BaseException]:
    """Run `func(host)` for every host in Nornir's threaded runner; a raised exception is that
    host's result (never stops the others)."""
    if not hosts:
        return {}
    show = sys.stderr.isatty() if progress is None else progress
    nr = build_nornir(hosts, workers, [Progress(len(hosts), show, label)])

    def task(task: Task) -> Result:
        return Result(host=task.host, result=func(task.host.data["model"]))

    aggregated = nr.run(task=task, name=label, raise_on_error=False)
    out: dict[str, T | BaseException] = {}
    for host in hosts:
        multi = aggregated.get(host.name)
        if multi is None or multi[0].exception is not None or multi.failed:
            exc = multi[0].exception if multi is not None else None
            out[host.name] = exc if isinstance(exc, BaseException) else RuntimeError("no result")
        else:
            out[host.name] = multi[0].result
    return out


def collect_all(
    hosts: list[Host],
    secrets: SecretStore,
    run: RunOptions,
    on_result: Callable[[CollectResult], None] | None = None,
) -> dict[str, CollectResult]:
    """Collect every host in parallel; every host gets a result, errors included."""
    def one(host: Host) -> CollectResult:
        result = _collect_one(host, secrets, run)
        if on_result is not None:
            on_result(result)
        return result

    results: dict[str, CollectResult] = {}
    for name, value in run_each(hosts, one, workers=run.workers, progress=run.progress,
                                label="収集中 collecting").items():
        if isinstance(value, CollectResult):
            results[name] = value
        else:  # the task itself blew up inside Nornir
            results[name] = CollectResult(name, None, REDACTOR.scrub(str(value))[:500], "InternalError", 0.0)
    return results
