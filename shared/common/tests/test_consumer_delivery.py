"""How soon a durable consumer gets an event whose delivery went wrong, on real NATS + PostgreSQL.

A delivery nobody acks (a fetch that gave up as the message arrived, a dropped connection, a loop
that restarted holding a batch) comes back only after the consumer's ``ack_wait``; with the former
60 s that was a minute-long stall of e.g. an account erasure. These pin the bounds the README gives.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.ext.asyncio import create_async_engine

from daybook_common.db import async_url
from daybook_common.events import STREAM
from daybook_common.events.consumer import EventConsumer
from daybook_common.events.stream import ensure_stream
from daybook_devtools.embedded import EmbeddedNats, free_port
from daybook_devtools.testing.databases import TestDatabase

from .test_events import SCHEMA, eventually, metadata, publish


@pytest.fixture(scope="module")
async def db(fresh_database: TestDatabase) -> AsyncIterator[TestDatabase]:
    engine = create_async_engine(async_url(fresh_database.url(SCHEMA)))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    yield fresh_database


def event() -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())}


async def consumer_info(nats_url: str, durable: str) -> Any:
    nc = await nats.connect(nats_url)
    try:
        return await nc.jetstream().consumer_info(STREAM, durable)
    finally:
        await nc.close()


async def test_a_delivery_nobody_acked_comes_back_within_ack_wait_not_a_minute(
    db: TestDatabase, nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A fetch took the event and went away without an ack (as a fetch that timed out, or a
    connection that dropped, with the message on its way). The durable was made with the former
    60 s ack_wait: the consumer brings it to 10 s, so the event is handled ~10 s later, not 60."""
    caplog.set_level(logging.INFO, logger="daybook.events.consumer")
    await ensure_stream(nats_url)
    subject = f"users.lost.{uuid.uuid4().hex[:8]}"
    handled: list[float] = []

    async def handler(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
        handled.append(asyncio.get_running_loop().time())

    consumer = EventConsumer(
        db.url(SCHEMA), SCHEMA, nats_url, f"lost{uuid.uuid4().hex[:6]}", {subject: handler}
    )
    durable = consumer.durable_for(subject)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=durable,
            filter_subject=subject,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=60,
            max_deliver=6,
        ),
    )
    await publish(nats_url, subject, event())
    thief = await js.pull_subscribe_bind(durable=durable, stream=STREAM)
    taken = await thief.fetch(1, timeout=5)
    lost_at = asyncio.get_running_loop().time()
    await nc.close()  # gone with the message, never acked
    assert len(taken) == 1
    consumer.start()
    try:
        await eventually(lambda: asyncio.sleep(0, bool(handled)), timeout=25)
    finally:
        await consumer.stop()
    waited = handled[0] - lost_at
    assert 5 < waited < 16, waited  # ack_wait (10 s) after the lost delivery, give or take a fetch
    assert (await consumer_info(nats_url, durable)).config.ack_wait == 10
    late = [
        r
        for r in caplog.records
        if r.getMessage().startswith("event handled") and r.levelno == logging.WARNING
    ]
    assert late and late[0].attempt == 2 and late[0].age_s > 5, (
        "a late event is a warning with its age and attempt"
    )


async def test_a_handler_slower_than_ack_wait_keeps_its_message(db: TestDatabase, nats_url: str) -> None:
    """Two processes of a service share the durable; one handles an event for 3 ack_waits. Without
    the in-progress beats JetStream redelivered it to the other after ack_wait, which ran the
    handler again alongside (the inbox gets the id only once the first one has finished)."""
    await ensure_stream(nats_url)
    subject = f"users.slow.{uuid.uuid4().hex[:8]}"
    runs: list[str] = []

    async def handler(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
        runs.append(payload["event_id"])
        await asyncio.sleep(3.0)

    service = f"slow{uuid.uuid4().hex[:6]}"
    first, second = (
        EventConsumer(db.url(SCHEMA), SCHEMA, nats_url, service, {subject: handler}, ack_wait=1.0)
        for _ in range(2)
    )
    first.start()
    second.start()
    try:
        await publish(nats_url, subject, event())
        await eventually(lambda: asyncio.sleep(0, first.handled + second.handled == 1), timeout=20)
        await asyncio.sleep(2.5)  # a redelivered copy would be running by now
    finally:
        await first.stop()
        await second.stop()
    assert len(runs) == 1, runs


class FailsOnce(EventConsumer):
    """Its first handling raises past the handler's own error path (as a ``nak`` on a broken
    connection can): the loop restarts holding the rest of its batch."""

    failed = False

    async def handle(
        self, pool: asyncpg.Pool, js: JetStreamContext, msg: Msg, handler_key: str | None = None
    ) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("lost the connection")
        await super().handle(pool, js, msg, handler_key)


async def test_a_restarting_loop_gives_back_its_batch_at_once(db: TestDatabase, nats_url: str) -> None:
    await ensure_stream(nats_url)
    subject = f"users.batch.{uuid.uuid4().hex[:8]}"
    seen: list[int] = []

    async def handler(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
        seen.append(payload["n"])

    for n in range(3):
        await publish(nats_url, subject, {**event(), "n": n})
    consumer = FailsOnce(db.url(SCHEMA), SCHEMA, nats_url, f"batch{uuid.uuid4().hex[:6]}", {subject: handler})
    started = asyncio.get_running_loop().time()
    consumer.start()
    try:
        await eventually(lambda: asyncio.sleep(0, len(seen) == 3), timeout=20)
    finally:
        await consumer.stop()
    took = asyncio.get_running_loop().time() - started
    assert consumer.failed and sorted(seen) == [0, 1, 2]
    assert took < 6, f"{took:.1f} s: the batch waited for ack_wait instead of being nak'd back"


async def test_nats_restarted_mid_fetch_then_the_next_event_within_seconds(
    db: TestDatabase, tmp_path: Path
) -> None:
    """The broker goes away while the consumer's fetch waits and comes back: the next event is
    handled within seconds (the pull requests the old server held are gone with it)."""
    server = EmbeddedNats(tmp_path / "nats", free_port())
    server.start()
    await ensure_stream(server.url)
    subject = f"users.restart.{uuid.uuid4().hex[:8]}"
    handled: list[float] = []

    async def handler(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
        handled.append(asyncio.get_running_loop().time())

    consumer = EventConsumer(
        db.url(SCHEMA), SCHEMA, server.url, f"restart{uuid.uuid4().hex[:6]}", {subject: handler}
    )
    consumer.start()
    try:
        await publish(server.url, subject, event())
        await eventually(lambda: asyncio.sleep(0, len(handled) == 1), timeout=20)
        await asyncio.sleep(0.5)  # inside a fetch
        server.stop()
        await asyncio.sleep(1.5)
        server.start()
        await publish(server.url, subject, event())
        published = asyncio.get_running_loop().time()
        await eventually(lambda: asyncio.sleep(0, len(handled) == 2), timeout=20)
        assert handled[1] - published < 5
    finally:
        await consumer.stop()
        server.stop()
