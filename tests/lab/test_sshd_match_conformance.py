"""The probe's sshd parser against the real sshd, per connection context.

Hand-written configurations with Match blocks (in included files before the global lines, negations, CIDR
networks, Match all, an Include inside a Match, a Group, LocalPort/LocalAddress/Host) are written to a
scratch directory on a clean lab host. For the global context and for every Match block the parser finds,
the real `sshd -T -f … [-C spec]` (OpenSSH of Debian 12) must give the values the parser gives for the
connection the probe synthesizes. This is what the probe falls back to when `sshd -T` cannot run, so it has
to agree with sshd wherever sshd can answer.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import testinfra
from tests.lab.labtools import LAB_STATE

from hardening.platforms.linux import probe

HOST = "jumin-ap01"
SCRATCH = "/tmp/hardening-sshd-conformance"
HOSTKEYS = "HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n"
KEYWORDS = {"PermitRootLogin": "prohibit-password", "PasswordAuthentication": "yes", "MaxAuthTries": "6",
            "Banner": "none", "KbdInteractiveAuthentication": "yes", "ClientAliveInterval": "0",
            "PrintLastLog": "yes"}

CASES: dict[str, dict[str, str]] = {
    "address-and-user": {
        "sshd_config": HOSTKEYS + "Include {dir}/d/*.conf\nPermitRootLogin no\nPasswordAuthentication no\n"
                       "Banner /etc/issue.net\nMatch User backup,!root\n    Banner none\n"
                       "    PasswordAuthentication yes\n",
        "d/10-maint.conf": "# a Match in a drop-in read before the global lines\n"
                           "Match Address 10.0.0.0/8,!10.9.0.0/16\n    PermitRootLogin yes\n    MaxAuthTries 2\n",
        "d/20-late.conf": "MaxAuthTries 4\n",
    },
    "match-all-and-nested": {
        "sshd_config": HOSTKEYS + "PermitRootLogin no\nMaxAuthTries 3\nMatch Group root\n"
                       "    Include {dir}/inner/*.conf\nMatch all\n    PermitRootLogin prohibit-password\n",
        "inner/a.conf": "MaxAuthTries 5\nMatch LocalPort 2222\n    PasswordAuthentication yes\n"
                        "Match all\n    ClientAliveInterval 60\n",
    },
    "first-block-wins": {
        "sshd_config": HOSTKEYS + "PasswordAuthentication no\nMatch Host *.example.org\n    MaxAuthTries 7\n"
                       "Match User ops*\n    MaxAuthTries 8\n    PermitRootLogin forced-commands-only\n"
                       "Match LocalAddress 192.168.10.0/24\n    Banner none\n",
    },
}


@pytest.fixture(scope="module")
def host(lab: dict[str, Any]) -> Any:
    extra = ("-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
             "-o ControlPath=/tmp/hardening-sshdconf-%C -o ControlPersist=30")
    h = testinfra.get_host(f"ssh://hardening@{lab['hosts'][HOST]['hostname']}",
                           ssh_identity_file=str(LAB_STATE / "ssh" / "id_ed25519"), ssh_extra_args=extra, sudo=True)
    yield h
    h.run(f"rm -rf {SCRATCH}")


def sshd_t(host: Any, main: str, spec: str | None) -> dict[str, str]:
    cmd = f"sshd -T -f {main}" + (f" -C {spec}" if spec else "")
    out = host.check_output(cmd)
    values: dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        values.setdefault(key, value.strip())
    return values


def parser_view(values: dict[str, Any]) -> dict[str, str]:
    eff = {"values": values}
    out = {k.lower(): probe.sshd_get(eff, k, d)[0].lower() for k, d in KEYWORDS.items()}
    out["permitrootlogin"] = probe.normalize_permit_root_login(out["permitrootlogin"])
    return out


def sshd_view(values: dict[str, str]) -> dict[str, str]:
    out = {k.lower(): values[k.lower()].lower() for k in KEYWORDS}
    out["permitrootlogin"] = probe.normalize_permit_root_login(out["permitrootlogin"])
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_parser_agrees_with_sshd_in_every_context(case: str, host: Any, tmp_path: Path) -> None:
    base = f"{SCRATCH}/{case}"
    for rel, text in CASES[case].items():
        body = text.replace("{dir}", base)
        target = tmp_path / base.lstrip("/") / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
        encoded = base64.b64encode(body.encode()).decode()
        host.check_output(f"mkdir -p $(dirname {base}/{rel}) && echo {encoded} | base64 -d > {base}/{rel}")
    for account_file in ("/etc/passwd", "/etc/group"):
        local = tmp_path / account_file.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(host.file(account_file).content_string, encoding="utf-8")
    ctx = probe.Ctx(str(tmp_path))
    main = f"{base}/sshd_config"
    eff = probe.sshd_effective(main, ctx.read, ctx.glob)
    assert eff["contexts"], "the case must define Match blocks"
    disagreements = []
    if parser_view(eff["values"]) != sshd_view(sshd_t(host, main, None)):
        disagreements.append(("global", parser_view(eff["values"]), sshd_view(sshd_t(host, main, None))))
    members = probe.host_group_members(ctx)
    for context in eff["contexts"]:
        spec = probe.sshd_connection_spec(context["criteria"], members)
        assert spec is not None, context["label"]
        ours, theirs = parser_view(context["values"]), sshd_view(sshd_t(host, main, spec))
        if ours != theirs:
            disagreements.append((context["label"], spec, ours, theirs))
    assert disagreements == []
