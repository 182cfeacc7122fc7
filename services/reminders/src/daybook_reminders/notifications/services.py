"""Notifications of the caller: newest first, unread filter, mark read, snooze."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from daybook_common.errors import Conflict, NotFound
from daybook_common.models import utcnow
from daybook_common.pagination import decode_cursor, page_of
from daybook_reminders.db import models as m
from daybook_reminders.reminders.services import notify_schedulers


class NotificationService(SQLAlchemyAsyncRepositoryService[m.Notification]):
    class Repo(SQLAlchemyAsyncRepository[m.Notification]):
        model_type = m.Notification

    repository_type = Repo

    def __init__(
        self, session: AsyncSession, user_id: uuid.UUID, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        super().__init__(session=session)
        self.session = session
        self.user_id = user_id
        self.clock = clock

    async def list_page(
        self, *, limit: int, cursor: str | None, unread: bool
    ) -> tuple[list[m.Notification], str | None]:
        """Newest occurrence first; ties (same instant) by id, also descending."""
        n = m.Notification
        stmt = sa.select(n).where(n.user_id == self.user_id)
        if unread:
            stmt = stmt.where(n.read_at.is_(None))
        if cursor is not None:
            occurrence_at, last_id = decode_cursor(cursor, (dt.datetime, uuid.UUID))
            stmt = stmt.where(sa.tuple_(n.occurrence_at, n.id) < sa.tuple_(occurrence_at, last_id))
        stmt = stmt.order_by(n.occurrence_at.desc(), n.id.desc()).limit(limit + 1)
        rows = list((await self.session.execute(stmt)).scalars())
        return page_of(rows, limit, lambda r: (r.occurrence_at.isoformat(), str(r.id)))

    async def mark_read(self, notification_id: uuid.UUID) -> bool:
        """Set ``read_at`` once (a second call keeps the first time); False when not the caller's."""
        n = m.Notification
        now = self.clock()
        found = await self.session.execute(
            sa.update(n)
            .where(n.id == notification_id, n.user_id == self.user_id)
            .values(
                read_at=sa.func.coalesce(n.read_at, now),
                updated_at=sa.case((n.read_at.is_(None), now), else_=n.updated_at),
            )
            .returning(n.id)
            .execution_options(synchronize_session=False)
        )
        return found.scalar_one_or_none() is not None

    async def snooze(self, notification_id: uuid.UUID, minutes: int) -> dt.datetime:
        """Fire the notification's reminder once more ``minutes`` from now (again: moves that time);
        returns that time.

        NotFound unless the caller's; Conflict when its reminder is in the trash (it would not fire).
        """
        n, r = m.Notification, m.Reminder
        found = await self.session.execute(
            sa.select(r.deleted_at)
            .join(n, n.reminder_id == r.id)
            .where(n.id == notification_id, n.user_id == self.user_id)
        )
        row = found.one_or_none()
        if row is None:
            raise NotFound("Notification not found")
        if row.deleted_at is not None:
            raise Conflict("The notification's reminder is in the trash: restore it to snooze")
        now = self.clock()
        fire_at = now + dt.timedelta(minutes=minutes)
        sn = m.Snooze
        stmt = (
            pg_insert(sn)
            .values(
                id=uuid7(),
                user_id=self.user_id,
                notification_id=notification_id,
                fire_at=fire_at,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_update(
                index_elements=[sn.notification_id], set_={"fire_at": fire_at, "updated_at": now}
            )
        )
        await self.session.execute(stmt)
        await notify_schedulers(self.session, fire_at)
        return fire_at
