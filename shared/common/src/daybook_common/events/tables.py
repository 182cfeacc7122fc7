"""The ``outbox`` and ``inbox`` tables each service keeps in its own schema."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from daybook_common.tracing import carried_headers


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    """Events written in the producer's transaction, waiting for the relay."""
    return sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        #: NATS headers to publish with it: the writer's trace context and request id.
        sa.Column("headers", JSONB, nullable=True),
        sa.Index("ix_outbox_unpublished", "id", postgresql_where=sa.text("published_at IS NULL")),
        sa.Index(
            "ix_outbox_published_at", "published_at", postgresql_where=sa.text("published_at IS NOT NULL")
        ),
    )


def inbox_table(metadata: sa.MetaData) -> sa.Table:
    """Ids of events this service has handled: a redelivery finds its id here and does nothing."""
    return sa.Table(
        "inbox",
        metadata,
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("processed_at", DateTimeUTC(timezone=True), nullable=False, server_default=sa.func.now()),
    )


async def add_event(
    session: AsyncSession, outbox: sa.Table, subject: str, payload: dict[str, Any]
) -> uuid.UUID:
    """Queue an event in the caller's transaction: it is published only if that transaction commits."""
    event_id: uuid.UUID = uuid7()
    payload = {**payload, "event_id": str(event_id)}
    await session.execute(
        sa.insert(outbox).values(
            id=event_id, subject=subject, payload=payload, headers=carried_headers() or None
        )
    )
    # Wakes the relay at commit (NOTIFY is transactional); the relay also polls.
    await session.execute(sa.select(sa.func.pg_notify(notify_channel(outbox.schema or "public"), "")))
    return event_id


def notify_channel(schema: str) -> str:
    return f"{schema}_outbox"
