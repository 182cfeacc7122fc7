"""``entry_revisions``: an entry's earlier versions, saved by the change that replaced them.

A new table (empty, so its index is built in the transaction), with the journal's two walls:
row-level security forced (the ``*_owner`` policy on ``app.user_id``, or the narrow
``app.rls_bypass`` of retention) and the ``refuse_denied_user`` guard.  Revisions go with their
entry (``ON DELETE CASCADE`` on ``(entry_id, user_id)``): a purge or an erasure of the entry
takes them.

Revision ID: journal_0013
Revises: journal_0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "journal_0013"
down_revision: str | Sequence[str] | None = "journal_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"
TABLE = "entry_revisions"
RLS_RULE = (
    "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid"
    " OR current_setting('app.rls_bypass', true) = 'on'"
)


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        TABLE,
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("entry_date", _ts(), nullable=False),
        sa.Column("ciphertext", postgresql.BYTEA(), nullable=True),
        sa.Column("wrapped_key", postgresql.BYTEA(), nullable=True),
        sa.Column("iv", postgresql.BYTEA(), nullable=True),
        sa.Column("wrap_iv", postgresql.BYTEA(), nullable=True),
        sa.Column("secret_tag_id", postgresql.BYTEA(), nullable=True),
        sa.Column("tags", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("saved_at", _ts(), nullable=False),
        sa.Column("replaced_at", _ts(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id", "user_id"],
            [f"{SCHEMA}.journal_entries.id", f"{SCHEMA}.journal_entries.user_id"],
            name="fk_entry_revisions_entry_id_journal_entries",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", "revision", name=op.f("pk_entry_revisions")),
        schema=SCHEMA,
    )
    op.create_index("ix_entry_revisions_replaced_at", TABLE, ["replaced_at"], unique=False, schema=SCHEMA)
    op.execute(f"ALTER TABLE {SCHEMA}.{TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {SCHEMA}.{TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {TABLE}_owner ON {SCHEMA}.{TABLE} USING ({RLS_RULE}) WITH CHECK ({RLS_RULE})")
    op.execute(
        f"CREATE TRIGGER {TABLE}_refuse_denied_user AFTER INSERT ON {SCHEMA}.{TABLE} "
        "REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {SCHEMA}.refuse_denied_user()"
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_table(TABLE, schema=SCHEMA)
