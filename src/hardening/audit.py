"""The audit pipeline: inputs -> scope -> collect -> evaluate -> report document.

Inputs are all loaded and validated before any host is contacted: bad input stops the run with
nothing collected.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardening.core.attestations import NONE, Attestations
from hardening.core.catalog import load_catalog
from hardening.core.evaluate import evaluate_host
from hardening.core.gcbatch import batch_gc
from hardening.core.inventory import Inventory, load_inventory
from hardening.core.models import CollectResult, Finding, Host, Requirement
from hardening.core.params import validate_parameters
from hardening.core.platform import get_platform
from hardening.core.run import RunOptions
from hardening.core.scope import Selection
from hardening.core.secrets import SecretStore
from hardening.core.waivers import Waiver, load_waivers
from hardening.engines.nornir_runner import collect_all
from hardening.offline import load_offline
from hardening.report.build import build_report, host_section


@dataclass(frozen=True)
class Inputs:
    inventory: Inventory
    catalog: dict[str, Requirement]
    waivers: list[Waiver]
    catalog_digest: str
    # What `hardening attest` recorded, verified (hardening.changes.attest.read_attestations); NONE: not read.
    attestations: Attestations = NONE


def catalog_digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(directory).glob("*.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


def load_inputs(inventory_dir: Path, catalog_dir: Path, waivers_file: Path | None = None) -> Inputs:
    """Load and cross-validate inventory, catalog, parameters and waivers (raises InputError)."""
    catalog = load_catalog(catalog_dir)
    inventory = load_inventory(inventory_dir)
    validate_parameters(inventory, catalog)
    for host in inventory.hosts.values():
        get_platform(host.platform)  # unknown platform: fail before contacting anything
    waivers = load_waivers(waivers_file or inventory_dir / "waivers.yaml", set(catalog), set(inventory.hosts))
    return Inputs(inventory, catalog, waivers, catalog_digest(catalog_dir))


def select(inputs: Inputs, selection: Selection) -> tuple[list[Host], list[Requirement]]:
    hosts = [h for h in inputs.inventory.hosts.values() if selection.host_selected(h)]
    requirements = [r for r in inputs.catalog.values() if selection.requirement_selected(r)]
    return hosts, requirements


def run_audit(
    inputs: Inputs,
    selection: Selection,
    secrets: SecretStore,
    run: RunOptions,
    *,
    today: dt.date | None = None,
    on_result: Callable[[CollectResult], None] | None = None,
    offline_from: Path | None = None,
    on_host: Callable[[dict[str, Any], list[dict[str, Any]]], None] | None = None,
) -> tuple[dict[str, Any], dict[str, CollectResult]]:
    """Collect and evaluate the selected hosts; return (report document, raw collect results).

    `on_host(host_entry, finding_entries)`: each host's part of the report (build.host_section: what the report's
    /hosts and /findings will hold for it, secrets scrubbed) as soon as the host is evaluated, from the thread
    that evaluated it (a sink must be thread-safe: History's Recorder.add is), once per host. A live host is
    handed over while others are still being collected; an exception from the sink is not the host's: it stops the
    run.

    `offline_from`: take every host's facts from saved data in that directory (hardening.offline)
    instead of contacting it; the report's run.offline names each source with its sha256."""
    with batch_gc():    # a batch of mostly long-lived objects: fewer, larger collections (hardening.core.gcbatch)
        return _run_audit(inputs, selection, secrets, run, today=today, on_result=on_result,
                          offline_from=offline_from, on_host=on_host)


def _run_audit(
    inputs: Inputs,
    selection: Selection,
    secrets: SecretStore,
    run: RunOptions,
    *,
    today: dt.date | None,
    on_result: Callable[[CollectResult], None] | None,
    offline_from: Path | None,
    on_host: Callable[[dict[str, Any], list[dict[str, Any]]], None] | None,
) -> tuple[dict[str, Any], dict[str, CollectResult]]:
    started = dt.datetime.now(dt.UTC).astimezone()
    hosts, requirements = select(inputs, selection)
    day = today or started.date()
    by_name = {host.name: host for host in hosts}
    by_id = {r.id: r for r in requirements}
    evaluated: dict[str, tuple[CollectResult, list[Finding]]] = {}
    sections: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    sink_failed: list[BaseException] = []

    def hand_over(host: Host, result: CollectResult, host_findings: list[Finding]) -> None:
        section = host_section(host, result, host_findings, by_id)
        sections[host.name] = section
        if on_host is not None and not sink_failed:
            try:
                on_host(*section)
            except BaseException as exc:
                sink_failed.append(exc)
                raise

    shared = (requirements, inputs.inventory.parameters, inputs.waivers, day, inputs.attestations)

    def evaluate(host: Host, result: CollectResult) -> list[Finding]:
        return evaluate_host(host, result, *shared)

    def collected(result: CollectResult) -> None:
        """A live host's result as it arrives: evaluated in its collecting thread while other hosts are still
        being collected, instead of all of them after the last one. A failure here leaves the host to the
        evaluation after collection, where it surfaces as it would have."""
        if on_result is not None:
            on_result(result)
        host = by_name.get(result.host)
        if host is not None:
            with contextlib.suppress(Exception):
                evaluated[result.host] = (result, evaluate(host, result))
            if result.host in evaluated:
                with contextlib.suppress(Exception):   # a sink's failure is raised after collection
                    hand_over(host, *evaluated[result.host])

    offline: dict[str, Any] | None = None
    if offline_from is not None:
        saved = load_offline(offline_from, hosts, set(inputs.inventory.hosts))
        results, offline = saved.results, saved.record()
        if on_result is not None:
            for result in results.values():
                on_result(result)
    else:
        results = collect_all(hosts, secrets, run, on_result=collected)
    if sink_failed:
        raise sink_failed[0]
    findings: dict[str, list[Finding]] = {}
    for host in hosts:
        early = evaluated.get(host.name)
        if early is not None and early[0] is results[host.name] and host.name in sections:
            findings[host.name] = early[1]
            continue
        if host.name in sections:   # handed over, then its result replaced: the sink holds what the report will not
            raise RuntimeError(f"{host.name}: its collect result changed after it was handed to the sinks")
        findings[host.name] = evaluate(host, results[host.name])
        hand_over(host, results[host.name], findings[host.name])
    report = build_report(
        site=inputs.inventory.site,
        hosts=hosts,
        results=results,
        findings=findings,
        requirements=requirements,
        selection=selection.as_dict(),
        inventory_dir=str(inputs.inventory.directory),
        catalog_digest=inputs.catalog_digest,
        started=started,
        finished=dt.datetime.now(dt.UTC).astimezone(),
        offline=offline,
        attestations=inputs.attestations.summary(),
        sections=sections,
    )
    return report, results
