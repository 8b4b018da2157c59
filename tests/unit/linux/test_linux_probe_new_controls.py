"""MGMT-SECURE-PROTOCOLS, PW-STORE-PROTECT and LOG-TIMESTAMPS facts over hand-written fake roots.

Each root is written here with the syntax real Debian hosts carry; commands are unavailable under a
fake root, so sockets come from /proc/net and processes from /proc/<pid>.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

COMMUNITY = "s3cr3t-c0mmunity"
MD5_HASH = "$1$lab12345$Qm3l5bB9o1j7V0lO8x0d7/"  # openssl passwd -1 -salt lab12345 (not a real secret)
DPKG_SSH = "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u3\n\n"
DEBIAN_PAM = ("password\trequisite\t\t\tpam_pwquality.so retry=3\n"
              "password\t[success=1 default=ignore]\tpam_unix.so obscure use_authtok try_first_pass yescrypt\n"
              "password\trequisite\t\t\tpam_deny.so\npassword\trequired\t\t\tpam_permit.so\n")
DEBIAN_RSYSLOG = ('module(load="imuxsock")\n$FileOwner root\n$WorkDirectory /var/spool/rsyslog\n'
                  "$IncludeConfig /etc/rsyslog.d/*.conf\n"
                  "*.*;auth,authpriv.none\t\t-/var/log/syslog\nauth,authpriv.*\t\t\t/var/log/auth.log\n"
                  "*.emerg\t\t\t\t:omusrmsg:*\n")


def make_root(base: Path, files: dict[str, str | bytes]) -> str:
    for path, content in files.items():
        target = base / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return str(base)


def proc(pid: int, comm: str, cmdline: str) -> dict[str, str | bytes]:
    return {f"/proc/{pid}/comm": comm + "\n", f"/proc/{pid}/cmdline": cmdline.replace(" ", "\0").encode()}


def listen(port: int) -> str:
    """/proc/net/tcp with one LISTEN socket on 0.0.0.0:port."""
    return ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
            f"   0: 00000000:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n")


def run(probe: Any, root: str, section: str) -> Any:
    ctx = probe.Ctx(root)
    probe.run_section(ctx, section, dict(probe.SECTIONS)[section])
    return ctx


# ------------------------------------------------------------------------------------ management protocols

BASE_MGMT: dict[str, str | bytes] = {
    "/var/lib/dpkg/status": DPKG_SSH, "/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\n",
    "/proc/net/tcp": listen(22), **proc(1, "sshd", "/usr/sbin/sshd"),
}


def test_clean_host_has_no_insecure_protocol(probe, tmp_path):
    ctx = run(probe, make_root(tmp_path, BASE_MGMT), "management")
    assert ctx.facts["management"]["insecure_protocols"] == []


def test_snmp_communities_by_file_and_line_never_the_string(probe, tmp_path):
    root = make_root(tmp_path, {
        **BASE_MGMT, "/usr/sbin/snmpd": "",
        "/etc/snmp/snmpd.conf": (f"# rocommunity commented {COMMUNITY}\nagentaddress udp:161\n"
                                 "rouser authPrivUser authpriv -V systemonly\n"
                                 "includeDir /etc/snmp/snmpd.conf.d\n"),
        "/etc/snmp/snmpd.conf.d/10-lab.conf": f"RoCommunity {COMMUNITY} default\ncom2sec6 ro6 default {COMMUNITY}\n",
        "/etc/snmp/snmpd.conf.d/20-v3.conf": "createUser authPrivUser SHA-512 x AES y\n",
        "/etc/snmp/snmpd.conf.d/README": f"rwcommunity {COMMUNITY}\n",  # not *.conf: not read
        "/etc/snmp/snmpd.local.conf": f"trap2sink 10.0.0.5 {COMMUNITY}\n",
    })
    ctx = run(probe, root, "management")
    items = ctx.facts["management"]["insecure_protocols"]
    assert [(i["protocol"], i["detail"]) for i in items] == [
        ("snmp_v1_v2c", "snmpd rocommunity at /etc/snmp/snmpd.conf.d/10-lab.conf:1"),
        ("snmp_v1_v2c", "snmpd com2sec6 at /etc/snmp/snmpd.conf.d/10-lab.conf:2"),
        ("snmp_v1_v2c", "snmpd trap2sink at /etc/snmp/snmpd.local.conf:1"),
    ]
    assert COMMUNITY not in json.dumps([ctx.facts, ctx.evidence, ctx.errors])


def test_snmp_v3_only_passes_and_leftover_config_without_agent_is_ignored(probe, tmp_path):
    v3 = make_root(tmp_path / "v3", {**BASE_MGMT, "/usr/sbin/snmpd": "",
                                     "/etc/snmp/snmpd.conf": "rouser ops authpriv\ncreateUser ops SHA x AES y\n"})
    assert run(probe, v3, "management").facts["management"]["insecure_protocols"] == []
    leftover = make_root(tmp_path / "left", {**BASE_MGMT, "/etc/snmp/snmpd.conf": f"rocommunity {COMMUNITY}\n"})
    assert run(probe, leftover, "management").facts["management"]["insecure_protocols"] == []


def test_running_snmpd_with_its_own_config_file(probe, tmp_path):
    root = make_root(tmp_path, {**BASE_MGMT, "/opt/snmp/agent.conf": f"rwcommunity {COMMUNITY} 10.0.0.0/8\n",
                                "/etc/snmp/snmpd.conf": f"rocommunity {COMMUNITY}\n",
                                **proc(7, "snmpd", "/usr/sbin/snmpd -f -C -c /opt/snmp/agent.conf")})
    items = run(probe, root, "management").facts["management"]["insecure_protocols"]
    assert [i["detail"] for i in items] == ["snmpd rwcommunity at /opt/snmp/agent.conf:1"]  # -C: only -c files


def test_telnet_via_inetd_is_configured_and_listening_but_installed_alone_is_not(probe, tmp_path):
    dpkg = DPKG_SSH + "Package: inetutils-telnetd\nStatus: install ok installed\nVersion: 2:2.4-2\n\n"
    served = make_root(tmp_path / "served", {
        **BASE_MGMT, "/var/lib/dpkg/status": dpkg, "/proc/net/tcp": listen(22) + listen(23).split("\n", 1)[1],
        "/etc/inetd.conf": "telnet\tstream\ttcp\tnowait\troot\t/usr/sbin/tcpd\t/usr/sbin/telnetd\n",
        **proc(9, "inetd", "/usr/sbin/inetd")})
    items = run(probe, served, "management").facts["management"]["insecure_protocols"]
    assert {(i["protocol"], i["how"]) for i in items} == {("telnet", "configured"), ("telnet", "listening")}
    installed = make_root(tmp_path / "installed", {**BASE_MGMT, "/var/lib/dpkg/status": dpkg})
    assert run(probe, installed, "management").facts["management"]["insecure_protocols"] == []


def test_rsyslog_on_tcp_514_is_not_rsh(probe, tmp_path):
    root = make_root(tmp_path, {**BASE_MGMT, "/proc/net/tcp": listen(514)})
    assert run(probe, root, "management").facts["management"]["insecure_protocols"] == []


@pytest.mark.parametrize(("version", "config", "expected"), [
    ("1:9.2p1-2", "Protocol 1\n", []),                    # modern sshd ignores the line
    ("1:7.3p1-1", "Protocol 2,1\n", ["ssh1"]),
    ("1:7.3p1-1", "Protocol 2\n", []),
    ("1:5.3p1-1", "", ["ssh1"]),                          # old default accepted protocol 1
    ("1:6.0p1-1", "", []),
])
def test_ssh_protocol_1_from_version_and_config(probe, tmp_path, version, config, expected):
    root = make_root(tmp_path, {**BASE_MGMT, "/etc/ssh/sshd_config": config,
                                "/var/lib/dpkg/status": DPKG_SSH.replace("1:9.2p1-2+deb12u3", version)})
    ctx = run(probe, root, "management")
    assert [i["protocol"] for i in ctx.facts["management"]["insecure_protocols"]] == expected


def test_ssh_version_unknown_with_protocol_1_is_an_error(probe, tmp_path):
    root = make_root(tmp_path, {**BASE_MGMT, "/var/lib/dpkg/status": "", "/etc/ssh/sshd_config": "Protocol 1\n"})
    ctx = run(probe, root, "management")
    assert "management" not in ctx.facts
    assert "protocol 1" in ctx.errors["/management/insecure_protocols"]


def test_ssh_version_from_the_binary(probe, tmp_path):
    root = make_root(tmp_path, {**BASE_MGMT, "/var/lib/dpkg/status": "", "/etc/ssh/sshd_config": "Protocol 2,1\n",
                                "/usr/sbin/sshd": b"\x7fELF\0junk OpenSSH_9.6p1 more\0"})
    assert run(probe, root, "management").facts["management"]["insecure_protocols"] == []


# -------------------------------------------------------------------------------------- password storage

def shadow_root(base: Path, shadow: str, login_defs: str = "ENCRYPT_METHOD SHA512\n",
                pam: str = DEBIAN_PAM, passwd: str | None = None) -> str:
    names = [line.split(":")[0] for line in shadow.splitlines() if line]
    return make_root(base, {
        "/etc/shadow": shadow, "/etc/login.defs": login_defs, "/etc/pam.d/common-password": pam,
        "/etc/passwd": passwd if passwd is not None else "".join(f"{n}:x:1000:1000::/home/{n}:/bin/bash\n"
                                                                  for n in names)})


def test_debian_defaults_pass(probe, tmp_path):
    shadow = ("root:*:19000:0:99999:7:::\nsshd:!:19000::::::\n_chrony:!*:19000::::::\n"
              "alice:$y$j9T$abcdefghijklmnop$0123456789012345678901234567890123456789012:19000:0:99999:7:::\n"
              "bob:$6$saltsalt$" + "x" * 86 + ":19000:0:99999:7:::\nlocked:!!:19000::::::\n")
    ctx = run(probe, shadow_root(tmp_path, shadow), "password_storage")
    ps = ctx.facts["accounts"]["password_storage"]
    assert ps["hash_methods"] == [{"source": "login.defs ENCRYPT_METHOD", "method": "sha512"},
                                  {"source": "pam_unix /etc/pam.d/common-password:2", "method": "yescrypt"}]
    assert ps["weak_hash_accounts"] == []
    assert ps["empty_password_accounts"] == []


def test_weak_and_empty_accounts_by_name_never_the_hash(probe, tmp_path):
    shadow = (f"legacy:{MD5_HASH}:19000:0:99999:7:::\n"
              f"lockedmd5:!{MD5_HASH}:19000:0:99999:7:::\n"          # locked, but the MD5 hash is still stored
              "des:abJnggxhB/yWI:19000::::::\n"                         # 13-char DES
              "sha256:$5$salt$" + "y" * 43 + ":19000::::::\n"
              "bf:$2b$10$" + "z" * 53 + ":19000::::::\n"
              "odd:$9$whatever$zz:19000::::::\n"                       # unknown method: never strong
              "guest::19000::::::\n"                                   # empty: login without a password
              "nologin:*:19000::::::\n")
    passwd = ("".join(f"{n}:x:1000:1000::/home/{n}:/bin/bash\n"
                      for n in ("legacy", "lockedmd5", "des", "sha256", "bf", "odd", "guest", "nologin"))
              + "oldstyle::1001:1001::/home/o:/bin/sh\n")        # empty passwd field, no shadow entry
    ctx = run(probe, shadow_root(tmp_path, shadow, passwd=passwd), "password_storage")
    ps = ctx.facts["accounts"]["password_storage"]
    assert ps["weak_hash_accounts"] == ["bf", "des", "legacy", "lockedmd5", "odd", "sha256"]
    assert ps["empty_password_accounts"] == ["guest", "oldstyle"]
    dumped = json.dumps([ctx.facts, ctx.evidence, ctx.errors])
    assert "$1$" not in dumped
    assert "lab12345" not in dumped
    assert "abJnggxhB" not in dumped


@pytest.mark.parametrize(("login_defs", "pam_args", "expected"), [
    ("ENCRYPT_METHOD MD5\n", "obscure yescrypt", ["md5", "yescrypt"]),
    ("ENCRYPT_METHOD SHA512\nENCRYPT_METHOD YESCRYPT\n", "obscure sha512", ["yescrypt", "sha512"]),  # last wins
    ("", "obscure", ["des", "des"]),                     # unset: DES for both (pam_unix falls back to it)
    ("MD5_CRYPT_ENAB yes\n", "obscure", ["md5", "md5"]),
    ("ENCRYPT_METHOD SHA512\n", "obscure", ["sha512", "sha512"]),  # pam_unix without a method reads login.defs
    ("ENCRYPT_METHOD SHA512\n", "md5 sha512 blowfish", ["sha512", "bcrypt"]),  # last method argument wins
])
def test_hash_methods(probe, tmp_path, login_defs, pam_args, expected):
    pam = f"password\t[success=1 default=ignore]\tpam_unix.so {pam_args}\n"
    ctx = run(probe, shadow_root(tmp_path, "root:*:1::::::\n", login_defs, pam), "password_storage")
    assert [m["method"] for m in ctx.facts["accounts"]["password_storage"]["hash_methods"]] == expected


def test_unreadable_shadow_is_an_error(probe, tmp_path):
    root = make_root(tmp_path, {"/etc/passwd": "root:x:0:0::/root:/bin/bash\n", "/etc/login.defs": "",
                                "/etc/shadow/unreadable": ""})  # a directory: exists, cannot be read (as root too)
    ctx = run(probe, root, "password_storage")
    assert "weak_hash_accounts" not in ctx.facts["accounts"]["password_storage"]
    assert "cannot read /etc/shadow" in ctx.errors["/accounts/password_storage/weak_hash_accounts"]
    assert "/accounts/password_storage/empty_password_accounts" in ctx.errors


# ---------------------------------------------------------------------------------------- log timestamps

TRADITIONAL = "$ActionFileDefaultTemplate RSYSLOG_TraditionalFileFormat\n"


def logts(probe: Any, base: Path, files: dict[str, str | bytes]) -> Any:
    return run(probe, make_root(base, {"/etc/rsyslog.conf": DEBIAN_RSYSLOG, **files}), "log_timestamps")


def formats(ctx: Any) -> list[tuple[str, str, Any]]:
    return [(i["log"], i["format"], i["full"]) for i in ctx.facts["logging"]["timestamp_formats"]]


def test_debian12_rsyslog_default_is_rfc3339(probe, tmp_path):
    ctx = logts(probe, tmp_path, {})
    assert formats(ctx) == [("/var/log/syslog", "RSYSLOG_FileFormat", True),
                            ("/var/log/auth.log", "RSYSLOG_FileFormat", True)]
    assert ctx.manual == {}


def test_traditional_default_in_a_drop_in_applies_to_later_actions_of_the_main_file(probe, tmp_path):
    ctx = logts(probe, tmp_path, {"/etc/rsyslog.d/00-legacy.conf": TRADITIONAL})
    assert formats(ctx) == [("/var/log/syslog", "RSYSLOG_TraditionalFileFormat", False),
                            ("/var/log/auth.log", "RSYSLOG_TraditionalFileFormat", False)]


def test_default_set_after_the_actions_does_not_apply_to_them(probe, tmp_path):
    conf = DEBIAN_RSYSLOG + TRADITIONAL + "local0.* /var/log/l0.log\n"
    ctx = logts(probe, tmp_path, {"/etc/rsyslog.conf": conf})
    assert [f for _, _, f in formats(ctx)] == [True, True, False]


def test_module_template_beats_legacy_and_action_template_beats_both(probe, tmp_path):
    conf = ('module(load="builtin:omfile" template="RSYSLOG_FileFormat")\n'
            "$ActionFileDefaultTemplate RSYSLOG_TraditionalFileFormat\n" + DEBIAN_RSYSLOG
            + 'local1.* action(type="omfile" file="/var/log/l1.log"\n    template="RSYSLOG_TraditionalFileFormat")\n'
            + "local2.* -/var/log/l2.log;RSYSLOG_TraditionalFileFormat\n")
    ctx = logts(probe, tmp_path, {"/etc/rsyslog.conf": conf})
    assert [(log, f) for log, _, f in formats(ctx)] == [
        ("/var/log/syslog", True), ("/var/log/auth.log", True), ("/var/log/l1.log", False), ("/var/log/l2.log", False)]


def test_custom_templates(probe, tmp_path):
    conf = ('template(name="Iso" type="string" string="%TIMESTAMP:::date-rfc3339% %HOSTNAME% %msg%\\n")\n'
            '$template Old,"%TIMESTAMP% %HOSTNAME% %msg%\\n"\n'
            'template(name="ListIso" type="list") {\n  property(name="timereported" dateFormat="rfc3339")\n'
            '  constant(value=" ")\n  property(name="msg")\n}\n'
            "local3.* /var/log/a.log;Iso\nlocal4.* /var/log/b.log;Old\nlocal5.* /var/log/c.log;ListIso\n"
            ':programname, isequal, "app" /var/log/app.log;Old\n'
            'if $programname == "x" then /var/log/x.log;Iso\n')
    ctx = logts(probe, tmp_path, {"/etc/rsyslog.d/50-app.conf": conf})
    assert formats(ctx)[:5] == [("/var/log/a.log", "Iso", True), ("/var/log/b.log", "Old", False),
                                ("/var/log/c.log", "ListIso", True), ("/var/log/app.log", "Old", False),
                                ("/var/log/x.log", "Iso", True)]  # the drop-ins are included before the main actions


def test_a_template_built_from_pieces_is_manual_not_pass(probe, tmp_path):
    conf = ('$template Pieces,"%$year%-%$month%-%$day% %TIMESTAMP:::date-hour% %msg%\\n"\n'
            "local6.* /var/log/p.log;Pieces\n")
    ctx = logts(probe, tmp_path, {"/etc/rsyslog.d/60-p.conf": conf})
    assert "timestamp_formats" not in ctx.facts.get("logging", {})
    assert "/var/log/p.log" in ctx.manual["/logging/timestamp_formats"]
    # ...but a writer that fails for certain makes it a fail, not a review
    ctx = logts(probe, tmp_path / "b", {"/etc/rsyslog.d/60-p.conf": conf,
                                        "/etc/rsyslog.d/00-t.conf": TRADITIONAL})
    assert False in [f for _, _, f in formats(ctx)]
    assert ctx.manual == {}


def test_journald_only_when_persistent(probe, tmp_path):
    journald = {"/usr/lib/systemd/systemd-journald": ""}
    volatile = run(probe, make_root(tmp_path / "v", {**journald, "/etc/systemd/journald.conf": "[Journal]\n"}),
                   "log_timestamps")
    assert volatile.facts["logging"]["timestamp_formats"] == []          # keeps nothing: fails minItems
    persistent = run(probe, make_root(tmp_path / "p", {**journald, "/var/log/journal/.keep": "",
                                                       "/etc/systemd/journald.conf": "[Journal]\n"}), "log_timestamps")
    assert [i["writer"] for i in persistent.facts["logging"]["timestamp_formats"]] == ["journald"]
    volatile_dropin = {"/etc/systemd/journald.conf.d/10-v.conf": "[Journal]\nStorage=volatile\n"}
    dropin = run(probe, make_root(tmp_path / "d", {**journald, "/var/log/journal/.keep": "", **volatile_dropin}),
                 "log_timestamps")
    assert dropin.facts["logging"]["timestamp_formats"] == []


def test_missing_shadow_while_passwd_defers_to_it_is_an_error(probe, tmp_path):
    """A saved tree (or host) whose /etc/passwd says "x" but has no /etc/shadow (a backup that left the
    sensitive file out) cannot show the stored hashes: error, never an empty list that passes."""
    root = make_root(tmp_path, {"/etc/passwd": "root:x:0:0:root:/root:/bin/bash\n",
                                "/etc/login.defs": "ENCRYPT_METHOD SHA512\n"})
    ctx = run(probe, root, "password_storage")
    for name in ("weak_hash_accounts", "empty_password_accounts"):
        pointer = "/accounts/password_storage/" + name
        assert "no /etc/shadow" in ctx.errors[pointer]
        assert probe.has_pointer(ctx.facts, pointer) is False
