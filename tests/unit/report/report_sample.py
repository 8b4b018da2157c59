"""A realistic drift report of the demo municipality, built with build_report from hand-made objects.

Hosts: ntp01 passes; web01 fails (one fail waived by an active waiver, one not); zaimu-ap01 fails with an
expired waiver; log01 could not be reached (error); pc-shimin01 fails PW-LEN with hostile evidence text.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from hardening.core.models import (
    CollectResult,
    Finding,
    Host,
    Requirement,
    Status,
    SystemInfo,
    Violation,
    WaiverMatch,
)
from hardening.report.build import build_report

HOSTILE = "<script>alert('x')</script> https://evil.example/x.js \x1b[31m"

INFRA = SystemInfo("情報基盤", "総合政策部長", ("情報政策課長",))
WEB = SystemInfo("ホームページシステム", "総合政策部長", ("広報広聴課長",))
ZAIMU = SystemInfo("財務会計システム", "総合政策部長", ("財政課長",))
JUMIN = SystemInfo("住民記録システム", "市民部長", ("市民課長",))


def _host(name: str, address: str, zone: str, system: SystemInfo, device_class: str, c: int,
          roles: tuple[str, ...]) -> Host:
    return Host(name=name, hostname=address, port=22, platform="linux", device_class=device_class, zone=zone,
                classification={"c": c, "i": 2, "a": 1}, system=system, roles=roles,
                groups=(zone, "servers" if device_class == "linux_server" else "pcs"), credentials="lab")


HOSTS = [
    _host("ntp01", "10.203.0.10", "kikan", INFRA, "linux_server", 2, ("ntp_server",)),
    _host("web01", "10.203.0.23", "internet", WEB, "linux_server", 1, ("web_server", "public_facing")),
    _host("zaimu-ap01", "10.203.0.22", "lgwan", ZAIMU, "linux_server", 2, ("app_server", "web_server")),
    _host("log01", "10.203.0.11", "kikan", INFRA, "linux_server", 2, ("log_server",)),
    _host("pc-shimin01", "10.203.0.30", "kikan", JUMIN, "linux_pc", 3, ("workstation",)),
]


def _requirement(rid: str, clause: str, quote: str, ja: str, en: str, severity: str, facts: tuple[str, ...],
                 expected: tuple[str, str], classes: tuple[str, ...] = ("linux_server", "linux_pc"),
                 check: str = "automated") -> Requirement:
    return Requirement(
        id=rid, clause=clause, quote_ja=quote, title={"ja": ja, "en": en}, rationale={"ja": "", "en": ""},
        severity=severity, device_classes=classes, scope={}, parameters={}, facts=facts,
        expected={"ja": expected[0], "en": expected[1]},
        remediation={"ja": f"{ja}を設定する。", "en": f"Configure: {en.lower()}."},
        platforms={"linux": {
            "automation": {"check": check, "fix": "automated" if check == "automated" else "manual"},
            "remediation": {"ja": f"Linux で{ja}を設定する。", "en": f"On Linux, configure: {en.lower()}."}}},
        schema={"type": "object"}, path=f"schemas/requirements/{rid}.json",
    )


REQUIREMENTS = [
    _requirement("PW-LEN", "第3章 1 3(4)③",
                 "パスワードは、英大文字、英小文字、記号、数字の4種類のうち、3種類を使用して、8文字以上の文字列とすること。",
                 "パスワードの最小文字数", "Minimum password length", "high",
                 ("/password_policy/enforced", "/password_policy/min_length"),
                 ("パスワード品質検査が有効で、最小文字数が8文字以上",
                  "Password quality checking enabled, minimum length at least 8")),
    _requirement("LOGIN-BANNER", "第2章 6(2)③", "ログイン時におけるメッセージ", "ログイン時のメッセージ",
                 "Login banner", "low", ("/login/banner",),
                 ("承認された警告文がログイン前に表示される", "The approved warning is shown before login")),
    _requirement("LOGIN-TIMEOUT", "第2章 6(2)③", "アクセスタイムアウトの設定", "アクセスタイムアウト",
                 "Idle session timeout", "medium", ("/login/idle_timeout_seconds",),
                 ("無操作時のセッションが900秒以内に切断される", "Idle sessions end within 900 seconds")),
    _requirement("PORTS-CLOSED", "第2章 6(5)①ア", "使用されていないポートを閉鎖しなければならない。",
                 "未使用ポートの閉鎖", "Unused ports closed", "high", ("/network/exposed_sockets",),
                 ("公開ポートは許可リスト（tcp/22 と役割別）のみ",
                  "Only allowed sockets (tcp/22 and per role) listen")),
    _requirement("TIME-SYNC", "第2章 7(1)イ",
                 "重要なログ等を取得するサーバの正確な時刻設定及びサーバ間の時刻同期ができる措置を講じなければならない。",
                 "時刻同期", "Time synchronization", "medium", ("/time/synchronized",),
                 ("指定のNTPサーバと同期している", "Synchronized with the site's NTP servers")),
    _requirement("LOGIN-LASTLOGON", "第2章 6(2)③", "ログイン・ログアウト時刻の表示等", "前回ログイン情報の表示",
                 "Last login shown", "low", ("/login/last_login_shown",),
                 ("前回ログイン日時が表示される", "The previous login is shown"), check="manual"),
    _requirement("SCREEN-LOCK", "第2章 5(1)①キ", "パソコン等の端末をロック", "画面ロック", "Screen lock", "medium",
                 ("/login/idle_timeout_seconds",), ("画面ロックが有効", "Screen lock enabled"),
                 classes=("windows_pc",)),
]
BY_ID = {r.id: r for r in REQUIREMENTS}


def _facts(host: Host, facts: dict[str, Any], evidence: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    return {"format_version": "1", "host": host.name, "platform": "linux", "device_class": host.device_class,
            "collected_at": "2026-05-11T02:00:03+09:00", "facts": copy.deepcopy(facts), "errors": {},
            "evidence": copy.deepcopy(evidence)}


ANY = "0.0.0.0"  # noqa: S104 - a fact value (what the host listens on), not a bind
GOOD_FACTS: dict[str, Any] = {
    "password_policy": {"enforced": True, "min_length": 8},
    "login": {"banner": "本システムは坂戸市の許可された利用者のみ利用できます。", "idle_timeout_seconds": 900,
              "last_login_shown": True},
    "network": {"exposed_sockets": [{"socket": "tcp/22", "addresses": [ANY], "process": "sshd"}]},
    "time": {"synchronized": True, "ntp_servers": ["10.203.0.10"]},
}
EVIDENCE = {
    "/password_policy": [{"source": "file:/etc/security/pwquality.conf.d/50-hardening.conf",
                          "excerpt": "minlen = 8\ndcredit = 0\nucredit = 0"}],
    "/login": [{"source": "file:/etc/issue.net", "excerpt": "本システムは坂戸市の許可された利用者のみ利用できます。"}],
    "/network": [{"source": "cmd:ss -Htlnup", "excerpt": "tcp LISTEN 0 128 0.0.0.0:22 users:((\"sshd\",pid=201))"}],
    "/time": [{"source": "cmd:chronyc -c tracking", "excerpt": "10.203.0.10,*,2,0.000012"}],
}


def _finding(host: Host, rid: str, status: Status, doc: dict[str, Any] | None,
             violations: list[Violation] | None = None, waiver: WaiverMatch | None = None) -> Finding:
    requirement = BY_ID[rid]
    if status is Status.NOT_APPLICABLE:
        message = {"ja": f"機器区分 {host.device_class} は対象外",
                   "en": f"device class {host.device_class} is out of scope"}
    elif status is Status.MANUAL:
        message = {"ja": "自動点検の対象外：証跡による手動確認が必要",
                   "en": "not automatically checkable: needs manual evidence"}
    elif status is Status.ERROR:
        message = {"ja": "情報を収集できなかった: connection refused",
                   "en": "facts could not be collected: connection refused"}
    elif status is Status.FAIL:
        where = ", ".join(sorted({v.pointer for v in violations or []}))
        message = {"ja": f"要件を満たしていない（{where}）", "en": f"does not meet the requirement ({where})"}
    else:
        message = {"ja": "要件を満たしている", "en": "meets the requirement"}
    actual: dict[str, Any] = {}
    evidence: list[dict[str, str]] = []
    if doc is not None and status in (Status.PASS, Status.FAIL):
        for pointer in requirement.facts_for(host.platform):
            node: Any = doc["facts"]
            for part in pointer.strip("/").split("/"):
                node = node[part]
            actual[pointer] = node
            evidence += [e for e in doc["evidence"].get("/" + pointer.strip("/").split("/")[0], [])
                         if e not in evidence]
    finding = Finding(host=host.name, requirement=rid, status=status, evaluated_status=status, message=message,
                      expected=dict(requirement.expected), actual=actual, violations=violations or [],
                      evidence=evidence, parameters={"min_length": 8} if rid == "PW-LEN" else {}, waiver=waiver)
    if waiver is not None and status is Status.FAIL:
        if waiver.expired:
            finding.message = {
                "ja": f"{message['ja']}【例外措置 {waiver.id} は {waiver.expires} に期限切れ】",
                "en": f"{message['en']} [waiver {waiver.id} expired on {waiver.expires}]",
            }
        else:
            finding.status = Status.WAIVED
    return finding


def _evaluate(host: Host, doc: dict[str, Any] | None, outcome: dict[str, tuple[Status, Any, Any]]) -> list[Finding]:
    """What evaluate.py would find: `doc` is the host's facts document (None: not collected)."""
    findings = []
    for requirement in REQUIREMENTS:
        if host.device_class not in requirement.device_classes:
            findings.append(_finding(host, requirement.id, Status.NOT_APPLICABLE, doc))
        elif requirement.automation_for(host.platform)["check"] != "automated":
            findings.append(_finding(host, requirement.id, Status.MANUAL, doc))
        elif doc is None:
            findings.append(_finding(host, requirement.id, Status.ERROR, None))
        elif requirement.id in outcome:
            status, violations, waiver = outcome[requirement.id]
            findings.append(_finding(host, requirement.id, status, doc, violations, waiver))
        else:
            findings.append(_finding(host, requirement.id, Status.PASS, doc))
    return findings


Sample = tuple[dict[str, Any], dict[str, CollectResult]]


def build_sample_report(monkeypatch: pytest.MonkeyPatch | None = None, only: set[str] | None = None,
                        tweak: Callable[[dict[str, CollectResult]], None] | None = None) -> Sample:
    """The sample report and the collect results it was built from (`only`: these hosts; `tweak`: changes
    the collect results before the report is built)."""
    ntp, web, zaimu, log, pc = HOSTS
    web_facts = copy.deepcopy(GOOD_FACTS)
    web_facts["login"]["idle_timeout_seconds"] = 7200
    web_facts["network"]["exposed_sockets"].append({"socket": "tcp/8080", "addresses": [ANY], "process": "java"})
    zaimu_facts = copy.deepcopy(GOOD_FACTS)
    zaimu_facts["login"]["banner"] = None
    pc_facts = copy.deepcopy(GOOD_FACTS)
    pc_facts["password_policy"]["min_length"] = 6
    pc_evidence = copy.deepcopy(EVIDENCE)
    pc_evidence["/password_policy"] = [{"source": "file:/etc/security/pwquality.conf",
                                        "excerpt": f"minlen = 6\n# {HOSTILE}"}]
    facts_by_host = {"ntp01": GOOD_FACTS, "web01": web_facts, "zaimu-ap01": zaimu_facts, "log01": None,
                     "pc-shimin01": pc_facts}
    results = {
        h.name: CollectResult(host=h.name,
                              facts=_facts(h, facts_by_host[h.name], pc_evidence if h is pc else EVIDENCE)
                              if facts_by_host[h.name] is not None else None,
                              error=None if facts_by_host[h.name] is not None else f"connection refused {HOSTILE}",
                              error_kind=None if facts_by_host[h.name] is not None else "unreachable",
                              duration_s=1.234)
        for h in HOSTS
    }
    if tweak is not None:
        tweak(results)
    active = WaiverMatch("W-2026-001", "公開Webサーバの監視エージェントが長時間セッションを必要とするため",
                         "総合政策部長（CISO）", "2027-03-31", expired=False)
    expired = WaiverMatch("W-2025-014", "旧業務アプリの接続ツールがバナーを解釈できないため",
                          "総合政策部長（CISO）", "2026-03-31", expired=True)
    findings = {
        "ntp01": _evaluate(ntp, results["ntp01"].facts, {}),
        "web01": _evaluate(web, results["web01"].facts, {
            "LOGIN-TIMEOUT": (Status.FAIL, [Violation("/login/idle_timeout_seconds", "maximum", 900, 7200,
                                                      "7200 is greater than the maximum of 900")], active),
            "PORTS-CLOSED": (Status.FAIL, [Violation("/network/exposed_sockets/1/socket", "enum", ["tcp/22", "tcp/80",
                                                     "tcp/443"], "tcp/8080", "'tcp/8080' is not one of [...]")], None),
        }),
        "zaimu-ap01": _evaluate(zaimu, results["zaimu-ap01"].facts, {
            "LOGIN-BANNER": (Status.FAIL, [Violation("/login/banner", "type", "string", None,
                                                     "None is not of type 'string'")], expired),
        }),
        "log01": _evaluate(log, results["log01"].facts, {}),
        "pc-shimin01": _evaluate(pc, results["pc-shimin01"].facts, {
            "PW-LEN": (Status.FAIL, [Violation("/password_policy/min_length", "minimum", 8, 6,
                                               "6 is less than the minimum of 8")], None),
        }),
    }
    if monkeypatch is not None:
        monkeypatch.setenv("HARDENING_OPERATOR", "監査担当 山田")
    started = dt.datetime(2026, 5, 11, 2, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    hosts = [h for h in HOSTS if only is None or h.name in only]
    report = build_report(
        site={"name": "坂戸市（デモ環境）", "name_en": "Sakado City (demo network)"},
        hosts=hosts, results=results, findings=findings, requirements=REQUIREMENTS,
        selection={"zones": ["kikan", "lgwan", "internet"]}, inventory_dir="inventory",
        catalog_digest="sha256:" + "ab" * 32, started=started, finished=started + dt.timedelta(seconds=42.5),
    )
    return report, results
