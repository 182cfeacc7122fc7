"""The SMTP sender against a real SMTP server (aiosmtpd): an outage loses nothing and sends
nothing twice, a message that keeps failing goes dead, and the URL forms are understood.

This module uses only apps of its own (no ``harness``): one mail worker per database at a time,
so what the server receives is what this module's app sent.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import ipaddress
import ssl
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from litestar.testing import AsyncTestClient

from daybook_common.settings import SettingsError
from daybook_devtools.embedded import free_port
from daybook_users.mail.senders import SmtpSender

from .mailbox import parse, token_in

PASSWORD = "correct horse battery"


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(bytes(envelope.content))
        return "250 Message accepted for delivery"


def smtp_app(make_harness: Callable[..., Any], port: int, **extra: str) -> Any:
    app, settings, _ = make_harness(
        USERS_SMTP_URL=f"smtp://127.0.0.1:{port}",
        USERS_SMTP_TIMEOUT_SECONDS="2",
        USERS_MAIL_RETRY_BASE_SECONDS="1",
        USERS_MAIL_RETRY_MAX_SECONDS="2",
        USERS_MAIL_POLL_SECONDS="0.2",
        **extra,
    )
    return app, settings


async def _statuses(db: Any) -> dict[str, int]:
    conn = await db.admin_connect()
    try:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM users.mail_outbox GROUP BY status")
    finally:
        await conn.close()
    return {row["status"]: row["n"] for row in rows}


async def test_smtp_down_for_10s_then_back_delivers_each_message_exactly_once(
    make_harness: Callable[..., Any], migrated: Any
) -> None:
    port = free_port()
    app, _ = smtp_app(make_harness, port, USERS_MAIL_MAX_ATTEMPTS="50")
    inbox = Inbox()
    emails = [f"smtp-{uuid.uuid4().hex[:8]}@example.com" for _ in range(4)]
    async with AsyncTestClient(app) as client:
        for email in emails:  # registration mails a verification link …
            r = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
            assert r.status_code == 201
            r = await client.post("/api/v1/auth/password-reset", json={"email": email})  # … and a reset
            assert r.status_code == 202
        expected = 2 * len(emails)
        await asyncio.sleep(10)  # the server is down: every message is tried and retried
        statuses = await _statuses(migrated)
        assert statuses == {"pending": expected}, statuses
        conn = await migrated.admin_connect()
        try:
            tried = await conn.fetchval("SELECT min(attempts) FROM users.mail_outbox")
            error = await conn.fetchval("SELECT last_error FROM users.mail_outbox LIMIT 1")
        finally:
            await conn.close()
        assert tried >= 2 and error

        server = Controller(inbox, hostname="127.0.0.1", port=port)
        server.start()
        try:
            for _ in range(300):
                if len(inbox.messages) >= expected and (await _statuses(migrated)) == {"sent": expected}:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(3)  # long enough for a duplicate to show up
        finally:
            server.stop()

    received = [parse(data) for data in inbox.messages]
    ids = collections.Counter(str(m["Message-ID"]) for m in received)
    assert len(received) == expected and set(ids.values()) == {1}, ids
    assert (await _statuses(migrated)) == {"sent": expected}
    for email in emails:
        subjects = sorted(str(m["Subject"]) for m in received if m["To"] == email)
        assert subjects == ["Confirm your email address for Daybook", "Reset your Daybook password"]
        reset = next(m for m in received if m["To"] == email and "Reset" in str(m["Subject"]))
        assert len(token_in(reset)) == 43
        html = reset.get_body(preferencelist=("html",))
        assert html is not None and "reset-password?token=" in html.get_content()


async def test_a_message_that_keeps_failing_goes_dead_and_is_kept(
    make_harness: Callable[..., Any], migrated: Any
) -> None:
    app, _ = smtp_app(make_harness, free_port(), USERS_MAIL_MAX_ATTEMPTS="2")
    email = f"dead-{uuid.uuid4().hex[:8]}@example.com"
    async with AsyncTestClient(app) as client:
        r = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201
        conn = await migrated.admin_connect()
        try:
            row = None
            for _ in range(150):
                row = await conn.fetchrow(
                    "SELECT status, attempts, body_text, last_error FROM users.mail_outbox WHERE recipient = $1",
                    email,
                )
                if row is not None and row["status"] == "dead":
                    break
                await asyncio.sleep(0.1)
        finally:
            await conn.close()
    assert row is not None and row["status"] == "dead", row
    assert row["attempts"] == 2 and row["body_text"] and row["last_error"]


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, the certificate being its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "daybook test smtp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize("mode", ["smtp+starttls", "smtps"])
async def test_starttls_and_tls_with_a_private_ca(
    make_harness: Callable[..., Any], migrated: Any, tmp_path: Path, mode: str
) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = free_port()
    inbox = Inbox()
    if mode == "smtps":
        server = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=context)
    else:
        server = Controller(
            inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
        )
    server.start()
    try:
        app, _, _ = make_harness(
            USERS_SMTP_URL=f"{mode}://127.0.0.1:{port}",
            USERS_SMTP_CA_FILE=str(cert),
            USERS_MAIL_POLL_SECONDS="0.2",
            USERS_MAIL_RETRY_BASE_SECONDS="1",
            USERS_MAIL_RETRY_MAX_SECONDS="2",
        )
        email = f"tls-{uuid.uuid4().hex[:8]}@example.com"
        async with AsyncTestClient(app) as client:
            r = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
            assert r.status_code == 201
            for _ in range(300):
                if inbox.messages:
                    break
                await asyncio.sleep(0.1)
    finally:
        server.stop()
    conn = await migrated.admin_connect()
    try:
        row = await conn.fetchrow(
            "SELECT status, attempts, last_error FROM users.mail_outbox WHERE recipient = $1", email
        )
    finally:
        await conn.close()
    assert [parse(data)["To"] for data in inbox.messages] == [email], dict(row or {})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", ("mail.example.com", 25, False, None, None, None)),
        (
            "smtp+starttls://u%40x:p%2Fw@mail.example.com",
            ("mail.example.com", 587, False, True, "u@x", "p/w"),
        ),
        ("smtps://mail.example.com:2465", ("mail.example.com", 2465, True, False, None, None)),
    ],
)
def test_smtp_urls(url: str, expected: tuple[object, ...]) -> None:
    sender = SmtpSender.from_url(url, 10)
    got = (sender.hostname, sender.port, sender.use_tls, sender.start_tls, sender.username, sender.password)
    assert got == expected
    assert "p/w" not in repr(sender)


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "mail.example.com"])
def test_bad_smtp_urls_are_settings_errors(url: str) -> None:
    with pytest.raises(SettingsError):
        SmtpSender.from_url(url, 10)
