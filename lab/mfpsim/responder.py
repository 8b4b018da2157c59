"""snmpsim's command responder (`snmpsim.commands.responder.main`, the `snmpsim-command-responder` console script)
with pysnmp's MIB modules compiled once per process instead of twice per SNMP engine.

Every printer is its own SNMP engine (own engine ID and USM user), and pysnmp's MibBuilder compiles each MIB module
source on every engine's load (`read` compiles it, then `runpy.run_path` compiles it again): with 15 printers that
was most of a 19-21 s start. Caching the code objects by path makes the start a few seconds. Nothing else changes:
same arguments, same behaviour. Run: `python -m lab.mfpsim.responder <snmpsim-command-responder arguments>`.
"""

from __future__ import annotations

import sys

from hardening.platforms.mfp.snmp import cache_mib_compilation


def main() -> int:
    from snmpsim.commands.responder import main as responder_main

    cache_mib_compilation()
    sys.argv[0] = "snmpsim-command-responder"
    return int(responder_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
