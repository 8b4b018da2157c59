"""Renders a plan for its reviewer: colored in the terminal, Markdown or HTML for a change ticket.

Everything in a plan came from hosts or from a file anyone may edit: every value goes through
core.text (terminal: controls shown, never obeyed; Markdown: fences and code spans longer than any
backtick run, text escaped; HTML: escaped, and the controls shown too since the page may be printed).
"""

from __future__ import annotations

import html
from typing import Any

from hardening.core.text import md_code, md_fence, md_text, terminal_safe

ZONES = {"ja": {"kikan": "基幹系", "lgwan": "LGWAN接続系", "internet": "インターネット接続系"},
         "en": {"kikan": "kikan (My Number)", "lgwan": "LGWAN", "internet": "internet"}}
LABELS = {
    "ja": {"title": "変更計画（ドライラン）", "plan": "計画ID", "by": "計画者", "at": "作成日時",
           "summary": "対象ホスト {hosts} 台、変更のあるホスト {with_changes} 台、"
                      "変更 {changes} 件、エラー {errors} 台",
           "host": "ホスト", "zone": "ゾーン", "system": "情報システム", "managers": "情報セキュリティ管理者",
           "failing": "不適合の要件", "fix": "自動是正", "manual": "手動対応が必要", "error": "エラー",
           "change": "変更", "none": "変更なし", "steps": "手動対応の手順",
           "approve": "承認は計画者以外の者が行うこと（第2章 1(7)①、6(1)④ウ）"},
    "en": {"title": "Change plan (dry run)", "plan": "Plan ID", "by": "Planned by", "at": "Created",
           "summary": "{hosts} host(s), {with_changes} with changes, {changes} change(s), {errors} in error",
           "host": "Host", "zone": "Zone", "system": "System", "managers": "Security managers",
           "failing": "Failing requirements", "fix": "Automated fix", "manual": "Needs a person", "error": "Error",
           "change": "Change", "none": "no change", "steps": "Manual steps",
           "approve": "Approval must come from someone other than the "
                                                             "planner (第2章 1(7)①, 6(1)④ウ)"},
}
# Where a manual step comes from (plan.manual_steps: the platform's words for this device, or the catalog's).
SOURCES = {"ja": {"platform": "この機器での手順", "catalog": "カタログの是正方法"},
           "en": {"platform": "on this device", "catalog": "the catalog's remediation"}}
_ANSI = {"red": "\033[31m", "green": "\033[32m", "cyan": "\033[36m", "bold": "\033[1m", "reset": "\033[0m"}


def _summary(plan: dict[str, Any], lang: str) -> str:
    s = plan["summary"]
    return LABELS[lang]["summary"].format(hosts=s["hosts"], with_changes=s["hosts_with_changes"],
                                          changes=s["changes"], errors=s["hosts_in_error"])


def _color_diff(diff: str, color: bool) -> str:
    diff = terminal_safe(diff, multiline=True)
    if not color:
        return diff
    out = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            out.append(_ANSI["bold"] + line + _ANSI["reset"])
        elif line.startswith("+"):
            out.append(_ANSI["green"] + line + _ANSI["reset"])
        elif line.startswith("-"):
            out.append(_ANSI["red"] + line + _ANSI["reset"])
        elif line.startswith("@@"):
            out.append(_ANSI["cyan"] + line + _ANSI["reset"])
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def render_terminal(plan: dict[str, Any], lang: str = "ja", color: bool = False) -> str:
    """The plan for a terminal; ANSI colors (ours only) when `color`."""
    t = LABELS[lang]
    s = terminal_safe

    def bold(text: str) -> str:
        return _ANSI["bold"] + text + _ANSI["reset"] if color else text

    lines = [bold(f"{t['title']}  {t['plan']} {s(plan['plan_id'])}"),
             f"{t['by']}: {s(plan['planned_by'])}  {t['at']}: {s(plan['created_at'])}", _summary(plan, lang), ""]
    for name, host in plan["hosts"].items():
        lines.append(bold(f"== {s(name)}  ({ZONES[lang][host['zone']]} / {s(host['system'])})"))
        for f in host["failing"]:
            how = t["fix"] if f["requirement"] in host["fix"] else t["manual"]
            lines.append(f"  - {s(f['requirement'])} {s(f['clause'])} {s(f['title'][lang])}  [{how}]")
        for step in host.get("manual_steps", []):
            lines.append(f"  {t['steps']} {s(step['requirement'])} ({SOURCES[lang][step['source']]}):")
            lines += [f"    {line}" for line in s(step["steps"][lang], multiline=True).splitlines()]
            lines.append(f"    ※ {s(step['note'][lang])}")
        if host["error"]:
            lines.append(f"  {t['error']}: {s(host['error'])}")
        if not host["changes"]:
            lines.append(f"  ({t['none']})")
        for change in host["changes"]:
            lines.append(f"  --- {s(change['requirement'])}: {s(change['task'])}  [{s(change['target'])}]")
            lines.append(_color_diff(change["diff"], color).rstrip("\n"))
        lines.append("")
    lines.append(t["approve"])
    return "\n".join(lines) + "\n"


def render_markdown(plan: dict[str, Any], lang: str = "ja") -> str:
    """The plan as Markdown for a change ticket: host data escaped, each diff in a fence it cannot close."""
    t = LABELS[lang]
    m = md_text
    out = [f"# {t['title']}", "", f"- {t['plan']}: {md_code(plan['plan_id'])}", f"- {t['by']}: {m(plan['planned_by'])}",
           f"- {t['at']}: {m(plan['created_at'])}", f"- {_summary(plan, lang)}", ""]
    for name, host in plan["hosts"].items():
        out += [f"## {m(name)}", "", f"- {t['zone']}: {ZONES[lang][host['zone']]}",
                f"- {t['system']}: {m(host['system'])}",
                f"- {t['managers']}: {m(', '.join(host.get('security_managers', [])))}", ""]
        if host["failing"]:
            out += [f"| {t['failing']} | 条項 / clause | {t['fix']} |", "|---|---|---|"]
            out += [f"| {m(f['requirement'])} {m(f['title'][lang])} | {m(f['clause'])} | "
                    f"{'✓' if f['requirement'] in host['fix'] else t['manual']} |" for f in host["failing"]]
            out.append("")
        for step in host.get("manual_steps", []):
            out += [f"### {t['steps']}: {m(step['requirement'])} ({SOURCES[lang][step['source']]})", "",
                    m(step["steps"][lang]), "", f"> {m(step['note'][lang])}", ""]
        if host["error"]:
            out += [f"**{t['error']}**: {m(host['error'])}", ""]
        for change in host["changes"]:
            out += [f"### {m(change['requirement'])}: {m(change['task'])}", "", md_code(change["target"]), "",
                    md_fence(change["diff"], "diff"), ""]
    out += [f"> {t['approve']}", ""]
    return "\n".join(out)


def render_html(plan: dict[str, Any], lang: str = "ja") -> str:
    """The plan as one self-contained HTML page (no script; a CSP forbids every source)."""
    t = LABELS[lang]

    def e(text: str) -> str:
        return html.escape(terminal_safe(text))

    def diff_html(diff: str) -> str:
        rows = []
        for line in terminal_safe(diff, multiline=True).splitlines():
            cls = "add" if line.startswith("+") and not line.startswith("+++") else (
                "del" if line.startswith("-") and not line.startswith("---") else "ctx")
            rows.append(f'<span class="{cls}">{e(line)}</span>')
        return "\n".join(rows)

    parts = [f"<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">",
             "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
             f"<title>{e(t['title'])} {e(plan['plan_id'])}</title><style>",
             "body{font-family:system-ui,'Hiragino Sans','Noto Sans CJK JP','Yu Gothic',sans-serif;margin:2em;}",
             "pre{background:#f6f8fa;padding:.8em;overflow-x:auto}.add{color:#116329;background:#dafbe1}",
             ".del{color:#82071e;background:#ffebe9}.err{color:#b00020;font-weight:bold}",
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}</style></head><body>",
             f"<h1>{e(t['title'])}</h1><p>{e(t['plan'])}: <code>{e(plan['plan_id'])}</code><br>",
             f"{e(t['by'])}: {e(plan['planned_by'])} / {e(t['at'])}: {e(plan['created_at'])}<br>",
             f"{e(_summary(plan, lang))}</p>"]
    for name, host in plan["hosts"].items():
        parts.append(f"<h2>{e(name)}</h2><p>{e(t['zone'])}: {e(ZONES[lang][host['zone']])} / "
                     f"{e(t['system'])}: {e(host['system'])} / {e(t['managers'])}: "
                     f"{e(', '.join(host.get('security_managers', [])))}</p>")
        if host["failing"]:
            parts.append(f"<table><tr><th>{e(t['failing'])}</th><th>clause</th><th>{e(t['fix'])}</th></tr>")
            parts += [f"<tr><td>{e(f['requirement'])} {e(f['title'][lang])}</td><td>{e(f['clause'])}</td>"
                      f"<td>{'✓' if f['requirement'] in host['fix'] else e(t['manual'])}</td></tr>"
                      for f in host["failing"]]
            parts.append("</table>")
        for step in host.get("manual_steps", []):
            parts.append(f"<h3>{e(t['steps'])}: {e(step['requirement'])} ({e(SOURCES[lang][step['source']])})</h3>"
                         f"<p class=\"steps\">{e(step['steps'][lang])}</p><p><em>{e(step['note'][lang])}</em></p>")
        if host["error"]:
            parts.append(f"<p class=\"err\">{e(t['error'])}: {e(host['error'])}</p>")
        for change in host["changes"]:
            parts.append(f"<h3>{e(change['requirement'])}: {e(change['task'])}</h3><p><code>{e(change['target'])}"
                         f"</code></p><pre>{diff_html(change['diff'])}</pre>")
    parts.append(f"<p><strong>{e(t['approve'])}</strong></p></body></html>")
    return "".join(parts)
