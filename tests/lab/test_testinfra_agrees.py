"""testinfra checks the lab hosts by other means (sshd -T, modprobe -n, logrotate -d, chronyc …)
and must agree with the report's verdict for every requirement it can judge."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import testinfra
from tests.lab.labtools import LAB_STATE, ROOT

HOSTS = ["ntp01", "log01", "jumin-ap01", "jumin-ap02", "zaimu-ap01", "web01",
         "pc-shimin01", "pc-shimin02", "pc-zaimu01", "pc-zaimu02"]


def _connect(ip: str) -> Any:
    extra = ("-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
             "-o ControlPath=/tmp/hardening-testinfra-%C -o ControlPersist=60")
    return testinfra.get_host(f"ssh://hardening@{ip}", ssh_identity_file=str(LAB_STATE / "ssh" / "id_ed25519"),
                              ssh_extra_args=extra, sudo=True)


def sshd_t(host: Any, addr: str = "127.0.0.1", user: str = "nobody") -> dict[str, str]:
    """sshd's own view of its effective configuration for one connection (not our parser)."""
    out = host.check_output(f"sshd -T -C user={user},host=x,addr={addr} 2>/dev/null || sshd -T")
    values: dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        values.setdefault(key.lower(), value.strip())
    return values


def sshd_connections(host: Any) -> list[dict[str, str]]:
    """sshd -T for the connections the configuration tells apart: none matching, and root from an address
    inside every network a `Match Address` line names (found with grep, resolved by sshd itself)."""
    lines = host.run("grep -rhiE '^[[:space:]]*Match[[:space:]].*address' /etc/ssh/sshd_config "
                     "/etc/ssh/sshd_config.d/ 2>/dev/null").stdout
    addrs = ["127.0.0.1"]
    for net in re.findall(r"(?<![!\w.])(\d+\.\d+\.\d+\.\d+(?:/\d+)?)", lines):
        addrs.append(str(next(ipaddress.ip_network(net, strict=False).hosts(), net.split("/")[0])))
    return [sshd_t(host, a, "root") for a in addrs]


def root_login(host: Any) -> bool:
    return all(c["permitrootlogin"] == "no" for c in sshd_connections(host))


WARNING_RE = re.compile(r"許可|不正|監視|禁止|記録|警告|authori[sz]ed|prohibited|forbidden|monitored|recorded|warning",
                        re.IGNORECASE)


def banner(host: Any) -> bool:
    """Every sshd connection shows a banner file with a warning, and so does the console: /etc/issue as
    agetty itself renders it (its escapes expanded), not as our probe strips them."""
    for conn in sshd_connections(host):
        path = conn.get("banner", "none")
        if path == "none" or not host.file(path).exists or not WARNING_RE.search(host.file(path).content_string):
            return False
    issue = host.run("script -qc 'agetty --show-issue' /dev/null </dev/null").stdout
    return bool(WARNING_RE.search(issue))


def last_login(host: Any) -> bool:
    return sshd_t(host).get("printlastlog") == "yes"


def idle_timeout(host: Any) -> bool:
    """An interactive login bash (what an SSH login runs) tries to unset TMOUT; a child process must still see it
    (so it is readonly, exported and set by a file the login really reads)."""
    script = "unset TMOUT 2>/dev/null; sh -c 'echo ${TMOUT:-0}'"
    value = host.run(f"bash -lic {_quote(script)} 2>/dev/null </dev/null").stdout.strip().splitlines()
    return bool(value) and value[-1].isdigit() and 0 < int(value[-1]) <= 900


def usb_blocked(host: Any) -> bool:
    out = host.run("modprobe -n -v usb-storage 2>&1").stdout
    return bool(re.search(r"install\s+/(usr/)?bin/(false|true)", out))


def telnet_absent(host: Any) -> bool:
    # dpkg's and ss's view: no telnet server installed, nothing serving telnet's port.
    listening = host.check_output("ss -H -lnt 'sport = :23'").strip()
    return not host.package("inetutils-telnetd").is_installed and not listening


def ports(host: Any, allowed: set[str]) -> bool:
    listening: set[str] = set()
    out = host.check_output("ss -H -lntu")
    for line in out.splitlines():
        parts = line.split()
        proto, local = parts[0], parts[4]
        address, _, port = local.rpartition(":")
        if address.startswith(("127.", "[::1]")) or address in ("::1",):
            continue
        listening.add(f"{proto}/{port}")
    return listening <= allowed


def time_synced(host: Any) -> bool:
    out = host.run("chronyc -n tracking").stdout
    leap = re.search(r"Leap status\s*:\s*(\w+)", out)
    sources = host.run("chronyc -n sources").stdout
    is_server = host.backend.hostname == "10.203.0.10"
    return bool(leap and leap.group(1) == "Normal") and ("10.203.0.10" in sources or is_server)


def forwards(host: Any) -> bool:
    return host.run("grep -rhsE '^[^#]*@@?10\\.203\\.0\\.11' /etc/rsyslog.conf /etc/rsyslog.d/").rc == 0


def retention(host: Any) -> bool:
    out = host.run("logrotate -d /etc/logrotate.conf 2>&1").stdout
    # logrotate's own parser: "rotating pattern: /var/log/syslog" then "weekly (13 rotations)".
    block = out.split("rotating pattern: /var/log/syslog", 1)
    match = re.search(r"(daily|weekly|monthly) \((\d+) rotations\)", block[1]) if len(block) > 1 else None
    if not match:
        return False
    days = {"daily": 1, "weekly": 7, "monthly": 30}[match.group(1)] * int(match.group(2))
    return days >= 90


def lockout(host: Any) -> bool:
    conf = host.file("/etc/security/faillock.conf").content_string
    deny = re.search(r"^\s*deny\s*=\s*(\d+)", conf, re.M)
    return bool(deny) and 0 < int(deny.group(1)) <= 5 and "pam_faillock.so" in host.file(
        "/etc/pam.d/common-auth").content_string


# libpwquality itself (the library pam_pwquality calls), through ctypes: not our parser. Its checks run
# in a fixed order and the first failure is returned, so the error code says WHICH rule refused.
_PWQ = """
import ctypes, sys
lib = ctypes.CDLL("libpwquality.so.1")
lib.pwquality_default_settings.restype = ctypes.c_void_p
settings = ctypes.c_void_p(lib.pwquality_default_settings())
aux = ctypes.c_void_p()
assert lib.pwquality_read_config(settings, None, ctypes.byref(aux)) == 0
print(lib.pwquality_check(settings, sys.argv[1].encode(), None, None, ctypes.byref(aux)))
"""
PWQ_ERROR_MIN_LENGTH = -14
PWQ_CLASS_ERRORS = {-5, -6, -7, -8, -18}  # min digits/uppers/lowers/others, min classes


def pwquality_code(host: Any, password: str) -> int:
    out = host.check_output(f"python3 -c {_quote(_PWQ)} {_quote(password)} 2>/dev/null")
    return int(out.strip().splitlines()[-1])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def av_resident(host: Any) -> bool:
    return bool(host.process.filter(comm="clamd"))


def av_fresh(host: Any) -> bool:
    mtime = host.file("/var/lib/clamav/sakado-local.hdb").mtime
    return (dt.datetime.now() - mtime).days < 1


def boot_pw(host: Any) -> bool:
    return host.run("cat /sys/class/firmware-attributes/*/authentication/Admin/is_enabled").stdout.strip() == "1"


def screen_lock(host: Any) -> bool:
    out = host.run("cat /etc/dconf/db/local.d/* 2>/dev/null").stdout
    delay = re.search(r"idle-delay\s*=\s*uint32\s+(\d+)", out)
    locks = host.run("cat /etc/dconf/db/local.d/locks/* 2>/dev/null").stdout
    return ("lock-enabled=true" in out.replace(" ", "") and bool(delay) and 0 < int(delay.group(1)) <= 900
            and "idle-delay" in locks and "lock-enabled" in locks)


def disk_enc(host: Any) -> bool:
    return host.run("grep -l CRYPT- /sys/devices/virtual/block/*/dm/uuid").rc == 0


def mgmt_secure(host: Any) -> bool:
    # ss's view of the cleartext login ports, dpkg's view of snmpd and sshd, grep's count of v1/v2c lines.
    if host.check_output("ss -H -lnt '( sport = :23 or sport = :512 or sport = :513 )'").strip():
        return False
    if host.package("snmpd").is_installed:
        count = host.run("grep -rhicE '^[[:space:]]*(ro|rw)community6?|^[[:space:]]*com2sec' "
                         "/etc/snmp/snmpd.conf /etc/snmp/snmpd.conf.d 2>/dev/null").stdout.split()
        if sum(int(c) for c in count):
            return False
    version = host.check_output("dpkg-query -W -f '${Version}' openssh-server")
    return host.run(f"dpkg --compare-versions '{version}' ge 1:7.4").rc == 0


def pw_store(host: Any) -> bool:
    # passwd -S: "NP" = no password; grep counts weak crypt(5) prefixes (the hashes stay on the host).
    if any(line.split()[1:2] == ["NP"] for line in host.check_output("passwd -S -a").splitlines()):
        return False
    weak = host.run("cut -d: -f2 /etc/shadow | grep -cE '^!*([$](1|5|2[abxy]|md5|sha1|3)[$]|[./0-9A-Za-z]{13}$)'")
    if weak.stdout.strip() != "0":
        return False
    if host.run("grep -qE '^[[:space:]]*ENCRYPT_METHOD[[:space:]]+(YESCRYPT|SHA512)[[:space:]]*$' "
                "/etc/login.defs").rc != 0:
        return False
    return host.run("grep -qE '^[[:space:]]*password.*pam_unix[.]so.*[[:space:]](yescrypt|sha512)([[:space:]]|$)' "
                    "/etc/pam.d/common-password").rc == 0


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z) ")


def log_timestamps(host: Any) -> bool:
    # rsyslog's real output: log a marker and look at how the line was written to /var/log/syslog.
    marker = f"hardening-ts-{dt.datetime.now().timestamp():.6f}"
    host.check_output(f"logger -t hardening-testinfra {marker}")
    for _ in range(50):
        line = host.run(f"grep -h {marker} /var/log/syslog").stdout.strip()
        if line:
            return bool(RFC3339.match(line))
        time.sleep(0.1)
    return False


ALLOWED = {"ntp01": {"tcp/22", "udp/123"}, "log01": {"tcp/22", "tcp/514", "udp/514"},
           "web01": {"tcp/22", "tcp/80", "tcp/443"}, "zaimu-ap01": {"tcp/22", "tcp/80", "tcp/443", "tcp/8443"}}

CHECKS: dict[str, Callable[[Any, str], bool]] = {
    "PRIV-REMOTE-ROOT": lambda h, n: root_login(h),
    "LOGIN-BANNER": lambda h, n: banner(h),
    "LOGIN-LASTLOGON": lambda h, n: last_login(h),
    "LOGIN-TIMEOUT": lambda h, n: idle_timeout(h),
    "LOGIN-LOCKOUT": lambda h, n: lockout(h),
    # 7 characters, 3 classes: refused for its length unless the real minimum is below 8.
    "PW-LEN": lambda h, n: pwquality_code(h, "Xq7rTzP") == PWQ_ERROR_MIN_LENGTH,
    # 16 lower-case letters: refused for its classes unless the policy does not demand 3 classes.
    "PW-CLASS": lambda h, n: pwquality_code(h, "qwpeoxnvmzturkab") in PWQ_CLASS_ERRORS,
    "USB-BLOCK-KIKAN": lambda h, n: usb_blocked(h),
    "SVC-MINIMAL": lambda h, n: telnet_absent(h),
    "PORTS-CLOSED": lambda h, n: ports(h, ALLOWED.get(n, {"tcp/22", "tcp/8443"})),
    "TIME-SYNC": lambda h, n: time_synced(h),
    "LOG-FORWARD": lambda h, n: forwards(h),
    "LOG-RETENTION": lambda h, n: retention(h),
    "AV-RESIDENT": lambda h, n: av_resident(h),
    "AV-SIG-CURRENT": lambda h, n: av_fresh(h),
    "BOOT-PW": lambda h, n: boot_pw(h),
    "SCREEN-LOCK": lambda h, n: screen_lock(h),
    "DISK-ENC": lambda h, n: disk_enc(h),
    "MGMT-SECURE-PROTOCOLS": lambda h, n: mgmt_secure(h),
    "PW-STORE-PROTECT": lambda h, n: pw_store(h),
    "LOG-TIMESTAMPS": lambda h, n: log_timestamps(h),
}


@pytest.mark.parametrize("name", HOSTS)
def test_testinfra_agrees_with_report(name: str, lab: dict[str, Any], demo_audit: dict[str, Any]) -> None:
    host = _connect(lab["hosts"][name]["hostname"])
    disagreements = []
    judged = 0
    for finding in demo_audit["report"]["findings"]:
        if finding["host"] != name or finding["requirement"] not in CHECKS:
            continue
        if finding["evaluated_status"] not in ("pass", "fail"):
            continue
        judged += 1
        ok = CHECKS[finding["requirement"]](host, name)
        if ok != (finding["evaluated_status"] == "pass"):
            disagreements.append(f"{finding['requirement']}: testinfra says {'pass' if ok else 'fail'}, "
                                 f"report says {finding['evaluated_status']}")
    assert judged >= 10
    assert disagreements == []


def test_checks_cover_catalog() -> None:
    from hardening.core.catalog import load_catalog

    catalog = load_catalog(ROOT / "schemas" / "requirements")
    on_linux = {rid for rid, r in catalog.items() if {"linux_server", "linux_pc"} & set(r.device_classes)}
    assert on_linux == set(CHECKS)  # the network-only ones (PRIV-RENAME, FW-ACCESS-CONTROL) have no Linux host
