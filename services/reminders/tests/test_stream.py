"""`GET /api/v1/notifications/stream` on two real reminders replicas (Granian processes) sharing
one database and NATS: a notification recorded by a scheduler reaches the stream on either
replica within a second, `Last-Event-ID` replays, heartbeats, and a denied account's stream ends."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
import pytest

from daybook_common.denylist import deny_user
from daybook_devtools.embedded import free_port
from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_reminders import SCHEMA
from daybook_reminders.scheduler import CLAIM_SNOOZES, fire_due

STREAM = "/api/v1/notifications/stream"
HEARTBEAT = 1.0


class Replica:
    def __init__(
        self,
        db: TestDatabase,
        signer: TestSigner,
        nats_url: str,
        log: Path,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")}
        env.update(
            {
                "REMINDERS_DATABASE_URL": db.url(SCHEMA),
                "REMINDERS_JWKS_JSON": signer.jwks_json,
                "REMINDERS_NATS_URL": nats_url,
                "REMINDERS_ACCESS_LOG": "false",
                "REMINDERS_STREAM_HEARTBEAT_SECONDS": str(HEARTBEAT),
                **(extra or {}),
            }
        )
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "daybook_reminders.cli", "serve", "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url + "/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"replica not ready:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture(scope="module")
def replicas(
    db: TestDatabase, signer: TestSigner, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Replica, Replica]]:
    logs = tmp_path_factory.mktemp("replicas")
    a = Replica(db, signer, nats_url, logs / "a.log")
    b = Replica(db, signer, nats_url, logs / "b.log")
    try:
        a.wait_ready()
        b.wait_ready()
        yield a, b
    finally:
        a.stop()
        b.stop()


@dataclass
class Stream:
    """One open SSE response: events (id, data) and comments as they arrive, with arrival times."""

    response: httpx.Response
    events: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)
    comments: list[tuple[str, float]] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        event_id, data = None, []
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self.comments.append((line[1:].strip(), time.time()))
                elif line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "" and data:
                    self.events.append((str(event_id), json.loads("\n".join(data)), time.time()))
                    event_id, data = None, []
                self._changed.set()
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()
            self._changed.set()

    async def until(self, predicate: Any, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            assert left > 0, f"timed out; events={self.events} comments={self.comments}"
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)


@pytest.fixture
async def open_stream() -> AsyncIterator[Any]:
    opened: list[tuple[httpx.AsyncClient, Stream, asyncio.Task[None]]] = []

    async def start(base_url: str, headers: dict[str, str], params: dict[str, str] | None = None) -> Stream:
        client = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(5, read=30))
        request = client.build_request("GET", STREAM, headers=headers, params=params)
        response = await client.send(request, stream=True)
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        opened.append((client, stream, asyncio.create_task(stream.read())))
        await stream.until(lambda: any(text == "connected" for text, _ in stream.comments))
        return stream

    yield start
    for client, stream, task in opened:
        task.cancel()
        await stream.response.aclose()
        await client.aclose()


async def make_reminder(base_url: str, headers: dict[str, str], title: str = "Water") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as client:
        r = await client.post(
            "/api/v1/reminders",
            json={
                "title": title,
                "message": "Drink",
                "frequency": "daily",
                "time": "06:00",
                "timezone": "UTC",
            },
            headers=headers,
        )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def fire(conn: asyncpg.Connection, at: dt.datetime) -> float:
    """One in-process scheduler pass at ``at``; the wall-clock time its notifications were committed."""
    while (await fire_due(conn, batch_size=100, coalesce=False, now=at)).claimed:
        pass
    return time.time()


async def test_a_notification_reaches_streams_on_both_replicas_within_a_second(
    replicas: tuple[Replica, Replica], signer: TestSigner, conn: asyncpg.Connection, open_stream: Any
) -> None:
    a, b = replicas
    user, other = uuid.uuid4(), uuid.uuid4()
    on_b = await open_stream(b.url, signer.headers(user))
    on_a = await open_stream(a.url, signer.headers(user))
    others = await open_stream(b.url, signer.headers(other))
    reminder = await make_reminder(a.url, signer.headers(user))
    committed = await fire(conn, dt.datetime.fromisoformat(reminder["next_fire_at"]))
    for stream in (on_b, on_a):
        await stream.until(lambda s=stream: len(s.events) == 1)
        (event_id, data, arrived) = stream.events[0]
        assert arrived - committed < 1.0, arrived - committed
        assert data["reminder_id"] == reminder["id"] and data["title"] == "Water"
        assert event_id == data["id"] and data["user_id"] == str(user) and data["read_at"] is None
    await others.until(lambda: len(others.comments) >= 2)  # a heartbeat later: still nothing of user's
    assert others.events == []


async def test_last_event_id_replays_what_was_missed_then_goes_on_live(
    replicas: tuple[Replica, Replica], signer: TestSigner, conn: asyncpg.Connection, open_stream: Any
) -> None:
    a, b = replicas
    user = uuid.uuid4()
    headers = signer.headers(user)
    reminder = await make_reminder(a.url, headers)
    first = dt.datetime.fromisoformat(reminder["next_fire_at"])
    await fire(conn, first + dt.timedelta(days=2))  # three occurrences, three notifications
    async with httpx.AsyncClient(base_url=a.url) as client:
        listed = (await client.get("/api/v1/notifications", headers=headers)).json()["items"]
    oldest_first = [n["id"] for n in reversed(listed)]
    assert len(oldest_first) == 3
    stream = await open_stream(b.url, headers | {"Last-Event-ID": oldest_first[0]})
    await stream.until(lambda: len(stream.events) == 2)
    assert [event_id for event_id, _, _ in stream.events] == oldest_first[1:]
    await fire(conn, first + dt.timedelta(days=3))
    await stream.until(lambda: len(stream.events) == 3)
    assert stream.events[2][1]["occurrence_at"].startswith((first + dt.timedelta(days=3)).date().isoformat())
    # An id that is not one of the caller's replays nothing; one that is no id is a 422.
    stranger = await open_stream(b.url, signer.headers(uuid.uuid4()) | {"Last-Event-ID": oldest_first[0]})
    await stranger.until(lambda: len(stranger.comments) >= 2)
    assert stranger.events == []
    async with httpx.AsyncClient(base_url=b.url) as client:
        r = await client.get(STREAM, headers=headers | {"Last-Event-ID": "nope"})
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        r = await client.get(STREAM)
        assert r.status_code == 401


class CommitsLate:
    """A scheduler's connection that stops before the snooze claim, after its notifications are
    inserted (their ids made), until released: a transaction that commits after a later one."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        if query == CLAIM_SNOOZES:
            self.reached.set()
            await self.release.wait()
        return await self.conn.fetch(query, *args)


async def test_last_event_id_replays_a_notification_that_committed_after_a_later_numbered_one(
    replicas: tuple[Replica, Replica],
    signer: TestSigner,
    db: TestDatabase,
    conn: asyncpg.Connection,
    open_stream: Any,
) -> None:
    """Two schedulers: the first records notification A, then the second records B (a larger id)
    and commits; A commits last. The client saw B live; reconnecting with B's id it must get A."""
    a, b = replicas
    user = uuid.uuid4()
    headers = signer.headers(user)
    first, second = (
        await make_reminder(a.url, headers, "First"),
        await make_reminder(a.url, headers, "Second"),
    )
    due = max(dt.datetime.fromisoformat(r["next_fire_at"]) for r in (first, second))
    stream = await open_stream(b.url, headers)
    other = await db.connect_as(SCHEMA)
    late = CommitsLate(conn)
    slow = asyncio.create_task(
        fire_due(cast(asyncpg.Connection, late), batch_size=1, coalesce=False, now=due)
    )
    try:
        await asyncio.wait_for(late.reached.wait(), 10)
        assert (await fire_due(other, batch_size=1, coalesce=False, now=due)).fired == 1
        await stream.until(lambda: len(stream.events) == 1)
        seen_id, seen, _ = stream.events[0]
        await stream.response.aclose()  # the client leaves before the other one commits
    finally:
        late.release.set()
        assert (await slow).fired == 1
        await other.close()
    async with httpx.AsyncClient(base_url=a.url) as client:
        listed = (await client.get("/api/v1/notifications", headers=headers)).json()["items"]
    (missed,) = [n for n in listed if n["id"] != seen_id]
    assert uuid.UUID(missed["id"]) < uuid.UUID(seen_id)  # recorded first, committed last
    assert {seen["title"], missed["title"]} == {"First", "Second"}
    again = await open_stream(a.url, headers | {"Last-Event-ID": seen_id})
    await again.until(lambda: len(again.events) == 1)
    assert again.events[0][0] == missed["id"]
    await again.until(lambda: len(again.comments) >= 3)  # a heartbeat later: nothing else
    assert len(again.events) == 1


async def test_heartbeat_comments_keep_an_idle_stream_alive(
    replicas: tuple[Replica, Replica], signer: TestSigner, open_stream: Any
) -> None:
    stream = await open_stream(replicas[0].url, signer.headers(uuid.uuid4()))
    await stream.until(
        lambda: sum(text == "keep-alive" for text, _ in stream.comments) >= 3, timeout=3 * HEARTBEAT + 3
    )
    beats = [at for text, at in stream.comments if text == "keep-alive"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(beats)]
    assert all(0.5 * HEARTBEAT < gap < 2 * HEARTBEAT for gap in gaps), gaps
    assert not stream.ended.is_set()


async def test_streams_end_when_the_account_is_denied_or_the_token_expires(
    replicas: tuple[Replica, Replica], signer: TestSigner, db: TestDatabase, open_stream: Any
) -> None:
    a, b = replicas
    user = uuid.uuid4()
    streams = [await open_stream(replica.url, signer.headers(user)) for replica in (a, b)]
    bystander = await open_stream(b.url, signer.headers(uuid.uuid4()))
    admin = await db.admin_connect()
    try:
        await deny_user(admin, SCHEMA, user, "deleted")  # what the users.user.deleted consumer does
    finally:
        await admin.close()
    for stream in streams:
        await asyncio.wait_for(stream.ended.wait(), 3)
    assert not bystander.ended.is_set()
    async with httpx.AsyncClient(base_url=b.url) as client:
        assert (await client.get(STREAM, headers=signer.headers(user))).status_code == 401
    # A token that expires in two seconds: its stream ends then (reconnect with a fresh one).
    short = await open_stream(a.url, {"Authorization": f"Bearer {signer.token(uuid.uuid4(), ttl=2)}"})
    await asyncio.wait_for(short.ended.wait(), 5)


async def test_ten_streams_per_user_on_a_replica_then_429_and_a_client_that_leaves_frees_its_place(
    replicas: tuple[Replica, Replica], signer: TestSigner, open_stream: Any
) -> None:
    a, b = replicas
    headers = signer.headers(uuid.uuid4())
    streams = [await open_stream(a.url, headers) for _ in range(10)]
    async with httpx.AsyncClient(base_url=a.url) as client:
        refused = await client.get(STREAM, headers=headers)
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.headers["retry-after"] == "30"
        assert "10" in refused.json()["detail"]
        # Through the handler (a query string) the same limit holds: one hub per process.
        assert (await client.get(STREAM + "?from=web", headers=headers)).status_code == 429
    await open_stream(b.url, headers)  # the other replica counts its own
    await open_stream(a.url, signer.headers(uuid.uuid4()))  # and other users are not limited
    await streams[0].response.aclose()  # the client leaves: its place is free at once
    deadline = time.monotonic() + 2
    while True:
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=5) as client,
            client.stream("GET", STREAM, headers=headers) as r,
        ):
            if r.status_code == 200:
                break
        assert time.monotonic() < deadline, "the left stream still counted after 2 s"
        await asyncio.sleep(0.1)
    assert not streams[1].ended.is_set()


async def test_a_request_of_another_shape_streams_through_the_handler_alike(
    replicas: tuple[Replica, Replica], signer: TestSigner, conn: asyncpg.Connection, open_stream: Any
) -> None:
    """A query string or an upper-case ``Last-Event-ID`` go through Litestar's handler (not the fast
    path): the same stream, replay and live events."""
    a, b = replicas
    user = uuid.uuid4()
    headers = signer.headers(user)
    reminder = await make_reminder(a.url, headers)
    first = dt.datetime.fromisoformat(reminder["next_fire_at"])
    await fire(conn, first + dt.timedelta(days=1))
    async with httpx.AsyncClient(base_url=a.url) as client:
        listed = (await client.get("/api/v1/notifications", headers=headers)).json()["items"]
    oldest, newest = listed[1]["id"], listed[0]["id"]
    stream = await open_stream(b.url, headers | {"Last-Event-ID": oldest.upper()})
    by_query = await open_stream(a.url, headers, {"from": "web"})
    await stream.until(lambda: len(stream.events) == 1)
    assert stream.events[0][0] == newest
    await fire(conn, first + dt.timedelta(days=2))
    for each in (stream, by_query):
        await each.until(lambda each=each: len(each.events) >= 1 and each.events[-1][0] != newest)
    await by_query.until(lambda: sum(text == "keep-alive" for text, _ in by_query.comments) >= 1, 5)
