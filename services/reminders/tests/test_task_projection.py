"""``known_tasks``: journal's task events applied in version order, and the check of ``task_id``."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from uuid_utils.compat import uuid7

from daybook_common.denylist import deny_user
from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_reminders import SCHEMA
from daybook_reminders.tasks import on_task_event

URL = "/api/v1/reminders"
BODY = {"title": "r", "message": "m", "frequency": "daily", "time": "09:00", "timezone": "UTC"}


@pytest.fixture(scope="module")
async def pool(db: TestDatabase) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(db.url(SCHEMA), min_size=1, max_size=3)
    try:
        yield p
    finally:
        await p.close()


async def event(pool: asyncpg.Pool, task_id: uuid.UUID, user: uuid.UUID, version: int, deleted: bool) -> None:
    payload = {"task_id": str(task_id), "user_id": str(user), "version": version, "deleted": deleted}
    await on_task_event(pool, payload)


async def create(client: AsyncTestClient, signer: TestSigner, user: uuid.UUID, task_id: uuid.UUID) -> int:
    r = await client.post(URL, json={**BODY, "task_id": str(task_id)}, headers=signer.headers(user))
    return r.status_code


async def test_events_apply_in_version_order_whatever_order_they_arrive_in(
    client: AsyncTestClient, signer: TestSigner, pool: asyncpg.Pool
) -> None:
    user, task_id = uuid.uuid4(), uuid.uuid4()
    await event(pool, task_id, user, 2, True)  # the delete overtook the create
    await event(pool, task_id, user, 1, False)
    assert await create(client, signer, user, task_id) == 422
    await event(pool, task_id, user, 3, False)  # restored
    await event(pool, task_id, user, 3, False)  # redelivered
    assert await create(client, signer, user, task_id) == 201
    assert await create(client, signer, uuid.uuid4(), task_id) == 422  # not another user's


async def test_a_delete_detaches_only_that_tasks_reminders(
    client: AsyncTestClient, signer: TestSigner, pool: asyncpg.Pool
) -> None:
    user, doomed, kept = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for task_id in (doomed, kept):
        await event(pool, task_id, user, 1, False)
    made = {}
    for task_id in (doomed, kept):
        r = await client.post(URL, json={**BODY, "task_id": str(task_id)}, headers=signer.headers(user))
        made[task_id] = r.json()["id"]
    await event(pool, doomed, user, 2, True)
    got = {
        t: (await client.get(f"{URL}/{rid}", headers=signer.headers(user))).json()["task_id"]
        for t, rid in made.items()
    }
    assert got == {doomed: None, kept: str(kept)}


async def test_a_task_made_moments_ago_is_waited_for_an_old_unknown_one_is_not(
    client: AsyncTestClient, signer: TestSigner, db: TestDatabase
) -> None:
    user = uuid.uuid4()
    fresh = uuid.UUID(str(uuid7()))

    async def arrives_later() -> None:  # on a loop of its own: the test client blocks this one
        await asyncio.sleep(0.5)
        own = await asyncpg.create_pool(db.url(SCHEMA), min_size=1, max_size=1)
        try:
            await event(own, fresh, user, 1, False)
        finally:
            await own.close()

    later = threading.Thread(target=asyncio.run, args=(arrives_later(),))
    later.start()
    try:
        assert await create(client, signer, user, fresh) == 201
    finally:
        later.join(10)
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await create(client, signer, user, uuid.uuid4()) == 422  # not a recent v7: no wait
    assert loop.time() - began < 1.0


async def test_events_of_an_erased_user_are_not_kept(
    client: AsyncTestClient, signer: TestSigner, pool: asyncpg.Pool
) -> None:
    user, task_id = uuid.uuid4(), uuid.uuid4()
    await deny_user(pool, SCHEMA, user, "deleted")
    await event(pool, task_id, user, 1, False)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
        assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.known_tasks WHERE user_id = $1", user) == 0
