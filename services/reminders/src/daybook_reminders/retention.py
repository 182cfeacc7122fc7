"""What the reminders API process forgets on its own (``daybook_common.retention``): fired
notifications older than ``REMINDERS_NOTIFICATION_RETENTION_DAYS`` and handled inbox ids.

Soft-deleted reminders and idempotency keys stay with the scheduler's housekeeping.
"""

from __future__ import annotations

import datetime

from daybook_common.retention import Purge, RetentionRunner, inbox_purge, older_than
from daybook_reminders import SCHEMA


def purges(notification_retention_days: int) -> list[Purge]:
    return [
        Purge(
            "notifications",
            older_than(SCHEMA, "notifications", "occurrence_at"),
            datetime.timedelta(days=notification_retention_days),
        ),
        inbox_purge(SCHEMA),
    ]


def retention_runner(dsn: str, interval_seconds: float, notification_retention_days: int) -> RetentionRunner:
    return RetentionRunner(dsn, SCHEMA, purges(notification_retention_days), interval_seconds)
