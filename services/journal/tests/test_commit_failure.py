"""A write is answered 2xx only once it is committed: a commit that fails is an error response.

advanced-alchemy's ``autocommit`` send hook commits while the response is on its way and only logs
a failed commit; ``daybook_common.db.provide_db_session`` commits before the response exists. A
constraint checked at commit (``DEFERRABLE INITIALLY DEFERRED``) makes the commit fail on demand;
a database going away mid-commit (``test_database_outage``) fails the same way, only not on demand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import post
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.service import ServiceApp
from daybook_journal import SCRIPT_LOCATION
from daybook_journal.db.models import Base
from daybook_journal.settings import Settings


@post("/probe/deferred-duplicate", status_code=201)
async def write_that_fails_at_commit(db_session: AsyncSession) -> dict[str, str]:
    await db_session.execute(
        text("CREATE TEMP TABLE probe (n int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP")
    )
    await db_session.execute(text("INSERT INTO probe VALUES (1), (1)"))  # accepted until COMMIT
    return {"written": "not yet"}


@post("/probe/deferred-single", status_code=201)
async def write_that_commits(db_session: AsyncSession) -> dict[str, str]:
    await db_session.execute(
        text("CREATE TEMP TABLE probe (n int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP")
    )
    await db_session.execute(text("INSERT INTO probe VALUES (1)"))
    return {"written": "yes"}


@pytest.fixture(scope="module")
async def probe(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    app = ServiceApp(
        settings=settings.common,
        metadata=Base.metadata,
        script_location=SCRIPT_LOCATION,
        route_handlers=[write_that_fails_at_commit, write_that_commits],
        title="commit probe",
        description="",
        follow_deleted_users=False,
    ).build()
    async with AsyncTestClient(app) as client:
        yield client


async def test_a_commit_that_fails_is_not_answered_201(probe: AsyncTestClient) -> None:
    r = await probe.post("/probe/deferred-duplicate")
    assert r.status_code == 500, r.text  # an unexpected error: no 409 problem is mapped for it
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "not yet" not in r.text


async def test_a_commit_that_succeeds_is_answered_201(probe: AsyncTestClient) -> None:
    r = await probe.post("/probe/deferred-single")
    assert r.status_code == 201, r.text
    assert r.json() == {"written": "yes"}
