"""Round trip of every requirement each network platform fixes automatically, on the lab's simulated devices (real
SSH, netmiko's real drivers), through the CLI as admins and reviewers use it: the drifted device fails it with its
clause -> the plan shows the exact lines -> a second person approves -> apply -> the new audit passes it -> the
second plan has nothing left for it.

The set of requirements round-tripped per platform must equal the set the platform fixes automatically (the
catalog's `fix: automated` for the platform, intersected with the platform's `fixes`): a requirement that becomes
fixable without a planted drift and a round trip here fails the test. The drifts are planted in the devices'
configurations (lab/lab.yaml, lab/netsim/devices/*.cfg). One module fixture runs the story once; the devices are
reset to their planted configurations before and after.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests.lab.labtools import (
    ROOT,
    TEST_STATE,
    approve_plan,
    expected_failures,
    host_args,
    reset_devices,
    run_cli,
)

from hardening.core.catalog import load_catalog
from hardening.core.inventory import load_inventory
from hardening.core.platform import platform_class

CATALOG = load_catalog(ROOT / "schemas" / "requirements")
PLATFORMS = {name: host.platform for name, host in load_inventory(ROOT / "inventory").hosts.items()}
# The drifted devices: between them, every requirement their platform fixes automatically is planted.
DEVICES = ["rt-ios-02", "sw-ios-01", "rt-rtx-02", "fw-fgt-02"]
PLANNER = "yamada"


def automatic_fixes(platform: str) -> set[str]:
    """What `hardening plan` fixes on the platform: the catalog says `fix: automated` and the platform fixes it."""
    cls = platform_class(platform)
    fixes = set(getattr(cls, "fixes", ()))
    return {rid for rid, req in CATALOG.items() if req.automation_for(platform)["fix"] == "automated"} & fixes


def verdict_after_fix(lab: dict[str, Any], platform: str, requirement: str) -> str:
    """`pass`, or `manual` where a compliant device of the platform is judged by a person too (lab.yaml `manual`:
    a fact the platform cannot read live, e.g. RTX shows no NTP synchronisation state)."""
    planted = expected_failures(lab["spec"])
    for name, entry in ((lab["spec"].get("netsim") or {}).get("devices") or {}).items():
        if (PLATFORMS[name] == platform and requirement in ((entry or {}).get("manual") or [])
                and requirement not in planted.get(name, set())):
            return "manual"
    return "pass"


def _audit(out_name: str) -> dict[str, Any]:
    out = TEST_STATE / "round-trip" / out_name
    proc = run_cli("audit", *host_args(DEVICES), "--out", str(out), "--no-progress")
    assert (out / "report.json").exists(), proc.stderr
    report: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return report


def _plan(name: str) -> tuple[Any, dict[str, Any]]:
    path = TEST_STATE / "round-trip" / f"{name}.json"
    proc = run_cli("plan", *host_args(DEVICES), "--out", str(path), "--no-progress", HARDENING_OPERATOR=PLANNER)
    assert path.exists(), proc.stderr
    return proc, json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def story(lab: dict[str, Any]) -> Iterator[dict[str, Any]]:
    (TEST_STATE / "round-trip").mkdir(exist_ok=True)
    reset_devices(DEVICES)
    s: dict[str, Any] = {}
    try:
        s["before"] = _audit("audit-before")
        s["plan_run"], s["plan"] = _plan("plan")
        plan = TEST_STATE / "round-trip" / "plan.json"
        s["show"] = run_cli("show", str(plan), "--format", "markdown")
        s["approve"] = approve_plan(plan)
        result = TEST_STATE / "round-trip" / "apply.result.json"
        s["apply"] = run_cli("apply", str(plan), "--out", str(result), "--no-progress", HARDENING_OPERATOR=PLANNER)
        assert result.exists(), s["apply"].stderr
        s["result"] = json.loads(result.read_text(encoding="utf-8"))
        s["after"] = _audit("audit-after")
        s["second_run"], s["second"] = _plan("second")
        yield s
    finally:
        reset_devices(DEVICES)


def _findings(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["host"], f["requirement"]): f for f in report["findings"]}


def round_trips(lab: dict[str, Any], story: dict[str, Any], name: str) -> tuple[set[str], list[str]]:
    """The requirements that made the whole round trip on device `name`, and what went wrong for the others
    its plan fixed."""
    platform = PLATFORMS[name]
    before, after = _findings(story["before"]), _findings(story["after"])
    entry = story["plan"]["hosts"][name]
    changes = {c["requirement"]: c for c in entry["changes"]}
    record = story["result"]["hosts"][name]
    second = story["second"]["hosts"][name]
    done: set[str] = set()
    problems: list[str] = []
    for rid in entry["fix"]:
        finding = before[(name, rid)]
        wanted = verdict_after_fix(lab, platform, rid)
        lines = [line.strip() for line in changes[rid]["diff"].splitlines() if line.strip()] if rid in changes else []
        checks = {
            "failed before with its clause": finding["evaluated_status"] == "fail"
            and finding["clause"] == CATALOG[rid].clause and finding["clause"].startswith("第"),
            "the plan shows its lines": bool(lines) and all(line in story["show"].stdout for line in lines),
            "applied as planned": rid in {c["requirement"] for c in record["applied"]},
            f"verified {wanted}": record["verify"].get(rid) == ("fixed" if wanted == "pass" else f"still {wanted}"),
            f"the new audit says {wanted}": after[(name, rid)]["status"] == wanted,
            "nothing left in the second plan": rid not in second["fix"]
            and rid not in {c["requirement"] for c in second["changes"]},
        }
        missed = [what for what, ok in checks.items() if not ok]
        if missed:
            problems.append(f"{name} {rid}: not {', '.join(missed)}")
        else:
            done.add(rid)
    return done, problems


def test_plan_approve_and_apply_ran(story: dict[str, Any]) -> None:
    assert story["plan_run"].returncode == 2, story["plan_run"].stderr
    assert story["show"].returncode == 0, story["show"].stderr
    assert story["approve"].returncode == 0, story["approve"].stderr
    for name in DEVICES:
        record = story["result"]["hosts"][name]
        assert record["status"] in {"applied", "applied_with_drift"}, (name, record)
        assert record["plan_matches"] is True, (name, record)
    assert story["second_run"].returncode in {0, 2}, story["second_run"].stderr
    for name in DEVICES:
        assert story["second"]["hosts"][name]["changes"] == [], name


@pytest.mark.parametrize("platform", ["cisco_ios", "yamaha_rtx", "fortios"])
def test_every_automatic_fix_of_the_platform_round_trips(lab: dict[str, Any], story: dict[str, Any],
                                                         platform: str) -> None:
    done: set[str] = set()
    problems: list[str] = []
    for name in DEVICES:
        if PLATFORMS[name] == platform:
            mine, wrong = round_trips(lab, story, name)
            done |= mine
            problems += wrong
    assert problems == []
    expected = automatic_fixes(platform)
    assert expected, f"{platform} fixes nothing automatically"
    assert done == expected, (f"no round trip for {sorted(expected - done)} (plant a drift for it), "
                              f"unexpected {sorted(done - expected)}")
