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

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.lab.labtools import LAB_ENV, ROOT

from hardening.audit import load_inputs
from hardening.core.platform import Target
from hardening.core.run import RunOptions, build_target
from hardening.core.secrets import SecretStore
from hardening.platforms.mfp import change as mfpchange
from hardening.platforms.mfp.change import MfpRemediator
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


def target(name: str, tmp_path: Path) -> Target:
    inputs = load_inputs(ROOT / "inventory", ROOT / "schemas" / "requirements")
    secrets = SecretStore(LAB_ENV["HARDENING_VAULT"], LAB_ENV["HARDENING_VAULT_PASSWORD_FILE"])
    return build_target(inputs.inventory.hosts[name], secrets, RunOptions(timeout=20),
                        backup_file=tmp_path / f"{name}.json")


@pytest.fixture
def device(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Target, dict[str, SnmpValue]]]:
    """A lab printer's target and its two stand-in values before the test; they are put back afterwards."""
    tgt = target(request.param, tmp_path)
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
        f'syslog 転送先 (syslog server): "{before[SYS_CONTACT].value}" → "10.203.0.53"\n',
        f'SNTP サーバ (SNTP server): "{before[SYS_LOCATION].value}" → "10.203.0.123"\n']
    result = remediator.apply(tgt, FIX, PARAMS, planned)
    assert result.failed is None, result
    assert result.applied == planned
    with SnmpSession(tgt) as session:
        now = session.get([SYS_CONTACT, SYS_LOCATION])
    assert (now[SYS_CONTACT].value, now[SYS_LOCATION].value) == ("10.203.0.53", "10.203.0.123")
    assert remediator.plan(tgt, FIX, PARAMS) == []          # idempotent: nothing left to change
    assert tgt.backup_file is not None
    assert str(before[SYS_LOCATION].value) in tgt.backup_file.read_text(encoding="utf-8")


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
