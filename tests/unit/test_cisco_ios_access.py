"""Cisco IOS: access lists, the ways in to manage a device (/management/access) and any-to-any permits.

Each test feeds configuration text in the syntax IOS prints and checks the facts the parser derives from it.
"""

from __future__ import annotations

from typing import Any

import pytest

from hardening.platforms.cisco_ios.acl import AccessList, access_lists, admitted_sources, cidrs
from hardening.platforms.cisco_ios.config import parse_config
from hardening.platforms.cisco_ios.parse import RUNNING, parse_outputs

VTY_SSH = "version 15.2\nip ssh version 2\n"


def facts(config: str) -> dict[str, Any]:
    result, _ = parse_outputs({RUNNING: config})
    return result.facts


def access(config: str) -> dict[str, dict[str, Any]]:
    return {item["context"]: item for item in facts(config)["management"]["access"]}


def sources(config: str, family: int, name: str) -> tuple[list[str], list[str]]:
    acl: AccessList = access_lists(parse_config(config))[(family, name)]
    networks, notes = admitted_sources(acl)
    return cidrs(networks), notes


# --- resolving an ACL ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("config", "name", "expected"), [
    ("access-list 10 permit 10.203.0.0 0.0.255.255\n", "10", ["10.203.0.0/16"]),
    ("access-list 10 permit 10.203.0.1\naccess-list 10 permit host 10.203.0.2\n", "10",
     ["10.203.0.1/32", "10.203.0.2/32"]),
    ("access-list 10 remark management\naccess-list 10 permit 10.203.0.0 0.0.0.255 log\n"
     "access-list 10 deny   any log\n", "10", ["10.203.0.0/24"]),
    ("access-list 1300 permit any\n", "1300", ["0.0.0.0/0"]),
    # a deny before a wider permit narrows it; one after it changes nothing
    ("access-list 11 deny 10.203.5.0 0.0.0.255\naccess-list 11 permit 10.203.4.0 0.0.1.255\n"
     "access-list 11 deny 10.203.4.0 0.0.0.255\n", "11", ["10.203.4.0/24"]),
    ("access-list 12 deny any\naccess-list 12 permit 10.0.0.0 0.255.255.255\n", "12", []),
    # named, out of sequence order in the text: evaluated by sequence number
    ("ip access-list standard MGMT\n 10 permit 10.203.0.0 0.0.255.255\n permit 10.204.0.0 0.0.255.255\n", "MGMT",
     ["10.203.0.0/16", "10.204.0.0/16"]),
    # extended: the source field counts, protocol and ports do not narrow a permit
    ("access-list 110 permit tcp 10.203.0.0 0.0.255.255 any eq 22\naccess-list 110 permit tcp host 10.9.9.9 "
     "host 10.0.0.1 eq 22\naccess-list 110 deny ip any any log\n", "110", ["10.9.9.9/32", "10.203.0.0/16"]),
    ("access-list 2000 permit ip 0.0.0.0 255.255.255.255 any\n", "2000", ["0.0.0.0/0"]),
    ("ip access-list extended VTY\n 10 deny tcp 10.203.9.0 0.0.0.255 any eq telnet\n"
     " 20 permit tcp 10.203.0.0 0.0.255.255 any eq 22\n", "VTY", ["10.203.0.0/16"]),
])
def test_acl_sources(config: str, name: str, expected: list[str]) -> None:
    assert sources(config, 4, name)[0] == expected


def test_sequence_order_and_a_deny_carved_out_of_any() -> None:
    found, _ = sources("ip access-list standard MGMT\n 20 permit any\n 10 deny 192.0.2.0 0.0.0.255\n", 4, "MGMT")
    assert len(found) == 24  # 0.0.0.0/0 less 192.0.2.0/24, as CIDR blocks
    assert "192.0.0.0/23" in found
    assert "192.0.3.0/24" in found
    assert not any(n.startswith("192.0.2.") for n in found)


def test_a_conditional_deny_removes_nothing_and_says_so() -> None:
    found, notes = sources("ip access-list extended VTY\n 10 deny tcp 10.203.9.0 0.0.0.255 any eq telnet\n"
                           " 20 permit ip 10.203.0.0 0.0.255.255 any\n", 4, "VTY")
    assert found == ["10.203.0.0/16"]
    assert any("part of the traffic" in note for note in notes)


def test_non_contiguous_wildcard_fails_closed() -> None:
    found, notes = sources("access-list 15 permit 10.203.0.0 0.0.255.0\n", 4, "15")
    assert found == ["0.0.0.0/0"]
    assert any("non-contiguous" in note for note in notes)
    # in a deny it removes nothing (the permit after it stays whole)
    found, _ = sources("access-list 16 deny 10.203.0.0 0.0.255.0\naccess-list 16 permit 10.203.0.0 0.0.255.255\n",
                       4, "16")
    assert found == ["10.203.0.0/16"]


def test_ipv6_acl() -> None:
    found, _ = sources("ipv6 access-list MGMT6\n sequence 20 permit ipv6 2001:db8:203::/48 any\n"
                       " sequence 10 deny ipv6 host 2001:db8:203::66 any\n", 6, "MGMT6")
    assert "2001:db8:203::66/128" not in found
    assert len(found) > 1
    assert all(n.startswith("2001:db8:203:") for n in found)


# --- /management/access --------------------------------------------------------------------------------

def test_vty_ranges_each_with_their_access_class() -> None:
    items = access(VTY_SSH + "access-list 10 permit 10.203.0.0 0.0.255.255\n"
                   "ip access-list standard NOC\n 10 permit host 10.203.0.5\n"
                   "line con 0\nline vty 0 4\n access-class 10 in vrf-also\n transport input ssh\n"
                   "line vty 5 15\n access-class NOC in\n transport input ssh\nline vty 16 31\n transport input ssh\n")
    assert items["line vty 0 4"] == {"context": "line vty 0 4", "protocols": ["ssh"], "restricted": True,
                                     "sources": ["10.203.0.0/16"],
                                     "source": "transport input ssh, access-class 10 in vrf-also"}
    assert (items["line vty 5 15"]["restricted"], items["line vty 5 15"]["sources"]) == (True, ["10.203.0.5/32"])
    assert (items["line vty 16 31"]["restricted"], items["line vty 16 31"]["sources"]) == (False, ["0.0.0.0/0"])
    assert "line con 0" not in items


def test_missing_acl_is_unrestricted() -> None:
    item = access(VTY_SSH + "line vty 0 4\n access-class 99 in\n transport input ssh\n")["line vty 0 4"]
    assert (item["restricted"], item["sources"]) == (False, ["0.0.0.0/0"])
    assert "not defined" in item["source"]
    item = access(VTY_SSH + "access-list 98 remark nothing yet\nline vty 0 4\n access-class 98 in\n"
                  " transport input ssh\n")["line vty 0 4"]
    assert (item["restricted"], item["sources"]) == (False, ["0.0.0.0/0"])


def test_lines_that_are_not_a_way_in() -> None:
    items = access(VTY_SSH + "line con 0\nline aux 0\n exec-timeout 0 0\nline vty 0 4\n transport input none\n"
                   "line vty 5 15\n no exec\n transport input ssh\nline 1 8\n transport input telnet\n no exec\n")
    assert items == {}
    items = access(VTY_SSH + "line aux 0\n transport input telnet\nline 2 3\n transport input ssh\n"
                   "line vty 0 4\n transport input ssh\n")
    assert sorted(items) == ["line 2 3", "line aux 0", "line vty 0 4"]
    assert items["line aux 0"]["protocols"] == ["telnet"]


def test_ipv6_counts_where_an_interface_has_it() -> None:
    config = (VTY_SSH + "access-list 10 permit 10.203.0.0 0.0.255.255\nline vty 0 4\n access-class 10 in\n"
              " transport input ssh\n")
    assert access(config)["line vty 0 4"]["restricted"] is True
    with_v6 = config + "interface GigabitEthernet0/0\n ipv6 address 2001:db8::1/64\n"
    item = access(with_v6)["line vty 0 4"]
    assert (item["restricted"], item["sources"]) == (False, ["10.203.0.0/16", "::/0"])
    both = with_v6 + "ipv6 access-list V6\n permit ipv6 2001:db8:203::/48 any\nline vty 0 4\n ipv6 access-class V6 in\n"
    item = access(both)["line vty 0 4"]
    assert (item["restricted"], item["sources"]) == (True, ["10.203.0.0/16", "2001:db8:203::/48"])


def test_http_and_snmp_access() -> None:
    items = access(VTY_SSH + "access-list 20 permit 10.203.0.0 0.0.255.255\n"
                   "ip access-list standard SNMP-RO\n permit host 10.203.0.30\n"
                   "ip http server\nip http secure-server\nip http access-class ipv4 20\n"
                   "snmp-server community S3cretRO view V RO SNMP-RO\nsnmp-server community S3cretRW RW\n"
                   "snmp-server group OPS v3 priv read V access 20\nsnmp-server group LEGACY v2c\n"
                   "line vty 0 4\n transport input none\n")
    assert sorted(items) == ["ip http secure-server", "ip http server", "snmp-server community (***) RW",
                             "snmp-server community (***) view V RO", "snmp-server group LEGACY v2c",
                             "snmp-server group OPS v3 priv"]
    assert items["ip http server"]["sources"] == items["ip http secure-server"]["sources"] == ["10.203.0.0/16"]
    assert items["snmp-server community (***) view V RO"]["sources"] == ["10.203.0.30/32"]
    assert items["snmp-server community (***) RW"]["restricted"] is False
    assert items["snmp-server group OPS v3 priv"]["sources"] == ["10.203.0.0/16"]
    assert items["snmp-server group LEGACY v2c"]["restricted"] is False
    assert "S3cret" not in repr(items)


def test_http_off_by_default_and_last_command_wins() -> None:
    assert access(VTY_SSH + "line vty 0 4\n transport input none\n") == {}
    assert access(VTY_SSH + "ip http server\nno ip http server\nline vty 0 4\n transport input none\n") == {}


def test_netconf() -> None:
    items = access(VTY_SSH + "ip access-list standard NC\n permit 10.203.0.0 0.0.255.255\nnetconf-yang\n"
                   "netconf-yang ssh ipv4 access-list name NC\nline vty 0 4\n transport input none\n")
    assert items["netconf-yang"]["sources"] == ["10.203.0.0/16"]
    items = access(VTY_SSH + "access-list 5 permit host 10.203.0.9\nnetconf ssh acl 5\nline vty 0 4\n"
                   " transport input none\n")
    assert (items["netconf ssh"]["restricted"], items["netconf ssh"]["sources"]) == (True, ["10.203.0.9/32"])


def test_async_lines_by_slot_and_port() -> None:
    items = access(VTY_SSH + "line 0/0/0 0/0/3\n transport input telnet\n login\n password 7 0822455D0A16\n"
                   "line vty 0 4\n transport input none\n")
    assert items["line 0/0/0 0/0/3"]["protocols"] == ["telnet"]


# --- /network/any_any_permits --------------------------------------------------------------------------

def test_any_any_on_interfaces() -> None:
    found = facts("access-list 101 remark outside\naccess-list 101 permit tcp any host 192.0.2.10 eq 443\n"
                  "access-list 101 permit ip any any log\n"
                  "ip access-list extended INSIDE\n 10 permit ip 0.0.0.0 255.255.255.255 any\n"
                  "ip access-list extended SAFE\n 10 permit tcp any any eq 443\n 20 deny ip any any\n"
                  "ip access-list extended DEAD\n 10 deny ip any any\n 20 permit ip any any\n"
                  "ipv6 access-list V6\n sequence 10 permit ipv6 any any\n"
                  "interface GigabitEthernet0/0\n ip access-group 101 in\n ipv6 traffic-filter V6 in\n"
                  "interface GigabitEthernet0/1\n ip access-group INSIDE in\n ip access-group SAFE out\n"
                  "interface GigabitEthernet0/2\n ip access-group DEAD in\n ip access-group 150 out\n")
    assert facts_any(found) == {
        "access-list 101 sequence 20": ["interface GigabitEthernet0/0 in"],
        "ipv6 access-list V6 sequence 10": ["interface GigabitEthernet0/0 in"],
        "ip access-list extended INSIDE sequence 10": ["interface GigabitEthernet0/1 in"],
        "access-list 150 (not defined: the device permits all)": ["interface GigabitEthernet0/2 out"]}


def test_acl_not_applied_is_not_in_force() -> None:
    found = facts("access-list 101 permit ip any any\ninterface GigabitEthernet0/0\n ip address 10.0.0.1 "
                  "255.255.255.0\n")
    assert found["network"]["any_any_permits"] == []


def test_zone_based_firewall() -> None:
    found = facts("ip access-list extended ALL\n permit ip any any\n"
                  "class-map type inspect match-any CM-ALL\n match access-group name ALL\n"
                  "class-map type inspect match-all CM-WEB\n match access-group name ALL\n match protocol http\n"
                  "policy-map type inspect PM-IN-OUT\n class type inspect CM-ALL\n  inspect\n"
                  " class type inspect CM-WEB\n  inspect\n class class-default\n  drop\n"
                  "policy-map type inspect PM-OUT-IN\n class class-default\n  pass\n"
                  "zone security INSIDE\nzone security OUTSIDE\n"
                  "zone-pair security IN-OUT source INSIDE destination OUTSIDE\n"
                  " service-policy type inspect PM-IN-OUT\n"
                  "zone-pair security OUT-IN source OUTSIDE destination INSIDE\n"
                  " service-policy type inspect PM-OUT-IN\n")
    assert facts_any(found) == {
        "ip access-list extended ALL sequence 10": ["zone-pair IN-OUT (INSIDE -> OUTSIDE)"],
        "class class-default (inspect/pass: every traffic)": ["zone-pair OUT-IN (OUTSIDE -> INSIDE)"]}


def facts_any(found: dict[str, Any]) -> dict[str, list[str]]:
    return {item["rule"]: item["applied_to"] for item in found["network"]["any_any_permits"]}


def test_several_ports_after_eq() -> None:
    found, _ = sources("access-list 120 permit tcp 10.203.0.0 0.0.255.255 eq www 443 8080 host 10.0.0.1\n", 4, "120")
    assert found == ["10.203.0.0/16"]
    acl = access_lists(parse_config("access-list 121 permit tcp any eq 22 443 any\n"))[(4, "121")]
    destination = acl.entries[0].destination
    assert destination is not None
    assert destination.networks is not None


def test_a_filter_that_admits_any_source_is_not_a_restriction() -> None:
    item = access(VTY_SSH + "access-list 10 permit 10.203.0.0 0.0.255.255\naccess-list 10 permit any\n"
                  "line vty 0 4\n access-class 10 in\n transport input ssh\n")["line vty 0 4"]
    assert (item["restricted"], item["sources"]) == (False, ["0.0.0.0/0"])
    item = access(VTY_SSH + "access-list 11 permit 10.203.0.0 0.0.255.0\nline vty 0 4\n access-class 11 in\n"
                  " transport input ssh\n")["line vty 0 4"]
    assert (item["restricted"], item["sources"]) == (False, ["0.0.0.0/0"])
    assert "non-contiguous" in item["source"]
