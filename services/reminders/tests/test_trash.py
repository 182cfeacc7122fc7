"""Reminders' trash: DELETE is a soft delete, `GET /reminders/trash` lists, restore fires from now on."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_reminders.scheduler import fire_due

URL = "/api/v1/reminders"
UTC = dt.UTC


async def create(client: AsyncTestClient, signer: TestSigner, user: uuid.UUID, **overrides: Any) -> Any:
    data = {"title": "Water plants", "message": "", "frequency": "daily", "time": "07:00", "timezone": "UTC"}
    r = await client.post(URL, json={**data, **overrides}, headers=signer.headers(user))
    assert r.status_code == 201, r.text
    return r.json()


async def test_delete_lists_in_trash_and_restore_brings_it_back(
    client: AsyncTestClient, signer: TestSigner
) -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    first = await create(client, signer, user, title="first")
    second = await create(client, signer, user, title="second")
    kept = await create(client, signer, user, title="kept")
    for reminder in (first, second):
        assert (
            await client.delete(f"{URL}/{reminder['id']}", headers=signer.headers(user))
        ).status_code == 204
    assert (await client.get(f"{URL}/{first['id']}", headers=signer.headers(user))).status_code == 404
    listed = (await client.get(URL, headers=signer.headers(user))).json()["items"]
    assert [r["id"] for r in listed] == [kept["id"]] and listed[0]["deleted_at"] is None

    # Most recently deleted first, one per page.
    page = (await client.get(f"{URL}/trash", params={"limit": 1}, headers=signer.headers(user))).json()
    assert [r["id"] for r in page["items"]] == [second["id"]] and page["items"][0]["deleted_at"]
    assert page["items"][0]["next_fire_at"] is None
    rest = await client.get(
        f"{URL}/trash", params={"limit": 1, "cursor": page["next_cursor"]}, headers=signer.headers(user)
    )
    assert [r["id"] for r in rest.json()["items"]] == [first["id"]] and rest.json()["next_cursor"] is None
    assert (await client.get(f"{URL}/trash", headers=signer.headers(other))).json()["items"] == []

    # Another user's, a live one and an unknown id are 404.
    for who, rid in ((other, first["id"]), (user, kept["id"]), (user, str(uuid.uuid4()))):
        r = await client.post(f"{URL}/{rid}/restore", headers=signer.headers(who))
        assert r.status_code == 404, r.text
    r = await client.post(f"{URL}/{first['id']}/restore", headers=signer.headers(user))
    assert r.status_code == 200, r.text
    restored = r.json()
    assert restored["deleted_at"] is None and restored["is_active"] is True
    assert restored["next_fire_at"] == first["next_fire_at"]  # the same next 07:00 UTC
    assert r.headers["etag"]
    assert (await client.get(f"{URL}/{first['id']}", headers=signer.headers(user))).status_code == 200
    trash = (await client.get(f"{URL}/trash", headers=signer.headers(user))).json()["items"]
    assert [t["id"] for t in trash] == [second["id"]]


async def test_a_restored_reminder_fires_from_its_next_future_occurrence(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection, db: TestDatabase
) -> None:
    """Deleted for two weeks: restoring catches up nothing, the next occurrence is after now."""
    user = uuid.uuid4()
    reminder = await create(client, signer, user, start_date="2020-01-01")
    assert (await client.delete(f"{URL}/{reminder['id']}", headers=signer.headers(user))).status_code == 204
    admin = await db.admin_connect()
    try:  # as if it had been deleted two weeks ago, when it was last due
        await admin.execute(
            "UPDATE reminders.reminders SET deleted_at = now() - interval '14 days',"
            " last_fired_at = now() - interval '15 days' WHERE id = $1",
            uuid.UUID(reminder["id"]),
        )
    finally:
        await admin.close()
    before = dt.datetime.now(UTC)
    r = await client.post(f"{URL}/{reminder['id']}/restore", headers=signer.headers(user))
    assert r.status_code == 200, r.text
    next_fire_at = dt.datetime.fromisoformat(r.json()["next_fire_at"])
    assert before < next_fire_at <= before + dt.timedelta(days=1)
    assert next_fire_at.astimezone(UTC).time() == dt.time(7, 0)
    # The scheduler finds nothing due now: no storm of missed occurrences.
    result = await fire_due(conn, batch_size=100, coalesce=False, now=dt.datetime.now(UTC))
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
        fired = await conn.fetchval(
            "SELECT count(*) FROM notifications WHERE reminder_id = $1", uuid.UUID(reminder["id"])
        )
    assert fired == 0, result


async def test_a_restored_reminder_with_nothing_left_comes_back_inactive(
    client: AsyncTestClient, signer: TestSigner, db: TestDatabase
) -> None:
    user = uuid.uuid4()
    once = await create(client, signer, user, frequency="once", start_date="2031-05-01")
    assert (await client.delete(f"{URL}/{once['id']}", headers=signer.headers(user))).status_code == 204
    admin = await db.admin_connect()
    try:  # its only occurrence passed while it was in the trash
        await admin.execute(
            "UPDATE reminders.reminders SET start_date = '2020-05-01' WHERE id = $1", uuid.UUID(once["id"])
        )
    finally:
        await admin.close()
    r = await client.post(f"{URL}/{once['id']}/restore", headers=signer.headers(user))
    assert r.status_code == 200, r.text
    assert (r.json()["is_active"], r.json()["next_fire_at"], r.json()["deleted_at"]) == (False, None, None)
