"""A simulated Windows host: its state (data files) and the one PowerShell batch it runs per command.

The state is a YAML file under lab/winsim/hosts/ (`base:` names a file it is layered on; mappings merge, lists and
scalars replace, `null` deletes); at run time it lives as JSON in the host's state dir (`state.json`, rewritten
after every setter) so a change survives reconnects until `labctl up` re-seeds it (the YAML changed) or `labctl
reset` wipes it.

The command line the simulator runs is exactly the bootstrap of the shared design (see lab/winsim/README.md); the
script arrives on stdin and is split into the blocks of the framing. Each block's COMMAND must be the product's
command of that id (src/hardening/platforms/windows/platform.yaml, whitespace-normalised) or one of the setter
forms; anything else is answered as PowerShell answers an unknown command inside `try { } catch { }`.

Real PowerShell 5.1 semantics kept (they matter to a parser):
- `COMMAND 2>&1 | Out-String -Width 4096`: the redirection binds to the LAST command of COMMAND's pipeline only.
  A native command's stderr (reg.exe, w32tm.exe ...) is merged into the block as a NativeCommandError record;
  a cmdlet's non-terminating error earlier in the pipeline (Get-CimInstance on a missing namespace) goes to the
  process's stderr, and the block itself stays empty.
- `;`-separated statements in COMMAND: only the last goes through Out-String; earlier output is written directly.
- a command PowerShell cannot find throws CommandNotFoundException, which the block's catch turns into
  `HARDENING-ERROR: The term 'X' is not recognized ...`.
- a script that does not parse (unbalanced quotes/braces) runs nothing: Invoke-Expression's ParseException on
  stderr.
- stdout/stdin are bytes in the shell's code page (WINRS_CODEPAGE; pywinrm's default 437): text the code page cannot
  carry (Japanese) becomes "?" unless the client opened the shell with 65001.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from lab.winsim import psjson, renderers

REPO = Path(__file__).resolve().parents[2]
PLATFORM_YAML = REPO / "src" / "hardening" / "platforms" / "windows" / "platform.yaml"
HOSTS_DIR = Path(__file__).resolve().parent / "hosts"

BOOTSTRAP = "$ErrorActionPreference = 'Continue'; $s = [Console]::In.ReadToEnd(); Invoke-Expression $s"
BOOTSTRAP_B64 = base64.b64encode(BOOTSTRAP.encode("utf-16-le")).decode()
POWERSHELL = "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand"

BLOCK_RE = re.compile(
    r"Write-Output '<<<hardening:begin:(?P<id>[a-z0-9_]+)>>>'\r?\n"
    r"\$global:LASTEXITCODE = 0\r?\n"
    r"try \{ (?P<cmd>[^\r\n]*) 2>&1 \| Out-String -Width 4096 \} "
    r"catch \{ 'HARDENING-ERROR: ' \+ \$_\.Exception\.Message \}\r?\n"
    r"Write-Output \('<<<hardening:end:(?P=id):' \+ \$LASTEXITCODE \+ '>>>'\)(?:\r?\n|$)")



def normalise(command: str) -> str:
    """Whitespace-normalised command (runs of blanks -> one space, outside nothing else)."""
    return " ".join(command.split())


def load_table(path: Path = PLATFORM_YAML) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(row["id"]): normalise(str(row["command"])) for row in data.get("commands") or []}


# --------------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------------
def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = _merge(base.get(k), v)
        return out
    return copy.deepcopy(over)


def load_host_file(path: Path) -> dict[str, Any]:
    """A host's YAML with its `base:` chain merged under it."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)      # the C loader when PyYAML has it (speed)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}  # noqa: S506 (a safe loader)
    base = data.pop("base", None)
    if base:
        return _merge(load_host_file(path.parent / str(base)), data)  # type: ignore[no-any-return]
    return data


def _ps_value(v: Any, now: dt.datetime) -> Any:
    """YAML value -> psjson value: {sid: S-...}, {date: ISO}, {days_ago: N}; lists/dicts recursively."""
    if isinstance(v, dict):
        if set(v) == {"sid"}:
            return psjson.sid(str(v["sid"]))
        if set(v) == {"date"}:
            return psjson.PSDate(dt.datetime.fromisoformat(str(v["date"]).replace("Z", "+00:00")))
        if set(v) == {"days_ago"}:
            return psjson.PSDate(now - dt.timedelta(days=float(v["days_ago"])))
        return {k: _ps_value(x, now) for k, x in v.items()}
    if isinstance(v, list):
        return [_ps_value(x, now) for x in v]
    return v


@dataclass
class HostState:
    """The mutable state of one simulated host (persisted as JSON after every change)."""
    data: dict[str, Any]
    path: Path | None = None
    scratch: dict[str, str] = field(default_factory=dict)   # a batch's $variables and temp files

    @classmethod
    def seed(cls, host_file: Path, state_dir: Path) -> HostState:
        """Load state.json of the state dir; (re)seed it from the host file when missing or the file changed."""
        state_dir.mkdir(parents=True, exist_ok=True)
        state = state_dir / "state.json"
        marker = state_dir / "seed.json"
        seed = load_host_file(host_file)
        digest = json.dumps(seed, sort_keys=True, default=str)
        if not state.exists() or not marker.exists() or marker.read_text(encoding="utf-8") != digest:
            marker.write_text(digest, encoding="utf-8")
            host = cls(seed, state)
            host.save()
            return host
        return cls(json.loads(state.read_text(encoding="utf-8")), state)

    def save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        os.replace(tmp, self.path)

    @property
    def locale(self) -> str:
        return str(self.data.get("locale", "en-US"))

    @property
    def computer_name(self) -> str:
        return str(self.data.get("computer_name", "WIN-HOST"))

    def tz(self) -> dt.timezone:
        sign, hh, mm = re.match(r"([+-])(\d\d):(\d\d)", str(self.data.get("utc_offset", "+09:00"))).groups()  # type: ignore[union-attr]
        delta = dt.timedelta(hours=int(hh), minutes=int(mm))
        return dt.timezone(delta if sign == "+" else -delta)

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tz())

    @property
    def registry(self) -> dict[str, dict[str, Any]]:
        return self.data.setdefault("registry", {})  # type: ignore[no-any-return]

    def objects(self, source: str) -> list[dict[str, Any]] | None:
        """Objects a source emits (cmdlet with its fixed arguments, or cim:<namespace>:<class>); None: unknown."""
        objs = self.data.get("objects") or {}
        for k, v in objs.items():
            if k.lower() == source.lower():
                if isinstance(v, dict):      # keyed collection: {Name: {props}}
                    objs = [{"Name": name, **(props or {})} for name, props in v.items()]
                    if source.lower() == "get-service":     # Get-Service lists services sorted by name
                        objs.sort(key=lambda o: str(o["Name"]).lower())
                    return objs
                return list(v or [])
        return None

    def object_map(self, source: str) -> dict[str, Any]:
        objs = self.data.setdefault("objects", {})
        for k in objs:
            if k.lower() == source.lower():
                return objs[k]  # type: ignore[no-any-return]
        objs[source] = {}
        return objs[source]  # type: ignore[no-any-return]

    def cim_namespaces(self) -> set[str]:
        names = {k.split(":")[1].lower() for k in (self.data.get("objects") or {}) if k.startswith("cim:")}
        return names | {str(n).lower() for n in self.data.get("cim_namespaces") or []}


# --------------------------------------------------------------------------------------------------
# PowerShell: one batch
# --------------------------------------------------------------------------------------------------
@dataclass
class Result:
    """What one statement wrote: to the output (lines), the error stream (records), and $LASTEXITCODE."""
    out: list[str] = field(default_factory=list)
    native_err: list[str] = field(default_factory=list)   # a native command's stderr lines
    cmdlet_err: list[tuple[str, str, str, str]] = field(default_factory=list)  # (command, message, category, id)
    rc: int | None = None
    terminating: str | None = None    # exception message (caught by the block's catch)
    drop: bool = False                # the fault "drop the connection" fired


class Faults:
    """<state_dir>/faults.json, read at every batch: {"fail_setter": N, "fail_message": "...",
    "drop_after_setters": N, "garbage": "blocks" | "stdout" | "soap"} (Nth setter of a batch, 1-based; drop: the
    connection closes abruptly after the Nth setter has been applied; garbage: the batch's output is mangled, see
    `Batch.garble` and server.py). A fault fires once: it is removed from the file when it fires, so the restore
    that follows it (a fresh batch) runs as on a host whose trouble has passed."""

    def __init__(self, state_dir: Path | None) -> None:
        self.data: dict[str, Any] = {}
        self.file = state_dir / "faults.json" if state_dir else None
        if self.file and self.file.exists():
            try:
                self.data = json.loads(self.file.read_text(encoding="utf-8")) or {}
            except ValueError:
                self.data = {}
        self.setters = 0

    def fired(self, key: str) -> None:
        self.data.pop(key, None)
        if self.file and self.file.exists():
            try:
                saved = json.loads(self.file.read_text(encoding="utf-8")) or {}
            except ValueError:
                saved = {}
            saved.pop(key, None)
            if key == "fail_setter":
                saved.pop("fail_message", None)
            self.file.write_text(json.dumps(saved), encoding="utf-8")


def _split_statements(command: str) -> list[str]:
    """Split at top-level `;` (not inside quotes, braces, parentheses)."""
    parts, depth, quote, cur = [], 0, "", []
    i = 0
    while i < len(command):
        ch = command[i]
        if quote:
            if ch == "`" and quote == '"' and i + 1 < len(command):
                cur.append(command[i:i + 2])
                i += 2
                continue
            if ch == quote:
                if i + 1 < len(command) and command[i + 1] == quote:
                    cur.append(ch * 2)
                    i += 2
                    continue
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch == ";" and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def parse_error(script: str) -> str | None:
    """A ParseException message when the script would not parse (unbalanced quotes or brackets), else None."""
    for lineno, line in enumerate(script.splitlines(), 1):
        quote, depth = "", 0
        i = 0
        while i < len(line):
            ch = line[i]
            if quote:
                if ch == "`" and quote == '"':
                    i += 2
                    continue
                if ch == quote:
                    if i + 1 < len(line) and line[i + 1] == quote:
                        i += 2
                        continue
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif ch in "({":
                depth += 1
            elif ch in ")}":
                depth -= 1
                if depth < 0:
                    return (f"At line:{lineno} char:{i + 1}\r\n+ {line[:70]}\r\n"
                            f"Unexpected token '{ch}' in expression or statement.")
            i += 1
        if quote:
            return (f"At line:{lineno} char:{len(line) + 1}\r\n+ {line[:70]}\r\n"
                    f"The string is missing the terminator: {quote}.")
        if depth > 0:
            return (f"At line:{lineno} char:{len(line) + 1}\r\n+ {line[:70]}\r\n"
                    "Missing closing '}' in statement block or type definition.")
    return None


def ps_double_quoted(text: str) -> str:
    """The value of a PowerShell double-quoted string body: `r `n `t `" `$ `` and "" escapes; an unescaped
    $name expands (undefined variables are empty)."""
    out, i = [], 0
    escapes = {"r": "\r", "n": "\n", "t": "\t", "0": "\0", "`": "`", '"': '"', "$": "$", "'": "'"}
    while i < len(text):
        ch = text[i]
        if ch == "`" and i + 1 < len(text):
            out.append(escapes.get(text[i + 1], text[i + 1]))
            i += 2
        elif ch == '"' and text[i:i + 2] == '""':
            out.append('"')
            i += 2
        elif ch == "$" and i + 1 < len(text) and (text[i + 1].isalnum() or text[i + 1] in "_{:"):
            m = re.match(r"\$(\{[^}]*\}|[A-Za-z0-9_:]+)", text[i:])
            i += len(m.group(0)) if m else 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _error_record(message: str, line: str, lineno: int, column: int, extent: str, category: str,
                  fqid: str, command: str | None, locale: str = "en-US") -> list[str]:
    """A 5.1 error record as Out-String/the host renders it (ErrorView NormalView)."""
    head = f"{command} : {message}" if command else message
    shown = line if len(line) <= 72 else line[:69] + " ..."
    under = " " * (column - 1) + "~" * max(1, min(len(extent), len(shown) - (column - 1)))
    return [head, renderers.msg(locale, "at_line", lineno, column), f"+ {shown}", f"+ {under}",
            f"    + CategoryInfo          : {category}", f"    + FullyQualifiedErrorId : {fqid}", " "]


def _abbreviate(text: str) -> str:
    return text if len(text) <= 33 else text[:15] + "..." + text[-15:]


class Batch:
    """Runs one script for one host; produces stdout/stderr text and whether to drop the connection."""

    def __init__(self, host: HostState, table: dict[str, str], state_dir: Path | None,
                 log: Any = None) -> None:
        self.host = host
        self.table = table
        self.faults = Faults(state_dir)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.dropped = False
        self.last_rc = 0                  # $LASTEXITCODE between statements outside the blocks
        self.log = log or (lambda msg: None)

    def run(self, script: str) -> None:
        self.host.scratch.clear()
        err = parse_error(script)
        if err:
            self.stderr += ["Invoke-Expression : " + err.split("\r\n")[-1], *err.split("\r\n")[:-1],
                            "    + CategoryInfo          : ParserError: (:) [Invoke-Expression], ParseException",
                            "    + FullyQualifiedErrorId : TerminatorExpectedAtEndOfString,"
                            "Microsoft.PowerShell.Commands.InvokeExpressionCommand", " "]
            return
        pos = 0
        lines_before = 0
        for m in BLOCK_RE.finditer(script):
            self._loose(script[pos:m.start()], lines_before)
            lines_before = script[:m.start()].count("\n")
            self._block(m.group("id"), m.group("cmd"), lineno=lines_before + 3)
            pos = m.end()
            if self.dropped:
                return
        self._loose(script[pos:], script[:pos].count("\n"))

    def _loose(self, text: str, first_line: int) -> None:
        """Statements outside the framing: each is run as a statement; unknown ones error on stderr."""
        for k, line in enumerate(text.splitlines()):
            stmt = line.strip()
            if not stmt:
                continue
            lit = re.fullmatch(r"Write-Output '((?:[^']|'')*)'", stmt)
            if lit:                                         # a marker outside a well-formed block
                self.stdout.append(lit.group(1).replace("''", "'"))
                continue
            end = re.fullmatch(r"Write-Output \('((?:[^']|'')*)' \+ \$LASTEXITCODE \+ '((?:[^']|'')*)'\)", stmt)
            if end:
                self.stdout.append(f"{end.group(1)}{self.last_rc}{end.group(2)}")
                continue
            if re.fullmatch(r"\$global:LASTEXITCODE = (\d+)", stmt):
                self.last_rc = int(stmt.rsplit(" ", 1)[1])
                continue
            term = stmt.split()[0]
            self.stderr += _error_record(renderers.msg(self.host.locale, "not_recognized", term), line,
                                         first_line + k + 1, 1, term,
                                         f"ObjectNotFound: ({term}:String) [], CommandNotFoundException",
                                         "CommandNotFoundException", term, self.host.locale)

    def _block(self, block_id: str, command: str, lineno: int) -> None:
        self.stdout.append(f"<<<hardening:begin:{block_id}>>>")
        line = (f"try {{ {command} 2>&1 | Out-String -Width 4096 }} "
                "catch { 'HARDENING-ERROR: ' + $_.Exception.Message }")
        rc = 0
        norm = normalise(command)
        is_query = self.table.get(block_id) == norm
        statements = _split_statements(norm if is_query else command)
        column = 7
        for k, stmt in enumerate(statements):
            last = k == len(statements) - 1
            res = self._statement(stmt, is_query=is_query, block_id=block_id, whole=norm)
            if res.drop:
                self.dropped = True
                return
            if res.rc is not None:
                rc = res.rc
            if res.terminating is not None:
                self.stdout.append("HARDENING-ERROR: " + res.terminating)
                break
            out = list(res.out)
            for cmd_name, message, category, fqid in res.cmdlet_err:
                record = _error_record(message, line, lineno, column, stmt, category, fqid, cmd_name,
                                       self.host.locale)
                if last and len(statements) == 1 and cmd_name == stmt.split()[0] and "|" not in stmt:
                    out += record          # the redirected (last) command's own error: in the block
                else:
                    self.stderr += record
            if res.native_err:
                first = res.native_err[0]
                exe = stmt.split()[0]
                if last:
                    out += _error_record(first, line, lineno, column, stmt,
                                         f"NotSpecified: ({_abbreviate(first)}:String) [], RemoteException",
                                         "NativeCommandError", exe, self.host.locale)[:-1] + res.native_err[1:] + [" "]
                else:
                    self.stderr += res.native_err
            if last:
                text = "\r\n".join(out) + "\r\n" if out else ""
                self.stdout.append(text)       # Out-String's one string (the host adds a newline)
            else:
                self.stdout += out             # written directly, line by line
            column += len(stmt) + 2
        self.stdout.append(f"<<<hardening:end:{block_id}:{rc}>>>")

    # ---- one statement ------------------------------------------------------------------------------
    def _statement(self, stmt: str, *, is_query: bool, block_id: str, whole: str) -> Result:
        from lab.winsim import commands

        if is_query:
            return commands.query(self.host, stmt, whole)
        aux = commands.find_aux(stmt)
        if aux is not None:
            return aux(self.host, stmt)
        handler = commands.find_setter(stmt)
        if handler is not None:
            self.faults.setters += 1
            n = self.faults.setters
            if self.faults.data.get("fail_setter") == n:
                msg = str(self.faults.data.get("fail_message") or "Access is denied.")
                self.log(f"fault: setter {n} fails ({block_id})")
                self.faults.fired("fail_setter")
                return commands.failed_setter(stmt, msg)
            res = handler(self.host, stmt)
            self.host.save()
            if self.faults.data.get("drop_after_setters") == n:
                self.log(f"fault: connection dropped after setter {n} ({block_id})")
                self.faults.fired("drop_after_setters")
                res.drop = True
            return res
        term = stmt.split(maxsplit=1)[0] if stmt.split() else stmt
        if term.startswith("$") and "=" in stmt:     # an assignment of a query this simulator does not know
            term = stmt.split("=", 1)[1].split(maxsplit=1)[0]
        return Result(terminating=renderers.msg(self.host.locale, "not_recognized", term))


# What a mangled stream looks like: a terminal's control sequences, a UTF-16 byte order mark read as text, a CLIXML
# header (what powershell.exe writes for a progress record), binary noise. No marker, no JSON, no `reg query` layout.
GARBAGE = ["\x1b[?25l\x1b[2J\xff\xfe#< CLIXML", "\x00\x01\x7f\u00ad\u00ff@@@ \ufffd\ufffd PK\x03\x04 \x1b[0m",
           "<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><Obj S=\"progress\" "
           "RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.PSCustomObject</T>", "]]]}}}{{{[[[ 0x"]


def garble(batch: Batch) -> str | None:
    """The `garbage` fault (fires once): "blocks" keeps the framing markers and replaces the text of every block
    with noise (a command whose output is not its documented format); "stdout" replaces the whole stdout with noise
    (a corrupted stream: no marker at all); "soap" is the server's (the Receive answer is not WS-Management).
    Returns the mode that fired, or None."""
    mode = batch.faults.data.get("garbage")
    if not mode:
        return None
    batch.faults.fired("garbage")
    batch.log(f"fault: garbage ({mode})")
    if mode == "blocks":
        out: list[str] = []
        inside = False
        for part in batch.stdout:
            if part.startswith("<<<hardening:begin:"):
                out += [part, *GARBAGE]
                inside = True
            elif part.startswith("<<<hardening:end:"):
                out.append(part)
                inside = False
            elif not inside:
                out.append(part)
        batch.stdout = out
    elif mode == "stdout":
        batch.stdout = list(GARBAGE)
    return str(mode)


def render_stdout(batch: Batch) -> str:
    """powershell.exe's stdout: every object the host writes is followed by a newline (CRLF)."""
    return "".join(part + "\r\n" for part in batch.stdout)


def render_stderr(batch: Batch) -> str:
    return "".join(line + "\r\n" for line in batch.stderr)
