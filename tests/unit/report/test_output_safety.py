"""Host data never drives the reader's terminal or Markdown renderer (issue 6, change control item 5).

A host, a plan file or an inventory value can carry ANSI/OSC escape sequences, 8-bit C1 controls, BEL,
backspace, carriage returns and bidi overrides. Every terminal output shows them visibly (``\\x1b``,
``\\u202e``) instead of obeying them; Markdown code is fenced with more backticks than the content holds,
and Markdown text is escaped, so a diff line cannot close the fence and render live HTML.
"""

from __future__ import annotations

import copy
import io
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


# ---------------------------------------------------------------------------------------------------------------
# Hostile device data in every report format (issue 11): markup and script in host names, banners and evidence;
# formula text for CSV/XLSX; bytes that were not UTF-8; a 10 MB output. Each format neutralises and bounds it.

HTML_JS = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'><svg onload=alert(3)>"
FORMULAS = ["=HYPERLINK(\"http://evil.example/\",\"x\")", "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1",
            "\r=cmd|'/C calc'!A0"]
NON_UTF8 = b"caf\xe9 \xff\xfe \xed\xa0\x80".decode("utf-8", "surrogateescape") + " \ufffd"
BIG = "A" * 10_000_000  # a device's 10 MB answer
HOSTILE_HOST = 'web01"><script>alert(4)</script>'
SURROGATES = re.compile("[\ud800-\udfff]")
BOUND = 1_000_000  # bytes: the whole five-host report stays far below this in every format


def _hostile_report() -> dict[str, Any]:
    from report_sample import build_sample_report

    def tweak(results: dict[str, Any]) -> None:
        facts = results["pc-shimin01"].facts
        facts["facts"]["login"]["banner"] = HTML_JS + NON_UTF8 + BIG
        facts["evidence"]["/password_policy"] = [{"source": "cmd:" + HTML_JS, "excerpt": BIG + NON_UTF8}]
        facts["evidence"]["/login"] = [{"source": FORMULAS[0], "excerpt": "\n".join(FORMULAS) + HTML_JS}]

    report, _ = build_sample_report(tweak=tweak)
    for index, host in enumerate(report["hosts"]):
        host["system"] = FORMULAS[index % len(FORMULAS)] + HTML_JS
        host["security_officer"] = FORMULAS[-1]
        if host["name"] == "web01":
            host["name"] = HOSTILE_HOST
            host["hostname"] = "@SUM(1+1)" + NON_UTF8
    for finding in report["findings"]:
        if finding["host"] == "web01":
            finding["host"] = HOSTILE_HOST
    return report


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("HARDENING_OPERATOR", "監査担当")
    return _hostile_report()


def _utf8(path: Path) -> str:
    data = path.read_bytes()
    assert len(data) < BOUND, (path.name, len(data))
    return data.decode("utf-8")  # strict: a lone surrogate would have made the file invalid UTF-8


def test_hostile_data_is_bounded_in_the_report_document(hostile: dict[str, Any]) -> None:
    pc = [f for f in hostile["findings"] if f["host"] == "pc-shimin01" and f["actual"]]
    assert pc
    for finding in pc:
        for value in finding["actual"].values():
            assert not isinstance(value, str) or len(value) < 20_000
        for evidence in finding["evidence"]:
            assert len(evidence["excerpt"]) < 20_000
            assert not SURROGATES.search(evidence["excerpt"])
    banner = next(f for f in pc if f["requirement"] == "LOGIN-BANNER")["actual"]["/login/banner"]
    assert banner.startswith(HTML_JS)
    assert "文字省略" in banner
    assert "more characters cut" in banner


def test_hostile_json(hostile: dict[str, Any], tmp_path: Path) -> None:
    from hardening.report.writers import write_json

    write_json(hostile, tmp_path / "report.json")
    text = _utf8(tmp_path / "report.json")
    document = json.loads(text)
    assert not SURROGATES.search(text)
    assert "\ufffd" in text
    assert any(h["name"] == HOSTILE_HOST for h in document["hosts"])  # kept as data, verbatim
    assert "<script>alert(1)</script>" in text  # JSON is data: the HTML writers escape it, JSON keeps it exact


def test_hostile_html(hostile: dict[str, Any], tmp_path: Path) -> None:
    from hardening.report.html import write_html

    write_html(hostile, tmp_path / "report.html", trend=[{"run_id": HTML_JS, "started_at": HTML_JS, "hosts": 1,
                                                          "findings": {"pass": 1}}])
    page = _utf8(tmp_path / "report.html")
    assert not SURROGATES.search(page)
    assert "<script>alert" not in page
    assert "<img" not in page
    assert "<svg onload" not in page
    assert page.count("<script>") == 1  # our own, pinned by the CSP
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in page  # the host name, shown as text
    assert 'data-host="web01&#34;&gt;&lt;script&gt;alert(4)&lt;/script&gt;"' in page
    assert "Content-Security-Policy" in page
    assert "default-src &#39;none&#39;" in page
    # the filter data (JSON in an attribute) cannot close its quote either
    assert re.search(r"data-managers='[^'<>]*'", page)


def test_hostile_csv(hostile: dict[str, Any], tmp_path: Path) -> None:
    import csv

    from hardening.report.writers import write_csv

    write_csv(hostile, tmp_path / "report.csv")
    text = _utf8(tmp_path / "report.csv")
    assert not SURROGATES.search(text)
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'" + FORMULAS[0] + HTML_JS in cells  # kept, but as text
    assert max(len(c) for c in cells) < 70_000


def test_hostile_xlsx(hostile: dict[str, Any], tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET
    import zipfile

    from hardening.report.xlsx import EXCEL_CELL_MAX, cell_text, write_xlsx

    write_xlsx(hostile, tmp_path / "report.xlsx")
    assert (tmp_path / "report.xlsx").stat().st_size < BOUND
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    texts: list[str] = []
    with zipfile.ZipFile(tmp_path / "report.xlsx") as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == 6
        shared = []
        if "xl/sharedStrings.xml" in book.namelist():
            shared = ["".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
                      for si in ET.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", ns)]  # noqa: S314 - written by this test
        for name in sheets:
            root = ET.fromstring(book.read(name))  # well-formed: no XML-illegal character got in  # noqa: S314 - written by this test
            assert not root.findall(".//m:f", ns), f"{name} holds a formula"
            for cell in root.iter(f"{{{ns['m']}}}c"):
                assert cell.get("t") in ("inlineStr", "s", "n", None), cell.attrib
                if cell.get("t") == "inlineStr":
                    texts.append("".join(t.text or "" for t in cell.iter(f"{{{ns['m']}}}t")))
                elif cell.get("t") == "s":
                    texts.append(shared[int(cell.findtext("m:v", namespaces=ns) or 0)])
    assert any(t.startswith(FORMULAS[0]) for t in texts)  # the formula text is there, as a string cell
    assert any(HOSTILE_HOST in t for t in texts)
    assert all(len(t) <= EXCEL_CELL_MAX for t in texts)
    assert not any(SURROGATES.search(t) for t in texts)
    # the cell cap itself, and characters XML 1.0 cannot hold
    assert len(cell_text(BIG)) <= EXCEL_CELL_MAX
    assert cell_text("a\x00b\x1bc\x0bd" + NON_UTF8) == "abcd" + SURROGATES.sub("\ufffd", NON_UTF8)

def test_hostile_junit(hostile: dict[str, Any], tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from hardening.report.writers import write_junit

    write_junit(hostile, tmp_path / "junit.xml")
    text = _utf8(tmp_path / "junit.xml")
    assert not SURROGATES.search(text)
    root = ET.fromstring(text.encode("utf-8"))  # noqa: S314 - written by this test
    assert any(s.get("name") == HOSTILE_HOST for s in root.iter("testsuite"))  # an attribute value, escaped
    assert "<script>" not in text


def test_hostile_terminal(hostile: dict[str, Any]) -> None:
    hostile["hosts"][3]["error"] = "refused " + EVIL + NON_UTF8 + BIG  # a report read back from a file: bounded
    from hardening.report.safety import bound_report

    text = terminal_summary(bound_report(hostile), lang="ja", color=True)
    assert _clean(text, allow_colors=True)
    assert not SURROGATES.search(text)
    text.encode("utf-8")
    assert len(text) < 100_000
    assert HOSTILE_HOST in text  # shown, and it cannot drive a terminal (no controls in it)
