"""The catalog on network devices (issue 8): the extended requirements evaluated on IOS facts.

Each IOS conformance case's expected facts (what the parser must give for that capture) are evaluated against the
catalog as a router or switch, and a few verdicts that follow from the policy are pinned (a type-7 password fails
PW-STORE-PROTECT, type 5/8/9 secrets pass it; the default 4096-byte buffer fails LOG-RETENTION …). Access control
(FW-ACCESS-CONTROL) is pinned on hand-made facts: the IOS parser's /management/access comes in a parallel branch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from hardening.changes.plan import fingerprint
from hardening.core.catalog import load_catalog
from hardening.core.evaluate import evaluate_requirement
from hardening.core.models import CollectResult, Finding, Host, Status, SystemInfo
from hardening.core.scope import applies

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "schemas" / "requirements")
CASES = ROOT / "tests" / "platforms" / "cisco_ios" / "cases"
SITE: dict[str, Any] = {"ntp_servers": ["10.99.0.123", "10.99.0.124"], "log_hosts": ["10.99.0.50"],
                        "management_networks": ["10.203.0.0/16"]}
NETWORK = ("PW-LEN", "PW-CLASS", "LOGIN-LOCKOUT", "LOGIN-BANNER", "LOGIN-TIMEOUT", "MGMT-SECURE-PROTOCOLS",
           "PORTS-CLOSED", "SVC-MINIMAL", "TIME-SYNC", "LOG-FORWARD", "LOG-RETENTION", "LOG-TIMESTAMPS",
           "PW-STORE-PROTECT", "PRIV-RENAME", "FW-ACCESS-CONTROL")


def device(platform: str = "cisco_ios", device_class: str = "router") -> Host:
    return Host(name="rt01", hostname="10.203.0.21", port=22, platform=platform, device_class=device_class,
                zone="kikan", classification={"c": 2, "i": 2, "a": 2}, system=SystemInfo("情報基盤", "", ()),
                roles=(), groups=(), credentials="net")


def document(facts: dict[str, Any], errors: list[str] | tuple[str, ...] = (), manual: dict[str, str] | None = None,
             platform: str = "cisco_ios") -> CollectResult:
    doc = {"format_version": "1", "host": "rt01", "platform": platform, "device_class": "router",
           "collected_at": "2026-11-29T00:00:00Z", "facts": facts,
           "errors": dict.fromkeys(errors, "live only"), "manual": manual or {}}
    return CollectResult("rt01", doc, None, None, 0.1)


def case_findings(case: str) -> dict[str, Finding]:
    expected = json.loads((CASES / case / "expected.json").read_text(encoding="utf-8"))
    meta = yaml.safe_load((CASES / case / "case.yaml").read_text(encoding="utf-8"))
    host = device(device_class=meta["device_class"])
    result = document(expected["facts"], expected["errors"], dict.fromkeys(expected["manual"], "review"))
    return {rid: evaluate_requirement(host, result, CATALOG[rid], SITE) for rid in NETWORK}


def test_the_extended_requirements_apply_to_every_network_class() -> None:
    for rid in NETWORK:
        for platform, device_class in (("cisco_ios", "router"), ("cisco_ios", "switch"), ("yamaha_rtx", "router"),
                                       ("fortios", "firewall")):
            ok, _ = applies(CATALOG[rid], device(platform, device_class))
            assert ok, (rid, device_class)
            automation = CATALOG[rid].automation_for(platform)
            assert automation["check"] == "automated", (rid, platform)


def test_fix_is_automated_exactly_for_the_shared_set() -> None:
    """The shared set of issue 8 on IOS and FortiOS; on RTX the part its firmware has settings for (no banner, no
    password rule, no lockout, no zone in the log stamp; `syslog info on` makes its fixed ring keep informational);
    the rest is check-only (manual)."""
    automated = {"LOGIN-BANNER", "LOGIN-TIMEOUT", "MGMT-SECURE-PROTOCOLS", "SVC-MINIMAL", "TIME-SYNC", "LOG-FORWARD",
                 "LOG-TIMESTAMPS", "LOG-RETENTION", "PW-LEN", "LOGIN-LOCKOUT"}
    rtx_lacks = {"LOGIN-BANNER", "PW-LEN", "LOGIN-LOCKOUT", "LOG-TIMESTAMPS"}
    # FortiOS's log stamps carry the zone from 6.2 on whatever the configuration says: nothing to fix there
    for platform, fixes in (("cisco_ios", automated), ("fortios", automated - {"LOG-TIMESTAMPS"}),
                            ("yamaha_rtx", automated - rtx_lacks)):
        fixed = {rid for rid in NETWORK if CATALOG[rid].automation_for(platform)["fix"] == "automated"}
        assert fixed == fixes, platform
        manual = {rid for rid in NETWORK if CATALOG[rid].automation_for(platform)["fix"] == "manual"}
        assert manual == set(NETWORK) - fixes, platform


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_case_facts_never_pass_what_they_cannot_show(case: str) -> None:
    """Every case's expected facts evaluate without a crash; a requirement reading a fact the case has only as an
    error is `error`, never `pass` (or `fail` when a fact that was determined violates it, never for the
    undetermined one)."""
    expected = json.loads((CASES / case / "expected.json").read_text(encoding="utf-8"))
    for rid, finding in case_findings(case).items():
        reads = CATALOG[rid].facts_for("cisco_ios")
        unknown = set(reads) & set(expected["errors"])
        if unknown:
            assert finding.status in (Status.ERROR, Status.FAIL), (rid, finding.message)
            assert not any(v.pointer.startswith(tuple(unknown)) for v in finding.violations), rid
        assert finding.status is not Status.NOT_APPLICABLE, rid


@pytest.mark.parametrize(("case", "verdicts"), [
    ("ios12-switch-old-defaults-telnet",
     {"PW-STORE-PROTECT": Status.FAIL, "PRIV-RENAME": Status.FAIL, "LOG-RETENTION": Status.FAIL}),
    ("ios15-router-live-telnet-aux-line-passwords",
     {"PW-STORE-PROTECT": Status.FAIL, "PRIV-RENAME": Status.PASS, "LOG-RETENTION": Status.FAIL}),
    ("ios15-router-nopassword-ntp-disabled-logging-off",
     {"PW-STORE-PROTECT": Status.FAIL, "PRIV-RENAME": Status.FAIL, "LOG-RETENTION": Status.FAIL}),
    ("ios15-switch-handover-range-undecided-vty",  # type 5 (md5) secrets only: not plaintext, not reversible
     {"PW-STORE-PROTECT": Status.PASS, "PRIV-RENAME": Status.PASS, "LOG-RETENTION": Status.FAIL}),
    ("iosxe17-router-common-criteria-live-synced",  # type 9 and type 8 only, logging buffered 512000 informational
     {"PW-STORE-PROTECT": Status.PASS, "PRIV-RENAME": Status.PASS, "LOG-RETENTION": Status.PASS}),
    ("iosxe17-switch-all-classes-lockout-live",
     {"PW-STORE-PROTECT": Status.PASS, "PRIV-RENAME": Status.PASS, "LOG-RETENTION": Status.PASS}),
])
def test_case_verdicts(case: str, verdicts: dict[str, Status]) -> None:
    findings = case_findings(case)
    assert {rid: findings[rid].status for rid in verdicts} == verdicts


def test_a_type7_password_fails_and_names_the_account_only() -> None:
    findings = case_findings("ios12-switch-old-defaults-telnet")
    [violation] = findings["PW-STORE-PROTECT"].violations
    assert violation.pointer == "/accounts/password_storage/weak_hash_accounts"
    assert "cisco" in violation.actual
    retention = findings["LOG-RETENTION"]
    assert [v.pointer for v in retention.violations] == ["/logging/local_buffer/size_bytes"]
    assert retention.violations[0].expected == 64000


def test_a_buffer_keeping_warnings_only_fails_on_its_severity() -> None:
    findings = case_findings("ios15-router-live-telnet-aux-line-passwords")
    pointers = sorted(v.pointer for v in findings["LOG-RETENTION"].violations)
    assert pointers == ["/logging/local_buffer/severity", "/logging/local_buffer/size_bytes"]


BUFFER = {"enabled": True, "size_bytes": 64000, "severity": "informational"}


def test_log_retention_reads_the_buffer_on_ios_and_the_files_on_linux() -> None:
    requirement = CATALOG["LOG-RETENTION"]
    ios = evaluate_requirement(device(), document({"os": {"family": "ios"}, "logging": {"local_buffer": BUFFER}}),
                               requirement, SITE)
    assert ios.status is Status.PASS
    assert ios.actual == {"/os/family": "ios", "/logging/local_buffer": BUFFER}
    # no family: the platform's facts are not all there, so error, never judged by the server rule
    no_family = evaluate_requirement(device(), document({"logging": {"local_buffer": BUFFER}}), requirement, SITE)
    assert no_family.status is Status.ERROR
    assert "/os/family" in no_family.message["en"]
    # the buffer only live-readable (or not at all): error; read but not judged: manual
    assert evaluate_requirement(device(), document({"os": {"family": "ios"}}, ["/logging/local_buffer"]),
                                requirement, SITE).status is Status.ERROR
    review = evaluate_requirement(device(), document({"os": {"family": "ios"}}, (),
                                                     {"/logging/local_buffer": "buffer size unknown"}),
                                  requirement, SITE)
    assert review.status is Status.MANUAL
    # RTX's ring has a size fixed by the model: not required there; IOS must show its size
    ring = {"enabled": True, "severity": "informational"}
    assert evaluate_requirement(device("yamaha_rtx"), document({"os": {"family": "rtx"}, "logging": {
        "local_buffer": ring}}, platform="yamaha_rtx"), requirement, SITE).status is Status.PASS
    unsized = evaluate_requirement(device(), document({"os": {"family": "ios"}, "logging": {"local_buffer": ring}}),
                                   requirement, SITE)
    assert unsized.status is Status.FAIL
    assert [v.keyword for v in unsized.violations] == ["required"]
    # a Linux host keeps its server rule (the log files), whatever its os.family
    linux_host = device("linux", "linux_server")
    files = {"os": {"family": "debian"}, "logging": {"retention_days": 365, "journal": {
        "running": False, "persistent": False, "max_retention_days": None}}}
    assert evaluate_requirement(linux_host, document(files, platform="linux"), requirement, SITE).status \
        is Status.PASS
    files["logging"]["retention_days"] = 7
    assert evaluate_requirement(linux_host, document(files, platform="linux"), requirement, SITE).status \
        is Status.FAIL


def _access(*items: dict[str, Any], any_any: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"os": {"family": "ios"}, "network": {"any_any_permits": any_any or []},
            "management": {"access": list(items), "insecure_protocols": []}}


VTY_OPEN = {"context": "line vty 0 4", "protocols": ["ssh"], "restricted": False, "sources": ["0.0.0.0/0"]}
VTY_MGMT = {"context": "line vty 0 4", "protocols": ["ssh"], "restricted": True, "sources": ["10.203.0.0/16"],
            "source": "access-class MGMT in"}


def test_a_vty_without_access_class_fails_fw_access_control() -> None:
    finding = evaluate_requirement(device(), document(_access(VTY_MGMT, {**VTY_OPEN, "context": "line vty 5 15"})),
                                   CATALOG["FW-ACCESS-CONTROL"], SITE)
    assert finding.status is Status.FAIL
    assert {v.pointer for v in finding.violations} == {"/management/access/1/restricted",
                                                       "/management/access/1/sources/0"}


def test_management_only_from_the_management_network_passes() -> None:
    https = {"context": "ip http secure-server", "protocols": ["https"], "restricted": True,
             "sources": ["10.203.0.0/16"]}
    finding = evaluate_requirement(device(), document(_access(VTY_MGMT, https)), CATALOG["FW-ACCESS-CONTROL"], SITE)
    assert finding.status is Status.PASS


def test_sources_inside_the_management_network_pass() -> None:
    """Containment, not spelling: a /24 or a single host inside the site's /16 is management network too."""
    inside = {**VTY_MGMT, "sources": ["10.203.1.0/24", "10.203.0.5/32", "10.203.0.6"]}
    finding = evaluate_requirement(device(), document(_access(inside)), CATALOG["FW-ACCESS-CONTROL"], SITE)
    assert finding.status is Status.PASS, finding.violations
    v6_site = {**SITE, "management_networks": ["10.203.0.0/16", "2001:db8:203::/48"]}
    v6 = {**VTY_MGMT, "sources": ["2001:db8:203:1::/64"]}
    assert evaluate_requirement(device(), document(_access(v6)), CATALOG["FW-ACCESS-CONTROL"], v6_site).status \
        is Status.PASS


def test_fw_access_control_fails_closed() -> None:
    requirement = CATALOG["FW-ACCESS-CONTROL"]
    # the site has not set its management networks: every restricted access still fails
    unset = {k: v for k, v in SITE.items() if k != "management_networks"}
    assert evaluate_requirement(device(), document(_access(VTY_MGMT)), requirement, unset).status is Status.FAIL
    # a source that is wider than, overlaps or lies outside the management network, or cannot be read
    for outside in ("10.0.0.0/8", "10.204.0.0/24", "0.0.0.0/0", "not-a-network", "2001:db8::/32"):
        wide = {**VTY_MGMT, "sources": ["10.203.0.5/32", outside]}
        finding = evaluate_requirement(device(), document(_access(wide)), requirement, SITE)
        assert finding.status is Status.FAIL, outside
        assert [v.pointer for v in finding.violations] == ["/management/access/0/sources/1"]
    # permit ip any any applied to an interface
    any_any = [{"rule": "access-list 101 line 3", "applied_to": ["GigabitEthernet0/0 in"]}]
    finding = evaluate_requirement(device(), document(_access(VTY_MGMT, any_any=any_any)), requirement, SITE)
    assert finding.status is Status.FAIL
    assert [v.pointer for v in finding.violations] == ["/network/any_any_permits"]
    # the parser could not give the access list (saved configuration without it, or not implemented): error
    no_access = _access(VTY_MGMT)
    del no_access["management"]["access"]
    assert evaluate_requirement(device(), document(no_access), requirement, SITE).status is Status.ERROR


def test_priv_rename_counts_an_anonymous_login() -> None:
    facts = {"os": {"family": "rtx"}, "accounts": {"generic_admin_names": ["(anonymous)"]}}
    finding = evaluate_requirement(device("yamaha_rtx"), document(facts, platform="yamaha_rtx"),
                                   CATALOG["PRIV-RENAME"], SITE)
    assert finding.status is Status.FAIL
    assert not applies(CATALOG["PRIV-RENAME"], device("linux", "linux_server"))[0]


def test_plan_fingerprint_reads_the_platforms_facts() -> None:
    """A network device's plan is stale when its buffer changes, not when a fact only Linux reads does."""
    requirements = [CATALOG["LOG-RETENTION"]]

    def doc(platform: str, size: int, days: int) -> dict[str, Any]:
        return {"platform": platform, "facts": {"os": {"family": "ios"}, "logging": {
            "local_buffer": {**BUFFER, "size_bytes": size}, "retention_days": days}}}

    assert fingerprint(doc("cisco_ios", 4096, 1), requirements) == fingerprint(doc("cisco_ios", 4096, 2), requirements)
    assert fingerprint(doc("cisco_ios", 4096, 1), requirements) != fingerprint(doc("cisco_ios", 8192, 1), requirements)
    assert fingerprint(doc("linux", 4096, 1), requirements) != fingerprint(doc("linux", 4096, 2), requirements)
    assert fingerprint(doc("linux", 4096, 1), requirements) == fingerprint(doc("linux", 8192, 1), requirements)
