"""sshd effective configuration: Include order, first value wins, Match blocks."""

from __future__ import annotations

import pytest


def eff_for(probe, ctx):
    return probe.sshd_effective("/etc/ssh/sshd_config", ctx.read, ctx.glob)


def test_vendor_dropin_before_site_dropin_wins(probe, ctx_for):
    ctx = ctx_for("sshd-first-wins")
    eff = eff_for(probe, ctx)
    value, source = probe.sshd_get(eff, "PermitRootLogin", "prohibit-password")
    # 00-vendor.conf is read first (sorted glob) -> its "yes" wins over 50-site.conf's "no"
    # and over the main file's later "no".
    assert value == "yes"
    assert source == "/etc/ssh/sshd_config.d/00-vendor.conf:2"
    # README does not match *.conf and is never read
    assert "/etc/ssh/sshd_config.d/README" not in eff["files"]
    assert eff["files"] == [
        "/etc/ssh/sshd_config",
        "/etc/ssh/sshd_config.d/00-vendor.conf",
        "/etc/ssh/sshd_config.d/50-site.conf",
    ]


def test_keywords_case_insensitive_equals_and_inline_comment(probe, ctx_for):
    eff = eff_for(probe, ctx_for("sshd-first-wins"))
    assert probe.sshd_get(eff, "passwordauthentication", "yes")[0] == "no"  # "PasswordAuthentication=no"
    # "MaxAuthTries  3   # inline comment" in 50-site.conf beats the main file's later "10"
    assert probe.sshd_get(eff, "MaxAuthTries", "6") == ("3", "/etc/ssh/sshd_config.d/50-site.conf:4")


def test_include_at_end_loses_to_earlier_main_file_values(probe, ctx_for):
    eff = eff_for(probe, ctx_for("sshd-include-after"))
    assert probe.sshd_get(eff, "PermitRootLogin", "prohibit-password")[0] == "no"
    assert probe.sshd_get(eff, "PrintLastLog", "yes")[0] == "no"
    # keywords only set in the late drop-in still apply (relative Include resolved under /etc/ssh)
    assert probe.sshd_get(eff, "PasswordAuthentication", "yes")[0] == "no"


def test_match_blocks_do_not_set_global_values(probe, ctx_for):
    eff = eff_for(probe, ctx_for("sshd-match"))
    # "Match User backup" sets yes, but only for that user; "Match all" re-opens the global
    # context, where "without-password" is the first global value.
    prl = probe.sshd_get(eff, "PermitRootLogin", "prohibit-password")
    assert prl == ("without-password", "/etc/ssh/sshd_config:9")
    assert probe.normalize_permit_root_login(prl[0]) == "prohibit-password"
    assert probe.sshd_get(eff, "PasswordAuthentication", "yes")[0] == "no"


def test_match_in_included_file_ends_with_that_file(probe, ctx_for):
    eff = eff_for(probe, ctx_for("sshd-match"))
    # 10-sftp.conf's "Match User sftponly / MaxAuthTries 1" stays inside that file;
    # 20-global.conf's MaxAuthTries 4 is global; "Match Group admins / MaxAuthTries 2" is not.
    assert probe.sshd_get(eff, "MaxAuthTries", "6") == ("4", "/etc/ssh/sshd_config.d/20-global.conf:1")


def test_include_inside_match_belongs_to_the_match(probe, ctx_for):
    eff = eff_for(probe, ctx_for("sshd-match"))
    # match.d/inside.conf is included from within "Match User backup": even its own
    # "Match all" cannot make its lines global.
    assert "/etc/ssh/match.d/inside.conf" in eff["files"]
    assert probe.sshd_get(eff, "Banner", "none") == ("none", "default")
    assert probe.sshd_get(eff, "PermitRootLogin", "x")[1] == "/etc/ssh/sshd_config:9"
    assert probe.sshd_get(eff, "MaxAuthTries", "6")[0] == "4"


def test_missing_config(probe, ctx_for):
    eff = eff_for(probe, ctx_for("rootfs-minimal"))
    assert eff["missing"] is True
    assert eff["values"] == {}


def test_split_quotes_and_equals(probe):
    assert probe.sshd_split('Banner "/etc/my banner"') == ("Banner", ["/etc/my banner"])
    assert probe.sshd_split("PermitRootLogin = no") == ("PermitRootLogin", ["no"])
    assert probe.sshd_split("   # PermitRootLogin yes") is None
    assert probe.sshd_split("AllowUsers a b #c d") == ("AllowUsers", ["a", "b"])


def test_password_auth_through_kbd_interactive_and_pam(probe, ctx_for):
    eff = eff_for(probe, ctx_for("sshd-kbd-pam"))
    # PasswordAuthentication no, but ChallengeResponseAuthentication (alias of
    # KbdInteractiveAuthentication) yes + UsePAM yes still asks PAM for the password.
    assert probe.sshd_password_auth(eff) is True
    eff2 = eff_for(probe, ctx_for("sshd-first-wins"))  # Debian: Kbd... no, PasswordAuthentication=no
    assert probe.sshd_password_auth(eff2) is False


def test_authentication_methods_publickey_only_disables_passwords(probe, ctx_for):
    eff = eff_for(probe, ctx_for("sshd-methods"))
    assert probe.sshd_password_auth(eff) is False


def test_collect_ssh_facts_and_banner(probe, ctx_for):
    ctx = ctx_for("sshd-first-wins")
    probe.collect_ssh(ctx)
    ssh = ctx.facts["remote_access"]["ssh"]
    assert ssh["permit_root_login"] == "yes"
    assert ssh["password_authentication"] is False
    assert ssh["max_auth_tries"] == 3
    assert ctx.facts["remote_access"]["privileged_remote_login"] is True
    assert ctx.facts["login"]["banner"] == "Authorized use only. 許可された利用者のみ\n"
    assert ctx.facts["login"]["last_login_shown"] is True
    # no /proc and no sockets under this fake root: "enabled" cannot be known
    assert "enabled" not in ssh
    assert "/remote_access/ssh/enabled" in ctx.errors


def test_collect_ssh_not_installed(probe, ctx_for):
    ctx = ctx_for("rootfs-minimal")
    probe.collect_ssh(ctx)
    assert ctx.facts["remote_access"]["ssh"]["enabled"] is False
    assert ctx.facts["remote_access"]["privileged_remote_login"] is False
    assert "/remote_access/ssh/permit_root_login" in ctx.errors


SSHD_DEFAULTS = {"permitrootlogin": "without-password", "passwordauthentication": "yes", "maxauthtries": "6",
                 "printlastlog": "yes", "banner": "none", "kbdinteractiveauthentication": "yes", "usepam": "no",
                 "authenticationmethods": "any"}


@pytest.mark.parametrize("case", ["sshd-first-wins", "sshd-include-after", "sshd-match", "sshd-kbd-pam",
                                  "sshd-methods"])
def test_parser_agrees_with_real_sshd(probe, ctx_for, fixtures, case):
    """fixtures/<case>/sshd-T.txt was recorded with the real `sshd -T` (OpenSSH 9.2p1, Debian 12)."""
    expected = {}
    for line in (fixtures / case / "sshd-T.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.split(" ", 1)
            expected[key] = value
    assert set(expected) == set(SSHD_DEFAULTS)
    eff = eff_for(probe, ctx_for(case))
    got = {k: probe.sshd_get(eff, k, d)[0].lower() for k, d in SSHD_DEFAULTS.items()}
    assert got == expected
