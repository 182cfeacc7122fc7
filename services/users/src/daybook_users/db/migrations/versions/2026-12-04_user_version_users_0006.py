"""``users.version``: the account's version counter, its ETag (``daybook_common.http``: one
scheme for every service; it was a hash of ``updated_at``). Every change of the account bumps
it. Added with a constant default: no table rewrite, a brief lock.

Revision ID: users_0006
Revises: users_0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "users_0006"
down_revision: str | Sequence[str] | None = "users_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '2s'")
    op.execute("ALTER TABLE users.users ADD COLUMN IF NOT EXISTS version bigint DEFAULT 1 NOT NULL")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '2s'")
    # squawk: the column exists only for the ETag this revision introduced.
    op.execute("-- squawk-ignore ban-drop-column\nALTER TABLE users.users DROP COLUMN IF EXISTS version")
