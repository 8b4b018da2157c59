"""Hand-written raw outputs of the Windows command table, in the formats real hosts print, for unit tests and for
whole-host conformance cases. Layout: <area>/<case>/<command id>.txt (the block text of that command, as the
capture keeps it) and, where a block was not plain output, <area>/<case>/rc.json
`{"rc": {id: n}, "errors": {id: reason}}`. See README.md for what each text is based on."""

from __future__ import annotations

import json
from pathlib import Path

from hardening.platforms.windows.pwsh import CommandOutput

ROOT = Path(__file__).resolve().parent


def load(area: str, case: str) -> dict[str, CommandOutput]:
    """{command id: CommandOutput} of a sample case (rc 0 and no error unless rc.json says otherwise)."""
    folder = ROOT / area / case
    meta = json.loads((folder / "rc.json").read_text(encoding="utf-8")) if (folder / "rc.json").is_file() else {}
    rcs, errors = meta.get("rc", {}), meta.get("errors", {})
    return {path.stem: CommandOutput(path.read_text(encoding="utf-8"), int(rcs.get(path.stem, 0)),
                                     errors.get(path.stem))
            for path in sorted(folder.glob("*.txt"))}
