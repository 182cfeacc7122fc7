"""p50/p95/p99 of the journal entries list query (``GET /api/v1/journal/entries?limit=20``'s statement).

Runs the exact statement the endpoint runs (built by ``EntryQueries``, row-level
security bound the same way), one at a time, for random seeded users: first pages and
follow-up pages (with a cursor).  Also prints PostgreSQL's own execution time.

    # a scratch database with 1M entries over 10k users:
    JOURNAL_DATABASE_URL=postgresql://journal:…@127.0.0.1:5432/bench \\
        uv run daybook-journal migrate
    JOURNAL_DATABASE_URL=… uv run daybook-journal seed --users 10000 --entries-per-user 100 \\
        --write-user-ids /tmp/bench-users.txt
    JOURNAL_DATABASE_URL=… uv run python services/journal/bench/list_p50.py /tmp/bench-users.txt
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from pathlib import Path

from daybook_common.db import DatabaseSettings
from daybook_journal.db.reads import ReadPool, UserReads
from daybook_journal.entries.services import EntryFilters, EntryQueries


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    pick = lambda p: ordered[min(len(ordered) - 1, int(p * len(ordered)))]  # noqa: E731
    return f"p50 {statistics.median(ordered):.3f} ms  p95 {pick(0.95):.3f} ms  p99 {pick(0.99):.3f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("user_ids_file")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--database-url", default=os.environ.get("JOURNAL_DATABASE_URL"))
    args = parser.parse_args()
    users = [uuid.UUID(line) for line in Path(args.user_ids_file).read_text().split()]  # noqa: ASYNC240
    reads = ReadPool(DatabaseSettings(url=args.database_url, schema="journal", pool_size=1), "journal-bench")
    await reads.start()
    assert reads.pool is not None
    try:
        rng = random.Random(1)
        first, following, server = [], [], []
        for n in range(args.requests + 100):
            queries = EntryQueries(UserReads(reads, rng.choice(users)))
            started = time.perf_counter()
            _, cursor = await queries.page(EntryFilters(), None, args.limit)
            elapsed = (time.perf_counter() - started) * 1000
            if n >= 100:  # warm-up: connection, prepared statements, caches
                first.append(elapsed)
            if cursor is not None:
                started = time.perf_counter()
                await queries.page(EntryFilters(), cursor, args.limit)
                if n >= 100:
                    following.append((time.perf_counter() - started) * 1000)
            if n >= 100 and n % 20 == 0:  # PostgreSQL's own execution time, now and then
                query, values = queries.list_query(EntryFilters(), None, args.limit)
                async with reads.pool.acquire() as conn:
                    plan = await conn.fetchval(
                        f"EXPLAIN (ANALYZE, FORMAT JSON) {query.sql}",
                        *query.args({"uid": str(queries.reads.user_id), **values}),
                    )
                server.append(json.loads(plan)[0]["Execution Time"])
        async with reads.pool.acquire() as conn:
            total = await conn.fetchval(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = 'journal.journal_entries'::regclass"
            )
        print(
            f"journal_entries ≈ {total:,} rows, {len(users):,} users, limit={args.limit}, {args.requests} requests"
        )
        print(f"first page (round trip):     {percentiles(first)}")
        print(f"next page  (round trip):     {percentiles(following)}")
        print(f"server execution (EXPLAIN):  {percentiles(server)}")
    finally:
        await reads.stop()


if __name__ == "__main__":
    asyncio.run(main())
