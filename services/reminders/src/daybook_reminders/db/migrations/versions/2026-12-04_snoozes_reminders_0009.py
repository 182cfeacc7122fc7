"""``snoozes``: notifications snoozed by their users, fired again once by the scheduler.

A new, empty table (its index and constraints cost nothing), with the two walls of every
user-owned table: forced row-level security and the ``refuse_denied_user`` trigger (a late
snooze of an erased account is refused). Its rows go with their notification (``ON DELETE
CASCADE``), so erasure and retention need nothing new.

Revision ID: reminders_0009
Revises: reminders_0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reminders_0009"
down_revision: str | Sequence[str] | None = "reminders_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "reminders"
RLS_PREDICATE = (
    "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid"
    " OR current_setting('app.rls_bypass', true) = 'on'"
)
# squawk reads the whole history as one file and, after reminders_0006's CONCURRENTLY, takes
# every statement for one outside a transaction; these run inside the revision's (all or none).
ROBUST = "-- squawk-ignore prefer-robust-stmts\n"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "snoozes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("fire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            [f"{SCHEMA}.notifications.id"],
            name=op.f("fk_snoozes_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snoozes")),
        sa.UniqueConstraint("notification_id", name="uq_snoozes_notification_id"),
        schema=SCHEMA,
    )
    op.create_index("ix_snoozes_fire_at", "snoozes", ["fire_at"], schema=SCHEMA)
    op.execute(f"{ROBUST}ALTER TABLE {SCHEMA}.snoozes ENABLE ROW LEVEL SECURITY")
    op.execute(f"{ROBUST}ALTER TABLE {SCHEMA}.snoozes FORCE ROW LEVEL SECURITY")
    op.execute(
        f"{ROBUST}CREATE POLICY snoozes_owner ON {SCHEMA}.snoozes "
        f"USING ({RLS_PREDICATE}) WITH CHECK ({RLS_PREDICATE})"
    )
    op.execute(
        f"{ROBUST}CREATE TRIGGER snoozes_refuse_denied_user AFTER INSERT ON {SCHEMA}.snoozes "
        "REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {SCHEMA}.refuse_denied_user()"
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_table("snoozes", schema=SCHEMA)  # its policy, trigger and index go with it
