"""The goals domain's integrity lives in the database: checked here as the service's own role,
with row-level security satisfied, so only the constraints stand in the way."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from uuid_utils.compat import uuid7

from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA
from daybook_journal.db.goal_models import GOAL_TABLES

GOAL = (
    "INSERT INTO journal.goals (id, user_id, root_id, parent_id, depth, title, version, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, 'g', 1, now(), now())"
)


async def _as_user(conn: asyncpg.Connection, user_id: uuid.UUID) -> None:
    await conn.execute("SELECT set_config('app.user_id', $1, false)", str(user_id))


async def test_inconsistent_root_id_is_refused_even_by_the_service_role(migrated: TestDatabase) -> None:
    conn = await migrated.connect_as(SCHEMA)
    try:
        user = uuid.uuid4()
        await _as_user(conn, user)
        root, other_root, child = uuid7(), uuid7(), uuid7()
        await conn.execute(GOAL, root, user, root, None, 0)
        await conn.execute(GOAL, other_root, user, other_root, None, 0)
        # A child naming a root_id other than its parent's.
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(GOAL, child, user, other_root, root, 1)
        # A root whose root_id is not itself, a child without a parent.
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(GOAL, child, user, other_root, None, 0)
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(GOAL, child, user, root, None, 1)
        await conn.execute(GOAL, child, user, root, root, 1)
        # Practice rows: an activity of one tree cannot be used in a session of another.
        activity, session, instance = uuid7(), uuid7(), uuid7()
        await conn.execute(
            "INSERT INTO journal.activities (id, user_id, root_id, goal_id, name, version, created_at, updated_at)"
            " VALUES ($1, $2, $3, $3, 'run', 1, now(), now())",
            activity,
            user,
            root,
        )
        await conn.execute(
            "INSERT INTO journal.sessions (id, user_id, root_id, goal_id, started_at, version, created_at, updated_at)"
            " VALUES ($1, $2, $3, $3, now(), 1, now(), now())",
            session,
            user,
            other_root,
        )
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(
                "INSERT INTO journal.activity_instances"
                " (id, user_id, root_id, session_id, activity_id, version, created_at, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, 1, now(), now())",
                instance,
                user,
                other_root,
                session,
                activity,
            )
        # Re-rooting: one UPDATE of a root's parent/root moves its subtree and what hangs from it.
        await conn.execute(
            "UPDATE journal.goals SET parent_id = $1, root_id = $1, depth = 1 WHERE id = $2", other_root, root
        )
        roots = await conn.fetch(
            "SELECT root_id FROM journal.goals WHERE id = ANY($1::uuid[])"
            " UNION ALL SELECT root_id FROM journal.activities WHERE id = $2",
            [root, child],
            activity,
        )
        assert {r["root_id"] for r in roots} == {other_root}
    finally:
        await conn.close()


async def test_row_level_security_is_forced_on_every_goal_table(migrated: TestDatabase) -> None:
    conn = await migrated.admin_connect()
    try:
        rows = await conn.fetch(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY($2)",
            SCHEMA,
            list(GOAL_TABLES),
        )
        assert {r["relname"] for r in rows} == set(GOAL_TABLES)
        assert all(r["relrowsecurity"] and r["relforcerowsecurity"] for r in rows)
    finally:
        await conn.close()


async def test_without_app_user_id_the_service_role_sees_no_goal_rows(migrated: TestDatabase) -> None:
    writer = await migrated.connect_as(SCHEMA)
    try:
        user, root = uuid.uuid4(), uuid7()
        await _as_user(writer, user)
        await writer.execute(GOAL, root, user, root, None, 0)
    finally:
        await writer.close()
    conn = await migrated.connect_as(SCHEMA)  # the owner role itself, bound to nobody
    try:
        for table in GOAL_TABLES:
            assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.{table}") == 0, table
        with pytest.raises(asyncpg.InsufficientPrivilegeError):  # the policy's WITH CHECK
            await conn.execute(GOAL, uuid7(), user, root, root, 1)
    finally:
        await conn.close()
