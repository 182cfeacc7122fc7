"""`POST /api/v1/notifications/{id}/snooze`: the reminder fires once more, as a new notification."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_reminders.scheduler import fire_due

URL = "/api/v1/notifications"


async def make_reminder(
    client: AsyncTestClient, signer: TestSigner, user: uuid.UUID, **extra: Any
) -> dict[str, Any]:
    data = {"title": "Water", "message": "Drink", "frequency": "daily", "time": "06:00", "timezone": "UTC"}
    r = await client.post("/api/v1/reminders", json=data | extra, headers=signer.headers(user))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def fire_until(conn: asyncpg.Connection, now: dt.datetime) -> None:
    while (await fire_due(conn, batch_size=100, coalesce=False, now=now)).claimed:
        pass


async def admin_fetch(db: TestDatabase, sql: str, *args: Any) -> list[asyncpg.Record]:
    admin = await db.admin_connect()
    try:
        return await admin.fetch(sql, *args)
    finally:
        await admin.close()


async def fired_notification(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection, user: uuid.UUID, **extra: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A reminder of ``user`` and the one notification it fired."""
    reminder = await make_reminder(client, signer, user, **extra)
    await fire_until(conn, dt.datetime.fromisoformat(reminder["next_fire_at"]))
    r = await client.get(URL, headers=signer.headers(user))
    (note,) = [n for n in r.json()["items"] if n["reminder_id"] == reminder["id"]]
    return reminder, note


async def test_a_snoozed_notification_fires_once_more_as_a_new_one(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection, db: TestDatabase
) -> None:
    user = uuid.uuid4()
    headers = signer.headers(user)
    reminder, note = await fired_notification(client, signer, conn, user)
    before = dt.datetime.now(dt.UTC)
    r = await client.post(f"{URL}/{note['id']}/snooze", json={"minutes": 10}, headers=headers)
    assert r.status_code == 202, r.text
    body = r.json()
    fire_at = dt.datetime.fromisoformat(body["fire_at"])
    assert body["notification_id"] == note["id"]
    assert before + dt.timedelta(minutes=10) <= fire_at <= dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    # Snoozing again moves the time: still one pending snooze.
    r = await client.post(f"{URL}/{note['id']}/snooze", json={"minutes": 30}, headers=headers)
    assert r.status_code == 202, r.text
    fire_at = dt.datetime.fromisoformat(r.json()["fire_at"])
    rows = await admin_fetch(
        db, "SELECT fire_at FROM reminders.snoozes WHERE notification_id = $1", uuid.UUID(note["id"])
    )
    assert [row["fire_at"] for row in rows] == [fire_at]
    # The title changed meanwhile: the new notification is of the reminder as it is now.
    assert (
        await client.patch(f"/api/v1/reminders/{reminder['id']}", json={"title": "Tea"}, headers=headers)
    ).status_code == 200

    early = await fire_due(conn, batch_size=100, coalesce=False, now=fire_at - dt.timedelta(seconds=1))
    assert early.snoozes_claimed == 0
    due = await fire_due(conn, batch_size=100, coalesce=False, now=fire_at)
    assert (due.snoozes_claimed, due.snoozes_fired) == (1, 1)
    again = await fire_due(conn, batch_size=100, coalesce=False, now=fire_at + dt.timedelta(hours=1))
    assert again.snoozes_claimed == 0

    items = (await client.get(URL, headers=headers)).json()["items"]
    snoozed = [n for n in items if n["id"] != note["id"]]
    assert len(snoozed) == 1, items
    assert snoozed[0]["reminder_id"] == reminder["id"] and snoozed[0]["title"] == "Tea"
    assert dt.datetime.fromisoformat(snoozed[0]["occurrence_at"]) == fire_at
    assert snoozed[0]["read_at"] is None
    # The reminder's own schedule is untouched by the snooze (it fired once, at its occurrence).
    r = await client.get(f"/api/v1/reminders/{reminder['id']}", headers=headers)
    assert r.json()["last_fired_at"] == note["occurrence_at"]


async def test_snooze_is_refused_cleanly(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection, db: TestDatabase
) -> None:
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    reminder, note = await fired_notification(client, signer, conn, owner)
    headers = signer.headers(owner)
    url = f"{URL}/{note['id']}/snooze"
    for bad in ({"minutes": 0}, {"minutes": 1441}, {"minutes": "5"}, {}, {"minutes": 5, "extra": 1}):
        r = await client.post(url, json=bad, headers=headers)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(url, json={"minutes": 5}, headers=signer.headers(stranger))
    assert r.status_code == 404, r.text
    assert (
        await client.post(f"{URL}/{uuid.uuid4()}/snooze", json={"minutes": 5}, headers=headers)
    ).status_code == 404
    assert (await client.post(url, json={"minutes": 5})).status_code == 401
    assert (
        await admin_fetch(
            db, "SELECT 1 FROM reminders.snoozes WHERE notification_id = $1", uuid.UUID(note["id"])
        )
        == []
    )
    # A reminder in the trash does not fire: snoozing its notification is a conflict ...
    assert (await client.delete(f"/api/v1/reminders/{reminder['id']}", headers=headers)).status_code == 204
    r = await client.post(url, json={"minutes": 5}, headers=headers)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")


async def test_a_snooze_of_a_reminder_trashed_later_does_not_fire(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection, db: TestDatabase
) -> None:
    user = uuid.uuid4()
    headers = signer.headers(user)
    reminder, note = await fired_notification(client, signer, conn, user)
    r = await client.post(f"{URL}/{note['id']}/snooze", json={"minutes": 1}, headers=headers)
    fire_at = dt.datetime.fromisoformat(r.json()["fire_at"])
    assert (await client.delete(f"/api/v1/reminders/{reminder['id']}", headers=headers)).status_code == 204
    result = await fire_due(conn, batch_size=100, coalesce=False, now=fire_at)
    assert (result.snoozes_claimed, result.snoozes_fired) == (1, 0)
    rows = await admin_fetch(
        db,
        "SELECT count(*) AS n FROM reminders.notifications WHERE reminder_id = $1",
        uuid.UUID(reminder["id"]),
    )
    assert rows[0]["n"] == 1
    assert (
        await admin_fetch(
            db, "SELECT 1 FROM reminders.snoozes WHERE notification_id = $1", uuid.UUID(note["id"])
        )
        == []
    )
