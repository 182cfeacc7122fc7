"""``audit_log`` and the audit triggers of the users tables that belong to an account.

A new, empty append-only table (its indexes built in the transaction), one generated plpgsql
function per audited table and an ``AFTER INSERT OR UPDATE OR DELETE`` row trigger on it
(``CREATE TRIGGER`` takes a brief SHARE ROW EXCLUSIVE lock per table, bounded by ``lock_timeout``).
``users`` is owned by its own ``id``; its ``hashed_password`` is compared, never copied (only the
column name is recorded).  Not audited: ``idempotency_keys`` (a cache of register responses),
``security_events`` (itself the account's record of its security events), ``mail_outbox`` (mail
queued by changes that are audited; not always of an account), ``login_throttles`` (counters
of no account), ``inbox``, ``outbox``, ``audit_log`` itself.

Revision ID: users_0008
Revises: users_0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

from daybook_common.audit import drop_trigger_sql, table_sql, trigger_sql

revision: str = "users_0008"
down_revision: str | Sequence[str] | None = "users_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "users"
#: Every audited table: (its columns now, the column naming the row, the owner's column).
AUDITED: dict[str, tuple[tuple[str, ...], str, str]] = {
    "users": (
        ("id", "email", "hashed_password", "full_name", "avatar_url", "google_id", "is_active", "is_superuser")
        + ("version", "email_verified_at", "deleted_at", "sa_orm_sentinel", "created_at", "updated_at"),
        "id",
        "id",
    ),
    "account_tokens": (
        ("id", "user_id", "purpose", "token_hash", "expires_at", "used_at", "sa_orm_sentinel")
        + ("created_at", "updated_at"),
        "id",
        "user_id",
    ),
    "refresh_tokens": (
        ("id", "user_id", "family_id", "parent_id", "token_hash", "expires_at", "used_at", "revoked_at")
        + ("user_agent", "ip_address", "sa_orm_sentinel", "created_at", "updated_at"),
        "id",
        "user_id",
    ),
}


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for statement in table_sql(SCHEMA):
        op.execute(statement)
    for table, (columns, key, owner) in AUDITED.items():
        for statement in trigger_sql(SCHEMA, table, columns, key, owner):
            op.execute(statement)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for table in AUDITED:
        for statement in drop_trigger_sql(SCHEMA, table):
            op.execute(statement)
    op.execute(f"DROP TABLE {SCHEMA}.audit_log")
