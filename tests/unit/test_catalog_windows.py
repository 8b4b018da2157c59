"""The catalog on Windows servers and PCs (issue 9): hand-written Windows facts through the real evaluation.

`fixtures/catalog_windows/compliant-pc.json` is a Windows 11 PC as the Windows platform reports it (facts mapping of
the issue 9 design): it passes every requirement that applies to it. Each test below changes what one rule is about
and pins the verdict, with the boundary cases the Windows semantics bring: the 14-character ceiling, complexity as
3 of 5 categories, the lockout observation window, NT5DS, the event log modes, an unknown BIOS vendor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from catalogtools import edited, evaluate_on

from hardening.changes.plan import automatable, fingerprint
from hardening.core.catalog import load_catalog
from hardening.core.evaluate import evaluate_requirement
from hardening.core.models import CollectResult, Finding, Host, Status, SystemInfo
from hardening.core.scope import applies

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "schemas" / "requirements")
PC = json.loads((Path(__file__).parent / "fixtures" / "catalog_windows" / "compliant-pc.json").read_text("utf-8"))
SITE_PARAMETERS: dict[str, Any] = yaml.safe_load((ROOT / "inventory" / "site.yaml").read_text("utf-8"))["parameters"]
SITE: dict[str, Any] = {**SITE_PARAMETERS, "ntp_servers": ["10.203.0.10"], "log_hosts": ["10.203.0.11"]}

WINDOWS = ("PW-LEN", "PW-CLASS", "LOGIN-LOCKOUT", "LOGIN-BANNER", "LOGIN-TIMEOUT", "SCREEN-LOCK",
           "MGMT-SECURE-PROTOCOLS", "PORTS-CLOSED", "SVC-MINIMAL", "TIME-SYNC", "LOG-FORWARD", "LOG-RETENTION",
           "LOG-TIMESTAMPS", "PW-STORE-PROTECT", "PRIV-RENAME", "USB-BLOCK-KIKAN", "DISK-ENC", "AV-RESIDENT",
           "AV-SIG-CURRENT", "BOOT-PW")
PC_ONLY = {"SCREEN-LOCK", "DISK-ENC", "BOOT-PW"}  # the clauses name パソコン (PCs)
FIXED = {"PW-LEN", "PW-CLASS", "LOGIN-LOCKOUT", "LOGIN-BANNER", "LOGIN-TIMEOUT", "SCREEN-LOCK", "USB-BLOCK-KIKAN",
         "TIME-SYNC", "LOG-RETENTION", "SVC-MINIMAL", "MGMT-SECURE-PROTOCOLS", "PW-STORE-PROTECT", "AV-RESIDENT"}
OPT_IN = {"DISK-ENC", "BOOT-PW"}


def host(device_class: str = "windows_pc", roles: tuple[str, ...] = ("windows_host",),
         parameters: dict[str, Any] | None = None) -> Host:
    return Host(name="pc-win01", hostname="10.203.0.40", port=5986, platform="windows", device_class=device_class,
                zone="kikan", classification={"c": 3, "i": 2, "a": 1}, system=SystemInfo("住民記録システム", "", ()),
                roles=roles, groups=(), credentials="win", parameters=parameters or {})


def facts(**changes: Any) -> dict[str, Any]:
    return edited(PC["facts"], **changes)


def evaluate(rid: str, document_facts: dict[str, Any] | None = None, *, errors: dict[str, str] | None = None,
             manual: dict[str, str] | None = None, on: Host | None = None, site: dict[str, Any] | None = None
             ) -> Finding:
    target = on or host()
    document = {**PC, "device_class": target.device_class}
    return evaluate_on(target, document, document_facts or facts(), CATALOG[rid], site or SITE, errors=errors,
                       manual=manual)


def pointers(finding: Finding) -> list[str]:
    return sorted({v.pointer for v in finding.violations})


# ------------------------------------------------------------------------------------------------ the catalog


def test_every_windows_requirement_names_the_platform_with_its_own_words() -> None:
    for rid in WINDOWS:
        requirement = CATALOG[rid]
        assert "windows" in requirement.platforms, rid
        assert {"windows_server", "windows_pc"} & set(requirement.device_classes), rid
        text = requirement.remediation_for("windows")
        assert text != requirement.remediation, rid
        # the Windows text names a Windows setting: a group policy, a registry key, a secedit key or a cmdlet
        assert any(word in text["en"] for word in ("group policy", "HKLM\\", "secedit", "-MountPoint", "Set-",
                                                    "Update-MpSignature", "event log", "WMI")), rid
        assert any(word in text["ja"] for word in ("グループ ポリシー", "HKLM\\", "secedit", "Set-", "Update-Mp", "WMI",
                                                    "イベント ログ")), rid


def test_fix_is_automated_where_the_setters_reach_and_opt_in_for_bitlocker_and_firmware() -> None:
    fixes = {rid: CATALOG[rid].automation_for("windows")["fix"] for rid in WINDOWS}
    assert {rid for rid, fix in fixes.items() if fix == "automated"} == FIXED
    assert {rid for rid, fix in fixes.items() if fix == "opt_in"} == OPT_IN
    assert {rid for rid, fix in fixes.items() if fix == "manual"} == set(WINDOWS) - FIXED - OPT_IN
    assert all(CATALOG[rid].automation_for("windows")["check"] == "automated" for rid in WINDOWS)


def test_pc_only_clauses_do_not_apply_to_servers() -> None:
    for rid in WINDOWS:
        on_server, _ = applies(CATALOG[rid], host("windows_server"))
        assert on_server is (rid not in PC_ONLY), rid
        assert applies(CATALOG[rid], host("windows_pc"))[0], rid


@pytest.mark.parametrize("device_class", ["windows_pc", "windows_server"])
def test_the_compliant_windows_host_passes_every_requirement(device_class: str) -> None:
    for rid in WINDOWS:
        finding = evaluate(rid, on=host(device_class))
        expected = Status.NOT_APPLICABLE if device_class == "windows_server" and rid in PC_ONLY else Status.PASS
        assert finding.status is expected, (rid, finding.message["en"], finding.violations)


# One change per requirement that makes it fail, and where (the fact the finding names).
FAILING: list[tuple[str, dict[str, Any], list[str]]] = [
    ("PW-LEN", {"password_policy/min_length": 7}, ["/password_policy/min_length"]),
    ("PW-CLASS", {"password_policy/min_char_classes": 1}, ["/password_policy/min_char_classes"]),
    ("LOGIN-LOCKOUT", {"login/lockout_threshold": 10}, ["/login/lockout_threshold"]),
    ("LOGIN-BANNER", {"login/banners/0/text": None}, ["/login/banners/0/text"]),
    ("LOGIN-TIMEOUT", {"login/idle_timeout/seconds": 0}, ["/login/idle_timeout/seconds"]),
    ("SCREEN-LOCK", {"screen_lock/idle_seconds": 1800}, ["/screen_lock/idle_seconds"]),
    ("MGMT-SECURE-PROTOCOLS", {"management/insecure_protocols": [
        {"protocol": "winrm_unencrypted", "how": "configured", "detail": "AllowUnencrypted = 1"}]},
     ["/management/insecure_protocols"]),
    ("PORTS-CLOSED", {"network/exposed_sockets/5": {"socket": "tcp/3389", "process": "svchost"}},
     ["/network/exposed_sockets/5/socket"]),
    ("SVC-MINIMAL", {"services/prohibited_present": [{"name": "SMB1", "how": "enabled",
                                                      "detail": "EnableSMB1Protocol True"}]},
     ["/services/prohibited_present"]),
    ("TIME-SYNC", {"time/offset_ms_abs": 2500.0}, ["/time/offset_ms_abs"]),
    ("LOG-FORWARD", {"logging/remote_targets/0/host": "wec.example.invalid"}, ["/logging/remote_targets"]),
    ("LOG-RETENTION", {"logging/event_logs/2/enabled": False}, ["/logging/event_logs/2/enabled"]),
    ("LOG-TIMESTAMPS", {"logging/timestamp_formats/0/full": False}, ["/logging/timestamp_formats/0/full"]),
    ("PW-STORE-PROTECT", {"accounts/password_storage/hash_methods": [
        {"source": "NoLMHash", "method": "nt"}, {"source": "ClearTextPassword", "method": "reversible"}]},
     ["/accounts/password_storage/hash_methods/1/method"]),
    ("PRIV-RENAME", {"accounts/generic_admin_names": ["admin"]}, ["/accounts/generic_admin_names"]),
    ("USB-BLOCK-KIKAN", {"removable_media/usb_storage_blocked": False}, ["/removable_media/usb_storage_blocked"]),
    ("DISK-ENC", {"disk_encryption/os_volume_encrypted": False}, ["/disk_encryption/os_volume_encrypted"]),
    ("AV-RESIDENT", {"antimalware/resident": False}, ["/antimalware/resident"]),
    ("AV-SIG-CURRENT", {"antimalware/signature_age_days": 3}, ["/antimalware/signature_age_days"]),
    ("BOOT-PW", {"firmware/admin_password_set": False}, ["/firmware/admin_password_set"]),
]


@pytest.mark.parametrize(("rid", "changes", "where"), FAILING, ids=[case[0] for case in FAILING])
def test_each_rule_fails_on_its_fact(rid: str, changes: dict[str, Any], where: list[str]) -> None:
    finding = evaluate(rid, facts(**changes))
    assert finding.status is Status.FAIL, finding.message["en"]
    assert pointers(finding) == where
    # the clause as the policy numbers it, and the Windows text with the host's parameters filled in
    assert finding.expected["ja"]
    assert "{" not in finding.expected["ja"]


def test_failing_covers_every_windows_requirement() -> None:
    assert {case[0] for case in FAILING} == set(WINDOWS)


def test_without_the_family_a_windows_rule_is_error_never_the_server_rule() -> None:
    """Where Windows has its own rule, /os/family chooses it: missing or undetermined, the finding is `error`."""
    for rid in WINDOWS:
        if "/os/family" not in CATALOG[rid].facts_for("windows"):
            continue
        document = facts(**{"os/family!": None})
        assert evaluate(rid, document).status is Status.ERROR, rid
        assert evaluate(rid, facts(), errors={"/os/family": "os: block cut"}).status is Status.ERROR, rid


# ------------------------------------------------------------------------------------------------ PW-LEN: 14


def test_pw_len_the_14_character_ceiling() -> None:
    fourteen = facts(**{"password_policy/min_length": 14})
    assert evaluate("PW-LEN", fourteen).status is Status.PASS  # 14 is within the ceiling
    site15 = {**SITE, "min_length": 15}
    # the site asks 15, Windows without RelaxMinimumPasswordLengthLimits cannot enforce it: fail, naming the ceiling
    finding = evaluate("PW-LEN", fourteen, site=site15)
    assert finding.status is Status.FAIL
    assert pointers(finding) == ["/password_policy/min_length", "/password_policy/min_length_limit"]
    limit = next(v for v in finding.violations if v.pointer.endswith("min_length_limit"))
    assert (limit.actual, limit.expected) == (14, 15)
    # even a length that reads 15 under a ceiling of 14 (inconsistent facts) fails on the ceiling, never silently
    assert pointers(evaluate("PW-LEN", facts(**{"password_policy/min_length": 15}), site=site15)) == [
        "/password_policy/min_length_limit"]
    # with the relax flag there is no ceiling (null): 15 passes
    relaxed = facts(**{"password_policy/min_length": 15, "password_policy/min_length_limit": None})
    assert evaluate("PW-LEN", relaxed, site=site15).status is Status.PASS
    # a per-host parameter works the same way
    assert evaluate("PW-LEN", fourteen, on=host(parameters={"min_length": 15})).status is Status.FAIL
    # the ceiling not determined: error, never pass
    assert evaluate("PW-LEN", facts(), errors={"/password_policy/min_length_limit": "reg_sam cut"}).status \
        is Status.ERROR


# ------------------------------------------------------------------------------------------------ PW-CLASS: 3 of 5


def test_pw_class_complexity_is_3_of_5_and_the_verdict_says_so() -> None:
    finding = evaluate("PW-CLASS")
    assert finding.status is Status.PASS  # complexity on: accepted as the policy's 3 of 4, with the deviation stated
    assert "5種類のうち3種類" in finding.expected["ja"]
    assert "3 of 5" in finding.expected["en"]
    assert finding.parameters["max_char_categories"] == 5
    requirement = CATALOG["PW-CLASS"]
    assert "かな" in requirement.rationale["ja"]
    assert "kana" in requirement.rationale["en"]
    # the strict reading (the city sets 4): Windows' 5-category rule fails, at the fact that says why
    strict = evaluate("PW-CLASS", site={**SITE, "max_char_categories": 4})
    assert strict.status is Status.FAIL
    assert pointers(strict) == ["/password_policy/char_categories"]
    # a password filter that counts exactly the policy's four classes passes the strict reading
    four = facts(**{"password_policy/char_categories": 4})
    assert evaluate("PW-CLASS", four, site={**SITE, "max_char_categories": 4}).status is Status.PASS
    # complexity off: 1 class, fails whatever the reading
    assert pointers(evaluate("PW-CLASS", facts(**{"password_policy/min_char_classes": 1}))) == [
        "/password_policy/min_char_classes"]


def test_pw_class_on_linux_is_unchanged() -> None:
    linux = Host(name="srv", hostname="10.203.0.20", port=22, platform="linux", device_class="linux_server",
                 zone="kikan", classification={"c": 2, "i": 2, "a": 2}, system=SystemInfo("情報基盤", "", ()),
                 roles=(), groups=(), credentials="ssh")
    document = {"platform": "linux", "facts": {"os": {"family": "debian"}, "password_policy": {
        "enforced": True, "min_length": 8, "min_char_classes": 3}}, "errors": {}, "manual": {}}
    result = CollectResult("srv", document, None, None, 0.1)
    assert evaluate_requirement(linux, result, CATALOG["PW-CLASS"], {**SITE, "max_char_categories": 4}).status \
        is Status.PASS


# ------------------------------------------------------------------------------------------ LOGIN-LOCKOUT: window


def test_lockout_window() -> None:
    assert CATALOG["LOGIN-LOCKOUT"].parameters["lockout_window_seconds"].default == 900
    short = evaluate("LOGIN-LOCKOUT", facts(**{"login/lockout_window_seconds": 300}))
    assert short.status is Status.FAIL
    assert pointers(short) == ["/login/lockout_window_seconds"]
    # a window longer than the lock: Windows refuses to set it, and it only counts failures longer (stricter); the
    # verdict requires each value's own minimum, not window <= duration
    longer = facts(**{"login/lockout_window_seconds": 3600, "login/lockout_duration_seconds": 1800})
    assert evaluate("LOGIN-LOCKOUT", longer).status is Status.PASS
    # locked until an administrator unlocks (0), window 15 minutes: pass
    assert evaluate("LOGIN-LOCKOUT", facts(**{"login/lockout_duration_seconds": 0})).status is Status.PASS
    # no lockout at all: threshold 0, no duration, no window
    none = evaluate("LOGIN-LOCKOUT", facts(**{"login/lockout_threshold": 0, "login/lockout_duration_seconds": None,
                                              "login/lockout_window_seconds": None}))
    assert none.status is Status.FAIL
    assert pointers(none) == ["/login/lockout_duration_seconds", "/login/lockout_threshold",
                              "/login/lockout_window_seconds"]
    # the window is read on Windows only: a Linux document without it is judged as before
    assert "/login/lockout_window_seconds" not in CATALOG["LOGIN-LOCKOUT"].facts_for("linux")


# ------------------------------------------------------------------------------------------------ TIME-SYNC


def test_time_sync_nt5ds_is_the_domain_hierarchy() -> None:
    # a domain member: NT5DS, NtpServer left at the Windows default (not used under NT5DS), synchronised from a DC
    member = facts(**{"time/source_type": "NT5DS", "time/ntp_servers": ["time.windows.com"],
                      "time/selected_source": "dc01.city.local"})
    assert evaluate("TIME-SYNC", member).status is Status.PASS
    # the city does not accept the domain hierarchy
    assert pointers(evaluate("TIME-SYNC", member, site={**SITE, "time_source_types": ["NTP"]})) == [
        "/time/source_type"]
    # NT5DS but the PDC emulator's own clock (Local CMOS Clock): not synchronised
    cmos = facts(**{"time/source_type": "NT5DS", "time/synchronized": False, "time/selected_source": None})
    assert pointers(evaluate("TIME-SYNC", cmos)) == ["/time/synchronized"]


def test_time_sync_ntp_needs_the_site_servers_and_a_recent_sync() -> None:
    assert pointers(evaluate("TIME-SYNC", facts(**{"time/ntp_servers": ["10.203.0.10", "time.windows.com"]}))) == [
        "/time/ntp_servers/1"]
    assert pointers(evaluate("TIME-SYNC", facts(**{"time/ntp_servers": []}))) == ["/time/ntp_servers"]
    assert pointers(evaluate("TIME-SYNC", facts(**{"time/source_type": "NoSync"}))) == ["/time/source_type"]
    # AllSync is not accepted by default; once accepted, its NtpServer list must be approved too
    allsync = facts(**{"time/source_type": "AllSync", "time/ntp_servers": ["time.windows.com"]})
    accepting = {**SITE, "time_source_types": ["NTP", "NT5DS", "AllSync"]}
    assert pointers(evaluate("TIME-SYNC", allsync, site=accepting)) == ["/time/ntp_servers/0"]
    # the weekly SpecialPollInterval of the workgroup default: last synchronised 5 days ago
    stale = evaluate("TIME-SYNC", facts(**{"time/last_sync_age_seconds": 432000}))
    assert pointers(stale) == ["/time/last_sync_age_seconds"]
    never = evaluate("TIME-SYNC", facts(**{"time/last_sync_age_seconds": None}))
    assert never.status is Status.FAIL
    # free-running with the offset unknown: still a definite fail (the if on source_type reads /time/source_type,
    # not every fact under /time)
    unsynced = evaluate("TIME-SYNC", facts(**{"time/synchronized": False, "time/offset_ms_abs!": None}),
                        errors={"/time/offset_ms_abs": "no peer"})
    assert unsynced.status is Status.FAIL
    assert pointers(unsynced) == ["/time/synchronized"]
    # the source type unknown: which rule applies is not known, so error
    assert evaluate("TIME-SYNC", facts(**{"time/source_type!": None, "time/ntp_servers": ["time.windows.com"]}),
                    errors={"/time/source_type": "w32tm_config cut"}).status is Status.ERROR
    # a w32tm /query /status that could not be read: error, never pass
    assert evaluate("TIME-SYNC", facts(**{"time/synchronized!": None, "time/offset_ms_abs!": None}),
                    errors={"/time/synchronized": "w32tm_status: HARDENING-ERROR",
                            "/time/offset_ms_abs": "w32tm_status: HARDENING-ERROR"}).status is Status.ERROR


def test_ntp_servers_stay_out_of_scope() -> None:
    assert evaluate("TIME-SYNC", on=host(roles=("windows_host", "ntp_server"))).status is Status.NOT_APPLICABLE


# ------------------------------------------------------------------------------------------------ LOG-RETENTION


@pytest.mark.parametrize(("mode", "status"), [("archive", Status.PASS), ("overwrite", Status.FAIL),
                                              ("keep", Status.FAIL)])
def test_log_retention_mode(mode: str, status: Status) -> None:
    """Only archive keeps every event: overwrite trims by size (no retention period), keep stops logging when full."""
    finding = evaluate("LOG-RETENTION", facts(**{"logging/event_logs/0/mode": mode}))
    assert finding.status is status
    if status is Status.FAIL:
        assert pointers(finding) == ["/logging/event_logs/0/mode"]


def test_log_retention_sizes_and_presence() -> None:
    # CIS sizes: Security 196,608 KB, System and Application 32,768 KB (one byte less fails)
    small = facts(**{"logging/event_logs/0/max_size_bytes": 201326591, "logging/event_logs/1/max_size_bytes": 20971520})
    assert pointers(evaluate("LOG-RETENTION", small)) == ["/logging/event_logs/0/max_size_bytes",
                                                          "/logging/event_logs/1/max_size_bytes"]
    # the Security log missing altogether
    missing = facts()
    missing["logging"]["event_logs"] = missing["logging"]["event_logs"][1:]
    finding = evaluate("LOG-RETENTION", missing)
    assert finding.status is Status.FAIL
    assert pointers(finding) == ["/logging/event_logs"]
    # a further log the platform lists (Setup) is not judged
    extra = facts()
    extra["logging"]["event_logs"].append({"name": "Setup", "enabled": True, "max_size_bytes": 1052672,
                                           "mode": "overwrite"})
    assert evaluate("LOG-RETENTION", extra).status is Status.PASS
    # the Windows rule reads the event logs, not the Linux log files
    assert CATALOG["LOG-RETENTION"].facts_for("windows") == ("/os/family", "/logging/event_logs")


# --------------------------------------------------------------------------------------------- PW-STORE-PROTECT


def test_pw_store_protect_on_windows() -> None:
    lm = evaluate("PW-STORE-PROTECT", facts(**{"accounts/password_storage/lm_hash_stored": True,
                                               "accounts/password_storage/hash_methods/0/method": "lm"}))
    assert pointers(lm) == ["/accounts/password_storage/hash_methods/0/method",
                            "/accounts/password_storage/lm_hash_stored"]
    cached = evaluate("PW-STORE-PROTECT", facts(**{"accounts/password_storage/cached_logons": 10}))
    assert pointers(cached) == ["/accounts/password_storage/cached_logons"]
    assert evaluate("PW-STORE-PROTECT", facts(**{"accounts/password_storage/cached_logons": 10}),
                    site={**SITE, "max_cached_logons": 10}).status is Status.PASS
    empty = evaluate("PW-STORE-PROTECT", facts(**{"accounts/password_storage/empty_password_accounts": ["kiosk"]}))
    assert pointers(empty) == ["/accounts/password_storage/empty_password_accounts"]
    # an account that may have an empty password needs a person; the LM setting is fixed by the platform
    requirement = CATALOG["PW-STORE-PROTECT"]
    assert automatable(requirement, "windows", [{"pointer": v.pointer} for v in empty.violations]) is False
    assert automatable(requirement, "windows", [{"pointer": v.pointer} for v in cached.violations]) is True


# ------------------------------------------------------------------------------------------------ PRIV-RENAME


@pytest.mark.parametrize(("admin", "generic", "status"), [
    ({"name": "Administrator", "enabled": True, "renamed": False}, ["Administrator"], Status.FAIL),
    ({"name": "Administrator", "enabled": True, "renamed": False}, [], Status.FAIL),
    ({"name": "Administrator", "enabled": False, "renamed": False}, [], Status.PASS),
    ({"name": "sakado-ladm", "enabled": True, "renamed": True}, [], Status.PASS),
])
def test_priv_rename_builtin_administrator(admin: dict[str, Any], generic: list[str], status: Status) -> None:
    document = facts(**{"accounts/builtin_admin": admin, "accounts/generic_admin_names": generic})
    finding = evaluate("PRIV-RENAME", document)
    assert finding.status is status
    if status is Status.FAIL:
        assert "/accounts/builtin_admin/enabled" in pointers(finding) or "/accounts/builtin_admin/renamed" in \
            pointers(finding)


# ---------------------------------------------------------------------------------- DISK-ENC, BOOT-PW, opt-in


def test_bitlocker_suspended_fails() -> None:
    finding = evaluate("DISK-ENC", facts(**{"disk_encryption/protection_on": False}))
    assert pointers(finding) == ["/disk_encryption/protection_on"]


def test_unknown_bios_vendor_is_manual_never_pass() -> None:
    document = facts(**{"firmware": {"vendor": "FUJITSU CLIENT COMPUTING LIMITED"}})
    reason = {"/firmware/admin_password_set": "vendor FUJITSU CLIENT COMPUTING LIMITED has no documented WMI "
                                              "interface for its BIOS password: check it in the setup screen"}
    finding = evaluate("BOOT-PW", document, manual=reason)
    assert finding.status is Status.MANUAL
    assert "FUJITSU" in finding.message["en"]
    # the vendor's block could not be read (Invalid namespace …): error
    assert evaluate("BOOT-PW", document, errors={"/firmware/admin_password_set": "bios_hp: Invalid namespace"}
                    ).status is Status.ERROR


def test_opt_in_fixes_only_when_the_plan_names_the_requirement() -> None:
    for rid, pointer in (("DISK-ENC", "/disk_encryption/os_volume_encrypted"),
                         ("BOOT-PW", "/firmware/admin_password_set")):
        requirement = CATALOG[rid]
        violations = [{"pointer": pointer}]
        assert automatable(requirement, "windows", violations) is False
        assert automatable(requirement, "windows", violations, ["PW-LEN"]) is False
        assert automatable(requirement, "windows", violations, [rid.split("-")[0] + "-*"]) is False  # not a pattern
        assert automatable(requirement, "windows", violations, [rid]) is True
        # on Linux the same requirement stays manual, named or not
        assert automatable(requirement, "linux", violations, [rid]) is False
    # an automated fix does not need to be named
    assert automatable(CATALOG["PW-LEN"], "windows", [{"pointer": "/password_policy/min_length"}]) is True


# ------------------------------------------------------------------------------------ PORTS-CLOSED, LOG-FORWARD


def test_ports_closed_with_the_windows_host_role() -> None:
    allowed = SITE_PARAMETERS["allowed_ports_by_role"]["windows_host"]
    assert {"tcp/135", "tcp/445", "tcp/5985", "tcp/5986"} <= set(allowed)
    assert "tcp/139" not in allowed
    assert "tcp/3389" not in allowed
    # without the role a Windows host fails on RPC and SMB
    without = evaluate("PORTS-CLOSED", on=host(roles=()))
    assert without.status is Status.FAIL
    assert "/network/exposed_sockets/0/socket" in pointers(without)
    # RDP once the role remote_desktop is given
    rdp = facts(**{"network/exposed_sockets/5": {"socket": "tcp/3389", "process": "svchost"}})
    assert evaluate("PORTS-CLOSED", rdp, on=host(roles=("windows_host", "remote_desktop"))).status is Status.PASS


def test_log_forward_counts_event_forwarding() -> None:
    for protocol in ("wef-https", "wef-http"):
        document = facts(**{"logging/remote_targets/0/protocol": protocol})
        assert evaluate("LOG-FORWARD", document).status is Status.PASS
    assert pointers(evaluate("LOG-FORWARD", facts(**{"logging/remote_targets": []}))) == ["/logging/remote_targets"]
    assert evaluate("LOG-FORWARD", on=host(roles=("windows_host", "log_server"))).status is Status.NOT_APPLICABLE


# ------------------------------------------------------------------------------------------------ plan


def test_plan_fingerprint_reads_the_windows_facts() -> None:
    """A Windows plan is stale when what the Windows rule reads changes (the lockout window), not otherwise."""
    requirements = [CATALOG["LOGIN-LOCKOUT"]]

    def doc(window: int, platform: str = "windows") -> dict[str, Any]:
        return {"platform": platform, "facts": facts(**{"login/lockout_window_seconds": window})}

    assert fingerprint(doc(900), requirements) != fingerprint(doc(60), requirements)
    assert fingerprint(doc(900, "linux"), requirements) == fingerprint(doc(60, "linux"), requirements)
