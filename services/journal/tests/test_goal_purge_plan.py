"""Purging goal deletions costs the same whatever the planner believes about the tables: the
owner's ``DELETE /api/v1/goals/trash`` and the retention's purge of expired deletions.

As the retention purges (``test_retention_plan.py``): ``goals`` analysed just after a purge
emptied it (``reltuples`` 0, its pages still there), then refilled. The owner's purge's ``DELETE …
WHERE id IN (SELECT id FROM tops)`` could then be planned as a nested loop rescanning the pick for
every goal, and in both purges the walk down the subtrees (``goals JOIN doomed ON parent_id``) was
a nested loop reading every goal of the table for each goal of the subtrees: 72 million rows
handled for 3,000 deletions here (15-60 s). Both now pick the tops once and delete them by row
address, match the tasks against an array of the subtrees' ids (as ``daybook_common.batch_delete``),
and walk down from each goal of the subtrees to its children by the ``parent_id`` index.
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA, SCRIPT_LOCATION
from daybook_journal.goals.services import _PURGE
from daybook_journal.retention import purges

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


Purge = Callable[[asyncpg.Connection, uuid.UUID], Awaitable[dict[str, Any]]]


async def explained(conn: asyncpg.Connection, statement: str, *args: object) -> dict[str, Any]:
    [result] = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", *args))
    plan: dict[str, Any] = result["Plan"]
    return plan


async def empty_trash(conn: asyncpg.Connection, user: uuid.UUID) -> dict[str, Any]:
    """The service's purge of every deletion of ``user``'s (``DELETE /api/v1/goals/trash``), as the
    journal's role bound to the user: its plan, executed."""
    statement = _PURGE.format(which="").replace(":user_id", "$1::uuid")
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.user_id', $1, true)", str(user))
        return await explained(conn, statement, user)


async def retention(conn: asyncpg.Connection, user: uuid.UUID) -> dict[str, Any]:
    """The retention's purge of expired goal deletions (every user's), one batch of all of them."""
    [goals] = [p for p in purges(0, 24) if p.name == "goals"]
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
        return await explained(conn, goals.sql, datetime.datetime.now(datetime.UTC), TOPS)


@pytest.mark.parametrize("purge", [empty_trash, retention], ids=["empty_trash", "retention"])
async def test_purging_goals_handles_each_row_a_few_times_even_with_statistics_of_empty_tables(
    fresh_database: TestDatabase, purge: Purge
) -> None:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    admin = await fresh_database.admin_connect()
    conn = await fresh_database.connect_as(SCHEMA)
    try:
        tables = await freeze_statistics(admin)
        first, second = uuid.uuid4(), uuid.uuid4()
        await admin.execute(FILL, first)
        await purge(conn, first)
        assert await admin.fetchval(f"SELECT count(*) FROM {SCHEMA}.goals") == 0
        await admin.execute(f"ANALYZE {', '.join(f'{SCHEMA}.{t}' for t in tables)}")
        await admin.execute(FILL, second)
        reltuples, relpages = await admin.fetchrow(
            f"SELECT reltuples, relpages FROM pg_class WHERE oid = '{SCHEMA}.goals'::regclass"
        )
        assert reltuples == 0 and relpages > 0, "the statistics of an emptied table"

        started = time.perf_counter()
        handled = rows_handled(await purge(conn, second))
        took = time.perf_counter() - started
        detached = await admin.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.tasks WHERE user_id = $1 AND goal_id IS NULL", second
        )
        left = await admin.fetchval(f"SELECT count(*) FROM {SCHEMA}.goals WHERE user_id = $1", second)
    finally:
        await conn.close()
        await admin.close()
    assert (detached, left) == (TOPS, 0)
    # Picked once: each goal and task handled a few times. A nested loop rescanning the pick
    # handles ~TOPS x TOPS rows (9 million here).
    assert handled < 20 * TOPS, (handled, f"{took:.2f} s")
