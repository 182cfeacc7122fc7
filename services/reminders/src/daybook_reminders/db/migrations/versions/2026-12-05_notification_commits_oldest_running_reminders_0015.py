"""``notification_commits.oldest_running``: the oldest transaction still running when a commit took its place.

Every transaction that commits after that one has an id at least this (it was running then, or
got its id later), so "the user's notifications after this commit" are among those with
``xact >= oldest_running``: a range of the ``(user_id, xact, id)`` index instead of one probe of it per
later commit (``daybook_reminders.commit_order``). A constant default: a catalog-only change;
rows written before it read ``0`` (every notification qualifies: correct, only wider).

Revision ID: reminders_0015
Revises: reminders_0014
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "reminders_0015"
down_revision: str | Sequence[str] | None = "reminders_0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "reminders"
# squawk reads the whole history as one file and, after reminders_0006's CONCURRENTLY, takes
# every statement for one outside a transaction; these run inside the revision's (all or none).
ROBUST = "-- squawk-ignore prefer-robust-stmts\n"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(
        f"{ROBUST}ALTER TABLE {SCHEMA}.notification_commits ADD COLUMN IF NOT EXISTS oldest_running bigint NOT NULL DEFAULT 0"
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(f"{ROBUST}ALTER TABLE {SCHEMA}.notification_commits DROP COLUMN IF EXISTS oldest_running")
