"""Reminder request and response bodies."""

from __future__ import annotations

import datetime
import uuid
from typing import Any, ClassVar

import msgspec

from daybook_reminders.constraints import (
    DayName,
    Days,
    Frequency,
    LocalTime,
    Message,
    RRuleText,
    StartDate,
    TimezoneName,
    Title,
)

#: ``custom_days`` of a schedule whose frequency is not ``custom``: absent, null or empty.
_NO_DAYS: dict[str, Any] = {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]}


class ReminderSchedule(msgspec.Struct, forbid_unknown_fields=True):
    """When a reminder fires: the schedule fields of a create body (``POST /reminders/occurrences``).

    ``rrule`` exactly when ``frequency`` is ``rrule``, at least one of ``custom_days`` exactly when
    it is ``custom`` (the document says so with ``oneOf``).
    """

    __openapi__: ClassVar[dict[str, Any]] = {
        "oneOf": [
            {
                "title": "RRuleReminder",
                "required": ["rrule"],
                "properties": {
                    "frequency": {"const": "rrule"},
                    "rrule": {"type": "string"},
                    "custom_days": _NO_DAYS,
                },
            },
            {
                "title": "CustomReminder",
                "required": ["custom_days"],
                "properties": {
                    "frequency": {"const": "custom"},
                    "rrule": {"type": "null"},
                    "custom_days": {"type": "array", "minItems": 1},
                },
            },
            {
                "title": "CalendarReminder",
                "properties": {
                    "frequency": {"not": {"enum": ["rrule", "custom"]}},
                    "rrule": {"type": "null"},
                    "custom_days": _NO_DAYS,
                },
            },
        ]
    }

    frequency: Frequency
    time: LocalTime
    timezone: TimezoneName
    start_date: StartDate | None = None
    custom_days: Days | None = None
    rrule: RRuleText | None = None


class ReminderCreate(ReminderSchedule, kw_only=True, forbid_unknown_fields=True):
    """A schedule (with its ``oneOf``) plus what the reminder says and whether it is active."""

    title: Title
    message: Message
    is_active: bool = True
    task_id: uuid.UUID | None = None


class ReminderUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields present change; ``custom_days``/``rrule``/``task_id`` may be set to null."""

    title: Title | msgspec.UnsetType = msgspec.UNSET
    message: Message | msgspec.UnsetType = msgspec.UNSET
    frequency: Frequency | msgspec.UnsetType = msgspec.UNSET
    time: LocalTime | msgspec.UnsetType = msgspec.UNSET
    timezone: TimezoneName | msgspec.UnsetType = msgspec.UNSET
    start_date: StartDate | msgspec.UnsetType = msgspec.UNSET
    custom_days: Days | msgspec.UnsetType | None = msgspec.UNSET
    rrule: RRuleText | msgspec.UnsetType | None = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    task_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET


class Reminder(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    message: str
    frequency: Frequency
    time: str
    timezone: str
    start_date: datetime.date
    custom_days: list[DayName] | None
    rrule: str | None
    is_active: bool
    task_id: uuid.UUID | None
    next_fire_at: datetime.datetime | None
    last_fired_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    #: Set while the reminder is in the trash (``GET /reminders/trash``), else null.
    deleted_at: datetime.datetime | None


class Occurrences(msgspec.Struct):
    """The next instants a reminder fires at (UTC), as the scheduler will fire them."""

    items: list[datetime.datetime]
