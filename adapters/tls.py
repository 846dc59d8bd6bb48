"""TLS material for NATS and gRPC: a local CA for demos and tests, and loaders.

`truc certs` makes a CA, a server certificate (NATS and every adapter's gRPC server, for
127.0.0.1 and localhost) and one client certificate per member (CN = agency code) for mutual
TLS between an agency system and its adapter. With an existing CA, put its files at the same
paths (ca.pem, server.pem/server.key, clients/<token>.pem/.key) and skip `truc certs`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ledger.agency import to_token

VALIDITY = dt.timedelta(days=825)


class TlsError(Exception):
    """Missing or unusable certificate material."""


@dataclass(frozen=True)
class TlsFiles:
    """Where the certificate material lives, relative to one directory."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    def client_cert(self, member: str) -> Path:
        return self.directory / "clients" / f"{to_token(member)}.pem"

    def client_key(self, member: str) -> Path:
        return self.directory / "clients" / f"{to_token(member)}.key"

    def require(self, *paths: Path) -> None:
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise TlsError(f"missing TLS files (run `truc certs`): {', '.join(missing)}")


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Truc demo"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def create_ca(files: TlsFiles, name: str = "Truc demo CA") -> None:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    _write_key(files.ca_key, key)
    _write_cert(files.ca, cert)


def _issue(
    files: TlsFiles,
    common_name: str,
    *,
    server_names: list[str] | None,
    client: bool,
    cert_path: Path,
    key_path: Path,
) -> None:
    files.require(files.ca, files.ca_key)
    ca_cert = x509.load_pem_x509_certificate(files.ca.read_bytes())
    ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TlsError(f"{files.ca_key} is not an EC private key")
    key = _key()
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
    )
    if server_names:
        alternatives: list[x509.GeneralName] = []
        for name in server_names:
            try:
                alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alternatives.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write_key(key_path, key)
    _write_cert(cert_path, cert)


def create_server_cert(files: TlsFiles, hosts: list[str]) -> None:
    _issue(
        files,
        hosts[0],
        server_names=hosts,
        client=False,
        cert_path=files.server_cert,
        key_path=files.server_key,
    )


def create_client_cert(files: TlsFiles, member: str) -> None:
    _issue(
        files,
        member,
        server_names=None,
        client=True,
        cert_path=files.client_cert(member),
        key_path=files.client_key(member),
    )


def create_all(files: TlsFiles, members: list[str], hosts: list[str]) -> list[Path]:
    """CA (kept if present), server certificate, and one client certificate per member."""
    if not files.ca.exists():
        create_ca(files)
    create_server_cert(files, hosts)
    for member in members:
        create_client_cert(files, member)
    return [files.ca, files.server_cert, *(files.client_cert(m) for m in members)]


def client_context(files: TlsFiles) -> ssl.SSLContext:
    """For NATS clients: trust only our CA."""
    files.require(files.ca)
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(files.ca))
    return context


def nats_tls_block(files: TlsFiles) -> str:
    files.require(files.ca, files.server_cert, files.server_key)
    return (
        "tls {\n"
        f'  cert_file: "{files.server_cert}"\n'
        f'  key_file: "{files.server_key}"\n'
        f'  ca_file: "{files.ca}"\n'
        "  timeout: 2\n"
        "}\n"
    )
