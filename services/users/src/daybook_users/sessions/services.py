"""Listing and revoking sessions (refresh-token families).

A session is live while one of its tokens can still be refreshed. Revoking one revokes its
refresh tokens at once and denies its access tokens (their ``sid`` claim is the family id)
until the last of them expires: here through ``users.denied_sessions`` (checked on every
authenticated request), in the other services through ``users.session.revoked``, whose
consumers add it to their own deny-list (:func:`daybook_common.denylist.deny_session`).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.auth import LEEWAY_SECONDS
from daybook_common.errors import NotFound
from daybook_common.events import SESSION_REVOKED, add_event
from daybook_common.export import ExportKind
from daybook_common.models import utcnow
from daybook_common.pagination import decode_cursor, page_of
from daybook_users.activity.services import record_activity
from daybook_users.auth.clients import ClientInfo
from daybook_users.db import models as m
from daybook_users.sessions import schemas as s

REFRESH_TOKENS = cast(sa.Table, m.RefreshToken.__table__)


def _live() -> sa.ColumnElement[bool]:
    rt = REFRESH_TOKENS
    return sa.and_(rt.c.revoked_at.is_(None), rt.c.used_at.is_(None), rt.c.expires_at > sa.func.now())


class SessionService:
    def __init__(self, session: AsyncSession, access_ttl_seconds: int) -> None:
        self.session = session
        self.access_ttl = datetime.timedelta(seconds=access_ttl_seconds + LEEWAY_SECONDS)

    async def page(
        self, user_id: uuid.UUID, current: uuid.UUID | None, limit: int, cursor: str | None
    ) -> tuple[list[s.Session], str | None]:
        """The user's live sessions, newest login first (family ids are UUIDv7), keyset-paginated."""
        rt = REFRESH_TOKENS
        latest_agent = sa.func.array_agg(aggregate_order_by(rt.c.user_agent, rt.c.created_at.desc()))[1]
        stmt = (
            sa.select(
                rt.c.family_id,
                sa.func.min(rt.c.created_at).label("created_at"),
                sa.func.max(rt.c.created_at).label("last_used_at"),
                latest_agent.label("user_agent"),
            )
            .where(rt.c.user_id == user_id)
            .group_by(rt.c.family_id)
            .having(sa.func.bool_or(_live()))
            .order_by(rt.c.family_id.desc())
            .limit(limit + 1)
        )
        if cursor is not None:
            (before,) = decode_cursor(cursor, (uuid.UUID,))
            stmt = stmt.where(rt.c.family_id < before)
        rows = list((await self.session.execute(stmt)).all())
        items, next_cursor = page_of(rows, limit, key=lambda row: (str(row.family_id),))
        return [
            s.Session(
                id=row.family_id,
                created_at=row.created_at,
                last_used_at=row.last_used_at,
                user_agent=row.user_agent,
                current=row.family_id == current,
            )
            for row in items
        ], next_cursor

    async def revoke(self, user_id: uuid.UUID, session_id: uuid.UUID, client: ClientInfo) -> None:
        """Revoke a live session of ``user_id`` (else :class:`NotFound`) and deny its access tokens."""
        rt = REFRESH_TOKENS
        now = utcnow()
        revoked = (
            await self.session.execute(
                sa.update(rt)
                .where(rt.c.user_id == user_id, rt.c.family_id == session_id, _live())
                .values(revoked_at=now, updated_at=now)
                .returning(rt.c.id)
            )
        ).all()
        if not revoked:
            raise NotFound()
        await revoke_family_tokens(self.session, session_id, now)
        await self.deny_access(user_id, session_id, now)
        await record_activity(self.session, user_id, "session_revoked", client)

    async def deny_access(self, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime.datetime) -> None:
        """Refuse the access tokens of a revoked session (their ``sid``) until the last one expires:
        here at once, in the other services by ``users.session.revoked``."""
        expires_at = now + self.access_ttl
        await self.deny(session_id, expires_at)
        await add_event(
            self.session,
            m.outbox,
            SESSION_REVOKED,
            {"session_id": str(session_id), "user_id": str(user_id), "expires_at": expires_at.isoformat()},
        )

    async def deny_access_all(self, user_id: uuid.UUID, session_ids: Iterable[uuid.UUID]) -> None:
        """:meth:`deny_access` for each session (a password change or reset ends them at once)."""
        now = utcnow()
        for session_id in sorted(session_ids):
            await self.deny_access(user_id, session_id, now)

    async def deny(self, session_id: uuid.UUID, expires_at: datetime.datetime) -> None:
        table = m.denied_sessions
        stmt = insert(table).values(session_id=session_id, expires_at=expires_at)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c.session_id],
                set_={"expires_at": sa.func.greatest(table.c.expires_at, stmt.excluded.expires_at)},
            )
        )

    async def is_denied(self, session_id: uuid.UUID) -> bool:
        table = m.denied_sessions
        found = await self.session.execute(
            sa.select(sa.literal(1)).where(
                table.c.session_id == session_id, table.c.expires_at > sa.func.now()
            )
        )
        return found.first() is not None


async def revoke_family_tokens(session: AsyncSession, family_id: uuid.UUID, now: datetime.datetime) -> None:
    """Also the family's spent tokens (so a late replay of one is not mistaken for a live session)."""
    rt = REFRESH_TOKENS
    await session.execute(
        sa.update(rt)
        .where(rt.c.family_id == family_id, rt.c.revoked_at.is_(None))
        .values(revoked_at=now, updated_at=now)
    )


def _export_query(
    user_id: uuid.UUID,
) -> sa.Select[tuple[uuid.UUID, datetime.datetime, datetime.datetime, str | None, bool]]:
    rt = REFRESH_TOKENS
    return (
        sa.select(
            rt.c.family_id.label("id"),
            sa.func.min(rt.c.created_at).label("created_at"),
            sa.func.max(rt.c.created_at).label("last_used_at"),
            sa.func.array_agg(aggregate_order_by(rt.c.user_agent, rt.c.created_at.desc()))[1].label(
                "user_agent"
            ),
            sa.func.bool_or(_live()).label("live"),
        )
        .where(rt.c.user_id == user_id)
        .group_by(rt.c.family_id)
        .order_by(rt.c.family_id)
    )


#: The user's sign-in sessions (refresh-token families, ended ones too, ``live`` says which can
#: still refresh) for the account export; no token or hash.
EXPORT = ExportKind("sign_in_sessions", _export_query)
