"""Housekeeping every process runs now and then: drop expired refresh tokens, login counters and
register idempotency keys.

Safe to run in several processes at once (plain idempotent deletes).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
from collections.abc import Awaitable, Callable

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from daybook_common.db import create_engine
from daybook_common.idempotency import purge_expired
from daybook_users.auth import throttle, tokens
from daybook_users.db import models as m
from daybook_users.settings import Settings

# Spent or expired tokens stay a day past expiry so a late replay is still recognised as reuse.
TOKEN_GRACE = datetime.timedelta(days=1)
TASK_KEY = "users_maintenance_task"
logger = logging.getLogger("daybook.users.maintenance")


async def run_once(engine: AsyncEngine, settings: Settings) -> dict[str, int]:
    async with AsyncSession(engine) as session, session.begin():
        purged_tokens = await tokens.purge_expired(session, TOKEN_GRACE)
        purged_counters = await throttle.purge_expired(session, settings.throttle.window_seconds)
        purged_keys = await purge_expired(session, m.idempotency_keys, settings.idempotency_ttl)
    return {
        "refresh_tokens": purged_tokens,
        "login_throttles": purged_counters,
        "idempotency_keys": purged_keys,
    }


async def _loop(settings: Settings) -> None:
    interval = settings.maintenance_interval_seconds
    # A one-connection engine of its own: housekeeping never competes with requests for the pool.
    db = dataclasses.replace(settings.common.database, pool_size=1, max_overflow=0)
    engine = create_engine(db, "daybook-users-maintenance")
    try:
        while True:
            await asyncio.sleep(interval)
            try:
                purged = await run_once(engine, settings)
                logger.info("maintenance done", extra={"purged": purged})
            except Exception as exc:  # keep going: the next round may succeed
                logger.warning("maintenance failed: %s", exc.__class__.__name__)
    finally:
        await engine.dispose()


def start_hook(settings: Settings) -> Callable[[Litestar], Awaitable[None]]:
    async def start(app: Litestar) -> None:
        if settings.maintenance_interval_seconds > 0:
            app.state[TASK_KEY] = asyncio.create_task(_loop(settings), name="users-maintenance")

    return start


async def stop(app: Litestar) -> None:
    task: asyncio.Task[None] | None = app.state.get(TASK_KEY)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
