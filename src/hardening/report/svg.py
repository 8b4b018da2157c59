"""The report's charts as inline SVG drawn here in Python: no script, no font or file to fetch, printable.

Every text from the data is escaped (markupsafe); colours are presentation attributes, not style attributes,
so the page's Content-Security-Policy (no inline style but its own hashed sheet) still holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from hardening.report.i18n import Translator
from hardening.report.views import STATUSES, compliance

COLOURS = {"pass": "#1a7f37", "waived": "#0b5cad", "manual": "#9a6700", "error": "#7b1fa2", "fail": "#c62828",
           "not_applicable": "#b6bdc5"}
# Bars stack compliant first, then what is not: the eye reads the green share as the compliance.
_STACK = ("pass", "waived", "manual", "error", "fail")
_WIDTH, _LABEL, _RIGHT, _ROW, _TOP = 760, 210, 70, 22, 26
_LABEL_CHARS = 16


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def legend(t: Translator) -> Markup:
    """The colour key shared by every chart (HTML, so it wraps and prints)."""
    items = "".join(
        f'<span class="key"><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" '
        f'fill="{COLOURS[s]}"/></svg> {escape(t.status(s))}</span>'
        for s in (*_STACK, "not_applicable")
    )
    return Markup(f'<p class="legend">{items}</p>')  # noqa: S704 - built from escape()d text only


def bar_chart(chart_id: str, title: str, rows: Sequence[tuple[str, Mapping[str, int]]], t: Translator) -> Markup:
    """Horizontal stacked bars, one per row (label, counts per status), scaled to the row's applicable findings,
    with the compliance share (pass + waived of everything applicable) at the right."""
    height = _TOP + _ROW * max(len(rows), 1) + 6
    span = _WIDTH - _LABEL - _RIGHT
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" role="img" aria-labelledby="{escape(chart_id)}-t" '
        f'viewBox="0 0 {_WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<text x="{_LABEL}" y="16" font-size="12" fill="#59636e">0%</text>',
        f'<text x="{_LABEL + span}" y="16" font-size="12" fill="#59636e" text-anchor="end">100%</text>',
        f'<text x="{_WIDTH - 4}" y="16" font-size="12" fill="#59636e" text-anchor="end">{escape(t("compliance"))}'
        "</text>",
    ]
    if not rows:
        parts.append(f'<text x="{_LABEL}" y="{_TOP + 15}" font-size="13">{escape(t("chart_empty"))}</text>')
    for index, (label, tally) in enumerate(rows):
        y = _TOP + index * _ROW
        applicable = sum(tally.get(s, 0) for s in _STACK)
        parts.append(f'<g class="bar" data-label="{escape(label)}">')
        parts.append(f'<title>{escape(label)}: ' + escape(", ".join(
            f"{t.status(s)} {tally.get(s, 0)}" for s in STATUSES)) + "</title>")
        parts.append(f'<text x="{_LABEL - 6}" y="{y + 15}" font-size="12" text-anchor="end">'
                     f"{escape(_short(label))}</text>")
        parts.append(f'<rect x="{_LABEL}" y="{y + 3}" width="{span}" height="{_ROW - 6}" fill="#f6f8fa" '
                     'stroke="#d0d7de"/>')
        x = float(_LABEL)
        for status in _STACK:
            n = tally.get(status, 0)
            if not n or not applicable:
                continue
            width = span * n / applicable
            parts.append(f'<rect class="seg s-{status}" x="{x:.2f}" y="{y + 3}" width="{width:.2f}" '
                         f'height="{_ROW - 6}" fill="{COLOURS[status]}"/>')
            x += width
        parts.append(f'<text x="{_WIDTH - 4}" y="{y + 15}" font-size="12" text-anchor="end" font-weight="600">'
                     f"{_percent(compliance(dict(tally)))}</text>")
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every data text above went through escape()


def trend_chart(chart_id: str, title: str, trend: Sequence[Mapping[str, Any]], t: Translator) -> Markup:
    """Compliance of the last runs, oldest first (History.trend rows: run_id, started_at, hosts, findings), as
    columns with the share on top and the date and host count below."""
    height, base, top = 200, 160, 24
    step = (_WIDTH - 60) / max(len(trend), 1)
    column = min(56.0, step * 0.6)
    parts = [
        f'<svg class="chart trend" id="{escape(chart_id)}" role="img" aria-labelledby="{escape(chart_id)}-t" '
        f'viewBox="0 0 {_WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<line x1="40" y1="{base}" x2="{_WIDTH - 10}" y2="{base}" stroke="#d0d7de"/>',
        f'<text x="36" y="{top + 4}" font-size="11" text-anchor="end" fill="#59636e">100%</text>',
        f'<text x="36" y="{base}" font-size="11" text-anchor="end" fill="#59636e">0%</text>',
    ]
    for index, run in enumerate(trend):
        tally = {s: int(n) for s, n in (run.get("findings") or {}).items()}
        share = compliance(tally)
        x = 50 + index * step + (step - column) / 2
        bar = (base - top) * (share or 0.0)
        fails, errors = tally.get("fail", 0), tally.get("error", 0)
        started = str(run.get("started_at", ""))[:10]
        parts.append(f'<g class="run" data-run="{escape(str(run.get("run_id", "")))}">')
        parts.append(f"<title>{escape(str(run.get('run_id', '')))} {escape(str(run.get('started_at', '')))}: "
                     f"{_percent(share)}, {escape(t.status('fail'))} {fails}, "
                     f"{escape(t.status('error'))} {errors}</title>")
        parts.append(f'<rect x="{x:.2f}" y="{base - bar:.2f}" width="{column:.2f}" height="{max(bar, 1):.2f}" '
                     f'fill="{COLOURS["pass"]}"/>')
        parts.append(f'<text x="{x + column / 2:.2f}" y="{base - bar - 4:.2f}" font-size="11" '
                     f'text-anchor="middle">{_percent(share)}</text>')
        parts.append(f'<text x="{x + column / 2:.2f}" y="{base + 14}" font-size="11" text-anchor="middle">'
                     f"{escape(started)}</text>")
        parts.append(f'<text x="{x + column / 2:.2f}" y="{base + 28}" font-size="10" text-anchor="middle" '
                     f'fill="#59636e">{escape(t("hosts_count"))} {int(run.get("hosts", 0))} · '
                     f"{escape(t.status('fail'))} {fails}</text>")
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every data text above went through escape()
