"""The retention purges' batches cost the same whatever the planner believes about the tables.

As the erasure's (``test_erasure_plan.py``): a table analysed just after a purge emptied it
(``reltuples`` 0, its pages still there), then refilled. ``DELETE … WHERE id IN (SELECT id … LIMIT
$2)`` could then be planned as a nested-loop semi join rescanning the pick for every row of the
table. The purges now pick each batch once and delete it by row address
(``daybook_common.batch_delete``).
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from daybook_common.audit import audit_purge
from daybook_common.retention import Purge, run_purges
from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA, SCRIPT_LOCATION
from daybook_journal.retention import purges
from daybook_journal.seed import seed

from .test_erasure_plan import freeze_statistics

ROWS = 8_000
BATCH = 2_000
OLD = datetime.timedelta(days=500)

PER_RELATION = f"""
SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) AS n
FROM pg_stat_user_tables WHERE schemaname = '{SCHEMA}'
UNION ALL
SELECT indexrelname, idx_tup_read FROM pg_stat_user_indexes WHERE schemaname = '{SCHEMA}'
"""


async def tuples_read(conn: asyncpg.Connection) -> dict[str, int]:
    """Rows and index entries read per table and index of the schema so far (this backend's
    counters flushed)."""
    await conn.execute("SELECT pg_stat_force_next_flush()")
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return {r["relname"]: int(r["n"]) for r in await conn.fetch(PER_RELATION)}


async def _old_audit_rows(db: TestDatabase, admin: asyncpg.Connection) -> None:
    await admin.execute(
        f"INSERT INTO {SCHEMA}.audit_log (at, table_name, row_id, op, user_id) "
        "SELECT now() - $1::interval, 'journal_entries', gen_random_uuid(), 'insert', gen_random_uuid() "
        "FROM generate_series(1, $2)",
        OLD,
        ROWS,
    )


async def _old_trashed_entries(db: TestDatabase, admin: asyncpg.Connection) -> None:
    await seed(db.url(SCHEMA), 1, ROWS, user_ids=[uuid.uuid4()], analyze=False)
    await admin.execute(
        f"UPDATE {SCHEMA}.journal_entries SET deleted_at = now() - $1::interval WHERE deleted_at IS NULL", OLD
    )


Fill = Callable[[TestDatabase, asyncpg.Connection], Awaitable[None]]


def _entries_purge() -> Purge:
    return next(p for p in purges(30, 24) if p.name == "journal_entries")


@pytest.mark.parametrize(
    ("purge", "table", "fill"),
    [
        (audit_purge(SCHEMA), "audit_log", _old_audit_rows),
        (_entries_purge(), "journal_entries", _old_trashed_entries),
    ],
    ids=["audit_log", "journal_entries"],
)
async def test_purge_reads_each_row_a_few_times_even_with_statistics_of_an_empty_table(
    fresh_database: TestDatabase, purge: Purge, table: str, fill: Fill
) -> None:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    admin = await fresh_database.admin_connect()
    conn = await fresh_database.connect_as(SCHEMA)
    try:
        tables = await freeze_statistics(admin)
        await admin.execute(f"TRUNCATE {SCHEMA}.{table} CASCADE")
        await fill(fresh_database, admin)
        assert (await run_purges(conn, SCHEMA, [purge], batch_size=BATCH)) == {purge.name: ROWS}
        await admin.execute(f"ANALYZE {', '.join(f'{SCHEMA}.{t}' for t in tables)}")
        await fill(fresh_database, admin)
        reltuples, relpages = await admin.fetchrow(
            "SELECT reltuples, relpages FROM pg_class WHERE oid = $1::regclass", f"{SCHEMA}.{table}"
        )
        assert reltuples == 0 and relpages > 0, "the statistics of an emptied table"

        before = await tuples_read(conn)
        started = time.perf_counter()
        counts = await run_purges(conn, SCHEMA, [purge], batch_size=BATCH)
        took = time.perf_counter() - started
        after = await tuples_read(conn)
        read = {name: n - before.get(name, 0) for name, n in after.items() if n > before.get(name, 0)}
    finally:
        await conn.close()
        await admin.close()
    assert counts == {purge.name: ROWS}
    # Picked once and deleted by address: each row read a few times. A nested loop rescanning the
    # pick reads ~ROWS x BATCH / 2 per batch (~8 million here).
    assert sum(read.values()) < 20 * ROWS, (read, f"{took:.2f} s")
