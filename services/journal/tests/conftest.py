"""Fixtures for the journal tests: a migrated database per module and an HTTP client on it."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_journal import SCHEMA, SCRIPT_LOCATION
from daybook_journal.app import create_app
from daybook_journal.settings import Settings
from daybook_journal.testing import User


@pytest.fixture(scope="module")
def migrated(fresh_database: TestDatabase) -> TestDatabase:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    return fresh_database


@pytest.fixture(scope="module")
def settings(migrated: TestDatabase, signer: TestSigner) -> Settings:
    return Settings.from_env(
        {
            "JOURNAL_DATABASE_URL": migrated.url(SCHEMA),
            "JOURNAL_JWKS_JSON": signer.jwks_json,
            "JOURNAL_ACCESS_LOG": "false",
            "JOURNAL_EVENTS_ENABLED": "false",
        }
    )


@pytest.fixture(scope="module")
def store_as_before(migrated: TestDatabase) -> Callable[..., Awaitable[None]]:
    """Put values the API now refuses (a control character in a name, see ``daybook_common.text``)
    into a row, as rows written before that rule may hold them: reads must still answer them."""

    async def store(table: str, row_id: str, **values: str) -> None:
        conn = await migrated.admin_connect()
        try:
            columns = ", ".join(f"{name} = ${n}" for n, name in enumerate(values, start=2))
            status = await conn.execute(
                f"UPDATE {SCHEMA}.{table} SET {columns} WHERE id = $1", uuid.UUID(row_id), *values.values()
            )
        finally:
            await conn.close()
        assert status == "UPDATE 1", status

    return store


@pytest.fixture(scope="module")
async def api(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
async def slow_api(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """The same app with ``JOURNAL_LIST_FAST_PATH=false`` (no hot-read dispatcher): what ``api``'s
    fast answers are compared with (:func:`daybook_devtools.testing.same.same_answer`)."""
    off = dataclasses.replace(settings, journal=dataclasses.replace(settings.journal, list_fast_path=False))
    async with AsyncTestClient(create_app(off)) as client:
        yield client


@pytest.fixture(scope="session")
def new_user(signer: TestSigner) -> Callable[[], User]:
    def make() -> User:
        user_id = uuid.uuid4()
        return User(id=user_id, headers=signer.headers(user_id, ttl=3600))

    return make


@pytest.fixture
def alice(new_user: Callable[[], User]) -> User:
    return new_user()


@pytest.fixture
def bob(new_user: Callable[[], User]) -> User:
    return new_user()


@pytest.fixture(scope="module")
async def concurrent_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests really run concurrently (same event loop, no test-client thread)."""
    app = create_app(settings)
    started, stopping = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:  # enter and exit the lifespan in one task (anyio cancel scopes)
        async with app.lifespan():
            started.set()
            await stopping.wait()

    running = asyncio.create_task(lifespan())
    await started.wait()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://journal.test") as client:
        yield client
    stopping.set()
    await running
