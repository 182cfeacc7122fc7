"""Reading what the users service mailed: ``.eml`` files (the local sender) or SMTP messages."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_-]{43})\b")


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def token_in(message: EmailMessage) -> str:
    found = TOKEN.search(text_of(message))
    assert found, text_of(message)
    return found.group(1)


def messages_to(directory: Path, recipient: str) -> list[EmailMessage]:
    """The messages in ``directory`` addressed to ``recipient``, oldest first."""
    found = []
    for path in sorted(directory.glob("*.eml")):
        message = parse(path.read_bytes())
        if message["To"] == recipient:
            found.append(message)
    return found


async def wait_for_mail(
    directory: Path, recipient: str, subject_part: str, count: int = 1, timeout: float = 20.0
) -> list[EmailMessage]:
    """Wait until ``count`` messages whose subject contains ``subject_part`` reached ``recipient``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = [m for m in messages_to(directory, recipient) if subject_part in str(m["Subject"])]
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            assert len(found) >= count, f"{len(found)} of {count} messages to {recipient}"
            return found
        await asyncio.sleep(0.05)
