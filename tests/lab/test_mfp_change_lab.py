"""Printer change control against the lab's real SNMP agents (lab/mfpsim: snmpsim, SNMPv3 authPriv from the vault).

No vendor profile lists a writable setting (no vendor MIB object for one was found with a source, so every printer
fix is manual), so the SET path is exercised here with a LAB STAND-IN profile: the requirement's settings are mapped
onto SNMPv2-MIB's read-write scalars sysContact and sysLocation, which the simulator serves with `writecache` on
every printer (and with a planted `commitFailed` on mfp-generic-01's sysLocation). What is proven on the wire:
plan reads the prior values, apply SETs over v3 authPriv and verifies by reading back, a second plan is empty, a
drifted device is refused with nothing set, and a refused SET is rolled back with the restore proved by a re-read.
Every value this test changes is put back at the end.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.lab.labtools import LAB_ENV, ROOT, run_cli

from hardening.audit import load_inputs
from hardening.core.platform import Target
from hardening.core.run import RunOptions, build_target
from hardening.core.secrets import SecretStore
from hardening.platforms.mfp import change as mfpchange
from hardening.platforms.mfp.change import MfpRemediator, plain
from hardening.platforms.mfp.profiles import Profile, profiles
from hardening.platforms.mfp.snmp import SnmpSession, SnmpValue

SYS_CONTACT = ".1.3.6.1.2.1.1.4.0"
SYS_LOCATION = ".1.3.6.1.2.1.1.6.0"
FIX = ["LOG-FORWARD", "TIME-SYNC"]
PARAMS = {"log_hosts": ["10.203.0.53"], "ntp_servers": ["10.203.0.123"]}


def stand_in(profile: Profile | None) -> Profile:
    """The device's own profile (or an unknown vendor's) with two lab stand-in writable settings."""
    base = profile or next(iter(profiles().values()))
    return Profile(key=base.key, name_ja=base.name_ja, name_en=base.name_en, enterprises=base.enterprises,
                   sysdescr=re.compile("."), model_oid=None, firmware_oid=None, web_admin=base.web_admin,
                   writable={"syslog_servers": {"oid": SYS_CONTACT, "type": "STRING",
                                                "source": "SNMPv2-MIB sysContact (lab stand-in)"},
                             "sntp_servers": {"oid": SYS_LOCATION, "type": "STRING",
                                              "source": "SNMPv2-MIB sysLocation (lab stand-in)"}})


@pytest.fixture(autouse=True)
def lab_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    real = mfpchange.recognise
    monkeypatch.setattr(mfpchange, "recognise", lambda oid, descr: stand_in(real(oid, descr)))


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo inventory with the printers that wait in lab/mfpsim/inventory.yaml (`groups`, `hosts`) added, as
    the lab's other printer tests do; the demo inventory itself where they have moved there."""
    folder = tmp_path_factory.mktemp("inventory") / "inventory"
    shutil.copytree(ROOT / "inventory", folder)
    pending = yaml.safe_load((ROOT / "lab" / "mfpsim" / "inventory.yaml").read_text(encoding="utf-8"))
    for section in ("groups", "hosts"):
        path = folder / f"{section}.yaml"
        merged = yaml.safe_load(path.read_text(encoding="utf-8"))
        merged.update({k: v for k, v in (pending.get(section) or {}).items() if k not in merged})
        if section == "groups":
            # inventory/defaults.yaml's `port: 22` would be every kind's port of a host that sets none: the
            # printers' SNMP and HTTPS ports are said here (the pending section does not say them yet)
            options = merged["mfps"].setdefault("connection_options", {})
            options.setdefault("snmp", {}).setdefault("port", 161)
            options.setdefault("https", {}).setdefault("port", 443)
        path.write_text(yaml.safe_dump(merged, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


def target(name: str, inventory: Path, tmp_path: Path) -> Target:
    inputs = load_inputs(inventory, ROOT / "schemas" / "requirements")
    secrets = SecretStore(LAB_ENV["HARDENING_VAULT"], LAB_ENV["HARDENING_VAULT_PASSWORD_FILE"])
    return build_target(inputs.inventory.hosts[name], secrets, RunOptions(timeout=20),
                        backup_file=tmp_path / f"{name}.json")


@pytest.fixture
def device(request: pytest.FixtureRequest, inventory: Path,
           tmp_path: Path) -> Iterator[tuple[Target, dict[str, SnmpValue]]]:
    """A lab printer's target and its two stand-in values before the test; they are put back afterwards."""
    tgt = target(request.param, inventory, tmp_path)
    with SnmpSession(tgt) as session:
        before = session.get([SYS_CONTACT, SYS_LOCATION])
    assert set(before) == {SYS_CONTACT, SYS_LOCATION}, "the lab printer does not answer: labctl up"
    yield tgt, before
    with SnmpSession(tgt) as session:
        for oid, value in before.items():
            if session.get([oid]).get(oid) != value:
                session.set({oid: value})


@pytest.mark.parametrize("device", ["mfp-ricoh-02"], indirect=True)
def test_plan_apply_verify_on_a_real_agent(device: tuple[Target, dict[str, SnmpValue]]) -> None:
    tgt, before = device
    remediator = MfpRemediator()
    planned = remediator.plan(tgt, FIX, PARAMS)
    assert [c.diff for c in planned] == [
        f'syslog 転送先 (syslog server): "{plain(before[SYS_CONTACT])}" → "10.203.0.53"\n',   # Japanese: decoded
        f'SNTP サーバ (SNTP server): "{plain(before[SYS_LOCATION])}" → "10.203.0.123"\n']
    result = remediator.apply(tgt, FIX, PARAMS, planned)
    assert result.failed is None, result
    assert result.applied == planned
    with SnmpSession(tgt) as session:
        now = session.get([SYS_CONTACT, SYS_LOCATION])
    assert (now[SYS_CONTACT].value, now[SYS_LOCATION].value) == ("10.203.0.53", "10.203.0.123")
    assert remediator.plan(tgt, FIX, PARAMS) == []          # idempotent: nothing left to change
    assert tgt.backup_file is not None
    assert str(before[SYS_LOCATION].value) in tgt.backup_file.read_text(encoding="utf-8")   # as the agent holds it


@pytest.mark.parametrize("device", ["mfp-ricoh-02"], indirect=True)
def test_a_drifted_device_is_refused_on_a_real_agent(device: tuple[Target, dict[str, SnmpValue]]) -> None:
    tgt, _ = device
    remediator = MfpRemediator()
    planned = remediator.plan(tgt, FIX, PARAMS)
    with SnmpSession(tgt) as session:
        session.set({SYS_LOCATION: SnmpValue("STRING", "moved by someone")})
    result = remediator.apply(tgt, FIX, PARAMS, planned)
    assert result.untouched is True
    assert "TIME-SYNC" in str(result.failed)
    with SnmpSession(tgt) as session:
        assert session.get([SYS_CONTACT])[SYS_CONTACT] == device[1][SYS_CONTACT]    # nothing was set


@pytest.mark.parametrize("device", ["mfp-generic-01"], indirect=True)
def test_a_refused_set_is_rolled_back_with_proof_on_a_real_agent(
        device: tuple[Target, dict[str, SnmpValue]]) -> None:
    """sysContact is set first and succeeds; the SET of sysLocation is refused by the agent (planted): sysContact
    is set back and a re-read proves both are the prior values."""
    tgt, before = device
    remediator = MfpRemediator()
    planned = remediator.plan(tgt, FIX, PARAMS)
    result = remediator.apply(tgt, FIX, PARAMS, planned)
    assert result.failed is not None
    assert SYS_LOCATION.strip(".") in result.failed or SYS_LOCATION in result.failed
    assert result.rolled_back is True, result.rollback_problems
    with SnmpSession(tgt) as session:
        assert session.get([SYS_CONTACT, SYS_LOCATION]) == before


def test_the_plan_of_lab_printers_lists_manual_steps_per_vendor(inventory: Path, tmp_path: Path) -> None:
    """`hardening plan` on a drifted Ricoh and the unknown-vendor printer (no profile writes anything: every
    failing requirement is manual): per host, the Japanese steps of the vendor, or the vendor-neutral ones, and the
    note that the requirement keeps failing until a re-audit or an attestation; `show` prints them."""
    out = tmp_path / "plan.json"
    proc = run_cli("plan", "-i", str(inventory), "-H", "mfp-ricoh-02", "-H", "mfp-generic-01", "--out", str(out),
                   "--no-progress", "--timeout", "30")
    assert out.exists(), proc.stderr
    plan = json.loads(out.read_text(encoding="utf-8"))
    for name in ("mfp-ricoh-02", "mfp-generic-01"):
        host = plan["hosts"][name]
        assert host["error"] is None, host["error"]
        assert host["fix"] == []
        assert host["changes"] == []
        assert host["manual"], f"{name}: no failing requirement planted?"
        assert [s["requirement"] for s in host["manual_steps"]] == host["manual"]
        assert all("再監査" in s["note"]["ja"] for s in host["manual_steps"])
    ricoh = {s["requirement"]: s for s in plan["hosts"]["mfp-ricoh-02"]["manual_steps"]}
    generic = {s["requirement"]: s for s in plan["hosts"]["mfp-generic-01"]["manual_steps"]}
    assert any(s["steps"]["ja"].startswith("リコーの Web Image Monitor") for s in ricoh.values())
    assert any(s["steps"]["ja"].startswith("機器の Web 管理画面") for s in generic.values())
    shown = run_cli("show", str(out))
    assert shown.returncode == 0, shown.stderr
    assert "手動対応の手順" in shown.stdout
    assert "リコーの Web Image Monitor" in shown.stdout
