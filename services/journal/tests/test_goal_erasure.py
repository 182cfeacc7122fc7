"""Account erasure empties every goals-and-practice table of that user, and only of that user."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA
from daybook_journal.db.goal_models import GOAL_TABLES
from daybook_journal.erasure import erase_user
from daybook_journal.testing import GOALS, SESSIONS, User, make_activity, make_goal, make_session, make_task


async def _counts(db: TestDatabase, user: User) -> dict[str, int]:
    admin = await db.admin_connect()
    try:
        return {
            table: int(
                await admin.fetchval(f"SELECT count(*) FROM {SCHEMA}.{table} WHERE user_id = $1", user.id)
            )
            for table in (*GOAL_TABLES, "tasks")
        }
    finally:
        await admin.close()


async def _practice(api: AsyncTestClient, user: User) -> None:
    root = await make_goal(api, user)
    parent: dict[str, Any] = root
    for depth in range(1, 5):
        parent = await make_goal(api, user, f"level {depth}", parent_id=parent["id"])
    trashed = await make_goal(api, user, "trashed", parent_id=root["id"])
    await api.delete(f"{GOALS}/{trashed['id']}", headers=user.headers)
    await api.post(f"{GOALS}/{root['id']}/activity-groups", json={"name": "G"}, headers=user.headers)
    activity = await make_activity(
        api, user, root["id"], metrics=[{"name": "m", "unit": "u"}], splits=[{"name": "s"}]
    )
    r = await api.post(
        f"{GOALS}/{root['id']}/templates",
        json={"name": "T", "activity_ids": [activity["id"]]},
        headers=user.headers,
    )
    session = await make_session(api, user, root["id"], template_id=r.json()["id"], goal_ids=[parent["id"]])
    instance = session["activities"][0]["id"]
    values = [
        {"metric_id": activity["metrics"][0]["id"], "split_id": activity["splits"][0]["id"], "value": 3}
    ]
    r = await api.put(
        f"{SESSIONS}/{session['id']}/activities/{instance}/metrics", json=values, headers=user.headers
    )
    assert r.status_code == 200, r.text
    await make_task(api, user, goal_id=parent["id"])


async def test_erasure_empties_every_goal_table(
    api: AsyncTestClient, migrated: TestDatabase, alice: User, bob: User
) -> None:
    for user in (alice, bob):
        await _practice(api, user)
    before = await _counts(migrated, alice)
    assert all(before.values()), before  # every table has rows to erase
    kept = await _counts(migrated, bob)
    conn = await migrated.connect_as(SCHEMA)
    try:
        deleted = await erase_user(conn, alice.id, batch_size=2)
    finally:
        await conn.close()
    assert all(deleted[table] == before[table] for table in GOAL_TABLES), (deleted, before)
    assert not any((await _counts(migrated, alice)).values())
    assert await _counts(migrated, bob) == kept
