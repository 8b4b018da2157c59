"""logs.py: event logs (wevtutil gl), Windows Event Forwarding targets, the Event Log service, timestamps."""

from __future__ import annotations

import pytest
from tests.platforms.windows.samples import load

from hardening.platforms.common.netcli import Result
from hardening.platforms.windows.logs import fill_logging, subscription_target
from hardening.platforms.windows.pwsh import CommandOutput, OutputFormatError


def parsed(case: str, **replace: CommandOutput) -> Result:
    outputs = {**load("logs", case), **replace}
    result = Result()
    fill_logging(outputs, result)
    return result


def test_modes_sizes_and_two_collectors() -> None:
    result = parsed("archive_forwarding_ps51")
    logging = result.facts["logging"]
    assert [(e["name"], e["mode"], e["max_size_bytes"], e["enabled"]) for e in logging["event_logs"]] == [
        ("Security", "archive", 1073741824, True), ("System", "keep", 209715200, True),
        ("Application", "overwrite", 33554432, True)]
    assert logging["remote_targets"] == [
        {"host": "10.203.0.11", "port": 5985, "protocol": "wef-http"},
        {"host": "wec02.sakado.local", "port": 5986, "protocol": "wef-https"}]   # HTTPS, no port: WinRM's 5986
    assert logging["running"] is True
    assert [t["log"] for t in logging["timestamp_formats"]] == ["Security", "System", "Application"]
    assert all(t["full"] is True and t["format"] == "UTC FILETIME" for t in logging["timestamp_formats"])
    assert result.errors == {}


def test_defaults_no_forwarding_ja_and_stopped_service_ps7() -> None:
    result = parsed("defaults_no_forwarding_ja")
    logging = result.facts["logging"]
    assert {e["mode"] for e in logging["event_logs"]} == {"overwrite"}
    assert {e["max_size_bytes"] for e in logging["event_logs"]} == {20971520}
    assert logging["remote_targets"] == []                     # the policy key is absent: nothing forwarded
    assert logging["running"] is False
    assert result.errors == {}


def test_one_unreadable_log_makes_the_whole_list_an_error() -> None:
    cut = CommandOutput("name: System\nenabled: true\n", -1, "no end marker after line 80: the output was cut")
    result = parsed("archive_forwarding_ps51", eventlog_system=cut)
    assert "event_logs" not in result.facts["logging"]
    assert "timestamp_formats" not in result.facts["logging"]
    assert "no end marker" in result.errors["/logging/event_logs"]
    assert "/logging/timestamp_formats" in result.errors


@pytest.mark.parametrize(("text", "match"), [
    ("name: Security\nenabled: true\nlogging:\n  retention: maybe\n  autoBackup: false\n  maxSize: 1\n", "retention"),
    ("name: Security\nenabled: true\nlogging:\n  retention: false\n  autoBackup: false\n", "maxSize"),
    ("name: System\nenabled: true\nlogging:\n  retention: false\n  autoBackup: false\n  maxSize: 1\n", "shows the log"),
    ("Failed to read configuration for log Security. Access is denied.\n", "Access is denied"),
])
def test_bad_wevtutil_output_is_an_error(text: str, match: str) -> None:
    result = parsed("archive_forwarding_ps51", eventlog_security=CommandOutput(text, 0, None))
    assert match in result.errors["/logging/event_logs"]


def test_unparsable_forwarding_value_is_an_error_not_a_partial_list() -> None:
    text = ("\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\EventLog\\EventForwarding\\"
            "SubscriptionManager\r\n    1    REG_SZ    Server=http://10.203.0.11:5985/wsman/SubscriptionManager/WEC\r\n"
            "    2    REG_SZ    wec.sakado.local\r\n")
    result = parsed("archive_forwarding_ps51", reg_event_forwarding=CommandOutput(text, 0, None))
    assert "remote_targets" not in result.facts["logging"]
    assert "Server=http(s)" in result.errors["/logging/remote_targets"]


def test_forwarding_access_denied_is_an_error() -> None:
    text = "reg.exe : ERROR: Access is denied.\r\n    + FullyQualifiedErrorId : NativeCommandError\r\n"
    result = parsed("archive_forwarding_ps51", reg_event_forwarding=CommandOutput(text, 1, None))
    assert "Access is denied" in result.errors["/logging/remote_targets"]


@pytest.mark.parametrize(("value", "expected"), [
    ("Server=http://wec.sakado.local:5985/wsman/SubscriptionManager/WEC,Refresh=60",
     {"host": "wec.sakado.local", "port": 5985, "protocol": "wef-http"}),
    ("Server=https://wec.sakado.local:15986/wsman/SubscriptionManager/WEC,Refresh=60,IssuerCA=ABCDEF",
     {"host": "wec.sakado.local", "port": 15986, "protocol": "wef-https"}),
    ("server=HTTP://[fd00::11]/wsman/SubscriptionManager/WEC",
     {"host": "fd00::11", "port": 5985, "protocol": "wef-http"}),
])
def test_subscription_target_forms(value: str, expected: dict[str, object]) -> None:
    assert subscription_target(value) == expected


@pytest.mark.parametrize("value", ["Refresh=60", "Server=ftp://x/", "Server=http://x:99999/", "Server=http:///wsman"])
def test_subscription_target_refuses_other_forms(value: str) -> None:
    with pytest.raises(OutputFormatError):
        subscription_target(value)


def test_eventlog_service_missing_or_services_error() -> None:
    result = parsed("archive_forwarding_ps51", services=CommandOutput('[{"Name": "W32Time", "Status": 4}]', 0, None))
    assert "EventLog" in result.errors["/logging/running"]
    result = parsed("archive_forwarding_ps51", services=CommandOutput("", -1, "no output block"))
    assert "no output block" in result.errors["/logging/running"]
    assert "running" not in result.facts["logging"]
