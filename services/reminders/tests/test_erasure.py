"""Account erasure: every reminder and notification of one user is hard-deleted, in bounded batches."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg

from daybook_devtools.testing.databases import TestDatabase
from daybook_reminders.erasure import Erased, erase_user
from daybook_reminders.scheduler import fire_due


async def counts(db: TestDatabase, user: uuid.UUID) -> tuple[int, int]:
    admin = await db.admin_connect()
    try:
        reminders = await admin.fetchval("SELECT count(*) FROM reminders.reminders WHERE user_id = $1", user)
        notifications = await admin.fetchval(
            "SELECT count(*) FROM reminders.notifications WHERE user_id = $1", user
        )
        return reminders, notifications
    finally:
        await admin.close()


async def test_erase_user_removes_everything_of_that_user_only(
    db: TestDatabase, conn: asyncpg.Connection, seed: Any
) -> None:
    doomed, kept = uuid.uuid4(), uuid.uuid4()
    due = dt.datetime(2040, 1, 1, 9, 0, tzinfo=dt.UTC)
    doomed_ids = await seed(conn, 23, next_fire_at=due, user_id=doomed)
    await seed(conn, 4, next_fire_at=due, user_id=kept)
    # Three firings each: notifications to erase too (23 x 3), plus a soft-deleted reminder.
    for day in range(3):
        while (
            await fire_due(conn, batch_size=100, coalesce=False, now=due + dt.timedelta(days=day))
        ).claimed:
            pass
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
        await conn.execute(
            "UPDATE reminders SET deleted_at = now(), next_fire_at = NULL WHERE id = $1", doomed_ids[0]
        )
    assert await counts(db, doomed) == (23, 69)
    assert await counts(db, kept) == (4, 12)

    erased = await erase_user(conn, doomed, batch_size=10)  # several batches of each kind
    assert erased == Erased(reminders=23, notifications=69)
    assert await counts(db, doomed) == (0, 0)
    assert await counts(db, kept) == (4, 12)
    # Idempotent: a redelivered event finds nothing left.
    assert await erase_user(conn, doomed) == Erased(reminders=0, notifications=0)
    # The row-level-security binding did not outlive the erasure's transactions.
    assert await conn.fetchval("SELECT count(*) FROM reminders") == 0


async def test_erase_inside_a_callers_transaction(
    db: TestDatabase, conn: asyncpg.Connection, seed: Any
) -> None:
    user = uuid.uuid4()
    await seed(conn, 5, next_fire_at=dt.datetime(2041, 1, 1, tzinfo=dt.UTC), user_id=user)
    async with conn.transaction():  # e.g. the consumer's transaction that also records the inbox row
        assert await erase_user(conn, user, batch_size=2) == Erased(reminders=5, notifications=0)
    assert await counts(db, user) == (0, 0)


async def test_user_deleted_event_handler_erases_through_a_pool(
    db: TestDatabase, conn: asyncpg.Connection, seed: Any
) -> None:
    from daybook_reminders import SCHEMA
    from daybook_reminders.events import on_user_deleted

    user = uuid.uuid4()
    await seed(conn, 3, next_fire_at=dt.datetime(2042, 1, 1, tzinfo=dt.UTC), user_id=user)
    pool = await asyncpg.create_pool(db.url(SCHEMA), min_size=1, max_size=2)
    try:
        payload = {"user_id": str(user), "deleted_at": "2042-01-01T00:00:00+00:00"}
        await on_user_deleted(pool, payload)
        assert await counts(db, user) == (0, 0)
        await on_user_deleted(pool, payload)  # redelivery: nothing left, no error
    finally:
        await pool.close()
