"""Secrets come from the environment or an ansible-vault file and never print."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from hardening.core.errors import SecretError
from hardening.core.secrets import REDACTOR, RedactingFilter, Redactor, Secret, SecretStore


def test_secret_does_not_print() -> None:
    secret = Secret("s3cret-enable-pass")
    assert "s3cret" not in repr(secret)
    assert "s3cret" not in str(secret)
    assert "s3cret" not in f"{secret}"
    assert secret.reveal() == "s3cret-enable-pass"


def test_env_credentials() -> None:
    store = SecretStore(environ={"HARDENING_CRED_CORE_SW_USERNAME": "admin",
                                 "HARDENING_CRED_CORE_SW_PASSWORD": "pa55-w0rd-xyz"})
    creds = store.credentials("core-sw")
    assert creds.username == "admin"
    assert creds.password is not None
    assert creds.password.reveal() == "pa55-w0rd-xyz"
    assert "pa55" not in repr(creds)
    assert REDACTOR.scrub("login with pa55-w0rd-xyz failed") == "login with *** failed"


def test_vault_credentials(tmp_path: Path) -> None:
    password = b"vault-pass-for-test"
    plain = b"credentials:\n  lab:\n    username: hardening\n    password: from-the-vault-123\n"
    (tmp_path / "vault.yml").write_bytes(VaultLib([("default", VaultSecret(password))]).encrypt(plain))
    (tmp_path / "pass").write_bytes(password)
    store = SecretStore(str(tmp_path / "vault.yml"), str(tmp_path / "pass"), environ={})
    creds = store.credentials("lab")
    assert creds.password is not None
    assert creds.password.reveal() == "from-the-vault-123"
    assert b"from-the-vault" not in (tmp_path / "vault.yml").read_bytes()


def test_wrong_vault_password_names_file_not_content(tmp_path: Path) -> None:
    plain = b"credentials:\n  lab:\n    username: u\n    password: topsecret-value-1\n"
    (tmp_path / "vault.yml").write_bytes(VaultLib([("default", VaultSecret(b"right"))]).encrypt(plain))
    (tmp_path / "pass").write_bytes(b"wrong")
    store = SecretStore(str(tmp_path / "vault.yml"), str(tmp_path / "pass"), environ={})
    with pytest.raises(SecretError) as info:
        store.credentials("lab")
    assert "vault.yml" in str(info.value)
    assert "topsecret" not in str(info.value)


def test_missing_credentials_named() -> None:
    with pytest.raises(SecretError) as info:
        SecretStore(environ={}).credentials("nosuch")
    assert "nosuch" in str(info.value)


def test_log_records_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    Secret("enable-secret-777")
    logger = logging.getLogger("hardening.test")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="hardening.test"):
        logger.info("sending %s to the device", "enable-secret-777")
    assert "enable-secret-777" not in caplog.text
    assert "***" in caplog.text


@pytest.mark.parametrize(("plain", "where"), [
    # A second entry of one name would silently replace the first (issue 6, item 8: one YAML loader for all).
    (b"credentials:\n  lab:\n    username: u\n    password: first-secret-1\n  lab:\n    username: v\n"
     b"    password: second-secret-2\n", "/credentials/lab (line 5)"),
    # An unquoted password that YAML reads as a number NaN: refused, and the value is never echoed.
    (b"credentials:\n  lab:\n    username: u\n    password: .NaN\n", "/credentials/lab/password (line 4)"),
])
def test_vault_content_is_read_by_the_strict_loader(tmp_path: Path, plain: bytes, where: str) -> None:
    (tmp_path / "vault.yml").write_bytes(VaultLib([("default", VaultSecret(b"right"))]).encrypt(plain))
    (tmp_path / "pass").write_bytes(b"right")
    store = SecretStore(str(tmp_path / "vault.yml"), str(tmp_path / "pass"), environ={})
    with pytest.raises(SecretError) as info:
        store.credentials("lab")
    message = str(info.value)
    assert "vault.yml" in message
    assert where in message
    for value in ("first-secret", "second-secret", "NaN"):
        assert value not in message


def test_config_secrets_are_masked_in_diffs() -> None:
    """SNMP communities and USM passphrases never reach a plan: the Ansible bridge masks them in every diff."""
    from hardening.core.secrets import mask_config_secrets
    from hardening.engines.ansible import _changes

    before = ("rocommunity  s3cr3t-a default -V systemonly\n RWCommunity6 s3cr3t-b\n"
              "com2sec -Cn ctx ro default s3cr3t-c\ntrap2sink 10.0.0.5 s3cr3t-d\n"
              "createUser ops SHA-512 s3cr3t-e AES s3cr3t-f\nrouser ops authpriv\nsnmp-server community s3cr3t-g RO\n")
    masked = mask_config_secrets(before)
    assert "s3cr3t" not in masked
    assert "rouser ops authpriv" in masked
    assert "rocommunity  *** default -V systemonly" in masked
    result = {"changed": True, "diff": [{"before": before, "after": "rouser ops authpriv\n",
                                         "before_header": "/etc/snmp/snmpd.conf",
                                         "after_header": "/etc/snmp/snmpd.conf"}]}
    [change] = _changes("MGMT-SECURE-PROTOCOLS", "delete", result)
    assert change.target == "/etc/snmp/snmpd.conf"  # a path: apply backs the file up before changing it
    assert "s3cr3t" not in change.diff
    assert "-rocommunity  ***" in change.diff


@pytest.mark.parametrize("line", [
    "snmp-server host 10.203.0.30 version 2c s3cr3t-h",
    "snmp-server host 10.0.0.7 vrf Mgmt-intf informs version 2c s3cr3t-h udp-port 1162",
    "snmp-server host 10.0.0.8 s3cr3t-h",
    "ntp authentication-key 1 md5 s3cr3t-h 7",
    "+ntp authentication-key 42 hmac-sha2-256 s3cr3t-h",
])
def test_ios_trap_communities_and_ntp_keys_are_masked(line: str) -> None:
    from hardening.core.secrets import mask_config_secrets

    masked = mask_config_secrets(line)
    assert "s3cr3t" not in masked
    assert "***" in masked


def _mask_each_pattern_over_the_whole_text(text: str) -> str:
    """The masking as it was before the one-pass prefilter: every pattern over the whole text, in turn."""
    from hardening.core import secrets

    for pattern in secrets._CONFIG_SECRETS:
        text = pattern.sub(lambda m: m.group(1) + secrets.MASK, text)
    return secrets._FORTIOS_SNMP_COMMUNITY.sub(
        lambda block: secrets._FORTIOS_SET_NAME.sub(lambda m: m.group(1) + secrets.MASK, block.group(1)), text)


def test_masking_only_the_lines_a_pattern_can_touch_changes_nothing() -> None:
    """mask_config_secrets sends only the lines the combined pattern finds through the patterns: the result is the
    same as every pattern over the whole text, on every saved capture of the platform cases and on lines that
    carry two secrets, a diff prefix, CRLF endings or no final newline."""
    from hardening.core.secrets import mask_config_secrets

    root = Path(__file__).resolve().parents[1]
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(root.glob("platforms/*/cases/*/raw/*"))
             if p.is_file()]
    texts += ["enable secret 5 s3cr3t-a\r\nhostname r1\r\n",
              "snmp-server user ops G v3 auth sha s3cr3t-b priv aes 128 s3cr3t-b\n"
              "-enable secret 5 s3cr3t-c\n+username admin privilege 15 secret 9 s3cr3t-d",
              "config system snmp community\n    edit 1\n        set name s3cr3t-e\n    next\nend\n",
              "no secret here\n", ""]
    masked = 0
    for text in texts:
        expected = _mask_each_pattern_over_the_whole_text(text)
        assert mask_config_secrets(text) == expected
        masked += expected != text
    assert masked >= 10, "the corpus must hold secrets for the comparison to mean something"
    assert "s3cr3t" not in "".join(mask_config_secrets(t) for t in texts[-5:])


def _starts_with_letter(items: list[Any]) -> bool:
    """Whether a parsed regex (re._parser's list of (op, arg)) can only start with an ASCII letter."""
    from re import _constants as c

    if not items:
        return False
    op, arg = items[0]
    if op is c.LITERAL:
        return chr(arg).isascii() and chr(arg).isalpha()
    if op is c.IN:
        return all((o is c.LITERAL and chr(a).isascii() and chr(a).isalpha())
                   or (o is c.RANGE and all(chr(x).isascii() and chr(x).isalpha() for x in a)
                       and (a[0] >= ord("a") or a[1] <= ord("Z")))
                   for o, a in arg)
    if op is c.BRANCH:
        return all(_starts_with_letter(list(branch)) for branch in arg[1])
    if op is c.SUBPATTERN:
        return _starts_with_letter(list(arg[3]))
    return False


def test_every_config_secret_goes_on_with_a_keyword_after_the_shared_start() -> None:
    """The line finder skips a line unless a letter follows its diff prefix and indentation: right only while every
    pattern's keyword comes there (a pattern added without one would be skipped, its secret left in the clear)."""
    import re
    from re import _parser

    from hardening.core import secrets

    for pattern in secrets._CONFIG_SECRETS:
        rest = pattern.pattern.removeprefix(secrets._SHARED_START)
        assert rest != pattern.pattern
        assert _starts_with_letter(list(_parser.parse("(" + rest, re.IGNORECASE))), pattern.pattern
    assert not _starts_with_letter(list(_parser.parse(r"(?:\S+|key)", re.IGNORECASE)))


def test_indented_lines_with_a_secret_are_found_and_json_lines_skipped() -> None:
    from hardening.core.secrets import _ANY_CONFIG_SECRET, mask_config_secrets

    assert _ANY_CONFIG_SECRET.match("   \t snmp-server community s3cr3t RO")
    assert _ANY_CONFIG_SECRET.match("-  set password ENC SH2 s3cr3t")
    assert not _ANY_CONFIG_SECRET.match('    "Name":  "password s3cr3t",')
    text = '{\n    "Name":  "Administrator",\n    "Enabled":  true\n}\n  enable secret 5 s3cr3t\n'
    assert mask_config_secrets(text) == text.replace("s3cr3t", "***")


def test_scrub_obj_finds_a_secret_anywhere_and_leaves_a_clean_structure_as_it_is() -> None:
    """scrub_obj's quick look (the pickle's bytes) finds a secret in a nested string, a non-ASCII one, one with a
    newline or a quote; a structure without any comes back as it is."""
    redactor = Redactor()
    for value in ("p@ss-w0rd-1", "パスワード秘密", 'he said "x"\nline two of it', "Zx\\q9w"):
        redactor.register(value)
    for value in ("p@ss-w0rd-1", "パスワード秘密", 'he said "x"\nline two of it', "Zx\\q9w"):
        report = {"hosts": [{"name": "h", "note": f"before {value} after", "n": 1}], "tuple": ("keep",)}
        scrubbed = redactor.scrub_obj(report)
        assert scrubbed["hosts"][0]["note"] == "before *** after"
        assert value not in repr(scrubbed)
        assert value in report["hosts"][0]["note"]      # the original is left untouched
    clean = {"hosts": [{"name": "h", "note": "nothing secret here", "n": 1.5, "ok": None}]}
    assert redactor.scrub_obj(clean) is clean
    assert Redactor().scrub_obj(clean) is clean          # nothing registered


def test_scrub_obj_walks_what_does_not_pickle() -> None:
    redactor = Redactor()
    redactor.register("s3cr3t-value")
    holder = {"lock": threading.Lock(), "text": "x s3cr3t-value y"}
    assert redactor.scrub_obj(holder)["text"] == "x *** y"


def test_scrub_takes_the_longest_secret_first() -> None:
    redactor = Redactor()
    redactor.register("abcd")
    redactor.register("abcdefgh")
    assert redactor.scrub("xx abcdefgh yy abcd") == "xx *** yy ***"
