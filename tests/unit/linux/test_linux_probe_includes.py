"""The one include follower (probe/includes.py): one depth rule, cycles, glob and directory order, paths."""

from __future__ import annotations

import fnmatch

import pytest


class Tree:
    """An in-memory file tree: {path: text}; directories are the parents of the paths."""

    def __init__(self, files):
        self.files = dict(files)
        self.reads = []

    def read(self, path):
        self.reads.append(path)
        return self.files.get(path)

    def glob(self, pattern):
        return sorted(p for p in self.files if fnmatch.fnmatchcase(p, pattern) and p.count("/") == pattern.count("/"))

    def isdir(self, path):
        return any(p.startswith(path.rstrip("/") + "/") for p in self.files)

    def isfile(self, path):
        return path in self.files

    def listdir(self, path):
        prefix = path.rstrip("/") + "/"
        names = {p[len(prefix):].split("/")[0] for p in self.files if p.startswith(prefix)}
        return sorted(names) if names else None


def include_lines(probe, walk, rule):
    """A toy syntax: each line "include X" includes X."""

    def handle(path, text):
        for line in text.splitlines():
            if line.startswith("include "):
                walk.include(rule, line.split(None, 1)[1], path, handle)

    return handle


def test_one_depth_rule_reads_16_levels_and_reports_the_17th(probe):
    assert probe.MAX_INCLUDE_DEPTH == 16
    tree = Tree({f"/c/{n}": f"include /c/{n + 1}" for n in range(30)})
    walk = probe.IncludeWalk(tree.read, tree.glob, strict=False)
    walk.visit("/c/0", include_lines(probe, walk, probe.IncludeRule("literal")))
    assert walk.files == [f"/c/{n}" for n in range(17)]  # depth 0 (the main file) .. 16
    assert walk.problems == ["/c/17: not read, included more than 16 levels deep (from /c/16)"]
    assert "/c/17" not in tree.reads


def test_a_cycle_stops_where_it_closes_and_is_reported(probe):
    tree = Tree({"/a": "include /b", "/b": "include /a\ninclude /c", "/c": "x"})
    walk = probe.IncludeWalk(tree.read, tree.glob, strict=False)
    walk.visit("/a", include_lines(probe, walk, probe.IncludeRule("literal")))
    assert walk.files == ["/a", "/b", "/c"]
    assert walk.problems == ["/a: not read again, it includes itself (/a -> /b -> /a)"]


@pytest.mark.parametrize("files", [
    {f"/c/{n}": f"include /c/{n + 1}" for n in range(30)},  # deeper than the daemons read
    {"/c/0": "include /c/1", "/c/1": "include /c/0"},  # a cycle: the daemon loops to its depth limit and stops
])
def test_a_strict_walk_raises_what_the_daemon_refuses(probe, files):
    """Strict (the default: sshd, PAM, chrony, logrotate, rsyslog, snmpd refuse such a configuration): the walk
    raises, so the probe's section gives its facts as errors, never values read from half a configuration."""
    tree = Tree(files)
    walk = probe.IncludeWalk(tree.read, tree.glob)
    with pytest.raises(probe.IncludeProblem, match="not read"):
        walk.visit("/c/0", include_lines(probe, walk, probe.IncludeRule("literal")))


def test_a_file_included_twice_is_read_twice_unless_once(probe):
    tree = Tree({"/main": "include /common\ninclude /common", "/common": "x"})
    walk = probe.IncludeWalk(tree.read, tree.glob)
    walk.visit("/main", include_lines(probe, walk, probe.IncludeRule("literal")))
    assert walk.files == ["/main", "/common", "/common"]
    assert walk.problems == []
    once = probe.IncludeWalk(tree.read, tree.glob, once=True)
    once.visit("/main", include_lines(probe, once, probe.IncludeRule("literal")))
    assert once.files == ["/main", "/common"]


def test_unreadable_files_are_recorded_as_missing(probe):
    tree = Tree({"/main": "include /gone\ninclude /here", "/here": ""})
    walk = probe.IncludeWalk(tree.read, tree.glob)
    walk.visit("/main", include_lines(probe, walk, probe.IncludeRule("literal")))
    assert walk.files == ["/main", "/here"]
    assert walk.missing == ["/gone"]


def test_globs_expand_in_sorted_order_relative_to_the_rule_base(probe):
    tree = Tree({"/etc/ssh/sshd_config": "include sshd_config.d/*.conf",
                 "/etc/ssh/sshd_config.d/20-b.conf": "", "/etc/ssh/sshd_config.d/10-a.conf": "",
                 "/etc/ssh/sshd_config.d/05-z.conf": "", "/etc/ssh/sshd_config.d/30.txt": ""})
    rule = probe.IncludeRule("glob", relative_to="/etc/ssh", absolute=("/", "~"))
    walk = probe.IncludeWalk(tree.read, tree.glob)
    walk.visit("/etc/ssh/sshd_config", include_lines(probe, walk, rule))
    assert walk.files == ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/05-z.conf",
                          "/etc/ssh/sshd_config.d/10-a.conf", "/etc/ssh/sshd_config.d/20-b.conf"]
    assert walk.resolve(rule, "~/x", "/etc/ssh/sshd_config") == "~/x"
    assert walk.resolve(rule, "/abs/x", "/etc/ssh/sshd_config") == "/abs/x"


def test_relative_paths_per_syntax(probe):
    walk = probe.IncludeWalk(lambda p: None, lambda p: [])
    here = probe.IncludeRule("literal", relative_to=probe.INCLUDER_DIR)
    assert walk.resolve(here, "extra.conf", "/etc/snmp/snmpd.conf") == "/etc/snmp/extra.conf"
    assert walk.resolve(probe.IncludeRule("literal", relative_to="/etc/pam.d"), "common-auth", "") == \
        "/etc/pam.d/common-auth"
    assert walk.resolve(probe.IncludeRule("glob"), "rel/*.conf", "/etc/chrony/chrony.conf") == "rel/*.conf"


def test_directory_includes_keep_each_syntax_rules(probe):
    tree = Tree({"/d/b": "", "/d/a.conf": "", "/d/.hidden": "", "/d/c.dpkg-old": "", "/d/x.rhn-cfg-tmp-1": "",
                 "/d/sub/inner": ""})
    walk = probe.IncludeWalk(tree.read, tree.glob, isdir=tree.isdir, listdir=tree.listdir, isfile=tree.isfile)
    logrotate = probe.IncludeRule("glob_or_dir", hidden=True, skip=("*.dpkg-old", "*.rhn-cfg-tmp-*"),
                                  files_only=True)
    assert walk.expand(logrotate, "/d", "/etc/logrotate.conf") == ["/d/.hidden", "/d/a.conf", "/d/b"]
    rsyslog = probe.IncludeRule("glob_or_dir", relative_to="/")
    assert walk.expand(rsyslog, "/d", "/etc/rsyslog.conf") == ["/d/a.conf", "/d/b", "/d/c.dpkg-old", "/d/sub",
                                                               "/d/x.rhn-cfg-tmp-1"]
    assert walk.expand(rsyslog, "/d/*.conf", "/etc/rsyslog.conf") == ["/d/a.conf"]
    snmpd_dir = probe.IncludeRule("dir", names="*.conf")
    assert walk.expand(snmpd_dir, "/d", "/etc/snmp/snmpd.conf") == ["/d/a.conf"]
    assert walk.expand(snmpd_dir, "/nodir", "/etc/snmp/snmpd.conf") == []


def test_unknown_expansion_is_refused(probe):
    with pytest.raises(ValueError, match="unknown include expansion"):
        probe.IncludeRule("regex")


# --- the syntaxes on the follower --------------------------------------------------------------------

def test_sshd_include_cycle_is_refused_as_sshd_refuses_it(probe):
    """sshd stops with "Too many recursive configuration includes": no effective value can be read."""
    tree = Tree({"/etc/ssh/sshd_config": "Include sshd_config.d/*.conf\nPermitRootLogin yes\n",
                 "/etc/ssh/sshd_config.d/a.conf": "PermitRootLogin no\nInclude /etc/ssh/sshd_config\n"})
    with pytest.raises(probe.IncludeProblem, match="it includes itself"):
        probe.sshd_effective("/etc/ssh/sshd_config", tree.read, tree.glob)


def test_pam_include_cycle_is_refused_as_libpam_aborts(probe):
    tree = Tree({"/etc/pam.d/common-password": "password requisite pam_pwquality.so minlen=12\n"
                                               "@include common-password\n"
                                               "password include other-password\n",
                 "/etc/pam.d/other-password": "password [success=1 default=ignore] pam_unix.so\n"})
    with pytest.raises(probe.IncludeProblem, match="common-password"):
        probe.resolve_pam("common-password", tree.read, "password")


def test_a_refused_include_makes_the_section_facts_errors_never_values(probe, tmp_path):
    """End to end through the probe: a PAM include cycle turns the password policy into errors, an sshd cycle the
    SSH facts; a guarded re-source in the shell start-up files is no problem."""
    etc = tmp_path / "etc"
    (etc / "pam.d").mkdir(parents=True)
    (etc / "pam.d" / "common-password").write_text("password requisite pam_pwquality.so minlen=14\n"
                                                   "@include common-password\n")
    (etc / "ssh" / "sshd_config.d").mkdir(parents=True)
    (etc / "ssh" / "sshd_config").write_text("Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n")
    (etc / "ssh" / "sshd_config.d" / "loop.conf").write_text("Include /etc/ssh/sshd_config\n")
    (etc / "profile").write_text("readonly TMOUT=600\nexport TMOUT\n")
    (etc / "bash.bashrc").write_text('[ -z "$PROFILEREAD" ] && . /etc/profile\n')
    document = probe.collect(str(tmp_path), offline=True)
    for pointer in ("/password_policy/min_length", "/remote_access/ssh/permit_root_login"):
        assert pointer in document["errors"], pointer
        assert "IncludeProblem" in document["errors"][pointer]
        assert not probe.has_pointer(document["facts"], pointer)
    assert "/login/idle_timeout/seconds" not in document["errors"]


def test_logrotate_include_of_a_directory_skips_taboo_names(probe, tmp_path):
    (tmp_path / "etc" / "logrotate.d").mkdir(parents=True)
    (tmp_path / "etc" / "logrotate.conf").write_text("weekly\nrotate 4\ninclude /etc/logrotate.d\n")
    (tmp_path / "etc" / "logrotate.d" / "syslog").write_text("/var/log/syslog {\n rotate 52\n}\n")
    (tmp_path / "etc" / "logrotate.d" / "syslog.dpkg-old").write_text("/var/log/syslog {\n rotate 1\n}\n")
    rules, files = probe.logrotate_rules(probe.Ctx(str(tmp_path)))
    assert files == ["/etc/logrotate.conf", "/etc/logrotate.d/syslog"]
    assert [r["settings"]["rotate"] for r in rules] == [52]
