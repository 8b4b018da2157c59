"""Ed25519 keys and canonical signatures, shared by every signer of the project: the approvers of change plans
(changes/approval.py) and the zone collectors that sign evidence bundles (evidence/). One implementation of key
creation, loading (mode checked, passphrase registered with the redactor), public key parsing, the canonical bytes a
signature covers, and the strict YAML loading a trust registry needs (a key given twice is refused)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hardening.core.errors import HardeningError, InputError
from hardening.core.secrets import REDACTOR
from hardening.core.yamlio import LoadedYaml, load_yaml

KEY_NAME = re.compile(r"^[^\s/\\.][^\s/\\]*$")


class SigningKeyError(HardeningError):
    """A key cannot be created or loaded (missing, wrong passphrase, not Ed25519, readable by others)."""


def canonical_bytes(document: Mapping[str, Any], *, without: str | None = None) -> bytes:
    """What a signature covers: the canonical JSON (sorted keys, no spaces, UTF-8 kept) of `document`, without
    its member `without` (the signature itself, when it is stored inside)."""
    body = {key: value for key, value in document.items() if key != without}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _passphrase_bytes(passphrase: str | bytes | None) -> bytes | None:
    if passphrase is None:
        return None
    text = passphrase.decode("utf-8", "replace") if isinstance(passphrase, bytes) else passphrase
    REDACTOR.register(text)
    return passphrase if isinstance(passphrase, bytes) else passphrase.encode("utf-8")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        os.fchmod(fd, mode)  # whatever the umask
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def generate_keypair(
    name: str,
    directory: str | os.PathLike[str],
    passphrase: str | bytes | None = None,
    *,
    public_format: Literal["openssh", "pem"] = "openssh",
    kind: str = "signing",
    error: type[HardeningError] = SigningKeyError,
) -> tuple[Path, Path]:
    """Create ``<name>.key`` (PKCS8 PEM, mode 0600, encrypted if a passphrase is given) and ``<name>.pub``.

    Returns (private key path, public key path); the public key text is what goes into a trust registry. Raises
    `error` for a name unusable as a file name or when either file already exists (a `kind` key, e.g. an
    approver's, is never overwritten)."""
    if not isinstance(name, str) or not KEY_NAME.match(name) or len(name) > 128:
        raise error(f"{kind} name {name!r} cannot name a key file (no spaces, slashes or leading dot)")
    folder = Path(directory)
    key_path, pub_path = folder / f"{name}.key", folder / f"{name}.pub"
    for path in (key_path, pub_path):
        if path.exists():
            raise error(f"{path} already exists; refusing to overwrite an {kind} key")
    secret = _passphrase_bytes(passphrase)
    if secret == b"":
        raise error("an empty passphrase encrypts nothing; give none or a real one")
    key = Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    public = key.public_key()
    if public_format == "openssh":
        comment = "".join(name.split())
        public_text = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        public_text += b" " + comment.encode("utf-8") + b"\n"
    else:
        public_text = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_new(key_path, private_pem, 0o600)
        _write_new(pub_path, public_text, 0o644)
    except FileExistsError as exc:
        raise error(f"{exc.filename} already exists; refusing to overwrite an {kind} key") from None
    except OSError as exc:
        raise error(f"cannot write the key pair in {folder}: {exc.strerror}") from None
    return key_path, pub_path


def load_private_key(
    path: str | os.PathLike[str],
    passphrase: str | bytes | None = None,
    *,
    error: type[HardeningError] = SigningKeyError,
) -> Ed25519PrivateKey:
    """Load an Ed25519 private key (PKCS8 PEM or OpenSSH), decrypting it with the passphrase if given.

    Raises `error` naming the file (never its content) when it is missing, readable by group or others, encrypted
    without a passphrase, decrypted with a wrong one, or not an Ed25519 key."""
    key_path = Path(path)
    try:
        mode = key_path.stat().st_mode
        data = key_path.read_bytes()
    except FileNotFoundError:
        raise error(f"{key_path}: private key file not found") from None
    except OSError as exc:
        raise error(f"{key_path}: cannot read the private key ({exc.strerror})") from None
    if mode & 0o077:
        raise error(f"{key_path}: the private key is accessible by group or others "
                    f"(mode {mode & 0o777:o}); chmod 600 it")
    secret = _passphrase_bytes(passphrase)
    try:
        if data.lstrip().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
            key: Any = serialization.load_ssh_private_key(data, secret)
        else:
            key = serialization.load_pem_private_key(data, secret)
    except TypeError:
        if secret is None:
            raise error(f"{key_path}: the private key is encrypted: a passphrase is needed") from None
        raise error(f"{key_path}: the private key is not encrypted but a passphrase was given") from None
    except (ValueError, UnsupportedAlgorithm):
        what = "wrong passphrase, or not a private key" if secret is not None else "not a private key"
        raise error(f"{key_path}: cannot load the private key ({what})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise error(f"{key_path}: not an Ed25519 private key ({type(key).__name__})")
    return key


def parse_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from an OpenSSH line (``ssh-ed25519 AAAA… comment``) or PEM. Raises ValueError."""
    data = text.strip().encode("utf-8")
    try:
        if data.startswith(b"ssh-"):
            key: Any = serialization.load_ssh_public_key(data)
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("not a readable public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"not an Ed25519 public key ({type(key).__name__})")
    return key


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key: what identifies a signer in a registry."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign(key: Ed25519PrivateKey, data: bytes) -> str:
    """The Ed25519 signature of `data`, base64."""
    return base64.b64encode(key.sign(data)).decode("ascii")


def signature_valid(public_key: Ed25519PublicKey, signature: str | bytes, data: bytes) -> bool:
    """Whether `signature` (base64 text or bytes) is `public_key`'s Ed25519 signature of `data`."""
    try:
        text = signature.decode("ascii") if isinstance(signature, bytes) else signature
        public_key.verify(base64.b64decode(text.strip(), validate=True), data)
    except (binascii.Error, UnicodeDecodeError, ValueError, InvalidSignature):
        return False
    return True


def duplicate_key(node: yaml.Node | None, path: list[str | int]) -> tuple[str, int] | None:
    """(JSON pointer, line) of the first mapping key given a second time: YAML keeps the last one silently, and a
    trust registry must not hide an entry below another of the same name."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                return "/" + "/".join(str(p) for p in [*path, key]), key_node.start_mark.line + 1
            seen.add(key)
            found = duplicate_key(value_node, [*path, key])
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = duplicate_key(item, [*path, index])
            if found:
                return found
    return None


def load_trust_yaml(path: str | os.PathLike[str], error: type[InputError]) -> LoadedYaml:
    """A trust registry's YAML (approvers.yaml, collectors.yaml), refusing a key given twice; `error` names the
    file, the JSON pointer and the line."""
    file = Path(path)
    loaded = load_yaml(file, error)
    found = duplicate_key(yaml.compose(file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader), [])
    if found:
        pointer, line = found
        raise error(str(file), f"{pointer} (line {line})", "key given a second time (YAML would silently "
                    "keep only the last)")
    return loaded
