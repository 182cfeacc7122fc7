"""A reminder change waiting on its row lock until ``statement_timeout`` (SQLSTATE 57014) is a 503
that says the request took too long, one log line naming it, and no database outage; the same
request is served once the lock is gone."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from daybook_common.outage import outage_log
from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_reminders import SCHEMA
from daybook_reminders.app import create_app
from daybook_reminders.settings import Settings

TIMEOUT_MS = 1_500
REMINDER = {"title": "Water", "message": "Drink", "frequency": "daily", "time": "06:00", "timezone": "UTC"}


@pytest.fixture(scope="module")
async def impatient(db: TestDatabase, signer: TestSigner) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = Settings.from_env(
        {
            "REMINDERS_DATABASE_URL": db.url(SCHEMA),
            "REMINDERS_JWKS_JSON": signer.jwks_json,
            "REMINDERS_ACCESS_LOG": "false",
            "REMINDERS_EVENTS_ENABLED": "false",
            "REMINDERS_DB_STATEMENT_TIMEOUT_MS": str(TIMEOUT_MS),
        }
    )
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


async def test_change_waiting_on_a_row_lock(
    impatient: AsyncTestClient[Any], db: TestDatabase, signer: TestSigner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="daybook")
    headers = signer.headers(uuid.uuid4())
    r = await impatient.post("/api/v1/reminders", json=REMINDER, headers=headers)
    assert r.status_code == 201, r.text
    url = f"/api/v1/reminders/{r.json()['id']}"
    holder = await db.admin_connect()
    try:
        async with holder.transaction():
            await holder.execute(
                "SELECT 1 FROM reminders.reminders WHERE id = $1 FOR UPDATE", uuid.UUID(r.json()["id"])
            )
            r = await impatient.patch(url, json={"title": "Tea"}, headers=headers)
    finally:
        await holder.close()
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "2"
    assert "took too long" in r.json()["detail"], r.json()
    messages = [rec.getMessage() for rec in caplog.records if rec.name.startswith("daybook")]
    assert [m for m in messages if m.startswith(f"statement timed out on PATCH {url} (")], messages
    assert not [m for m in messages if "database unavailable" in m], messages
    assert outage_log._started is None, "counted as an outage"
    r = await impatient.patch(url, json={"title": "Tea"}, headers=headers)
    assert r.status_code == 200 and r.json()["title"] == "Tea", r.text
