"""Secrets: where connection credentials come from, and how they are kept out of every output.

Credentials are never in the inventory. A host's `credentials` names an entry that is looked up
(1) in environment variables ``HARDENING_CRED_<NAME>_<FIELD>``, then (2) in an ansible-vault encrypted YAML
file (``HARDENING_VAULT``, password file ``HARDENING_VAULT_PASSWORD_FILE``) of the form
``credentials: {<name>: {username: …, password: …, private_key: …}}``. The fields are typed: which are
secret and what each is for is the table :data:`FIELDS` (docs/platforms.md lists them for each platform):
USERNAME, PASSWORD, PRIVATE_KEY, PRIVATE_KEY_FILE, BECOME_PASSWORD, ENABLE_SECRET (network devices'
privileged mode), SNMP_AUTH_KEY / SNMP_PRIV_KEY (SNMPv3 USM keys), SNMP_COMMUNITY (v1/v2c only),
WINRM_PASSWORD (when it differs from PASSWORD), BIOS_PASSWORD (the firmware setup password a BIOS check
or change needs).

Every secret value loaded is registered with :data:`REDACTOR`, which scrubs it from log records,
exception texts and anything written by the reports, so a secret that leaks by accident (an
exception message echoing a command line, say) is still replaced by ``***``.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardening.core.errors import InputError, SecretError
from hardening.core.yamlio import parse_yaml

MASK = "***"
# field -> (is it secret, what it is for). Secret fields become Secret objects: masked wherever they would print.
FIELDS: dict[str, tuple[bool, str]] = {
    "username": (False, "login user"),
    "password": (True, "login password (SSH, WinRM, web admin)"),
    "private_key": (True, "SSH private key (PEM or OpenSSH), fed to ssh-agent through stdin, never written"),
    "private_key_file": (False, "path of the admin's own SSH key file"),
    "become_password": (True, "sudo password"),
    "enable_secret": (True, "network device privileged mode (IOS enable, RTX administrator)"),
    "snmp_auth_key": (True, "SNMPv3 USM authentication key"),
    "snmp_priv_key": (True, "SNMPv3 USM privacy key"),
    "snmp_community": (True, "SNMP v1/v2c community, for a device that offers no SNMPv3"),
    "winrm_password": (True, "WinRM password when it differs from `password`"),
    "bios_password": (True, "BIOS/UEFI setup (admin) password"),
}
_FIELDS = tuple(FIELDS)
_SECRET_FIELDS = tuple(name for name, (secret, _) in FIELDS.items() if secret)


class Secret:
    """A string that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        REDACTOR.register(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


class Redactor:
    """Knows every secret value loaded in this process and scrubs them from text."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        # the values longest first (a value inside a longer one is replaced after it), rebuilt on register; and
        # each value's bytes as a pickle holds a string (scrub_obj's quick look)
        self._ordered: tuple[str, ...] = ()
        self._encoded: tuple[bytes, ...] = ()

    def register(self, value: str) -> None:
        # Very short values would mangle ordinary text; they are still never printed on purpose.
        if value and len(value) >= 4:
            with self._lock:
                self._values.add(value)
                for line in value.splitlines():
                    if len(line.strip()) >= 16:
                        self._values.add(line.strip())
                self._ordered = tuple(sorted(self._values, key=len, reverse=True))
                self._encoded = tuple(v.encode("utf-8", "surrogatepass") for v in self._ordered)

    def scrub(self, text: str) -> str:
        for value in self._ordered:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def scrub_obj(self, obj: Any) -> Any:
        """Scrub every string inside a JSON-like structure (dict keys are left as they are). A structure that holds
        no secret anywhere is returned as it is, otherwise a copy with every string scrubbed. The look for a
        secret is one pass in C instead of a walk over every string (a report has tens of thousands): the pickle of
        the structure holds every string in it as its UTF-8 bytes (nothing is ever unpickled)."""
        needles = self._encoded
        if not needles:
            return obj
        try:
            flat = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:   # something in it does not pickle: the walk decides
            return self._walk(obj)
        if not any(needle in flat for needle in needles):
            return obj
        return self._walk(obj)

    def _walk(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return self.scrub(obj)
        if isinstance(obj, list):
            return [self._walk(item) for item in obj]
        if isinstance(obj, dict):
            return {key: self._walk(value) for key, value in obj.items()}
        return obj


REDACTOR = Redactor()

# Secrets that configuration text carries in the clear, whatever their value: the value after the keyword
# is masked (a diff line may start with "-", "+" or " "). net-snmp: communities (rocommunity,
# rwcommunity, *6, com2sec* after its name and source, trap sinks after the host, trapcommunity) and the
# USM passphrases of createUser; network devices: `snmp-server community`.
_CONFIG_SECRETS = [
    re.compile(r"(?im)^([-+ ]?[ \t]*(?:ro|rw)community6?[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*com2sec(?:6|unix)?[ \t]+(?:-Cn[ \t]+\S+[ \t]+)?\S+[ \t]+\S+[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*(?:trapsink|trap2sink|informsink)[ \t]+\S+[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*trapcommunity[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*createUser[ \t]+(?:-e[ \t]+\S+[ \t]+)?\S+[ \t]+\S+[ \t]+)(\S.*)$"),
    re.compile(r"(?im)^([-+ ]?[ \t]*snmp-server[ \t]+community[ \t]+)(\S+)"),
    # Cisco IOS: enable secret/password, username … secret/password (with an optional type digit), SNMPv3 user keys,
    # key-string and tacacs/radius keys.
    re.compile(r"(?im)^([-+ ]?[ \t]*enable[ \t]+(?:secret|password)(?:[ \t]+level[ \t]+\d+)?[ \t]+(?:\d[ \t]+)?)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*username[ \t]+\S+.*?[ \t](?:secret|password)[ \t]+(?:\d[ \t]+)?)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*password[ \t]+(?:\d[ \t]+)?)(\S+)"),  # line con/aux/vty password
    re.compile(r"(?im)^([-+ ]?[ \t]*snmp-server[ \t]+user[ \t]+.*?[ \t]auth[ \t]+\S+[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*snmp-server[ \t]+user[ \t]+.*?[ \t]priv[ \t]+(?:\S+[ \t]+)?(?:128|192|256)?[ \t]*)"
               r"(\S+)$"),
    re.compile(r"(?im)^([-+ ]?[ \t]*(?:key-string|(?:tacacs|radius)-server[ \t]+key|key)[ \t]+(?:\d[ \t]+)?)(\S+)"),
    # Cisco IOS: keys of NTP authentication, IKE, OSPF and the community (or v3 user) of an SNMP notification host.
    re.compile(r"(?im)^([-+ ]?[ \t]*ntp[ \t]+authentication-key[ \t]+\d+[ \t]+\S+[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*crypto[ \t]+isakmp[ \t]+key[ \t]+(?:\d[ \t]+)?)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*pre-shared-key(?:[ \t]+(?:local|remote))?[ \t]+(?:\d[ \t]+)?)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*ip[ \t]+ospf[ \t]+(?:authentication-key|message-digest-key[ \t]+\d+[ \t]+md5)"
               r"[ \t]+(?:\d[ \t]+)?)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*snmp-server[ \t]+host[ \t]+\S+(?:[ \t]+vrf[ \t]+\S+)?(?:[ \t]+(?:informs|traps))?"
               r"(?:[ \t]+version[ \t]+(?:1|2c|3(?:[ \t]+(?:auth|noauth|priv))?))?[ \t]+)(\S+)"),
    # YAMAHA RTX: SNMP communities and v3 user passphrases, IKE pre-shared keys, PPP authentication passwords.
    re.compile(r"(?im)^([-+ ]?[ \t]*snmp(?:v2c)?[ \t]+(?:community[ \t]+(?:read-only|read-write)|trap[ \t]+community)"
               r"[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*snmpv3[ \t]+usm[ \t]+user[ \t]+\d+[ \t]+\S+.*?[ \t](?:md5|sha)[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*snmpv3[ \t]+usm[ \t]+user[ \t]+\d+[ \t]+\S+.*?[ \t](?:des-cbc|aes128-cfb)[ \t]+)"
               r"(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*ipsec[ \t]+ike[ \t]+pre-shared-key[ \t]+\d+[ \t]+(?:text|hex)[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*pp[ \t]+auth[ \t]+(?:username|myname)[ \t]+\S+[ \t]+)(\S+)"),
    # YAMAHA RTX: login/administrator passwords and user passwords given in the clear.
    re.compile(r"(?im)^([-+ ]?[ \t]*(?:login|administrator)[ \t]+password(?:[ \t]+encrypted)?[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*login[ \t]+user[ \t]+\S+[ \t]+(?:encrypted[ \t]+)?)(\S+)"),
    # YAMAHA RTX: SNMP communities (`snmp[v1|v2c] community read-only|read-write C`, `snmpv1|snmpv2c host H RO [RW]`,
    # trap communities), SNMPv3 USM passwords, PPP and IKE secrets.
    re.compile(r"(?im)^([-+ ]?[ \t]*snmp(?:v1|v2c)?[ \t]+(?:trap[ \t]+)?community(?:[ \t]+read-(?:only|write))?"
               r"[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*snmp(?:v1|v2c)[ \t]+(?:trap[ \t]+)?host[ \t]+\S+[ \t]+)(\S.*)$"),
    re.compile(r"(?im)^([-+ ]?[ \t]*snmpv3[ \t]+usm[ \t]+user[ \t]+\S+[ \t]+\S+[ \t]+.*?(?:md5|sha\S*)[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*snmpv3[ \t]+usm[ \t]+user[ \t]+.*?(?:aes\S*|des\S*)[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*pp[ \t]+auth[ \t]+(?:myname|username)[ \t]+\S+[ \t]+)(\S+)"),
    re.compile(r"(?im)^([-+ ]?[ \t]*ipsec[ \t]+ike[ \t]+pre-shared-key[ \t]+\S+[ \t]+(?:text|0x)?[ \t]*)(\S+)"),
    # FortiOS: set password/passwd/psksecret/… ENC …
    re.compile(r"(?im)^([-+ ]?[ \t]*set[ \t]+(?:password|passwd|psksecret|secret|auth-pwd|priv-pwd|key|"
               r"[a-z0-9-]*(?:password|passwd|secret|psk|passphrase|-pwd))[ \t]+(?:ENC[ \t]+(?:SH2|PB2|AK1)?)?)"
               r"(\S.*)$"),  # the hash scheme's tag stays: a masked capture is classified like the real one
]
# FortiOS: an SNMP community is named by `set name` inside `config system snmp community` (the name is the secret).
_FORTIOS_SNMP_COMMUNITY = re.compile(
    r"(?ims)^(([ \t]*)config[ \t]+system[ \t]+snmp[ \t]+community[ \t]*$.*?(?:^\2end[ \t]*$|\Z))")
_FORTIOS_SET_NAME = re.compile(r"(?im)^([-+ ]?[ \t]*set[ \t]+name[ \t]+)(\S.*)$")


# Every pattern of _CONFIG_SECRETS matches inside one line, from its start: all of them as alternatives, tried at
# the start of each line, find the lines they can touch, and only those lines go through the patterns in turn (the
# same result as applying each pattern to the whole text, without 31 passes over it). The patterns share their
# start, the optional diff prefix and the indentation, then each goes on with a keyword, so with a letter
# (tests/unit/test_secrets.py checks it): the finder takes that start once, possessively, and tries the 31
# alternatives only when a letter follows. A line of a JSON document or a blank line costs one short match, not 31
# alternatives retried at each width of its indentation (that was most of the CPU of reading a Windows host).
_SHARED_START = r"(?im)^([-+ ]?[ \t]*"
_ANY_CONFIG_SECRET = re.compile(
    r"(?i)[-+ ]?[ \t]*+(?=[a-z])(?:" + "|".join(f"(?:(?:{p.pattern.removeprefix(_SHARED_START)})"
                                                 for p in _CONFIG_SECRETS) + ")")
if not all(p.pattern.startswith(_SHARED_START) for p in _CONFIG_SECRETS):  # pragma: no cover - a module invariant
    raise RuntimeError(f"every _CONFIG_SECRETS pattern must start with {_SHARED_START}")


def mask_config_secrets(text: str) -> str:
    """Configuration text (a file, a diff) with the values of known secret-bearing directives masked.

    >>> mask_config_secrets("-rocommunity public 10.0.0.0/8")
    '-rocommunity *** 10.0.0.0/8'
    """
    lines = text.split("\n")           # the lines `^` of a MULTILINE pattern starts (only "\n" ends one)
    touched = False
    for index, line in enumerate(lines):
        if _ANY_CONFIG_SECRET.match(line):  # at line starts only (a search would try every character)
            for pattern in _CONFIG_SECRETS:
                lines[index] = pattern.sub(lambda m: m.group(1) + MASK, lines[index])
            touched = True
    if touched:
        text = "\n".join(lines)
    return _FORTIOS_SNMP_COMMUNITY.sub(
        lambda block: _FORTIOS_SET_NAME.sub(lambda m: m.group(1) + MASK, block.group(1)), text)


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs registered secrets from every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = REDACTOR.scrub(record.getMessage())
        record.args = None
        return True


@dataclass(frozen=True)
class Credentials:
    name: str
    username: str
    password: Secret | None = None
    private_key: Secret | None = None
    private_key_file: str | None = None
    become_password: Secret | None = None
    enable_secret: Secret | None = None
    snmp_auth_key: Secret | None = None
    snmp_priv_key: Secret | None = None
    snmp_community: Secret | None = None
    winrm_password: Secret | None = None
    bios_password: Secret | None = None

    def __repr__(self) -> str:
        present = [name for name in _SECRET_FIELDS if getattr(self, name) is not None]
        return f"Credentials(name={self.name!r}, username={self.username!r}, secrets={present}=***)"

    def require(self, *names: str, purpose: str) -> None:
        """SecretError naming the entry and the missing fields unless every named field is set."""
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            env = ", ".join(f"HARDENING_CRED_{self.name.upper().replace('-', '_')}_{m.upper()}" for m in missing)
            raise SecretError(f"credentials {self.name!r} lack {', '.join(missing)} needed for {purpose} "
                              f"(set {env} or put them in the vault)")


class SecretStore:
    """Resolves credential references; reads the vault at most once."""

    def __init__(
        self,
        vault_path: str | None = None,
        vault_password_file: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self._env = dict(env)
        self._vault_path = vault_path or env.get("HARDENING_VAULT")
        self._vault_password_file = vault_password_file or env.get("HARDENING_VAULT_PASSWORD_FILE")
        self._vault: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._cache: dict[str, Credentials] = {}

    def _load_vault(self) -> dict[str, Any]:
        with self._lock:
            if self._vault is not None:
                return self._vault
            if not self._vault_path:
                self._vault = {}
                return self._vault
            path = Path(self._vault_path)
            if not self._vault_password_file:
                raise SecretError(
                    f"vault {path} is set but HARDENING_VAULT_PASSWORD_FILE is not: cannot decrypt it"
                )
            try:
                from ansible.parsing.vault import VaultLib, VaultSecret

                password = Path(self._vault_password_file).read_bytes().strip()
                REDACTOR.register(password.decode(errors="replace"))
                plain = VaultLib([("default", VaultSecret(password))]).decrypt(path.read_bytes())
            except FileNotFoundError as exc:
                raise SecretError(f"vault file not found: {exc.filename}") from None
            except Exception as exc:  # any vault failure: name the file, not the content
                raise SecretError(f"cannot decrypt vault {path}: {type(exc).__name__}") from None
            try:
                data = parse_yaml(plain.decode("utf-8"), path).data or {}
            except UnicodeDecodeError:
                raise SecretError(f"vault {path}: decrypted content is not UTF-8 text") from None
            except InputError as exc:  # its place names keys and lines only; its message may quote a value
                raise SecretError(f"vault {path}: decrypted content refused at {exc.where} (YAML syntax, a key "
                                  "given twice, a non-finite number or an alias bomb)") from None
            if not isinstance(data, dict) or not isinstance(data.get("credentials", {}), dict):
                raise SecretError(f"vault {path}: expected a mapping with a 'credentials' mapping")
            for entry in data.get("credentials", {}).values():
                if isinstance(entry, dict):
                    for key in _SECRET_FIELDS:
                        if isinstance(entry.get(key), str):
                            REDACTOR.register(entry[key])
            self._vault = data
            return data

    def credentials(self, name: str) -> Credentials:
        """Return the named credentials; raise SecretError if they cannot be found."""
        if name in self._cache:
            return self._cache[name]
        prefix = f"HARDENING_CRED_{name.upper().replace('-', '_')}_"
        values: dict[str, str] = {}
        for key in _FIELDS:
            env_value = self._env.get(prefix + key.upper())
            if env_value:
                values[key] = env_value
        if not values:
            entry = self._load_vault().get("credentials", {}).get(name)
            if isinstance(entry, dict):
                values = {k: str(v) for k, v in entry.items() if k in _FIELDS and v is not None}
        if not values:
            raise SecretError(
                f"credentials {name!r} not found (set {prefix}USERNAME … or put them in the vault)"
            )
        typed: dict[str, Any] = {
            key: (Secret(value) if key in _SECRET_FIELDS else value) for key, value in values.items() if value
        }
        creds = Credentials(name=name, username=str(typed.pop("username", "")), **typed)
        self._cache[name] = creds
        return creds
