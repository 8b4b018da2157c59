"""Round trip of every requirement each network platform fixes automatically, on the lab's simulated devices (real
SSH, netmiko's real drivers), through the CLI as admins and reviewers use it: the drifted device fails it with its
clause -> the plan shows the exact lines -> a second person approves -> apply -> the new audit passes it -> the
second plan has nothing left for it.

The set of requirements round-tripped per platform must equal the set the platform fixes automatically (the
catalog's `fix: automated` for the platform, intersected with the platform's `fixes`): a requirement that becomes
fixable without a planted drift and a round trip here fails the test. The drifts are planted in the devices'
configurations (lab/lab.yaml, lab/netsim/devices/*.cfg). The story runs once per session (the fixture
`network_story`, tests/lab/labtools.run_network_story, whose faults test_network_change_control asserts on): two of
the devices are faulted in its first apply and make their round trip in the retry of the same changes. The devices
are reset to their planted configurations before and after it.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tests.lab.labtools import NETWORK_DEVICES as DEVICES
from tests.lab.labtools import NETWORK_DROPS, NETWORK_REJECTS, ROOT, expected_failures, round_trip_misses

from hardening.core.catalog import load_catalog
from hardening.core.inventory import load_inventory
from hardening.core.platform import platform_class

CATALOG = load_catalog(ROOT / "schemas" / "requirements")
PLATFORMS = {name: host.platform for name, host in load_inventory(ROOT / "inventory").hosts.items()}
FAULTED = (NETWORK_REJECTS, NETWORK_DROPS)   # their first apply is rolled back; the retry applies the same plan


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


@pytest.fixture
def story(network_story: dict[str, Any]) -> dict[str, Any]:
    """The session's record, a copy for each test: what one test does with it cannot change what another sees."""
    return copy.deepcopy(network_story)


def successful(story: dict[str, Any], name: str) -> dict[str, Any]:
    """The apply record that fixed the device: the first apply, or for a device faulted in it, the retry."""
    return story["retry_result" if name in FAULTED else "result"]["hosts"][name]


def _findings(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["host"], f["requirement"]): f for f in report["findings"]}


def round_trips(lab: dict[str, Any], story: dict[str, Any], name: str) -> tuple[set[str], list[str]]:
    """The requirements that made the whole round trip on device `name`, and what went wrong for the others
    its plan fixed."""
    platform = PLATFORMS[name]
    before, after = _findings(story["before"]), _findings(story["after"])
    entry = story["plan"]["hosts"][name]
    changes = {c["requirement"]: c for c in entry["changes"]}
    record = successful(story, name)
    second = story["second"]["hosts"][name]
    done: set[str] = set()
    problems: list[str] = []
    for rid in entry["fix"]:
        lines = [line.strip() for line in changes[rid]["diff"].splitlines() if line.strip()] if rid in changes else []
        missed = round_trip_misses(rid, CATALOG[rid].clause, before[(name, rid)], lines, story["show"].stdout,
                                   record, after[(name, rid)], second, verdict_after_fix(lab, platform, rid))
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
        record = successful(story, name)
        assert record["status"] in {"applied", "applied_with_drift"}, (name, record)
        assert record["plan_matches"] is True, (name, record)
    assert story["retry_approve"].returncode == 0, story["retry_approve"].stderr
    for name in FAULTED:   # the retry applied the changes the first plan (and its markdown) showed
        first, again = story["plan"]["hosts"][name], story["retry"]["hosts"][name]
        for key in ("fix", "changes"):
            assert again[key] == first[key], (name, key)
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
