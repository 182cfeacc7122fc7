"""One process's live hub on the real database: what a stream is sent follows commit order, not
the order (or the arrival) of the events that announce notifications."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

import asyncpg
import pytest

from daybook_common.db import DatabaseSettings
from daybook_devtools.testing.databases import TestDatabase
from daybook_reminders import SCHEMA
from daybook_reminders.notifications.live import Listener, LiveHub
from daybook_reminders.scheduler import fire_due

from .conftest import seed_reminders
from .test_stream import CommitsLate

DUE = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
async def hub(db: TestDatabase, nats_url: str) -> AsyncIterator[LiveHub]:
    """A hub whose events the test hands it (no relay runs here: nothing else publishes)."""
    live = LiveHub(DatabaseSettings(url=db.url(SCHEMA), schema=SCHEMA), nats_url)
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


async def received(listener: Listener, count: int, timeout: float = 5.0) -> list[Mapping[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(listener.pending) < count:
        assert time.monotonic() < deadline, f"got {listener.pending}"
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # and nothing more
    return listener.take()


def event(user_id: uuid.UUID, notification_ids: list[uuid.UUID]) -> dict[str, Any]:
    """The event the scheduler writes for these notifications (the hub reads what follows its
    cursor; an older hub read these ids)."""
    items = [{"notification_id": str(n), "user_id": str(user_id)} for n in notification_ids]
    return {"event_id": str(uuid.uuid4()), "notifications": items}


async def ids_of(conn: asyncpg.Connection, user_id: uuid.UUID, title: str | None = None) -> list[uuid.UUID]:
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.user_id', $1, true)", str(user_id))
        rows = await conn.fetch(
            "SELECT id FROM notifications WHERE user_id = $1 AND ($2::text IS NULL OR title = $2)",
            user_id,
            title,
        )
    return [row["id"] for row in rows]


async def test_a_late_committer_whose_event_is_lost_comes_with_the_users_next_event(
    hub: LiveHub, db: TestDatabase, conn: asyncpg.Connection
) -> None:
    """A (smaller id) is recorded first and commits last; B is announced and sent; A's event never
    comes. C's event then brings A and C, in commit order."""
    user = uuid.uuid4()
    await seed_reminders(conn, 2, next_fire_at=DUE, user_id=user)
    await seed_reminders(conn, 1, next_fire_at=DUE + dt.timedelta(minutes=5), user_id=user, title="C")
    listener = hub.open(user)
    assert await hub.begin(listener, None) == []
    other = await db.connect_as(SCHEMA)
    late = CommitsLate(conn)
    slow = asyncio.create_task(
        fire_due(cast(asyncpg.Connection, late), batch_size=1, coalesce=False, now=DUE)
    )
    try:
        await asyncio.wait_for(late.reached.wait(), 10)
        assert (await fire_due(other, batch_size=1, coalesce=False, now=DUE)).fired == 1
        hub.on_event(event(user, await ids_of(other, user)))
        (b,) = await received(listener, 1)
    finally:
        late.release.set()
        assert (await slow).fired == 1
        await other.close()
    # A is committed now, but its event is lost.
    assert (await fire_due(conn, batch_size=10, coalesce=False, now=DUE + dt.timedelta(minutes=5))).fired == 1
    hub.on_event(event(user, await ids_of(conn, user, "C")))
    a, c = await received(listener, 2)
    assert uuid.UUID(str(a["id"])) < uuid.UUID(str(b["id"])) and c["title"] == "C"
    assert [row["seq"] for row in (b, a, c)] == sorted(row["seq"] for row in (b, a, c))
    # Events announced again, or for another user, send nothing twice.
    hub.on_event(event(user, await ids_of(conn, user)))
    hub.on_event(event(uuid.uuid4(), [uuid.uuid4()]))
    await asyncio.sleep(0.5)
    assert listener.take() == []
