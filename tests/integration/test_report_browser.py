"""The auditor's HTML report in a real browser: Debian's headless chromium driven by playwright (issue 11).

No skip: `make venv` installs chromium through `labctl machine` (lab/labctl.py) and playwright is pinned in
pyproject.toml; a missing browser FAILS with what to run. No browser is ever downloaded (executable_path), and the
page may fetch nothing: every request that is not the page's own file is recorded and fails the test.
A screenshot of each page is saved under $HARDENING_TEST_ARTIFACTS, else test-artifacts/ in the repository root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.unit.report.report_sample import build_sample_report
from tests.unit.report.report_scale import scaled_report

from hardening.report.html import write_html

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
TREND = [{"run_id": f"run-{i}", "started_at": f"2026-11-{20 + i:02d}T02:00:00+09:00", "hosts": 5,
          "findings": {"pass": 20 + i, "fail": 6 - i, "error": 2, "not_applicable": 5, "manual": 1, "waived": 1}}
         for i in range(5)]


def artifacts() -> Path:
    target = Path(os.environ.get("HARDENING_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    assert CHROMIUM.exists(), (f"{CHROMIUM} is missing: install Debian's chromium (`make machine-deps`, as root: "
                               "lab/labctl.py machine installs it); this test never downloads a browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Watched:
    """A page with its console errors, page errors and every request that left the page's own files."""

    def __init__(self, browser: Any, allowed: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        prefix = allowed.resolve().as_uri()

        def route(request_route: Any) -> None:
            url = request_route.request.url
            if url.startswith(prefix):
                request_route.continue_()
            else:
                self.requests.append(url)
                request_route.abort()

        self.page.route("**/*", route)

    def open(self, path: Path) -> Any:
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        return self.page

    def close(self) -> None:
        self.context.close()


def _visible(page: Any, selector: str) -> list[str]:
    return list(page.eval_on_selector_all(
        selector, "els => els.filter(e => e.offsetParent !== null).map(e => e.getAttribute('data-host'))"))


def _charts_render(page: Any, expected: int) -> None:
    boxes = page.eval_on_selector_all(
        "svg.chart", "els => els.map(e => { const r = e.getBoundingClientRect(); return [e.id, r.width, r.height]; })")
    assert len(boxes) == expected, boxes
    for chart_id, width, height in boxes:
        assert width > 100, (chart_id, width, height)
        assert height > 20, (chart_id, width, height)
    segments = page.eval_on_selector_all(
        "svg.chart rect.seg", "els => els.map(e => e.getBoundingClientRect().width)")
    assert segments
    assert all(w > 0 for w in segments)


def test_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    report, _ = build_sample_report()
    target = tmp_path / "report.html"
    write_html(report, target, trend=TREND)
    watched = Watched(browser, tmp_path)
    try:
        page = watched.open(target)
        _charts_render(page, expected=5)  # zone, manager, device class, clause, trend
        assert page.locator("svg#chart-trend g.run").count() == len(TREND)
        assert page.locator("#filters").is_visible()  # the script ran under the CSP
        every = _visible(page, "article.host")
        assert len(every) == len(report["hosts"])

        # Filter by manager: only that manager's hosts stay, in the host table and in the findings.
        page.select_option("select[data-filter=manager]", "広報広聴課長")
        assert _visible(page, "article.host") == ["web01"]
        assert _visible(page, "tr.hrow") == ["web01"]
        assert page.locator("#shown-count").inner_text() == "1"
        hidden = page.eval_on_selector_all("article.host[hidden]", "els => els.map(e => e.getAttribute('data-host'))")
        assert sorted(hidden) == sorted(set(every) - {"web01"})
        # Printed, every host is there again (filters hidden, no row left out).
        page.emulate_media(media="print")
        assert len(_visible(page, "article.host")) == len(report["hosts"])
        assert not page.locator("#filters").is_visible()
        page.emulate_media(media="screen")
        page.select_option("select[data-filter=manager]", "")

        # Status and clause filters act on the findings; free text on host names and finding text.
        page.uncheck("#filters input[value=pass]")
        assert page.eval_on_selector_all(".finding[data-status=pass]", "els => els.every(e => e.offsetParent === null)")
        page.check("#filters input[value=pass]")
        page.select_option("select[data-filter=clause]", "第3章 1 3(4)③")
        clauses = page.eval_on_selector_all(".finding", "els => els.filter(e => e.offsetParent !== null)"
                                            ".map(e => e.getAttribute('data-clause'))")
        assert clauses
        assert set(clauses) == {"第3章 1 3(4)③"}
        page.select_option("select[data-filter=clause]", "")
        page.fill("#filters input[type=search]", "zaimu")
        assert _visible(page, "article.host") == ["zaimu-ap01"]
        page.fill("#filters input[type=search]", "")
        page.select_option("select[data-filter=zone]", "kikan")
        assert sorted(_visible(page, "tr.hrow")) == ["log01", "ntp01", "pc-shimin01"]
        page.select_option("select[data-filter=zone]", "")

        # Sorting the host table by its first column, both ways.
        header = page.locator("#hosts-table thead th").first
        names = lambda: page.eval_on_selector_all(  # noqa: E731
            "#hosts-table tbody tr", "rows => rows.map(r => r.getAttribute('data-host'))")
        header.click()
        ascending = names()
        assert ascending == sorted(ascending, key=str)
        header.click()
        assert names() == list(reversed(ascending))
        assert header.get_attribute("aria-sort") == "descending"

        page.screenshot(path=str(artifacts() / "report-browser.png"), full_page=True)
        # Printed to PDF as the browser's "save as PDF" does (print media: filters hidden, every row shown).
        pdf = artifacts() / "report-print.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
        assert pdf.read_bytes().startswith(b"%PDF")
        assert not watched.errors, watched.errors
        assert not watched.requests, watched.requests
    finally:
        watched.close()


def test_no_trend_is_said_not_drawn(browser: Any, tmp_path: Path) -> None:
    report, _ = build_sample_report()
    target = tmp_path / "report.html"
    write_html(report, target, lang="en")
    watched = Watched(browser, tmp_path)
    try:
        page = watched.open(target)
        _charts_render(page, expected=4)
        assert "No trend data" in page.locator(".no-trend").inner_text()
        assert not watched.errors, watched.errors
    finally:
        watched.close()


def test_split_pages_of_a_large_report(browser: Any, tmp_path: Path) -> None:
    report = scaled_report(75)
    summary = tmp_path / "report.html"
    files = write_html(report, summary, split_over=15)
    pages = files[1:]
    assert len(pages) == 3 * 2 + 25  # two parts per zone (25 hosts each), one page per manager (3 hosts each)
    watched = Watched(browser, tmp_path)
    try:
        page = watched.open(summary)
        _charts_render(page, expected=4)
        assert page.locator("article.host").count() == 0  # the summary holds no host table
        links = page.eval_on_selector_all("section[id^=pages-] a", "els => els.map(e => e.getAttribute('href'))")
        assert sorted(links) == sorted(str(p.relative_to(tmp_path)) for p in pages)
        page.screenshot(path=str(artifacts() / "report-split-summary.png"), full_page=False)
        for path in [p for p in pages if p.name.startswith("zone-")] + pages[-3:]:
            page = watched.open(path)
            hosts = page.locator("article.host").count()
            assert 0 < hosts <= 15, (path, hosts)
            assert page.locator("svg.chart").count() == 4
            back = page.locator(".pagenav a").first.get_attribute("href")
            assert (path.parent / back).resolve() == summary.resolve()
        # a manager's page filters like the whole report
        page = watched.open(tmp_path / "pages" / "manager-001.html")
        manager = page.locator("select[data-filter=manager] option").nth(1).get_attribute("value")
        page.select_option("select[data-filter=manager]", manager)
        assert len(_visible(page, "article.host")) == page.locator("article.host").count()
        page.screenshot(path=str(artifacts() / "report-split-manager.png"), full_page=False)
        assert not watched.errors, watched.errors[:5]
        assert not watched.requests, watched.requests
    finally:
        watched.close()


def test_page_files_are_named_safely(tmp_path: Path) -> None:
    report = scaled_report(40)
    files = write_html(report, tmp_path / "report.html", split_over=10)
    for path in files[1:]:
        assert re.fullmatch(r"(zone-[a-z0-9_]+|manager-\d{3})(-\d+)?\.html", path.name), path.name
        assert path.parent == tmp_path / "pages"
    # rendered again small into the same directory: no page of the earlier rendering is left to mislead
    write_html(scaled_report(5), tmp_path / "report.html", split_over=10)
    assert not list((tmp_path / "pages").glob("*.html"))
