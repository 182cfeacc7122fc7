"""Reminders tables, all in the `reminders` schema.

- ``reminders``: a user's schedule (local wall-clock ``time`` in an IANA ``timezone`` and a
  ``frequency``) and the scheduler's state: ``next_fire_at`` (UTC; null when inactive, deleted or
  done) and ``last_fired_at``. The partial index ``ix_reminders_due`` is what the scheduler's
  claim query walks.
- ``notifications``: one row per fired occurrence with the title/message as they were then;
  unique ``(reminder_id, occurrence_at)`` makes firing an occurrence twice impossible.
- ``snoozes``: notifications their users snoozed, due at ``fire_at`` (the scheduler fires them).
- ``outbox``: events waiting for the relay (``reminders.notification.created``).
- ``inbox``: handled event ids (the ``users.user.deleted`` consumer).
- ``idempotency_keys``: first responses of creating POSTs sent with ``Idempotency-Key``.

The user-owned tables (reminders, notifications, snoozes, idempotency_keys) have row-level security (``FORCE``d, so the owner role obeys it too):
rows are visible when ``user_id`` equals ``app.user_id`` (set per transaction from the token) or
when ``app.rls_bypass`` is ``on`` (set LOCAL by the scheduler and erasure only).
"""

from __future__ import annotations

import datetime
import uuid

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from daybook_common.audit import audit_table
from daybook_common.denylist import denied_sessions_table, denied_users_table
from daybook_common.events import inbox_table, outbox_table
from daybook_common.idempotency import idempotency_table
from daybook_common.models import AuditedModel, SoftDeleteMixin, service_registry
from daybook_reminders import NOTIFY_CHANNEL, SCHEMA
from daybook_reminders.recurrence import DAY_NAMES, FREQUENCIES, DayName, Frequency
from daybook_reminders.rrules import MAX_LENGTH as RRULE_MAX_LENGTH
from daybook_reminders.rrules import PATTERN as RRULE_PATTERN

_registry = service_registry(SCHEMA)


class Base(AuditedModel, DeclarativeBase):
    __abstract__ = True
    registry = _registry
    metadata = _registry.metadata


TITLE_MAX_LENGTH = 200
MESSAGE_MAX_LENGTH = 2000
TIMEZONE_MAX_LENGTH = 64
#: ``notifications.xact``: the recording transaction's id (``xid8`` fits a bigint).
XACT_DEFAULT = "(pg_current_xact_id())::text::bigint"

# The RLS predicate both tables share (NULLIF: after a SET LOCAL ends the setting reads '').
RLS_PREDICATE = (
    "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid"
    " OR current_setting('app.rls_bypass', true) = 'on'"
)


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Reminder(SoftDeleteMixin, Base):
    __tablename__ = "reminders"
    __table_args__ = (
        sa.Index("ix_reminders_user_id_id", "user_id", "id"),
        sa.Index(
            "ix_reminders_due",
            "next_fire_at",
            postgresql_where=sa.text("is_active AND deleted_at IS NULL"),
        ),
        sa.Index("ix_reminders_deleted_at", "deleted_at", postgresql_where=sa.text("deleted_at IS NOT NULL")),
        # A deleted task detaches its reminders (reminders_0006).
        sa.Index("ix_reminders_task_id", "task_id", postgresql_where=sa.text("task_id IS NOT NULL")),
        sa.CheckConstraint(f"char_length(title) BETWEEN 1 AND {TITLE_MAX_LENGTH}", name="title_length"),
        sa.CheckConstraint(f"char_length(message) <= {MESSAGE_MAX_LENGTH}", name="message_length"),
        sa.CheckConstraint(f"frequency IN ({_sql_list(FREQUENCIES)})", name="frequency_known"),
        sa.CheckConstraint(
            f"char_length(timezone) BETWEEN 1 AND {TIMEZONE_MAX_LENGTH}", name="timezone_length"
        ),
        sa.CheckConstraint('EXTRACT(second FROM "time") = 0', name="time_whole_minute"),
        sa.CheckConstraint(
            "(frequency = 'custom') = (custom_days IS NOT NULL)", name="custom_days_iff_custom"
        ),
        sa.CheckConstraint(
            f"custom_days IS NULL OR (cardinality(custom_days) BETWEEN 1 AND 7"
            f" AND custom_days <@ ARRAY[{_sql_list(DAY_NAMES)}]::text[])",
            name="custom_days_valid",
        ),
        sa.CheckConstraint("(frequency = 'rrule') = (rrule IS NOT NULL)", name="rrule_iff_rrule"),
        sa.CheckConstraint(
            f"rrule IS NULL OR (char_length(rrule) <= {RRULE_MAX_LENGTH} AND rrule ~ '{RRULE_PATTERN}')",
            name="rrule_shape",
        ),
        sa.CheckConstraint("is_active OR next_fire_at IS NULL", name="inactive_not_scheduled"),
        sa.CheckConstraint("deleted_at IS NULL OR next_fire_at IS NULL", name="deleted_not_scheduled"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    title: Mapped[str] = mapped_column(sa.Text, nullable=False)
    message: Mapped[str] = mapped_column(sa.Text, nullable=False)
    frequency: Mapped[Frequency] = mapped_column(sa.Text, nullable=False)
    time: Mapped[datetime.time] = mapped_column(sa.Time, nullable=False)
    timezone: Mapped[str] = mapped_column(sa.Text, nullable=False)
    start_date: Mapped[datetime.date] = mapped_column(sa.Date, nullable=False)
    custom_days: Mapped[list[DayName] | None] = mapped_column(ARRAY(sa.Text), nullable=True)
    #: The canonical RFC 5545 rule of frequency ``rrule`` (see ``daybook_reminders.rrules``).
    rrule: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    is_active: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=True, server_default=sa.text("true")
    )
    task_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, nullable=True)
    next_fire_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    last_fired_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    #: Grows on every change (API edits and firings); the reminder's ETag and If-Match guard.
    version: Mapped[int] = mapped_column(
        sa.BigInteger, nullable=False, default=1, server_default=sa.text("1")
    )


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint(
            "reminder_id", "occurrence_at", name="uq_notifications_reminder_id_occurrence_at"
        ),
        sa.Index("ix_notifications_user_id_occurrence_at_id", "user_id", "occurrence_at", "id"),
        sa.Index(
            "ix_notifications_unread",
            "user_id",
            "occurrence_at",
            "id",
            postgresql_where=sa.text("read_at IS NULL"),
        ),
        # A stream's rows after its cursor: per commit (xact), in id order (reminders_0014).
        sa.Index("ix_notifications_user_id_xact_id", "user_id", "xact", "id"),
        sa.CheckConstraint(f"char_length(title) BETWEEN 1 AND {TITLE_MAX_LENGTH}", name="title_length"),
        sa.CheckConstraint(f"char_length(message) <= {MESSAGE_MAX_LENGTH}", name="message_length"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    #: The id of the transaction that recorded it: its row in ``notification_commits`` gives its
    #: place in commit order (``daybook_reminders.commit_order``); ``0`` for rows older than that.
    xact: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, server_default=sa.text(XACT_DEFAULT))
    reminder_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("reminders.reminders.id", ondelete="CASCADE"), nullable=False
    )
    title: Mapped[str] = mapped_column(sa.Text, nullable=False)
    message: Mapped[str] = mapped_column(sa.Text, nullable=False)
    occurrence_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    read_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


class Snooze(Base):
    """A notification snoozed by its user: at ``fire_at`` the scheduler records a new notification of
    the same reminder and deletes this row in the same transaction (so it fires once). One per
    notification: snoozing it again moves ``fire_at``."""

    __tablename__ = "snoozes"
    __table_args__ = (
        sa.UniqueConstraint("notification_id", name="uq_snoozes_notification_id"),
        sa.Index("ix_snoozes_fire_at", "fire_at"),
    )

    # advanced-alchemy's ORM bulk-insert sentinel column is not needed: ids are made in the app
    # (the older tables of this schema still carry it). None drops the inherited column.
    _sentinel = None  # type: ignore[assignment]

    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    notification_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("reminders.notifications.id", ondelete="CASCADE"), nullable=False
    )
    fire_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)


#: Transaction id of a commit that recorded notifications -> its place in commit order (``seq``);
#: see ``daybook_reminders.commit_order``. The row ``(0, 0)`` stands for every earlier notification.
notification_commits = sa.Table(
    "notification_commits",
    Base.metadata,
    sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("xact", sa.BigInteger, nullable=False),
    #: Every transaction committing after this one has ``xact >= oldest_running`` (reminders_0015).
    sa.Column("oldest_running", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("committed_at", DateTimeUTC(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("xact", name="uq_notification_commits_xact"),
    sa.Index("ix_notification_commits_committed_at", "committed_at"),
)

inbox = inbox_table(Base.metadata)
#: ``reminders.notification.created`` events the scheduler writes with each notification, published
#: by the API processes' relay (every reminders process hears them: its live streams).
outbox = outbox_table(Base.metadata)

#: Journal's tasks as its ``journal.task.*`` events tell them: a reminder's ``task_id`` must be a
#: live one of its owner's (see ``daybook_reminders.tasks``). No cross-schema read of journal.
known_tasks = sa.Table(
    "known_tasks",
    Base.metadata,
    sa.Column("task_id", sa.Uuid, primary_key=True),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Index("ix_known_tasks_user_id", "user_id"),
)

#: Accounts whose tokens and writes this service refuses (see :mod:`daybook_common.denylist`).
denied_users = denied_users_table(Base.metadata)

#: Sessions their owner revoked: their access tokens are refused until they expire.
denied_sessions = denied_sessions_table(Base.metadata)

#: The audit trail, written by triggers on every user-owned table (see :mod:`daybook_common.audit`).
audit_log = audit_table(Base.metadata)

# ``Idempotency-Key`` of creating POSTs: the first response, replayed for a retry with the same
# key and body within 24 h (the scheduler purges older rows).
idempotency_keys = idempotency_table(Base.metadata)

__all__ = [
    "MESSAGE_MAX_LENGTH",
    "NOTIFY_CHANNEL",
    "RLS_PREDICATE",
    "TIMEZONE_MAX_LENGTH",
    "TITLE_MAX_LENGTH",
    "Base",
    "Notification",
    "Reminder",
    "Snooze",
    "audit_log",
    "denied_sessions",
    "denied_users",
    "idempotency_keys",
    "inbox",
    "known_tasks",
    "notification_commits",
    "outbox",
]
