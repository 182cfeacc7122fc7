"""``denied_users`` and the write guard: a deleted account's late writes are refused.

``denied_users`` holds the ids of accounts whose tokens this service refuses (written by
the ``users.user.deleted`` consumer before it erases; see :mod:`daybook_common.denylist`).
``refuse_denied_user()`` runs once per INSERT statement on every table a request creates
rows in (entry and task tag links belong to an entry or task, and go with it): under a shared
advisory lock it fails the statement with SQLSTATE ``DB401`` if any inserted row belongs
to a denied user.  Recording a deny takes that lock exclusively, so a write in flight is
either committed before (and erased after) or refused.

Safe on live tables: a new empty table, a new function, and ``CREATE TRIGGER`` (a brief
SHARE ROW EXCLUSIVE lock per table, bounded by ``lock_timeout``).

Revision ID: journal_0005
Revises: journal_0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "journal_0005"
down_revision: str | Sequence[str] | None = "journal_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"
GUARDED = (
    "journal_entries",
    "tags",
    "tasks",
    "idempotency_keys",
    # journal_0004's goals-and-practice tables: every one carries user_id
    "goals",
    "activity_groups",
    "activities",
    "metric_definitions",
    "split_definitions",
    "session_templates",
    "template_activities",
    "sessions",
    "session_goals",
    "activity_instances",
    "metric_values",
)

GUARD = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.refuse_denied_user() RETURNS trigger
LANGUAGE plpgsql AS $guard$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(3553, hashtext('{SCHEMA}.denied_users'));
    IF EXISTS (
        SELECT 1 FROM inserted AS i JOIN {SCHEMA}.denied_users AS d ON d.user_id = i.user_id
    ) THEN
        RAISE EXCEPTION 'rows of a denied user' USING ERRCODE = 'DB401';
    END IF;
    RETURN NULL;
END
$guard$
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("SET LOCAL statement_timeout = '60s'")
    op.create_table(
        "denied_users",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("denied_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("reason IN ('deleted', 'deactivated')", name=op.f("ck_denied_users_reason_known")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_denied_users")),
        schema=SCHEMA,
    )
    op.execute(GUARD)
    for table in GUARDED:
        op.execute(
            f"CREATE TRIGGER {table}_refuse_denied_user AFTER INSERT ON {SCHEMA}.{table} "
            "REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {SCHEMA}.refuse_denied_user()"
        )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for table in GUARDED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_denied_user ON {SCHEMA}.{table}")
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.refuse_denied_user()")
    op.drop_table("denied_users", schema=SCHEMA)
