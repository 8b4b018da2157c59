"""The conformance suite every registered platform must pass (the napalm shared-getter-tests idea).

Each platform keeps hand-written cases in tests/platforms/<platform>/cases/<case>/:
  raw/           the host's saved capture exactly as `hardening audit --from DIR` lays out DIR/<host>/
                 (for Linux: raw/root/ is a root file tree, read by the probe in offline mode)
  case.yaml      device_class: the class the case is audited as (decides which requirements apply);
                 description: what real-machine syntax the case carries and what the daemons make of it;
                 xfail (optional): why the platform's output is known to differ from expected.json
  expected.json  what the real daemons/devices do with that input, as facts: {"format_version",
                 "platform", "facts", "errors": [pointers], "manual": [pointers]}
For every platform in the registry (never a hard-coded list) and every case, through the very entry point of
audit --from (hardening.offline.parse_capture: the platform's OfflineParser.parse, stamped and validated by core):
the facts equal expected,
the document validates against schemas/facts.schema.json, and every pointer that an applicable automated
requirement reads is a fact, an error or a manual item: never silently missing. A registered platform
without cases, or without the offline parse capability, fails here: a new platform cannot skip the suite.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from hardening.core.catalog import load_catalog
from hardening.core.evaluate import MISSING, resolve_pointer
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import OfflineParser, get_platform, known_platforms
from hardening.core.schemas import validator
from hardening.offline import parse_capture

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CASE_FILES = ("case.yaml", "expected.json")

# Parts of a facts document that change from run to run, whatever the input: who ran it (the probe's own
# host name), when, and how long it took. One place replaces them, so expected.json never holds them.
VOLATILE = {"host": "<host>", "collected_at": "<collected_at>", "probe": "<probe>"}


def normalise(document: dict[str, Any]) -> dict[str, Any]:
    """The comparable part of a facts document.

    Volatile parts (VOLATILE) are replaced by placeholders and then left out, `errors` and `manual` become
    their sorted pointers (the reasons are prose for people), and `evidence` is left out (excerpts of what
    was read, not facts). What stays is what evaluation reads."""
    doc = copy.deepcopy(document)
    doc.update({key: value for key, value in VOLATILE.items() if key in doc})
    return {
        "format_version": doc.get("format_version"),
        "platform": doc.get("platform"),
        "facts": doc.get("facts"),
        "errors": sorted(doc.get("errors") or {}),
        "manual": sorted(doc.get("manual") or {}),
    }


def platform_cases(platform: str) -> list[Path]:
    root = HERE / platform / "cases"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def case_params(known_differences: bool = False) -> list[Any]:
    """(platform, case) of every registered platform; with known_differences, a case's `xfail` reason marks it
    (strict: when the platform is fixed the mark must go). Only parse-equals-expected may be marked: the facts
    must validate and account for every pointer whatever their values."""
    params = []
    for platform in known_platforms():
        for case in platform_cases(platform):
            meta = read_case(case)
            xfail = meta.get("xfail") if known_differences else None
            marks = [pytest.mark.xfail(reason=str(xfail), strict=True)] if xfail else []
            params.append(pytest.param(platform, case, id=f"{platform}/{case.name}", marks=marks))
    return params


def read_case(case: Path) -> dict[str, Any]:
    meta = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
    assert isinstance(meta, dict), f"{case}/case.yaml: not a mapping"
    return meta


def case_host(platform: str, case: Path) -> Host:
    """The inventory host a case is audited as (its device class decides which requirements apply)."""
    return Host(name=f"conformance-{case.name}", hostname=f"conformance-{case.name}", port=22, platform=platform,
                device_class=read_case(case)["device_class"], zone="", classification={},
                system=SystemInfo("conformance", "", ()), roles=(), groups=(), credentials="none")


def parsed(platform: str, case: Path) -> dict[str, Any]:
    """The facts of the case's capture as `audit --from` gets them: the platform's OfflineParser.parse of
    raw/ (a host's DIR/<host>/), stamped and validated by core (parse_capture)."""
    assert isinstance(get_platform(platform), OfflineParser), f"platform {platform} has no offline parse(raw)"
    return parse_capture(case_host(platform, case), case / "raw")


@pytest.fixture(scope="module")
def catalog() -> dict[str, Any]:
    return load_catalog(REPO / "schemas" / "requirements")


def layout_problems(platform: str, driver: Any, cases: list[Path]) -> list[str]:
    """Why a platform does not take part in the suite properly (no cases, no offline parse, bad case dirs)."""
    problems = []
    if not cases:
        problems.append(f"platform {platform} has no conformance cases in {HERE / platform / 'cases'}")
    if not isinstance(driver, OfflineParser):
        problems.append(f"platform {platform} has no offline parse(raw)")
    for case in cases:
        problems.extend(f"{case}: {name} is missing" for name in (*CASE_FILES, "raw") if not (case / name).exists())
        if not (case / "case.yaml").exists():
            continue
        meta = read_case(case)
        if meta.get("device_class") not in driver.device_classes:
            problems.append(f"{case}/case.yaml: device_class {meta.get('device_class')!r} is not one platform "
                            f"{platform} declares")
        if not str(meta.get("description", "")).strip():
            problems.append(f"{case}/case.yaml: no description")
    return problems


def silent_pointers(document: dict[str, Any], catalog: dict[str, Any], serves: tuple[str, ...] = ()) -> list[str]:
    """Pointers an applicable automated requirement reads that are neither a fact nor an error/manual item.

    `serves` (a case's `requirements:`) adds requirements whose facts the case must account for although the
    catalog does not name its device class yet (a new platform's facts, before its requirements are extended)."""
    device_class = document["device_class"]
    unknown = [rid for rid in serves if rid not in catalog]
    assert not unknown, f"case.yaml requirements: {unknown} are not in the catalog"
    read = sorted({(pointer, requirement.id) for requirement in catalog.values()
                   if (device_class in requirement.device_classes or requirement.id in serves)
                   and requirement.automation_for(document["platform"])["check"] == "automated"
                   for pointer in requirement.facts_for(document["platform"])})
    assert read, f"no automated requirement applies to {device_class}: the check would be empty"
    accounted = set(document["errors"]) | set(document.get("manual", {}))
    return [f"{pointer} ({rid})" for pointer, rid in read
            if pointer not in accounted and resolve_pointer(document["facts"], pointer) is MISSING]


@pytest.mark.parametrize("platform", known_platforms())
def test_every_platform_has_cases(platform: str) -> None:
    assert layout_problems(platform, get_platform(platform), platform_cases(platform)) == []


def test_a_platform_without_cases_fails(tmp_path: Path) -> None:
    """A new platform cannot skip the suite: no cases, or no offline parse, is a problem."""

    class NoParse:
        name = "newdevice"
        device_classes = frozenset({"router"})

    problems = layout_problems("newdevice", NoParse(), [])
    assert any("no conformance cases" in p for p in problems)
    assert any("no offline parse" in p for p in problems)
    (tmp_path / "c1").mkdir()
    (tmp_path / "c1" / "case.yaml").write_text("device_class: linux_server\n", encoding="utf-8")
    problems = layout_problems("newdevice", NoParse(), [tmp_path / "c1"])
    assert any("expected.json is missing" in p for p in problems)
    assert any("device_class 'linux_server'" in p for p in problems)
    assert any("no description" in p for p in problems)


@pytest.mark.parametrize(("platform", "case"), case_params(known_differences=True))
def test_parse_equals_expected(platform: str, case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    assert normalise(parsed(platform, case)) == expected


@pytest.mark.parametrize(("platform", "case"), case_params())
def test_facts_validate(platform: str, case: Path) -> None:
    document = parsed(platform, case)
    errors = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
              for e in validator("facts.schema.json").iter_errors(document)]
    assert errors == []
    facts = document["facts"]
    both = [p for p in (*document["errors"], *document.get("manual", {})) if resolve_pointer(facts, p) is not MISSING]
    assert both == [], "a pointer is both a fact and an error/manual item"


@pytest.mark.parametrize(("platform", "case"), case_params())
def test_every_requirement_pointer_accounted_for(platform: str, case: Path, catalog: dict[str, Any]) -> None:
    serves = tuple(read_case(case).get("requirements") or ())
    assert silent_pointers(parsed(platform, case), catalog, serves) == []


def test_a_silently_missing_pointer_is_caught(catalog: dict[str, Any]) -> None:
    """A fact that is neither given nor recorded as an error/manual item is reported, naming the requirement."""
    document: dict[str, Any] = {"platform": "linux", "device_class": "linux_server", "facts": {}, "errors": {},
                                "manual": {}}
    silent = silent_pointers(document, catalog)
    assert "/time/synchronized (TIME-SYNC)" in silent
    document["errors"] = {"/time/synchronized": "live only"}
    document["manual"] = {"/time/offset_ms_abs": "read, not judged"}
    document["facts"] = {"time": {"ntp_servers": []}}
    silent = silent_pointers(document, catalog)
    assert not any(s.startswith("/time/") for s in silent)
    # A requirement that does not name the class (yet): the case's `requirements` add it to what is checked.
    printer: dict[str, Any] = {"platform": "printer", "device_class": "mfp", "facts": {}, "errors": {},
                               "manual": {}}
    silent = silent_pointers(printer, catalog)
    assert "/time/offset_ms_abs (TIME-SYNC)" in silent  # the catalog names printers (issue 10)
    assert not any(s.endswith("(LOGIN-BANNER)") for s in silent)
    assert "/login/banners (LOGIN-BANNER)" in silent_pointers(printer, catalog, ("LOGIN-BANNER",))


def test_normalise_hides_only_volatile_parts() -> None:
    """Two runs differing only in host, time and duration compare equal; a fact difference does not."""
    base = {"format_version": "1", "platform": "linux", "host": "a", "collected_at": "2026-01-01T00:00:00Z",
            "probe": {"name": "p", "version": "1", "duration_ms": 1.0}, "facts": {"x": {"y": 1}},
            "errors": {"/z": "why"}, "manual": {}, "evidence": {"/x": [{"source": "file:/a"}]}}
    other = copy.deepcopy(base)
    other.update(host="b", collected_at="2026-06-01T12:00:00Z", probe={"name": "p", "version": "1", "duration_ms": 9.0},
                 evidence={})
    other["errors"] = {"/z": "another wording"}
    assert normalise(base) == normalise(other)
    other["facts"]["x"]["y"] = 2
    assert normalise(base) != normalise(other)
    other["facts"]["x"]["y"] = 1
    other["errors"] = {}
    assert normalise(base) != normalise(other)
