"""The erasure's batches cost the same whatever the planner believes about the tables.

Bench case 6 after case 4: the tables had been analysed just after the warm-up's erasure emptied
them (``reltuples`` 0, their pages still there), then refilled with the next account's 100,000
entries. ``DELETE … WHERE id IN (SELECT id … LIMIT 5000)`` was then planned as a nested-loop semi
join rescanning the pick for each of the user's rows: one batch ran over a minute, the erasure over
120 s (~2 s with fresh statistics). The batch is now picked once and deleted by row address.
"""

from __future__ import annotations

import time
import uuid

import asyncpg

from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA, SCRIPT_LOCATION
from daybook_journal.erasure import erase_user
from daybook_journal.seed import seed

ENTRIES = 8_000
BATCH = 2_000

TUPLES_READ = f"""
SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)
       + (SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE schemaname = '{SCHEMA}')
FROM pg_stat_user_tables WHERE schemaname = '{SCHEMA}'
"""


async def tuples_read(conn: asyncpg.Connection) -> int:
    """Rows and index entries read in the schema so far (this backend's counters flushed)."""
    await conn.execute("SELECT pg_stat_force_next_flush()")
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return int(await conn.fetchval(TUPLES_READ))


async def freeze_statistics(admin: asyncpg.Connection) -> list[str]:
    """Autovacuum off on every table of the schema (its ANALYZE would repair the statistics the
    tests make stale on purpose); the tables' names."""
    tables = [
        r["relname"]
        for r in await admin.fetch("SELECT relname FROM pg_stat_user_tables WHERE schemaname = $1", SCHEMA)
    ]
    for table in tables:
        await admin.execute(f"ALTER TABLE {SCHEMA}.{table} SET (autovacuum_enabled = false)")
    return tables


async def test_erasure_reads_each_row_a_few_times_even_with_statistics_of_an_empty_table(
    fresh_database: TestDatabase,
) -> None:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    admin = await fresh_database.admin_connect()
    conn = await fresh_database.connect_as(SCHEMA)
    try:
        tables = await freeze_statistics(admin)
        first, second = uuid.uuid4(), uuid.uuid4()
        await seed(fresh_database.url(SCHEMA), 1, ENTRIES, user_ids=[first], analyze=False)
        await erase_user(conn, first, batch_size=BATCH)
        await admin.execute(f"ANALYZE {', '.join(f'{SCHEMA}.{t}' for t in tables)}")
        await seed(fresh_database.url(SCHEMA), 1, ENTRIES, user_ids=[second], analyze=False)
        reltuples, relpages = await admin.fetchrow(
            "SELECT reltuples, relpages FROM pg_class WHERE oid = 'journal.journal_entries'::regclass"
        )
        assert reltuples == 0 and relpages > 0, "the statistics of an emptied table"

        before = await tuples_read(conn)
        started = time.perf_counter()
        counts = await erase_user(conn, second, batch_size=BATCH)
        took = time.perf_counter() - started
        read = await tuples_read(conn) - before
    finally:
        await conn.close()
        await admin.close()
    assert counts["journal_entries"] == ENTRIES
    # Picked once and deleted by address: each entry, its links and tags read a few times. The
    # nested loop read ~ENTRIES x BATCH / 2 per batch (~30 million here; seconds).
    assert read < 20 * ENTRIES, (read, f"{took:.2f} s")
