"""The drift report as ONE self-contained HTML file (ja/en): no network at all, readable with JS off.

Inline CSS and a small inline script (filters, sorting, print) only; a Content-Security-Policy
pins both by hash and forbids every other source, so the page cannot load anything even if
something slipped into the data (host data is escaped by Jinja's autoescape anyway).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from hardening.report import svg
from hardening.report.files import atomic_write
from hardening.report.i18n import Translator
from hardening.report.safety import clean_text
from hardening.report.validate import validate_report
from hardening.report.views import (
    STATUSES,
    ReportView,
    compliance,
    compliance_groups,
    counts,
    hosts_by,
    is_expired_fail,
    responsible_managers,
    subset_report,
)

_PAGES = "pages"
_SAFE_NAME = re.compile(r"[a-z0-9_]{1,40}")
_PAGE_NAME = re.compile(r"(zone|manager)-[a-z0-9_]{1,40}(-[0-9]+)?\.html")

_PRETTY_OVER = 60  # characters: longer JSON values are shown indented


def _json(value: Any) -> str:
    """A value as JSON: compact, or one member per line when long (members themselves stay compact)."""
    def dump(item: Any) -> str:
        return json.dumps(item, ensure_ascii=False, allow_nan=False)

    compact = dump(value)
    if len(compact) <= _PRETTY_OVER or not value or not isinstance(value, list | dict):
        return compact
    if isinstance(value, list):
        return "[\n" + ",\n".join("  " + dump(v) for v in value) + "\n]"
    return "{\n" + ",\n".join(f"  {dump(k)}: {dump(v)}" for k, v in value.items()) + "\n}"


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


@functools.cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("hardening.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["json"] = _json
    return env


@functools.cache
def _asset(name: str) -> str:
    env = _environment()
    loader = env.loader
    if loader is None:  # pragma: no cover - set in _environment()
        raise RuntimeError("report templates have no loader")
    source, _, _ = loader.get_source(env, name)
    return source


# Above this many hosts one page would hold hundreds of thousands of rows: the report becomes a summary page
# (charts, per-zone and per-manager tables) plus pages per zone and per manager of at most this many hosts each.
SPLIT_OVER = 300


@dataclass
class PageEntry:
    """One zone's or manager's line in the summary page: its counts and the pages holding its hosts."""

    key: str
    hosts: int
    counts: dict[str, int]
    share: str
    share_sort: str
    parts: list[tuple[str, int]] = field(default_factory=list)


def _filter_options(report: dict[str, Any], groups: dict[str, list[tuple[str, dict[str, int]]]],
                    t: Translator) -> list[tuple[str, str, list[tuple[str, str]]]]:
    return [
        ("manager", "filter_manager", [(k, k) for k, _ in groups["manager"]]),
        ("zone", "filter_zone", [(k, t.zone(k)) for k, _ in groups["zone"]]),
        ("class", "filter_class", [(k, t.device_class(k)) for k, _ in groups["device_class"]]),
        ("clause", "filter_clause", [(k, k) for k, _ in groups["clause"]]),
    ]


def _context(report: dict[str, Any], t: Translator, view: ReportView | None = None) -> dict[str, Any]:
    """What every part of a page needs (the host articles too, rendered once for every split page)."""
    css, script = _asset("report.css"), _asset("report.js")
    view = view or ReportView(report)
    return {
        "r": report,
        "view": view,
        "t": t,
        "lang": t.lang,
        "statuses": STATUSES,
        "host_ids": {name: f"h{index}" for index, name in enumerate(view.hosts, start=1)},
        "managers": {h["name"]: responsible_managers(h) for h in report["hosts"]},
        "is_expired_fail": is_expired_fail,
        "css": css,
        "script": script,
        "csp": (f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(script)}; "
                "img-src data:; base-uri 'none'; form-action 'none'"),
    }


def _render(report: dict[str, Any], t: Translator, *, trend: Sequence[Mapping[str, Any]] | None,
            summary_only: bool = False, pages: dict[str, list[PageEntry]] | None = None,
            page_nav: dict[str, Any] | None = None, shared: dict[str, Any] | None = None,
            articles: Mapping[str, Markup] | None = None) -> str:
    """One page. `shared`: the whole report's context (host ids, managers) for a page of a split report;
    `articles`: its host articles, already rendered."""
    context = _context(report, t)
    if shared is not None:
        context.update(host_ids=shared["host_ids"], managers=shared["managers"])
    groups = compliance_groups(report)
    names = {"zone": t.zone, "device_class": t.device_class}
    charts: dict[str, Markup | None] = {
        key: svg.bar_chart(f"chart-{key}", t(f"chart_{key}"),
                           [(names[key](k) if key in names else k, tally) for k, tally in groups[key]], t)
        for key in groups
    }
    charts["trend"] = svg.trend_chart("chart-trend", t("trend"), trend, t) if trend else None
    return _environment().get_template("report.html.j2").render(
        **context,
        charts=charts,
        legend=svg.legend(t),
        filter_options=_filter_options(report, groups, t),
        summary_only=summary_only,
        pages=pages or {},
        page_nav=page_nav,
        articles=articles or {},
    )


def render_html(report: dict[str, Any], lang: str = "ja", *,
                trend: Sequence[Mapping[str, Any]] | None = None) -> str:
    """The whole report as one HTML page in `lang` ("ja" or "en"); `trend`: History.trend rows (oldest first)
    for the trend chart, None: the page says there is none.

    Raises ReportError if the report is invalid, ValueError for an unknown language.
    """
    t = Translator(lang)
    validate_report(report)
    return clean_text(_render(report, t, trend=trend))


def _slug(text: str, index: int, prefix: str) -> str:
    return f"{prefix}-{text}" if _SAFE_NAME.fullmatch(text) else f"{prefix}-{index:03d}"


def write_html(report: dict[str, Any], path: Path | str, lang: str = "ja", *,
               trend: Sequence[Mapping[str, Any]] | None = None, split_over: int = SPLIT_OVER) -> list[Path]:
    """Render (validating first) and write the HTML report as UTF-8; return every file written.

    Up to `split_over` hosts: one page at `path`. More: `path` is a summary page (charts, tables per zone and per
    responsible manager) and `pages/zone-*.html` and `pages/manager-*.html` beside it hold the hosts (subset_report),
    in parts of at most `split_over` hosts each."""
    t = Translator(lang)
    validate_report(report)
    target = Path(path)
    for stale in (target.parent / _PAGES).glob("*.html"):  # pages of an earlier rendering into this directory
        if _PAGE_NAME.fullmatch(stale.name):
            stale.unlink()
    if len(report["hosts"]) <= split_over:
        atomic_write(target, clean_text(_render(report, t, trend=trend)))
        return [target]
    written: list[Path] = []
    pages: dict[str, list[PageEntry]] = {}
    groups = compliance_groups(report)
    # Each host is on one zone page and on its managers' pages: its article is rendered once, here.
    shared = _context(report, t)
    module = _environment().get_template("macros.html.j2").make_module(shared)
    host_article = module.host_article  # type: ignore[attr-defined]  # a macro of the template
    # the macro's output is Markup already (autoescaped by the template)
    articles: dict[str, Markup] = {name: host_article(name) for name in shared["view"].hosts}
    for dimension in ("zone", "manager"):
        tallies = dict(groups[dimension])
        entries = pages.setdefault(dimension, [])
        for index, (key, names) in enumerate(hosts_by(report, dimension).items(), start=1):
            share = compliance(tallies.get(key, counts()))
            entry = PageEntry(key, len(names), tallies.get(key, counts()),
                              "—" if share is None else f"{share * 100:.1f}%", f"{share or 0:.6f}")
            chunks = [names[i:i + split_over] for i in range(0, len(names), split_over)]
            stem = _slug(key, index, dimension)
            files = [f"{stem}.html" if number == 1 else f"{stem}-{number}.html"
                     for number in range(1, len(chunks) + 1)]
            entry.parts = [(f"{_PAGES}/{name}", number) for number, name in enumerate(files, start=1)]
            title = t.zone(key) if dimension == "zone" else key
            for number, (chunk, name) in enumerate(zip(chunks, files, strict=True), start=1):
                page_nav = {"back": f"../{target.name}", "title": f"{t(dimension)}: {title}", "part": number,
                            "parts": [(part, n) for n, part in enumerate(files, start=1)]}
                page = target.parent / _PAGES / name
                atomic_write(page, clean_text(_render(subset_report(report, set(chunk)), t, trend=None,
                                                      page_nav=page_nav, shared=shared, articles=articles)))
                written.append(page)
            entries.append(entry)
    atomic_write(target, clean_text(_render(report, t, trend=trend, summary_only=True, pages=pages)))
    return [target, *written]
