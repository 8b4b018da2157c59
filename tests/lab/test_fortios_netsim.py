"""FortiGate simulators of the lab (lab/netsim/fortios.py): netmiko's real `fortinet` driver drives them
unchanged, and `hardening audit -H fw-fgt-01 -H fw-fgt-02` collects their facts over SSH (one session each).

fw-fgt-01 is compliant; fw-fgt-02 carries the drifts lab.yaml plants (an all/all/ALL accept policy, telnet and
http allowaccess, `admin` without trusthost, no syslog): the facts must show exactly those.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.lab.labtools import LAB_STATE, ROOT, reachable, run_cli

DEVICES = ("fw-fgt-01", "fw-fgt-02")


@pytest.fixture(scope="module")
def inventory() -> dict[str, Any]:
    hosts = yaml.safe_load((ROOT / "inventory" / "hosts.yaml").read_text(encoding="utf-8"))
    down = [name for name in DEVICES if not reachable(hosts[name]["hostname"])]
    assert not down, f"FortiGate simulators not reachable: {down} — run `labctl up` (as root) first"
    return dict(hosts)


def test_netmiko_fortinet_driver_unchanged(inventory: dict[str, Any]) -> None:
    """The stock driver's session preparation (VDOM and version checks, output mode, paging off and back)
    and a configuration command round trip, with the host key checked against the lab's known_hosts."""
    from netmiko import ConnectHandler

    secrets = json.loads((LAB_STATE / "netsim-secrets.json").read_text(encoding="utf-8"))
    creds = secrets[inventory["fw-fgt-02"]["data"]["credentials"]]
    connection = ConnectHandler(
        device_type="fortinet", host=inventory["fw-fgt-02"]["hostname"], username=creds["username"],
        password=creds["password"], ssh_strict=True, system_host_keys=False, alt_host_keys=True,
        alt_key_file=str(LAB_STATE / "ssh" / "known_hosts"), allow_agent=False, use_keys=False)
    try:
        assert connection.find_prompt() == "fw-fgt-02 #"
        assert connection._vdoms is False
        assert connection._os_version == "v7_or_later"
        status = connection.send_command("get system status")
        assert "Version: FortiGate-40F v7.4.3,build2573" in status
        rejected = connection.send_config_set(["config system global", "set admintimeout 999", "end"])
        assert "value parse error before '999'" in rejected
        assert "Command fail. Return code -651" in rejected
        unknown = connection.send_command("show system nonsense")
        assert "command parse error before 'nonsense'" in unknown or "Command fail" in unknown
        console = connection.send_command("get system console")
        assert "output              : standard" in console  # the driver turned paging off
    finally:
        connection.disconnect()


def test_audit_collects_the_facts_of_both_firewalls(inventory: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "audit"
    proc = run_cli("audit", "-H", "fw-fgt-01", "-H", "fw-fgt-02", "--out", str(out), "--no-progress",
                   "--timeout", "30")
    assert (out / "report.json").exists(), proc.stderr
    documents = {name: json.loads((out / "facts" / f"{name}.json").read_text(encoding="utf-8"))
                 for name in DEVICES}
    good, drifted = (documents[name]["facts"] for name in DEVICES)
    assert good["os"]["version"].startswith("7.2.8")
    assert good["time"]["synchronized"] is True
    assert good["logging"]["remote_targets"][0]["host"] == "10.203.0.11"
    assert good["network"]["any_any_permits"] == []
    assert good["management"]["insecure_protocols"] == []
    assert all(item["restricted"] for item in good["management"]["access"])
    assert good["accounts"]["generic_admin_names"] == []

    assert [p["rule"] for p in drifted["network"]["any_any_permits"]] == ["firewall policy 1 (allow-all)"]
    assert {p["protocol"] for p in drifted["management"]["insecure_protocols"]} == {"telnet", "http"}
    admin = next(item for item in drifted["management"]["access"] if item["context"] == "system admin admin")
    assert admin["sources"] == ["0.0.0.0/0"]
    assert drifted["accounts"]["generic_admin_names"] == ["admin"]
    assert drifted["logging"]["remote_targets"] == []
    for name in DEVICES:
        assert "/time/synchronized" not in documents[name]["errors"]
        report_text = (out / "report.json").read_text(encoding="utf-8")
        assert "ENC SH2" not in report_text
