"""The goals endpoints' statements use indexes on big tables (≥ 100k rows each): no Seq Scan.

The statements checked are the very ones the endpoints run: each request below is made
through HTTP while a SQLAlchemy listener and the read pool (the tree, the sessions pages and
the stats: :mod:`daybook_journal.db.reads`) record what they send, and each recorded statement
is then EXPLAINed with the same values, as the service's role bound to the caller (so
row-level security is part of the plan, as in production).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from unittest import mock

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_journal import SCHEMA
from daybook_journal.db.reads import CompiledQuery, ReadPool
from daybook_journal.sessions.snapshots import backfill
from daybook_journal.testing import ACTIVITIES, GOALS, SESSIONS, TEMPLATES

USERS, TREES_PER_USER, PER_TREE = 1000, 5, 20
SEED = f"""
SET LOCAL synchronous_commit = off;
CREATE TEMP TABLE seed_users ON COMMIT DROP AS
    SELECT gen_random_uuid() AS user_id, n FROM generate_series(1, {USERS}) AS n;
INSERT INTO {SCHEMA}.goals (id, user_id, root_id, parent_id, depth, title, sort_order, version, created_at, updated_at)
    SELECT r.id, r.user_id, r.id, NULL, 0, 'root', r.t, 1, now(), now()
    FROM (SELECT gen_random_uuid() AS id, user_id, t FROM seed_users, generate_series(1, {TREES_PER_USER}) AS t) AS r;
INSERT INTO {SCHEMA}.goals (id, user_id, root_id, parent_id, depth, title, sort_order, version, created_at, updated_at,
                            deleted_at, deletion_id)
    SELECT c.id, c.user_id, c.root, c.root, 1, 'child', c.i, 1, now(), now(),
           CASE WHEN c.i = 1 THEN now() END, CASE WHEN c.i = 1 THEN c.id END
    FROM (
        SELECT gen_random_uuid() AS id, r.user_id, r.id AS root, i
        FROM {SCHEMA}.goals AS r, generate_series(1, {PER_TREE - 1}) AS i WHERE r.parent_id IS NULL
    ) AS c;
INSERT INTO {SCHEMA}.activity_groups (id, user_id, root_id, goal_id, name, sort_order, version, created_at, updated_at)
    SELECT gen_random_uuid(), r.user_id, r.id, r.id, 'g' || i, i, 1, now(), now()
    FROM {SCHEMA}.goals AS r, generate_series(1, {PER_TREE}) AS i WHERE r.parent_id IS NULL;
INSERT INTO {SCHEMA}.activities (id, user_id, root_id, goal_id, name, deleted_at, version, created_at, updated_at)
    SELECT gen_random_uuid(), r.user_id, r.id, r.id, 'a' || i, CASE WHEN i = {PER_TREE} THEN now() END, 1, now(), now()
    FROM {SCHEMA}.goals AS r, generate_series(1, {PER_TREE}) AS i WHERE r.parent_id IS NULL;
INSERT INTO {SCHEMA}.metric_definitions (id, user_id, root_id, activity_id, name, unit, version, created_at, updated_at)
    SELECT gen_random_uuid(), a.user_id, a.root_id, a.id, 'm', 'u', 1, now(), now() FROM {SCHEMA}.activities AS a;
INSERT INTO {SCHEMA}.split_definitions (id, user_id, root_id, activity_id, name, version, created_at, updated_at)
    SELECT gen_random_uuid(), a.user_id, a.root_id, a.id, 's', 1, now(), now() FROM {SCHEMA}.activities AS a;
INSERT INTO {SCHEMA}.session_templates (id, user_id, root_id, goal_id, name, version, created_at, updated_at)
    SELECT gen_random_uuid(), r.user_id, r.id, r.id, 't' || i, 1, now(), now()
    FROM {SCHEMA}.goals AS r, generate_series(1, {PER_TREE}) AS i WHERE r.parent_id IS NULL;
INSERT INTO {SCHEMA}.template_activities (template_id, position, activity_id, root_id, user_id)
    SELECT t.id, 0, a.id, t.root_id, t.user_id
    FROM {SCHEMA}.session_templates AS t JOIN {SCHEMA}.activities AS a ON a.root_id = t.root_id AND a.name = 'a1';
INSERT INTO {SCHEMA}.sessions (id, user_id, root_id, goal_id, started_at, deleted_at, version, created_at, updated_at)
    SELECT gen_random_uuid(), r.user_id, r.id, r.id, now() - i * interval '18 days',
           CASE WHEN i = {PER_TREE} THEN now() END, 1, now(), now()
    FROM {SCHEMA}.goals AS r, generate_series(1, {PER_TREE}) AS i WHERE r.parent_id IS NULL;
INSERT INTO {SCHEMA}.session_goals (session_id, goal_id, user_id)
    SELECT s.id, s.root_id, s.user_id FROM {SCHEMA}.sessions AS s;
INSERT INTO {SCHEMA}.activity_instances
        (id, user_id, root_id, session_id, activity_id, duration_seconds, sort_order, version, created_at, updated_at)
    SELECT gen_random_uuid(), s.user_id, s.root_id, s.id, a.id, 60, 0, 1, now(), now()
    FROM {SCHEMA}.sessions AS s JOIN {SCHEMA}.activities AS a ON a.root_id = s.root_id AND a.name = 'a1';
INSERT INTO {SCHEMA}.metric_values (id, user_id, root_id, instance_id, metric_id, split_id, value, created_at, updated_at)
    SELECT gen_random_uuid(), i.user_id, i.root_id, i.id, m.id, sp.id, 1.5, now(), now()
    FROM {SCHEMA}.activity_instances AS i
    JOIN {SCHEMA}.metric_definitions AS m ON m.activity_id = i.activity_id
    JOIN {SCHEMA}.split_definitions AS sp ON sp.activity_id = i.activity_id;
INSERT INTO {SCHEMA}.tasks (id, user_id, title, status, priority, goal_id, version, created_at, updated_at)
    SELECT gen_random_uuid(), g.user_id, 't', 'todo', 'medium', g.id, 1, now(), now() FROM {SCHEMA}.goals AS g;
"""
BIG_TABLES = (
    "goals",
    "activity_groups",
    "activities",
    "metric_definitions",
    "split_definitions",
    "session_templates",
    "template_activities",
    "sessions",
    "session_goals",
    "activity_instances",
    "metric_values",
)


@pytest.fixture(scope="module")
async def big(migrated: TestDatabase) -> dict[str, Any]:
    admin = await migrated.admin_connect()
    try:
        async with admin.transaction():
            await admin.execute(SEED)
        for table in (*BIG_TABLES, "tasks"):
            await admin.execute(f"ANALYZE {SCHEMA}.{table}")
            assert await admin.fetchval(f"SELECT count(*) FROM {SCHEMA}.{table}") >= 100_000, table
        pick = await admin.fetchrow(
            f"SELECT g.user_id, g.id AS root_id, c.id AS child_id, a.id AS activity_id, t.id AS template_id,"
            f" s.id AS session_id, i.id AS instance_id, m.id AS metric_id"
            f" FROM {SCHEMA}.goals g JOIN {SCHEMA}.goals c ON c.parent_id = g.id AND c.deleted_at IS NULL"
            f" JOIN {SCHEMA}.activities a ON a.root_id = g.id AND a.name = 'a1'"
            f" JOIN {SCHEMA}.metric_definitions m ON m.activity_id = a.id"
            f" JOIN {SCHEMA}.session_templates t ON t.root_id = g.id"
            f" JOIN {SCHEMA}.sessions s ON s.root_id = g.id AND s.deleted_at IS NULL"
            f" JOIN {SCHEMA}.activity_instances i ON i.session_id = s.id AND i.activity_id = a.id"
            f" WHERE g.parent_id IS NULL LIMIT 1"
        )
    finally:
        await admin.close()
    return dict(pick)


@pytest.fixture
def recorded() -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        statements.append((statement, parameters))

    original = ReadPool.fetch

    async def fetch_recorded(pool: ReadPool, query: CompiledQuery, values: Any) -> Any:
        statements.append((query.sql, query.args(values)))
        return await original(pool, query, values)

    event.listen(Engine, "before_cursor_execute", record)
    with mock.patch.object(ReadPool, "fetch", fetch_recorded):
        yield statements
    event.remove(Engine, "before_cursor_execute", record)


def _relevant(recorded: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The recorded statements that read or change the big tables."""
    return [
        (sql, params)
        for sql, params in recorded
        if any(f"{SCHEMA}.{table}" in sql for table in (*BIG_TABLES, "goal_stats"))
        and sql.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE", "DELETE"))
    ]


async def _explain_without_seq_scans(
    migrated: TestDatabase, user_id: uuid.UUID, statements: list[tuple[str, Any]]
) -> list[str]:
    """EXPLAIN each statement as the service's role bound to ``user_id``: no Seq Scan in any plan
    (the control: a filter no index serves is one); the statements checked."""
    checked: list[str] = []
    conn = await migrated.connect_as(SCHEMA)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.user_id', $1, true)", str(user_id))
            for sql, params in statements:
                args = list(params.values()) if isinstance(params, dict) else list(params or ())
                async with conn.transaction():  # each EXPLAIN of a change runs nothing (no ANALYZE)
                    plan = json.loads(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args))[0]["Plan"]
                scans = _scans(plan)
                assert not [s for s in scans if s.startswith("Seq Scan")], (sql, scans)
                checked.append(sql)
            # The check itself can fail: a filter no index serves is a Seq Scan.
            control = await conn.fetchval(
                f"EXPLAIN (FORMAT JSON) SELECT id FROM {SCHEMA}.goals WHERE title = 'x'"
            )
            assert "Seq Scan on goals" in _scans(json.loads(control)[0]["Plan"])
    finally:
        await conn.close()
    return checked


def _scans(plan: dict[str, Any]) -> list[str]:
    found = [f"{plan['Node Type']} on {plan.get('Relation Name', '-')}"]
    for child in plan.get("Plans", []):
        found.extend(_scans(child))
    return found


async def test_goal_endpoints_use_indexes(
    api: AsyncTestClient,
    big: dict[str, Any],
    signer: TestSigner,
    migrated: TestDatabase,
    recorded: list[tuple[str, Any]],
) -> None:
    headers = signer.headers(big["user_id"], ttl=3600)
    root, session = big["root_id"], big["session_id"]
    instance = f"{SESSIONS}/{session}/activities/{big['instance_id']}"
    requests: list[tuple[str, str, Any, dict[str, str] | None]] = [
        ("GET", GOALS, None, None),
        ("GET", GOALS, None, {"root_id": str(root)}),
        ("GET", f"{GOALS}/{root}", None, None),
        ("GET", f"{GOALS}/{root}/tree", None, None),
        ("GET", f"{GOALS}/trash", None, None),
        ("GET", f"{GOALS}/{root}/activity-groups", None, None),
        ("GET", f"{GOALS}/{root}/activities", None, None),
        ("GET", f"{GOALS}/{root}/activities/trash", None, None),
        ("GET", f"{ACTIVITIES}/{big['activity_id']}", None, None),
        ("GET", f"{GOALS}/{root}/templates", None, None),
        ("GET", f"{TEMPLATES}/{big['template_id']}", None, None),
        ("GET", f"{GOALS}/{root}/sessions", None, None),
        ("GET", f"{GOALS}/{root}/sessions/trash", None, None),
        ("GET", f"{SESSIONS}/{session}", None, None),
        (
            "GET",
            f"{GOALS}/{root}/stats",
            None,
            {"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"},
        ),
        ("GET", "/api/v1/tasks", None, {"goal_id": str(big["child_id"])}),
        ("PUT", f"{instance}/metrics", [{"metric_id": str(big["metric_id"]), "value": 2}], None),
        ("PATCH", f"{GOALS}/{big['child_id']}", {"title": "renamed"}, None),
        ("PATCH", f"{GOALS}/{big['child_id']}", {"parent_id": None}, None),
        ("DELETE", f"{GOALS}/{big['child_id']}", None, None),
        ("POST", f"{GOALS}/{big['child_id']}/restore", None, None),
    ]
    for method, path, body, params in requests:
        r = await api.request(method, path, json=body, params=params, headers=headers)
        assert r.status_code < 300, (method, path, r.text)
    statements = _relevant(recorded)
    assert len(statements) >= len(requests)
    checked = await _explain_without_seq_scans(migrated, big["user_id"], statements)
    assert any("goal_stats" in sql for sql in checked) and any("activity_instances" in sql for sql in checked)
    # No snapshot yet: each sessions page is read again with the laterals that aggregate instead.
    assert sum("ses.activities_json IS NULL" in sql for sql in checked) == 2, checked
    # The check itself can fail: a filter no index serves is planned as a Seq Scan.
    admin = await migrated.admin_connect()
    try:
        control = await admin.fetchval(
            f"EXPLAIN (FORMAT JSON) SELECT id FROM {SCHEMA}.goals WHERE title = 'x'"
        )
    finally:
        await admin.close()
    assert "Seq Scan on goals" in _scans(json.loads(control)[0]["Plan"])


async def test_session_reads_use_indexes_with_snapshots(
    api: AsyncTestClient,
    big: dict[str, Any],
    signer: TestSigner,
    migrated: TestDatabase,
    recorded: list[tuple[str, Any]],
) -> None:
    """The seed's sessions have no snapshot (the pages aggregate them all); with every snapshot
    written, as after the backfill and in production, the pages and ``GET /sessions/{id}`` are
    planned on indexes too, and read no instance at all (the page statements without the
    instances' laterals, no second statement)."""
    pool = await asyncpg.create_pool(migrated.admin_dsn(), min_size=2, max_size=2)
    try:
        await backfill(pool, workers=2)
    finally:
        await pool.close()
    admin = await migrated.admin_connect()
    try:
        await admin.execute(f"VACUUM (ANALYZE) {SCHEMA}.sessions")
        assert (
            await admin.fetchval(f"SELECT count(*) FROM {SCHEMA}.sessions WHERE activities_json IS NULL") == 0
        )
    finally:
        await admin.close()
    headers = signer.headers(big["user_id"], ttl=3600)
    root = big["root_id"]
    for path in (
        f"{GOALS}/{root}/sessions",
        f"{GOALS}/{root}/sessions/trash",
        f"{SESSIONS}/{big['session_id']}",
    ):
        r = await api.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)
    statements = _relevant(recorded)
    # the page and the trash (one statement each), the session and its goal ids, no instance read
    assert len(statements) == 4, [sql for sql, _ in statements]
    assert not any("FROM journal.activity_instances" in sql for sql, _ in statements)
    checked = await _explain_without_seq_scans(migrated, big["user_id"], statements)
    assert len(checked) == 4
