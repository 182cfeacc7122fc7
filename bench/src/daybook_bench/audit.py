"""Case 3's audit rows: what the audit trigger (``daybook_common.audit``) adds to each changed row.

In the database itself, so the HTTP path's noise stays out: one transaction per round inserts,
updates and deletes ``rows`` tags of a throwaway user (20,000 by default, one statement each, so
the row trigger fires once per row), timed with ``clock_timestamp()``; rounds alternate with the
``tags_audit`` trigger enabled and disabled, and the medians give the cost per row.  The trigger
is left enabled (``finally``) and the user's rows, audit rows included, are deleted.
"""

from __future__ import annotations

import uuid

import asyncpg

from daybook_bench.results import Row
from daybook_bench.wrk import Summary

OPERATIONS = ("insert", "update", "delete")
_TOGGLE = "ALTER TABLE journal.tags {} TRIGGER tags_audit"


async def _round(conn: asyncpg.Connection, rows: int) -> tuple[float, float, float]:
    user = uuid.uuid4()
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.user_id', $1, true)", str(user))
        t0 = await conn.fetchval("SELECT clock_timestamp()")
        await conn.execute(
            "INSERT INTO journal.tags (id, user_id, name, color, version, created_at, updated_at) "
            "SELECT gen_random_uuid(), $1, 'bench' || g, '#112233', 1, now(), now() "
            "FROM generate_series(1, $2) AS g",
            user,
            rows,
        )
        t1 = await conn.fetchval("SELECT clock_timestamp()")
        await conn.execute(
            "UPDATE journal.tags SET color = '#445566', version = version + 1 WHERE user_id = $1", user
        )
        t2 = await conn.fetchval("SELECT clock_timestamp()")
        await conn.execute("DELETE FROM journal.tags WHERE user_id = $1", user)
        t3 = await conn.fetchval("SELECT clock_timestamp()")
        await conn.execute("DELETE FROM journal.audit_log WHERE user_id = $1", user)
    return tuple((b - a).total_seconds() / rows * 1e6 for a, b in ((t0, t1), (t1, t2), (t2, t3)))


async def audit_row_cost(admin_dsn: str, rounds: int, rows: int = 20_000) -> list[Row]:
    """Rows of µs per changed row, trigger on and off, per operation (``rounds`` each)."""
    conn = await asyncpg.connect(admin_dsn)
    timings: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
    try:
        for index in range(2 * rounds):
            enabled = index % 2 == 0
            await conn.execute(_TOGGLE.format("ENABLE" if enabled else "DISABLE"))
            timings[enabled].append(await _round(conn, rows))
    finally:
        await conn.execute(_TOGGLE.format("ENABLE"))
        await conn.close()
    result = []
    for position, operation in enumerate(OPERATIONS):
        for enabled in (False, True):
            values = [timing[position] for timing in timings[enabled]]
            label = "with" if enabled else "without"
            result.append(
                Row(f"tags {operation}, {label} the audit trigger (per row)", Summary.of(values), "µs")
            )
    return result
