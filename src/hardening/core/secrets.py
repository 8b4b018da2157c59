"""Secrets: where connection credentials come from, and how they are kept out of every output.

Credentials are never in the inventory. A host's `credentials` names an entry that is looked up
(1) in environment variables ``HARDENING_CRED_<NAME>_<FIELD>`` (FIELD: USERNAME, PASSWORD,
PRIVATE_KEY, PRIVATE_KEY_FILE, BECOME_PASSWORD), then (2) in an ansible-vault encrypted YAML file
(``HARDENING_VAULT``, password file ``HARDENING_VAULT_PASSWORD_FILE``) of the form
``credentials: {<name>: {username: …, password: …, private_key: …}}``.

Every secret value loaded is registered with :data:`REDACTOR`, which scrubs it from log records,
exception texts and anything written by the reports, so a secret that leaks by accident (an
exception message echoing a command line, say) is still replaced by ``***``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardening.core.errors import InputError, SecretError
from hardening.core.yamlio import parse_yaml

MASK = "***"
_FIELDS = ("username", "password", "private_key", "private_key_file", "become_password")
_SECRET_FIELDS = ("password", "private_key", "become_password")


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

    def register(self, value: str) -> None:
        # Very short values would mangle ordinary text; they are still never printed on purpose.
        if value and len(value) >= 4:
            with self._lock:
                self._values.add(value)
                for line in value.splitlines():
                    if len(line.strip()) >= 16:
                        self._values.add(line.strip())

    def scrub(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def scrub_obj(self, obj: Any) -> Any:
        """Scrub every string inside a JSON-like structure."""
        if isinstance(obj, str):
            return self.scrub(obj)
        if isinstance(obj, list):
            return [self.scrub_obj(item) for item in obj]
        if isinstance(obj, dict):
            return {key: self.scrub_obj(value) for key, value in obj.items()}
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
]


def mask_config_secrets(text: str) -> str:
    """Configuration text (a file, a diff) with the values of known secret-bearing directives masked.

    >>> mask_config_secrets("-rocommunity public 10.0.0.0/8")
    '-rocommunity *** 10.0.0.0/8'
    """
    for pattern in _CONFIG_SECRETS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


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

    def __repr__(self) -> str:
        return f"Credentials(name={self.name!r}, username={self.username!r}, secrets=***)"


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
        if not values.get("username"):
            raise SecretError(
                f"credentials {name!r} not found (set {prefix}USERNAME … or put them in the vault)"
            )
        creds = Credentials(
            name=name,
            username=values["username"],
            password=Secret(values["password"]) if values.get("password") else None,
            private_key=Secret(values["private_key"]) if values.get("private_key") else None,
            private_key_file=values.get("private_key_file"),
            become_password=Secret(values["become_password"]) if values.get("become_password") else None,
        )
        self._cache[name] = creds
        return creds
