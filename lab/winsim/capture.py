"""Write what the product's audit batch would capture from a simulated host, without the network.

    python -m lab.winsim.capture lab/winsim/hosts/pc-win-02.yaml OUTDIR [--codepage 65001]

OUTDIR gets `<id>.txt` (each block's text, as the session cuts it between the markers) and `rc.json` ({id: rc}
and `stderr`: the process's stderr, where a cmdlet error earlier in a pipeline goes). A start for a conformance
case (tests/platforms/windows/cases/<case>/): the formats are the simulator's (see lab/winsim/README.md), not a
real machine's.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml
from lab.winsim.host import PLATFORM_YAML, Batch, HostState, load_host_file, load_table, render_stderr, render_stdout


def block(block_id: str, command: str) -> str:
    return (f"Write-Output '<<<hardening:begin:{block_id}>>>'\n$global:LASTEXITCODE = 0\n"
            f"try {{ {command} 2>&1 | Out-String -Width 4096 }} "
            "catch { 'HARDENING-ERROR: ' + $_.Exception.Message }\n"
            f"Write-Output ('<<<hardening:end:{block_id}:' + $LASTEXITCODE + '>>>')\n")


def capture(host_file: Path, out: Path, codepage: str = "65001") -> dict[str, int]:
    rows = yaml.safe_load(PLATFORM_YAML.read_text(encoding="utf-8"))["commands"]
    batch = Batch(HostState(load_host_file(host_file)), load_table(), None)
    batch.run("".join(block(str(r["id"]), str(r["command"])) for r in rows))
    enc = {"65001": "utf-8", "932": "cp932"}.get(codepage, "cp437")
    stdout = render_stdout(batch).encode(enc, "replace").decode(enc)
    out.mkdir(parents=True, exist_ok=True)
    rcs: dict[str, int] = {}
    for m in re.finditer(r"<<<hardening:begin:(\w+)>>>\r\n(.*?)<<<hardening:end:\1:(-?\d+)>>>", stdout, re.S):
        (out / f"{m.group(1)}.txt").write_bytes(m.group(2).encode("utf-8"))
        rcs[m.group(1)] = int(m.group(3))
    (out / "rc.json").write_text(json.dumps({**rcs, "stderr": render_stderr(batch)}, ensure_ascii=False, indent=1),
                                 encoding="utf-8")
    return rcs


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("host_file", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--codepage", default="65001")
    args = ap.parse_args(argv)
    rcs = capture(args.host_file, args.out, args.codepage)
    print(f"{len(rcs)} block(s) written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
