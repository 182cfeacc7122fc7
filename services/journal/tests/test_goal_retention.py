"""Trash retention for the goals domain: old goal deletions (whole subtrees, tasks detached),
old trashed sessions, and old trashed activities that no instance records."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from daybook_common.db import plain_url
from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA
from daybook_journal.retention import purge_trash
from daybook_journal.testing import (
    ACTIVITIES,
    GOALS,
    SESSIONS,
    TASKS,
    User,
    make_activity,
    make_goal,
    make_session,
    make_task,
)


async def _age(db: TestDatabase, table: str, ids: list[str], days: int) -> None:
    admin = await db.admin_connect()
    try:
        await admin.execute(
            f"UPDATE {SCHEMA}.{table} SET deleted_at = deleted_at - make_interval(days => $2)"
            " WHERE id = ANY($1::uuid[])",
            ids,
            days,
        )
    finally:
        await admin.close()


async def _exists(db: TestDatabase, table: str, row_id: str) -> bool:
    admin = await db.admin_connect()
    try:
        return bool(
            await admin.fetchval(f"SELECT count(*) FROM {SCHEMA}.{table} WHERE id = $1::uuid", row_id)
        )
    finally:
        await admin.close()


async def test_purge_removes_old_goal_trash_only(
    api: AsyncTestClient, migrated: TestDatabase, alice: User
) -> None:
    old_root = await make_goal(api, alice, "old")
    old_child = await make_goal(api, alice, "old child", parent_id=old_root["id"])
    task = await make_task(api, alice, goal_id=old_child["id"])
    old_session = await make_session(api, alice, old_root["id"])  # goes with its tree
    recent = await make_goal(api, alice, "recent")
    keep = await make_goal(api, alice, "kept")
    used = await make_activity(api, alice, keep["id"], "used")
    unused = await make_activity(api, alice, keep["id"], "unused")
    session = await make_session(api, alice, keep["id"])
    r = await api.post(
        f"{SESSIONS}/{session['id']}/activities", json={"activity_id": used["id"]}, headers=alice.headers
    )
    assert r.status_code == 201
    trashed_session = await make_session(api, alice, keep["id"])
    recent_session = await make_session(api, alice, keep["id"])
    for url in (
        f"{GOALS}/{old_root['id']}",
        f"{GOALS}/{recent['id']}",
        f"{ACTIVITIES}/{used['id']}",
        f"{ACTIVITIES}/{unused['id']}",
        f"{SESSIONS}/{trashed_session['id']}",
        f"{SESSIONS}/{recent_session['id']}",
    ):
        assert (await api.delete(url, headers=alice.headers)).status_code == 204, url
    await _age(migrated, "goals", [old_root["id"], old_child["id"]], 40)
    await _age(migrated, "activities", [used["id"], unused["id"]], 40)
    await _age(migrated, "sessions", [trashed_session["id"]], 40)
    pool = await asyncpg.create_pool(plain_url(migrated.url(SCHEMA)), min_size=1, max_size=1)
    try:
        counts = await purge_trash(pool, retention_days=30, batch_size=1)
    finally:
        await pool.close()
    assert counts["goals"] >= 1 and counts["sessions"] >= 1 and counts["activities"] >= 1
    for table, row, gone in (
        ("goals", old_root, True),
        ("goals", old_child, True),
        ("sessions", old_session, True),
        ("goals", recent, False),
        ("sessions", trashed_session, True),
        ("sessions", recent_session, False),
        ("activities", unused, True),
        ("activities", used, False),  # an instance still records it
        ("sessions", session, False),
    ):
        assert await _exists(migrated, table, row["id"]) is not gone, (table, row["id"])
    r = await api.get(f"{TASKS}/{task['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json()["goal_id"] is None
    assert (await api.post(f"{GOALS}/{recent['id']}/restore", headers=alice.headers)).status_code == 200
