"""Password quality (libpwquality semantics) and account lockout from PAM."""

from __future__ import annotations

import pytest


def policy(probe, ctx_for, case):
    ctx = ctx_for(case)
    probe.collect_password_policy(ctx)
    return ctx


def test_dropin_positive_credits_shorten_minimum(probe, ctx_for):
    ctx = policy(probe, ctx_for, "pam-dropin-credits")
    pp = ctx.facts["password_policy"]
    # 50-site.conf (after 10-base.conf) sets minlen 8 with dcredit 1 + ucredit 1 -> 6;
    # 90-ignored.conf.disabled is not a *.conf file.
    assert pp["min_length"] == 6
    assert pp["min_char_classes"] == 3
    assert pp["enforced"] is True
    assert pp["enforce_for_root"] is False


def test_main_file_overrides_dropins(probe, ctx_for):
    # libpwquality reads pwquality.conf.d/*.conf FIRST and pwquality.conf LAST.
    pp = policy(probe, ctx_for, "pam-main-wins").facts["password_policy"]
    assert pp["min_length"] == 12
    # dcredit -1, ocredit -1 (main) and ucredit -1 (drop-in): 3 required classes
    assert pp["min_char_classes"] == 3


def test_module_arguments_override_files(probe, ctx_for):
    pp = policy(probe, ctx_for, "pam-args").facts["password_policy"]
    assert pp["min_length"] == 13  # minlen=15 on the PAM line (not 10 from the file), dcredit=2
    assert pp["enforce_for_root"] is True


def test_optional_pwquality_is_not_enforced(probe, ctx_for):
    pp = policy(probe, ctx_for, "pam-not-enforced").facts["password_policy"]
    assert pp["enforced"] is False
    assert pp["min_length"] == 12


def test_cracklib_defaults_and_substack(probe, ctx_for):
    pp = policy(probe, ctx_for, "pam-rhel-cracklib").facts["password_policy"]
    # pam_cracklib (found through "password substack password-common", "-password" line, full
    # module path) ignores pwquality.conf (minlen 20): defaults minlen 9, all credits 1 -> 9-4=5,
    # lifted to the floor of 6.
    assert pp["enforced"] is True
    assert pp["min_length"] == 6


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"minlen": 8}, 8),
        ({"minlen": 8, "dcredit": 1, "ucredit": 1}, 6),
        ({"minlen": 4}, 6),  # minlen below 6 is clamped by libpwquality
        ({"minlen": 14, "dcredit": 4, "ucredit": 4, "lcredit": 4, "ocredit": 4}, 7),  # ceil(14/2)
        ({"minlen": 6, "dcredit": -8}, 8),  # 8 digits required
        ({"minlen": 9, "dcredit": 3, "dictcheck": 0}, 6),
        ({"minlen": 8, "dcredit": 3, "ucredit": 3, "dictcheck": 0}, 4),
    ],
)
def test_min_length_formula(probe, settings, expected):
    s = probe.merge_pw_settings(probe.PWQUALITY_DEFAULTS, {k: str(v) for k, v in settings.items()})
    assert probe.password_min_length(s) == expected


def test_min_classes_formula(probe):
    s = probe.merge_pw_settings(probe.PWQUALITY_DEFAULTS, {"minclass": "2", "dcredit": "-1", "ucredit": "-1",
                                                           "ocredit": "-2"})
    assert probe.password_min_classes(s) == 3
    s = probe.merge_pw_settings(probe.PWQUALITY_DEFAULTS, {"minclass": "9"})
    assert probe.password_min_classes(s) == 4


def test_parse_pam_brackets_comments_and_includes(probe):
    entries = probe.parse_pam(
        "password [success=1 default=ignore] pam_unix.so obscure # trailing\n"
        "@include common-foo\n"
        "-session optional pam_systemd.so\n"
        "# password requisite pam_pwquality.so\n"
    )
    assert entries[0]["control"] == "[success=1 default=ignore]"
    assert entries[0]["args"] == ["obscure"]
    assert entries[1] == {"type": "@include", "target": "common-foo", "line": 2}
    assert entries[2]["type"] == "session"
    assert len(entries) == 3


def test_pam_control_enforcing(probe):
    assert probe.pam_control_enforces("requisite")
    assert probe.pam_control_enforces("required")
    assert probe.pam_control_enforces("[success=ok default=die]")
    assert not probe.pam_control_enforces("optional")
    assert not probe.pam_control_enforces("[success=1 default=ignore]")


def lockout(probe, ctx_for, case):
    ctx = ctx_for(case)
    probe.collect_lockout(ctx)
    return ctx


def test_faillock_conf_with_module_args_override(probe, ctx_for):
    ctx = lockout(probe, ctx_for, "pam-faillock")
    assert ctx.facts["login"]["lockout_threshold"] == 4  # authfail deny=4 beats faillock.conf deny=5
    assert ctx.facts["login"]["lockout_duration_seconds"] == 900


def test_faillock_unlock_never_through_include(probe, ctx_for):
    ctx = lockout(probe, ctx_for, "pam-faillock-never")
    assert ctx.facts["login"]["lockout_threshold"] == 3  # default deny
    assert ctx.facts["login"]["lockout_duration_seconds"] == 0


def test_commented_faillock_means_no_lockout(probe, ctx_for):
    ctx = lockout(probe, ctx_for, "pam-faillock-commented")
    assert ctx.facts["login"]["lockout_threshold"] == 0
    assert ctx.facts["login"]["lockout_duration_seconds"] is None  # known: no lockout, so no duration
    assert "/login/lockout_duration_seconds" not in ctx.errors


def test_pam_tally2(probe, ctx_for):
    ctx = lockout(probe, ctx_for, "pam-rhel-cracklib")
    assert ctx.facts["login"]["lockout_threshold"] == 5
    assert ctx.facts["login"]["lockout_duration_seconds"] == 1200


def test_no_pam_at_all_is_an_error(probe, ctx_for):
    ctx = ctx_for("rootfs-minimal")
    probe.collect_password_policy(ctx)
    probe.collect_lockout(ctx)
    assert "password_policy" not in ctx.facts
    assert set(ctx.errors) >= {"/password_policy/enforced", "/password_policy/min_length",
                               "/login/lockout_threshold"}
