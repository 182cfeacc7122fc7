"""``ix_reminders_task_id``: a deleted task detaches its reminders without a scan.

Partial (only reminders that have a task), built ``CONCURRENTLY`` outside a transaction so
writes to ``reminders`` go on meanwhile; ``IF NOT EXISTS`` makes a rerun after a failure safe
(an invalid leftover from a failed build must be dropped by hand first).

Revision ID: reminders_0006
Revises: reminders_0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "reminders_0006"
down_revision: str | Sequence[str] | None = "reminders_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "reminders"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("SET lock_timeout = '5s'")
        op.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_reminders_task_id ON {SCHEMA}.reminders (task_id) "
            "WHERE task_id IS NOT NULL"
        )
        op.execute("RESET lock_timeout")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("SET lock_timeout = '5s'")
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SCHEMA}.ix_reminders_task_id")
        op.execute("RESET lock_timeout")
