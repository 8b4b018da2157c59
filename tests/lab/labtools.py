"""Helpers shared by the lab tests (imported as tests.lab.labtools; the fixtures live in conftest)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAB_STATE = Path("/var/lib/hardening-lab")
LAB_ENV = {
    "HARDENING_VAULT": str(LAB_STATE / "vault.yml"),
    "HARDENING_VAULT_PASSWORD_FILE": str(LAB_STATE / "vault-pass"),
    "HARDENING_KNOWN_HOSTS": str(LAB_STATE / "ssh" / "known_hosts"),
    "HARDENING_HOST_KEY_POLICY": "strict",
}
TEST_STATE = Path(tempfile.mkdtemp(prefix="hardening-labtest-"))


def lab_env(**extra: str) -> dict[str, str]:
    """The environment an admin's scheduled job would have, with a ledger of this test session."""
    return {**os.environ, **LAB_ENV, "HARDENING_OPERATOR": "lab-test",
            "HARDENING_LEDGER": str(TEST_STATE / "ledger.jsonl"),
            "HARDENING_HISTORY": str(TEST_STATE / "history.sqlite"), **extra}


def run_cli(*args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `hardening …` as an admin would (a separate process, real exit code)."""
    return subprocess.run([sys.executable, "-m", "hardening.cli", *args], capture_output=True, text=True,
                          env=lab_env(**env), timeout=timeout, check=False, cwd=ROOT)


def management_port(entry: dict[str, Any]) -> int:
    """The port a demo host is managed on: WinRM over HTTP (5985, always listening on the simulated Windows
    hosts) for the Windows groups, the web admin's HTTPS (443, listening on every simulated printer) for the
    printers, SSH (22) for every other host."""
    groups = [str(g) for g in entry.get("groups") or []]
    if "mfps" in groups:
        return 443
    return 5985 if any(g.startswith("windows") for g in groups) else 22


def reachable(ip: str, port: int = 22) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=2):
            return True
    except OSError:
        return False


def labctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "lab" / "labctl.py"), *args], capture_output=True, text=True,
                          check=False)


def wait_synced(names: list[str], timeout: float = 60) -> None:
    """Wait until chrony has synchronised every named host whose planted drifts leave time alone:
    the same wait `labctl up` does (lab/labctl.py wait-sync decides which hosts from lab.yaml)."""
    proc = labctl("wait-sync", "--timeout", f"{timeout:g}", *names)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def expected_failures(spec: dict[str, Any]) -> dict[str, set[str]]:
    """host -> requirement ids its planted drifts break (from lab/lab.yaml, the one place)."""
    drifts = spec["drifts"]
    result: dict[str, set[str]] = {}
    for host, drift_ids in (spec.get("hosts") or {}).items():
        result[host] = {req for drift in drift_ids or [] for req in drifts[drift]["requirements"]}
    return result


def lab_planted_secrets(spec: dict[str, Any]) -> list[str]:
    """Secrets the lab plants on hosts (lab/lab.yaml): SNMP communities and password hashes. They may
    never reach a report, a plan, the ledger or any output."""
    found: list[str] = []
    for drift in spec["drifts"].values():
        texts = [f.get("content") or f.get("append") or "" for f in drift.get("files") or []]
        texts += drift.get("run") or []
        for text in texts:
            found += re.findall(r"^\s*(?:ro|rw)community6?\s+(\S+)", text, re.M)
            found += re.findall(r"^\s*com2sec6?\s+\S+\s+\S+\s+(\S+)", text, re.M)
            found += re.findall(r"(\$(?:1|5|6|y|2[abxy])\$[^\s':]+)", text)
    return found


NETSIM_STATE = LAB_STATE / "netsim" / "devices"


def netsim_devices(spec: dict[str, Any], hosts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Simulated network devices (lab.yaml `netsim.devices`): name -> address, platform, credentials (from the
    lab's generated secrets, root-only), state dir (faults.json goes there)."""
    secrets = json.loads((LAB_STATE / "netsim-secrets.json").read_text(encoding="utf-8"))
    out: dict[str, dict[str, Any]] = {}
    for name, entry in ((spec.get("netsim") or {}).get("devices") or {}).items():
        host = hosts[name]
        out[name] = {"name": name, "ip": host["hostname"], "params": (entry or {}).get("params") or {},
                     "credentials": secrets[host["data"]["credentials"]], "state": NETSIM_STATE / name}
    return out


def winsim_secrets() -> list[str]:
    """The simulated Windows hosts' generated WinRM and BIOS passwords (root-only): none may reach any artifact."""
    generated = json.loads((LAB_STATE / "winsim-secrets.json").read_text(encoding="utf-8"))
    return [value for entry in generated.values() for key, value in entry.items() if key != "username"]


def mfpsim_secrets() -> list[str]:
    """The simulated printers' generated SNMPv3 keys, communities and web passwords (root-only): none may reach any
    artifact."""
    generated = json.loads((LAB_STATE / "mfpsim-secrets.json").read_text(encoding="utf-8"))
    return [value for entry in generated.values() for key, value in entry.items() if key != "username"]


def mfpsim_manual(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """(host, requirement) pairs lab.yaml's mfpsim says a person judges (no SNMP object in the vendor profile, or
    attestation only)."""
    return {(name, rid) for name, entry in ((spec.get("mfpsim") or {}).get("hosts") or {}).items()
            for rid in (entry or {}).get("manual") or []}


def winsim_manual(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """(host, requirement) pairs lab.yaml's winsim says a person judges (an unknown BIOS vendor's BOOT-PW)."""
    return {(name, rid) for name, entry in ((spec.get("winsim") or {}).get("hosts") or {}).items()
            for rid in (entry or {}).get("manual") or []}


def netsim_secrets(lab: dict[str, Any]) -> set[str]:
    """Every secret value the simulated devices hold: the lab's generated credentials and every value the project's
    own secret table masks in the devices' planted configurations. None may reach any artifact."""
    from hardening.core.secrets import mask_config_secrets

    found: set[str] = set()
    generated = json.loads((LAB_STATE / "netsim-secrets.json").read_text(encoding="utf-8"))
    for name in (lab["spec"].get("netsim") or {}).get("devices") or {}:
        credentials = generated[lab["hosts"][name]["data"]["credentials"]]
        found.update(v for k, v in credentials.items() if k != "username" and isinstance(v, str) and v)
    for config in sorted((ROOT / "lab" / "netsim" / "devices").glob("*.cfg")):
        for line in config.read_text(encoding="utf-8").splitlines():
            masked = mask_config_secrets(line)
            if masked != line:
                kept = set(masked.split())
                found.update(w.strip('"') for w in line.split() if w not in kept and len(w.strip('"')) >= 4)
    return found


# --- change control on the simulated network devices (plan -> approve -> apply through the CLI) ----------------

APPROVER = "suzuki"   # a reviewer of the demo (lab/keys/<name>.key), never the planner


def host_args(names: list[str]) -> list[str]:
    """`-H NAME` for each device (the CLI's host selection)."""
    return [arg for name in names for arg in ("-H", name)]


def reset_devices(names: list[str]) -> None:
    """The simulated devices back to their planted configurations (`labctl reset`); a simulator start slower than
    labctl's wait (a loaded machine) is retried once by `labctl up`."""
    proc = labctl("reset", *names)
    if proc.returncode != 0 and "not answering" in proc.stdout:
        proc = labctl("up")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def approve_plan(plan: Path, approver: str = APPROVER, **env: str) -> subprocess.CompletedProcess[str]:
    """`hardening approve` of the plan file by the second person (their demo key, copied 0600 into the run)."""
    key = TEST_STATE / f"{approver}.key"
    if not key.exists():
        key.write_bytes((ROOT / "lab" / "keys" / f"{approver}.key").read_bytes())
        key.chmod(0o600)
    return run_cli("approve", str(plan), "--approver", approver, "--key", str(key),
                   **{"HARDENING_OPERATOR": approver, **env})


def running_configurations(names: list[str], out: Path) -> dict[str, list[str]]:
    """Each device's running configuration as a live audit through the CLI captures it (secrets masked), without
    the lines its platform documents as changing by themselves (platform.yaml `volatile_lines`)."""
    from hardening.core.platform import platform_class
    from hardening.platforms.common.netcli import capture_file, load_platform_data

    proc = run_cli("audit", *host_args(names), "--out", str(out), "--no-progress")
    assert (out / "report.json").exists(), proc.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    platforms = {h["name"]: h["platform"] for h in report["hosts"]}
    found = {}
    for name in names:
        cls = platform_class(platforms[name])
        volatile = [re.compile(p) for p in load_platform_data(cls.data_file).get("volatile_lines", [])]
        text = (out / "captures" / name / capture_file(cls.running_command)).read_text(encoding="utf-8")
        found[name] = [line.rstrip() for line in text.splitlines()
                       if line.strip() and not any(v.match(line) for v in volatile)]
    return found


def round_trip_misses(rid: str, clause: str, before: dict[str, Any], lines: list[str], show: str,
                      record: dict[str, Any], after: dict[str, Any], second: dict[str, Any], wanted: str = "pass",
                      marker: str = "") -> list[str]:
    """What went wrong in one requirement's round trip on one host (empty: the whole round trip was made): its
    finding before the fix (`before`) failed with the catalog's `clause`, the plan's markdown (`show`) has each of
    the change's `lines` (each with `marker` in it, e.g. Windows' from -> to arrow), the apply `record` applied it
    and verified it `wanted` (pass, or manual where a person judges even a compliant device), the new audit's finding
    (`after`) says `wanted`, and the second plan's entry for the host (`second`) has nothing left for it."""
    checks = {
        "failed before with its clause": before["evaluated_status"] == "fail" and before["clause"] == clause
        and clause.startswith("第"),
        "the plan shows its lines": bool(lines) and all(marker in line and line in show for line in lines),
        "applied as planned": rid in {c["requirement"] for c in record["applied"]},
        f"verified {wanted}": record["verify"].get(rid) == ("fixed" if wanted == "pass" else f"still {wanted}"),
        f"the new audit says {wanted}": after["status"] == wanted,
        "nothing left in the second plan": rid not in second["fix"]
        and rid not in {c["requirement"] for c in second["changes"]},
    }
    return [what for what, ok in checks.items() if not ok]


# --- the network change-control story (one run, asserted on by test_network_change_control and
# test_network_round_trip; the fixture `network_story` in conftest runs it) -------------------------------------

NETWORK_DEVICES = ["rt-ios-02", "sw-ios-01", "rt-rtx-02", "fw-fgt-02"]  # between them every automatic fix is planted
NETWORK_REJECTS = "rt-ios-02"   # a line of its plan is refused by the device
NETWORK_DROPS = "fw-fgt-02"     # the session is cut in the middle of its first change
PLANNER = "yamada"


def run_network_story(lab: dict[str, Any]) -> dict[str, Any]:
    """The drifted devices from their planted configurations, through the CLI as admins and reviewers use it:
    audit -> plan -> show -> second-person approval -> apply with two faults (a line rt-ios-02 refuses, fw-fgt-02's
    session dropped mid-apply; the other two devices go on) -> the faulted devices planned, approved and applied
    again without faults -> a new audit -> the second plan. Returns the record; the devices are reset to their
    planted configurations before and after (so what runs next sees the lab as lab.yaml describes it)."""
    work = TEST_STATE / "network-story"
    work.mkdir(exist_ok=True)
    devices = netsim_devices(lab["spec"], lab["hosts"])
    faulted = [NETWORK_REJECTS, NETWORK_DROPS]
    reset_devices(NETWORK_DEVICES)
    s: dict[str, Any] = {}
    try:
        def audit(name: str) -> dict[str, Any]:
            out = work / name
            proc = run_cli("audit", *host_args(NETWORK_DEVICES), "--out", str(out), "--no-progress")
            assert (out / "report.json").exists(), proc.stderr
            return json.loads((out / "report.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]

        def plan(name: str, names: list[str]) -> tuple[subprocess.CompletedProcess[str], Path, dict[str, Any]]:
            path = work / f"{name}.json"
            proc = run_cli("plan", *host_args(names), "--out", str(path), "--no-progress", HARDENING_OPERATOR=PLANNER)
            assert path.exists(), proc.stderr
            return proc, path, json.loads(path.read_text(encoding="utf-8"))

        def apply(path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
            result = path.with_suffix(".result.json")
            proc = run_cli("apply", str(path), "--out", str(result), "--no-progress", HARDENING_OPERATOR=PLANNER)
            assert result.exists(), proc.stderr
            return proc, json.loads(result.read_text(encoding="utf-8"))

        s["before"] = audit("audit-before")
        s["plan_run"], path, s["plan"] = plan("plan", NETWORK_DEVICES)
        s["show"] = run_cli("show", str(path), "--format", "markdown")
        s["approve"] = approve_plan(path)
        # the faults: the last line of rt-ios-02's plan is refused; fw-fgt-02's session drops mid-apply
        # (a change's diff is the exact lines the device gets; the last change's last line comes mid-apply)
        lines = [ln for c in s["plan"]["hosts"][NETWORK_REJECTS]["changes"] for ln in c["diff"].splitlines()
                 if ln.strip()]
        s["rejected_line"] = lines[-1].strip()
        s["prior"] = running_configurations(faulted, work / "prior")
        (devices[NETWORK_REJECTS]["state"] / "faults.json").write_text(
            json.dumps({"reject": ["^" + re.escape(s["rejected_line"]) + "$"]}), encoding="utf-8")
        # every FortiOS session turns paging off first (`config system console` / `set output standard` / `end`,
        # 3 configuration lines): the 6th line of the apply session is the 3rd line of the first change
        (devices[NETWORK_DROPS]["state"] / "faults.json").write_text(json.dumps({"drop_after_config_lines": 6}),
                                                                     encoding="utf-8")
        s["apply"], s["result"] = apply(path)
        for name in faulted:
            (devices[name]["state"] / "faults.json").unlink(missing_ok=True)
        s["after_fault"] = running_configurations(faulted, work / "after-fault")
        # the faulted devices again, without faults
        s["retry_plan"], retry, s["retry"] = plan("retry", faulted)
        s["retry_approve"] = approve_plan(retry)
        s["retry_apply"], s["retry_result"] = apply(retry)
        s["after"] = audit("audit-after")
        s["second_run"], _, s["second"] = plan("second", NETWORK_DEVICES)
        s["ledger"] = [json.loads(line) for line in (TEST_STATE / "ledger.jsonl").read_text().splitlines()]
        return s
    finally:
        for device in devices.values():
            (device["state"] / "faults.json").unlink(missing_ok=True)
        reset_devices(NETWORK_DEVICES)


def planted_drift_misses(findings: dict[tuple[str, str], dict[str, Any]], hosts: list[str],
                         expected: dict[str, set[str]], for_a_person: set[tuple[str, str]],
                         clauses: dict[str, str], only_attested: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """What is wrong in an audit of simulated hosts against lab.yaml's plan, one line each: every planted drift
    must fail with its requirement's clause (as the policy numbers it), what a person judges (lab.yaml's manual
    lists, requirements only an attestation decides) must be `manual`, everything else must pass, and every planted
    drift must have a finding. `findings`: {(host, requirement): report finding}; `clauses`: {requirement: clause}."""
    wrong: list[str] = []
    for name in hosts:
        mine = {rid: f for (host, rid), f in findings.items() if host == name}
        if not mine:
            wrong.append(f"{name}: no findings")
            continue
        for rid, finding in mine.items():
            planted = rid in expected.get(name, set())
            evaluated = finding["evaluated_status"]
            if evaluated == "not_applicable":
                if planted:
                    wrong.append(f"{name} {rid}: drift planted but not applicable")
                continue
            if planted:
                if evaluated != "fail" or finding["clause"] != clauses[rid] or not finding["clause"].startswith("第"):
                    wrong.append(f"{name} {rid}: drift planted, evaluated {evaluated} (clause {finding['clause']})")
            elif (name, rid) in for_a_person or rid in only_attested:
                if evaluated != "manual":
                    wrong.append(f"{name} {rid}: a person judges it, evaluated {evaluated}")
            elif finding["status"] != "pass":
                wrong.append(f"{name} {rid}: compliant, reported {finding['status']}: {finding['message']['en']}")
        missing = expected.get(name, set()) - set(mine)
        if missing:
            wrong.append(f"{name}: no finding for planted {sorted(missing)}")
    return wrong
