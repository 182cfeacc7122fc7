"""Recording and listing security events.

:func:`record_activity` adds an event in the caller's transaction, so it commits (or not) with
what it records; callers that answer with an error commit explicitly first (a failed login).
Events are kept ``RETENTION`` (400 days, :mod:`daybook_users.maintenance`) and deleted with the
account. The export (``GET /users/me/export``) records ``"export"`` through the same function.
"""

from __future__ import annotations

import datetime
import uuid
from typing import cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from daybook_common.export import ExportKind
from daybook_common.models import utcnow
from daybook_common.pagination import decode_cursor, page_of
from daybook_users.activity import schemas as s
from daybook_users.auth.clients import ClientInfo
from daybook_users.db import models as m

RETENTION = datetime.timedelta(days=400)
EVENTS = m.SecurityEvent


async def record_activity(
    session: AsyncSession, user_id: uuid.UUID, kind: s.ActivityKind, client: ClientInfo | None = None
) -> None:
    """Add one security event of ``user_id`` to the caller's transaction."""
    now = utcnow()
    await session.execute(
        sa.insert(m.SecurityEvent).values(
            id=uuid7(),
            user_id=user_id,
            kind=kind,
            ip_address=str(client.ip) if client is not None and client.ip is not None else None,
            user_agent=client.user_agent if client is not None else None,
            created_at=now,
            updated_at=now,
        )
    )


async def forget_activity(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(sa.delete(m.SecurityEvent).where(m.SecurityEvent.user_id == user_id))


class ActivityService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self, user_id: uuid.UUID, kind: s.ActivityKind, client: ClientInfo | None = None
    ) -> None:
        await record_activity(self.session, user_id, kind, client)

    async def page(
        self, user_id: uuid.UUID, limit: int, cursor: str | None
    ) -> tuple[list[s.SecurityEvent], str | None]:
        """The user's events, newest first (UUIDv7 ids: creation order), keyset-paginated."""
        stmt = (
            sa.select(m.SecurityEvent)
            .where(m.SecurityEvent.user_id == user_id)
            .order_by(m.SecurityEvent.id.desc())
            .limit(limit + 1)
        )
        if cursor is not None:
            (before,) = decode_cursor(cursor, (uuid.UUID,))
            stmt = stmt.where(m.SecurityEvent.id < before)
        rows = list((await self.session.execute(stmt)).scalars())
        items, next_cursor = page_of(rows, limit, key=lambda event: (str(event.id),))
        return [to_schema(event) for event in items], next_cursor


def to_schema(event: m.SecurityEvent) -> s.SecurityEvent:
    return s.SecurityEvent(
        id=event.id,
        kind=event.kind,  # type: ignore[arg-type]  # the CHECK keeps it one of the kinds
        at=event.created_at,
        ip=str(event.ip_address) if event.ip_address is not None else None,
        user_agent=event.user_agent,
    )


#: The user's security events for the account export, in the API's shape, oldest first.
EXPORT = ExportKind(
    "security_activity",
    lambda user_id: sa.select(EVENTS).where(EVENTS.user_id == user_id).order_by(EVENTS.id),
    lambda row: to_schema(cast(m.SecurityEvent, row)),  # reads the row's attributes, as a model's
)
