"""What reminders contributes to the account export (:mod:`daybook_common.export`): the caller's
reminders (soft-deleted ones included, with ``deleted_at``) and notifications in the API's shapes,
and pending snoozes as stored."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa

from daybook_common.export import ExportKind, kinds_by_name, table_kind
from daybook_reminders.db import models as m
from daybook_reminders.notifications.controllers import to_schema as notification_schema
from daybook_reminders.reminders.controllers import to_schema as reminder_schema

_reminders = cast(sa.Table, m.Reminder.__table__)
_notifications = cast(sa.Table, m.Notification.__table__)


def _reminder(row: sa.Row[Any]) -> Any:
    return reminder_schema(cast(m.Reminder, row))  # reads the row's attributes, as a model's


def _notification(row: sa.Row[Any]) -> Any:
    return notification_schema(cast(m.Notification, row))


KINDS: dict[str, ExportKind] = kinds_by_name(
    ExportKind(
        "reminders",
        lambda user_id: (
            sa.select(_reminders).where(_reminders.c.user_id == user_id).order_by(_reminders.c.id)
        ),
        _reminder,
    ),
    ExportKind(
        "notifications",
        lambda user_id: (
            sa.select(_notifications)
            .where(_notifications.c.user_id == user_id)
            .order_by(_notifications.c.occurrence_at.desc(), _notifications.c.id.desc())
        ),
        _notification,
    ),
    table_kind(cast(sa.Table, m.Snooze.__table__)),
)

__all__ = ["KINDS"]
