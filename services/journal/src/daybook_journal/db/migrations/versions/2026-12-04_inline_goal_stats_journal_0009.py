"""``journal.goal_stats`` without its own ``search_path`` setting, so the planner inlines it.

A SQL function with a ``SET`` clause is never inlined: it ran as an opaque function scan
whose statement was planned without the caller's values.  Inlined, ``GET /goals/{root}/stats``
is planned as one statement with the tree's id and range (the ``(root_id, started_at)``
index).  The function names every object schema-qualified and is ``SECURITY INVOKER``, so
it needs no pinned search path.

Revision ID: journal_0009
Revises: journal_0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "journal_0009"
down_revision: str | Sequence[str] | None = "journal_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "journal.goal_stats(uuid, timestamptz, timestamptz, text)"


def upgrade() -> None:
    op.execute(f"ALTER FUNCTION {SIGNATURE} RESET search_path")


def downgrade() -> None:
    op.execute(f"ALTER FUNCTION {SIGNATURE} SET search_path = pg_catalog, pg_temp")
