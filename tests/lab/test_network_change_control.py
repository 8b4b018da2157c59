"""Change control on the lab's simulated routers, switch and firewall (real SSH, netmiko's real drivers), through the
CLI as admins and reviewers use it: audit -> plan (the exact lines) -> second-person approval -> apply -> verified ->
the second plan is empty; and the faults: a line the device rejects and a session dropped mid-apply end in the
device's exact prior configuration (text-equal), recorded in the apply result and the ledger, while the other devices
go on.

The story runs once per session (the fixture `network_story`, tests/lab/labtools.run_network_story; the round trips of
test_network_round_trip assert on the same run); the tests assert on its record. The devices are reset to their
planted configurations before and after it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tests.lab.labtools import NETWORK_DEVICES as DEVICES
from tests.lab.labtools import NETWORK_DROPS as DROPS
from tests.lab.labtools import NETWORK_REJECTS as REJECTS


@pytest.fixture
def story(network_story: dict[str, Any]) -> dict[str, Any]:
    """The session's record, a copy for each test: what one test does with it cannot change what another sees."""
    return copy.deepcopy(network_story)


def test_drift_fails_with_its_clause_and_the_plan_shows_the_lines(story: dict[str, Any]) -> None:
    assert story["plan_run"].returncode == 2, story["plan_run"].stderr
    failing = {(f["host"], f["requirement"]) for f in story["before"]["findings"] if f["status"] == "fail"}
    for name in DEVICES:
        entry = story["plan"]["hosts"][name]
        assert entry["fix"], f"{name}: nothing to fix automatically"
        for item in entry["failing"]:
            assert (name, item["requirement"]) in failing
            assert item["clause"].startswith("第")
        changes = entry["changes"]
        assert {c["requirement"] for c in changes} == set(entry["fix"])
        for change in changes:  # the exact lines the device will get
            assert change["diff"].strip(), change
    assert story["show"].returncode == 0
    assert "rt-rtx-02" in story["show"].stdout
    assert "fw-fgt-02" in story["show"].stdout


def test_the_fault_free_device_is_applied_and_verified(story: dict[str, Any]) -> None:
    assert story["approve"].returncode == 0, story["approve"].stderr
    record = story["result"]["hosts"]["rt-rtx-02"]
    assert record["plan_matches"] is True
    # RTX shows no NTP sync state: its TIME-SYNC after the fix (the ntpdate schedule) is for a person to confirm,
    # which apply reports honestly instead of calling it fixed
    assert record["verify"].pop("TIME-SYNC") == "still manual"
    assert set(record["verify"].values()) == {"fixed"}
    assert record["status"] == "applied_with_drift", record


@pytest.mark.parametrize("name", [REJECTS, DROPS])
def test_a_fault_ends_in_the_exact_prior_configuration(story: dict[str, Any], name: str) -> None:
    record = story["result"]["hosts"][name]
    assert record["status"] == "rolled_back", record
    assert story["after_fault"][name] == story["prior"][name]
    rollbacks = [e for e in story["ledger"] if e.get("action") == "rollback"
                 and e.get("subject", {}).get("host") == name
                 and e["subject"].get("plan_id") == story["plan"]["plan_id"]]
    assert rollbacks
    assert rollbacks[-1]["subject"]["restored"] is True
    assert story["apply"].returncode == 1  # a rolled-back host makes the run an error


def test_the_retry_applies_and_the_second_plan_is_empty(story: dict[str, Any]) -> None:
    assert story["retry_approve"].returncode == 0, story["retry_approve"].stderr
    for name in (REJECTS, DROPS):  # IOS and FortiOS show their sync state: every fix is verified
        record = story["retry_result"]["hosts"][name]
        assert record["status"] == "applied", record
        assert set(record["verify"].values()) == {"fixed"}
    for name in DEVICES:
        assert story["second"]["hosts"][name]["changes"] == [], name
        assert story["second"]["hosts"][name]["fix"] == [], name
