"""Login facts over hand-written fake roots: sshd Match contexts, TMOUT as a login shell gets it, banners.

Each case is a small root filesystem written into tmp_path with the syntax real Debian hosts carry, and
the verdict is checked with the catalog's own requirement schema, so both directions are tested.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hardening.core.catalog import load_catalog, substitute

REPO = Path(__file__).resolve().parents[3]
CATALOG = load_catalog(REPO / "schemas" / "requirements")

DEBIAN_PROFILE = (Path(__file__).parent / "fixtures" / "rootfs-debian12" / "etc" / "profile").read_text()
WARNING = (
    "本システムは坂戸市の許可された利用者のみ利用できます。不正な利用は禁止されており、操作は記録・監視されています。\n"
)
SSHD_MAIN = "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n"
BASE_SSHD = "PermitRootLogin no\nBanner /etc/issue.net\nPrintLastLog yes\nPasswordAuthentication no\n"


def make_root(tmp_path: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = tmp_path / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return tmp_path


def verdict(requirement: str, facts: dict[str, Any]) -> list[str]:
    """Pointers where the facts fail the requirement (defaults for the parameters); [] = pass."""
    req = CATALOG[requirement]
    values = {name: p.default for name, p in req.parameters.items()}
    schema = substitute(req.schema, values)
    errors = Draft202012Validator(schema).iter_errors(facts)
    return sorted("/" + "/".join(str(x) for x in e.absolute_path) for e in errors)


def evidence_text(ctx: Any, pointer: str) -> str:
    return json.dumps(ctx.evidence.get(pointer, []), ensure_ascii=False)


# --- sshd Match blocks ------------------------------------------------------------------------------------

def ssh_ctx(probe: Any, tmp_path: Path, dropins: dict[str, str], main: str = SSHD_MAIN) -> Any:
    files = {"/etc/ssh/sshd_config": main, "/etc/issue.net": WARNING, "/etc/issue": WARNING}
    files.update({"/etc/ssh/sshd_config.d/" + k: v for k, v in dropins.items()})
    ctx = probe.Ctx(str(make_root(tmp_path, files)))
    probe.collect_ssh(ctx)
    return ctx


@pytest.mark.parametrize("value", ["yes", "prohibit-password", "without-password"])
def test_match_address_permits_root_is_not_compliant(probe, tmp_path, value):
    ctx = ssh_ctx(probe, tmp_path, {"10-site.conf": f"Match Address 10.0.0.0/8\n    PermitRootLogin {value}\n",
                                    "50-sakado.conf": BASE_SSHD})
    ssh = ctx.facts["remote_access"]["ssh"]
    assert ssh["permit_root_login"] == probe.normalize_permit_root_login(value)
    assert ctx.facts["remote_access"]["privileged_remote_login"] is True
    by_context = {c["context"]: c["permit_root_login"] for c in ssh["contexts"]}
    label = "Match Address 10.0.0.0/8 (/etc/ssh/sshd_config.d/10-site.conf:1)"
    assert by_context == {"global (no Match block applies)": "no", label: probe.normalize_permit_root_login(value)}
    assert label in evidence_text(ctx, "/remote_access/ssh/permit_root_login")
    assert verdict("PRIV-REMOTE-ROOT", ctx.facts) == ["/remote_access/ssh/permit_root_login"]


def test_match_with_no_everywhere_passes(probe, tmp_path):
    ctx = ssh_ctx(probe, tmp_path, {"50-sakado.conf": BASE_SSHD + "Match User backup,!root Group adm\n"
                                    "    PermitRootLogin no\n    ForceCommand internal-sftp\n"})
    assert ctx.facts["remote_access"]["ssh"]["permit_root_login"] == "no"
    assert len(ctx.facts["remote_access"]["ssh"]["contexts"]) == 2
    assert verdict("PRIV-REMOTE-ROOT", ctx.facts) == []


def test_match_value_beats_an_earlier_global_value(probe, tmp_path):
    # The global "no" is read first, but per connection sshd copies the matching block's values over it.
    ctx = ssh_ctx(probe, tmp_path, {"50-sakado.conf": BASE_SSHD},
                  main=SSHD_MAIN + "Match User deploy LocalPort 2222\n  PasswordAuthentication yes\n"
                  "  MaxAuthTries 10\n  Banner none\n")
    ssh = ctx.facts["remote_access"]["ssh"]
    assert ssh["password_authentication"] is True
    assert ssh["max_auth_tries"] == 10
    assert ctx.facts["login"]["banner"] is None
    assert ctx.facts["login"]["last_login_shown"] is True  # PrintLastLog is global-only in sshd
    [missing] = [b for b in ctx._cache["ssh_banners"] if b["text"] is None]
    assert missing["context"].startswith("Match User deploy LocalPort 2222 (/etc/ssh/sshd_config:4)")


def test_match_all_overrides_the_global_value_for_everyone(probe, tmp_path):
    ctx = ssh_ctx(probe, tmp_path, {"50-sakado.conf": BASE_SSHD + "Match all\nPermitRootLogin yes\n"})
    eff = probe.sshd_effective("/etc/ssh/sshd_config", ctx.read, ctx.glob)
    assert probe.sshd_get(eff, "PermitRootLogin", "x")[0] == "yes"  # what `sshd -T` prints
    assert ctx.facts["remote_access"]["ssh"]["permit_root_login"] == "yes"


def test_first_matching_block_wins_and_include_inside_match(probe, tmp_path):
    ctx = ssh_ctx(probe, tmp_path, {"50-sakado.conf": BASE_SSHD},
                  main=SSHD_MAIN + "Match Group admins\n  Include /etc/ssh/admins.d/*.conf\n")
    make_root(tmp_path, {"/etc/ssh/admins.d/a.conf": "MaxAuthTries 3\nMatch Host *.lab\n  PermitRootLogin yes\n"})
    probe.collect_ssh(ctx)
    rows = {c["context"]: c for c in ctx.facts["remote_access"]["ssh"]["contexts"]}
    inner = [k for k in rows if k.startswith("Match Host *.lab")]
    assert inner
    assert "inside Match Group admins (/etc/ssh/sshd_config:4)" in inner[0]
    assert rows[inner[0]]["permit_root_login"] == "yes"
    assert rows["Match Group admins (/etc/ssh/sshd_config:4)"]["max_auth_tries"] == 3
    assert rows["Match Group admins (/etc/ssh/sshd_config:4)"]["permit_root_login"] == "no"


def test_connection_spec_synthesis(probe):
    members = lambda pats: [("alice", "admins")] if "admins" in pats else []  # noqa: E731
    spec = probe.sshd_connection_spec(["Address", "10.0.0.0/8"], members)
    assert "addr=10.0.0.1" in spec
    assert "user=" in spec
    assert "host=" in spec
    assert "user=admx" in probe.sshd_connection_spec(["User", "!root,adm*"], members)
    assert "user=alice" in probe.sshd_connection_spec(["Group", "admins", "LocalPort", "2222"], members)
    assert "lport=2222" in probe.sshd_connection_spec(["Group", "admins", "LocalPort", "2222"], members)
    assert "laddr=192.168.1.1" in probe.sshd_connection_spec(["LocalAddress", "192.168.1.0/24"], members)
    assert probe.sshd_connection_spec(["Group", "nobody-is-in-it"], members) is None
    assert probe.sshd_connection_spec(["User", "!*"], members) is None
    assert probe.sshd_connection_spec(["Frobnicate", "x"], members) is None


class FakeRun:
    """ctx.run for sshd -T: answers per argv, records the calls."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], timeout: float = 5.0) -> Any:
        self.calls.append(argv)
        return self.answers.get(" ".join(argv[:3]) if len(argv) > 2 else " ".join(argv))


def test_live_host_prefers_sshd_t(probe, tmp_path):
    ctx = probe.Ctx(str(make_root(tmp_path, {
        "/etc/ssh/sshd_config": SSHD_MAIN, "/etc/issue.net": WARNING, "/etc/issue": WARNING,
        "/etc/ssh/sshd_config.d/50-sakado.conf": BASE_SSHD + "Match Address 10.0.0.0/8\n  PermitRootLogin yes\n"})))
    ctx.commands = True
    cmd = probe.CmdResult
    global_out = "permitrootlogin no\nbanner /etc/issue.net\nprintlastlog yes\npasswordauthentication no\n"
    match_out = "permitrootlogin without-password\nbanner /etc/issue.net\nprintlastlog yes\n"
    fake = FakeRun({"sshd -T": cmd(0, global_out, "", ["sshd", "-T"]),
                    "sshd -T -C": cmd(0, match_out, "", ["sshd", "-T", "-C"])})
    ctx.run = fake
    probe.collect_ssh(ctx)
    ssh = ctx.facts["remote_access"]["ssh"]
    assert ssh["permit_root_login"] == "prohibit-password"  # sshd's answer, not the parser's "yes"
    assert [c["how"].split(" user=")[0] for c in ssh["contexts"]] == ["sshd -T", "sshd -T -C"]
    assert any(c[:3] == ["sshd", "-T", "-C"] and "addr=10.0.0.1" in c[3] for c in fake.calls)
    assert "Match Address 10.0.0.0/8" in evidence_text(ctx, "/remote_access/ssh/permit_root_login")


def test_sshd_t_failure_falls_back_to_the_parser_and_says_so(probe, tmp_path):
    ctx = probe.Ctx(str(make_root(tmp_path, {
        "/etc/ssh/sshd_config": SSHD_MAIN, "/etc/issue.net": WARNING,
        "/etc/ssh/sshd_config.d/50-sakado.conf": BASE_SSHD + "Match Address 10.0.0.0/8\n  PermitRootLogin yes\n"})))
    ctx.commands = True
    ctx.run = FakeRun({"sshd -T": probe.CmdResult(1, "", "sshd: no hostkeys available -- exiting.", ["sshd", "-T"])})
    probe.collect_ssh(ctx)
    ssh = ctx.facts["remote_access"]["ssh"]
    assert ssh["permit_root_login"] == "yes"
    assert {c["how"] for c in ssh["contexts"]} == {"parser"}
    assert "no hostkeys available" in evidence_text(ctx, "/remote_access/ssh")


def test_existing_match_fixture_contexts(probe, ctx_for):
    ctx = ctx_for("sshd-match")
    probe.collect_ssh(ctx)
    rows = {c["context"].split(" (")[0]: c for c in ctx.facts["remote_access"]["ssh"]["contexts"]}
    assert rows["Match User backup"]["permit_root_login"] == "yes"
    assert rows["Match Group admins"]["max_auth_tries"] == 2
    assert rows["Match User sftponly"]["max_auth_tries"] == 1
    assert ctx.facts["remote_access"]["ssh"]["permit_root_login"] == "yes"
    assert ctx.facts["remote_access"]["ssh"]["max_auth_tries"] == 9  # match.d/inside.conf's Match all, in backup


# --- TMOUT ------------------------------------------------------------------------------------------------

def tmout(probe: Any, tmp_path: Path, files: dict[str, str]) -> Any:
    ctx = probe.Ctx(str(make_root(tmp_path, files)))
    probe.collect_idle_timeout(ctx)
    return ctx


def test_tmout_readonly_exported_in_profile_d_passes(probe, tmp_path):
    ctx = tmout(probe, tmp_path, {"/etc/profile": DEBIAN_PROFILE,
                                  "/etc/profile.d/99-tmout.sh": "readonly TMOUT=900; export TMOUT\n"})
    assert ctx.facts["login"]["idle_timeout"] == {"seconds": 900, "readonly": True, "exported": True,
                                                  "source": "/etc/profile.d/99-tmout.sh:1"}
    assert verdict("LOGIN-TIMEOUT", ctx.facts) == []


@pytest.mark.parametrize(("files", "failing"), [
    # not readonly: a user can unset it
    ({"/etc/profile.d/99-tmout.sh": "TMOUT=900\nexport TMOUT\n"}, ["/login/idle_timeout/readonly"]),
    # not exported
    ({"/etc/profile.d/99-tmout.sh": "TMOUT=900\nreadonly TMOUT\n"}, ["/login/idle_timeout/exported"]),
    # a file /etc/profile's loop does not read (not *.sh)
    ({"/etc/profile.d/tmout": "readonly TMOUT=900\nexport TMOUT\n"}, ["/login/idle_timeout/exported",
                                                                      "/login/idle_timeout/readonly",
                                                                      "/login/idle_timeout/seconds"]),
    # a later file unsets it (it was not readonly yet)
    ({"/etc/profile.d/10-tmout.sh": "TMOUT=900\nexport TMOUT\n", "/etc/profile.d/20-x.sh": "unset TMOUT\n",
      "/etc/profile.d/30-ro.sh": "readonly TMOUT\n"},
     ["/login/idle_timeout/exported", "/login/idle_timeout/seconds"]),
    # TMOUT=0 last
    ({"/etc/profile.d/10-tmout.sh": "export TMOUT=900\n", "/etc/profile.d/20-x.sh": "declare -rx TMOUT=0\n"},
     ["/login/idle_timeout/seconds"]),
    # bash.bashrc (read by /etc/profile before the loop) makes a longer value readonly first
    ({"/etc/bash.bashrc": "readonly TMOUT=3600\n", "/etc/profile.d/99-tmout.sh": "readonly TMOUT=900\nexport TMOUT\n"},
     ["/login/idle_timeout/seconds"]),
    # only under a condition: not counted
    ({"/etc/profile.d/99-tmout.sh": 'if [ "$(id -u)" -ne 0 ]; then\n  readonly TMOUT=900\n  export TMOUT\nfi\n'},
     ["/login/idle_timeout/exported", "/login/idle_timeout/readonly", "/login/idle_timeout/seconds"]),
])
def test_tmout_that_does_not_hold_fails_with_the_reason(probe, tmp_path, files, failing):
    ctx = tmout(probe, tmp_path, {"/etc/profile": DEBIAN_PROFILE, **files})
    assert verdict("LOGIN-TIMEOUT", ctx.facts) == failing


@pytest.mark.parametrize(("line", "seconds"), [
    ("[ -n \"$PS1\" ] && readonly TMOUT=900; export TMOUT", None),     # only after a test: not counted
    ("readonly TMOUT=900; export TMOUT", 900),
    ("declare -rx TMOUT=600", 600),
    ("typeset -r -x TMOUT='300'", 300),
    (": # hardening LOGIN-TIMEOUT: TMOUT=3600", None),                 # neutralised by the fix
    ("TMOUT=900 some-command", None),                                  # only in some-command's environment
])
def test_tmout_statement_forms(probe, tmp_path, line, seconds):
    ctx = tmout(probe, tmp_path, {"/etc/profile": DEBIAN_PROFILE, "/etc/profile.d/99-tmout.sh": line + "\n"})
    assert ctx.facts["login"]["idle_timeout"]["seconds"] == seconds


def test_tmout_readonly_first_wins_over_later_changes(probe, tmp_path):
    ctx = tmout(probe, tmp_path, {"/etc/profile": DEBIAN_PROFILE,
                                  "/etc/profile.d/10-tmout.sh": "TMOUT=600\nreadonly TMOUT\nexport TMOUT\n",
                                  "/etc/profile.d/50-app.sh": "unset TMOUT\nTMOUT=0\n"})
    assert ctx.facts["login"]["idle_timeout"]["seconds"] == 600
    assert "readonly, so this fails" in evidence_text(ctx, "/login/idle_timeout")
    assert verdict("LOGIN-TIMEOUT", ctx.facts) == []


def test_profile_without_the_loop_reads_no_profile_d(probe, tmp_path):
    ctx = tmout(probe, tmp_path, {"/etc/profile": "export PATH=/usr/bin:/bin\n",
                                  "/etc/profile.d/99-tmout.sh": "readonly TMOUT=900; export TMOUT\n"})
    assert ctx.facts["login"]["idle_timeout"]["seconds"] is None
    assert "not read by a login shell" in evidence_text(ctx, "/login/idle_timeout")
    # bash.bashrc counts only when /etc/profile sources it
    ctx = tmout(probe, tmp_path, {"/etc/bash.bashrc": "readonly TMOUT=900; export TMOUT\n"})
    assert ctx.facts["login"]["idle_timeout"]["seconds"] is None
    ctx = tmout(probe, tmp_path, {"/etc/profile": DEBIAN_PROFILE})
    assert ctx.facts["login"]["idle_timeout"] == {"seconds": 900, "readonly": True, "exported": True,
                                                  "source": "/etc/bash.bashrc:1"}


# --- banners ----------------------------------------------------------------------------------------------

def banners(probe: Any, tmp_path: Path, files: dict[str, str]) -> Any:
    base = {"/etc/ssh/sshd_config": SSHD_MAIN, "/etc/ssh/sshd_config.d/50-sakado.conf": BASE_SSHD,
            "/etc/issue.net": WARNING, "/etc/issue": WARNING}
    base.update(files)
    ctx = probe.Ctx(str(make_root(tmp_path, base)))
    probe.collect_ssh(ctx)
    probe.collect_login_banners(ctx)
    return ctx


def test_issue_escapes_removed(probe):
    assert probe.issue_display_text("Debian GNU/Linux 12 \\n \\l\n\n") == "Debian GNU/Linux 12"
    assert probe.issue_display_text("\\S{PRETTY_NAME} \\r \\m \\d \\t \\4{eth0}\n") == ""


def test_warning_everywhere_passes(probe, tmp_path):
    ctx = banners(probe, tmp_path, {})
    assert [b["surface"] for b in ctx.facts["login"]["banners"]] == ["ssh", "console"]
    assert "GDM not installed" in evidence_text(ctx, "/login/banners")
    assert verdict("LOGIN-BANNER", ctx.facts) == []


@pytest.mark.parametrize(("files", "failing"), [
    ({"/etc/issue": "Debian GNU/Linux 12 \\n \\l\n\n"}, ["/login/banners/1/text"]),
    # long, but only names the OS and the host
    ({"/etc/issue": "Debian GNU/Linux 12 (bookworm) \\n \\l - web01.sakado.local - kernel \\r\n"},
     ["/login/banners/1/text"]),
    ({"/etc/issue.net": "Debian GNU/Linux 12\n"}, ["/login/banners/0/text"]),
    ({"/etc/ssh/sshd_config.d/50-sakado.conf": BASE_SSHD + "Match Address 10.0.0.0/8\n  Banner none\n"},
     ["/login/banners/1/text"]),
])
def test_banner_without_warning_fails(probe, tmp_path, files, failing):
    ctx = banners(probe, tmp_path, files)
    assert verdict("LOGIN-BANNER", ctx.facts) == failing


GDM_DEFAULTS = ("[org/gnome/login-screen]\n# banner-message-enable=true\n"
                "logo='/usr/share/images/vendor-logos/logo.png'\n")


def test_gdm_present_without_banner_fails_and_with_banner_passes(probe, tmp_path):
    files = {"/usr/sbin/gdm3": "", "/etc/gdm3/greeter.dconf-defaults": GDM_DEFAULTS}
    ctx = banners(probe, tmp_path, files)
    gui = ctx.facts["login"]["banners"][2]
    assert gui["surface"] == "gui"
    assert gui["text"] is None
    assert verdict("LOGIN-BANNER", ctx.facts) == ["/login/banners/2/text"]
    files["/etc/dconf/db/gdm.d/01-banner"] = ("[org/gnome/login-screen]\nbanner-message-enable=true\n"
                                             "banner-message-text='許可された利用者以外の利用を禁止します。'\n")
    ctx = banners(probe, tmp_path, files)
    assert ctx.facts["login"]["banners"][2]["text"] == "許可された利用者以外の利用を禁止します。"
    assert verdict("LOGIN-BANNER", ctx.facts) == []
    # the system db comes first in the gdm profile: it beats the greeter defaults
    files["/etc/gdm3/greeter.dconf-defaults"] = "[org/gnome/login-screen]\nbanner-message-enable=true\n"
    files["/etc/dconf/db/gdm.d/01-banner"] = "[org/gnome/login-screen]\nbanner-message-enable=false\n"
    ctx = banners(probe, tmp_path, files)
    assert ctx.facts["login"]["banners"][2]["text"] is None
