"""Issue 10's "what it must show", on the lab's simulated printers (lab/mfpsim: snmpsim agents with v2c and v3 users
serving the vendors' OID layouts, a web-admin login simulator counting attempts, TCP listeners for the risky
services, in netns hlab-mfpsim), through the stock `hardening` CLI as admins, attesters and reviewers use it.

One module fixture runs the story once, in order, and records it; the tests assert on the record:
1. an audit of every printer of a copy of the demo inventory plus the lab-only fault hosts
   (lab/mfpsim/inventory.yaml `lab_only`): per requirement and vendor profile, each drift lab.yaml plants fails with
   its clause, the rest passes; what a vendor's profile has no object for is `manual` (lab.yaml
   `mfpsim.hosts.<h>.manual`), never `pass`; mfp-silent, mfp-badkey, mfp-badcomm are `error` with the reason; the
   unknown vendor's vendor-neutral checks are evaluated and its vendor settings `manual` with the reason;
2. a second audit of the printers: the simulator's attempt counter (attempts.json) shows at most one login attempt per
   host x account for each run (deltas), and none for the unknown vendor;
3. the offline audit of the first run's captures gives the live verdicts (and makes no login attempt); without
   probes.json (the SNMP walk alone) a verdict may only differ where a live-only fact is missing (`error`/`manual`);
4. the attestation lifecycle of MFP-ERASE on one printer: `manual` -> the host's administrator attesting is refused
   (exit 1, nothing written) -> a registry person who is not its administrator attests -> `pass` (attested, evidence
   hash in the JSON report) -> `fail` (expired) when evaluated after the expiry;
5. the plan of the drifted printers shows each vendor's manual steps in Japanese; where a profile can write a
   setting by SNMP SET: second-person approval -> apply -> the re-audit passes -> the second plan is empty, and a
   printer whose state plants a failing SET ends with its prior values (rolled back);
6. no device password, community or SNMPv3 key in any artifact of the run (reports, captures, facts, plans,
   attestation, ledger, stdout/stderr of every command).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.lab.labtools import (
    LAB_STATE,
    ROOT,
    TEST_STATE,
    approve_plan,
    expected_failures,
    host_args,
    mfpsim_manual,
    mfpsim_secrets,
    planted_drift_misses,
    reset_devices,
    run_cli,
)

from hardening.core.catalog import load_catalog

CATALOG = load_catalog(ROOT / "schemas" / "requirements")
PROFILES = yaml.safe_load((ROOT / "src" / "hardening" / "platforms" / "mfp" / "profiles.yaml").read_text(
    encoding="utf-8"))["profiles"]
MFP_INVENTORY = ROOT / "lab" / "mfpsim" / "inventory.yaml"
HOST_STATES = ROOT / "lab" / "mfpsim" / "hosts"
FAULTS = {"mfp-silent": "DeviceTimeout", "mfp-badkey": "AuthenticationFailed", "mfp-badcomm": "DeviceTimeout"}
UNKNOWN = "mfp-generic-01"
ATTEST_HOST = "mfp-ricoh-01"
ATTESTED = "MFP-ERASE"
TIMEOUT = 8
PLANNER = "yamada"


# -- what lab.yaml and the simulator say ------------------------------------------------------------------------


def mfpsim_hosts(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """lab.yaml `mfpsim.hosts`: every simulated printer (demo inventory and lab-only fault hosts) -> its entry."""
    return {name: entry or {} for name, entry in ((spec.get("mfpsim") or {}).get("hosts") or {}).items()}


def mfpsim_expected_failures(spec: dict[str, Any]) -> dict[str, set[str]]:
    """printer -> requirement ids its planted drifts break (lab.yaml `hosts:`, as for every lab host)."""
    return {name: reqs for name, reqs in expected_failures(spec).items() if name in mfpsim_hosts(spec)}


def mfpsim_attempts() -> dict[tuple[str, str], int]:
    """The web-admin simulator's login attempts so far, (host, account) -> count (lab/mfpsim/web.py writes
    attempts.json: host -> account -> {attempts, accepted, last_at}); none yet = {}."""
    path = LAB_STATE / "mfpsim" / "attempts.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {(host, account): int(entry["attempts"]) for host, accounts in data.items()
            for account, entry in accounts.items()}


def vault_credentials() -> dict[str, dict[str, Any]]:
    """The lab vault's credential entries (decrypted as the product does; root-only files)."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    password = (LAB_STATE / "vault-pass").read_bytes().strip()
    plain = VaultLib([("default", VaultSecret(password))]).decrypt((LAB_STATE / "vault.yml").read_bytes())
    return (yaml.safe_load(plain) or {}).get("credentials") or {}


def device_secrets(spec: dict[str, Any], inventory: Path) -> set[str]:
    """Every secret of the simulated printers: the generated ones (labtools.mfpsim_secrets), the vault entries of
    every printer of the run's inventory, the device-side secrets of the fault hosts (a wrong v3 key or community
    derived from the vault's, lab/mfpsim/model.py), and the vendors' factory passwords (public, yet never printed;
    those equal to their account name and the factory communities public/private are words, not searched)."""
    from lab.mfpsim.model import derived_wrong

    hosts = yaml.safe_load((inventory / "hosts.yaml").read_text(encoding="utf-8")) or {}
    vault = vault_credentials()
    values = set(mfpsim_secrets())
    for name in mfpsim_hosts(spec):
        entry = vault.get(((hosts.get(name) or {}).get("data") or {}).get("credentials", name)) or {}
        values.update(str(v) for k, v in entry.items() if k != "username" and v)
    found = values | {derived_wrong(v, prefix) for v in values for prefix in ("Auth-", "c", "A", "P")}
    for profile in PROFILES.values():
        found.update(a["password"] for a in profile["web_admin"]["default_accounts"] if a["password"] != a["account"])
    return {s for s in found if len(s) >= 6}


def mfp_requirements() -> dict[str, Any]:
    return {rid: req for rid, req in CATALOG.items() if "mfp" in req.device_classes}


def attestation_only() -> set[str]:
    """Requirements no remote read can prove on a printer (check: manual for platform mfp): attestation only."""
    return {rid for rid, req in mfp_requirements().items() if req.automation_for("mfp")["check"] == "manual"}


def _lab_only() -> dict[str, Any]:
    """The lab-only fault printers (lab/mfpsim/inventory.yaml `lab_only`), added to a copy of the inventory."""
    return (yaml.safe_load(MFP_INVENTORY.read_text(encoding="utf-8")) or {}).get("lab_only") or {}


def _host_data(inventory: Path, name: str) -> dict[str, Any]:
    """The host's merged `data` (host over its groups over defaults), read as the inventory files hold it."""
    hosts = yaml.safe_load((inventory / "hosts.yaml").read_text(encoding="utf-8"))
    groups = yaml.safe_load((inventory / "groups.yaml").read_text(encoding="utf-8")) or {}
    defaults = yaml.safe_load((inventory / "defaults.yaml").read_text(encoding="utf-8")) or {}
    data: dict[str, Any] = dict(defaults.get("data") or {})
    for group in reversed(hosts[name].get("groups") or []):
        data.update((groups.get(group) or {}).get("data") or {})
    data.update(hosts[name].get("data") or {})
    return data


class Story:
    """The record of the module's one run: every CLI call (their stdout/stderr go to the secret grep)."""

    def __init__(self, work: Path, inventory: Path) -> None:
        self.work = work
        self.inventory = inventory
        self.runs: list[subprocess.CompletedProcess[str]] = []
        self.record: dict[str, Any] = {}

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        proc = run_cli(*args, **env)
        self.runs.append(proc)
        return proc

    def audit(self, name: str, hosts: list[str], *extra: str, **env: str) -> dict[str, Any]:
        out = self.work / name
        start = time.monotonic()
        proc = self.cli("audit", *host_args(hosts), "--inventory", str(self.inventory), "--out", str(out),
                        "--no-progress", "--timeout", str(TIMEOUT), *extra, **env)
        elapsed = time.monotonic() - start
        if (out / "report.json").exists():
            report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        else:   # recorded, not asserted here: each test that reads this run fails on its own, with the reason
            report = {"hosts": [], "findings": [], "no_report": (proc.stdout + proc.stderr)[-2000:]}
        return {"proc": proc, "report": report, "out": out, "elapsed": elapsed}

    def facts(self, run: str, host: str) -> dict[str, Any]:
        return json.loads((self.record[run]["out"] / "facts" / f"{host}.json").read_text(encoding="utf-8"))


def _attest(story: Story, person: str, evidence: Path, expires: dt.date) -> subprocess.CompletedProcess[str]:
    key = TEST_STATE / f"{person}.key"
    if not key.exists():
        key.write_bytes((ROOT / "lab" / "keys" / f"{person}.key").read_bytes())
        key.chmod(0o600)
    return story.cli("attest", "--host", ATTEST_HOST, "--requirement", ATTESTED, "--evidence", str(evidence),
                     "--expires", expires.isoformat(), "--key", str(key), "--inventory", str(story.inventory),
                     "--statement", "HDD erased by the vendor (certificate)", HARDENING_OPERATOR=person,
                     HARDENING_LEDGER=str(ATTEST_LEDGER))


# The attestation story keeps its own ledger: an attestation in the session's ledger would change the verdicts of
# the lab tests that run after this one (the offline demo audit compares with a live audit made before it).
ATTEST_LEDGER = TEST_STATE / "mfp-attestations.jsonl"


def _ledger() -> list[dict[str, Any]]:
    path = ATTEST_LEDGER
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _attestation_story(story: Story, printers: list[str]) -> None:
    """Step 4: manual -> refused for the administrator -> attested -> pass -> expired -> fail."""
    r = story.record
    registry = yaml.safe_load((ROOT / "inventory" / "approvers.yaml").read_text(encoding="utf-8"))["approvers"]
    people = sorted(name for name in registry if (ROOT / "lab" / "keys" / f"{name}.key").exists())
    admins = list(_host_data(story.inventory, ATTEST_HOST).get("administrators") or [])
    if not set(admins) & set(people):
        # the demo names no registry person as this printer's administrator: the test's copy of the inventory
        # makes one of them its administrator, so that separation of duties can be shown refusing
        hosts = yaml.safe_load((story.inventory / "hosts.yaml").read_text(encoding="utf-8"))
        admins = [*admins, people[-1]]
        hosts[ATTEST_HOST].setdefault("data", {})["administrators"] = admins
        (story.inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    r["attest_admin"] = next(p for p in people if p in admins)
    r["attester"] = next(p for p in people if p not in admins)
    evidence = story.work / "erasure-certificate-mfp-ricoh-01.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% vendor erasure certificate (lab)\n" + ATTEST_HOST.encode() + b"\n%%EOF\n")
    r["evidence_sha256"] = hashlib.sha256(evidence.read_bytes()).hexdigest()
    today = dt.date.today()
    r["expires"] = today + dt.timedelta(days=30)
    before = len(_ledger())
    r["attest_refused"] = _attest(story, r["attest_admin"], evidence, r["expires"])
    r["ledger_after_refusal"] = len(_ledger()) - before
    r["attest_ok"] = _attest(story, r["attester"], evidence, r["expires"])
    r["attested"] = story.audit("audit-attested", [ATTEST_HOST], HARDENING_LEDGER=str(ATTEST_LEDGER))
    r["expired"] = evaluate_on(story, r["expires"] + dt.timedelta(days=1), r["attested"]["out"] / "captures")
    del printers


def evaluate_on(story: Story, day: dt.date, captures: Path) -> dict[str, Any]:
    """The attested printer evaluated on a later `day` (the CLI has no clock override, evaluation has: run_audit's
    `today`), offline from the captures of its last audit, with the attestations the CLI reads (the ledger's
    verified attest entries, hardening.cli._with_attestations): the report document."""
    from hardening.audit import load_inputs, run_audit
    from hardening.changes.attest import read_attestations
    from hardening.changes.ledger import Ledger
    from hardening.core.run import RunOptions
    from hardening.core.scope import Selection
    from hardening.core.secrets import SecretStore

    inputs = load_inputs(story.inventory, ROOT / "schemas" / "requirements")
    found = read_attestations(Ledger(ATTEST_LEDGER), ROOT / "inventory" / "approvers.yaml",
                              inputs.inventory.hosts, inputs.catalog)
    assert found.error is None, found.error
    inputs = dataclasses.replace(inputs, attestations=found)
    report, _results = run_audit(inputs, Selection(hosts=[ATTEST_HOST]), SecretStore(),
                                 RunOptions(timeout=TIMEOUT, workers=1, progress=False), today=day,
                                 offline_from=captures)
    return {"report": report}


def _plan_story(story: Story, drifted: list[str]) -> None:
    """Step 5: the drifted printers planned and shown in Japanese; where the plan holds SNMP SETs (settings a
    profile can write), approved by a second person and applied (a printer with a planted SET failure among them),
    then planned again."""
    r = story.record
    r["plan"] = _plan(story, "plan", drifted)
    r["show"] = story.cli("show", str(r["plan"]["path"]), "--format", "markdown", "--lang", "ja")
    with_sets = [name for name, entry in r["plan"]["plan"]["hosts"].items() if entry.get("changes")]
    r["set_hosts"] = with_sets
    if not with_sets:
        return
    r["set_state_before"] = {name: _settings(story, "audit", name) for name in with_sets}
    approved = approve_plan(r["plan"]["path"])
    story.runs.append(approved)
    assert approved.returncode == 0, approved.stderr
    result = story.work / "apply.result.json"
    proc = story.cli("apply", str(r["plan"]["path"]), "--inventory", str(story.inventory), "--out", str(result),
                     "--no-progress", "--timeout", str(TIMEOUT), HARDENING_OPERATOR=PLANNER)
    assert result.exists(), proc.stdout + proc.stderr
    r["apply"] = {"proc": proc, "result": json.loads(result.read_text(encoding="utf-8"))}
    r["after_apply"] = story.audit("audit-after-apply", with_sets)
    r["second_plan"] = _plan(story, "second-plan", with_sets)


def _plan(story: Story, name: str, hosts: list[str]) -> dict[str, Any]:
    path = story.work / f"{name}.json"
    proc = story.cli("plan", *host_args(hosts), "--inventory", str(story.inventory), "--out", str(path),
                     "--no-progress", "--timeout", str(TIMEOUT), HARDENING_OPERATOR=PLANNER)
    assert path.exists(), proc.stdout + proc.stderr
    return {"proc": proc, "path": path, "plan": json.loads(path.read_text(encoding="utf-8"))}


def _settings(story: Story, run: str, name: str) -> dict[str, Any]:
    """The printer's settings as its audit read them (/storage, /logging, /time: what an SNMP SET can change)."""
    facts = story.facts(run, name)["facts"]
    return {"storage": facts.get("storage"), "logging": facts.get("logging"),
            "ntp_servers": (facts.get("time") or {}).get("ntp_servers")}


@pytest.fixture(scope="module")
def story(lab: dict[str, Any]) -> Story:
    work = TEST_STATE / "mfp"
    work.mkdir(exist_ok=True)
    inventory = work / "inventory"
    shutil.copytree(ROOT / "inventory", inventory)
    hosts = yaml.safe_load((inventory / "hosts.yaml").read_text(encoding="utf-8"))
    hosts.update(_lab_only())
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    s = Story(work, inventory)
    r = s.record
    printers = sorted(name for name in mfpsim_hosts(lab["spec"]) if name in lab["hosts"])
    faults = sorted(name for name in _lab_only() if name in mfpsim_hosts(lab["spec"]))
    r["printers"], r["faults"] = printers, faults
    started = time.monotonic()
    # 1. + 2. two audits, the attempt counter read before, between and after
    r["attempts"] = [mfpsim_attempts()]
    r["audit"] = s.audit("audit", [*printers, *faults])
    r["attempts"].append(mfpsim_attempts())
    r["audit2"] = s.audit("audit-again", printers)
    r["attempts"].append(mfpsim_attempts())
    # 3. offline, from the captures the first audit kept; then the SNMP walks alone
    captures = r["audit"]["out"] / "captures"
    r["offline"] = s.audit("offline", printers, "--from", str(captures))
    walks = work / "walks-only"
    for name in printers:
        (walks / name).mkdir(parents=True)
        if (captures / name / "snmpwalk.txt").exists():
            shutil.copy2(captures / name / "snmpwalk.txt", walks / name / "snmpwalk.txt")
    r["walks_only"] = s.audit("offline-walks", printers, "--from", str(walks))
    r["attempts"].append(mfpsim_attempts())
    # 4. attestation lifecycle
    _attestation_story(s, printers)
    # 5. plan
    expected = mfpsim_expected_failures(lab["spec"])
    try:
        _plan_story(s, [name for name in printers if expected.get(name)])
    finally:
        if r.get("set_hosts"):
            reset_devices(r["set_hosts"])   # the printers' planted values again, for the other lab tests
    r["duration_s"] = time.monotonic() - started
    return s


def _findings(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["host"], f["requirement"]): f for f in report["findings"]}


def _host(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(h for h in report["hosts"] if h["name"] == name)


# -- 1. the audit over the wire, per requirement and vendor profile ---------------------------------------------


def test_every_printer_of_the_lab_is_audited(lab: dict[str, Any], story: Story) -> None:
    r = story.record
    assert len(r["printers"]) >= 2 * len(PROFILES) + 1, r["printers"]
    assert set(FAULTS) <= set(r["faults"]), r["faults"]
    assert UNKNOWN in r["printers"]
    hosts = {h["name"]: h for h in r["audit"]["report"]["hosts"]}
    assert set(hosts) == {*r["printers"], *r["faults"]}
    for name in r["printers"]:
        assert hosts[name]["platform"] == "mfp"
        assert hosts[name]["status"] != "error", (name, hosts[name].get("error"))
    del lab


def test_every_planted_drift_fails_with_its_clause_and_the_rest_passes(lab: dict[str, Any], story: Story) -> None:
    expected = mfpsim_expected_failures(lab["spec"])
    for_a_person = mfpsim_manual(lab["spec"])
    only_attested = attestation_only()
    findings = _findings(story.record["audit"]["report"])
    clauses = {rid: requirement.clause for rid, requirement in CATALOG.items()}
    assert planted_drift_misses(findings, list(story.record["printers"]), expected, for_a_person, clauses,
                                only_attested) == []


def test_each_vendor_profile_is_recognised_with_a_compliant_and_a_drifted_printer(lab: dict[str, Any],
                                                                                  story: Story) -> None:
    expected = mfpsim_expected_failures(lab["spec"])
    report = story.record["audit"]["report"]
    by_vendor: dict[str | None, dict[str, list[str]]] = {}
    for name in story.record["printers"]:
        facts = story.facts("audit", name)["facts"]
        state = yaml.safe_load((HOST_STATES / f"{name}.yaml").read_text(encoding="utf-8")) or {}
        vendor = facts["os"].get("vendor")
        assert vendor == (state.get("vendor") if state.get("vendor") in PROFILES else None), (name, vendor)
        statuses = {f["evaluated_status"] for f in report["findings"] if f["host"] == name}
        kind = "drifted" if expected.get(name) else "compliant"
        assert (kind == "drifted") == ("fail" in statuses), (name, kind, statuses)
        by_vendor.setdefault(vendor, {}).setdefault(kind, []).append(name)
    for vendor in PROFILES:
        assert by_vendor.get(vendor, {}).keys() == {"compliant", "drifted"}, (vendor, by_vendor.get(vendor))
    assert None in by_vendor, "no printer of an unknown vendor"


def test_every_printer_requirement_has_a_pass_and_a_fail(lab: dict[str, Any], story: Story) -> None:
    """Among the lab's printers every requirement of class mfp both passes and fails, except one a person judges on
    every printer (attestation only, or no profile has its SNMP object; lab.yaml `mfpsim.hosts.<h>.manual`): that
    one is `manual` on every printer (MFP-ERASE passes and fails by the attestation lifecycle below)."""
    requirements = mfp_requirements()
    assert {"PW-VENDOR-DEFAULT", "MFP-STORAGE", "MFP-ERASE", "PORTS-CLOSED", "MGMT-SECURE-PROTOCOLS",
            "TIME-SYNC", "LOG-FORWARD"} <= set(requirements), sorted(requirements)
    assert "MFP-ERASE" in attestation_only()
    for_a_person = mfpsim_manual(lab["spec"])
    printers = story.record["printers"]
    seen: dict[str, set[str]] = {rid: set() for rid in requirements}
    for finding in story.record["audit"]["report"]["findings"]:
        if finding["host"] in printers and finding["requirement"] in seen:
            seen[finding["requirement"]].add(finding["evaluated_status"])
    everywhere_manual = {rid for rid in requirements if all((name, rid) in for_a_person for name in printers)}
    assert attestation_only() <= everywhere_manual
    missing = {rid: sorted(v) for rid, v in seen.items()
               if rid not in everywhere_manual and not {"pass", "fail"} <= v}
    assert missing == {}
    assert {rid: seen[rid] for rid in everywhere_manual} == {rid: {"manual"} for rid in everywhere_manual}


def test_a_setting_the_profile_has_no_object_for_is_manual_with_the_reason(lab: dict[str, Any],
                                                                           story: Story) -> None:
    for_a_person = mfpsim_manual(lab["spec"])
    findings = _findings(story.record["audit"]["report"])
    for name, rid in sorted(for_a_person):
        if name not in story.record["printers"]:
            continue
        finding = findings[(name, rid)]
        assert finding["evaluated_status"] == "manual", (name, rid, finding["evaluated_status"])
        if CATALOG[rid].automation_for("mfp")["check"] == "manual":
            continue        # a person checks it on every printer (MFP-ERASE): no fact to name
        reasons = story.facts("audit", name)["manual"]
        pointers = set(CATALOG[rid].facts_for("mfp")) & set(reasons)
        assert pointers, (name, rid, sorted(reasons))
        assert all(reasons[p] for p in pointers)


# -- failures: fault hosts and the unknown vendor ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_host_is_error_with_the_reason_never_pass(story: Story, name: str) -> None:
    report = story.record["audit"]["report"]
    host = _host(report, name)
    assert host["status"] == "error", host
    assert host["error_kind"] == FAULTS[name], host
    assert host["error"], host
    assert host["facts_file"] is None
    assert host["duration_s"] < TIMEOUT + 3
    words = {"mfp-silent": "no SNMP answer", "mfp-badcomm": "community", "mfp-badkey": "authentication"}
    assert words[name].lower() in host["error"].lower(), host["error"]
    statuses = {f["status"] for f in report["findings"] if f["host"] == name}
    assert "error" in statuses
    # a requirement a person checks on every printer (MFP-ERASE: erasure at disposal) stays manual, reachable or not
    by_person = {rid for rid, req in CATALOG.items() if req.automation_for("mfp")["check"] == "manual"}
    assert statuses <= {"error", "not_applicable"} | ({"manual"} if by_person else set())
    assert all(f["requirement"] in by_person for f in report["findings"]
               if f["host"] == name and f["status"] == "manual")


def test_the_audit_with_fault_hosts_exits_1_within_the_time_budget(story: Story) -> None:
    audit = story.record["audit"]
    assert audit["proc"].returncode == 1, audit["proc"].stderr
    assert audit["elapsed"] < TIMEOUT + 30


def test_unknown_vendor_gets_the_neutral_checks_and_manual_for_vendor_settings(story: Story) -> None:
    document = story.facts("audit", UNKNOWN)
    facts, manual = document["facts"], document["manual"]
    assert facts["os"]["family"] == "mfp"
    assert facts["os"].get("vendor") is None
    assert manual, "no vendor setting left to a person"
    assert all(isinstance(reason, str) and reason for reason in manual.values())
    findings = {rid: f for (host, rid), f in _findings(story.record["audit"]["report"]).items() if host == UNKNOWN}
    evaluated = {rid for rid, f in findings.items() if f["evaluated_status"] in ("pass", "fail")}
    assert {"PORTS-CLOSED", "MGMT-SECURE-PROTOCOLS"} <= evaluated, findings
    vendor_settings = [rid for rid in findings if set(CATALOG[rid].facts_for("mfp")) & set(manual)]
    assert vendor_settings, sorted(manual)
    for rid in vendor_settings:
        assert findings[rid]["evaluated_status"] in ("manual", "fail"), (rid, findings[rid]["evaluated_status"])
        assert findings[rid]["status"] != "pass"
    assert findings["PW-VENDOR-DEFAULT"]["evaluated_status"] == "manual", findings["PW-VENDOR-DEFAULT"]


# -- 2. the default-credential check -----------------------------------------------------------------------------


def _delta(before: dict[tuple[str, str], int], after: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    return {key: after.get(key, 0) - before.get(key, 0) for key in set(before) | set(after)
            if after.get(key, 0) != before.get(key, 0)}


def test_at_most_one_login_attempt_per_account_per_run(story: Story) -> None:
    attempts = story.record["attempts"]
    first, second = _delta(attempts[0], attempts[1]), _delta(attempts[1], attempts[2])
    for run in (first, second):
        assert run, "no login attempt recorded: the check did not run"
        assert max(run.values()) == 1, {k: v for k, v in run.items() if v != 1}
    assert set(second) == set(first)
    tried = {host for host, _account in first}
    known = [name for name in story.record["printers"] if name != UNKNOWN]
    assert tried == set(known), (sorted(tried), known)      # the unknown vendor: no profile, no attempt
    for name in known:
        vendor = story.facts("audit", name)["facts"]["os"]["vendor"]
        accounts = {a["account"] for a in PROFILES[vendor]["web_admin"]["default_accounts"]}
        assert {account for host, account in first if host == name} == accounts, name
    assert _delta(attempts[2], attempts[3]) == {}, "an offline audit tried a login"


def test_a_default_login_accepted_fails_pw_vendor_default_without_the_password(lab: dict[str, Any],
                                                                               story: Story) -> None:
    expected = mfpsim_expected_failures(lab["spec"])
    findings = _findings(story.record["audit"]["report"])
    planted = [name for name in story.record["printers"] if "PW-VENDOR-DEFAULT" in expected.get(name, set())]
    assert planted
    for name in planted:
        assert findings[(name, "PW-VENDOR-DEFAULT")]["evaluated_status"] == "fail"
        accepted = story.facts("audit", name)["facts"]["accounts"]["default_credentials_accepted"]
        assert accepted
        assert all(set(entry) <= {"service", "account", "detail"} for entry in accepted), accepted


# -- 3. offline ---------------------------------------------------------------------------------------------------


def test_offline_audit_of_the_captures_gives_the_live_verdicts(story: Story) -> None:
    r = story.record
    printers = set(r["printers"])
    live = {k: f["status"] for k, f in _findings(r["audit"]["report"]).items() if k[0] in printers}
    offline = {k: f["status"] for k, f in _findings(r["offline"]["report"]).items()}
    assert offline == live


def test_the_walk_alone_differs_only_where_a_live_only_fact_is_missing(story: Story) -> None:
    r = story.record
    printers = set(r["printers"])
    live = {k: f for k, f in _findings(r["audit"]["report"]).items() if k[0] in printers}
    walks = _findings(r["walks_only"]["report"])
    assert set(walks) == set(live)
    differ = [k for k in live if live[k]["status"] != walks[k]["status"]]
    assert len(differ) < len(live), "nothing agrees: the walks were not parsed like the live captures"
    for key in differ:
        assert walks[key]["status"] in ("error", "manual"), (key, live[key]["status"], walks[key]["status"])
        assert "live only" in walks[key]["message"]["en"], (key, walks[key]["message"]["en"])
    for name in printers:
        if _host(r["audit"]["report"], name)["facts_file"] is None:
            continue      # no live capture of it (its own test says why)
        errors = json.loads((r["walks_only"]["out"] / "facts" / f"{name}.json").read_text(encoding="utf-8"))["errors"]
        assert "/management/web_admin" in errors or any(p.startswith("/management/web_admin") for p in errors)


# -- 4. attestation lifecycle -------------------------------------------------------------------------------------


def test_the_attestation_only_requirement_is_manual_before(story: Story) -> None:
    finding = _findings(story.record["audit"]["report"])[(ATTEST_HOST, ATTESTED)]
    assert finding["status"] == "manual", finding
    assert not finding.get("attestation")


def test_the_administrator_attesting_is_refused_and_nothing_written(story: Story) -> None:
    r = story.record
    refused = r["attest_refused"]
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert r["attest_admin"] in refused.stderr or "administrator" in refused.stderr.lower(), refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert r["ledger_after_refusal"] == 0


def test_attested_is_pass_with_the_evidence_hash(story: Story) -> None:
    r = story.record
    assert r["attest_ok"].returncode == 0, r["attest_ok"].stdout + r["attest_ok"].stderr
    [entry] = [e for e in _ledger() if e.get("action") == "attest"]
    assert entry["subject"]["host"] == ATTEST_HOST
    finding = _findings(r["attested"]["report"])[(ATTEST_HOST, ATTESTED)]
    assert finding["status"] == "pass", finding
    attestation = finding["attestation"]
    assert attestation["evidence_sha256"].removeprefix("sha256:") == r["evidence_sha256"]
    assert attestation["attester"] == r["attester"]     # the registry names the attester by the key
    assert attestation["expires"] == r["expires"].isoformat()
    assert attestation["expired"] is False
    assert attestation["ledger_seq"] == entry["seq"]
    html = (r["attested"]["out"] / "report.html").read_text(encoding="utf-8")
    assert r["evidence_sha256"][:16] in html


def test_expired_attestation_is_fail_with_the_expiry(story: Story) -> None:
    r = story.record
    same_day = _findings(evaluate_on(story, r["expires"], r["attested"]["out"] / "captures")["report"])
    assert same_day[(ATTEST_HOST, ATTESTED)]["status"] == "pass", "valid through its expiry day"
    finding = _findings(r["expired"]["report"])[(ATTEST_HOST, ATTESTED)]
    assert finding["status"] == "fail", finding
    assert finding["attestation"]["expired"] is True
    assert r["expires"].isoformat() in finding["message"]["en"], finding["message"]


# -- 5. plan ------------------------------------------------------------------------------------------------------


def test_the_plan_shows_each_drifted_printers_manual_steps_in_japanese(lab: dict[str, Any], story: Story) -> None:
    r = story.record
    planned = r["plan"]
    # 0: nothing SNMP can set (every printer setting is a manual step), 2: SETs planned
    assert planned["proc"].returncode in (0, 2), planned["proc"].stdout + planned["proc"].stderr
    if not any("manual_steps" in entry for entry in planned["plan"]["hosts"].values()):
        pytest.skip("plans carry no manual steps yet (plan format 1.1)")
    expected = mfpsim_expected_failures(lab["spec"])
    shown = r["show"].stdout
    assert r["show"].returncode == 0, r["show"].stderr
    checked = 0
    for name, entry in planned["plan"]["hosts"].items():
        vendor = story.facts("audit", name)["facts"]["os"]["vendor"]
        profile_steps = (PROFILES.get(vendor) or {}).get("manual_steps") or {}
        steps = {step["requirement"]: step for step in entry["manual_steps"]}
        assert set(steps) == set(entry["manual"]), name
        for rid in sorted(expected.get(name, set()) - set(entry["fix"])):
            if rid not in entry["manual"]:
                continue
            step = steps[rid]
            assert step["steps"]["ja"] in shown, (name, rid)
            assert step["note"]["ja"] in shown, (name, rid)
            if rid in profile_steps:       # the vendor's web-admin page and setting, not the catalog's words
                assert step["source"] == "platform", (name, rid, step)
                # the vendor's own words, prefixed with whose web administration they are in when the profile
                # gives a menu path alone
                assert step["steps"]["ja"].endswith(profile_steps[rid]["ja"].strip()), (name, rid)
                checked += 1
    assert checked, "no drifted printer with a vendor's own manual step planned"


def _set_story(story: Story) -> dict[str, Any]:
    r = story.record
    if not r.get("set_hosts"):
        pytest.skip("no profile has an SNMP-writable setting a drifted printer fails")
    return r


def _set_failures() -> set[str]:
    """Printers whose state plants a failing SNMP SET (lab/mfpsim/hosts/<h>.yaml `set_fails`)."""
    found = set()
    for path in HOST_STATES.glob("*.yaml"):
        if (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("set_fails"):
            found.add(path.stem)
    return found


def test_snmp_set_round_trip_plan_approve_apply_pass_empty_plan(story: Story) -> None:
    r = _set_story(story)
    fixed = [name for name in r["set_hosts"] if name not in _set_failures()]
    assert fixed, "every printer with SETs planned has a planted SET failure"
    before, after = _findings(r["audit"]["report"]), _findings(r["after_apply"]["report"])
    for name in fixed:
        entry = r["plan"]["plan"]["hosts"][name]
        record = r["apply"]["result"]["hosts"][name]
        assert record["status"] == "applied", record
        for rid in entry["fix"]:
            assert before[(name, rid)]["evaluated_status"] == "fail"
            assert record["verify"].get(rid) == "fixed", (name, rid, record["verify"])
            assert after[(name, rid)]["status"] == "pass", (name, rid)
        second = r["second_plan"]["plan"]["hosts"][name]
        assert second["changes"] == [], name
        assert second["fix"] == [], name


def test_a_failed_set_restores_the_prior_value(story: Story) -> None:
    r = _set_story(story)
    failing = [name for name in r["set_hosts"] if name in _set_failures()]
    if not failing:
        pytest.skip("no printer with SETs planned has a planted SET failure")
    assert r["apply"]["proc"].returncode == 1
    for name in failing:
        record = r["apply"]["result"]["hosts"][name]
        assert record["status"] == "rolled_back", record
        assert record["message"], record
        assert _settings(story, "after_apply", name) == r["set_state_before"][name]
        again = r["second_plan"]["plan"]["hosts"][name]
        before = r["plan"]["plan"]["hosts"][name]
        assert again["changes"] == before["changes"], name


# -- 6. secrets and the budget ------------------------------------------------------------------------------------


def test_no_device_secret_in_any_artifact(lab: dict[str, Any], story: Story) -> None:
    secrets = device_secrets(lab["spec"], story.inventory)
    assert len(secrets) >= len(story.record["printers"]), "the lab generated no SNMP keys?"
    texts = {f"run {i} {kind}": text for i, proc in enumerate(story.runs)
             for kind, text in (("stdout", proc.stdout), ("stderr", proc.stderr))}
    for path in sorted(p for p in story.work.rglob("*") if p.is_file()):
        if "inventory" not in path.relative_to(story.work).parts:
            texts[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    texts["ledger"] = (TEST_STATE / "ledger.jsonl").read_text(encoding="utf-8")
    texts["attestations"] = ATTEST_LEDGER.read_text(encoding="utf-8")
    assert any("captures" in name for name in texts)
    assert any(name.endswith("junit.xml") for name in texts)
    leaks = sorted({(name, secret) for name, text in texts.items() for secret in secrets if secret in text})
    assert leaks == []


def test_duration(story: Story) -> None:
    """The whole story stays lean: one audit with the fault hosts, the rest small."""
    assert story.record["duration_s"] < 90, story.record["duration_s"]
