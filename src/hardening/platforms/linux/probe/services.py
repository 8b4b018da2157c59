"""Section `services`: prohibited services as installed packages, running processes and inetd
entries.
"""

from __future__ import annotations

import fnmatch
import os
import re
from typing import cast

from .base import Ctx, strip_comment_lines

# canonical service name -> package names (fnmatch patterns; dpkg and rpm)
PROHIBITED_PACKAGES = [
    ("telnetd", ["telnetd", "inetutils-telnetd", "telnetd-ssl", "telnet-server"]),
    ("rshd", ["rsh-server", "rsh-redone-server"]),
    ("rlogind", ["rlogind"]),
    ("rexecd", ["rexecd"]),
    ("ftpd", ["vsftpd", "proftpd", "proftpd-*", "pure-ftpd", "pure-ftpd-*", "inetutils-ftpd", "ftpd", "ftpd-ssl",
              "tnftpd"]),
    ("tftpd", ["tftpd-hpa", "atftpd", "tftpd", "tftp-server"]),
    ("fingerd", ["fingerd", "cfingerd", "efingerd", "finger-server"]),
    ("talkd", ["talkd", "inetutils-talkd", "talk-server"]),
    ("nis", ["nis", "ypserv"]),
]
RPM_NAMES = ["telnet-server", "rsh-server", "vsftpd", "proftpd", "pure-ftpd", "tftp-server", "finger-server",
             "talk-server", "ypserv"]
PROHIBITED_PROCESSES = {
    "in.telnetd": "telnetd", "telnetd": "telnetd",
    "in.rshd": "rshd", "rshd": "rshd", "in.rlogind": "rlogind", "rlogind": "rlogind",
    "in.rexecd": "rexecd", "rexecd": "rexecd",
    "vsftpd": "ftpd", "proftpd": "ftpd", "pure-ftpd": "ftpd", "in.ftpd": "ftpd", "ftpd": "ftpd",
    "in.tftpd": "tftpd", "tftpd": "tftpd", "atftpd": "tftpd",
    "in.fingerd": "fingerd", "fingerd": "fingerd",
    "in.talkd": "talkd", "in.ntalkd": "talkd", "talkd": "talkd",
    "ypserv": "nis", "ypbind": "nis", "rpc.yppasswdd": "nis",
}
# inetd service names / server programs -> canonical name
INETD_SERVICES = {"telnet": "telnetd", "shell": "rshd", "login": "rlogind", "exec": "rexecd", "ftp": "ftpd",
                  "tftp": "tftpd", "finger": "fingerd", "talk": "talkd", "ntalk": "talkd"}


def parse_dpkg_status(text: str) -> set[str]:
    """Installed packages (Status: install ok installed) from /var/lib/dpkg/status."""
    installed = set()
    for para in re.split(r"\n\s*\n", text):
        pkg = status = None
        for line in para.splitlines():
            if line.startswith("Package:"):
                pkg = line.split(":", 1)[1].strip()
            elif line.startswith("Status:"):
                status = line.split(":", 1)[1].split()
        if pkg and status and status[-1] == "installed" and status[0] == "install":
            installed.add(pkg)
    return installed


def dpkg_status_text(ctx: Ctx) -> str | None:
    """/var/lib/dpkg/status (cached: big on desktops, read once per probe); None if unreadable."""
    if "dpkg_status" not in ctx._cache:
        ctx._cache["dpkg_status"] = ctx.read("/var/lib/dpkg/status", 64 * 1024 * 1024)
    return cast("str | None", ctx._cache["dpkg_status"])


def dpkg_installed_version(text: str, package: str) -> str | None:
    """Version of an installed package (Status: install ok installed) in dpkg's status file."""
    for para in re.split(r"\n\s*\n", text):
        fields = {}
        for line in para.splitlines():
            if ":" in line and not line.startswith(" "):
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.strip()
        if fields.get("package") == package and fields.get("status", "").split()[-1:] == ["installed"]:
            return fields.get("version")
    return None


def prohibited_packages(installed: set[str]) -> list[dict[str, str]]:
    out = []
    for name, pats in PROHIBITED_PACKAGES:
        for pkg in sorted(installed):
            if any(fnmatch.fnmatchcase(pkg, p) for p in pats):
                out.append({"name": name, "how": "installed", "detail": "package " + pkg})
    return out


def _service_for_program(prog: str) -> str | None:
    base = os.path.basename(prog)
    return PROHIBITED_PROCESSES.get(base)


def parse_inetd_conf(text: str) -> list[tuple[str, str]]:
    """Active inetd.conf entries for prohibited services -> [(name, line)]."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):  # also update-inetd's "#<off># " disabled lines
            continue
        f = s.split()
        if len(f) < 6:
            continue
        name = INETD_SERVICES.get(f[0].split("/")[0])
        if name is None:
            for prog in f[5:]:
                name = _service_for_program(prog)
                if name:
                    break
        if name:
            out.append((name, s))
    return out


def parse_xinetd(text: str) -> list[tuple[str, str]]:
    """Enabled xinetd services for prohibited servers -> [(name, service header)]."""
    out = []
    for m in re.finditer(r"service\s+(\S+)\s*\{([^}]*)\}", strip_comment_lines(text), re.S):
        svc, body = m.group(1), m.group(2)
        attrs = {}
        for line in body.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                attrs[k.strip().lower()] = v.strip()
        if attrs.get("disable", "no").lower() == "yes":
            continue
        name = INETD_SERVICES.get(svc) or _service_for_program(attrs.get("server", ""))
        if name:
            out.append((name, "service %s (server %s)" % (svc, attrs.get("server", "?"))))
    return out


def find_prohibited_services(ctx: Ctx) -> tuple[list[dict[str, str]], list[str]]:
    """(found, problems), cached: prohibited servers installed, running or configured in (x)inetd.

    ``problems`` names what could not be read (then ``found`` is incomplete).  Shared by the
    services section and the management-protocols section (telnet / r-services).
    """
    if "prohibited" in ctx._cache:
        return cast("tuple[list[dict[str, str]], list[str]]", ctx._cache["prohibited"])
    found = []
    problems = []
    if ctx.isdir("/var/lib/dpkg"):
        text = dpkg_status_text(ctx)
        if text is None:
            problems.append("cannot read /var/lib/dpkg/status")
        else:
            found.extend(prohibited_packages(parse_dpkg_status(text)))
            ctx.add_evidence("/services", "file:/var/lib/dpkg/status",
                             "checked %d package patterns" % sum(len(p) for _, p in PROHIBITED_PACKAGES))
    else:
        res = ctx.run(["rpm", "-q", "--qf", "%{NAME}\\n"] + RPM_NAMES)
        if res is None or res.rc is None:
            problems.append("no package database (no /var/lib/dpkg, no rpm)")
        else:
            ctx.cmd_evidence("/services", res)
            names = set(ln.strip() for ln in res.out.splitlines() if ln.strip() and " " not in ln.strip())
            found.extend(prohibited_packages(names))
    procs = ctx.processes()
    if procs is None:
        problems.append("cannot read /proc")
    else:
        inetd_running = any(p.comm in ("inetd", "xinetd") for p in procs)
        for p in procs:
            name = PROHIBITED_PROCESSES.get(p.comm)
            if name:
                found.append({"name": name, "how": "running", "detail": "process %s (pid %d)" % (p.comm, p.pid)})
        for f in ["/etc/inetd.conf"]:
            text = ctx.read(f)
            if text:
                for name, line in parse_inetd_conf(text):
                    found.append({"name": name, "how": "configured",
                                  "detail": "%s: %s (inetd %s)" % (f, line, "running" if inetd_running
                                                                    else "not running")})
                ctx.file_evidence("/services", f, text)
        for f in ctx.glob("/etc/xinetd.d/*"):
            text = ctx.read(f)
            if text:
                for name, desc in parse_xinetd(text):
                    found.append({"name": name, "how": "configured",
                                  "detail": "%s: %s (xinetd %s)" % (f, desc, "running" if inetd_running
                                                                     else "not running")})
    ctx._cache["prohibited"] = (found, problems)
    return found, problems


def collect_services(ctx: Ctx) -> None:
    ptr = "/services/prohibited_present"
    found, problems = find_prohibited_services(ctx)
    if problems:
        ctx.error(ptr, "; ".join(problems))
        return
    ctx.fact(ptr, found)
