"""The mail to a manager (jobs/mail.py) is built from device data: hostile text in host names and values stays text
(no header injection, no control or bidi characters, bounded length); grouping follows responsible_managers."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any

from hardening.jobs.mail import ManagerMail, by_manager, compose

HOSTILE_HOST = "web01\r\nBcc: everyone@evil.example\u202e<script>alert(1)</script>"


def _report() -> dict[str, Any]:
    def host(name: str, managers: list[str]) -> dict[str, Any]:
        return {"name": name, "zone": "internet", "system": "s", "security_managers": managers, "status": "fail"}

    def finding(host_name: str, requirement: str, actual: Any) -> dict[str, Any]:
        return {"host": host_name, "requirement": requirement, "clause": "第2章 6(2)③", "status": "fail",
                "expected": {"ja": "バナーを表示する", "en": "a banner is shown"}, "actual": {"/banner": actual},
                "violations": [{"pointer": "/banner", "keyword": "const", "expected": True, "actual": actual,
                                "message": "x"}]}

    return {
        "site": {"name": "坂戸市", "name_en": "Sakado"},
        "run": {"id": "run-1", "started_at": "2026-11-30T02:30:00+09:00"},
        "requirements": [{"id": "LOGIN-BANNER", "clause": "第2章 6(2)③",
                          "title": {"ja": "ログイン時の警告表示", "en": "Login banner"}}],
        "hosts": [host(HOSTILE_HOST, ["広報広聴課長"]), host("ntp01", []), host("co", ["財政課長", "市民課長"])],
        "findings": [finding(HOSTILE_HOST, "LOGIN-BANNER", "=cmd|' /C calc'!A0\n\x1b[31m" + "x" * 5000),
                     finding("ntp01", "LOGIN-BANNER", False), finding("co", "LOGIN-BANNER", False)],
    }


def test_drift_is_grouped_by_responsible_manager() -> None:
    report = _report()
    grouped = by_manager(report, [(HOSTILE_HOST, "LOGIN-BANNER"), ("ntp01", "LOGIN-BANNER"), ("co", "LOGIN-BANNER")])
    assert {m: [f["host"] for f in fs] for m, fs in grouped.items()} == {
        "広報広聴課長": [HOSTILE_HOST], "情報政策課長": ["ntp01"], "財政課長": ["co"], "市民課長": ["co"]}
    assert by_manager(report, [("ntp01", "LOGIN-BANNER")]).keys() == {"情報政策課長"}


def test_hostile_device_data_stays_text_in_the_mail(tmp_path: Path) -> None:
    report = _report()
    manager = "広報広聴課長\r\nBcc: boss@evil.example"
    mail = ManagerMail(manager, ("kouhou@city.example",), [report["findings"][0]], hosts=[HOSTILE_HOST])
    message = compose(mail, report, sender="hardening@city.example", job_name="nightly", run_dir=tmp_path)
    raw = message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert [k for k in parsed if k.lower() == "bcc"] == []
    assert "\n" not in str(parsed["Subject"])
    assert str(parsed["To"]) == "kouhou@city.example"
    body = parsed.get_body(("plain",))
    assert body is not None
    text = str(body.get_content())
    assert "\u202e" not in text
    assert "\x1b" not in text
    assert "Bcc: everyone@evil.example" in text  # shown as text, on the host's own line
    assert all(len(line) < 400 for line in text.splitlines())
    assert "ホスト web01  Bcc: everyone@evil.example" in text
    assert "要件 LOGIN-BANNER  条項 第2章 6(2)③" in text
    assert text.index("ログイン時の警告表示") < text.index("Login banner")
