"""Housekeeping the users process runs by default (``daybook_common.retention``): expired refresh
tokens, ended login-throttle windows, register idempotency keys past their TTL, handled inbox
ids, expired denied sessions and account tokens, security events after 400 days and sent or dead
mail after 30 days, audit rows past ``USERS_AUDIT_RETENTION_DAYS``, every ``USERS_MAINTENANCE_INTERVAL_SECONDS``, one runner at a time across replicas and workers.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable

from litestar import Litestar

from daybook_common.audit import audit_purge
from daybook_common.batch_delete import delete_batch_sql
from daybook_common.db import plain_url
from daybook_common.retention import (
    Purge,
    RetentionRunner,
    denied_sessions_purge,
    inbox_purge,
    older_than,
)
from daybook_users import SCHEMA
from daybook_users.activity.services import RETENTION as ACTIVITY_RETENTION
from daybook_users.settings import Settings

# Spent or expired tokens stay a day past expiry so a late replay is still recognised as reuse.
TOKEN_GRACE = datetime.timedelta(days=1)
TASK_KEY = "users_maintenance_task"
#: Sent and dead messages are kept this long (a dead one for an operator to look at); a pending
#: one is never purged.
MAIL_RETENTION = datetime.timedelta(days=30)
_MAIL_DONE = delete_batch_sql(f'"{SCHEMA}".mail_outbox', "status <> 'pending' AND created_at < $1")


def purges(settings: Settings) -> list[Purge]:
    """What the users service forgets, and after how long."""
    return [
        Purge("refresh_tokens", older_than(SCHEMA, "refresh_tokens", "expires_at"), TOKEN_GRACE),
        Purge(
            "login_throttles",
            older_than(SCHEMA, "login_throttles", "window_started_at"),
            datetime.timedelta(seconds=settings.throttle.window_seconds),
        ),
        Purge(
            "idempotency_keys",
            older_than(SCHEMA, "idempotency_keys", "created_at"),
            settings.idempotency_ttl,
        ),
        inbox_purge(SCHEMA),
        denied_sessions_purge(SCHEMA),
        Purge("security_events", older_than(SCHEMA, "security_events", "created_at"), ACTIVITY_RETENTION),
        Purge("account_tokens", older_than(SCHEMA, "account_tokens", "expires_at"), TOKEN_GRACE),
        Purge("mail_outbox", _MAIL_DONE, MAIL_RETENTION),
        audit_purge(SCHEMA, datetime.timedelta(days=settings.audit_retention_days)),
    ]


def runner(settings: Settings) -> RetentionRunner:
    return RetentionRunner(
        plain_url(settings.common.database.session_url),
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
