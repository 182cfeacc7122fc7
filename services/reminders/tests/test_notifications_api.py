"""`/api/v1/notifications`: fired reminders newest first, unread filter, mark read, isolation."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.tokens import TestSigner
from daybook_reminders.scheduler import fire_due

URL = "/api/v1/notifications"


async def make_reminder(
    client: AsyncTestClient, signer: TestSigner, user: uuid.UUID, **extra: Any
) -> dict[str, Any]:
    data = {
        "title": "Water",
        "message": "Drink",
        "frequency": "daily",
        "time": "06:00",
        "timezone": "UTC",
    } | extra
    r = await client.post("/api/v1/reminders", json=data, headers=signer.headers(user))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def fire_until(conn: asyncpg.Connection, now: dt.datetime) -> None:
    """Run scheduler passes in-process at the given time until nothing is due."""
    while (await fire_due(conn, batch_size=100, coalesce=False, now=now)).claimed:
        pass


async def test_fired_reminders_are_listed_newest_first_and_marked_read(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection
) -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    headers = signer.headers(user)
    water = await make_reminder(client, signer, user)
    await make_reminder(client, signer, other, title="Other's")
    first = dt.datetime.fromisoformat(water["next_fire_at"])
    # Three days pass without coalescing: three occurrences, one notification each.
    await fire_until(conn, first + dt.timedelta(days=2, minutes=1))
    # The title changes afterwards: notifications keep the title they fired with.
    r = await client.patch(f"/api/v1/reminders/{water['id']}", json={"title": "Tea"}, headers=headers)
    assert r.status_code == 200

    r = await client.get(URL, headers=headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [dt.datetime.fromisoformat(i["occurrence_at"]) for i in items] == [
        first + dt.timedelta(days=2),
        first + dt.timedelta(days=1),
        first,
    ]
    assert {(i["title"], i["message"], i["reminder_id"], i["user_id"]) for i in items} == {
        ("Water", "Drink", water["id"], str(user))
    }
    assert all(i["read_at"] is None for i in items)
    assert {"id", "created_at", "updated_at"} <= items[0].keys()

    r = await client.get(f"/api/v1/reminders/{water['id']}", headers=headers)
    assert dt.datetime.fromisoformat(r.json()["last_fired_at"]) == first + dt.timedelta(days=2)

    newest = items[0]["id"]
    r = await client.post(f"{URL}/{newest}/read", headers=headers)
    assert r.status_code == 204 and r.content == b""
    r = await client.get(URL, params={"unread": "true"}, headers=headers)
    assert [i["id"] for i in r.json()["items"]] == [items[1]["id"], items[2]["id"]]
    r = await client.get(URL, headers=headers)
    read_at = r.json()["items"][0]["read_at"]
    assert read_at is not None
    # Marking again is harmless and keeps the first read time.
    assert (await client.post(f"{URL}/{newest}/read", headers=headers)).status_code == 204
    r = await client.get(URL, headers=headers)
    assert r.json()["items"][0]["read_at"] == read_at


async def test_isolation_and_unknown_ids(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection
) -> None:
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    reminder = await make_reminder(client, signer, owner)
    await fire_until(conn, dt.datetime.fromisoformat(reminder["next_fire_at"]))
    r = await client.get(URL, headers=signer.headers(owner))
    (item,) = r.json()["items"]
    r = await client.get(URL, headers=signer.headers(stranger))
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}
    r = await client.post(f"{URL}/{item['id']}/read", headers=signer.headers(stranger))
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    r = await client.get(URL, params={"unread": "true"}, headers=signer.headers(owner))
    assert [i["id"] for i in r.json()["items"]] == [item["id"]]  # the stranger did not mark it read
    assert (await client.post(f"{URL}/{uuid.uuid4()}/read", headers=signer.headers(owner))).status_code == 404
    assert (await client.post(f"{URL}/nope/read", headers=signer.headers(owner))).status_code == 404
    assert (await client.get(URL)).status_code == 401


async def test_pages_cover_everything_once(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection
) -> None:
    user = uuid.uuid4()
    headers = signer.headers(user)
    made = [await make_reminder(client, signer, user, time="05:00", title=f"n{i}") for i in range(7)]
    # All seven share one occurrence instant: ties are ordered by id, still stable.
    await fire_until(conn, dt.datetime.fromisoformat(made[0]["next_fire_at"]) + dt.timedelta(days=1))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        r = await client.get(URL, params=params, headers=headers)
        assert r.status_code == 200, r.text
        seen += [i["id"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 14 and len(set(seen)) == 14
    r = await client.get(URL, params={"limit": 100}, headers=headers)
    assert [i["id"] for i in r.json()["items"]] == seen
    occurrences = [i["occurrence_at"] for i in r.json()["items"]]
    assert occurrences == sorted(occurrences, reverse=True)
    assert (await client.get(URL, params={"cursor": "x"}, headers=headers)).status_code == 422
