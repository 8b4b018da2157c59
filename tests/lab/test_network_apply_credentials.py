"""Credentials that go wrong between approval and apply, on the lab's simulated devices through the CLI: the vault
entry of a device now holds a wrong enable/administrator secret or a wrong login password (an admin's
HARDENING_CRED_* variables override the vault entry, as a rotated secret would). The apply refuses those devices
before touching them: their configuration (running and saved, and the files on the device) is byte-equal to before,
the failure is in the apply result and the ledger with its reason, no secret (right or wrong) reaches any
artifact, and the other devices of the same apply are changed and verified.

Two stories, each one plan -> approval -> apply of the four drifted devices with two of them faulted, so every
platform's refusal is met (IOS enable, RTX administrator, IOS and FortiOS login) and two devices go on each time.
The devices are reset to their planted configurations before and after each story.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.lab.labtools import (
    TEST_STATE,
    approve_plan,
    host_args,
    netsim_devices,
    netsim_secrets,
    reset_devices,
    run_cli,
)

DEVICES = ["rt-ios-02", "sw-ios-01", "rt-rtx-02", "fw-fgt-02"]
# device -> the credential field that is wrong at apply time
STORIES = {"ios-enable-fortios-login": {"rt-ios-02": "enable_secret", "fw-fgt-02": "password"},
           "rtx-administrator-ios-login": {"rt-rtx-02": "enable_secret", "sw-ios-01": "password"}}
# what the apply result says, by the wrong field and the device's platform
REASONS = {("enable_secret", "rt-ios-02"): "privileged mode refused: the enable secret is wrong",
           ("enable_secret", "rt-rtx-02"): "administrator mode refused: the administrator password is wrong",
           ("password", "fw-fgt-02"): "authentication refused",
           ("password", "sw-ios-01"): "authentication refused"}
PLANNER = "yamada"


def credential_variables(entry: str, values: dict[str, str]) -> dict[str, str]:
    """HARDENING_CRED_<ENTRY>_<FIELD> for each field (they replace the vault entry as a whole)."""
    prefix = f"HARDENING_CRED_{entry.upper().replace('-', '_')}_"
    return {prefix + field.upper(): value for field, value in values.items()}


def device_state(device: dict[str, Any]) -> dict[str, bytes]:
    """The simulator's own record of the device: running and saved configuration, the files on its flash."""
    state: Path = device["state"]
    found = {name: (state / name).read_bytes() for name in ("running.cfg", "startup.cfg") if (state / name).exists()}
    files = state / "files"
    if files.is_dir():
        found.update({f"files/{p.name}": p.read_bytes() for p in sorted(files.iterdir()) if p.is_file()})
    return found


@pytest.fixture(scope="module", params=sorted(STORIES))
def story(lab: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    faults: dict[str, str] = STORIES[request.param]
    work = TEST_STATE / "apply-credentials" / request.param
    work.mkdir(parents=True, exist_ok=True)
    devices = netsim_devices(lab["spec"], lab["hosts"])
    reset_devices(DEVICES)
    s: dict[str, Any] = {"work": work, "faults": faults}
    try:
        plan = work / "plan.json"
        s["plan_run"] = run_cli("plan", *host_args(DEVICES), "--out", str(plan), "--no-progress",
                                HARDENING_OPERATOR=PLANNER)
        s["plan"] = json.loads(plan.read_text(encoding="utf-8"))
        s["approve"] = approve_plan(plan)
        # between approval and apply: a secret in each faulted device's vault entry changes to one it refuses
        s["wrong"] = {name: f"Wrong-{field}-{secrets.token_hex(8)}" for name, field in faults.items()}
        env: dict[str, str] = {}
        for name, field in faults.items():
            entry = {**devices[name]["credentials"], field: s["wrong"][name]}
            env.update(credential_variables(lab["hosts"][name]["data"]["credentials"], entry))
        s["before"] = {name: device_state(devices[name]) for name in faults}
        result = work / "apply.result.json"
        s["apply"] = run_cli("apply", str(plan), "--out", str(result), "--no-progress", HARDENING_OPERATOR=PLANNER,
                             **env)
        assert result.exists(), s["apply"].stderr
        s["result"] = json.loads(result.read_text(encoding="utf-8"))
        s["after"] = {name: device_state(devices[name]) for name in faults}
        s["ledger"] = [json.loads(line) for line in (TEST_STATE / "ledger.jsonl").read_text().splitlines()]
        yield s
    finally:
        reset_devices(DEVICES)


def test_the_plan_was_approved_with_changes_for_every_device(story: dict[str, Any]) -> None:
    assert story["plan_run"].returncode == 2, story["plan_run"].stderr
    assert story["approve"].returncode == 0, story["approve"].stderr
    for name in DEVICES:
        assert story["plan"]["hosts"][name]["changes"], name


def test_a_refused_credential_leaves_the_device_untouched(story: dict[str, Any]) -> None:
    for name, field in story["faults"].items():
        record = story["result"]["hosts"][name]
        assert record["status"] == "refused", record
        assert REASONS[(field, name)] in str(record["message"]), record
        assert record["applied"] == []
        assert record["backup"] is None
        assert story["after"][name] == story["before"][name], f"{name}: the device's configuration changed"
    assert story["apply"].returncode == 1   # a refused host makes the run an error


def test_the_ledger_records_the_refusal_with_its_reason(story: dict[str, Any]) -> None:
    entries = [e for e in story["ledger"] if e["action"] == "apply"
               and e["subject"].get("plan_id") == story["plan"]["plan_id"]]
    assert len(entries) == 1
    hosts = entries[0]["subject"]["hosts"]
    for name in story["faults"]:
        assert hosts[name]["status"] == "refused"
        assert hosts[name]["message"] == story["result"]["hosts"][name]["message"]
    # nothing was changed on them, so there is nothing to roll back
    assert not [e for e in story["ledger"] if e["action"] == "rollback"
                and e["subject"].get("plan_id") == story["plan"]["plan_id"]]


def test_the_other_devices_are_applied_and_verified(story: dict[str, Any]) -> None:
    others = [name for name in DEVICES if name not in story["faults"]]
    assert len(others) == 2
    for name in others:
        record = story["result"]["hosts"][name]
        assert record["status"] in {"applied", "applied_with_drift"}, (name, record)
        assert record["plan_matches"] is True
        fixed = {rid for rid, verdict in record["verify"].items() if verdict == "fixed"}
        assert fixed, (name, record["verify"])
        assert not [v for v in record["verify"].values() if v not in {"fixed", "still manual"}], record["verify"]


def test_no_secret_right_or_wrong_in_any_artifact(lab: dict[str, Any], story: dict[str, Any]) -> None:
    values = netsim_secrets(lab) | set(story["wrong"].values())
    texts = {f"{step} {stream}": getattr(story[step], stream) for step in ("plan_run", "approve", "apply")
             for stream in ("stdout", "stderr")}
    backups = TEST_STATE / "backups"   # apply's pre-change backups: the real configuration, 0600, not searched
    for path in sorted(p for p in [*story["work"].rglob("*"), TEST_STATE / "ledger.jsonl"] if p.is_file()):
        texts[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    for path in sorted(p for p in backups.rglob("*") if p.is_file()):
        assert path.stat().st_mode & 0o077 == 0, f"{path}: a configuration backup readable by others"
    leaks = sorted({(name, value) for name, text in texts.items() for value in values
                    if re.search(rf"(?<![\w$]){re.escape(value)}(?![\w$])", text)})
    assert leaks == []
