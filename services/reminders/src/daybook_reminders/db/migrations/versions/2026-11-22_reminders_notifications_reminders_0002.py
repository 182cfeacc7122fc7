"""Reminders, notifications, inbox, idempotency keys; row-level security on the user-owned tables.

All tables are new in this revision, so their indexes are built inside the same transaction
(no CONCURRENTLY needed: nobody else can see the tables yet).

Row-level security is FORCEd so the owning role obeys it too. A row is visible when its
``user_id`` is the transaction's ``app.user_id`` (set LOCAL per request from the token), or when
``app.rls_bypass`` is ``on`` (set LOCAL by the scheduler and the erasure code only).

Revision ID: reminders_0002
Revises: reminders_0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "reminders_0002"
down_revision: str | Sequence[str] | None = "reminders_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "reminders"
RLS_PREDICATE = (
    "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid"
    " OR current_setting('app.rls_bypass', true) = 'on'"
)
RLS_TABLES = ("reminders", "notifications", "idempotency_keys")


def upgrade() -> None:
    op.execute("SET LOCAL statement_timeout = '60s'")
    op.create_table(
        "reminders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("frequency", sa.Text(), nullable=False),
        sa.Column("time", sa.Time(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("custom_days", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("next_fire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("char_length(title) BETWEEN 1 AND 200", name="ck_reminders_title_length"),
        sa.CheckConstraint("char_length(message) <= 2000", name="ck_reminders_message_length"),
        sa.CheckConstraint(
            "frequency IN ('once', 'daily', 'weekdays', 'weekends', 'weekly', 'monthly', 'custom')",
            name="ck_reminders_frequency_known",
        ),
        sa.CheckConstraint("char_length(timezone) BETWEEN 1 AND 64", name="ck_reminders_timezone_length"),
        sa.CheckConstraint('EXTRACT(second FROM "time") = 0', name="ck_reminders_time_whole_minute"),
        sa.CheckConstraint(
            "(frequency = 'custom') = (custom_days IS NOT NULL)", name="ck_reminders_custom_days_iff_custom"
        ),
        sa.CheckConstraint(
            "custom_days IS NULL OR (cardinality(custom_days) BETWEEN 1 AND 7"
            " AND custom_days <@ ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']::text[])",
            name="ck_reminders_custom_days_valid",
        ),
        sa.CheckConstraint("is_active OR next_fire_at IS NULL", name="ck_reminders_inactive_not_scheduled"),
        sa.CheckConstraint(
            "deleted_at IS NULL OR next_fire_at IS NULL", name="ck_reminders_deleted_not_scheduled"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reminders"),
        schema=SCHEMA,
    )
    op.create_index("ix_reminders_user_id_id", "reminders", ["user_id", "id"], schema=SCHEMA)
    op.create_index(
        "ix_reminders_due",
        "reminders",
        ["next_fire_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("is_active AND deleted_at IS NULL"),
    )
    op.create_index(
        "ix_reminders_deleted_at",
        "reminders",
        ["deleted_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("reminder_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("char_length(title) BETWEEN 1 AND 200", name="ck_notifications_title_length"),
        sa.CheckConstraint("char_length(message) <= 2000", name="ck_notifications_message_length"),
        sa.ForeignKeyConstraint(
            ["reminder_id"],
            [f"{SCHEMA}.reminders.id"],
            name="fk_notifications_reminder_id_reminders",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint(
            "reminder_id", "occurrence_at", name="uq_notifications_reminder_id_occurrence_at"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_notifications_user_id_occurrence_at_id",
        "notifications",
        ["user_id", "occurrence_at", "id"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["user_id", "occurrence_at", "id"],
        schema=SCHEMA,
        postgresql_where=sa.text("read_at IS NULL"),
    )

    op.create_table(
        "inbox",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_inbox"),
        schema=SCHEMA,
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("status_code", sa.BigInteger(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("char_length(key) BETWEEN 1 AND 255", name="ck_idempotency_keys_key_length"),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_idempotency_keys"),
        schema=SCHEMA,
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"], schema=SCHEMA)

    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {SCHEMA}.{table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_owner ON {SCHEMA}.{table} "
            f"USING ({RLS_PREDICATE}) WITH CHECK ({RLS_PREDICATE})"
        )


def downgrade() -> None:
    op.execute("SET LOCAL statement_timeout = '60s'")
    for table in reversed(RLS_TABLES):
        op.execute(f"DROP POLICY IF EXISTS {table}_owner ON {SCHEMA}.{table}")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys", schema=SCHEMA)
    op.drop_table("idempotency_keys", schema=SCHEMA)
    op.drop_table("inbox", schema=SCHEMA)
    op.drop_index("ix_notifications_unread", table_name="notifications", schema=SCHEMA)
    op.drop_index("ix_notifications_user_id_occurrence_at_id", table_name="notifications", schema=SCHEMA)
    op.drop_table("notifications", schema=SCHEMA)
    op.drop_index("ix_reminders_deleted_at", table_name="reminders", schema=SCHEMA)
    op.drop_index("ix_reminders_due", table_name="reminders", schema=SCHEMA)
    op.drop_index("ix_reminders_user_id_id", table_name="reminders", schema=SCHEMA)
    op.drop_table("reminders", schema=SCHEMA)
