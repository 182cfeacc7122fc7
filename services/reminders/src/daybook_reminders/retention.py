"""What the reminders service forgets, run by the API process (``daybook_common.retention``,
every ``REMINDERS_RETENTION_INTERVAL_SECONDS``, one runner at a time across replicas and workers):
reminders soft-deleted more than ``REMINDERS_DELETED_RETENTION_DAYS`` ago (their notifications go
with them by cascade), fired notifications older than ``REMINDERS_NOTIFICATION_RETENTION_DAYS`` (and a day later the
``notification_commits`` rows of their transactions),
idempotency keys older than 24 h, handled inbox ids, and audit rows older than
``REMINDERS_AUDIT_RETENTION_DAYS`` (400).

The scheduler only fires reminders: a big purge never delays a due one.
"""

from __future__ import annotations

import datetime

from daybook_common.audit import audit_purge
from daybook_common.db import plain_url
from daybook_common.retention import Purge, RetentionRunner, denied_sessions_purge, inbox_purge, older_than
from daybook_reminders import SCHEMA
from daybook_reminders.settings import Settings

IDEMPOTENCY_TTL = datetime.timedelta(hours=24)


def purges(settings: Settings) -> list[Purge]:
    return [
        Purge(
            "deleted_reminders",
            older_than(SCHEMA, "reminders", "deleted_at"),
            datetime.timedelta(days=settings.scheduler.retention_days),
        ),
        Purge(
            "notifications",
            older_than(SCHEMA, "notifications", "occurrence_at"),
            datetime.timedelta(days=settings.notification_retention_days),
        ),
        # After the notifications: a commit's notifications occurred before it (``occurrence_at``
        # <= ``committed_at``), so a day later than theirs none of them is left.
        Purge(
            "notification_commits",
            older_than(SCHEMA, "notification_commits", "committed_at"),
            datetime.timedelta(days=settings.notification_retention_days + 1),
        ),
        Purge(
            "idempotency_keys",
            older_than(SCHEMA, "idempotency_keys", "created_at"),
            IDEMPOTENCY_TTL,
        ),
        inbox_purge(SCHEMA),
        denied_sessions_purge(SCHEMA),
        audit_purge(SCHEMA, datetime.timedelta(days=settings.audit_retention_days)),
    ]


def retention_runner(settings: Settings) -> RetentionRunner:
    return RetentionRunner(
        plain_url(settings.common.database.session_url),
        SCHEMA,
        purges(settings),
        settings.retention_interval_seconds,
    )
