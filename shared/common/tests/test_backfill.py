"""``daybook_common.backfill`` on a real PostgreSQL: batches, resuming after a stop, the downgrade,
each batch committed on its own in an autocommit block (as in an Alembic revision), and batches
that read each row a few times even when the table's statistics say it is empty."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from daybook_common.backfill import Backfill
from daybook_devtools.testing.databases import TestDatabase

ROWS = 2500
DOUBLED = Backfill(
    table="backfill_test.numbers",
    set="doubled = n * 2",
    todo="doubled IS NULL",
    undo_set="doubled = NULL",
    undo_todo="doubled IS NOT NULL",
    batch_size=1000,
)


@pytest.fixture
def url(fresh_database: TestDatabase) -> str:
    """The test database's admin URL for the async driver, with a fresh table of ROWS rows."""
    url = make_url(fresh_database.admin_dsn()).set(drivername="postgresql+asyncpg")
    async_engine = create_async_engine(url)

    async def arrange() -> None:
        async with async_engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS backfill_test CASCADE"))
            await conn.execute(text("CREATE SCHEMA backfill_test"))
            await conn.execute(
                text("CREATE TABLE backfill_test.numbers (id int PRIMARY KEY, n int NOT NULL, doubled int)")
            )
            await conn.execute(
                text(
                    f"INSERT INTO backfill_test.numbers (id, n) SELECT i, i FROM generate_series(1, {ROWS}) i"
                )
            )

    async def main() -> None:
        await arrange()
        await async_engine.dispose()

    asyncio.run(main())
    return url.render_as_string(hide_password=False)


def run(url: str, fn: str, after: str = "", **kwargs: object) -> int:
    """``DOUBLED.<fn>`` on the sync face of an async connection in autocommit mode, as a revision's
    ``autocommit_block()`` gives it (Alembic's env runs migrations through ``run_sync`` too);
    ``after``: SQL run next on that connection."""

    async def go() -> int:
        async_engine = create_async_engine(url)
        try:
            async with async_engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")

                def call(sync: Connection) -> int:
                    result: int = getattr(DOUBLED, fn)(sync, **kwargs)
                    if after:
                        sync.execute(text(after))
                    return result

                return await autocommit.run_sync(call)
        finally:
            await async_engine.dispose()

    return asyncio.run(go())


def state(url: str) -> tuple[int, int]:
    """(rows done, rows done wrongly), read on a separate connection: only committed batches count."""

    async def go() -> tuple[int, int]:
        async_engine = create_async_engine(url)
        try:
            async with async_engine.connect() as conn:
                row = (
                    await conn.execute(
                        text(
                            "SELECT count(*) FILTER (WHERE doubled IS NOT NULL),"
                            " count(*) FILTER (WHERE doubled IS DISTINCT FROM n * 2 AND doubled IS NOT NULL)"
                            " FROM backfill_test.numbers"
                        )
                    )
                ).one()
                return int(row[0]), int(row[1])
        finally:
            await async_engine.dispose()

    return asyncio.run(go())


def test_batches_commit_one_by_one_and_a_stopped_run_resumes(url: str) -> None:
    seen: list[tuple[int, int]] = []
    assert run(url, "upgrade", max_batches=1, progress=lambda done, total: seen.append((done, total))) == 1000
    assert seen == [(1000, ROWS)]
    assert state(url) == (1000, 0)  # committed: another connection sees it
    seen.clear()
    assert run(url, "upgrade", progress=lambda done, total: seen.append((done, total))) == ROWS - 1000
    assert seen == [(1000, 1500), (1500, 1500)]
    assert state(url) == (ROWS, 0)
    assert run(url, "upgrade") == 0  # nothing left: a second run is harmless


def test_the_downgrade_undoes_it_in_batches(url: str) -> None:
    assert run(url, "upgrade") == ROWS
    assert run(url, "downgrade", max_batches=2) == 2000
    assert state(url) == (ROWS - 2000, 0)
    assert run(url, "downgrade") == ROWS - 2000
    assert state(url) == (0, 0)


TUPLES_READ = """
SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
       + (SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE relid = s.relid)
FROM pg_stat_user_tables AS s WHERE relid = 'backfill_test.numbers'::regclass
"""


def admin(url: str, *statements: str) -> int:
    """Run ``statements`` as the admin (autocommit); the last one's first value."""

    async def go() -> int:
        async_engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with async_engine.connect() as conn:
                for statement in statements[:-1]:
                    await conn.execute(text(statement))
                return int((await conn.execute(text(statements[-1]))).scalar_one())
        finally:
            await async_engine.dispose()

    return asyncio.run(go())


def test_batches_read_each_row_a_few_times_even_with_statistics_of_an_empty_table(url: str) -> None:
    """Analysed just after it was emptied (``reltuples`` 0, its pages still there), then filled
    again: ``key IN (SELECT key … LIMIT n)`` was planned as a nested loop rescanning the pick for
    every row (~ROWS x batch / 2 rows read per batch, a million here). Picked once, updated by
    row address: each row read a few times."""
    refill = f"INSERT INTO backfill_test.numbers (id, n) SELECT i, i FROM generate_series(1, {ROWS}) i"
    reltuples = admin(
        url,
        "ALTER TABLE backfill_test.numbers SET (autovacuum_enabled = false)",
        "DELETE FROM backfill_test.numbers",
        "ANALYZE backfill_test.numbers",
        refill,
        "SELECT reltuples FROM pg_class WHERE oid = 'backfill_test.numbers'::regclass",
    )
    assert reltuples == 0, "the statistics of an emptied table"
    before = admin(url, TUPLES_READ)
    # The backfill's backend reports its counters when it is idle next (not after up to 1 s).
    assert run(url, "upgrade", after="SELECT pg_stat_force_next_flush()") == ROWS
    read = admin(url, TUPLES_READ) - before
    assert state(url) == (ROWS, 0)
    assert read < 20 * ROWS, read
