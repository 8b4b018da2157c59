"""net-snmp's snmpd configuration: the SNMPv1/v2c lines (communities, traps), never their secrets."""

from __future__ import annotations

from .base import Ctx
from .includes import INCLUDER_DIR, IncludeRule, IncludeWalk

# net-snmp directives that configure SNMPv1/v2c access (a community) or send v1/v2c traps/informs.
SNMP_COMMUNITY_DIRECTIVES = ("rocommunity", "rwcommunity", "rocommunity6", "rwcommunity6", "com2sec", "com2sec6",
                             "com2secunix")
SNMP_TRAP_DIRECTIVES = ("trapsink", "trap2sink", "informsink")
# net-snmp's default search path (SNMPCONFPATH) for snmpd, then its persistent directory.
SNMPD_CONF_DIRS = ["/etc/snmp", "/usr/share/snmp", "/usr/lib/x86_64-linux-gnu/snmp", "/usr/lib64/snmp",
                   "/usr/lib/snmp", "/var/lib/snmp", "/var/lib/net-snmp"]


def parse_snmpd_conf(text: str, path: str) -> tuple[list[dict[str, str]], list[str], list[str]]:
    """snmpd.conf text -> (v1/v2c lines, includeFile paths, includeDir dirs).

    Each v1/v2c line is {"kind": directive, "where": "path:line"}: never the community itself.
    net-snmp matches directive names case-insensitively; "#" starts a comment line; ``[snmp]``
    style section headers switch the application and are skipped.
    """
    found = []
    files = []
    dirs = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#") or s.startswith("["):
            continue
        f = s.split()
        d = f[0].lower()
        if d in SNMP_COMMUNITY_DIRECTIVES or d in SNMP_TRAP_DIRECTIVES:
            if len(f) > 1:
                found.append({"kind": d, "where": "%s:%d" % (path, n)})
        elif d == "includefile" and len(f) > 1:
            files.append(f[1])
        elif d == "includedir" and len(f) > 1:
            dirs.append(f[1])
    return found, files, dirs


# net-snmp: includeFile names one file (relative: to the including file's directory), includeDir reads
# the *.conf files of a directory.
SNMPD_INCLUDE_FILE = IncludeRule("literal", relative_to=INCLUDER_DIR)
SNMPD_INCLUDE_DIR = IncludeRule("dir", names="*.conf")


def snmpd_v1v2c(ctx: Ctx) -> tuple[list[dict[str, str]], list[str]]:
    """(v1/v2c lines, files read) of the snmpd configuration, following includeFile/includeDir.

    Files: ``-c FILE`` of a running snmpd (``-C``: only those), else snmpd.conf and snmpd.local.conf
    in each directory of net-snmp's search path.  includeDir reads the ``*.conf`` files in it.
    """
    explicit = []  # type: list[str]
    only_explicit = False
    for p in ctx.processes() or []:
        if p.comm != "snmpd":
            continue
        args = p.cmdline.split()
        for i, a in enumerate(args):
            if a == "-C":
                only_explicit = True
            elif a == "-c" and i + 1 < len(args):
                explicit.extend(args[i + 1].split(","))
    roots = list(explicit)
    if not only_explicit:
        for d in SNMPD_CONF_DIRS:
            roots += [d + "/snmpd.conf", d + "/snmpd.local.conf"]
    found = []  # type: list[dict[str, str]]

    walk = IncludeWalk(ctx.read, ctx.glob, listdir=ctx.listdir, once=True)

    def handle(path: str, text: str) -> None:
        lines, inc_files, inc_dirs = parse_snmpd_conf(text, path)
        found.extend(lines)
        for f in inc_files:
            walk.include(SNMPD_INCLUDE_FILE, f, path, handle)
        for d in inc_dirs:
            walk.include(SNMPD_INCLUDE_DIR, d, path, handle)

    for r in roots:
        walk.visit(r, handle)
    return found, walk.files
