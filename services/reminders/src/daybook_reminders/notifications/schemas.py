"""Notification response bodies."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

import msgspec

MAX_SNOOZE_MINUTES = 1440


class Notification(msgspec.Struct):
    """A fired occurrence; ``title``/``message`` are as they were when it fired."""

    id: uuid.UUID
    user_id: uuid.UUID
    reminder_id: uuid.UUID
    title: str
    message: str
    occurrence_at: datetime.datetime
    read_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


class SnoozeRequest(msgspec.Struct, forbid_unknown_fields=True):
    minutes: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=MAX_SNOOZE_MINUTES, description=f"1..{MAX_SNOOZE_MINUTES}: fire again this much later"
        ),
    ]


class Snooze(msgspec.Struct):
    """A pending snooze: the notification's reminder fires once more, as a new notification, at ``fire_at``."""

    notification_id: uuid.UUID
    fire_at: datetime.datetime
