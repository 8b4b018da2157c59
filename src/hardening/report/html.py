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
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from hardening.report.files import atomic_write
from hardening.report.i18n import Translator
from hardening.report.validate import validate_report
from hardening.report.views import STATUSES, ReportView, is_expired_fail

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


def render_html(report: dict[str, Any], lang: str = "ja") -> str:
    """The whole report as one HTML page in `lang` ("ja" or "en").

    Raises ReportError if the report is invalid, ValueError for an unknown language.
    """
    t = Translator(lang)
    validate_report(report)
    css, script = _asset("report.css"), _asset("report.js")
    view = ReportView(report)
    return _environment().get_template("report.html.j2").render(
        r=report,
        view=view,
        t=t,
        lang=lang,
        statuses=STATUSES,
        host_ids={name: f"h{index}" for index, name in enumerate(view.hosts, start=1)},
        is_expired_fail=is_expired_fail,
        css=css,
        script=script,
        csp=(f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(script)}; "
             "img-src data:; base-uri 'none'; form-action 'none'"),
    )


def write_html(report: dict[str, Any], path: Path | str, lang: str = "ja") -> None:
    """Render (validating first) and write the HTML report as UTF-8."""
    atomic_write(path, render_html(report, lang))
