from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_journal import SCHEMA, SCRIPT_LOCATION
from daybook_journal.app import create_app
from daybook_journal.settings import Settings


@pytest.fixture(scope="module")
async def client(fresh_database: TestDatabase, signer: TestSigner) -> AsyncIterator[AsyncTestClient]:
    settings = Settings.from_env(
        {"JOURNAL_DATABASE_URL": fresh_database.url(SCHEMA), "JOURNAL_JWKS_JSON": signer.jwks_json}
    )
    async with AsyncTestClient(create_app(settings)) as c:
        yield c


async def test_health(client: AsyncTestClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["x-request-id"]


async def test_ready_503_until_migrated_then_200(
    client: AsyncTestClient, fresh_database: TestDatabase
) -> None:
    r = await client.get("/ready")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["checks"]["migrations"] == "pending"
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    r = await client.get("/ready")
    assert r.status_code == 200, r.text


async def test_ready_while_a_newer_release_has_migrated(
    client: AsyncTestClient, fresh_database: TestDatabase
) -> None:
    """A rolling deploy: the new release's migration Job ran first; this (older) code's pods stay
    ready on a revision they do not know, and go unready again if it is one they do know but not head."""
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    conn = await asyncpg.connect(fresh_database.admin_dsn())
    try:
        head = await conn.fetchval(f"SELECT version_num FROM {SCHEMA}.alembic_version")
        await conn.execute(f"UPDATE {SCHEMA}.alembic_version SET version_num = 'a_newer_release'")
        r = await client.get("/ready")
        assert r.status_code == 200, r.text
        assert r.json()["migrations"] == "ahead"
        await conn.execute(f"UPDATE {SCHEMA}.alembic_version SET version_num = $1", head)
        r = await client.get("/ready")
        assert r.status_code == 200 and r.json()["migrations"] == "head"
    finally:
        await conn.execute(f"UPDATE {SCHEMA}.alembic_version SET version_num = $1", head)
        await conn.close()


async def test_unknown_route_and_method_are_problems(client: AsyncTestClient) -> None:
    r = await client.get("/nope", headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 404
    assert r.json()["status"] == 404
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.delete("/health")
    assert r.status_code == 405
    assert r.headers["content-type"].startswith("application/problem+json")
