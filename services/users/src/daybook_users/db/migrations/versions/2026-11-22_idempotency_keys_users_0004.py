"""``idempotency_keys``: first responses of ``POST /auth/register`` sent with ``Idempotency-Key``.

A new, empty table: its indexes are built in the same transaction (nobody can see it yet). No
foreign key to ``users``, so nothing here locks that table.

Revision ID: users_0004
Revises: users_0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "users_0004"
down_revision: str | Sequence[str] | None = "users_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "users"


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("status_code", sa.BigInteger(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("response_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("char_length(key) BETWEEN 1 AND 255", name=op.f("ck_idempotency_keys_key_length")),
        sa.CheckConstraint(
            "octet_length(request_hash) = 32", name=op.f("ck_idempotency_keys_request_hash_length")
        ),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
        schema=SCHEMA,
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"], schema=SCHEMA)
    op.create_index("ix_idempotency_keys_user_id", "idempotency_keys", ["user_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("idempotency_keys", schema=SCHEMA)
