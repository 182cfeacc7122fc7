"""A statement the server cancels for time (``statement_timeout``, SQLSTATE 57014) is a 503 that
says the request took too long, one log line naming it, and no database outage — on the ORM path
(a PATCH waiting on the entry's row lock) and on the hot read's own asyncpg pool (a list waiting
on a table lock).  The same requests are served once the lock is gone.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from daybook_common.outage import outage_log
from daybook_devtools.testing.databases import TestDatabase
from daybook_journal.app import create_app
from daybook_journal.settings import Settings
from daybook_journal.testing import ENTRIES, User, make_entry

TIMEOUT_MS = 1_500


@pytest.fixture(scope="module")
async def impatient(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    """The journal app (hot-read fast path on) with a short statement timeout."""
    database = dataclasses.replace(settings.common.database, statement_timeout_ms=TIMEOUT_MS)
    short = dataclasses.replace(settings, common=dataclasses.replace(settings.common, database=database))
    async with AsyncTestClient(create_app(short)) as client:
        yield client


def _check_timeout(r: Any, caplog: pytest.LogCaptureFixture, where: str) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "2"
    assert "took too long" in r.json()["detail"], r.json()
    messages = [rec.getMessage() for rec in caplog.records if rec.name.startswith("daybook")]
    assert [m for m in messages if m.startswith(f"statement timed out on {where} (")], messages
    assert not [m for m in messages if "database unavailable" in m], messages
    assert not [rec for rec in caplog.records if rec.exc_info], "no traceback"
    assert outage_log._started is None, "counted as an outage"


async def test_write_waiting_on_a_row_lock(
    impatient: AsyncTestClient[Any], migrated: TestDatabase, alice: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="daybook")
    entry = await make_entry(impatient, alice, title="locked")
    url = f"{ENTRIES}/{entry['id']}"
    holder = await migrated.admin_connect()
    try:
        async with holder.transaction():
            await holder.execute(
                "SELECT 1 FROM journal.journal_entries WHERE id = $1 FOR UPDATE", uuid.UUID(entry["id"])
            )
            r = await impatient.patch(url, json={"title": "changed"}, headers=alice.headers)
    finally:
        await holder.close()
    _check_timeout(r, caplog, f"PATCH {url}")
    r = await impatient.patch(url, json={"title": "changed"}, headers=alice.headers)
    assert r.status_code == 200 and r.json()["title"] == "changed", r.text


async def test_hot_read_waiting_on_a_table_lock(
    impatient: AsyncTestClient[Any], migrated: TestDatabase, alice: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="daybook")
    await make_entry(impatient, alice, title="listed")
    holder = await migrated.admin_connect()
    try:
        async with holder.transaction():
            await holder.execute("LOCK TABLE journal.journal_entries IN ACCESS EXCLUSIVE MODE")
            r = await impatient.get(f"{ENTRIES}?limit=20", headers=alice.headers)
    finally:
        await holder.close()
    _check_timeout(r, caplog, f"GET {ENTRIES}")
    r = await impatient.get(f"{ENTRIES}?limit=20", headers=alice.headers)
    assert r.status_code == 200 and [e["title"] for e in r.json()["items"]] == ["listed"], r.text
