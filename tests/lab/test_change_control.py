"""Change control on real lab hosts: plan -> second-person approval -> apply -> verify, and every refusal.

One module fixture runs the whole story in order (as admins and reviewers would) and records what
happened; the tests then assert on it. The drifted hosts are reset to their planted state before
and after, so the other lab tests see the lab as lab/lab.yaml describes it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import testinfra
from tests.lab.labtools import (
    LAB_STATE,
    ROOT,
    TEST_STATE,
    expected_failures,
    lab_env,
    lab_planted_secrets,
    labctl,
    run_cli,
    wait_synced,
)

from hardening.changes.ledger import Ledger
from hardening.changes.locks import lock_name

HOSTS = ["jumin-ap02", "zaimu-ap01", "pc-shimin02", "pc-zaimu02", "gw-ap02"]  # gw-ap02: systemd-timesyncd
PLANNER = "yamada"
APPROVER = "suzuki"
FAULT_HOST = "zaimu-ap01"
FAULT_DIR = "/etc/rsyslog.d"
WATCHED = ("/etc/ssh/sshd_config.d /etc/security/pwquality.conf.d /etc/security/faillock.conf /etc/pam.d "
           "/etc/profile.d /etc/chrony /etc/rsyslog.d /etc/logrotate.d /etc/logrotate.conf /etc/modprobe.d "
           "/etc/dconf /etc/issue.net /etc/issue /etc/clamav /etc/login.defs /etc/snmp /etc/rsyslog.conf "
           "/etc/systemd/timesyncd.conf.d /etc/systemd/journald.conf.d")


def host(name: str, lab: dict[str, Any]) -> Any:
    extra = ("-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
             "-o ControlPath=/tmp/hardening-cc-%C -o ControlPersist=30")
    return testinfra.get_host(f"ssh://hardening@{lab['hosts'][name]['hostname']}",
                              ssh_identity_file=str(LAB_STATE / "ssh" / "id_ed25519"), ssh_extra_args=extra,
                              sudo=True)


def snapshot(name: str, lab: dict[str, Any]) -> str:
    """testinfra's view of every file a fix could touch, and the installed servers."""
    h = host(name, lab)
    files = h.check_output(f"find {WATCHED} -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum")
    packages = h.check_output("dpkg-query -W -f '${Package} ${Status}\\n' inetutils-telnetd openbsd-inetd "
                              "2>/dev/null || true")
    return files + "\n" + packages


def snapshots(names: list[str], lab: dict[str, Any]) -> dict[str, str]:
    """snapshot() of each host, the hosts at once (each its own ssh master)."""
    with ThreadPoolExecutor(len(names)) as pool:
        return dict(zip(names, pool.map(lambda name: snapshot(name, lab), names), strict=True))


def reset(names: list[str], lab: dict[str, Any]) -> None:
    assert labctl("reset", *names).returncode == 0
    wait_synced(names)


def approver_key(approver: str) -> Path:
    key = TEST_STATE / f"{approver}.key"
    if not key.exists():
        shutil.copy(ROOT / "lab" / "keys" / f"{approver}.key", key)
        key.chmod(0o600)
    return key


def approve(plan: Path, approver: str, *extra: str) -> subprocess.CompletedProcess[str]:
    key = approver_key(approver)
    return run_cli("approve", str(plan), "--approver", approver, "--key", str(key), *extra,
                   HARDENING_OPERATOR=approver)


def start_cli(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "hardening.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=lab_env(**env), cwd=ROOT)


def ledger_entries(path: Path = TEST_STATE / "ledger.jsonl") -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def wait_started(plan_id: str, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not any(e["action"] == "apply_started" and e["subject"]["plan_id"] == plan_id for e in ledger_entries()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the first apply never recorded its start"
        time.sleep(0.1)


def full_disk_apply(plan: Path, plan_id: str, lab: dict[str, Any]) -> dict[str, Any]:
    """apply with its ledger on a full filesystem (a 256 KiB tmpfs): the start cannot be recorded, so no host may be
    touched, and the ledger must not keep half an entry."""
    mount = TEST_STATE / "full-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount)], check=True)
    try:
        ledger = mount / "ledger.jsonl"
        shutil.copy(TEST_STATE / "ledger.jsonl", ledger)
        (mount / "locks").mkdir()
        for name in [lock_name("plan", plan_id), *(lock_name("host", h) for h in HOSTS)]:
            (mount / "locks" / name).write_text("0\n", encoding="utf-8")  # locks need no new space later
        padding = Ledger(ledger)
        while 4096 - ledger.stat().st_size % 4096 >= 300:  # the last page has less room than one entry
            padding.append("lab-test", "audit", {"note": "fills the last page before the disk is filled"})
        fill = subprocess.run(["dd", "if=/dev/zero", f"of={mount / 'filler'}", "bs=4096"], capture_output=True,
                              text=True, check=False)
        assert "No space left on device" in fill.stderr
        before = ledger.read_bytes()
        proc = run_cli("apply", str(plan), "--ledger", str(ledger), "--no-progress", "--out",
                       str(TEST_STATE / "full-disk.result.json"), HARDENING_OPERATOR=PLANNER)
        return {"full_disk_apply": proc, "full_disk_ledger_same": ledger.read_bytes() == before,
                "full_disk_verify": run_cli("ledger", "verify", "--ledger", str(ledger)),
                "after_full_disk": snapshots(HOSTS, lab)}
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def stale_plan_story(work: Path, lab: dict[str, Any]) -> dict[str, Any]:
    """Stale plan: planned and approved, then the host changes -> refused, host untouched (and reset after)."""
    s: dict[str, Any] = {}
    stale = work / "stale.json"
    s["stale_plan"] = run_cli("plan", "-H", "pc-zaimu02", "--out", str(stale), "--no-progress",
                              HARDENING_OPERATOR=PLANNER)
    s["stale_approve"] = approve(stale, APPROVER)
    host("pc-zaimu02", lab).check_output("sed -i 's/idle-delay=uint32 1800/idle-delay=uint32 1700/' "
                                         "/etc/dconf/db/local.d/00-sakado-screensaver")
    s["stale_before"] = snapshot("pc-zaimu02", lab)
    s["stale_apply"] = run_cli("apply", str(stale), "--no-progress", HARDENING_OPERATOR=PLANNER)
    s["stale_after"] = snapshot("pc-zaimu02", lab)
    reset(["pc-zaimu02"], lab)
    return s


def self_approval_story(work: Path) -> dict[str, Any]:
    """The planner tries to approve their own plan, then again with planned_by rewritten in the file (the ledger
    recorded who planned it): both refused, no approval file written."""
    s: dict[str, Any] = {}
    own = work / "own.json"
    run_cli("plan", "-H", "jumin-ap02", "--out", str(own), "--no-progress", HARDENING_OPERATOR=APPROVER)
    s["self_approve"] = approve(own, APPROVER)
    s["self_approval_files"] = sorted(p.name for p in work.glob("own.approval*"))
    doc = json.loads(own.read_text(encoding="utf-8"))
    doc["planned_by"] = PLANNER
    own.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    s["relabelled_approve"] = approve(own, APPROVER)
    s["relabelled_approval_files"] = sorted(p.name for p in work.glob("own.approval*"))
    return s


@pytest.fixture(scope="module")
def story(lab: dict[str, Any]) -> Any:
    work = TEST_STATE / "change-control"
    work.mkdir(exist_ok=True)
    s: dict[str, Any] = {"work": work}
    reset(HOSTS, lab)
    try:
        approver_key(APPROVER)  # before the two threads below would both copy it
        # Two independent stories on two different hosts, at once (each only plans its host; neither plan is
        # applied to a host the other one touches).
        with ThreadPoolExecutor(2) as pool:
            stale_story = pool.submit(stale_plan_story, work, lab)
            self_approval = pool.submit(self_approval_story, work)
            s.update(stale_story.result())
            s.update(self_approval.result())

        before = snapshots(HOSTS, lab)
        s["before"] = before
        plan = work / "plan.json"
        s["plan_run"] = run_cli("plan", *[a for n in HOSTS for a in ("-H", n)], "--out", str(plan),
                                "--no-progress", HARDENING_OPERATOR=PLANNER)
        s["plan"] = json.loads(plan.read_text(encoding="utf-8"))
        s["show_md"] = run_cli("show", str(plan), "--format", "markdown")
        s["show_html"] = run_cli("show", str(plan), "--format", "html", "--lang", "en")

        s["unapproved_apply"] = run_cli("apply", str(plan), "--no-progress", HARDENING_OPERATOR=PLANNER)
        s["after_unapproved"] = snapshots(HOSTS, lab)

        s["approve"] = approve(plan, APPROVER)
        s.update(full_disk_apply(plan, s["plan"]["plan_id"], lab))
        edited_dir = work / "edited"
        edited_dir.mkdir(exist_ok=True)
        edited = edited_dir / "plan.json"
        doc = json.loads(plan.read_text(encoding="utf-8"))
        first = next(h for h in doc["hosts"].values() if h["changes"])
        first["changes"][0]["diff"] += "+PermitRootLogin yes\n"
        edited.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        for approval in work.glob("plan.approval*.json"):
            shutil.copy(approval, edited_dir / approval.name)
        s["edited_apply"] = run_cli("apply", str(edited), "--no-progress", HARDENING_OPERATOR=PLANNER)
        s["after_edited"] = snapshots(HOSTS, lab)

        # Fault: a directory the fix writes to becomes read-only on one host, mid-apply.
        assert labctl("exec", FAULT_HOST, "--", "mount", "--bind", "-o", "ro", FAULT_DIR, FAULT_DIR).returncode == 0
        # Two applies of one plan at once: the second is refused while the first runs; then the used approval is
        # refused for a third run.
        first = start_cli("apply", str(plan), "--no-progress", HARDENING_OPERATOR=PLANNER)
        wait_started(s["plan"]["plan_id"], first)
        s["concurrent_apply"] = run_cli("apply", str(plan), "--no-progress", "--out",
                                        str(work / "concurrent.result.json"), HARDENING_OPERATOR=PLANNER)
        stdout, stderr = first.communicate(timeout=900)
        s["apply"] = subprocess.CompletedProcess(first.args, first.returncode, stdout, stderr)
        s["reused_apply"] = run_cli("apply", str(plan), "--no-progress", "--out", str(work / "reused.result.json"),
                                    HARDENING_OPERATOR=PLANNER)
        s["result"] = json.loads((work / "plan.result.json").read_text(encoding="utf-8"))
        s["after_fault"] = snapshot(FAULT_HOST, lab)
        labctl("exec", FAULT_HOST, "--", "umount", FAULT_DIR)

        # The rolled-back host, fault removed: its own round trip (plan, approve, apply) now succeeds.
        retry = work / "retry.json"
        s["retry_plan"] = run_cli("plan", "-H", FAULT_HOST, "--out", str(retry), "--no-progress",
                                  HARDENING_OPERATOR=PLANNER)
        s["retry"] = json.loads(retry.read_text(encoding="utf-8"))
        s["retry_approve"] = approve(retry, APPROVER)
        s["retry_apply"] = run_cli("apply", str(retry), "--no-progress", HARDENING_OPERATOR=PLANNER)
        s["retry_result"] = json.loads((work / "retry.result.json").read_text(encoding="utf-8"))

        applied = HOSTS
        audit_out = work / "audit-after"
        second = work / "second.json"
        # The new audit and the second plan only read the hosts: both at once.
        with ThreadPoolExecutor(2) as pool:
            audit_after = pool.submit(run_cli, "audit", *[a for n in applied for a in ("-H", n)], "--out",
                                      str(audit_out), "--no-progress")
            second_plan = pool.submit(run_cli, "plan", *[a for n in applied for a in ("-H", n)], "--out",
                                      str(second), "--no-progress", HARDENING_OPERATOR=PLANNER)
            s["audit_after"], s["second_plan"] = audit_after.result(), second_plan.result()
        s["report_after"] = json.loads((audit_out / "report.json").read_text(encoding="utf-8"))
        s["second"] = json.loads(second.read_text(encoding="utf-8"))
        s["ledger_verify"] = run_cli("ledger", "verify")
        yield s
    finally:
        reset(HOSTS, lab)


def test_plan_lists_every_automatable_drift(story: dict[str, Any], lab: dict[str, Any]) -> None:
    from hardening.core.catalog import load_catalog

    catalog = load_catalog(ROOT / "schemas" / "requirements")
    assert story["plan_run"].returncode == 2, story["plan_run"].stderr
    expected = expected_failures(lab["spec"])
    for name in HOSTS:
        entry = story["plan"]["hosts"][name]
        # (none of these hosts has an active waiver: an expired one does not except anything)
        platform = entry["platform"]
        automatable = {r for r in expected[name] if catalog[r].automation_for(platform)["fix"] == "automated"}
        assert set(entry["fix"]) == automatable
        assert entry["error"] is None, entry["error"]
        assert {c["requirement"] for c in entry["changes"]} == set(entry["fix"])
        assert entry["fingerprint"].startswith("sha256:")


def test_show_renders_for_a_ticket(story: dict[str, Any]) -> None:
    assert story["show_md"].returncode == 0
    assert "```diff" in story["show_md"].stdout
    assert "変更計画" in story["show_md"].stdout
    assert "第2章 1(7)①" in story["show_md"].stdout
    html = story["show_html"].stdout
    assert "<pre>" in html
    assert "Change plan" in html
    assert "http" not in html.split("<body>")[1]


def test_unapproved_plan_refused(story: dict[str, Any]) -> None:
    assert story["unapproved_apply"].returncode == 1
    assert "approv" in story["unapproved_apply"].stderr
    assert story["after_unapproved"] == story["before"]


def test_self_approval_refused(story: dict[str, Any]) -> None:
    assert story["self_approve"].returncode == 1
    assert "第2章 1(7)①" in story["self_approve"].stderr
    assert story["self_approval_files"] == []


def test_planner_relabelled_in_the_file_still_cannot_approve(story: dict[str, Any]) -> None:
    assert story["relabelled_approve"].returncode == 1
    assert APPROVER in story["relabelled_approve"].stderr
    assert "ledger" in story["relabelled_approve"].stderr
    assert story["relabelled_approval_files"] == []


def test_full_disk_under_the_ledger_refuses_before_any_host(story: dict[str, Any]) -> None:
    proc = story["full_disk_apply"]
    assert proc.returncode == 1
    assert "No space left on device" in proc.stderr
    assert story["full_disk_ledger_same"]  # no half entry
    assert story["full_disk_verify"].returncode == 0, story["full_disk_verify"].stderr
    assert story["after_full_disk"] == story["before"]


def test_concurrent_apply_of_one_plan_refused_and_approval_single_use(story: dict[str, Any]) -> None:
    assert story["concurrent_apply"].returncode == 1
    assert "another apply" in story["concurrent_apply"].stderr
    assert story["reused_apply"].returncode == 1
    assert "already used" in story["reused_apply"].stderr
    plan_id = story["plan"]["plan_id"]
    started = [e for e in ledger_entries() if e["action"] == "apply_started" and e["subject"]["plan_id"] == plan_id]
    outcomes = [e for e in ledger_entries() if e["action"] == "apply" and e["subject"]["plan_id"] == plan_id
                and "refused" not in e["subject"]]
    assert len(started) == 1
    assert [e["subject"]["run_id"] for e in outcomes] == [started[0]["subject"]["run_id"]]
    assert started[0]["seq"] < outcomes[0]["seq"]
    assert not (story["work"] / "concurrent.result.json").exists()


def test_plan_approval_and_result_files_are_private(story: dict[str, Any]) -> None:
    work = story["work"]
    for name in ("plan.json", "plan.approval-suzuki.json", "plan.result.json"):
        assert (work / name).stat().st_mode & 0o777 == 0o600, name


def test_edited_approved_plan_refused(story: dict[str, Any]) -> None:
    assert story["approve"].returncode == 0, story["approve"].stderr
    assert story["edited_apply"].returncode == 1
    assert "plan" in story["edited_apply"].stderr.lower()
    assert story["after_edited"] == story["before"]


def test_stale_plan_refused(story: dict[str, Any]) -> None:
    assert story["stale_plan"].returncode == 2, story["stale_plan"].stderr
    assert story["stale_approve"].returncode == 0, story["stale_approve"].stderr
    assert story["stale_apply"].returncode == 1
    assert "stale" in story["stale_apply"].stdout
    assert story["stale_after"] == story["stale_before"]


def test_fault_mid_apply_rolls_back_that_host_only(story: dict[str, Any]) -> None:
    result = story["result"]
    assert story["apply"].returncode == 1
    fault = result["hosts"][FAULT_HOST]
    assert fault["status"] == "rolled_back", fault
    assert fault["applied"], "the fault must hit after earlier tasks changed files (a real mid-apply failure)"
    assert story["after_fault"] == story["before"][FAULT_HOST]
    backup = Path(fault["backup"])  # the exact prior files, kept on our side in case this process dies
    assert backup.stat().st_mode & 0o077 == 0
    assert "/etc/ssh/sshd_config.d/00-vendor.conf" in json.loads(backup.read_text(encoding="utf-8"))
    for name in HOSTS:
        if name != FAULT_HOST:
            assert result["hosts"][name]["status"] == "applied", result["hosts"][name]
            assert result["hosts"][name]["verify"]
            assert set(result["hosts"][name]["verify"].values()) == {"fixed"}


def test_dry_run_told_the_truth(story: dict[str, Any]) -> None:
    """For each host applied, the set of changes in the plan equals the set of changes apply made."""
    for name in HOSTS:
        if name == FAULT_HOST:
            continue
        planned = {(c["requirement"], c["task"], c["target"]) for c in story["plan"]["hosts"][name]["changes"]}
        applied = {(c["requirement"], c["task"], c["target"]) for c in story["result"]["hosts"][name]["applied"]}
        assert planned == applied, name
        assert story["result"]["hosts"][name]["plan_matches"] is True


def test_rolled_back_host_round_trip_after_the_fault_is_gone(story: dict[str, Any]) -> None:
    assert story["retry_plan"].returncode == 2, story["retry_plan"].stderr
    assert story["retry"]["hosts"][FAULT_HOST]["fix"] == story["plan"]["hosts"][FAULT_HOST]["fix"]
    assert story["retry_approve"].returncode == 0, story["retry_approve"].stderr
    assert story["retry_apply"].returncode == 0, story["retry_apply"].stdout + story["retry_apply"].stderr
    record = story["retry_result"]["hosts"][FAULT_HOST]
    assert record["status"] == "applied"
    assert record["plan_matches"] is True
    assert set(record["verify"]) == set(story["plan"]["hosts"][FAULT_HOST]["fix"])
    assert set(record["verify"].values()) == {"fixed"}


def test_audit_passes_after_apply_and_second_plan_is_empty(story: dict[str, Any]) -> None:
    fixed = {(h, r) for h in HOSTS for r in story["plan"]["hosts"][h]["fix"]}
    verdicts = {(f["host"], f["requirement"]): f["status"] for f in story["report_after"]["findings"]}
    assert {k: verdicts[k] for k in fixed} == dict.fromkeys(fixed, "pass")
    assert story["second_plan"].returncode == 0, story["second_plan"].stdout
    assert story["second"]["summary"]["changes"] == 0


def test_ledger_records_everything_and_verifies(story: dict[str, Any]) -> None:
    assert story["ledger_verify"].returncode == 0, story["ledger_verify"].stderr
    lines = [json.loads(x) for x in (TEST_STATE / "ledger.jsonl").read_text(encoding="utf-8").splitlines()]
    actions = {e["action"] for e in lines}
    assert {"audit", "plan", "approve", "apply", "rollback"} <= actions
    rollbacks = [e for e in lines if e["action"] == "rollback"]
    assert any(e["subject"]["host"] == FAULT_HOST for e in rollbacks)


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder", "insert"])
def test_ledger_tampering_detected(story: dict[str, Any], tamper: str, tmp_path: Path) -> None:
    lines = (TEST_STATE / "ledger.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 5
    copy = tmp_path / "ledger.jsonl"
    if tamper == "edit":
        entry = json.loads(lines[2])
        entry["actor"] = "someone-else"
        lines[2] = json.dumps(entry, ensure_ascii=False)
    elif tamper == "delete":
        del lines[2]
    elif tamper == "reorder":
        lines[1], lines[2] = lines[2], lines[1]
    else:
        lines.insert(2, lines[1])
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = run_cli("ledger", "verify", "--ledger", str(copy))
    assert proc.returncode == 1
    assert "line 3" in proc.stderr or "line 2" in proc.stderr


def test_no_secret_in_plans_results_ledger_or_output(story: dict[str, Any], lab: dict[str, Any]) -> None:
    secrets = [(LAB_STATE / "root-password").read_text().strip(), (LAB_STATE / "vault-pass").read_text().strip()]
    secrets += [line for line in (LAB_STATE / "ssh" / "id_ed25519").read_text().splitlines()
                if line and not line.startswith("-----")]
    for key in (ROOT / "lab" / "keys").glob("*.key"):
        secrets += [line for line in key.read_text().splitlines() if line and not line.startswith("-----")]
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in TEST_STATE.rglob("*")
             if p.is_file() and p.suffix in (".json", ".jsonl", ".html", ".csv", ".xml", ".log")]
    texts += [v.stdout + v.stderr for v in story.values() if isinstance(v, subprocess.CompletedProcess)]
    assert texts
    for secret in secrets:
        assert len(secret) >= 8
        assert not any(secret in text for text in texts)
    # The SNMP community whose lines the fix deletes and the planted MD5 hash: in no plan, result, ledger or
    # output either. Only the 0600 rollback copies (backups/) hold the files as they were, by design.
    planted = lab_planted_secrets(lab["spec"])
    assert planted
    backups = TEST_STATE / "backups"
    kept = [p.read_text(encoding="utf-8", errors="replace") for p in TEST_STATE.rglob("*")
            if p.is_file() and p.suffix in (".json", ".jsonl", ".html", ".csv", ".xml", ".log")
            and backups not in p.parents]
    kept += [v.stdout + v.stderr for v in story.values() if isinstance(v, subprocess.CompletedProcess)]
    for secret in planted:
        assert not any(secret in text for text in kept), "a planted SNMP community or hash leaked"


def test_every_automatable_requirement_makes_the_round_trip(story: dict[str, Any]) -> None:
    """Together the drifted hosts exercise every Linux requirement whose fix is automated."""
    from hardening.core.catalog import load_catalog

    automatable = {r.id for r in load_catalog(ROOT / "schemas" / "requirements").values()
                   if r.automation_for("linux")["fix"] == "automated"
                   and {"linux_server", "linux_pc"} & set(r.device_classes)}
    planned = {r for h in HOSTS for r in story["plan"]["hosts"][h]["fix"]}
    assert planned == automatable
    verdicts = {(f["host"], f["requirement"]): f["status"] for f in story["report_after"]["findings"]}
    assert all(verdicts[(h, r)] == "pass" for h in HOSTS for r in story["plan"]["hosts"][h]["fix"])
