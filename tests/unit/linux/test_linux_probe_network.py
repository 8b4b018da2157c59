"""Listening sockets (ss and /proc/net fallback) and prohibited services."""

from __future__ import annotations

ANY4 = "0.0.0.0"  # noqa: S104 -- an address in parsed output, nothing binds here


def test_ss_parsing_excludes_loopback_and_dedupes(probe, fixtures):
    entries = probe.parse_ss((fixtures / "net" / "ss-lntup.txt").read_text())
    assert len(entries) == 11
    exposed = probe.exposed_sockets(entries)
    assert [s["socket"] for s in exposed] == ["tcp/22", "tcp/80", "udp/123", "udp/514"]
    ssh = exposed[0]
    assert ssh["addresses"] == [ANY4, "::"]  # IPv4 + IPv6 wildcard merged into one item
    assert ssh["process"] == "sshd"
    assert exposed[1] == {"socket": "tcp/80", "addresses": ["*"], "process": "apache2"}
    ntp = exposed[2]
    assert ntp["addresses"] == [ANY4, "fe80::1%eth0"]
    assert exposed[3]["process"] is None  # no users:(...) column
    # 127.0.0.53%lo, 127.0.0.1/::1 (exim), ::ffff:127.0.0.1 (java) and 127.0.0.1:323 are loopback only
    assert not any(s["socket"] in ("tcp/53", "tcp/25", "tcp/8080", "udp/323") for s in exposed)


def test_split_hostport(probe):
    assert probe.split_hostport("[::ffff:127.0.0.1]:8080") == ("::ffff:127.0.0.1", None, 8080)
    assert probe.split_hostport("127.0.0.53%lo:53") == ("127.0.0.53", "lo", 53)
    assert probe.split_hostport("*:*") is None
    assert probe.is_loopback("::ffff:127.0.0.1")
    assert probe.is_loopback("127.8.9.10")
    assert not probe.is_loopback("10.0.0.1")
    assert probe.is_loopback(ANY4, "lo")


def test_proc_net_fallback_little_endian(probe, fixtures):
    net = fixtures / "net"
    entries = (probe.parse_proc_net((net / "proc-net-tcp").read_text(), "tcp", "little")
               + probe.parse_proc_net((net / "proc-net-tcp6").read_text(), "tcp", "little")
               + probe.parse_proc_net((net / "proc-net-udp").read_text(), "udp", "little"))
    addrs = sorted((e["proto"], e["addr"], e["port"]) for e in entries)
    assert addrs == [("tcp", ANY4, 22), ("tcp", "127.0.0.1", 631), ("tcp", "::", 22), ("tcp", "::1", 25),
                     ("udp", ANY4, 123), ("udp", "127.0.0.1", 323)]
    exposed = probe.exposed_sockets(entries)
    assert exposed == [{"socket": "tcp/22", "addresses": [ANY4, "::"], "process": None},
                       {"socket": "udp/123", "addresses": [ANY4], "process": None}]


def test_collect_network_uses_proc_when_ss_unavailable(probe, ctx_for):
    ctx = ctx_for("rootfs-debian12")
    probe.collect_network(ctx)
    assert ctx.facts["network"]["exposed_sockets"] == [
        {"socket": "tcp/22", "addresses": [ANY4], "process": None},
        {"socket": "udp/123", "addresses": [ANY4], "process": None},
    ]
    assert ctx.evidence["/network"][0]["source"].startswith("file:/proc/net")


def test_collect_network_nothing_available_is_error(probe, ctx_for):
    ctx = ctx_for("rootfs-minimal")
    probe.collect_network(ctx)
    assert "network" not in ctx.facts
    assert "/network/exposed_sockets" in ctx.errors


def test_dpkg_status_only_installed(probe):
    text = ("Package: telnetd\nStatus: deinstall ok config-files\n\n"
            "Package: vsftpd\nStatus: install ok installed\n\n"
            "Package: proftpd-core\nStatus: install ok installed\n\n"
            "Package: nis\nStatus: install ok half-configured\n")
    installed = probe.parse_dpkg_status(text)
    assert installed == {"vsftpd", "proftpd-core"}
    found = probe.prohibited_packages(installed)
    assert [(f["name"], f["detail"]) for f in found] == [("ftpd", "package proftpd-core"), ("ftpd", "package vsftpd")]


def test_inetd_and_xinetd_active_entries(probe):
    inetd = ("#<off># telnet stream tcp nowait root /usr/sbin/tcpd /usr/sbin/in.telnetd\n"
             "finger stream tcp nowait nobody /usr/sbin/tcpd /usr/sbin/in.fingerd\n"
             "daytime stream tcp nowait root internal\n"
             "2121 stream tcp nowait root /usr/sbin/tcpd /usr/sbin/in.ftpd -l\n")
    assert [n for n, _ in probe.parse_inetd_conf(inetd)] == ["fingerd", "ftpd"]
    xinetd = ("service telnet\n{\n  disable = no\n  server = /usr/sbin/in.telnetd\n}\n"
              "service tftp\n{\n  disable = yes\n  server = /usr/sbin/in.tftpd\n}\n")
    assert [n for n, _ in probe.parse_xinetd(xinetd)] == ["telnetd"]


def test_collect_services_rootfs(probe, ctx_for):
    ctx = ctx_for("rootfs-debian12")
    probe.collect_services(ctx)
    found = {(f["name"], f["how"]) for f in ctx.facts["services"]["prohibited_present"]}
    assert found == {("tftpd", "installed"), ("ftpd", "installed"), ("tftpd", "running"),
                     ("fingerd", "configured")}
    # telnetd is only in config-files state, and commented out in inetd.conf
    assert not any(f["name"] == "telnetd" for f in ctx.facts["services"]["prohibited_present"])


def test_collect_services_without_package_db_is_error(probe, ctx_for):
    ctx = ctx_for("rootfs-minimal")
    probe.collect_services(ctx)
    assert "/services/prohibited_present" in ctx.errors
