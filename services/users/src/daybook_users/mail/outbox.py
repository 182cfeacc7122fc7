"""Queueing mail in the caller's transaction: it is sent only if that transaction commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from daybook_common.models import utcnow
from daybook_users.db import models as m

#: The worker LISTENs here; a NOTIFY is delivered when the queueing transaction commits.
NOTIFY_CHANNEL = "users_mail_outbox"


@dataclass(frozen=True)
class Mail:
    """What to send: one recipient, a subject, a plain-text and an HTML body."""

    kind: str
    recipient: str
    subject: str
    text: str
    html: str


async def queue_mail(session: AsyncSession, user_id: uuid.UUID | None, mail: Mail) -> uuid.UUID:
    now = utcnow()
    message_id = uuid7()
    await session.execute(
        sa.insert(m.MailMessage).values(
            id=message_id,
            user_id=user_id,
            kind=mail.kind,
            recipient=mail.recipient,
            subject=mail.subject,
            body_text=mail.text,
            body_html=mail.html,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    await session.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, "")))
    return message_id


async def forget_account_mail(session: AsyncSession, user_id: uuid.UUID) -> None:
    """An erased account's messages go too (queued ones are not sent: the address is no longer ours)."""
    await session.execute(sa.delete(m.MailMessage).where(m.MailMessage.user_id == user_id))
