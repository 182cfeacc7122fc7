"""``audit_log`` and the audit triggers of the user-owned reminders tables (``daybook_common.audit``).

A new, empty append-only table (its indexes built in the transaction), one generated plpgsql
function per audited table and an ``AFTER INSERT OR UPDATE OR DELETE`` row trigger on it
(``CREATE TRIGGER`` takes a brief SHARE ROW EXCLUSIVE lock per table, bounded by ``lock_timeout``).
Not audited: ``known_tasks`` (a projection of the journal's audited tasks), ``idempotency_keys``
(a cache of responses to audited creates), ``denied_users``, ``inbox``, ``audit_log`` itself.

Revision ID: reminders_0012
Revises: reminders_0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

from daybook_common.audit import drop_trigger_sql, table_sql, trigger_sql

revision: str = "reminders_0012"
down_revision: str | Sequence[str] | None = "reminders_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "reminders"
#: Every audited table: (its columns now, the column naming the row).
AUDITED: dict[str, tuple[tuple[str, ...], str]] = {
    "reminders": (
        ("id", "user_id", "title", "message", "frequency", "time", "timezone", "start_date", "custom_days")
        + ("rrule", "is_active", "task_id", "next_fire_at", "last_fired_at", "version", "deleted_at")
        + ("sa_orm_sentinel", "created_at", "updated_at"),
        "id",
    ),
    "notifications": (
        ("id", "user_id", "reminder_id", "title", "message", "occurrence_at", "read_at", "sa_orm_sentinel")
        + ("created_at", "updated_at"),
        "id",
    ),
    "snoozes": (("id", "user_id", "notification_id", "fire_at", "created_at", "updated_at"), "id"),
}


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for statement in table_sql(SCHEMA):
        op.execute(statement)
    for table, (columns, key) in AUDITED.items():
        for statement in trigger_sql(SCHEMA, table, columns, key):
            op.execute(statement)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for table in AUDITED:
        for statement in drop_trigger_sql(SCHEMA, table):
            op.execute(statement)
    op.execute(f"DROP TABLE {SCHEMA}.audit_log")
