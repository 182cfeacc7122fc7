"""Accounts, refresh-token families, login throttling, outbox.

All tables are new in this revision, so their indexes are built inside the same transaction
(no CONCURRENTLY needed: nobody else can see the tables yet).

Revision ID: users_0002
Revises: users_0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "users_0002"
down_revision: str | Sequence[str] | None = "users_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "users"


def upgrade() -> None:
    # New, empty tables: nothing here is slow, but never let a migration run unbounded.
    op.execute("SET LOCAL statement_timeout = '60s'")
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("hashed_password", sa.Text(), nullable=True),
        sa.Column("full_name", sa.Text(), nullable=True),
        sa.Column("avatar_url", sa.Text(), nullable=True),
        sa.Column("google_id", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("is_superuser", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "avatar_url IS NULL OR (char_length(avatar_url) <= 2048 AND avatar_url ~ '^https?://')",
            name="ck_users_avatar_url_shape",
        ),
        sa.CheckConstraint(
            "char_length(email) BETWEEN 3 AND 320 AND position('@' in email) > 1", name="ck_users_email_shape"
        ),
        sa.CheckConstraint("deleted_at IS NULL OR NOT is_active", name="ck_users_deleted_is_inactive"),
        sa.CheckConstraint("email = lower(btrim(email))", name="ck_users_email_normalised"),
        sa.CheckConstraint(
            "full_name IS NULL OR char_length(full_name) <= 200", name="ck_users_full_name_length"
        ),
        sa.CheckConstraint(
            "hashed_password IS NOT NULL OR google_id IS NOT NULL", name="ck_users_has_credential"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("google_id", name="uq_users_google_id"),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_users_email_live",
        "users",
        ["email"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )

    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("ip_address", postgresql.INET(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("expires_at > created_at", name="ck_refresh_tokens_expires_after_created"),
        sa.CheckConstraint("octet_length(token_hash) = 32", name="ck_refresh_tokens_token_hash_length"),
        sa.CheckConstraint(
            "user_agent IS NULL OR char_length(user_agent) <= 512", name="ck_refresh_tokens_user_agent_length"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            [f"{SCHEMA}.refresh_tokens.id"],
            name="fk_refresh_tokens_parent_id_refresh_tokens",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], [f"{SCHEMA}.users.id"], name="fk_refresh_tokens_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_refresh_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_refresh_tokens_token_hash"),
        schema=SCHEMA,
    )
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"], schema=SCHEMA)
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"], schema=SCHEMA)
    op.create_index("ix_refresh_tokens_parent_id", "refresh_tokens", ["parent_id"], schema=SCHEMA)
    op.create_index("ix_refresh_tokens_expires_at", "refresh_tokens", ["expires_at"], schema=SCHEMA)

    op.create_table(
        "login_throttles",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key_digest", sa.LargeBinary(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IN ('email', 'ip')", name="ck_login_throttles_scope_known"),
        sa.CheckConstraint("failures >= 1", name="ck_login_throttles_failures_positive"),
        sa.CheckConstraint("octet_length(key_digest) = 32", name="ck_login_throttles_key_digest_length"),
        sa.PrimaryKeyConstraint("scope", "key_digest", name="pk_login_throttles"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_login_throttles_window_started_at", "login_throttles", ["window_started_at"], schema=SCHEMA
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        schema=SCHEMA,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_index(
        "ix_outbox_published_at",
        "outbox",
        ["published_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("outbox", schema=SCHEMA)
    op.drop_table("login_throttles", schema=SCHEMA)
    op.drop_table("refresh_tokens", schema=SCHEMA)
    op.drop_table("users", schema=SCHEMA)
