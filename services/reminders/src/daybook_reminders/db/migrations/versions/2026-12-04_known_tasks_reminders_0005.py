"""``known_tasks``: reminders' projection of journal's tasks (``daybook_reminders.tasks``).

New and empty (its index is built in the transaction), with row-level security like every
user-owned table.

Revision ID: reminders_0005
Revises: reminders_0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reminders_0005"
down_revision: str | Sequence[str] | None = "reminders_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "reminders"
RLS_PREDICATE = (
    "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid"
    " OR current_setting('app.rls_bypass', true) = 'on'"
)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("SET LOCAL statement_timeout = '60s'")
    op.create_table(
        "known_tasks",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_known_tasks")),
        schema=SCHEMA,
    )
    op.create_index("ix_known_tasks_user_id", "known_tasks", ["user_id"], schema=SCHEMA)
    op.execute(f"ALTER TABLE {SCHEMA}.known_tasks ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {SCHEMA}.known_tasks FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY known_tasks_owner ON {SCHEMA}.known_tasks "
        f"USING ({RLS_PREDICATE}) WITH CHECK ({RLS_PREDICATE})"
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(f"DROP POLICY IF EXISTS known_tasks_owner ON {SCHEMA}.known_tasks")
    op.drop_index("ix_known_tasks_user_id", table_name="known_tasks", schema=SCHEMA)
    op.drop_table("known_tasks", schema=SCHEMA)
