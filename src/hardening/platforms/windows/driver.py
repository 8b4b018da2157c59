"""Windows servers and PCs over WinRM: fetch = one WinRM shell, one PowerShell batch of the whole command table
(platform.yaml `commands`); parse = the pure parsers of parse.py over the saved blocks, on the auditor's side.

Capture layout (DIR/<host>/, what `fetch` writes and `parse` reads):
  <id>.txt   the text of command <id>'s block (UTF-8; a hand-saved file may be UTF-16 with a BOM, as secedit
             writes its INF: it is decoded by its BOM)
  rc.json    {"rc": {id: exit code}, "errors": {id: why the block is not output (HARDENING-ERROR, cut)},
              "problems": [text the batch printed outside its blocks]}; optional (absent: every block rc 0, no
             error; the texts are still checked for error records)
A table command without its file is an error at the facts it gives (never a default).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from hardening.core.errors import SavedFactsError
from hardening.core.platform import CapturePlatform, Target
from hardening.core.secrets import REDACTOR, mask_config_secrets
from hardening.platforms.windows.change import WindowsRemediator
from hardening.platforms.windows.data import platform_data
from hardening.platforms.windows.parse import parse_outputs
from hardening.platforms.windows.pwsh import CommandOutput, OutputFormatError, read_iso_datetime
from hardening.platforms.windows.session import WinRMSession

RC_FILE = "rc.json"
PROBE = {"name": "hardening.platforms.windows", "version": "1"}


def command_table() -> list[tuple[str, str]]:
    """(id, command) of platform.yaml's `commands`, in order: the audit batch."""
    return [(str(entry["id"]), str(entry["command"])) for entry in platform_data()["commands"]]


def capture_name(command_id: str) -> str:
    """The file a block is saved in (the one place the name is derived: fetch writes it, parse reads it)."""
    return f"{command_id}.txt"


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_capture(data: bytes) -> str:
    """A saved block's text: UTF-16 by its BOM (secedit's own INF), UTF-8 otherwise (BOM dropped), newlines
    normalised. UnicodeDecodeError when it is neither."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _newlines(data.decode("utf-16"))
    return _newlines(data.decode("utf-8-sig"))


def rc_document(outputs: Mapping[str, CommandOutput], problems: list[str]) -> dict[str, Any]:
    return {"rc": {command_id: output.rc for command_id, output in outputs.items()},
            "errors": {command_id: output.error for command_id, output in outputs.items() if output.error},
            "problems": list(problems)}


class WindowsPlatform(WindowsRemediator, CapturePlatform):
    """Windows Server and Windows client hosts, read over one WinRM shell (see the module docstring for the capture
    layout and session.py for the session)."""

    name: ClassVar[str] = "windows"
    device_classes: ClassVar[frozenset[str]] = frozenset({"windows_server", "windows_pc"})
    connections: ClassVar[tuple[str, ...]] = ("winrm",)

    def session_outputs(self, target: Target) -> tuple[dict[str, CommandOutput], list[str]]:
        """One WinRM session, one batch of the whole command table: ({id: block}, text outside the blocks)."""
        with WinRMSession(target) as session:
            outputs = session.run_batch(command_table())
            return outputs, list(session.problems)

    def fetch(self, target: Target, into: Path) -> None:
        """The batch's blocks saved as into/<id>.txt and into/rc.json (mode 0600)."""
        outputs, problems = self.session_outputs(target)
        for command_id, output in outputs.items():
            _write(into / capture_name(command_id), output.text)
        _write(into / RC_FILE, json.dumps(rc_document(outputs, problems), indent=2, sort_keys=True) + "\n")

    def collect(self, target: Target) -> dict[str, Any]:
        """fetch + parse without the round trip through files: the blocks (newlines as a capture file gives them)
        go to the same `document` as a saved capture's; their scrubbed text goes to target.captures."""
        fetched, problems = self.session_outputs(target)
        outputs = {command_id: CommandOutput(_newlines(output.text), output.rc, output.error)
                   for command_id, output in fetched.items()}
        taken = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        document = self.document(outputs, taken)
        for command_id, output in outputs.items():
            target.captures[capture_name(command_id)] = REDACTOR.scrub(mask_config_secrets(output.text))
        target.captures[RC_FILE] = REDACTOR.scrub(json.dumps(rc_document(outputs, problems), indent=2,
                                                             sort_keys=True))
        return document

    def parse(self, raw: Path) -> dict[str, Any]:
        """OfflineParser: the unstamped facts of the capture directory `raw` (DIR/<host>/). SavedFactsError when it
        holds no block of the command table, or a file cannot be read."""
        raw = Path(raw)
        meta = self._rc(raw)
        rcs, errors = meta.get("rc", {}), meta.get("errors", {})
        outputs: dict[str, CommandOutput] = {}
        for command_id, _ in command_table():
            path = raw / capture_name(command_id)
            if not path.is_file():
                continue
            try:
                text = decode_capture(path.read_bytes())
            except (OSError, UnicodeDecodeError) as exc:
                raise SavedFactsError(raw.name, f"{path}: unreadable ({type(exc).__name__})") from None
            rc = rcs.get(command_id, 0)
            error = errors.get(command_id)
            if not isinstance(rc, int) or not (error is None or isinstance(error, str)):
                raise SavedFactsError(raw.name, f"{raw / RC_FILE}: at /rc/{command_id} or /errors/{command_id}: "
                                                "not an exit code / a reason")
            outputs[command_id] = CommandOutput(text, rc, error)
        if not outputs:
            raise SavedFactsError(raw.name, f"{raw}: no Windows capture (layout: <DIR>/<host>/<command id>.txt, "
                                            f"e.g. {capture_name('secpol')}, and {RC_FILE})")
        taken = self._taken(raw, outputs)
        return self.document(outputs, taken)

    def document(self, outputs: Mapping[str, CommandOutput], taken: str) -> dict[str, Any]:
        """The unstamped facts document of one capture's blocks."""
        result = parse_outputs(outputs)
        return {"format_version": "1", "collected_at": taken, "probe": dict(PROBE),
                "facts": result.facts, "errors": result.errors, "manual": result.manual,
                "evidence": result.evidence}

    @staticmethod
    def _rc(raw: Path) -> dict[str, Any]:
        path = raw / RC_FILE
        if not path.is_file():
            return {}
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SavedFactsError(raw.name, f"{path}: unreadable ({type(exc).__name__})") from None
        if not isinstance(meta, dict) or not all(isinstance(meta.get(k, {}), dict) for k in ("rc", "errors")):
            raise SavedFactsError(raw.name, f"{path}: at /: not {{\"rc\": {{…}}, \"errors\": {{…}}}}")
        return meta

    @staticmethod
    def _taken(raw: Path, outputs: Mapping[str, CommandOutput]) -> str:
        """When the capture was taken: the host's own clock (`now`, Get-Date -Format o) in UTC, else the newest
        file's modification time."""
        now = outputs.get("now")
        if now is not None and not now.error:
            try:
                return read_iso_datetime(now.text.strip()).astimezone(dt.UTC).isoformat(timespec="seconds")
            except OutputFormatError:
                pass
        newest = max(path.stat().st_mtime for path in raw.iterdir() if path.is_file())
        return dt.datetime.fromtimestamp(newest, tz=dt.UTC).isoformat(timespec="seconds")


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
