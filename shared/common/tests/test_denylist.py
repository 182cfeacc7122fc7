"""The denied-users list: followed in memory from the database, and the write guard with its lock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from daybook_common.denylist import (
    DENIED_SQLSTATE,
    DeniedUsers,
    allow_user,
    deny_user,
    guard_sql,
    is_denied_write,
)
from daybook_devtools.testing.databases import TestDatabase

SCHEMA = "users"  # a provisioned schema of the fresh database; tables made here for the library test


async def eventually(check: object, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
async def db(fresh_database: TestDatabase) -> AsyncIterator[TestDatabase]:
    conn = await fresh_database.connect_as(SCHEMA)
    try:
        await conn.execute(
            f"""
            CREATE TABLE {SCHEMA}.denied_users (
                user_id uuid PRIMARY KEY,
                reason text NOT NULL CHECK (reason IN ('deleted', 'deactivated')),
                denied_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE {SCHEMA}.things (id serial PRIMARY KEY, user_id uuid NOT NULL);
            {guard_sql(SCHEMA)};
            CREATE TRIGGER things_guard AFTER INSERT ON {SCHEMA}.things
                REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
                EXECUTE FUNCTION {SCHEMA}.refuse_denied_user();
            """
        )
    finally:
        await conn.close()
    yield fresh_database


async def test_the_list_is_loaded_at_start_and_follows_denies_and_lifts(db: TestDatabase) -> None:
    conn = await db.connect_as(SCHEMA)
    before, later, paused = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await deny_user(conn, SCHEMA, before, "deleted")
    follower = DeniedUsers(db.url(SCHEMA), SCHEMA)
    await follower.start()  # returns once the first load is done
    try:
        assert follower.is_revoked(before, 0)  # known from the table: nothing replayed
        assert not follower.is_revoked(later, 0)
        await deny_user(conn, SCHEMA, later, "deleted")
        await deny_user(conn, SCHEMA, paused, "deactivated")
        await eventually(lambda: follower.is_revoked(later, 0) and follower.is_revoked(paused, 0))

        assert await allow_user(conn, SCHEMA, paused)  # activation lifts a deactivation
        await eventually(lambda: not follower.is_revoked(paused, 0))
        await deny_user(conn, SCHEMA, later, "deactivated")  # never downgrades an erasure
        assert not await allow_user(conn, SCHEMA, later)
        await asyncio.sleep(0.2)
        assert follower.is_revoked(later, 0)
    finally:
        await follower.stop()
        await conn.close()


async def test_the_guard_refuses_a_denied_users_rows(db: TestDatabase) -> None:
    conn = await db.connect_as(SCHEMA)
    try:
        gone, fine = uuid.uuid4(), uuid.uuid4()
        await deny_user(conn, SCHEMA, gone, "deleted")
        await conn.execute(f"INSERT INTO {SCHEMA}.things (user_id) VALUES ($1)", fine)
        with pytest.raises(asyncpg.PostgresError) as caught:
            await conn.execute(f"INSERT INTO {SCHEMA}.things (user_id) VALUES ($1), ($2)", fine, gone)
        assert caught.value.sqlstate == DENIED_SQLSTATE
        assert is_denied_write(caught.value)
        assert not is_denied_write(ValueError("other"))
    finally:
        await conn.close()


async def test_a_deny_waits_for_a_write_in_flight_that_passed_the_guard(db: TestDatabase) -> None:
    writer, denier = await db.connect_as(SCHEMA), await db.connect_as(SCHEMA)
    user = uuid.uuid4()
    try:
        tx = writer.transaction()
        await tx.start()
        await writer.execute(f"INSERT INTO {SCHEMA}.things (user_id) VALUES ($1)", user)  # passed
        deny = asyncio.create_task(deny_user(denier, SCHEMA, user, "deleted"))
        await asyncio.sleep(0.3)
        assert not deny.done()  # waits for the write to end...
        await tx.commit()
        await asyncio.wait_for(deny, 5)  # ...so an erasure after it sees the row
        count = await denier.fetchval(f"SELECT count(*) FROM {SCHEMA}.things WHERE user_id = $1", user)
        assert count == 1
        with pytest.raises(asyncpg.PostgresError):  # and every later write is refused
            await writer.execute(f"INSERT INTO {SCHEMA}.things (user_id) VALUES ($1)", user)
    finally:
        await writer.close()
        await denier.close()


async def test_a_start_with_the_database_unreachable_does_not_wait_for_the_load() -> None:
    follower = DeniedUsers("postgresql://nobody:nothing@127.0.0.1:9/none", SCHEMA, first_load_timeout=30)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await follower.start()
    try:
        assert loop.time() - began < 10  # the failed attempt ends the wait, the retries go on behind
        assert not follower.loaded.is_set()
    finally:
        await follower.stop()


async def test_only_recent_denies_are_kept_in_memory(db: TestDatabase) -> None:
    conn = await db.connect_as(SCHEMA)
    old, recent = uuid.uuid4(), uuid.uuid4()
    try:
        await deny_user(conn, SCHEMA, old, "deleted")
        await conn.execute(
            f"UPDATE {SCHEMA}.denied_users SET denied_at = now() - interval '2 days' WHERE user_id = $1", old
        )
        await deny_user(conn, SCHEMA, recent, "deleted")
        follower = DeniedUsers(db.url(SCHEMA), SCHEMA, window_seconds=24 * 3600)
        await follower.start()
        try:
            assert follower.is_revoked(recent, 0) and not follower.is_revoked(old, 0)
        finally:
            await follower.stop()
    finally:
        await conn.close()


async def test_denied_sessions_are_followed_until_they_expire(db: TestDatabase) -> None:
    import datetime

    from daybook_common.denylist import deny_session

    conn = await db.connect_as(SCHEMA)
    now = datetime.datetime.now(datetime.UTC)
    before, later, expired = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    follower = DeniedUsers(db.url(SCHEMA), SCHEMA)
    try:
        await follower.start()  # no denied_sessions table yet: no denied session, no failure
        assert follower.loaded.is_set() and not follower.is_session_revoked(str(before))
        await follower.stop()
        await conn.execute(
            f"CREATE TABLE {SCHEMA}.denied_sessions (session_id uuid PRIMARY KEY,"
            " expires_at timestamptz NOT NULL, denied_at timestamptz NOT NULL DEFAULT now())"
        )
        await deny_session(conn, SCHEMA, before, now + datetime.timedelta(minutes=15))
        await deny_session(conn, SCHEMA, expired, now - datetime.timedelta(seconds=1))
        follower = DeniedUsers(db.url(SCHEMA), SCHEMA)
        await follower.start()
        assert follower.is_session_revoked(str(before))  # loaded from the table
        assert not follower.is_session_revoked(str(expired))  # its tokens are all expired
        await deny_session(conn, SCHEMA, later, now + datetime.timedelta(minutes=15))
        await eventually(lambda: follower.is_session_revoked(str(later)))  # by NOTIFY
        assert not follower.is_revoked(later, 0)  # a session is not a user
    finally:
        await follower.stop()
        await conn.execute(f"DROP TABLE IF EXISTS {SCHEMA}.denied_sessions")
        await conn.close()
