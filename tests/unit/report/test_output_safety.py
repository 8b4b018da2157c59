"""Host data never drives the reader's terminal or Markdown renderer (issue 6, change control item 5).

A host, a plan file or an inventory value can carry ANSI/OSC escape sequences, 8-bit C1 controls, BEL,
backspace, carriage returns and bidi overrides. Every terminal output shows them visibly (``\\x1b``,
``\\u202e``) instead of obeying them; Markdown code is fenced with more backticks than the content holds,
and Markdown text is escaped, so a diff line cannot close the fence and render live HTML.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from hardening import cli
from hardening.changes import plan as plan_module
from hardening.changes.show import render_html, render_markdown, render_terminal
from hardening.core.text import md_code, md_fence, md_text, terminal_safe
from hardening.report.writers import render_html as report_html
from hardening.report.writers import terminal_summary

# Every character a terminal (or a bidi-aware renderer) would act on rather than display.
HOSTILE = {
    "ESC (CSI/OSC start)": "\x1b",
    "BEL (OSC end)": "\x07",
    "backspace": "\x08",
    "carriage return": "\r",
    "NUL": "\x00",
    "DEL": "\x7f",
    "8-bit CSI": "\x9b",
    "8-bit OSC": "\x9d",
    "8-bit ST": "\x9c",
    "C1 NEL": "\x85",
    "LRE": "\u202a",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "PDI": "\u2069",
    "line separator": "\u2028",
}
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
EVIL = ("\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07\x9b1;31m\x9d0;t\x9c"
        "ok\rFAKE\x08\x08\u202eevil\u202c\u2066x\u2069")
FENCE_BREAK = "```\n</code></pre><script>alert(1)</script><img src=x onerror=alert(2)>\n~~~\n````\n"
OUR_COLORS = {"\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[1m", "\x1b[0m", "\x1b[33m", "\x1b[35m", "\x1b[90m",
              "\x1b[1;31m"}


def _clean(text: str, allow_colors: bool = False) -> bool:
    """No hostile character left (our own SGR color codes allowed when asked)."""
    if allow_colors:
        for code in OUR_COLORS:
            text = text.replace(code, "")
    return FORBIDDEN.search(text) is None


@pytest.mark.parametrize("char", list(HOSTILE.values()), ids=list(HOSTILE))
def test_every_control_is_shown_not_obeyed(char: str) -> None:
    shown = terminal_safe(f"a{char}b")
    assert char not in shown
    assert shown.startswith("a")
    assert shown.endswith("b")
    assert len(shown) > 3  # visible, not dropped
    assert "\\" in shown


def test_visible_forms_and_plain_text_unchanged() -> None:
    assert terminal_safe("\x1b[31m") == "\\x1b[31m"
    assert terminal_safe("\x9b") == "\\x9b"
    assert terminal_safe("a\u202eb") == "a\\u202eb"
    assert terminal_safe("一行目\n二行目") == "一行目\\n二行目"  # one field, one line
    assert terminal_safe("一行目\n二行目\r\n", multiline=True) == "一行目\n二行目\\r\n"
    plain = "住民記録システム\t第2章 6(2)③ /etc/ssh/sshd_config [x] `y`"
    assert terminal_safe(plain) == plain


def evil_plan() -> dict[str, Any]:
    return {
        "format_version": "1.0", "plan_id": "00000000-0000-4000-8000-000000000001",
        "created_at": "2026-11-26T10:00:00+09:00", "planned_by": "yamada" + EVIL, "site": {"name": "坂戸市"},
        "selection": {}, "inventory": "inventory", "catalog_digest": "sha256:" + "a" * 64,
        "report_digest": "sha256:" + "b" * 64,
        "summary": {"hosts": 1, "hosts_with_changes": 1, "changes": 1, "hosts_in_error": 0, "exit_code": 2},
        "hosts": {
            "jumin-ap02": {
                "zone": "kikan", "system": "住民記録システム" + EVIL, "security_managers": ["市民課長" + EVIL],
                "platform": "linux", "fingerprint": "sha256:" + "c" * 64,
                "failing": [{"requirement": "PRIV-REMOTE-ROOT", "clause": "第2章 6(2)①ウ(ア)",
                             "title": {"ja": "root 禁止" + EVIL + "<script>alert(3)</script>", "en": "No root"},
                             "fix": "automated", "violations": []}],
                "fix": ["PRIV-REMOTE-ROOT"], "manual": [],
                "changes": [{"requirement": "PRIV-REMOTE-ROOT", "task": "PRIV-REMOTE-ROOT: set" + EVIL,
                             "target": "/etc/ssh/`x`<img src=x onerror=alert(4)>" + EVIL,
                             "diff": "--- a\n+++ b\n-PermitRootLogin yes\n+PermitRootLogin no" + EVIL + "\n"
                                     + FENCE_BREAK + " context <b>bold</b>\n"}],
                "error": "probe said " + EVIL + "\n承認済み (approved by suzuki)",
            },
        },
    }


@pytest.mark.parametrize("color", [False, True])
def test_plan_terminal_rendering_is_inert(color: bool) -> None:
    text = render_terminal(evil_plan(), "ja", color=color)
    assert _clean(text, allow_colors=color)
    assert "\\x1b[2J" in text
    assert "\\u202e" in text
    # A newline inside one field cannot forge a line of its own.
    assert not any(line.startswith("承認済み") for line in text.splitlines())


def test_plan_markdown_cannot_break_out_of_its_fences() -> None:
    md = render_markdown(evil_plan(), "ja")
    assert _clean(md)
    html = MarkdownIt("commonmark").render(md)  # raw HTML enabled, as many ticket systems do
    assert "<script" not in html
    assert "<img" not in html
    assert "<b>" not in html
    # The whole diff stays inside one code block, in order.
    blocks = re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", html, flags=re.S)
    assert len(blocks) == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in blocks[0]
    assert blocks[0].rstrip("\n").endswith("context &lt;b&gt;bold&lt;/b&gt;")
    # The target is one inline code span, backticks included.
    assert "<code>/etc/ssh/`x`&lt;img src=x onerror=alert(4)&gt;" in html


def test_markdown_helpers() -> None:
    assert md_fence("a ``` b\n````\n", "diff").startswith("`````diff\n")
    assert md_fence("plain\n", "diff") == "```diff\nplain\n```"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x`") == "`` `x` ``"
    assert md_code("") == "` `"
    assert md_text("<b>*x*</b> | [l](u)") == "&lt;b&gt;\\*x\\*&lt;/b&gt; \\| \\[l\\](u)"


def test_plan_html_escapes_host_data() -> None:
    page = render_html(evil_plan(), "en")
    assert _clean(page)
    assert "<script" not in page
    assert "<img" not in page
    assert "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_report_html_escapes_host_data(report: dict[str, Any]) -> None:
    report["hosts"][0]["system"] = FENCE_BREAK + '"><img src=x onerror=alert(5)>'
    page = report_html(report)
    assert "<img" not in page
    assert "alert(1)</script>" not in page
    assert "&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_audit_terminal_summary_is_inert(report: dict[str, Any]) -> None:
    bad = next(h for h in report["hosts"] if h["error"] is not None)
    bad["error"] = "refused " + EVIL
    bad["system"] = "システム\u202eevil"
    text = terminal_summary(report, lang="ja", color=True, paths={"JSON": "reports/x\x1b[2J/report.json"})
    assert _clean(text, allow_colors=True)
    assert "\\u202e" in text
    assert "\\x1b[2J" in text


def _plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "p.json"
    plan_module.write_plan(evil_plan(), path)
    return path


@pytest.mark.parametrize("fmt", ["terminal", "markdown", "html"])
def test_cli_show_prints_nothing_hostile(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    assert cli.main(["show", str(_plan_file(tmp_path)), "-f", fmt, "--color", "always"]) == 0
    out = capsys.readouterr().out
    assert _clean(out, allow_colors=True)
    assert "\\x1b" in out


def test_cli_plan_prints_nothing_hostile(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    plan = evil_plan()
    plan["planned_by"] = "yamada"  # the ledger refuses a hostile actor name by itself
    monkeypatch.setattr(plan_module, "make_plan", lambda *a, **k: (copy.deepcopy(plan), {}))
    code = cli.main(["plan", "--no-progress", "--ledger", str(tmp_path / "ledger.jsonl"),
                     "--out", str(tmp_path / "p\x1b[2J.json")])
    assert code == 2
    captured = capsys.readouterr()
    assert _clean(captured.out)
    assert _clean(captured.err)
    assert "\\x1b[2J" in captured.out


def test_cli_errors_print_nothing_hostile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["show", str(tmp_path / "p\x1b]0;pwned\x07\u202e.json")]) == 1
    err = capsys.readouterr().err
    assert _clean(err)
    assert "\\x1b]0;pwned\\x07" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_apply_and_approve_lines_are_inert(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import hardening.changes.apply as apply_module

    outcome = {"exit_code": 1, "hosts": {"web01\x1b[2J": {"status": "failed", "message": "reset\r" + EVIL,
                                                          "verify": {"PW-LEN": "still fail\x9b2J"}}}}
    monkeypatch.setattr(apply_module, "apply_plan", lambda *a, **k: outcome)
    monkeypatch.setattr(apply_module, "default_approvals", lambda plan: [])
    code = cli.main(["apply", str(_plan_file(tmp_path)), "--ledger", str(tmp_path / "l.jsonl"),
                     "--out", str(tmp_path / "result.json")])
    assert code == 1
    out = capsys.readouterr().out
    assert _clean(out)
    assert "web01\\x1b[2J" in out
    assert json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))["hosts"]


def test_log_lines_are_inert(capsys: pytest.CaptureFixture[str]) -> None:
    handler = cli.log_handler()
    record = logging.LogRecord("paramiko.transport", logging.ERROR, __file__, 1, "banner %s", ("\x1b[2J\u202e",),
                               None)
    line = handler.format(record)
    assert _clean(line)
    assert "\\x1b[2J\\u202e" in line
