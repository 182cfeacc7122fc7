"""``tasks.goal_id``: a task may name one of its user's goals (``?goal_id=`` filters by it).

Safe on a live table: the column is nullable with no default (no rewrite, a brief lock
under the migration's ``lock_timeout``); the foreign key ``(goal_id, user_id) → goals(id,
user_id)`` is added ``NOT VALID`` (no scan under the lock) and validated afterwards (a
scan that lets writes go on); the index is built ``CONCURRENTLY`` outside the transaction.
Deleting a goal is a soft delete, so its tasks keep their ``goal_id``.

Revision ID: journal_0007
Revises: journal_0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "journal_0007"
down_revision: str | Sequence[str] | None = "journal_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"
INDEX = "ix_tasks_goal_id"
FK = "fk_tasks_goal_id_goals"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.tasks ADD COLUMN IF NOT EXISTS goal_id uuid")
    # squawk reads the whole history as one file and, after the first CONCURRENTLY, takes
    # every statement for one outside a transaction; this one is inside the revision's.
    op.execute(
        "-- squawk-ignore prefer-robust-stmts\n"
        f"ALTER TABLE {SCHEMA}.tasks ADD CONSTRAINT {FK} FOREIGN KEY (goal_id, user_id)"
        f" REFERENCES {SCHEMA}.goals (id, user_id) NOT VALID"
    )
    with op.get_context().autocommit_block():
        # Its own transaction: validating in the one that added the constraint would hold
        # the ADD's lock (blocking reads) for the whole scan.
        # Re-runnable as is: validating a valid constraint does nothing.
        op.execute(
            f"-- squawk-ignore prefer-robust-stmts\nALTER TABLE {SCHEMA}.tasks VALIDATE CONSTRAINT {FK}"
        )
        op.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {SCHEMA}.tasks (goal_id, created_at, id)"
            " WHERE goal_id IS NOT NULL"
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SCHEMA}.{INDEX}")
    op.execute(f"ALTER TABLE {SCHEMA}.tasks DROP CONSTRAINT IF EXISTS {FK}")
    op.execute(f"ALTER TABLE {SCHEMA}.tasks DROP COLUMN IF EXISTS goal_id")
