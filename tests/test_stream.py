"""`GET /api/v1/notifications/stream` through the gateway, with the stack's own scheduler: a fired
reminder arrives within a second of its notification row, `Last-Event-ID` replays, heartbeats
keep it open, and deleting the account closes it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

PASSWORD = "correct horse battery staple"
STREAM = "/api/v1/notifications/stream"
#: The compose stack keeps the default heartbeat (15 s); the test stack sets 1 s (conftest).
HEARTBEAT_WAIT = 20.0


@dataclass
class Stream:
    response: httpx.Response
    events: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        event_id, data = "", []
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                elif line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "" and data:
                    self.events.append((event_id, json.loads("\n".join(data)), time.time()))
                    event_id, data = "", []
                self.changed.set()
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()
            self.changed.set()

    async def until(self, predicate: Any, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            assert left > 0, f"timed out: events={self.events} comments={self.comments}"
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)


@pytest.fixture
async def client(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=httpx.Timeout(30, read=60)) as c:
        yield c


@pytest.fixture
async def open_stream(client: httpx.AsyncClient) -> AsyncIterator[Any]:
    opened: list[tuple[Stream, asyncio.Task[None]]] = []

    async def start(headers: dict[str, str]) -> Stream:
        response = await client.send(client.build_request("GET", STREAM, headers=headers), stream=True)
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        opened.append((stream, asyncio.create_task(stream.read())))
        await stream.until(lambda: "connected" in stream.comments)
        return stream

    yield start
    for stream, task in opened:
        task.cancel()
        await stream.response.aclose()


async def account(client: httpx.AsyncClient) -> dict[str, str]:
    email = f"stream-{uuid.uuid4().hex[:10]}@example.com"
    r = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def due_now(client: httpx.AsyncClient, headers: dict[str, str], dsn: str, title: str) -> str:
    """A reminder of the caller made due this instant (the stack's scheduler fires it)."""
    r = await client.post(
        "/api/v1/reminders",
        json={"title": title, "message": "", "frequency": "daily", "time": "06:00", "timezone": "UTC"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    reminder_id = r.json()["id"]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "UPDATE reminders.reminders SET next_fire_at = now() WHERE id = $1", uuid.UUID(reminder_id)
        )
        await conn.execute("SELECT pg_notify('reminders_changed', '')")
    finally:
        await conn.close()
    return str(reminder_id)


async def recorded_at(dsn: str, notification_id: str) -> dt.datetime:
    conn = await asyncpg.connect(dsn)
    try:
        value: dt.datetime = await conn.fetchval(
            "SELECT created_at FROM reminders.notifications WHERE id = $1", uuid.UUID(notification_id)
        )
        return value
    finally:
        await conn.close()


async def test_a_fired_reminder_arrives_within_a_second_of_its_notification(
    client: httpx.AsyncClient, open_stream: Any, stack_admin_dsn: str
) -> None:
    headers = await account(client)
    stream = await open_stream(headers)
    bystander = await open_stream(await account(client))
    reminder_id = await due_now(client, headers, stack_admin_dsn, "Stretch")
    await stream.until(lambda: len(stream.events) == 1, timeout=15)
    event_id, data, arrived = stream.events[0]
    assert data["reminder_id"] == reminder_id and data["title"] == "Stretch" and event_id == data["id"]
    recorded = await recorded_at(stack_admin_dsn, event_id)
    assert arrived - recorded.timestamp() < 1.0, arrived - recorded.timestamp()
    listed = (await client.get("/api/v1/notifications", headers=headers)).json()["items"]
    assert listed[0] == data  # the same JSON as the list gives
    assert bystander.events == []


async def test_last_event_id_replays_through_the_gateway(
    client: httpx.AsyncClient, open_stream: Any, stack_admin_dsn: str
) -> None:
    headers = await account(client)
    first = await open_stream(headers)
    await due_now(client, headers, stack_admin_dsn, "One")
    await first.until(lambda: len(first.events) == 1, timeout=15)
    seen = first.events[0][0]
    await first.response.aclose()
    missed = await due_now(client, headers, stack_admin_dsn, "Two")
    for _ in range(150):  # until the scheduler recorded it
        listed = (await client.get("/api/v1/notifications", headers=headers)).json()["items"]
        if len(listed) == 2:
            break
        await asyncio.sleep(0.1)
    again = await open_stream(headers | {"Last-Event-ID": seen})
    await again.until(lambda: len(again.events) == 1)
    assert again.events[0][1]["reminder_id"] == missed and again.events[0][1]["title"] == "Two"
    r = await client.get(STREAM, headers=headers | {"Last-Event-ID": "not-an-id"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    r = await client.get(STREAM)
    assert r.status_code == 401


async def test_heartbeats_keep_an_idle_stream_open(client: httpx.AsyncClient, open_stream: Any) -> None:
    stream = await open_stream(await account(client))
    await stream.until(lambda: stream.comments.count("keep-alive") >= 2, timeout=2 * HEARTBEAT_WAIT)
    assert not stream.ended.is_set() and stream.events == []


async def test_deleting_the_account_closes_its_stream(client: httpx.AsyncClient, open_stream: Any) -> None:
    headers = await account(client)
    stream = await open_stream(headers)
    other = await open_stream(await account(client))
    assert (await client.delete("/api/v1/users/me", headers=headers)).status_code == 204
    await asyncio.wait_for(stream.ended.wait(), 15)
    assert not other.ended.is_set()
    assert (await client.get(STREAM, headers=headers)).status_code == 401


async def test_signing_a_session_out_closes_its_stream(client: httpx.AsyncClient, open_stream: Any) -> None:
    email = f"stream-{uuid.uuid4().hex[:10]}@example.com"
    r = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    tokens = []
    for agent in ("phone", "laptop"):
        login = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, headers={"User-Agent": agent}
        )
        assert login.status_code == 200, login.text
        tokens.append({"Authorization": f"Bearer {login.json()['access_token']}"})
    phone, laptop = tokens
    on_phone = await open_stream(phone)
    on_laptop = await open_stream(laptop)
    sessions = (await client.get("/api/v1/users/me/sessions", headers=laptop)).json()["items"]
    (phone_session,) = [s for s in sessions if not s["current"]]
    assert (
        await client.delete(f"/api/v1/users/me/sessions/{phone_session['id']}", headers=laptop)
    ).status_code == 204
    await asyncio.wait_for(on_phone.ended.wait(), HEARTBEAT_WAIT + 5)
    assert not on_laptop.ended.is_set()


async def test_an_eleventh_stream_of_a_user_is_429_through_the_gateway_until_one_leaves(
    client: httpx.AsyncClient, open_stream: Any
) -> None:
    headers = await account(client)
    streams = [await open_stream(headers) for _ in range(10)]
    refused = await client.get(STREAM, headers=headers)
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["retry-after"] == "30" and refused.headers["x-request-id"]
    assert refused.json()["status"] == 429
    await open_stream(await account(client))  # another user is not limited
    await streams[0].response.aclose()  # a client that leaves frees its place at once
    deadline = time.monotonic() + 3
    while True:
        async with client.stream("GET", STREAM, headers=headers) as again:
            if again.status_code == 200:
                break
            assert again.status_code == 429, again.status_code
        assert time.monotonic() < deadline, "the stream whose client left still counted after 3 s"
        await asyncio.sleep(0.1)
