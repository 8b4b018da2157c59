"""time.py: W32Time's configuration and status (en-US and ja-JP) as the time facts."""

from __future__ import annotations

import pytest
from tests.platforms.windows.samples import load

from hardening.platforms.common.netcli import Result
from hardening.platforms.windows.pwsh import CommandOutput
from hardening.platforms.windows.time import fill_time


def parsed(case: str, **replace: CommandOutput) -> Result:
    outputs = {**load("time", case), **replace}
    result = Result()
    fill_time(outputs, result)
    return result


def test_ntp_synchronised_en_without_verbose_has_no_offset() -> None:
    result = parsed("ntp_synced_en")
    assert result.facts["time"] == {
        "source_type": "NTP", "ntp_servers": ["10.203.0.10", "10.203.0.12"], "synchronized": True,
        "selected_source": "10.203.0.10", "stratum": 3, "last_sync_age_seconds": 2088}
    assert set(result.errors) == {"/time/offset_ms_abs"}
    assert "/verbose" in result.errors["/time/offset_ms_abs"]


def test_verbose_phase_offset_is_the_absolute_offset_in_ms() -> None:
    result = parsed("ntp_synced_verbose_en")
    assert result.facts["time"]["offset_ms_abs"] == pytest.approx(1.2345)
    assert result.facts["time"]["ntp_servers"] == ["10.203.0.10"]          # (Policy) origin stripped
    assert result.facts["time"]["last_sync_age_seconds"] == 60
    assert result.errors == {}


def test_ja_synchronised_same_facts_as_en() -> None:
    result = parsed("ntp_synced_ja")
    assert result.facts["time"] == {
        "source_type": "NTP", "ntp_servers": ["10.203.0.10"], "synchronized": True,
        "selected_source": "10.203.0.10", "stratum": 3, "last_sync_age_seconds": 2088}


def test_ja_local_cmos_clock_is_not_synchronised_and_never_synced() -> None:
    result = parsed("cmos_ja")
    time = result.facts["time"]
    assert time["synchronized"] is False
    assert time["selected_source"] == "Local CMOS Clock"
    assert time["last_sync_age_seconds"] is None
    assert time["ntp_servers"] == ["time.windows.com"]
    assert "/time/offset_ms_abs" in result.errors
    assert "offset_ms_abs" not in time


def test_vm_ic_provider_is_not_the_sites_time_server() -> None:
    time = parsed("vmic_en").facts["time"]
    assert time["synchronized"] is False
    assert time["selected_source"] == "VM IC Time Synchronization Provider"


def test_nt5ds_has_no_configured_server_not_the_unused_ntpserver_value() -> None:
    result = parsed("nt5ds_en")
    assert result.facts["time"]["source_type"] == "NT5DS"
    assert result.facts["time"]["ntp_servers"] == []  # NtpServer is set in the sample but NT5DS does not use it
    assert "/time/ntp_servers" not in result.manual
    assert "domain hierarchy" in str(result.evidence["/time/ntp_servers"])
    assert result.facts["time"]["synchronized"] is True
    assert result.facts["time"]["selected_source"] == "dc01.sakado.local"


def test_nosync_has_no_servers_and_is_not_synchronised() -> None:
    time = parsed("nosync_en").facts["time"]
    assert time["ntp_servers"] == []
    assert time["synchronized"] is False
    assert time["last_sync_age_seconds"] is None


def test_stopped_service_ja_is_not_synchronised_and_config_is_an_error() -> None:
    result = parsed("stopped_ja")
    assert result.facts["time"] == {"synchronized": False, "selected_source": None}
    assert {"/time/source_type", "/time/ntp_servers", "/time/stratum", "/time/offset_ms_abs",
            "/time/last_sync_age_seconds"} <= set(result.errors)
    assert "0x80070426" in result.errors["/time/stratum"]


def test_error_blocks_give_errors_never_values() -> None:
    cut = CommandOutput("Leap Indicator: 0(no warning)\n", -1, "no end marker after line 40: the output was cut")
    result = parsed("ntp_synced_en", w32tm_status=cut,
                    w32tm_config=CommandOutput("HARDENING-ERROR: Access is denied.", 0, None))
    assert "time" not in result.facts
    assert {"/time/synchronized", "/time/stratum", "/time/source_type", "/time/ntp_servers"} <= set(result.errors)
    assert "no end marker" in result.errors["/time/synchronized"]


def test_unknown_language_is_an_error() -> None:
    result = parsed("ntp_synced_en", w32tm_status=CommandOutput("Indicateur de saut : 0\nSource : x\n", 0, None))
    assert "synchronized" not in result.facts.get("time", {})
    assert "known language" in result.errors["/time/synchronized"]


def test_ambiguous_day_month_date_is_an_error_not_a_guess() -> None:
    status = load("time", "ntp_synced_en")["w32tm_status"].text.replace("11/29/2026 9:05:12 PM", "03/04/2026 21:05:12")
    result = parsed("ntp_synced_en", w32tm_status=CommandOutput(status, 0, None))
    assert "no date format" in result.errors["/time/last_sync_age_seconds"]
    assert result.facts["time"]["synchronized"] is True


def test_missing_now_makes_only_the_age_an_error() -> None:
    outputs = load("time", "ntp_synced_en")
    del outputs["now"]
    result = Result()
    fill_time(outputs, result)
    assert "current time" in result.errors["/time/last_sync_age_seconds"]
    assert result.facts["time"]["synchronized"] is True


def test_a_bom_at_the_start_of_a_block_is_not_part_of_the_first_label() -> None:
    status = "\ufeff" + load("time", "ntp_synced_en")["w32tm_status"].text
    result = parsed("ntp_synced_en", w32tm_status=CommandOutput(status, 0, None))
    assert result.facts["time"]["synchronized"] is True
