"""Notification response bodies."""

from __future__ import annotations

import datetime
import uuid

import msgspec


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
