"""Row-level security forced on the users schema's per-user tables, as journal and reminders do.

``refresh_tokens``, ``account_tokens``, ``security_events``, ``mail_outbox`` and
``idempotency_keys`` get one ``*_owner`` policy: a row is visible and writable when its
``user_id`` is the transaction's ``app.user_id`` (bound per request for a signed-in caller), or
when ``app.rls_bypass`` is ``on`` — set LOCAL only by :func:`daybook_common.rls.trusted_lookup`
(login by email, refresh/logout by token hash, register, password reset and email verification
by token hash, admin actions), the mail worker and retention. Rows without a user (a register's
claimed idempotency key before the account exists) are seen only under the bypass.

Catalog changes only (no rewrite, no scan); each ``ALTER TABLE`` takes a brief ACCESS EXCLUSIVE
lock, bounded by ``lock_timeout``.

Revision ID: users_0010
Revises: users_0009
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "users_0010"
down_revision: str | Sequence[str] | None = "users_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "users"
TABLES = ("refresh_tokens", "account_tokens", "security_events", "mail_outbox", "idempotency_keys")
RLS_RULE = (
    "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid"
    " OR current_setting('app.rls_bypass', true) = 'on'"
)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for table in TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {SCHEMA}.{table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_owner ON {SCHEMA}.{table} USING ({RLS_RULE}) WITH CHECK ({RLS_RULE})"
        )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for table in reversed(TABLES):
        op.execute(f"DROP POLICY IF EXISTS {table}_owner ON {SCHEMA}.{table}")
        op.execute(f"ALTER TABLE {SCHEMA}.{table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {SCHEMA}.{table} DISABLE ROW LEVEL SECURITY")
