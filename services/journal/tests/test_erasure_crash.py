"""A consumer SIGKILLed in the middle of erasing a big account: the restarted one finishes, once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid

import nats

from daybook_common.events import USER_DELETED
from daybook_common.events.consumer import EventConsumer
from daybook_common.events.stream import ensure_stream
from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA, SCRIPT_LOCATION
from daybook_journal.erasure import erase_user
from daybook_journal.seed import seed

ENTRIES = 20_000
BATCH = 250
CONSUMER = textwrap.dedent(
    """
    import asyncio, sys
    from daybook_common.events.consumer import EventConsumer
    from daybook_journal.erasure import erase_user

    async def handler(pool, payload):
        await erase_user(pool, payload["user_id"], batch_size=int(sys.argv[4]))

    consumer = EventConsumer(sys.argv[1], "journal", sys.argv[2], sys.argv[3], {sys.argv[5]: handler}, ack_wait=1.0)
    asyncio.run(consumer.run(sys.argv[5]))
    """
)


async def count_entries(db: TestDatabase, user_id: uuid.UUID) -> int:
    conn = await db.admin_connect()
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM journal.journal_entries WHERE user_id = $1", user_id)
        )
    finally:
        await conn.close()


async def test_killed_consumer_restarts_and_finishes_without_duplicates(
    fresh_database: TestDatabase, nats_url: str
) -> None:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    user_id = uuid.uuid4()
    await seed(fresh_database.url(SCHEMA), 1, ENTRIES, tasks_per_user=500, user_ids=[user_id], analyze=False)
    assert await count_entries(fresh_database, user_id) == ENTRIES
    await ensure_stream(nats_url)
    durable = f"crash-{uuid.uuid4().hex[:8]}"
    event_id = str(uuid.uuid4())
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.publish(USER_DELETED, json.dumps({"event_id": event_id, "user_id": str(user_id)}).encode())
    await nc.close()

    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CONSUMER,
            fresh_database.url(SCHEMA),
            nats_url,
            durable,
            str(BATCH),
            USER_DELETED,
        ],
        env={**os.environ},
    )
    try:
        for _ in range(600):
            left = await count_entries(fresh_database, user_id)
            if left < ENTRIES:
                break
            await asyncio.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    left_after_kill = await count_entries(fresh_database, user_id)
    assert 0 < left_after_kill < ENTRIES, "the kill should land mid-erasure"

    finished: list[str] = []

    async def handler(pool: object, payload: dict[str, str]) -> None:
        await erase_user(pool, payload["user_id"], batch_size=BATCH)
        finished.append(payload["event_id"])

    # The same durable consumer: JetStream redelivers the unacknowledged event after ack_wait.
    consumer = EventConsumer(
        fresh_database.url(SCHEMA), SCHEMA, nats_url, durable, {USER_DELETED: handler}, ack_wait=1.0
    )
    consumer.start()
    try:
        for _ in range(400):
            if finished:
                break
            await asyncio.sleep(0.05)
    finally:
        await consumer.stop()
    assert finished == [event_id]
    assert await count_entries(fresh_database, user_id) == 0
    conn = await fresh_database.admin_connect()
    try:
        assert await conn.fetchval("SELECT count(*) FROM journal.tasks WHERE user_id = $1", user_id) == 0
        assert (
            await conn.fetchval("SELECT count(*) FROM journal.inbox WHERE event_id = $1", uuid.UUID(event_id))
            == 1
        )
    finally:
        await conn.close()
