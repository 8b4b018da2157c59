"""Shared by the scheduled-job tests: saved facts of a few demo hosts (the Linux probe run over fixture roots, as
tests/unit/test_offline_audit.py makes them), job files, and a local SMTP sink with STARTTLS + AUTH."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import uuid
from pathlib import Path
from typing import Any

import yaml

from hardening.core.inventory import load_inventory
from hardening.platforms.linux import probe

ROOT = Path(__file__).resolve().parents[1]
INVENTORY = ROOT / "inventory"
FIXTURES = ROOT / "tests" / "unit" / "linux" / "fixtures"
NOW = 1_790_000_000.0
FIXTURE_OF = {"ntp01": "chrony", "web01": "rootfs-debian12", "log01": "rsyslog", "pc-shimin01": "dconf-locked"}


def save_facts(directory: Path, hosts: dict[str, str] | None = None) -> Path:
    """DIR/<host>.json for each host (default FIXTURE_OF): what `audit --from DIR` reads."""
    inventory = load_inventory(INVENTORY)
    directory.mkdir(parents=True, exist_ok=True)
    for name, fixture in (hosts or FIXTURE_OF).items():
        host = inventory.hosts[name]
        document = probe.collect(str(FIXTURES / fixture), now=NOW, commands=False)
        document.update(host=host.name, device_class=host.device_class, platform=host.platform)
        (directory / f"{name}.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return directory


def write_job(path: Path, **fields: Any) -> Path:
    data = {"name": "nightly", "output": "runs", "ledger": "ledger.jsonl", "history": "history.sqlite",
            "inventory": str(INVENTORY), **fields}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def make_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for localhost / 127.0.0.1 signed by it: (ca.pem, server.pem, server.key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hardening test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_pem, cert_pem, key_pem = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return ca_pem, cert_pem, key_pem


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1: STARTTLS (unless `starttls=False`), AUTH PLAIN/LOGIN for one user (only
    after STARTTLS), every accepted message kept with its envelope. `greeting_delay`: seconds before it answers a
    connection (a slow relay)."""

    def __init__(self, directory: Path, *, user: str = "mailer", password: str = uuid.uuid4().hex,
                 starttls: bool = True, greeting_delay: float = 0.0) -> None:
        self.user, self.password = user, password
        self.messages: list[dict[str, Any]] = []
        self.logins: list[str] = []
        self.ca, cert, key = make_certificate(directory)
        self._starttls, self._cert, self._key, self._delay = starttls, cert, key, greeting_delay
        self.port = 0
        self._controller: Any = None

    def start(self) -> SmtpSink:
        import asyncio

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                      "data": envelope.original_content or envelope.content})
                return "250 OK"

            async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                                  responses: list[str]) -> list[str]:
                if sink._delay and not session.extended_smtp:
                    await asyncio.sleep(sink._delay)
                session.host_name = hostname
                return responses

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = (isinstance(data, LoginPassword) and data.login.decode() == sink.user
                  and data.password.decode() == sink.password)
            if ok:
                sink.logins.append(sink.user)
            return AuthResult(success=ok, handled=False)

        context = None
        if self._starttls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self._cert), str(self._key))
        import socket

        with socket.socket() as probe_socket:  # a free port on loopback
            probe_socket.bind(("127.0.0.1", 0))
            self.port = probe_socket.getsockname()[1]
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, tls_context=context,
                                      require_starttls=self._starttls, authenticator=authenticate,
                                      auth_require_tls=True, auth_required=self._starttls)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
