"""``notification_commits``: the order in which notifications became visible, for the live streams.

Each scheduler transaction that records notifications ends by inserting one row here under a
transaction-level advisory lock (``daybook_reminders.commit_order``): ``seq`` grows in commit
order, and ``xact`` is the transaction's id, which its notifications carry in their new ``xact``
column (a server default). A stream's cursor is ``(seq, notification id)``.

Live-table safe: the new table is empty; ``notifications.xact`` is added with a constant default
(a catalog-only change: rows written before it read ``0``), and only then gets the transaction-id
default for new rows; the row ``(seq 0, xact 0)`` stands for every earlier notification. The
``(user_id, xact, id)`` index is built ``CONCURRENTLY`` outside the transaction.

Revision ID: reminders_0014
Revises: reminders_0013
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "reminders_0014"
down_revision: str | Sequence[str] | None = "reminders_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "reminders"
XACT_DEFAULT = "(pg_current_xact_id())::text::bigint"
# squawk reads the whole history as one file and, after reminders_0006's CONCURRENTLY, takes
# every statement for one outside a transaction; these run inside the revision's (all or none).
ROBUST = "-- squawk-ignore prefer-robust-stmts\n"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(
        f"{ROBUST}CREATE TABLE IF NOT EXISTS {SCHEMA}.notification_commits ("
        " seq bigint GENERATED ALWAYS AS IDENTITY,"
        " xact bigint NOT NULL,"
        " committed_at timestamptz NOT NULL DEFAULT now(),"
        " CONSTRAINT pk_notification_commits PRIMARY KEY (seq),"
        " CONSTRAINT uq_notification_commits_xact UNIQUE (xact))"
    )
    op.execute(
        f"{ROBUST}CREATE INDEX IF NOT EXISTS ix_notification_commits_committed_at "
        f"ON {SCHEMA}.notification_commits (committed_at)"
    )
    op.execute(
        f"{ROBUST}INSERT INTO {SCHEMA}.notification_commits (seq, xact) OVERRIDING SYSTEM VALUE VALUES (0, 0)"
    )
    op.execute(
        f"{ROBUST}ALTER TABLE {SCHEMA}.notifications ADD COLUMN IF NOT EXISTS xact bigint NOT NULL DEFAULT 0"
    )
    op.execute(f"{ROBUST}ALTER TABLE {SCHEMA}.notifications ALTER COLUMN xact SET DEFAULT {XACT_DEFAULT}")
    with op.get_context().autocommit_block():
        op.execute("SET lock_timeout = '5s'")
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_notifications_user_id_xact_id "
            f"ON {SCHEMA}.notifications (user_id, xact, id)"
        )
        op.execute("RESET lock_timeout")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("SET lock_timeout = '5s'")
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SCHEMA}.ix_notifications_user_id_xact_id")
        op.execute("RESET lock_timeout")
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(f"{ROBUST}ALTER TABLE {SCHEMA}.notifications DROP COLUMN IF EXISTS xact")
    op.execute(f"{ROBUST}DROP TABLE IF EXISTS {SCHEMA}.notification_commits")
