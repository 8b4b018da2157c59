"""Every label the report renderers print, in Japanese (default) and English.

Finding messages, titles and expectations come with the data as {ja, en}; only the renderers'
own words live here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LANGS = ("ja", "en")

LABELS: dict[str, tuple[str, str]] = {
    # document
    "report_title": ("情報セキュリティ点検結果報告書（ドリフトレポート）", "Security drift report"),
    "site": ("団体", "Site"),
    "policy": ("準拠するポリシー", "Policy"),
    "generated_at": ("作成日時", "Generated at"),
    "started_at": ("開始日時", "Started at"),
    "duration": ("所要時間（秒）", "Duration (s)"),
    "operator": ("実行者", "Operator"),
    "run_id": ("実行ID", "Run ID"),
    "selection": ("点検範囲", "Selection"),
    "selection_all": ("全ホスト・全要件", "all hosts, all requirements"),
    "inventory": ("インベントリ", "Inventory"),
    "catalog_digest": ("要件カタログのダイジェスト", "Catalog digest"),
    "offline": ("オフライン点検（機器に接続せず、保存データから評価）",
                "Offline audit (no device contacted; evaluated from saved data)"),
    "offline_from": ("保存データ", "Saved data"),
    "offline_sources": ("評価に用いたファイルとSHA-256", "Files evaluated and their SHA-256"),
    "offline_kind_facts": ("保存済みファクト", "saved facts"),
    "offline_kind_capture": ("保存済みファイルツリー", "saved file tree"),
    "offline_warnings": ("インベントリにないホストのデータ（無視）", "Data of hosts not in the inventory (ignored)"),
    "tool": ("ツール", "Tool"),
    "exit_code": ("判定（終了コード）", "Verdict (exit code)"),
    "exit_0": ("適合：点検したすべての要件を満たしている", "Compliant: every evaluated requirement is met"),
    "exit_2": ("ドリフトあり：要件を満たしていない項目がある", "Drift: some requirements are not met"),
    "exit_1": ("エラー：点検できなかったホストまたは項目がある", "Error: some hosts or checks could not be evaluated"),
    "contents": ("目次", "Contents"),
    "summary": ("概要", "Summary"),
    "findings_by_status": ("所見の件数", "Findings by status"),
    "hosts_by_status": ("ホストの判定", "Hosts by status"),
    "hosts_section": ("ホスト一覧", "Hosts"),
    "by_clause": ("ポリシー条項別", "By policy clause"),
    "by_system": ("情報システム・責任者別", "By system and responsible person"),
    "details": ("ホスト別の所見", "Findings by host"),
    "verify": ("証跡の検証方法", "How to verify the evidence"),
    "verify_text": (
        "各ホストの収集データ（facts）は本報告書と同じフォルダの facts/<ホスト名>.json に保存されている。"
        "ファイルは正規化JSON（キー順、空白なし、UTF-8）で書かれているため、"
        "次のコマンドで表示される値が本報告書の「収集データのダイジェスト」と一致すれば改ざんされていない。"
        "要件（schemas/requirements/*.json）は JSON Schema であり、任意の検証ツールで facts を再検証できる。",
        "Each host's collected facts are saved beside this report as facts/<host>.json, in canonical JSON "
        "(sorted keys, no whitespace, UTF-8). If the command below prints the facts digest shown in this "
        "report, the file is unchanged. Requirements (schemas/requirements/*.json) are JSON Schemas: any "
        "validator can re-check the facts against them.",
    ),
    "filter": ("表示の絞り込み", "Filter"),
    "filter_host": ("ホスト名で絞り込み", "Filter by host name"),
    # auditor report: charts, filters, split pages, XLSX sheets
    "charts": ("遵守状況のグラフ", "Compliance charts"),
    "compliance": ("遵守率", "Compliance"),
    "compliance_note": ("遵守率＝（適合＋例外措置）÷（対象外を除く所見）。手動確認・エラーは遵守に数えない。",
                        "Compliance = (pass + waived) / findings that apply; manual and error never count as "
                        "compliant."),
    "chart_empty": ("データなし", "no data"),
    "chart_zone": ("ネットワーク区分別の遵守率", "Compliance by zone"),
    "chart_manager": ("情報セキュリティ管理者別の遵守率", "Compliance by responsible manager"),
    "chart_device_class": ("機器区分別の遵守率", "Compliance by device class"),
    "chart_clause": ("ポリシー条項別の遵守率", "Compliance by policy clause"),
    "trend": ("直近の点検の推移", "Trend over the last runs"),
    "trend_none": ("推移のデータがない（点検履歴が指定されていない）。",
                   "No trend data (no run history was given)."),
    "filter_manager": ("情報セキュリティ管理者", "Responsible manager"),
    "filter_zone": ("ネットワーク区分", "Zone"),
    "filter_class": ("機器区分", "Device class"),
    "filter_clause": ("条項", "Clause"),
    "filter_text": ("文字列で絞り込み（ホスト名・所見の内容）", "Free text (host name, finding text)"),
    "filter_any": ("すべて", "All"),
    "filter_shown": ("表示中のホスト", "Hosts shown"),
    "manager": ("情報セキュリティ管理者", "Responsible manager"),
    "split_note": ("ホスト数が多いため、この概要ページとネットワーク区分別・管理者別のページに分けて出力した。"
                   "各ページの所見は絞り込み・並べ替えができる。",
                   "This report is large: this summary page links to pages per zone and per responsible manager, "
                   "where the findings can be filtered and sorted."),
    "pages_by_zone": ("ネットワーク区分別のページ", "Pages by zone"),
    "pages_by_manager": ("情報セキュリティ管理者別のページ", "Pages by responsible manager"),
    "page_part": ("分冊", "Part"),
    "back_to_summary": ("概要ページへ戻る", "Back to the summary page"),
    "page_of": ("このページの範囲", "This page covers"),
    "sheet_summary": ("概要", "Summary"),
    "sheet_findings": ("指摘事項", "Findings"),
    "sheet_by_manager": ("管理者別", "By manager"),
    "sheet_by_zone": ("区分別", "By zone"),
    "sheet_by_clause": ("条項別", "By clause"),
    "sheet_hosts": ("ホスト", "Hosts"),
    "rows_cut": ("行数が Excel の上限を超えたため以降を省略", "rows beyond Excel's limit left out"),
    "show_all": ("すべて表示", "Show all"),
    "no_findings": ("所見なし", "No findings"),
    "none": ("なし", "none"),
    # hosts
    "host": ("ホスト", "Host"),
    "hostname": ("アドレス", "Address"),
    "platform": ("プラットフォーム", "Platform"),
    "zone": ("ネットワーク区分", "Zone"),
    "system": ("情報システム", "System"),
    "security_officer": ("情報セキュリティ責任者", "Security officer"),
    "security_managers": ("情報セキュリティ管理者", "Security managers"),
    "device_class": ("機器区分", "Device class"),
    "classification": ("重要性分類", "Classification"),
    "roles": ("役割", "Roles"),
    "status": ("判定", "Status"),
    "error_reason": ("エラーの理由", "Error reason"),
    "facts_file": ("収集データ", "Facts file"),
    "facts_digest": ("収集データのダイジェスト", "Facts digest"),
    "no_facts": ("収集データなし", "no facts"),
    "hosts_count": ("ホスト数", "Hosts"),
    "failing_hosts": ("不適合のホスト", "Failing hosts"),
    "error_hosts": ("エラーのホスト", "Hosts in error"),
    # findings
    "requirement": ("要件", "Requirement"),
    "title": ("名称", "Title"),
    "clause": ("ポリシー条項", "Policy clause"),
    "quote": ("ポリシーの記載", "Policy text"),
    "severity": ("重要度", "Severity"),
    "evaluated_status": ("評価結果", "Evaluated status"),
    "message": ("所見", "Finding"),
    "expected": ("期待される状態", "Expected"),
    "actual": ("実際の値", "Actual"),
    "violations": ("違反箇所", "Violations"),
    "fact": ("事実（ポインタ）", "Fact (pointer)"),
    "wanted": ("条件", "Wanted"),
    "found": ("実際", "Found"),
    "validator_message": ("検証メッセージ", "Validator message"),
    "evidence": ("証跡", "Evidence"),
    "source": ("取得元", "Source"),
    "parameters": ("適用したパラメータ", "Parameters"),
    "remediation": ("是正方法", "Remediation"),
    "remediation_intent": ("是正の趣旨（全プラットフォーム共通）", "Intent (every platform)"),
    "more": ("詳細", "Details"),
    "waiver": ("例外措置", "Waiver"),
    "waiver_id": ("例外措置ID", "Waiver ID"),
    "waiver_reason": ("理由", "Reason"),
    "waiver_approver": ("承認者", "Approver"),
    "waiver_expires": ("有効期限", "Expires"),
    "waiver_expired": ("期限切れ", "Expired"),
    "waiver_expired_note": (
        "例外措置の有効期限が切れている：この所見は不適合として扱われる",
        "The waiver has expired: this finding counts as a failure",
    ),
    "waiver_active_note": (
        "有効な例外措置により承認済み（評価結果は不適合）", "Covered by an active waiver (evaluated: fail)"
    ),
    "attestation": ("証跡による確認", "Attestation"),
    "attested": ("証跡による確認", "Attested"),
    "attested_expired": ("証跡による確認（期限切れ）", "Attestation expired"),
    "attested_note": (
        "自動では点検できない要件を、ホストの管理者以外の者が証跡に基づき確認した（評価結果は手動確認）",
        "A requirement no remote read can check, attested on evidence by a person other than the host's "
        "administrators (evaluated: manual)",
    ),
    "attested_expired_note": (
        "証跡による確認の有効期限が切れている：この所見は不適合として扱われる（再確認が必要）",
        "The attestation has expired: this finding counts as a failure (attest again)",
    ),
    "attester": ("確認者", "Attester"),
    "attested_at": ("確認日時", "Attested at"),
    "evidence_file": ("証跡ファイル", "Evidence file"),
    "evidence_sha256": ("証跡のSHA-256", "Evidence SHA-256"),
    "attestation_expires": ("有効期限", "Expires"),
    "attestation_statement": ("確認内容", "Statement"),
    "ledger_seq": ("台帳の記録番号", "Ledger seq"),
    "expired": ("期限切れ", "Expired"),
    "attested_count": ("証跡による確認", "Attested"),
    "attested_valid": ("有効（適合として計上）", "valid (counted as pass)"),
    "attested_expired_count": ("期限切れ（不適合として計上）", "expired (counted as fail)"),
    "attestations_ledger": ("証跡による確認の台帳", "Attestation ledger"),
    "attestations_verified": ("署名を検証した記録", "records verified"),
    "attestations_warnings": ("無視した証跡による確認", "Attestations ignored"),
    "attestations_error": ("証跡による確認を読めなかった（すべて無視）",
                           "Attestations could not be read (all ignored)"),
    "attested_findings": ("証跡による確認の所見", "Attested findings"),
    "automation": ("自動化", "Automation"),
    "count": ("件数", "Count"),
    "not_evaluated": ("件の要件を評価できなかった", "requirement(s) could not be evaluated"),
    "files": ("出力ファイル", "Files"),
    "total": ("合計", "Total"),
    "yes": ("はい", "yes"),
    "no": ("いいえ", "no"),
}

STATUS: dict[str, tuple[str, str]] = {
    "pass": ("適合", "Pass"),
    "fail": ("不適合", "Fail"),
    "error": ("エラー", "Error"),
    "not_applicable": ("対象外", "Not applicable"),
    "manual": ("手動確認", "Manual"),
    "waived": ("例外措置", "Waived"),
}

ZONE: dict[str, tuple[str, str]] = {
    "kikan": ("基幹系", "Core (My Number) zone"),
    "lgwan": ("LGWAN接続系", "LGWAN zone"),
    "internet": ("インターネット接続系", "Internet zone"),
}

DEVICE_CLASS: dict[str, tuple[str, str]] = {
    "router": ("ルータ", "Router"),
    "switch": ("スイッチ", "Switch"),
    "firewall": ("ファイアウォール", "Firewall"),
    "linux_server": ("Linuxサーバ", "Linux server"),
    "linux_pc": ("Linux端末", "Linux PC"),
    "windows_server": ("Windowsサーバ", "Windows server"),
    "windows_pc": ("Windows端末", "Windows PC"),
    "mfp": ("複合機", "Multifunction printer"),
}

SEVERITY: dict[str, tuple[str, str]] = {
    "critical": ("最重要", "Critical"),
    "high": ("高", "High"),
    "medium": ("中", "Medium"),
    "low": ("低", "Low"),
}

CLASSIFICATION: dict[str, tuple[str, str]] = {
    "c": ("機密性", "Confidentiality"),
    "i": ("完全性", "Integrity"),
    "a": ("可用性", "Availability"),
}

CSV_HEADER: dict[str, tuple[str, str]] = {
    "host": ("ホスト", "host"),
    "zone": ("ネットワーク区分", "zone"),
    "system": ("情報システム", "system"),
    "security_managers": ("情報セキュリティ管理者", "security_managers"),
    "device_class": ("機器区分", "device_class"),
    "requirement": ("要件ID", "requirement"),
    "title": ("要件名", "title"),
    "clause": ("ポリシー条項", "clause"),
    "severity": ("重要度", "severity"),
    "status": ("判定", "status"),
    "evaluated_status": ("評価結果", "evaluated_status"),
    "expected": ("期待される状態", "expected"),
    "actual": ("実際の値", "actual"),
    "message": ("所見", "message"),
    "waiver_id": ("例外措置ID", "waiver_id"),
    "waiver_expires": ("例外措置の有効期限", "waiver_expires"),
    "waiver_expired": ("例外措置の期限切れ", "waiver_expired"),
    "attester": ("確認者", "attester"),
    "attested_at": ("確認日時", "attested_at"),
    "evidence_sha256": ("証跡のSHA-256", "evidence_sha256"),
    "attestation_expires": ("証跡による確認の有効期限", "attestation_expires"),
    "attestation_expired": ("証跡による確認の期限切れ", "attestation_expired"),
}

_TABLES: dict[str, dict[str, tuple[str, str]]] = {
    "label": LABELS,
    "status": STATUS,
    "zone": ZONE,
    "device_class": DEVICE_CLASS,
    "severity": SEVERITY,
    "classification": CLASSIFICATION,
    "csv": CSV_HEADER,
}


def check_lang(lang: str) -> str:
    """The language code, or ValueError for one the renderers do not have."""
    if lang not in LANGS:
        raise ValueError(f"unknown report language {lang!r} (known: {', '.join(LANGS)})")
    return lang


def label(key: str, lang: str, table: str = "label") -> str:
    """The label `key` of `table` in `lang`; an unknown key is shown as itself (a new enum value stays visible)."""
    pair = _TABLES[table].get(key)
    if pair is None:
        return key
    return pair[LANGS.index(lang)]


def text(value: Mapping[str, Any] | None, lang: str) -> str:
    """A {ja, en} text in `lang`, falling back to the other language, else ''."""
    if not value:
        return ""
    for code in (lang, *LANGS):
        found = value.get(code)
        if isinstance(found, str) and found:
            return found
    return ""


class Translator:
    """Bound to one language: what the templates call as t(key), t.status(s), t.zone(z) …"""

    def __init__(self, lang: str) -> None:
        self.lang = check_lang(lang)

    def __call__(self, key: str) -> str:
        return label(key, self.lang)

    def status(self, key: str) -> str:
        return label(key, self.lang, "status")

    def zone(self, key: str) -> str:
        return label(key, self.lang, "zone")

    def device_class(self, key: str) -> str:
        return label(key, self.lang, "device_class")

    def severity(self, key: str) -> str:
        return label(key, self.lang, "severity")

    def classification(self, key: str) -> str:
        return label(key, self.lang, "classification")

    def text(self, value: Mapping[str, Any] | None) -> str:
        return text(value, self.lang)

    def exit_meaning(self, code: int) -> str:
        return label(f"exit_{code}", self.lang)

    def paren(self, inner: str) -> str:
        """An aside in parentheses as each language writes it: 「（…）」 or 「 (…)」."""
        return f"（{inner}）" if self.lang == "ja" else f" ({inner})"

    def join(self, items: list[str]) -> str:
        return ("、" if self.lang == "ja" else ", ").join(items)


def attestation_line(attestation: dict[str, Any], t: Translator) -> str:
    """One line saying who attested what evidence, when, until when (and expired when it is)."""
    head = t("attested_expired") if attestation["expired"] else t("attested")
    return (f"{head}: {t('attester')} {attestation['attester']}, {t('attested_at')} {attestation['attested_at']}, "
            f"{t('evidence_file')} {attestation['evidence_name']}, {t('evidence_sha256')} "
            f"{attestation['evidence_sha256']}, {t('attestation_expires')} {attestation['expires']}")
