"""``denied_sessions``: sessions their owner revoked (``users.session.revoked``), whose access
tokens this service refuses until they expire (see :mod:`daybook_common.denylist`).

A new, empty table with no foreign key and no ``user_id``: nothing else is locked.

Revision ID: journal_0012
Revises: journal_0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "journal_0012"
down_revision: str | Sequence[str] | None = "journal_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"


def upgrade() -> None:
    op.create_table(
        "denied_sessions",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("denied_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_denied_sessions"),
        schema=SCHEMA,
    )
    op.create_index("ix_denied_sessions_expires_at", "denied_sessions", ["expires_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("denied_sessions", schema=SCHEMA)
