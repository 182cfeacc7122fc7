"""Outbox relay, consumers with inbox and dead letters, on real NATS + PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from daybook_common.db import async_url
from daybook_common.events import STREAM, add_event, inbox_table, outbox_table
from daybook_common.events.consumer import EventConsumer
from daybook_common.events.relay import OutboxRelay
from daybook_common.events.stream import ensure_stream
from daybook_devtools.embedded import EmbeddedNats, free_port
from daybook_devtools.testing.databases import TestDatabase

SCHEMA = "users"  # a provisioned schema of the fresh database; tables made here for the library test
metadata = sa.MetaData(schema=SCHEMA)
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
async def db(fresh_database: TestDatabase) -> AsyncIterator[TestDatabase]:
    engine = create_async_engine(async_url(fresh_database.url(SCHEMA)))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    yield fresh_database


async def queue_events(db: TestDatabase, subject: str, payloads: list[dict[str, Any]]) -> list[uuid.UUID]:
    engine = create_async_engine(async_url(db.url(SCHEMA)))
    ids = []
    async with AsyncSession(engine) as session, session.begin():
        for payload in payloads:
            ids.append(await add_event(session, outbox, subject, payload))
    await engine.dispose()
    return ids


async def stream_messages(nats_url: str, subject: str) -> list[Any]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    sub = await js.subscribe(subject, ordered_consumer=True)
    found = []
    while True:
        try:
            msg = await sub.next_msg(timeout=0.5)
        except (TimeoutError, nats.errors.TimeoutError):
            break
        found.append(msg)
    await nc.close()
    return found


async def test_relay_publishes_in_order_once_with_event_id_as_message_id(
    db: TestDatabase, nats_url: str
) -> None:
    await ensure_stream(nats_url)
    subject = f"users.test.{uuid.uuid4().hex[:8]}"
    ids = await queue_events(db, subject, [{"n": i} for i in range(30)])
    relay = OutboxRelay(db.url(SCHEMA), SCHEMA, nats_url, batch_size=7, poll_interval=0.1)
    relay.start()
    conn = await db.connect_as(SCHEMA)
    try:

        async def all_published() -> bool:
            left = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.outbox WHERE published_at IS NULL")
            return left == 0

        await eventually(all_published)
    finally:
        await relay.stop()
        await conn.close()
    # A crash between publish and marking makes the relay publish again: the stream drops the copy.
    conn = await db.connect_as(SCHEMA)
    await conn.execute(f"UPDATE {SCHEMA}.outbox SET published_at = NULL WHERE id = $1", ids[3])
    await conn.close()
    relay = OutboxRelay(db.url(SCHEMA), SCHEMA, nats_url, poll_interval=0.1)
    relay.start()
    await eventually(lambda: asyncio.sleep(0, relay.published == 1))
    await relay.stop()
    messages = await stream_messages(nats_url, subject)
    assert [json.loads(m.data)["n"] for m in messages] == list(range(30))
    assert [m.headers["Nats-Msg-Id"] for m in messages] == [str(i) for i in ids]


async def test_relay_survives_nats_outage(db: TestDatabase, tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "nats", free_port())
    server.start()
    await ensure_stream(server.url)
    relay = OutboxRelay(db.url(SCHEMA), SCHEMA, server.url, poll_interval=0.1, max_backoff=0.5)
    relay.start()
    subject = f"users.outage.{uuid.uuid4().hex[:8]}"
    try:
        server.stop()
        await queue_events(db, subject, [{"n": i} for i in range(5)])
        await asyncio.sleep(1.0)
        assert relay.published == 0
        server.start()
        await eventually(lambda: asyncio.sleep(0, relay.published >= 5), timeout=15)
        messages = await stream_messages(server.url, subject)
        assert [json.loads(m.data)["n"] for m in messages] == list(range(5))
    finally:
        await relay.stop()
        server.stop()


async def publish(nats_url: str, subject: str, payload: dict[str, Any], msg_id: str | None = None) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.publish(
        subject,
        json.dumps(payload).encode(),
        stream=STREAM,
        headers={"Nats-Msg-Id": msg_id} if msg_id else None,
    )
    await nc.close()


async def test_consumer_handles_each_event_once_and_dead_letters_poison(
    db: TestDatabase, nats_url: str
) -> None:
    await ensure_stream(nats_url)
    subject = f"users.consumed.{uuid.uuid4().hex[:8]}"
    seen: list[str] = []

    async def handler(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
        if payload.get("poison"):
            raise RuntimeError("cannot handle")
        seen.append(payload["event_id"])

    consumer = EventConsumer(db.url(SCHEMA), SCHEMA, nats_url, "libtest", {subject: handler}, max_deliver=2)
    event = {"event_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())}
    await publish(nats_url, subject, event)
    await publish(nats_url, subject, event)  # the same event delivered twice (no msg id: not de-duplicated)
    await publish(nats_url, subject, {"event_id": str(uuid.uuid4()), "poison": True})
    consumer.start()
    try:
        dead_subject = f"deadletter.libtest.{subject}"
        await eventually(lambda: asyncio.sleep(0, consumer.handled >= 1), timeout=15)

        async def dead_lettered() -> bool:
            return len(await stream_messages(nats_url, dead_subject)) == 1

        await eventually(dead_lettered, timeout=20)
    finally:
        await consumer.stop()
    assert seen == [event["event_id"]]
    conn = await db.connect_as(SCHEMA)
    assert (
        await conn.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.inbox WHERE event_id = $1", uuid.UUID(event["event_id"])
        )
        == 1
    )
    await conn.close()


RELAY = """
import asyncio, sys
from daybook_common.events.relay import OutboxRelay
asyncio.run(OutboxRelay(sys.argv[1], sys.argv[2], sys.argv[3], batch_size=int(sys.argv[4])).run())
"""


async def test_relay_killed_mid_stream_delivers_everything_once_after_restart(
    db: TestDatabase, nats_url: str
) -> None:
    import os
    import signal
    import subprocess
    import sys

    await ensure_stream(nats_url)
    subject = f"users.killed.{uuid.uuid4().hex[:8]}"
    total = 3000
    await queue_events(db, subject, [{"n": i} for i in range(total)])
    conn = await db.connect_as(SCHEMA)
    proc = subprocess.Popen(
        [sys.executable, "-c", RELAY, db.url(SCHEMA), SCHEMA, nats_url, "20"], env={**os.environ}
    )
    try:
        # Until the relay has published its first batch (its start-up takes seconds on a loaded machine).
        deadline = asyncio.get_running_loop().time() + 90
        while asyncio.get_running_loop().time() < deadline:
            published = await conn.fetchval(
                f"SELECT count(*) FROM {SCHEMA}.outbox WHERE subject = $1 AND published_at IS NOT NULL",
                subject,
            )
            if published > 0:
                break
            await asyncio.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    left = await conn.fetchval(
        f"SELECT count(*) FROM {SCHEMA}.outbox WHERE subject = $1 AND published_at IS NULL", subject
    )
    assert 0 < left < total, "the kill should land mid-stream"
    relay = OutboxRelay(db.url(SCHEMA), SCHEMA, nats_url, poll_interval=0.1)
    relay.start()
    try:

        async def drained() -> bool:
            return (
                await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.outbox WHERE published_at IS NULL") == 0
            )

        await eventually(drained, timeout=30)
    finally:
        await relay.stop()
        await conn.close()
    messages = await stream_messages(nats_url, subject)
    assert [json.loads(m.data)["n"] for m in messages] == list(range(total))


async def test_nats_down_for_ten_seconds_then_every_event_is_handled(
    db: TestDatabase, tmp_path: Path
) -> None:
    """Producer relay and consumer keep running while the broker is away; nothing is lost."""
    server = EmbeddedNats(tmp_path / "nats", free_port())
    server.start()
    await ensure_stream(server.url)
    subject = f"users.outage2.{uuid.uuid4().hex[:8]}"
    handled: list[int] = []

    async def handler(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
        handled.append(payload["n"])

    relay = OutboxRelay(db.url(SCHEMA), SCHEMA, server.url, poll_interval=0.1, max_backoff=1.0)
    consumer = EventConsumer(
        db.url(SCHEMA), SCHEMA, server.url, f"outage-{uuid.uuid4().hex[:6]}", {subject: handler}
    )
    relay.start()
    consumer.start()
    try:
        await queue_events(db, subject, [{"n": 0}])
        await eventually(lambda: asyncio.sleep(0, handled == [0]), timeout=15)
        server.stop()
        for n in range(1, 21):  # "accounts deleted" while the broker is down
            await queue_events(db, subject, [{"n": n}])
            await asyncio.sleep(0.5)
        assert handled == [0]
        server.start()  # same store: the stream and the durable consumer survive
        await eventually(lambda: asyncio.sleep(0, len(handled) == 21), timeout=30)
        assert sorted(handled) == list(range(21))
    finally:
        await consumer.stop()
        await relay.stop()
        server.stop()


async def test_nats_down_is_one_warning_per_pause_not_a_traceback_per_attempt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """NATS stopped under a live subscription and unreachable for a new one: the clients'
    reconnect attempts log nothing at ERROR (nats.py's default error callback wrote a traceback
    per attempt, ~25 lines a second from a stack): they go to ``daybook.events.nats`` at DEBUG."""
    import logging

    from daybook_common.events.live import LiveSubscription

    caplog.set_level(logging.DEBUG)
    server = EmbeddedNats(tmp_path / "nats", free_port())
    server.start()
    live = LiveSubscription(server.url, "test.quiet", lambda payload: None)
    dead = LiveSubscription(f"nats://127.0.0.1:{free_port()}", "test.quiet", lambda payload: None)
    live.start()
    dead.start()
    try:
        await asyncio.wait_for(live.subscribed.wait(), 10)
        server.stop()
        await asyncio.sleep(2.5)
    finally:
        await live.stop()
        await dead.stop()
    noisy = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert noisy == [], [(r.name, r.getMessage()) for r in noisy[:3]]
    attempts = [r for r in caplog.records if r.name == "daybook.events.nats"]
    assert attempts, "the clients' failed attempts reach the callback (at DEBUG)"
