"""The lab printer simulator's generators (lab/mfpsim/model.py): host state -> snmprec records, data files and the
snmpsim engine arguments, and the web simulator's login handling (lab/mfpsim/web.py), without a network."""

from __future__ import annotations

import base64
import copy
import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml
from lab.mfpsim import model, web
from lab.mfpsim.variation.mfpclock import date_and_time

ROOT = Path(__file__).resolve().parents[2]
PROFILES = model.load_profiles()
HOSTS = ROOT / "lab" / "mfpsim" / "hosts"
SECRETS = {"snmp_auth_key": "Auth-abcdefgh1234", "snmp_priv_key": "Priv-abcdefgh1234", "password": "Web-own-pass-1"}


def _state(tmp_path: Path, data: dict[str, Any], name: str = "mfp-test-01",
           profiles: dict[str, Any] | None = None) -> model.PrinterState:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return model.load_state(path, profiles or PROFILES)


def _records(lines: list[str]) -> dict[str, tuple[str, str]]:
    out = {}
    for line in lines:
        oid, tag, value = line.split("|", 2)
        out[oid] = (tag, value)
    return out


RICOH = {"vendor": "ricoh", "model": "IM C3000", "firmware": "1.12",
         "sysdescr": "RICOH IM C3000 1.12 / RICOH Network Printer C model", "location": "本庁舎2階"}


def test_identity_records(tmp_path: Path) -> None:
    st = _state(tmp_path, {**RICOH, "clock_skew_seconds": 900})
    recs = _records(model.snmprec_lines(st, PROFILES))
    assert recs["1.3.6.1.2.1.1.1.0"] == ("4", "RICOH IM C3000 1.12 / RICOH Network Printer C model")
    assert recs["1.3.6.1.2.1.1.2.0"] == ("6", "1.3.6.1.4.1.367.1.1")         # under RICOH's enterprise 367
    assert recs["1.3.6.1.2.1.1.5.0"] == ("4:wc_mfp_test_01", "value=mfp-test-01")   # sysName: writable
    assert recs["1.3.6.1.2.1.25.3.2.1.2.1"] == ("6", "1.3.6.1.2.1.25.3.1.5")  # hrDeviceType = hrDevicePrinter
    assert recs["1.3.6.1.2.1.25.1.2.0"] == ("4x:mfpclock", "kind=date,skew=900,utc_offset=540")
    assert recs["1.3.6.1.2.1.1.3.0"][0] == "67:mfpclock"
    # a non-ASCII value is served as hex (UTF-8 intact), through the writecache's hexvalue
    assert recs["1.3.6.1.2.1.1.6.0"] == ("4:wc_mfp_test_01", "hexvalue=" + "本庁舎2階".encode().hex())
    assert recs["1.3.6.1.2.1.47.1.1.1.1.10.1"] == ("4", "1.12")


def test_records_sorted_by_numeric_oid(tmp_path: Path) -> None:
    lines = model.snmprec_lines(_state(tmp_path, RICOH), PROFILES)
    keys = [tuple(int(x) for x in line.split("|", 1)[0].split(".")) for line in lines]
    assert keys == sorted(keys)
    assert len(keys) == len(set(keys))


def _profiles_with_settings() -> dict[str, Any]:
    profiles = copy.deepcopy(PROFILES)
    profiles["ricoh"]["settings"] = {
        "storage_encrypted": {"oid": "1.3.6.1.4.1.367.3.2.1.9.1.0", "true_values": [1], "source": "test"},
        "audit_log_enabled": {"oid": "1.3.6.1.4.1.367.3.2.1.9.2.0", "map": {3: True, 4: False}, "source": "test"},
        "sntp_servers": {"oid": "1.3.6.1.4.1.367.3.2.1.9.3", "source": "test"}}
    profiles["ricoh"]["writable"] = {
        "storage_encrypted": {"oid": "1.3.6.1.4.1.367.3.2.1.9.1.0", "type": "INTEGER", "source": "test"},
        "overwrite_enabled": {"oid": "1.3.6.1.4.1.367.3.2.1.9.4.0", "type": "INTEGER", "source": "test"}}
    return profiles


def test_vendor_settings_only_where_the_profile_has_the_object(tmp_path: Path) -> None:
    settings = {"storage_encrypted": False, "audit_log_enabled": False, "overwrite_enabled": False,
                "sntp_servers": ["10.203.0.10", "10.203.0.12"]}
    plain = _records(model.snmprec_lines(_state(tmp_path, {**RICOH, "settings": settings}), PROFILES))
    # main's profile has no setting objects (only RICOH's identity objects under 367.3.2.1.1): none served
    assert not any(oid.startswith("1.3.6.1.4.1.367.3.2.1.9") for oid in plain)
    profiles = _profiles_with_settings()
    recs = _records(model.snmprec_lines(_state(tmp_path, {**RICOH, "settings": settings}, profiles=profiles),
                                        profiles))
    assert recs["1.3.6.1.4.1.367.3.2.1.9.1.0"] == ("2:wc_mfp_test_01", "value=2")   # false: not a true value
    assert recs["1.3.6.1.4.1.367.3.2.1.9.2.0"] == ("2", "4")                         # map: 4 means off
    assert recs["1.3.6.1.4.1.367.3.2.1.9.3.1"] == ("64", "10.203.0.10")
    assert recs["1.3.6.1.4.1.367.3.2.1.9.3.2"] == ("64", "10.203.0.12")
    assert recs["1.3.6.1.4.1.367.3.2.1.9.4.0"] == ("2:wc_mfp_test_01", "value=0")   # writable, no setting fact
    on = _records(model.snmprec_lines(_state(tmp_path, {**RICOH, "settings": {"storage_encrypted": True}},
                                             profiles=profiles), profiles))
    assert on["1.3.6.1.4.1.367.3.2.1.9.1.0"] == ("2:wc_mfp_test_01", "value=1")


def test_set_failure_uses_the_error_variation(tmp_path: Path) -> None:
    profiles = _profiles_with_settings()
    st = _state(tmp_path, {**RICOH, "settings": {"storage_encrypted": False}, "set_fails": ["storage_encrypted"]},
                profiles=profiles)
    recs = _records(model.snmprec_lines(st, profiles))
    assert recs["1.3.6.1.4.1.367.3.2.1.9.1.0"] == ("2:error", "op=set,status=commitfailed,value=2")
    st = _state(tmp_path, {**RICOH, "set_fails": ["nonsense"]})
    with pytest.raises(model.StateError, match="set_fails"):
        model.snmprec_lines(st, PROFILES)


def test_unknown_vendor(tmp_path: Path) -> None:
    st = _state(tmp_path, {"vendor": None, "enterprise": 2435, "product_oid": "2.3.9.1", "model": "NP-4200",
                           "firmware": "3.2.1", "sysdescr": "Network Printer NP-4200"})
    recs = _records(model.snmprec_lines(st, PROFILES))
    assert recs["1.3.6.1.2.1.1.2.0"] == ("6", "1.3.6.1.4.1.2435.2.3.9.1")
    with pytest.raises(model.StateError, match="belongs to a profile"):
        _state(tmp_path, {"vendor": None, "enterprise": 367, "model": "x", "firmware": "1", "sysdescr": "x"})


@pytest.mark.parametrize(("change", "message"), [
    ({"vendor": "hp"}, "not a profile"),
    ({"sysdescr": "Canon iR-ADV C3930"}, "does not match the ricoh profile"),
    ({"services": ["gopher"]}, "services"),
    ({"web": {"tls_versions": ["SSLv3"]}}, "tls_versions"),
    ({"web": {"default_password_kept": ["root"]}}, "not a default account"),
    ({"settings": {"storage_encrypted": True, "colour": "red"}}, "settings.colour"),
    ({"settings": {"sntp_servers": ["ntp.example"]}}, "not an IP address"),
])
def test_bad_state_names_file_and_key(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(model.StateError, match=message) as e:
        _state(tmp_path, {**RICOH, **change})
    assert "mfp-test-01.yaml" in str(e.value)


def test_data_files_and_engine_args(tmp_path: Path) -> None:
    factory = _state(tmp_path, {**RICOH, "snmp": {"communities": ["public", "private"]}})
    assert model.data_files(factory, SECRETS) == ["self", "public", "private"]
    compliant = _state(tmp_path, RICOH)
    assert model.data_files(compliant, SECRETS) == ["self"]
    args = model.engine_args(compliant, "10.203.40.11", Path("/d/mfp"), SECRETS, "hardening-audit")
    assert args[:3] == ["--v3-engine-id=auto", "--data-dir=/d/mfp", "--agent-udpv4-endpoint=10.203.40.11:161"]
    assert "--v3-auth-key=Auth-abcdefgh1234" in args
    assert "--v3-priv-proto=AES" in args
    bad = _state(tmp_path, {**RICOH, "snmp": {"bad": "v3_key"}})
    bad_args = model.engine_args(bad, "10.203.40.82", Path("/d"), SECRETS, "hardening-audit")
    key = next(a for a in bad_args if a.startswith("--v3-auth-key="))
    assert key != "--v3-auth-key=Auth-abcdefgh1234"
    assert model.engine_args(_state(tmp_path, {**RICOH, "snmp": {"agent": False}}), "x", Path("/d"), SECRETS,
                             "u") == []
    v2c = {"snmp_community": "Comm-abcdefgh", "password": "x"}
    right = _state(tmp_path, {**RICOH, "snmp": {"v3": False, "vault_community": True}})
    assert model.data_files(right, v2c) == ["Comm-abcdefgh"]
    wrong = _state(tmp_path, {**RICOH, "snmp": {"v3": False, "vault_community": True, "bad": "community"}})
    [served] = model.data_files(wrong, v2c)
    assert served != "Comm-abcdefgh"
    # a v2c-only agent gets a v3 user nobody knows instead of snmpsim's documented default one
    assert "--v3-user=simulator" not in model.engine_args(wrong, "x", Path("/d"), v2c, "u")


def test_every_lab_state_generates() -> None:
    files = sorted(HOSTS.glob("*.yaml"))
    assert len(files) >= 16
    for f in files:
        st = model.load_state(f, PROFILES)
        assert model.snmprec_lines(st, PROFILES)


def test_date_and_time_octets() -> None:
    # 2026-11-30 00:00:00 UTC seen from UTC+9
    octets = date_and_time(1795996800.0, 540)
    assert octets == bytes([0x07, 0xEA, 11, 30, 9, 0, 0, 0]) + b"+" + bytes([9, 0])
    assert date_and_time(1795996800.0, -300)[8:] == b"-" + bytes([5, 0])


# --- the web simulator's login handling -----------------------------------------------------------------------
def _printer(vendor: str, kept: bool) -> web.Printer:
    profile = PROFILES[vendor]["web_admin"]
    passwords = {a["account"]: (a["password"] if kept else "Web-own-pass-1") for a in profile["default_accounts"]}
    return web.Printer(name=f"mfp-{vendor}", address="10.203.40.99", vendor=vendor, model="M", firmware="1",
                       web=profile, passwords=passwords, https=True, http=False, http_plain=False,
                       tls_versions=["TLSv1.2"], services=[])


def _fill(template: str, account: str, password: str) -> str:
    return template.format(account=account, password=password,
                           account_b64=base64.b64encode(account.encode()).decode(),
                           password_b64=base64.b64encode(password.encode()).decode())


def _try_login(p: web.Printer, attempts: web.Attempts, account: str, password: str) -> tuple[int, dict[str, str],
                                                                                             bytes]:
    login = p.web["login"]
    if login["method"] == "basic":
        token = base64.b64encode(f"{account}:{password}".encode()).decode()
        return web.handle(p, attempts, "GET", login["path"], {"authorization": f"Basic {token}"}, b"", True)
    body = urllib.parse.urlencode({k: _fill(str(v), account, password) for k, v in login["form"].items()})
    return web.handle(p, attempts, "POST", login["path"], {}, body.encode(), True)


def _matches_success(p: web.Printer, answer: tuple[int, dict[str, str], bytes]) -> bool:
    status, headers, body = answer
    ok = p.web["login"]["success"]
    if status != ok["status"]:
        return False
    if ok.get("set_cookie"):
        return headers.get("Set-Cookie", "").startswith(ok["set_cookie"] + "=")
    if ok.get("location_contains"):
        return ok["location_contains"] in headers.get("Location", "")
    return ok["body_contains"].encode() in body


@pytest.mark.parametrize("vendor", sorted(PROFILES))
def test_each_vendor_login_as_the_profile_describes(tmp_path: Path, vendor: str) -> None:
    attempts = web.Attempts(tmp_path / "attempts.json")
    default = PROFILES[vendor]["web_admin"]["default_accounts"][0]
    page = web.handle(_printer(vendor, True), attempts, "GET", PROFILES[vendor]["web_admin"]["login_page"], {}, b"",
                      True)
    assert page[0] == 200
    assert PROFILES[vendor]["web_admin"]["page_marker"].encode() in page[2]
    kept = _printer(vendor, True)
    assert _matches_success(kept, _try_login(kept, attempts, default["account"], default["password"]))
    changed = _printer(vendor, False)
    assert not _matches_success(changed, _try_login(changed, attempts, default["account"], default["password"]))
    assert _matches_success(changed, _try_login(changed, attempts, default["account"], "Web-own-pass-1"))
    counts = json.loads((tmp_path / "attempts.json").read_text())
    assert counts[f"mfp-{vendor}"][default["account"]]["attempts"] == 3
    assert counts[f"mfp-{vendor}"][default["account"]]["accepted"] == 2


def test_plain_http_redirects_unless_the_state_serves_it(tmp_path: Path) -> None:
    attempts = web.Attempts(tmp_path / "a.json")
    p = _printer("ricoh", False)
    status, headers, _ = web.handle(p, attempts, "GET", "/web/guest/ja/websys/webArch/authForm.cgi", {}, b"", False)
    assert status == 301
    assert headers["Location"].startswith("https://10.203.40.99/")
    p.http_plain = True
    assert web.handle(p, attempts, "GET", "/web/guest/ja/websys/webArch/authForm.cgi", {}, b"", False)[0] == 200
