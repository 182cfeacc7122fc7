"""daybook_common.idempotency on a real PostgreSQL: claim, replay, mismatch, TTL, races, purge."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from daybook_common.db import async_url
from daybook_common.errors import Invalid
from daybook_common.idempotency import (
    REPLAY_HEADER,
    IdempotencyKeys,
    fingerprint,
    forget_user,
    idempotency_table,
    legacy_fingerprint,
    purge_expired,
)

# Two provisioned schemas of the fresh database, one table shape each.
per_user = idempotency_table(sa.MetaData(schema="journal"))
shared = idempotency_table(sa.MetaData(schema="users"), per_user=False)
ALICE, BOB = uuid.uuid4(), uuid.uuid4()


@pytest.fixture(scope="module")
async def engine(fresh_database: Any) -> AsyncIterator[AsyncEngine]:
    """The journal role's engine (the per-user table)."""
    engine = create_async_engine(async_url(fresh_database.url("journal")))
    async with engine.begin() as conn:
        await conn.run_sync(per_user.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def users_engine(fresh_database: Any) -> AsyncIterator[AsyncEngine]:
    """The users role's engine (the table with one key space for everyone)."""
    engine = create_async_engine(async_url(fresh_database.url("users")))
    async with engine.begin() as conn:
        await conn.run_sync(shared.metadata.create_all)
    yield engine
    await engine.dispose()


async def created(
    engine: AsyncEngine, table: sa.Table, key: str, body: Any, user: uuid.UUID | None = ALICE
) -> tuple[Any, list[int]]:
    """POST-like: run a create under ``key``; returns the response and how many creates ran."""
    ran: list[int] = []

    async def create() -> tuple[int, Any, dict[str, str]]:
        ran.append(1)
        return 201, {"made": body}, {"Location": f"/things/{body}"}

    async with AsyncSession(engine) as session, session.begin():
        keys = IdempotencyKeys(session, table, user_id=user if table is per_user else None)
        stored = await keys.run(key, fingerprint("POST", "/things", body), create)
    return stored, ran


async def test_a_retry_replays_the_first_response_and_creates_nothing(engine: AsyncEngine) -> None:
    first, ran = await created(engine, per_user, "k1", "a")
    assert ran == [1] and first.status_code == 201 and first.body == b'{"made":"a"}'
    assert REPLAY_HEADER not in first.headers
    again, ran = await created(engine, per_user, "k1", "a")
    assert ran == [] and again.status_code == 201 and again.body == first.body
    assert again.headers == {"Location": "/things/a", REPLAY_HEADER: "true"}


async def test_the_same_key_with_another_body_is_a_422_naming_the_header(engine: AsyncEngine) -> None:
    await created(engine, per_user, "k2", "a")
    with pytest.raises(Invalid) as raised:
        await created(engine, per_user, "k2", "b")
    assert raised.value.field == "Idempotency-Key"


async def test_keys_are_per_user_in_a_per_user_table(engine: AsyncEngine) -> None:
    await created(engine, per_user, "mine", "a", user=ALICE)
    theirs, ran = await created(engine, per_user, "mine", "b", user=BOB)
    assert ran == [1] and theirs.body == b'{"made":"b"}'


async def test_no_key_runs_the_create_every_time(engine: AsyncEngine) -> None:
    for _ in range(2):
        _, ran = await created(engine, per_user, None, "a")  # type: ignore[arg-type]
        assert ran == [1]


async def test_a_rolled_back_create_leaves_no_key(engine: AsyncEngine) -> None:
    async def failing() -> tuple[int, Any, dict[str, str]]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        async with AsyncSession(engine) as session, session.begin():
            await IdempotencyKeys(session, per_user, ALICE).run("k3", fingerprint("POST", "/t", "a"), failing)
    _, ran = await created(engine, per_user, "k3", "a")
    assert ran == [1]


async def test_concurrent_retries_create_once(engine: AsyncEngine) -> None:
    results = await asyncio.gather(*(created(engine, per_user, "race", "a") for _ in range(4)))
    assert sum(len(ran) for _, ran in results) == 1
    assert {stored.body for stored, _ in results} == {b'{"made":"a"}'}


async def test_a_key_past_its_ttl_is_new_and_purged(engine: AsyncEngine) -> None:
    await created(engine, per_user, "old", "a")
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(per_user)
            .where(per_user.c.key == "old")
            .values(created_at=sa.func.now() - sa.text("interval '25 hours'"))
        )
    _, ran = await created(engine, per_user, "old", "b")  # another body is fine: the old key is forgotten
    assert ran == [1]
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(per_user)
            .where(per_user.c.key == "old")
            .values(created_at=sa.func.now() - sa.text("interval '25 hours'"))
        )
    async with AsyncSession(engine) as session, session.begin():
        assert await purge_expired(session, per_user, datetime.timedelta(hours=24)) == 1
        assert await purge_expired(session, per_user, datetime.timedelta(hours=24)) == 0


async def test_one_key_space_for_everyone_records_the_owner_and_forgets_them(
    users_engine: AsyncEngine,
) -> None:
    engine = users_engine
    owner = uuid.uuid4()
    async with AsyncSession(engine) as session, session.begin():
        keys = IdempotencyKeys(session, shared)
        assert await keys.claim("register-1", fingerprint("POST", "/register", ["a@x"])) is None
        await keys.record("register-1", 201, b"{}", {"Location": "/me"}, user_id=owner)
    async with AsyncSession(engine) as session, session.begin():
        stored = await IdempotencyKeys(session, shared).claim(
            "register-1", fingerprint("POST", "/register", ["b@x"])
        )
        assert stored is not None and not stored.same_request and stored.user_id == owner
    async with AsyncSession(engine) as session, session.begin():
        assert await forget_user(session, shared, owner) == 1
        assert (
            await IdempotencyKeys(session, shared).claim(
                "register-1", fingerprint("POST", "/register", ["b@x"])
            )
            is None
        )


def test_a_per_user_table_needs_the_caller() -> None:
    with pytest.raises(ValueError, match="per user"):
        IdempotencyKeys(None, per_user)  # type: ignore[arg-type]


class _Declared(msgspec.Struct, kw_only=True):
    title: str
    priority: str = "low"


class _Redeclared(msgspec.Struct, kw_only=True):  # the same fields, declared in another order
    priority: str = "low"
    title: str


def test_the_fingerprint_ignores_field_order_in_the_body_and_in_the_struct() -> None:
    as_sent = fingerprint("POST", "/t", {"title": "a", "priority": "high"})
    assert fingerprint("POST", "/t", {"priority": "high", "title": "a"}) == as_sent
    declared = fingerprint("POST", "/t", _Declared(title="a", priority="high"))
    assert declared == fingerprint("POST", "/t", _Redeclared(title="a", priority="high")) == as_sent
    assert fingerprint("POST", "/t", _Declared(title="b", priority="high")) != declared
    assert fingerprint("POST", "/t", ["b", "a"]) != fingerprint("POST", "/t", ["a", "b"])  # lists keep order


async def test_a_key_stored_with_the_legacy_fingerprint_still_replays(engine: AsyncEngine) -> None:
    body = _Declared(title="a", priority="high")
    legacy = legacy_fingerprint("POST", "/t", body)
    assert legacy != fingerprint("POST", "/t", body)  # declaration order: title first
    async with AsyncSession(engine) as session, session.begin():
        keys = IdempotencyKeys(session, per_user, ALICE)
        assert await keys.claim("legacy-1", legacy) is None
        await keys.record("legacy-1", 201, b"{}", {})
    async with AsyncSession(engine) as session, session.begin():
        keys = IdempotencyKeys(session, per_user, ALICE)
        stored = await keys.claim("legacy-1", fingerprint("POST", "/t", body), also=(legacy,))
        assert stored is not None and stored.same_request
        other = _Declared(title="b", priority="high")
        also = (legacy_fingerprint("POST", "/t", other),)
        stored = await keys.claim("legacy-1", fingerprint("POST", "/t", other), also=also)
        assert stored is not None and not stored.same_request
