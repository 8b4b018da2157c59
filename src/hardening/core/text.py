"""Host-derived text made inert for the reader: terminals and Markdown.

Hosts, plan files and inventories are data an attacker may write. A terminal obeys escape sequences
(ANSI CSI, OSC titles and hyperlinks, 8-bit C1 controls), BEL, backspace and carriage returns; a
bidi-aware viewer reorders text around override characters (Trojan Source). `terminal_safe` shows every
such character visibly (``\\x1b``, ``\\u202e``) instead of dropping it, so the reviewer sees that something
was there. Markdown gets code fences and code spans longer than any backtick run in the content, and
plain Markdown text is escaped, so host data cannot close a code block and render live HTML.
"""

from __future__ import annotations

import re

# C0 controls except TAB and LF, DEL, C1 controls (U+0080-U+009F), the bidi embeddings, overrides and
# isolates, the implicit direction marks, and the Unicode line/paragraph separators.
_HOSTILE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
_SINGLE_LINE = re.compile(f"[{_HOSTILE}\n]")
_MULTI_LINE = re.compile(f"[{_HOSTILE}]")
_BACKTICKS = re.compile("`+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


_NAMED = {"\n": "\\n", "\r": "\\r"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal_safe(text: str, *, multiline: bool = False) -> str:
    """`text` with every control and bidi character shown as an escape (``\\x1b``, ``\\u202e``).

    One field is one line: a newline is shown as ``\\n`` too, unless `multiline` (diffs, rendered
    documents) keeps the line structure. TAB stays as it is.
    """
    return (_MULTI_LINE if multiline else _SINGLE_LINE).sub(_visible, text)


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def md_fence(content: str, info: str = "") -> str:
    """A fenced code block around `content` that no line of it can close: the fence is a run of
    backticks longer than any run inside (at least three). Controls are shown, lines kept."""
    body = terminal_safe(content.rstrip("\n"), multiline=True)
    fence = "`" * max(3, _longest_backtick_run(body) + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def md_code(text: str) -> str:
    """An inline code span holding `text` verbatim (one line): delimited by more backticks than any
    run inside, padded with a space when the text starts or ends with a backtick (CommonMark 6.1)."""
    body = terminal_safe(text) or " "
    ticks = "`" * (_longest_backtick_run(body) + 1)
    if body.startswith("`") or body.endswith("`"):
        body = f" {body} "
    return f"{ticks}{body}{ticks}"


def md_text(text: str) -> str:
    """Plain Markdown text showing `text` literally (one line): HTML and Markdown syntax escaped."""
    safe = terminal_safe(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", safe)


def json_terminal_safe(text: str) -> str:
    """JSON text (from json.dumps with ensure_ascii=False) safe for a terminal and still the same JSON:
    json.dumps already escapes C0 controls, so what is left (DEL, C1, bidi) sits inside strings and
    becomes a \\uXXXX escape."""
    return _MULTI_LINE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
