"""The retention runner: batched purges past their window, rows within it kept, one runner at a time."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator

import asyncpg
import pytest

from daybook_common.db import plain_url
from daybook_common.retention import Purge, RetentionRunner, inbox_purge, older_than, run_purges
from daybook_devtools.testing.databases import TestDatabase

SCHEMA = "journal"  # a provisioned schema of the fresh database; tables made here for the library test
KEEP = datetime.timedelta(days=30)


@pytest.fixture(scope="module")
async def db(fresh_database: TestDatabase) -> AsyncIterator[TestDatabase]:
    conn = await fresh_database.connect_as(SCHEMA)
    try:
        await conn.execute(
            f"""
            CREATE TABLE {SCHEMA}.trash (id serial PRIMARY KEY, deleted_at timestamptz);
            CREATE TABLE {SCHEMA}.inbox (
                event_id uuid PRIMARY KEY, subject text NOT NULL, processed_at timestamptz NOT NULL
            );
            """
        )
    finally:
        await conn.close()
    yield fresh_database


async def _fill(conn: asyncpg.Connection, old: int, recent: int, live: int) -> None:
    await conn.execute(f"TRUNCATE {SCHEMA}.trash, {SCHEMA}.inbox")
    await conn.execute(
        f"INSERT INTO {SCHEMA}.trash (deleted_at) SELECT now() - interval '31 days' FROM generate_series(1, $1)",
        old,
    )
    await conn.execute(
        f"INSERT INTO {SCHEMA}.trash (deleted_at) SELECT now() - interval '29 days' FROM generate_series(1, $1)",
        recent,
    )
    await conn.execute(
        f"INSERT INTO {SCHEMA}.trash (deleted_at) SELECT NULL FROM generate_series(1, $1)", live
    )
    await conn.execute(
        f"INSERT INTO {SCHEMA}.inbox SELECT gen_random_uuid(), 's', now() - make_interval(days => d) "
        "FROM unnest(ARRAY[1, 6, 8, 30]) AS d"
    )


def _purges() -> list[Purge]:
    return [Purge("trash", older_than(SCHEMA, "trash", "deleted_at"), KEEP), inbox_purge(SCHEMA)]


async def test_purges_rows_past_their_window_in_batches_and_keeps_the_rest(db: TestDatabase) -> None:
    conn = await db.connect_as(SCHEMA)
    try:
        await _fill(conn, old=23, recent=4, live=5)
        counts = await run_purges(conn, SCHEMA, _purges(), batch_size=5)
        assert counts == {"trash": 23, "inbox": 2}
        assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.trash WHERE deleted_at IS NOT NULL") == 4
        assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.trash WHERE deleted_at IS NULL") == 5
        assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.inbox") == 2
        # The lock is released after a run: the next one runs (and finds nothing).
        assert await run_purges(conn, SCHEMA, _purges(), batch_size=5) == {"trash": 0, "inbox": 0}
    finally:
        await conn.close()


async def test_two_runners_at_once_do_not_both_run(db: TestDatabase) -> None:
    setup, blocker = await db.connect_as(SCHEMA), await db.admin_connect()
    first, second = await db.connect_as(SCHEMA), await db.connect_as(SCHEMA)
    try:
        await _fill(setup, old=3, recent=0, live=0)
        # The first runner gets the lock, then waits on a table lock the test holds.
        blocking = blocker.transaction()
        await blocking.start()
        await blocker.execute(f"LOCK TABLE {SCHEMA}.trash IN ACCESS EXCLUSIVE MODE")
        running = asyncio.create_task(run_purges(first, SCHEMA, _purges()))
        for _ in range(500):  # bounded wait until the first runner holds the retention lock
            held = await setup.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $1",
                first.get_server_pid(),
            )
            if held:
                break
            await asyncio.sleep(0.01)
        assert held == 1
        assert await run_purges(second, SCHEMA, _purges()) is None  # skipped: someone else runs
        assert await setup.fetchval(f"SELECT count(*) FROM {SCHEMA}.inbox") == 4  # it deleted nothing
        await blocking.rollback()
        assert await running == {"trash": 3, "inbox": 2}
        assert await run_purges(second, SCHEMA, _purges()) == {"trash": 0, "inbox": 0}  # free again
    finally:
        for conn in (setup, blocker, first, second):
            await conn.close()


async def test_the_runner_purges_on_its_interval_until_stopped(db: TestDatabase) -> None:
    conn = await db.connect_as(SCHEMA)
    runner = RetentionRunner(plain_url(db.url(SCHEMA)), SCHEMA, _purges(), interval_seconds=0.05)
    try:
        await _fill(conn, old=2, recent=1, live=1)
        await runner.start()
        for _ in range(200):  # bounded wait for the background task (not a timing assertion)
            if await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.trash") == 2:
                break
            await asyncio.sleep(0.05)
        assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.trash") == 2
        await runner.stop()
        await conn.execute(f"INSERT INTO {SCHEMA}.trash (deleted_at) VALUES (now() - interval '40 days')")
        await asyncio.sleep(0.3)
        assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.trash") == 3  # stopped: no more runs
    finally:
        await runner.stop()
        await conn.close()


def test_an_interval_of_zero_never_starts() -> None:
    runner = RetentionRunner("postgresql://unused", SCHEMA, _purges(), interval_seconds=0)
    asyncio.run(runner.start())
    assert runner._task is None
