"""A goal's move, delete and restore cost the same whatever the planner believes about ``goals``.

As the purges (``test_goal_purge_plan.py``): ``goals`` analysed just after it was emptied
(``reltuples`` 0, its pages still there), then refilled. The walk down a goal's subtree that a
move and a delete run (``goals JOIN subtree ON parent_id``) was then planned as a nested loop
reading every goal of the table for each goal of the subtree. The requests are made through HTTP
(with the retention job off: its statistics refresh would repair what the test makes stale on
purpose) while a SQLAlchemy listener records what the service sends; each recorded statement on
``goals`` is then run again under ``EXPLAIN ANALYZE`` (rolled back), as the service's role bound
to the caller, and the rows its plan handled are counted. Not counted: the queries the foreign
keys' triggers run (``EXPLAIN`` gives their time only), see the README's known limit.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_journal import SCHEMA
from daybook_journal.app import create_app
from daybook_journal.settings import Settings
from daybook_journal.testing import GOALS

from .test_erasure_plan import freeze_statistics
from .test_goal_purge_plan import rows_handled

CHILDREN = 2_000
#: ``$2`` a root, ``$3`` another: under the first, CHILDREN children with a child each.
FILL = f"""
WITH roots AS (
    INSERT INTO {SCHEMA}.goals (id, user_id, root_id, parent_id, depth, title, sort_order, version,
                                created_at, updated_at)
    VALUES ($2, $1, $2, NULL, 0, 'root', 0, 1, now(), now()), ($3, $1, $3, NULL, 0, 'other', 1, 1, now(), now())
), children AS (
    INSERT INTO {SCHEMA}.goals (id, user_id, root_id, parent_id, depth, title, sort_order, version,
                                created_at, updated_at)
    SELECT gen_random_uuid(), $1, $2, $2, 1, 'child', n, 1, now(), now() FROM generate_series(1, {CHILDREN}) AS n
    RETURNING id
)
INSERT INTO {SCHEMA}.goals (id, user_id, root_id, parent_id, depth, title, sort_order, version,
                            created_at, updated_at)
SELECT gen_random_uuid(), $1, $2, id, 2, 'grandchild', 0, 1, now(), now() FROM children
"""


@pytest.fixture(scope="module")
async def api_without_retention(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    quiet = dataclasses.replace(
        settings, journal=dataclasses.replace(settings.journal, trash_purge_interval_seconds=0)
    )
    async with AsyncTestClient(create_app(quiet)) as client:
        yield client


async def test_move_delete_restore_handle_each_goal_a_few_times_even_with_statistics_of_an_empty_table(
    api_without_retention: AsyncTestClient, migrated: TestDatabase, signer: TestSigner
) -> None:
    api = api_without_retention
    admin = await migrated.admin_connect()
    try:
        await freeze_statistics(admin)
        await admin.execute(FILL, uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
        await admin.execute(f"DELETE FROM {SCHEMA}.goals")
        await admin.execute(f"ANALYZE {SCHEMA}.goals")
        user, root, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        await admin.execute(FILL, user, root, other)
        leaf, under = await admin.fetchrow(
            f"SELECT g.id, c.id FROM {SCHEMA}.goals AS g, {SCHEMA}.goals AS c"
            f" WHERE g.user_id = $1 AND g.depth = 2 AND c.user_id = $1 AND c.depth = 1 AND c.id <> g.parent_id LIMIT 1",
            user,
        )
    finally:
        await admin.close()

    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool) -> None:
        if f"{SCHEMA}.goals" in sql:
            statements.append((sql, parameters))

    headers = signer.headers(user, ttl=3600)
    assert (await api.get(f"{GOALS}/{root}", headers=headers)).status_code == 200  # the app warmed up
    event.listen(Engine, "before_cursor_execute", record)
    try:
        started = time.perf_counter()
        r = await api.patch(f"{GOALS}/{root}", json={"parent_id": str(other)}, headers=headers)
        assert r.status_code == 200 and r.json()["depth"] == 1, r.text
        # A move inside the tree: its cycle check walks up from the new parent.
        r = await api.patch(f"{GOALS}/{leaf}", json={"parent_id": str(under)}, headers=headers)
        assert r.status_code == 200 and r.json()["parent_id"] == str(under), r.text
        r = await api.delete(f"{GOALS}/{root}", headers=headers)
        assert r.status_code == 204, r.text
        r = await api.post(f"{GOALS}/{root}/restore", headers=headers)
        assert r.status_code == 200, r.text
        took = time.perf_counter() - started
    finally:
        event.remove(Engine, "before_cursor_execute", record)

    admin = await migrated.admin_connect()
    conn = await migrated.connect_as(SCHEMA)
    try:
        counts = await admin.fetchrow(
            f"SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live, max(depth) AS deepest"
            f" FROM {SCHEMA}.goals WHERE user_id = $1",
            user,
        )
        assert tuple(counts) == (2 + 2 * CHILDREN, 3), "moved, deleted and restored whole"
        reltuples, relpages = await admin.fetchrow(
            f"SELECT reltuples, relpages FROM pg_class WHERE oid = '{SCHEMA}.goals'::regclass"
        )
        assert reltuples == 0 and relpages > 0, "the statistics of an emptied table"
        handled: dict[str, float] = {}
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.user_id', $1, true)", str(user))
            for sql, params in statements:
                args = list(params.values()) if isinstance(params, dict) else list(params or ())
                tx = conn.transaction()
                await tx.start()
                try:  # the changes are run again and rolled back
                    [result] = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args))
                finally:
                    await tx.rollback()
                handled[sql] = max(handled.get(sql, 0), rows_handled(result["Plan"]))
    finally:
        await conn.close()
        await admin.close()
    assert any("RECURSIVE" in sql for sql in handled), list(handled)
    # Each goal of the subtree handled a few times. The nested loop reading the whole table for
    # each goal of the subtree handles ~ CHILDREN x 4 x CHILDREN rows (16 million here).
    worst = max(handled, key=handled.__getitem__)
    assert handled[worst] < 20 * CHILDREN, (handled[worst], f"{took:.2f} s", worst)
