"""Races: two PATCHes with one ETag, idempotent creates, pagination while rows are being inserted."""

from __future__ import annotations

import asyncio
import datetime
import uuid

import httpx
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import create_async_engine

from daybook_common.db import DatabaseSettings, async_url, set_rls_user
from daybook_common.errors import PreconditionFailed
from daybook_common.rls import UserDb
from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA
from daybook_journal.db.reads import ReadPool
from daybook_journal.entries import schemas as s
from daybook_journal.entries.services import EntryService
from daybook_journal.entries.writes import Keyed, create_entry
from daybook_journal.testing import ENTRIES, TAGS, TASKS, User, collect, make_entry, make_tag


async def test_two_patches_with_one_etag_one_wins_one_gets_412(
    concurrent_api: httpx.AsyncClient, api: AsyncTestClient, alice: User
) -> None:
    for _ in range(5):
        entry = await make_entry(api, alice)
        url = f"{ENTRIES}/{entry['id']}"
        headers = {**alice.headers, "If-Match": '"1"'}
        first, second = await asyncio.gather(
            concurrent_api.patch(url, json={"title": "first"}, headers=headers),
            concurrent_api.patch(url, json={"title": "second"}, headers=headers),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 412], (first.text, second.text)
        winner = first if first.status_code == 200 else second
        r = await api.get(url, headers=alice.headers)
        assert r.json()["title"] == winner.json()["title"] and r.headers["etag"] == '"2"'


async def test_if_match_is_checked_under_the_row_lock(
    migrated: TestDatabase, api: AsyncTestClient, alice: User
) -> None:
    """Deterministic interleaving: B reads the ETag, A commits a change, B's conditional update fails."""
    entry = await make_entry(api, alice)
    entry_id = uuid.UUID(entry["id"])
    engine = create_async_engine(async_url(migrated.url(SCHEMA)))
    try:
        async with engine.connect() as conn_a, engine.connect() as conn_b:
            from sqlalchemy.ext.asyncio import AsyncSession

            session_a, session_b = AsyncSession(conn_a), AsyncSession(conn_b)
            for session in (session_a, session_b):
                await set_rls_user(session, alice.id)
            service_a = EntryService(UserDb(session_a, alice.id))
            service_b = EntryService(UserDb(session_b, alice.id))
            await service_a.update(entry_id, s.EntryUpdate(title="A"), 1)
            # B blocks on A's row lock until A commits, then sees version 2.
            b_update = asyncio.create_task(service_b.update(entry_id, s.EntryUpdate(title="B"), 1))
            await asyncio.sleep(0.2)
            assert not b_update.done()
            await session_a.commit()
            try:
                await b_update
                raise AssertionError("B should have failed the precondition")
            except PreconditionFailed:  # the 412 problem
                pass
            await session_b.rollback()
    finally:
        await engine.dispose()


async def test_creates_with_the_same_tags_do_not_wait_for_each_other(
    migrated: TestDatabase, api: AsyncTestClient, concurrent_api: httpx.AsyncClient, alice: User
) -> None:
    """A create holds its tags ``FOR KEY SHARE`` (not ``FOR NO KEY UPDATE``): another create with
    the same tags goes ahead while the first is still open (they serialised every tagged write
    of a user: 28 writes/s at c=32 in bench case 13); a rename still waits for both."""
    tag = await make_tag(api, alice, f"shared {uuid.uuid4().hex[:6]}")
    pool = ReadPool(
        DatabaseSettings(url=migrated.url(SCHEMA), schema=SCHEMA, pool_size=1), "test-open-create"
    )
    await pool.start()
    try:
        async with pool.transaction(alice.id) as connection:
            await create_entry(
                connection,
                alice.id,
                s.EntryCreate(
                    entry_date=datetime.datetime(2026, 1, 22, tzinfo=datetime.UTC),
                    content="open",
                    tag_ids=[uuid.UUID(tag["id"])],
                ),
                Keyed(f"open-{uuid.uuid4()}", b"\x00" * 32),
                datetime.timedelta(hours=1),
                ENTRIES,
            )
            other = await asyncio.wait_for(
                concurrent_api.post(
                    ENTRIES,
                    json={"entry_date": "2026-01-22T10:00:00Z", "content": "other", "tag_ids": [tag["id"]]},
                    headers=alice.headers,
                ),
                timeout=10,
            )
            assert other.status_code == 201, other.text
            rename = asyncio.create_task(
                concurrent_api.patch(f"{TAGS}/{tag['id']}", json={"name": "renamed"}, headers=alice.headers)
            )
            await asyncio.sleep(0.3)
            assert not rename.done()  # the open create's tag lock holds the rename
        assert (await rename).status_code == 200
    finally:
        await pool.stop()


async def test_idempotent_create_replays_the_first_response(api: AsyncTestClient, alice: User) -> None:
    key = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    body = {"entry_date": "2026-04-01T10:00:00Z", "content": "once"}
    first = await api.post(ENTRIES, json=body, headers={**alice.headers, **key})
    assert first.status_code == 201
    again = await api.post(
        ENTRIES,
        json={"content": "once", "entry_date": "2026-04-01T10:00:00Z"},
        headers={**alice.headers, **key},
    )
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    listed = [e for e in await collect(api, alice, ENTRIES) if e["content"] == "once"]
    assert len(listed) == 1
    changed = await api.post(ENTRIES, json={**body, "content": "twice"}, headers={**alice.headers, **key})
    assert changed.status_code == 422 and changed.json()["errors"][0]["field"] == "Idempotency-Key"
    # The same key on another endpoint is another request → 422 too; keys are per user.
    r = await api.post(TASKS, json={"title": "t"}, headers={**alice.headers, **key})
    assert r.status_code == 422
    r = await api.post(TAGS, json={"name": "k"}, headers={**alice.headers, "Idempotency-Key": "x" * 256})
    assert r.status_code == 422


async def test_idempotency_keys_are_per_user(api: AsyncTestClient, alice: User, bob: User) -> None:
    key = {"Idempotency-Key": "shared-key"}
    a = await api.post(TAGS, json={"name": "mine"}, headers={**alice.headers, **key})
    b = await api.post(TAGS, json={"name": "mine"}, headers={**bob.headers, **key})
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]


async def test_concurrent_retries_with_one_key_create_once(
    concurrent_api: httpx.AsyncClient, alice: User
) -> None:
    key = {"Idempotency-Key": f"race-{uuid.uuid4()}"}
    body = {"title": f"race {uuid.uuid4()}"}
    responses = await asyncio.gather(
        *(concurrent_api.post(TASKS, json=body, headers={**alice.headers, **key}) for _ in range(4))
    )
    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    r = await concurrent_api.get(
        TASKS, params={"q": body["title"].split()[1], "limit": 100}, headers=alice.headers
    )
    assert len(r.json()["items"]) == 1


async def test_concurrent_entry_creates_with_one_key_create_once(
    concurrent_api: httpx.AsyncClient, api: AsyncTestClient, alice: User
) -> None:
    """The entry create path claims the key and locks the tags in one statement: the retries wait
    on the key, then replay the first response byte for byte (tag list included)."""
    tag = await make_tag(api, alice, f"retry {uuid.uuid4().hex[:6]}")
    key = {"Idempotency-Key": f"race-{uuid.uuid4()}"}
    body = {"entry_date": "2026-02-01T10:00:00Z", "title": f"race {uuid.uuid4()}", "content": "x"}
    responses = await asyncio.gather(
        *(
            concurrent_api.post(
                ENTRIES, json={**body, "tag_ids": [tag["id"]]}, headers={**alice.headers, **key}
            )
            for _ in range(4)
        )
    )
    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert sorted(r.headers.get("idempotent-replayed", "") for r in responses) == ["", "true", "true", "true"]
    assert responses[0].json()["tags"] == [{"id": tag["id"], "name": tag["name"], "color": tag["color"]}]
    mine = [e for e in await collect(api, alice, ENTRIES) if e["title"] == body["title"]]
    assert len(mine) == 1 and mine[0]["tags"] == responses[0].json()["tags"]


async def test_pagination_is_complete_while_rows_are_inserted(
    concurrent_api: httpx.AsyncClient, api: AsyncTestClient, new_user
) -> None:
    """Walk the list page by page while a writer adds entries everywhere in the order.

    Every entry that existed before the walk must be seen exactly once; new ones may or
    may not appear (depending on where they land), but never twice.
    """
    user = new_user()
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    before = []
    for i in range(40):
        before.append(
            await make_entry(api, user, entry_date=(base + datetime.timedelta(hours=3 * i)).isoformat())
        )
    stop = asyncio.Event()

    async def writer() -> int:
        n = 0
        while not stop.is_set():
            when = base + datetime.timedelta(hours=3 * (n % 40), minutes=1)  # between existing rows
            r = await concurrent_api.post(
                ENTRIES, json={"entry_date": when.isoformat(), "content": "new"}, headers=user.headers
            )
            assert r.status_code == 201
            n += 1
            await asyncio.sleep(0)
        return n

    writing = asyncio.create_task(writer())
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = await concurrent_api.get(ENTRIES, params=params, headers=user.headers)
        assert r.status_code == 200
        seen.extend(e["id"] for e in r.json()["items"])
        cursor = r.json()["next_cursor"]
        await asyncio.sleep(0.01)
        if cursor is None:
            break
    stop.set()
    inserted = await writing
    assert inserted > 5  # the writer really ran during the walk
    assert len(seen) == len(set(seen)), "an entry was served twice"
    assert {e["id"] for e in before} <= set(seen), "an existing entry was skipped"
