"""Housekeeping the users process runs by default (``daybook_common.retention``): expired refresh
tokens, ended login-throttle windows, register idempotency keys past their TTL and handled inbox
ids, every ``USERS_MAINTENANCE_INTERVAL_SECONDS``, one runner at a time across replicas and workers.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable

from litestar import Litestar

from daybook_common.db import plain_url
from daybook_common.retention import Purge, RetentionRunner, inbox_purge, older_than
from daybook_users import SCHEMA
from daybook_users.settings import Settings

# Spent or expired tokens stay a day past expiry so a late replay is still recognised as reuse.
TOKEN_GRACE = datetime.timedelta(days=1)
TASK_KEY = "users_maintenance_task"


def purges(settings: Settings) -> list[Purge]:
    """What the users service forgets, and after how long."""
    return [
        Purge("refresh_tokens", older_than(SCHEMA, "refresh_tokens", "expires_at"), TOKEN_GRACE),
        Purge(
            "login_throttles",
            older_than(SCHEMA, "login_throttles", "window_started_at", "scope, key_digest"),
            datetime.timedelta(seconds=settings.throttle.window_seconds),
        ),
        Purge(
            "idempotency_keys",
            older_than(SCHEMA, "idempotency_keys", "created_at", "key"),
            settings.idempotency_ttl,
        ),
        inbox_purge(SCHEMA),
    ]


def runner(settings: Settings) -> RetentionRunner:
    return RetentionRunner(
        plain_url(settings.common.database.url),
        SCHEMA,
        purges(settings),
        settings.maintenance_interval_seconds,
    )


async def run_once(settings: Settings) -> dict[str, int] | None:
    """One round now (``None``: another process is running one)."""
    return await runner(settings).run_once()


def start_hook(settings: Settings) -> Callable[[Litestar], Awaitable[None]]:
    async def start(app: Litestar) -> None:
        job = runner(settings)
        app.state[TASK_KEY] = job
        await job.start()

    return start


async def stop(app: Litestar) -> None:
    job: RetentionRunner | None = app.state.get(TASK_KEY)
    if job is not None:
        await job.stop()
