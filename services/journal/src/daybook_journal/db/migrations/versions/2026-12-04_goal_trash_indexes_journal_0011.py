"""Indexes for the trash retention job's cross-user scans of the goals-domain trash.

``purge_trash`` hard-deletes trash older than the retention period across all users: goal
deletions (by their top goal's ``deleted_at``), activities and sessions.  Partial indexes on
``deleted_at`` over trashed rows only, built ``CONCURRENTLY`` outside the migration's
transaction (no write lock on the live tables).

Revision ID: journal_0011
Revises: journal_0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "journal_0011"
down_revision: str | Sequence[str] | None = "journal_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"
INDEXES = (
    ("ix_goals_deleted_at_trash_tops", "goals", "deleted_at IS NOT NULL AND deletion_id = id"),
    ("ix_activities_deleted_at", "activities", "deleted_at IS NOT NULL"),
    ("ix_sessions_deleted_at", "sessions", "deleted_at IS NOT NULL"),
)


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, table, where in INDEXES:
            op.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {SCHEMA}.{table} (deleted_at) WHERE {where}"
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, _, _ in INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SCHEMA}.{name}")
