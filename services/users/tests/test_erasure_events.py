"""Account deletion over real NATS: the relay publishes users.user.deleted, then the account row goes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import nats
from litestar.testing import AsyncTestClient

from daybook_common.events import USER_DELETED
from daybook_common.events.stream import ensure_stream
from daybook_devtools.testing.databases import TestDatabase

PASSWORD = "correct horse battery staple"


async def test_deleted_account_is_published_then_hard_deleted(
    make_harness: Callable[..., Any], migrated: TestDatabase, nats_url: str
) -> None:
    await ensure_stream(nats_url)
    app, _settings, _peer = make_harness(USERS_EVENTS_ENABLED="true", USERS_NATS_URL=nats_url)
    email = f"erase-{uuid.uuid4().hex[:8]}@example.com"
    async with AsyncTestClient(app) as client:
        r = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        user_id = r.json()["id"]
        r = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert (await client.delete("/api/v1/users/me", headers=auth)).status_code == 204

        conn = await migrated.admin_connect()
        try:
            for _ in range(200):  # up to 10 s
                left = await conn.fetchval(
                    "SELECT count(*) FROM users.users WHERE id = $1", uuid.UUID(user_id)
                )
                if left == 0:
                    break
                await asyncio.sleep(0.05)
            assert left == 0, "the account row should be hard-deleted once the event is in JetStream"
            tokens = await conn.fetchval(
                "SELECT count(*) FROM users.refresh_tokens WHERE user_id = $1", uuid.UUID(user_id)
            )
            assert tokens == 0
        finally:
            await conn.close()
    published = [p for p in await stored_events(nats_url) if p["user_id"] == user_id]
    assert len(published) == 1 and published[0]["event_id"]


async def stored_events(nats_url: str) -> list[dict[str, Any]]:
    """Every users.user.deleted event the stream holds."""
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().subscribe(USER_DELETED, ordered_consumer=True)
        found = []
        while True:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                return found
            found.append(json.loads(msg.data))
    finally:
        await nc.close()
