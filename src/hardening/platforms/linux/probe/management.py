"""Section `management`: cleartext remote login, SNMP v1/v2c and SSH protocol 1."""

from __future__ import annotations

from .base import Ctx
from .services import find_prohibited_services
from .snmpd import snmpd_v1v2c
from .sockets import exposed_sockets, get_sockets
from .sshd import sshd_accepts_protocol_1

# Prohibited servers of the services section that are remote-login/management protocols.
CLEARTEXT_LOGIN_SERVICES = {"telnetd": "telnet", "rlogind": "rlogin", "rshd": "rsh", "rexecd": "rexec"}
# Their well-known tcp ports.  tcp/514 is also rsyslog's TCP reception, so a listener there counts as
# rsh only when the process is an r-server or a super-server (inetd, xinetd, systemd sockets).
CLEARTEXT_LOGIN_PORTS = {23: "telnet", 512: "rexec", 513: "rlogin", 514: "rsh"}
_SUPER_SERVERS = ("inetd", "xinetd", "systemd", "in.rshd", "rshd")
def collect_management(ctx: Ctx) -> None:
    """/management/insecure_protocols: every way the host offers cleartext or v1 management access.

    Items {"protocol", "how", "detail"}; details carry kinds and file:line only, never an SNMP
    community (the config files are withheld from evidence as sensitive).
    """
    ptr = "/management/insecure_protocols"
    items = []  # type: list[dict[str, str]]
    problems = []  # type: list[str]
    # telnet / r-services: the services section's findings, except "installed" alone (installed
    # but neither running nor configured serves nothing; SVC-MINIMAL still wants it removed).
    found, svc_problems = find_prohibited_services(ctx)
    problems.extend(svc_problems)
    for f in found:
        proto = CLEARTEXT_LOGIN_SERVICES.get(f["name"])
        if proto and f["how"] != "installed":
            items.append({"protocol": proto, "how": f["how"], "detail": f.get("detail", "")})
    sockets = get_sockets(ctx)
    if sockets is None:
        problems.append("neither `ss` nor /proc/net is available (listening sockets unknown)")
    else:
        for sock in exposed_sockets([e for e in sockets if e["proto"] == "tcp"]):
            port = int(sock["socket"].split("/")[1])
            proto = CLEARTEXT_LOGIN_PORTS.get(port)
            process = sock.get("process") or ""
            if proto == "rsh" and not any(x in process.split(",") for x in _SUPER_SERVERS):
                continue
            if proto:
                items.append({"protocol": proto, "how": "listening",
                              "detail": "%s (process %s)" % (sock["socket"], process or "unknown")})
    # SNMP v1/v2c: only where an SNMP agent is installed or running (a leftover config of a removed
    # package is served by nothing).
    agent = ctx.exists("/usr/sbin/snmpd") or bool(ctx.running("snmpd"))
    lines, files = snmpd_v1v2c(ctx)
    for line in lines:
        if agent:
            items.append({"protocol": "snmp_v1_v2c", "how": "configured",
                          "detail": "snmpd %s at %s" % (line["kind"], line["where"])})
    ctx.add_evidence("/management", "probe:effective",
                     "snmpd %s; files read: %s; v1/v2c lines: %s" % (
                         "installed or running" if agent else "not installed",
                         ", ".join(files) or "none",
                         ", ".join("%s at %s" % (x["kind"], x["where"]) for x in lines) or "none"))
    # SSH protocol 1
    if ctx.exists("/etc/ssh/sshd_config") or ctx.exists("/usr/sbin/sshd"):
        v1, why = sshd_accepts_protocol_1(ctx)
        ctx.add_evidence("/management", "probe:effective", why)
        if v1 is None:
            problems.append("cannot tell whether sshd accepts protocol 1: " + why)
        elif v1:
            items.append({"protocol": "ssh1", "how": "configured", "detail": why})
    if problems:
        ctx.error(ptr, "; ".join(problems))
        return
    ctx.fact(ptr, items)
