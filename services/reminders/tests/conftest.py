"""Fixtures for the reminders tests: a migrated database, an HTTP client, bulk seeding helpers."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_reminders import SCHEMA, SCRIPT_LOCATION
from daybook_reminders.app import create_app
from daybook_reminders.settings import Settings


@pytest.fixture(scope="module")
def db(fresh_database: TestDatabase) -> TestDatabase:
    """This module's database, migrated to head."""
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    return fresh_database


@pytest.fixture(scope="module")
async def client(db: TestDatabase, signer: TestSigner) -> AsyncIterator[AsyncTestClient]:
    settings = Settings.from_env(
        {
            "REMINDERS_DATABASE_URL": db.url(SCHEMA),
            "REMINDERS_JWKS_JSON": signer.jwks_json,
            "REMINDERS_ACCESS_LOG": "false",
            "REMINDERS_EVENTS_ENABLED": "false",  # the event consumer is tested on its own
        }
    )
    async with AsyncTestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
async def conn(db: TestDatabase) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the service's own role (subject to row-level security)."""
    c = await db.connect_as(SCHEMA)
    try:
        yield c
    finally:
        await c.close()


async def seed_reminders(
    conn: asyncpg.Connection,
    count: int,
    *,
    next_fire_at: dt.datetime,
    user_id: uuid.UUID | None = None,
    frequency: str = "daily",
    time: dt.time | None = None,
    timezone: str = "UTC",
    start_date: dt.date | None = None,
    title: str = "seeded",
) -> list[uuid.UUID]:
    """Insert ``count`` due reminders in one statement (bypassing RLS, like the scheduler does)."""
    ids = [uuid.uuid4() for _ in range(count)]
    users = [user_id or uuid.uuid4() for _ in range(count)]
    local_time = time or next_fire_at.astimezone(dt.UTC).time().replace(second=0, microsecond=0)
    start = start_date or dt.date(2020, 1, 1)
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
        await conn.execute(
            """
            INSERT INTO reminders (id, user_id, title, message, frequency, "time", timezone, start_date,
                                   is_active, next_fire_at, created_at, updated_at)
            SELECT r.id, r.user_id, $3, 'm', $4, $5, $6, $7, true, $8, now(), now()
            FROM unnest($1::uuid[], $2::uuid[]) AS r(id, user_id)
            """,
            ids,
            users,
            title,
            frequency,
            local_time,
            timezone,
            start,
            next_fire_at,
        )
    return ids


async def admin_fetch(db: TestDatabase, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await db.admin_connect()
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def seed() -> Any:
    """``await seed(conn, count, next_fire_at=..., ...)``: bulk-insert due reminders."""
    return seed_reminders
