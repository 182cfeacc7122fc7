"""A statement that runs out of time (``statement_timeout``) is not a database outage.

``DELETE /users/me`` locks the caller's row; while another transaction holds that lock the
statement waits until the server cancels it (SQLSTATE 57014).  Before, advanced-alchemy's
wrapper of that error (an ``IntegrityError``) was taken for an outage: 503 "The database is
unavailable" and a "database unavailable" warning.  Now it is a 503 that says the request took
too long, one log line naming the timeout, and no outage; the same request is served once the
lock is gone.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from daybook_common.outage import outage_log

TIMEOUT_MS = 1_500


@pytest.fixture(scope="module")
async def impatient(make_harness: Callable[..., Any]) -> AsyncIterator[AsyncTestClient[Any]]:
    """The users app with a short statement timeout."""
    app, _, _ = make_harness(USERS_DB_STATEMENT_TIMEOUT_MS=str(TIMEOUT_MS))
    async with AsyncTestClient(app) as client:
        yield client


async def test_delete_waiting_on_a_row_lock_is_a_timeout_not_an_outage(
    impatient: AsyncTestClient[Any], harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="daybook")
    email = harness.unique_email("locked")
    r = await impatient.post("/api/v1/auth/register", json={"email": email, "password": harness.password})
    assert r.status_code == 201, r.text
    user_id = uuid.UUID(r.json()["id"])
    r = await impatient.post("/api/v1/auth/login", json={"email": email, "password": harness.password})
    assert r.status_code == 200, r.text
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}

    holder = await harness.db.admin_connect()
    try:
        locked = holder.transaction()
        await locked.start()
        await holder.execute("SELECT 1 FROM users.users WHERE id = $1 FOR UPDATE", user_id)
        started = time.monotonic()
        r = await impatient.delete("/api/v1/users/me", headers=auth)
        waited = time.monotonic() - started
        await locked.rollback()
    finally:
        await holder.close()

    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "2"
    problem = r.json()
    assert problem["status"] == 503 and "took too long" in problem["detail"], problem
    assert "unavailable" not in problem["detail"]
    assert waited >= TIMEOUT_MS / 1000, waited

    messages = [rec.getMessage() for rec in caplog.records if rec.name.startswith("daybook")]
    timed_out = [m for m in messages if m.startswith("statement timed out on DELETE /api/v1/users/me")]
    assert len(timed_out) == 1 and "57014" in timed_out[0], messages
    assert not [m for m in messages if "database unavailable" in m or "outage" in m], messages
    assert not [rec for rec in caplog.records if rec.exc_info], "no traceback"
    assert outage_log._started is None, "counted as an outage"

    # The lock is gone: the same request is served.
    r = await impatient.delete("/api/v1/users/me", headers=auth)
    assert r.status_code == 204, r.text
