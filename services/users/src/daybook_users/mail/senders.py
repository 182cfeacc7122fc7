"""Where a message goes: an SMTP server (``aiosmtplib``) or, by default, an ``.eml`` file.

Both are idempotent per message as far as they can be: the file of a message is named after its
id (a second write replaces it), and an SMTP retry carries the same ``Message-ID``.
"""

from __future__ import annotations

import email.utils
import logging
import os
import urllib.parse
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib
import anyio

from daybook_common.settings import SettingsError
from daybook_users.settings import MailSettings

logger = logging.getLogger("daybook.users.mail")


class Sender(Protocol):
    async def send(self, message_id: str, message: EmailMessage) -> None:
        """Deliver or raise; ``message_id`` is the outbox row's id."""


@dataclass(frozen=True)
class FileSender:
    """Writes ``<directory>/<id>.eml`` (written aside, then renamed into place) and logs the path."""

    directory: Path

    async def send(self, message_id: str, message: EmailMessage) -> None:
        path = self.directory / f"{message_id}.eml"
        await anyio.to_thread.run_sync(self._write, path, message.as_bytes())
        logger.info("email written", extra={"mail_id": message_id, "path": str(path.absolute())})

    def _write(self, path: Path, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(partial, path)


@dataclass(frozen=True)
class SmtpSender:
    hostname: str
    port: int
    use_tls: bool
    start_tls: bool | None
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    #: A CA bundle to verify the server's certificate with (else the system's CAs).
    ca_file: str | None = None

    @classmethod
    def from_url(cls, url: str, timeout: float, ca_file: str | None = None) -> SmtpSender:
        parts = urllib.parse.urlsplit(url)
        modes = {"smtp": (False, None, 25), "smtp+starttls": (False, True, 587), "smtps": (True, False, 465)}
        if parts.scheme not in modes or not parts.hostname:
            raise SettingsError("USERS_SMTP_URL must look like smtp[s]://[user:password@]host[:port]")
        use_tls, start_tls, default_port = modes[parts.scheme]
        return cls(
            hostname=parts.hostname,
            port=parts.port or default_port,
            use_tls=use_tls,
            start_tls=start_tls,
            username=urllib.parse.unquote(parts.username) if parts.username else None,
            password=urllib.parse.unquote(parts.password) if parts.password else None,
            timeout=timeout,
            ca_file=ca_file,
        )

    async def send(self, message_id: str, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self.hostname,
            port=self.port,
            use_tls=self.use_tls,
            start_tls=self.start_tls,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
            cert_bundle=self.ca_file,
        )
        logger.info("email sent", extra={"mail_id": message_id, "smtp_host": self.hostname})


def build_sender(settings: MailSettings) -> Sender:
    if settings.smtp_url:
        ca_file = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
        return SmtpSender.from_url(settings.smtp_url, settings.smtp_timeout_seconds, ca_file)
    return FileSender(settings.directory)


def compose(
    message_id: str,
    from_address: str,
    recipient: str,
    subject: str,
    text: str,
    html: str | None,
    created: float,
) -> EmailMessage:
    """The MIME message: plain text with an HTML alternative, a ``Message-ID`` stable across retries."""
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(created, usegmt=True)
    domain = email.utils.parseaddr(from_address)[1].partition("@")[2] or "daybook.localhost"
    message["Message-ID"] = f"<{message_id}@{domain}>"
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message
