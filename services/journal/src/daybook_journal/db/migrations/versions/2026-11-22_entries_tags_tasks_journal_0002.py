"""Journal entries, tags, tasks, their tag links, idempotency keys, the inbox; row-level security.

Every table is new here, so plain (transactional) CREATE INDEX is safe: nothing reads
or writes these tables until this migration commits.

Row-level security on every user-owned table, forced for the owner role too: a row is
visible and writable only when ``app.user_id`` (``SET LOCAL`` per transaction from the
verified token) is its ``user_id``.  Maintenance code (trash retention, the bulk seed)
sets ``app.rls_bypass = 'on'`` LOCAL to its own transaction; nothing on the request path
ever sets it.

Full-text search uses the ``simple`` configuration, baked into the generated ``search``
columns.  To use another language, add a migration that changes the generation
expression (PostgreSQL ≥ 17: ``ALTER TABLE … ALTER COLUMN search SET EXPRESSION AS
(to_tsvector('english'::regconfig, …))``, which rewrites the table) and set
``JOURNAL_SEARCH_CONFIG`` to the same name.

Revision ID: journal_0002
Revises: journal_0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "journal_0002"
down_revision: str | Sequence[str] | None = "journal_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"
USER_OWNED = ("journal_entries", "tags", "journal_entry_tags", "tasks", "task_tags", "idempotency_keys")
RLS_RULE = (
    "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid"
    " OR current_setting('app.rls_bypass', true) = 'on'"
)


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _link_table(name: str, owner_table: str, owner_column: str) -> None:
    op.create_table(
        name,
        sa.Column(owner_column, sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            [owner_column, "user_id"],
            [f"{SCHEMA}.{owner_table}.id", f"{SCHEMA}.{owner_table}.user_id"],
            name=f"fk_{name}_{owner_column}_{owner_table}",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id", "user_id"],
            [f"{SCHEMA}.tags.id", f"{SCHEMA}.tags.user_id"],
            name=f"fk_{name}_tag_id_tags",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(owner_column, "tag_id", name=f"pk_{name}"),
        schema=SCHEMA,
    )
    op.create_index(f"ix_{name}_tag_id", name, ["tag_id", "user_id"], schema=SCHEMA)


def upgrade() -> None:
    op.execute("SET LOCAL statement_timeout = '60s'")
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("entry_date", _ts(), nullable=False),
        sa.Column("ciphertext", postgresql.BYTEA(), nullable=True),
        sa.Column("wrapped_key", postgresql.BYTEA(), nullable=True),
        sa.Column("iv", postgresql.BYTEA(), nullable=True),
        sa.Column("wrap_iv", postgresql.BYTEA(), nullable=True),
        sa.Column("secret_tag_id", postgresql.BYTEA(), nullable=True),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(content, ''))",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.Column("deleted_at", _ts(), nullable=True),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.CheckConstraint("(content IS NULL) <> (ciphertext IS NULL)", name=op.f("ck_journal_entries_content_xor_ciphertext")),
        sa.CheckConstraint(
            "(ciphertext IS NULL) = (wrapped_key IS NULL) AND (ciphertext IS NULL) = (iv IS NULL) "
            "AND (ciphertext IS NULL) = (wrap_iv IS NULL) AND (secret_tag_id IS NULL OR ciphertext IS NOT NULL)",
            name=op.f("ck_journal_entries_encrypted_fields_together"),
        ),
        sa.CheckConstraint("char_length(title) <= 200", name=op.f("ck_journal_entries_title_length")),
        sa.CheckConstraint("char_length(content) <= 100000", name=op.f("ck_journal_entries_content_length")),
        sa.CheckConstraint("octet_length(ciphertext) <= 262144", name=op.f("ck_journal_entries_ciphertext_length")),
        sa.PrimaryKeyConstraint("id", name="pk_journal_entries"),
        sa.UniqueConstraint("id", "user_id", name="uq_journal_entries_id_user_id"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_journal_entries_user_id_entry_date_id",
        "journal_entries",
        ["user_id", sa.text("entry_date DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("deleted_at IS NULL"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_journal_entries_user_id_deleted_at_id",
        "journal_entries",
        ["user_id", sa.text("deleted_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_journal_entries_search", "journal_entries", ["search"], postgresql_using="gin", schema=SCHEMA
    )

    op.create_table(
        "tags",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("color", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.CheckConstraint("color ~ '^#[0-9a-fA-F]{6}$'", name=op.f("ck_tags_color_format")),
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 50", name=op.f("ck_tags_name_length")),
        sa.PrimaryKeyConstraint("id", name="pk_tags"),
        sa.UniqueConstraint("id", "user_id", name="uq_tags_id_user_id"),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_tags_user_id_lower_name", "tags", ["user_id", sa.text("lower(name)")], unique=True, schema=SCHEMA
    )

    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'todo'"), nullable=False),
        sa.Column("priority", sa.Text(), server_default=sa.text("'medium'"), nullable=False),
        sa.Column(
            "priority_rank",
            sa.BigInteger(),
            sa.Computed(
                "CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 ELSE NULL END", persisted=True
            ),
            nullable=True,
        ),
        sa.Column("due_at", _ts(), nullable=True),
        sa.Column("completed_at", _ts(), nullable=True),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(description, ''))",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.Column("deleted_at", _ts(), nullable=True),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.CheckConstraint("char_length(title) BETWEEN 1 AND 200", name=op.f("ck_tasks_title_length")),
        sa.CheckConstraint("char_length(description) <= 10000", name=op.f("ck_tasks_description_length")),
        sa.CheckConstraint("status IN ('todo', 'in_progress', 'done')", name=op.f("ck_tasks_status_values")),
        sa.CheckConstraint("priority IN ('low', 'medium', 'high')", name=op.f("ck_tasks_priority_values")),
        sa.CheckConstraint("(status = 'done') = (completed_at IS NOT NULL)", name=op.f("ck_tasks_completed_at_iff_done")),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.UniqueConstraint("id", "user_id", name="uq_tasks_id_user_id"),
        schema=SCHEMA,
    )
    live = sa.text("deleted_at IS NULL")
    op.create_index(
        "ix_tasks_user_id_created_at_id", "tasks", ["user_id", "created_at", "id"], postgresql_where=live, schema=SCHEMA
    )
    op.create_index(
        "ix_tasks_user_id_due_at_id", "tasks", ["user_id", "due_at", "id"], postgresql_where=live, schema=SCHEMA
    )
    op.create_index(
        "ix_tasks_user_id_priority_rank_id",
        "tasks",
        ["user_id", "priority_rank", "id"],
        postgresql_where=live,
        schema=SCHEMA,
    )
    op.create_index("ix_tasks_user_id_status", "tasks", ["user_id", "status"], postgresql_where=live, schema=SCHEMA)
    op.create_index(
        "ix_tasks_user_id_deleted_at_id",
        "tasks",
        ["user_id", sa.text("deleted_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
        schema=SCHEMA,
    )
    op.create_index("ix_tasks_search", "tasks", ["search"], postgresql_using="gin", schema=SCHEMA)

    _link_table("journal_entry_tags", "journal_entries", "entry_id")
    _link_table("task_tags", "tasks", "task_id")

    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("status_code", sa.BigInteger(), nullable=True),
        sa.Column("response_body", postgresql.BYTEA(), nullable=True),
        sa.Column("response_headers", postgresql.JSONB(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.CheckConstraint("char_length(key) BETWEEN 1 AND 255", name=op.f("ck_idempotency_keys_key_length")),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_idempotency_keys"),
        schema=SCHEMA,
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"], schema=SCHEMA)

    op.create_table(
        "inbox",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("processed_at", _ts(), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_inbox"),
        schema=SCHEMA,
    )

    for table in USER_OWNED:
        op.execute(f"ALTER TABLE {SCHEMA}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {SCHEMA}.{table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_owner ON {SCHEMA}.{table} USING ({RLS_RULE}) WITH CHECK ({RLS_RULE})"
        )


def downgrade() -> None:
    op.drop_table("inbox", schema=SCHEMA)
    op.drop_table("idempotency_keys", schema=SCHEMA)
    op.drop_table("task_tags", schema=SCHEMA)
    op.drop_table("journal_entry_tags", schema=SCHEMA)
    op.drop_table("tasks", schema=SCHEMA)
    op.drop_table("tags", schema=SCHEMA)
    op.drop_table("journal_entries", schema=SCHEMA)
