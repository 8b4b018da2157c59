"""The HTML report: self-contained, escaped, bilingual, expired waivers flagged, readable without JS."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from hardening.report.writers import ReportError, render_html, write_html

VOID = {"meta", "br", "input", "link", "img", "hr", "wbr", "source", "col", "area", "base", "embed", "track"}


class _Collector(HTMLParser):
    """Tags, attributes and nesting errors of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.elements: list[tuple[list[str], dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.elements.append(([*self.stack, tag], dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


def _parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    collector.close()
    return collector


def _finding_block(page: str, host: str, requirement: str) -> str:
    """The HTML of one finding (between its opening div and the next finding/host)."""
    host_start = page.index(f'data-host="{host}"', page.index('<section id="details">'))
    start = page.index(f'<span class="rid">{requirement}</span>', host_start)
    start = page.rindex('<div class="finding', 0, start)
    ends = [i for i in (page.find('<div class="finding', start + 1), page.find("</article>", start)) if i > 0]
    return page[start:min(ends)]


def test_page_is_self_contained(report: dict[str, Any]) -> None:
    page = render_html(report)
    parsed = _parse(page)
    assert not parsed.errors, parsed.errors[:5]
    assert parsed.stack == []
    for tag, attrs in parsed.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed", "base"), tag
        assert not (tag == "script" and "src" in attrs)
        for name, value in attrs.items():
            if name in ("src", "href", "action", "srcset", "poster", "data"):
                assert value is not None
                assert not re.match(r"\s*(https?:)?//", value, re.IGNORECASE), (tag, name, value)
                assert name != "href" or value.startswith("#"), value  # only in-page links
    assert not re.search(r"url\(|@import", page, re.IGNORECASE)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*https?://""", page, re.IGNORECASE)
    assert [t for t, _ in parsed.tags].count("script") == 1
    assert [t for t, _ in parsed.tags].count("style") == 1


def test_csp_pins_the_inline_style_and_script(report: dict[str, Any]) -> None:
    page = render_html(report)
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert csp is not None
    policy = csp.group(1).replace("&#39;", "'")
    assert "default-src 'none'" in policy
    for tag, kind in (("style", "style-src"), ("script", "script-src")):
        body = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.DOTALL)
        assert body is not None
        digest = base64.b64encode(hashlib.sha256(body.group(1).encode()).digest()).decode()
        assert f"{kind} 'sha256-{digest}'" in policy  # otherwise the browser would drop our own CSS/JS


def test_japanese_labels_clauses_and_quotes(report: dict[str, Any]) -> None:
    page = render_html(report)
    assert '<html lang="ja">' in page
    for text in ("情報セキュリティ点検結果報告書", "ホスト一覧", "ポリシー条項別", "情報システム・責任者別",
                 "情報セキュリティ責任者", "情報セキュリティ管理者", "インターネット接続系", "LGWAN接続系", "基幹系",
                 "不適合", "例外措置", "対象外", "手動確認", "坂戸市情報セキュリティポリシー", "令和5年4月",
                 "監査担当 山田", "第3章 1 3(4)③", "8文字以上の文字列とすること。", "機密性 3", "Linux端末"):
        assert text in page, text
    assert "エラー：点検できなかったホストまたは項目がある" in page  # exit code 1 explained


def test_host_data_is_escaped(report: dict[str, Any]) -> None:
    page = render_html(report)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    report["hosts"][0]["system"] = '"><img src=x onerror=alert(1)>'
    page = render_html(report)
    assert "<img" not in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_english(report: dict[str, Any]) -> None:
    page = render_html(report, lang="en")
    assert '<html lang="en">' in page
    for text in ("Security drift report", "Hosts", "By policy clause", "Security officer", "Internet zone",
                 "Waived", "Not applicable", "does not meet the requirement", "Minimum password length",
                 "Sakado City (demo network)"):
        assert text in page, text
    for text in ("ホスト一覧", "ポリシー条項別", "情報セキュリティ責任者", "要件を満たしていない", "期待される状態"):
        assert text not in page, text
    assert "第3章 1 3(4)③" in page  # clauses and quotes stay as the policy prints them
    with pytest.raises(ValueError, match="unknown report language"):
        render_html(report, lang="fr")


def test_expired_waiver_is_flagged(report: dict[str, Any]) -> None:
    page = render_html(report)
    expired = _finding_block(page, "zaimu-ap01", "LOGIN-BANNER")
    assert 'class="finding f-fail expired' in expired
    assert "W-2025-014" in expired
    assert "期限切れ" in expired
    assert "2026-03-31" in expired
    assert "この所見は不適合として扱われる" in expired
    active = _finding_block(page, "web01", "LOGIN-TIMEOUT")
    assert "f-waived" in active
    assert "expired" not in active
    for text in ("W-2026-001", "総合政策部長（CISO）", "2027-03-31", "評価結果", 'class="badge s-fail"'):
        assert text in active, text
    # In the by-clause view the expired host is marked too.
    clause_view = page[page.index('id="by-clause"'):page.index('id="by-system"')]
    assert 'class="expired"' in clause_view
    assert "zaimu-ap01（期限切れ）" in clause_view


def test_findings_show_violation_and_evidence(report: dict[str, Any]) -> None:
    page = render_html(report)
    block = _finding_block(page, "pc-shimin01", "PW-LEN")
    assert "/password_policy/min_length" in block
    assert "minimum: 8" in block
    assert "<details>" in block
    assert "file:/etc/security/pwquality.conf" in block
    assert "<pre>minlen = 6" in block


def test_readable_without_javascript(report: dict[str, Any]) -> None:
    page = render_html(report)
    parsed = _parse(page)
    hidden = [attrs for _, attrs in parsed.tags if "hidden" in attrs]
    assert hidden == [{"id": "filters", "class": "filters", "hidden": None}]  # only the JS-driven controls
    # Every failing finding is open on the page, not behind JS or a closed <details>.
    for path, attrs in parsed.elements:
        if attrs.get("class", "") and "f-fail" in (attrs.get("class") or ""):
            assert "details" not in path
    assert "@media print" in page


def test_invalid_report_is_not_rendered(report: dict[str, Any], tmp_path: Path) -> None:
    report["summary"]["exit_code"] = 0
    with pytest.raises(ReportError):
        write_html(report, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_write_html(report: dict[str, Any], tmp_path: Path) -> None:
    write_html(report, tmp_path / "r.html", lang="en")
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_script_runs_under_the_csp_in_a_browser(report: dict[str, Any], tmp_path: Path) -> None:
    # `make test` installs chromium (lab/labctl.py machine): a missing browser fails, it never skips.
    assert shutil.which("chromium"), "chromium is not installed: run `make machine-deps` (as root)"
    target = tmp_path / "r.html"
    write_html(report, target)
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", target.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    # The script un-hides the filter bar: it ran, so the CSP hash matches and nothing threw before that.
    assert 'id="filters" class="filters"' in dom
    assert 'id="filters" class="filters" hidden' not in dom
