"""Printer change control (platforms/mfp/change.py) against a fake SNMP agent: the plan shows each writable setting
`from → to`; apply reads every prior value, refuses a drifted device, SETs, verifies by reading back, and on any
failure restores every prior value and proves it by a re-read. No key or community in a plan, result or error.

The profile here is a test profile with test OIDs (enterprise 99999, `TEST-MIB`), not any vendor's."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from hardening.core.errors import ChangeError, DeviceTimeout
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import Change, HostFixes, ManualGuide, Remediator, Target
from hardening.core.secrets import Credentials, Secret
from hardening.platforms.mfp import change as mfpchange
from hardening.platforms.mfp.change import MfpRemediator, fixable_by, load_remediation
from hardening.platforms.mfp.profiles import Profile
from hardening.platforms.mfp.snmp import SnmpSetError, SnmpValue

AUTH_KEY = "auth-key-0123456789-TEST"
PRIV_KEY = "priv-key-9876543210-TEST"
SYS_OBJECT_ID = ".1.3.6.1.2.1.1.2.0"
SYS_DESCR = ".1.3.6.1.2.1.1.1.0"
SNTP = ".1.3.6.1.4.1.99999.1.1.0"
AUDIT = ".1.3.6.1.4.1.99999.1.2.0"
SYSLOG = ".1.3.6.1.4.1.99999.1.3.0"
UNSET = "0.0.0.0"  # noqa: S104 - an SNTP server address not set, not a bind
PARAMS = {"ntp_servers": ["10.0.0.1", "10.0.0.2"], "log_hosts": ["10.0.0.5"]}

PROFILE = Profile(
    key="testvendor", name_ja="テスト社", name_en="TestVendor", enterprises=(99999,),
    sysdescr=re.compile("TestVendor"), model_oid=None, firmware_oid=None,
    web_admin={"product": "Test Admin"},
    settings={"audit_log_enabled": {"oid": AUDIT, "map": {1: True, 2: False}, "source": "TEST-MIB testAuditLog"}},
    writable={"sntp_servers": {"oid": SNTP, "type": "IpAddress", "source": "TEST-MIB testSntpServer"},
              "audit_log_enabled": {"oid": AUDIT, "type": "INTEGER", "source": "TEST-MIB testAuditLog"},
              "syslog_servers": {"oid": SYSLOG, "type": "STRING", "source": "TEST-MIB testSyslogServer"}},
    manual_steps={"PW-VENDOR-DEFAULT": {"ja": "{product}の［管理者設定］で管理者パスワードを変更する。",
                                        "en": "Change the administrator password under [Admin] of {product}."},
                  "TIME-SYNC": {"ja": "［システム設定］→［日付/時刻］で SNTP サーバに {ntp_servers} を設定する。",
                                "en": "Under [System] > [Date/Time], set the SNTP server to {ntp_servers}."}})


class Agent:
    """The device: its objects, and what goes wrong on a SET."""

    def __init__(self) -> None:
        self.values: dict[str, SnmpValue] = {
            SYS_OBJECT_ID: SnmpValue("OID", ".1.3.6.1.4.1.99999.2.1"),
            SYS_DESCR: SnmpValue("STRING", "TestVendor MFP 1000"),
            SNTP: SnmpValue("IpAddress", UNSET),
            AUDIT: SnmpValue("INTEGER", 2),
            SYSLOG: SnmpValue("STRING", ""),
        }
        self.sets: list[dict[str, SnmpValue]] = []
        self.refuse: set[str] = set()       # SET refused (the agent's error status)
        self.ignore: set[str] = set()       # SET "accepted" but the value does not change
        self.time_out: set[str] = set()     # the SET applied, the answer lost
        self.sessions = 0
        self.keys_seen: list[str] = []


class FakeSession:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        agent.sessions += 1

    def get(self, oids: Sequence[str]) -> dict[str, SnmpValue]:
        return {oid: self.agent.values[oid] for oid in oids if oid in self.agent.values}

    def set(self, values: Mapping[str, SnmpValue]) -> None:
        agent = self.agent
        agent.sets.append(dict(values))
        for oid, value in values.items():
            restoring = oid in {o for s in agent.sets[:-1] for o in s}
            if oid in agent.refuse and not restoring:
                # an agent may echo anything: here, the key (the result must still not show it)
                raise SnmpSetError("mfp1", oid, f"wrongValue (user key {AUTH_KEY})")
            if oid in agent.time_out and not restoring:
                agent.values[oid] = value
                raise DeviceTimeout("mfp1", "no SNMP answer: silent device or wrong community")
            if oid not in agent.ignore or restoring:
                agent.values[oid] = value

    def close(self) -> None:
        pass


class FakeMfp(MfpRemediator):
    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def open_snmp_session(self, target: Target) -> FakeSession:  # type: ignore[override]
        return FakeSession(self.agent)


@pytest.fixture(autouse=True)
def test_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mfpchange, "profiles", lambda: {"testvendor": PROFILE})
    monkeypatch.setattr(mfpchange, "recognise",
                        lambda oid, descr: PROFILE if oid and ".99999." in oid else None)


def target(tmp_path: Path) -> Target:
    host = Host(name="mfp1", hostname="10.203.40.90", port=None, platform="mfp", device_class="mfp",
                zone="lgwan", classification={}, system=SystemInfo("庁内LAN", "", ()), roles=(), groups=(),
                credentials="mfp-snmp")
    credentials = Credentials(name="mfp-snmp", username="hardening-audit", password=None,
                              snmp_auth_key=Secret(AUTH_KEY), snmp_priv_key=Secret(PRIV_KEY))
    return Target(host=host, credentials=credentials, timeout=30.0,
                  backup_file=tmp_path / "backups" / "mfp1.json")


def no_secret(*texts: Any) -> None:
    for text in texts:
        assert AUTH_KEY not in str(text)
        assert PRIV_KEY not in str(text)


def test_the_mixin_is_a_remediator_guide_and_host_fixes() -> None:
    platform = FakeMfp(Agent())
    assert isinstance(platform, Remediator)
    assert isinstance(platform, ManualGuide)
    assert isinstance(platform, HostFixes)
    assert fixable_by(PROFILE) == {"TIME-SYNC", "LOG-FORWARD"}
    # per host: only what the recognised vendor can write; an unknown vendor nothing
    assert platform.fixes_on({"facts": {"os": {"vendor": "testvendor"}}}) == {"TIME-SYNC", "LOG-FORWARD"}
    assert platform.fixes_on({"facts": {"os": {"vendor": None}}}) == frozenset()


def test_hr_system_date_is_never_a_fix() -> None:
    """Setting the clock once is no time synchronisation: no writable maps the HOST-RESOURCES clock."""
    assert "hrSystemDate" not in load_remediation().writable
    assert not any("25.1.2" in str(w) for w in load_remediation().writable.values())


def test_plan_lists_exact_from_to_and_changes_nothing(tmp_path: Path) -> None:
    agent = Agent()
    changes = FakeMfp(agent).plan(target(tmp_path), ["LOG-FORWARD", "TIME-SYNC"], PARAMS)
    assert agent.sets == []
    assert [(c.requirement, c.diff) for c in changes] == [
        ("LOG-FORWARD", 'syslog 転送先 (syslog server): "" → "10.0.0.5"\n'),
        ("LOG-FORWARD", "監査ログ (audit log): 2 (off) → 1 (on)\n"),
        ("TIME-SYNC", 'SNTP サーバ (SNTP server): "0.0.0.0" → "10.0.0.1"\n'),
    ]
    assert changes[2].target == f"SNMP {SNTP} (TEST-MIB testSntpServer)"
    no_secret(*changes)


def test_a_compliant_value_stays(tmp_path: Path) -> None:
    agent = Agent()
    agent.values[SNTP] = SnmpValue("IpAddress", "10.0.0.2")    # the second approved server is fine
    agent.values[AUDIT] = SnmpValue("INTEGER", 1)
    agent.values[SYSLOG] = SnmpValue("STRING", "10.0.0.5")
    assert FakeMfp(agent).plan(target(tmp_path), ["LOG-FORWARD", "TIME-SYNC"], PARAMS) == []


def test_plan_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    agent = Agent()
    with pytest.raises(ChangeError, match="IPv4"):
        FakeMfp(agent).plan(target(tmp_path), ["TIME-SYNC"], {"ntp_servers": ["ntp.example.jp"]})
    with pytest.raises(ChangeError, match="ntp_servers is empty"):
        FakeMfp(agent).plan(target(tmp_path), ["TIME-SYNC"], {"ntp_servers": []})
    with pytest.raises(ChangeError, match="no writable setting"):
        FakeMfp(agent).plan(target(tmp_path), ["MFP-STORAGE"], PARAMS)
    del agent.values[SNTP]
    with pytest.raises(ChangeError, match="has no object"):
        FakeMfp(agent).plan(target(tmp_path), ["TIME-SYNC"], PARAMS)
    agent.values[SYS_OBJECT_ID] = SnmpValue("OID", ".1.3.6.1.4.1.8072.3.2.10")
    with pytest.raises(ChangeError, match="no vendor profile"):
        FakeMfp(agent).plan(target(tmp_path), ["TIME-SYNC"], PARAMS)
    assert agent.sets == []


def planned(tmp_path: Path, agent: Agent) -> list[Change]:
    return FakeMfp(agent).plan(target(tmp_path), ["LOG-FORWARD", "TIME-SYNC"], PARAMS)


PRIOR = {SNTP: UNSET, AUDIT: 2, SYSLOG: ""}


def values(agent: Agent) -> dict[str, Any]:
    return {oid: agent.values[oid].value for oid in PRIOR}


def test_apply_sets_verifies_and_a_second_plan_is_empty(tmp_path: Path) -> None:
    agent = Agent()
    approved = planned(tmp_path, agent)
    result = FakeMfp(agent).apply(target(tmp_path), ["LOG-FORWARD", "TIME-SYNC"], PARAMS, approved)
    assert result.failed is None
    assert not result.untouched
    assert result.applied == approved
    assert values(agent) == {SNTP: "10.0.0.1", AUDIT: 1, SYSLOG: "10.0.0.5"}
    assert [list(s) for s in agent.sets] == [[SYSLOG], [AUDIT], [SNTP]]     # each setting once
    assert planned(tmp_path, agent) == []
    backup = (tmp_path / "backups" / "mfp1.json").read_text(encoding="utf-8")
    assert '"0.0.0.0"' in backup
    assert (tmp_path / "backups" / "mfp1.json").stat().st_mode & 0o077 == 0
    no_secret(backup, result)


def test_a_refused_set_restores_every_prior_value_and_proves_it(tmp_path: Path) -> None:
    agent = Agent()
    approved = planned(tmp_path, agent)
    agent.refuse.add(SNTP)     # the third SET fails, after two succeeded
    result = FakeMfp(agent).apply(target(tmp_path), ["LOG-FORWARD", "TIME-SYNC"], PARAMS, approved)
    assert result.failed is not None
    assert SNTP in result.failed
    assert result.rolled_back is True
    assert result.rollback_problems == []
    assert values(agent) == PRIOR
    assert result.applied == []
    assert agent.sessions >= 3   # plan, apply, and a fresh one for the restore
    no_secret(result.failed, result)


def test_a_value_that_does_not_read_back_is_rolled_back(tmp_path: Path) -> None:
    agent = Agent()
    approved = planned(tmp_path, agent)
    agent.ignore.add(AUDIT)    # the agent says yes and keeps 2
    result = FakeMfp(agent).apply(target(tmp_path), ["LOG-FORWARD", "TIME-SYNC"], PARAMS, approved)
    assert result.failed is not None
    assert "verify" in result.failed
    assert "2 (off)" in result.failed
    assert result.rolled_back is True
    assert values(agent) == PRIOR


def test_a_timeout_counts_as_set_and_is_restored(tmp_path: Path) -> None:
    agent = Agent()
    approved = planned(tmp_path, agent)
    agent.time_out.add(AUDIT)  # applied on the device, the answer lost
    result = FakeMfp(agent).apply(target(tmp_path), ["LOG-FORWARD", "TIME-SYNC"], PARAMS, approved)
    assert result.failed is not None
    assert "no SNMP answer" in result.failed
    assert result.rolled_back is True
    assert values(agent) == PRIOR


def test_a_restore_that_fails_is_never_called_rolled_back(tmp_path: Path) -> None:
    """The SNTP SET times out after the agent applied it, and every SET back is refused: the re-read shows the
    new value, so no rollback is claimed, and the problem names the setting; the others are restored all the same."""

    class Stuck(FakeSession):
        def set(self, values: Mapping[str, SnmpValue]) -> None:
            if SNTP in values and any(SNTP in s for s in self.agent.sets):
                self.agent.sets.append(dict(values))
                raise SnmpSetError("mfp1", SNTP, "notWritable")
            super().set(values)

    class StuckMfp(FakeMfp):
        def open_snmp_session(self, target: Target) -> FakeSession:  # type: ignore[override]
            return Stuck(self.agent)

    agent = Agent()
    approved = planned(tmp_path, agent)
    agent.time_out.add(SNTP)
    result = StuckMfp(agent).apply(target(tmp_path), ["LOG-FORWARD", "TIME-SYNC"], PARAMS, approved)
    assert result.failed is not None
    assert "no SNMP answer" in result.failed
    assert result.rolled_back is False
    assert result.rollback_problems[0] == 'SNTP サーバ (SNTP server) is "10.0.0.1", saved "0.0.0.0"'
    assert agent.values[AUDIT].value == 2
    assert agent.values[SYSLOG].value == ""
    assert sum(1 for s in agent.sets if SNTP in s) == 3    # the SET, then one restore per attempt
    no_secret(result.rollback_problems)


def test_a_drifted_prior_value_is_refused_and_nothing_is_set(tmp_path: Path) -> None:
    agent = Agent()
    approved = planned(tmp_path, agent)
    agent.values[SNTP] = SnmpValue("IpAddress", "192.0.2.9")   # someone changed it since the plan
    result = FakeMfp(agent).apply(target(tmp_path), ["LOG-FORWARD", "TIME-SYNC"], PARAMS, approved)
    assert result.untouched is True
    assert result.failed is not None
    assert "TIME-SYNC" in result.failed
    assert "LOG-FORWARD" not in result.failed
    assert agent.sets == []
    assert not (tmp_path / "backups" / "mfp1.json").exists()


def test_no_session_is_refused_untouched(tmp_path: Path) -> None:
    class Silent(FakeMfp):
        def open_snmp_session(self, target: Target) -> FakeSession:  # type: ignore[override]
            raise DeviceTimeout("mfp1", "no SNMP answer: silent device or wrong community")

    result = Silent(Agent()).apply(target(tmp_path), ["TIME-SYNC"], PARAMS, [])
    assert result.untouched is True
    assert result.failed is not None
    assert "no SNMP answer" in result.failed


# --- manual steps ------------------------------------------------------------------------------------------------

def mfp_facts(vendor: str | None) -> dict[str, Any]:
    return {"host": "mfp1", "platform": "mfp", "device_class": "mfp", "facts": {"os": {"family": "mfp",
                                                                                          "vendor": vendor}}}


def test_manual_steps_per_vendor_then_generic(monkeypatch: pytest.MonkeyPatch) -> None:
    platform = FakeMfp(Agent())
    own = platform.manual_steps(mfp_facts("testvendor"), "PW-VENDOR-DEFAULT")
    assert own == {"ja": "テスト社の Test Adminの［管理者設定］で管理者パスワードを変更する。",
                   "en": "Change the administrator password under [Admin] of TestVendor Test Admin."}
    # a known vendor without its own step: the neutral step naming its web admin, parameters left to the plan
    neutral = platform.manual_steps(mfp_facts("testvendor"), "LOG-FORWARD")
    assert neutral is not None
    assert neutral["ja"].startswith("テスト社の Test Adminのログの設定で監査ログ")
    assert "{log_hosts}" in neutral["ja"]
    # unknown vendor: the neutral step with the generic page
    unknown = platform.manual_steps(mfp_facts(None), "PW-VENDOR-DEFAULT")
    assert unknown is not None
    assert unknown["ja"].startswith("機器の Web 管理画面に管理者でログインし")
    assert unknown["en"].startswith("Log in to the device's web administration page")
    # a vendor's step given as a menu path alone is prefixed with the vendor's web admin
    monkeypatch.setitem(PROFILE.manual_steps, "SVC-MINIMAL", {"ja": "「ネットワーク」で Telnet を無効にする。",
                                                              "en": "Disable Telnet under Network."})
    assert platform.manual_steps(mfp_facts("testvendor"), "SVC-MINIMAL") == {
        "ja": "テスト社の Test Admin: 「ネットワーク」で Telnet を無効にする。",
        "en": "TestVendor Test Admin: Disable Telnet under Network."}
    # nothing in the platform's data: None, the plan shows the catalog's text
    assert platform.manual_steps(mfp_facts(None), "NO-SUCH-REQ") is None
