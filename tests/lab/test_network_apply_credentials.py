"""Credentials that go wrong between approval and apply, on the lab's simulated devices through the CLI: the vault
entry of one router now has a wrong enable secret and that of the firewall a wrong login password (an admin's
HARDENING_CRED_* variables override the vault entry, as a rotated secret would). The apply refuses those two
before touching them: their configuration (running and saved) is byte-equal to before, the failure is in the apply
result and the ledger with its reason, no secret (right or wrong) reaches any artifact, and the other devices of
the same apply are changed and verified.

One module fixture runs the story once; the devices are reset to their planted configurations before and after.
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
WRONG_ENABLE = "rt-ios-02"      # its enable secret in the vault entry is wrong at apply time
WRONG_LOGIN = "fw-fgt-02"    # its login password is wrong at apply time
FAULTED = [WRONG_ENABLE, WRONG_LOGIN]
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


@pytest.fixture(scope="module")
def story(lab: dict[str, Any]) -> Iterator[dict[str, Any]]:
    work = TEST_STATE / "apply-credentials"
    work.mkdir(exist_ok=True)
    devices = netsim_devices(lab["spec"], lab["hosts"])
    reset_devices(DEVICES)
    s: dict[str, Any] = {"work": work}
    try:
        plan = work / "plan.json"
        s["plan_run"] = run_cli("plan", *host_args(DEVICES), "--out", str(plan), "--no-progress",
                                HARDENING_OPERATOR=PLANNER)
        s["plan"] = json.loads(plan.read_text(encoding="utf-8"))
        s["approve"] = approve_plan(plan)
        # between approval and apply: the secrets in the vault entries change (to values the devices refuse)
        ios = dict(devices[WRONG_ENABLE]["credentials"])
        fgt = dict(devices[WRONG_LOGIN]["credentials"])
        s["wrong"] = {WRONG_ENABLE: f"Wrong-Enable-{secrets.token_hex(8)}",
                      WRONG_LOGIN: f"Wrong-Login-{secrets.token_hex(8)}"}
        env = {**credential_variables(lab["hosts"][WRONG_ENABLE]["data"]["credentials"],
                                      {**ios, "enable_secret": s["wrong"][WRONG_ENABLE]}),
               **credential_variables(lab["hosts"][WRONG_LOGIN]["data"]["credentials"],
                                      {**fgt, "password": s["wrong"][WRONG_LOGIN]})}
        s["before"] = {name: device_state(devices[name]) for name in FAULTED}
        result = work / "apply.result.json"
        s["apply"] = run_cli("apply", str(plan), "--out", str(result), "--no-progress", HARDENING_OPERATOR=PLANNER,
                             **env)
        assert result.exists(), s["apply"].stderr
        s["result"] = json.loads(result.read_text(encoding="utf-8"))
        s["after"] = {name: device_state(devices[name]) for name in FAULTED}
        s["ledger"] = [json.loads(line) for line in (TEST_STATE / "ledger.jsonl").read_text().splitlines()]
        yield s
    finally:
        reset_devices(DEVICES)


def test_the_plan_was_approved_with_changes_for_every_device(story: dict[str, Any]) -> None:
    assert story["plan_run"].returncode == 2, story["plan_run"].stderr
    assert story["approve"].returncode == 0, story["approve"].stderr
    for name in DEVICES:
        assert story["plan"]["hosts"][name]["changes"], name


@pytest.mark.parametrize(("name", "reason"), [
    (WRONG_ENABLE, "privileged mode refused: the enable secret is wrong"),
    (WRONG_LOGIN, "authentication refused"),
])
def test_a_refused_credential_leaves_the_device_untouched(story: dict[str, Any], name: str, reason: str) -> None:
    record = story["result"]["hosts"][name]
    assert record["status"] == "refused", record
    assert reason in str(record["message"]), record
    assert record["applied"] == []
    assert record["backup"] is None
    assert story["after"][name] == story["before"][name], "the device's configuration changed"
    assert story["apply"].returncode == 1   # a refused host makes the run an error


def test_the_ledger_records_the_refusal_with_its_reason(story: dict[str, Any]) -> None:
    entries = [e for e in story["ledger"] if e["action"] == "apply"
               and e["subject"].get("plan_id") == story["plan"]["plan_id"]]
    assert len(entries) == 1
    hosts = entries[0]["subject"]["hosts"]
    for name in FAULTED:
        assert hosts[name]["status"] == "refused"
        assert hosts[name]["message"] == story["result"]["hosts"][name]["message"]
    # nothing was changed on them, so there is nothing to roll back
    assert not [e for e in story["ledger"] if e["action"] == "rollback"
                and e["subject"].get("plan_id") == story["plan"]["plan_id"]]


def test_the_other_devices_are_applied_and_verified(story: dict[str, Any]) -> None:
    for name in DEVICES:
        if name in FAULTED:
            continue
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
