"""Emptying the goals trash costs the same whatever the planner believes about the tables.

As the retention purges (``test_retention_plan.py``): ``goals`` and ``tasks`` analysed just
after a purge emptied them (``reltuples`` 0, their pages still there), then refilled. The
purge's ``DELETE … WHERE id IN (SELECT id FROM tops)`` and ``UPDATE tasks … WHERE goal_id IN
(SELECT id FROM doomed)`` could then be planned as nested loops rescanning the pick for every
goal (or task), and the walk down the subtrees (``goals JOIN doomed ON parent_id``) as a nested
loop reading every goal of the table for each goal of the subtrees (18 million rows for 3,000
deletions here, 30-60 s). The purge now picks the tops once and deletes them by row address,
matches the tasks against an array of the subtrees' ids (as ``daybook_common.batch_delete``), and
walks down from each goal of the subtrees to its children by the ``parent_id`` index.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import asyncpg

from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA, SCRIPT_LOCATION
from daybook_journal.goals.services import _PURGE

from .test_erasure_plan import freeze_statistics

TOPS = 3_000
#: Every deletion in the trash: a top goal, a child under it, a task naming the child.
FILL = f"""
WITH tops AS (
    INSERT INTO {SCHEMA}.goals (id, user_id, root_id, parent_id, depth, title, sort_order, version,
                                created_at, updated_at, deleted_at, deletion_id)
    SELECT t.id, $1, t.id, NULL, 0, 'top', 0, 1, now(), now(), now(), t.id
    FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, {TOPS})) AS t
    RETURNING id
), children AS (
    INSERT INTO {SCHEMA}.goals (id, user_id, root_id, parent_id, depth, title, sort_order, version,
                                created_at, updated_at, deleted_at, deletion_id)
    SELECT gen_random_uuid(), $1, id, id, 1, 'child', 0, 1, now(), now(), now(), id FROM tops
    RETURNING id
)
INSERT INTO {SCHEMA}.tasks (id, user_id, title, goal_id, version, created_at, updated_at)
SELECT gen_random_uuid(), $1, 'task', id, 1, now(), now() FROM children
"""


def rows_handled(plan: dict[str, Any]) -> float:
    """Rows every node of ``plan`` returned or filtered out, times its loops (rescans count)."""
    own = (
        plan.get("Actual Rows", 0)
        + plan.get("Rows Removed by Filter", 0)
        + plan.get("Rows Removed by Join Filter", 0)
    ) * plan.get("Actual Loops", 1)
    return own + sum(rows_handled(child) for child in plan.get("Plans", []))


async def empty_trash(conn: asyncpg.Connection, user: uuid.UUID) -> tuple[int, float]:
    """The service's purge of every deletion of ``user``'s, EXPLAIN ANALYZEd as the journal's role
    bound to the user: (goals deleted, rows handled)."""
    statement = _PURGE.format(which="").replace(":user_id", "$1::uuid")
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.user_id', $1, true)", str(user))
        [result] = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", user))
    return int(result["Plan"]["Actual Rows"]), rows_handled(result["Plan"])


async def test_emptying_the_trash_handles_each_row_a_few_times_even_with_statistics_of_empty_tables(
    fresh_database: TestDatabase,
) -> None:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    admin = await fresh_database.admin_connect()
    conn = await fresh_database.connect_as(SCHEMA)
    try:
        tables = await freeze_statistics(admin)
        first, second = uuid.uuid4(), uuid.uuid4()
        await admin.execute(FILL, first)
        assert (await empty_trash(conn, first))[0] == TOPS
        await admin.execute(f"DELETE FROM {SCHEMA}.tasks WHERE user_id = $1", first)  # tasks empty too
        await admin.execute(f"ANALYZE {', '.join(f'{SCHEMA}.{t}' for t in tables)}")
        await admin.execute(FILL, second)
        stale = await admin.fetch(
            f"SELECT relname, reltuples, relpages FROM pg_class WHERE oid IN "
            f"('{SCHEMA}.goals'::regclass, '{SCHEMA}.tasks'::regclass)"
        )
        assert all(r["reltuples"] == 0 and r["relpages"] > 0 for r in stale), "statistics of emptied tables"

        started = time.perf_counter()
        deleted, handled = await empty_trash(conn, second)
        took = time.perf_counter() - started
        detached = await admin.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.tasks WHERE user_id = $1 AND goal_id IS NULL", second
        )
        left = await admin.fetchval(f"SELECT count(*) FROM {SCHEMA}.goals WHERE user_id = $1", second)
    finally:
        await conn.close()
        await admin.close()
    assert (deleted, detached, left) == (TOPS, TOPS, 0)
    # Picked once: each goal and task handled a few times. A nested loop rescanning the pick
    # handles ~TOPS x TOPS rows (9 million here).
    assert handled < 20 * TOPS, (handled, f"{took:.2f} s")
