"""Reminder business rules and queries, always scoped to one user.

Every query filters on the caller's ``user_id`` (and row-level security, bound per transaction
with ``set_rls_user``, is the second wall). Schedule changes recompute ``next_fire_at`` and send a
``NOTIFY`` so sleeping schedulers look again at once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.errors import ExpectedVersion, NotFound, check_version
from daybook_common.models import utcnow
from daybook_common.pagination import decode_cursor, page_of
from daybook_common.problems import validation_error
from daybook_reminders.constraints import MAX_START_DATE, MIN_START_DATE
from daybook_reminders.db import models as m
from daybook_reminders.recurrence import (
    Frequency,
    Rule,
    canonical_days,
    first_fire_at,
    has_occurrence_soon,
    is_valid_timezone,
    today_in,
    upcoming,
)
from daybook_reminders.reminders import schemas as s
from daybook_reminders.rrules import InvalidRRuleError, parse_rrule
from daybook_reminders.tasks import require_live_task

SCHEDULE_FIELDS = ("frequency", "time", "timezone", "start_date", "custom_days", "rrule", "is_active")
DEFAULT_OCCURRENCES = 10
MAX_OCCURRENCES = 100


def parse_time(value: str) -> dt.time:
    hour, minute = value.split(":")
    return dt.time(int(hour), int(minute))


def format_time(value: dt.time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


@dataclass
class Schedule:
    """The schedule fields of a reminder after a create or an update, before validation."""

    frequency: Frequency
    time: dt.time
    timezone: str
    start_date: dt.date | None
    custom_days: Sequence[str] | None
    rrule: str | None
    is_active: bool


def canonical_rrule(frequency: str, text: str | None, stored: str | None = None) -> str | None:
    """The canonical form of a schedule's rule, or a 422 naming ``rrule``; ``stored``, the rule the
    reminder has, is not judged again (by checks newer than it) when the change keeps it."""
    if frequency != "rrule":
        if text is not None:
            raise validation_error("rrule", "only allowed with frequency rrule")
        return None
    if text is None:
        raise validation_error("rrule", "required for frequency rrule")
    try:
        return parse_rrule(text, strict=text != stored).text
    except InvalidRRuleError as exc:
        raise validation_error("rrule", str(exc)) from exc


def settle(
    schedule: Schedule, *, start_given: bool, now: dt.datetime, stored_rrule: str | None = None
) -> tuple[Rule, dt.datetime | None]:
    """Validate a schedule (422 naming the field), fill the default start date, compute ``next_fire_at``."""
    if not is_valid_timezone(schedule.timezone):
        raise validation_error("timezone", "unknown time zone (use an IANA name such as Europe/Berlin)")
    days = canonical_days(schedule.custom_days or [])
    if schedule.frequency == "custom" and not days:
        raise validation_error("custom_days", "required (at least one day) for frequency custom")
    if schedule.frequency != "custom" and days:
        raise validation_error("custom_days", "only allowed with frequency custom")
    start = schedule.start_date
    if start is not None and not MIN_START_DATE <= start <= MAX_START_DATE:
        raise validation_error("start_date", f"must be between {MIN_START_DATE} and {MAX_START_DATE}")
    if start is None:
        start = today_in(schedule.timezone, now)
    rrule = canonical_rrule(schedule.frequency, schedule.rrule, stored_rrule)
    rule = Rule(schedule.frequency, schedule.time, schedule.timezone, start, days, rrule)
    if rrule is not None and not has_occurrence_soon(rule, now):
        # Checked before any unbounded search: an impossible rule would never stop looking.
        raise validation_error("rrule", "the rule has no occurrence after now (within its search horizon)")
    if not schedule.is_active:
        return rule, None
    next_fire_at = first_fire_at(rule, now)
    if next_fire_at is None and rule.frequency == "once" and not start_given:
        # "once at 08:00" with no date means the next 08:00: tomorrow when today's has passed.
        rule = Rule(rule.frequency, rule.time, rule.timezone, start + dt.timedelta(days=1), days)
        next_fire_at = first_fire_at(rule, now)
    if next_fire_at is None:
        raise validation_error("start_date", "the only occurrence of a once reminder is in the past")
    return rule, next_fire_at


def schedule_of(data: s.ReminderSchedule, *, is_active: bool = True) -> Schedule:
    return Schedule(
        frequency=data.frequency,
        time=parse_time(data.time),
        timezone=data.timezone,
        start_date=data.start_date,
        custom_days=data.custom_days,
        rrule=data.rrule,
        is_active=is_active,
    )


def preview_occurrences(data: s.ReminderSchedule, now: dt.datetime, limit: int) -> list[dt.datetime]:
    """The next ``limit`` instants an active reminder with this schedule, made at ``now``, would fire at.

    The create's own validation and first instant (:func:`settle`), then the scheduler's chain
    (:func:`~daybook_reminders.recurrence.upcoming`): what ``GET /reminders/{id}/occurrences``
    answers once it is saved. Reads and writes nothing.
    """
    rule, next_fire_at = settle(schedule_of(data), start_given=data.start_date is not None, now=now)
    return upcoming(rule, next_fire_at, limit)


async def notify_schedulers(session: AsyncSession, next_fire_at: dt.datetime | None) -> None:
    """Wake listening schedulers when the transaction commits (NOTIFY is transactional)."""
    payload = next_fire_at.isoformat() if next_fire_at else ""
    await session.execute(sa.select(sa.func.pg_notify(m.NOTIFY_CHANNEL, payload)))


class ReminderRepository(SQLAlchemyAsyncRepository[m.Reminder]):
    model_type = m.Reminder


class ReminderService(SQLAlchemyAsyncRepositoryService[m.Reminder, ReminderRepository]):
    repository_type = ReminderRepository

    def __init__(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        clock: Callable[[], dt.datetime] = utcnow,
        task_wait_seconds: float = 0.0,
    ) -> None:
        super().__init__(session=session)
        self.session = session
        self.user_id = user_id
        self.clock = clock
        #: How long a ``task_id`` made moments ago may wait for its event (see ``daybook_reminders.tasks``).
        self.task_wait_seconds = task_wait_seconds

    # -- queries ------------------------------------------------------------------------------

    def _owned(self) -> sa.Select[m.Reminder]:
        return sa.select(m.Reminder).where(
            m.Reminder.user_id == self.user_id, m.Reminder.deleted_at.is_(None)
        )

    async def get_owned(self, reminder_id: uuid.UUID, *, for_update: bool = False) -> m.Reminder | None:
        stmt = self._owned().where(m.Reminder.id == reminder_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_live(self, reminder_id: uuid.UUID) -> m.Reminder:
        """The caller's live reminder, or 404."""
        reminder = await self.get_owned(reminder_id)
        if reminder is None:
            raise NotFound("Reminder not found")
        return reminder

    async def lock(self, reminder_id: uuid.UUID, expected_version: ExpectedVersion = None) -> m.Reminder:
        """The caller's live reminder, locked for this transaction at the expected version: 404, 412."""
        reminder = await self.get_owned(reminder_id, for_update=True)
        if reminder is None:
            raise NotFound("Reminder not found")
        check_version(reminder.version, expected_version)
        return reminder

    async def list_page(
        self, *, limit: int, cursor: str | None, is_active: bool | None
    ) -> tuple[list[m.Reminder], str | None]:
        """Newest first (ids are UUIDv7, so id order is creation order)."""
        stmt = self._owned()
        if is_active is not None:
            stmt = stmt.where(m.Reminder.is_active.is_(is_active))
        if cursor is not None:
            (last_id,) = decode_cursor(cursor, (uuid.UUID,))
            stmt = stmt.where(m.Reminder.id < last_id)
        stmt = stmt.order_by(m.Reminder.id.desc()).limit(limit + 1)
        rows = list((await self.session.execute(stmt)).scalars())
        return page_of(rows, limit, lambda r: (str(r.id),))

    # -- commands -----------------------------------------------------------------------------

    async def create_reminder(self, data: s.ReminderCreate) -> m.Reminder:
        schedule = schedule_of(data, is_active=data.is_active)
        rule, next_fire_at = settle(schedule, start_given=data.start_date is not None, now=self.clock())
        if data.task_id is not None:
            await require_live_task(self.session, self.user_id, data.task_id, self.task_wait_seconds)
        reminder = m.Reminder(
            user_id=self.user_id,
            title=data.title,
            message=data.message,
            frequency=rule.frequency,
            time=rule.time,
            timezone=rule.timezone,
            start_date=rule.start_date,
            custom_days=list(rule.custom_days) if rule.frequency == "custom" else None,
            rrule=rule.rrule,
            is_active=data.is_active,
            task_id=data.task_id,
            next_fire_at=next_fire_at,
        )
        reminder = await self.repository.add(reminder)
        if next_fire_at is not None:
            await notify_schedulers(self.session, next_fire_at)
        return reminder

    async def update_reminder(
        self, reminder_id: uuid.UUID, data: s.ReminderUpdate, expected_version: ExpectedVersion = None
    ) -> m.Reminder:
        """Apply a PATCH under the row lock; recompute the schedule if it changed."""
        reminder = await self.lock(reminder_id, expected_version)
        changes: dict[str, Any] = {
            f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not msgspec.UNSET
        }
        if "title" in changes:
            reminder.title = changes["title"]
        if "message" in changes:
            reminder.message = changes["message"]
        if "task_id" in changes:
            if changes["task_id"] is not None and changes["task_id"] != reminder.task_id:
                await require_live_task(
                    self.session, self.user_id, changes["task_id"], self.task_wait_seconds
                )
            reminder.task_id = changes["task_id"]
        if any(f in changes for f in SCHEDULE_FIELDS):
            frequency = changes.get("frequency", reminder.frequency)
            custom_days = changes.get("custom_days", reminder.custom_days)
            if "frequency" in changes and frequency != "custom" and "custom_days" not in changes:
                custom_days = None  # leaving custom drops its days
            rrule = changes.get("rrule", reminder.rrule)
            if "frequency" in changes and frequency != "rrule" and "rrule" not in changes:
                rrule = None  # leaving rrule drops its rule
            schedule = Schedule(
                frequency=frequency,
                time=parse_time(changes["time"]) if "time" in changes else reminder.time,
                timezone=changes.get("timezone", reminder.timezone),
                start_date=changes.get("start_date", reminder.start_date),
                custom_days=custom_days,
                rrule=rrule,
                is_active=changes.get("is_active", reminder.is_active),
            )
            if not self._same_schedule(reminder, schedule):
                await self._reschedule(reminder, schedule)
        reminder.updated_at = self.clock()
        reminder.version += 1
        return await self.repository.update(reminder)

    @staticmethod
    def _same_schedule(reminder: m.Reminder, schedule: Schedule) -> bool:
        """An update that restates the schedule must not skip an occurrence that is due right now."""
        return (
            schedule.frequency == reminder.frequency
            and schedule.time == reminder.time
            and schedule.timezone == reminder.timezone
            and schedule.start_date == reminder.start_date
            and list(canonical_days(schedule.custom_days or [])) == list(reminder.custom_days or [])
            and schedule.rrule == reminder.rrule
            and schedule.is_active == reminder.is_active
        )

    async def _reschedule(self, reminder: m.Reminder, schedule: Schedule) -> None:
        rule, next_fire_at = settle(schedule, start_given=True, now=self.clock(), stored_rrule=reminder.rrule)
        reminder.frequency = rule.frequency
        reminder.time = rule.time
        reminder.timezone = rule.timezone
        reminder.start_date = rule.start_date
        reminder.custom_days = list(rule.custom_days) if rule.frequency == "custom" else None
        reminder.rrule = rule.rrule
        reminder.is_active = schedule.is_active
        reminder.next_fire_at = next_fire_at
        if next_fire_at is not None:
            await notify_schedulers(self.session, next_fire_at)

    async def trash_page(self, *, limit: int, cursor: str | None) -> tuple[list[m.Reminder], str | None]:
        """The caller's deleted reminders not yet purged, most recently deleted first."""
        stmt = sa.select(m.Reminder).where(
            m.Reminder.user_id == self.user_id, m.Reminder.deleted_at.is_not(None)
        )
        if cursor is not None:
            last_deleted_at, last_id = decode_cursor(cursor, (dt.datetime, uuid.UUID))
            stmt = stmt.where(sa.tuple_(m.Reminder.deleted_at, m.Reminder.id) < (last_deleted_at, last_id))
        stmt = stmt.order_by(m.Reminder.deleted_at.desc(), m.Reminder.id.desc()).limit(limit + 1)
        rows = list((await self.session.execute(stmt)).scalars())
        return page_of(rows, limit, lambda r: (r.deleted_at.isoformat(), str(r.id)))

    async def restore_reminder(self, reminder_id: uuid.UUID) -> m.Reminder:
        """Take a reminder out of the trash; it fires from its next occurrence after now.

        Occurrences that passed while it was deleted are not caught up. An active reminder with
        no occurrence left (a ``once`` in the past, a finished ``COUNT``) comes back inactive.
        """
        stmt = (
            sa.select(m.Reminder)
            .where(
                m.Reminder.user_id == self.user_id,
                m.Reminder.id == reminder_id,
                m.Reminder.deleted_at.is_not(None),
            )
            .with_for_update()
        )
        reminder = (await self.session.execute(stmt)).scalar_one_or_none()
        if reminder is None:
            raise NotFound("Reminder not found in the trash")
        now = self.clock()
        next_fire_at = first_fire_at(self._rule_of(reminder), now) if reminder.is_active else None
        reminder.deleted_at = None
        reminder.is_active = next_fire_at is not None
        reminder.next_fire_at = next_fire_at
        reminder.updated_at = now
        reminder.version += 1
        reminder = await self.repository.update(reminder)
        if next_fire_at is not None:
            await notify_schedulers(self.session, next_fire_at)
        return reminder

    def _trashed(self) -> sa.ColumnElement[bool]:
        return sa.and_(m.Reminder.user_id == self.user_id, m.Reminder.deleted_at.is_not(None))

    async def purge(self, reminder_id: uuid.UUID) -> None:
        """Delete one trashed reminder for good (its notifications go with it): 404 unless in the trash."""
        gone = await self.session.execute(
            sa.delete(m.Reminder)
            .where(self._trashed(), m.Reminder.id == reminder_id)
            .returning(m.Reminder.id)
        )
        if gone.first() is None:
            raise NotFound("Reminder not found in the trash")

    async def empty_trash(self) -> None:
        """Delete every reminder of the caller's trash for good (with their notifications)."""
        await self.session.execute(sa.delete(m.Reminder).where(self._trashed()))

    @staticmethod
    def _rule_of(reminder: m.Reminder) -> Rule:
        return Rule(
            reminder.frequency,
            reminder.time,
            reminder.timezone,
            reminder.start_date,
            tuple(reminder.custom_days or ()),
            reminder.rrule,
        )

    async def upcoming(self, reminder_id: uuid.UUID, limit: int) -> list[dt.datetime]:
        """The next ``limit`` instants the reminder fires at, computed as the scheduler computes them."""
        reminder = await self.get_live(reminder_id)
        return upcoming(self._rule_of(reminder), reminder.next_fire_at, limit)

    async def delete_reminder(self, reminder_id: uuid.UUID, expected_version: ExpectedVersion = None) -> None:
        """Soft delete: the reminder leaves every list and never fires again; its notifications stay."""
        reminder = await self.lock(reminder_id, expected_version)
        reminder.deleted_at = self.clock()
        reminder.version += 1
        reminder.next_fire_at = None
        await self.repository.update(reminder)
