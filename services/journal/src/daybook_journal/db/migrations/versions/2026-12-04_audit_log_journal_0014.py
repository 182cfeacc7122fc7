"""``audit_log`` and the audit triggers of every user-owned journal table (``daybook_common.audit``).

A new, empty append-only table (its indexes built in the transaction), one generated plpgsql
function per audited table and an ``AFTER INSERT OR UPDATE OR DELETE`` row trigger on it
(``CREATE TRIGGER`` takes a brief SHARE ROW EXCLUSIVE lock per table, bounded by ``lock_timeout``).
Not audited: ``idempotency_keys`` (a cache of responses to creates that are audited themselves),
``entry_revisions`` (copies an entry's audited change saves), ``denied_users``, ``inbox``,
``outbox`` and ``audit_log`` itself.

Revision ID: journal_0014
Revises: journal_0013
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

from daybook_common.audit import drop_trigger_sql, table_sql, trigger_sql

revision: str = "journal_0014"
down_revision: str | Sequence[str] | None = "journal_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"
_GOAL_TREE = ("id", "user_id", "root_id")
#: Every audited table: (its columns now, the column naming the row).  The generated ``search``
#: columns of journal_entries and tasks (dropped by journal_0019) were never compared; they are
#: left out here since ``daybook_common.audit.NOT_LISTED`` no longer names them, so this revision
#: still makes the functions it made.
AUDITED: dict[str, tuple[tuple[str, ...], str]] = {
    "journal_entries": (
        ("id", "user_id", "title", "content", "entry_date", "ciphertext", "wrapped_key", "iv", "wrap_iv")
        + ("secret_tag_id", "tags", "deleted_at", "version", "created_at", "updated_at"),
        "id",
    ),
    "tags": (("id", "user_id", "name", "color", "version", "created_at", "updated_at"), "id"),
    "tasks": (
        ("id", "user_id", "title", "description", "status", "priority", "priority_rank", "due_at")
        + ("completed_at", "goal_id", "deleted_at", "version", "created_at", "updated_at"),
        "id",
    ),
    "journal_entry_tags": (("entry_id", "tag_id", "user_id"), "entry_id"),
    "task_tags": (("task_id", "tag_id", "user_id"), "task_id"),
    "goals": (
        (*_GOAL_TREE, "parent_id", "depth", "title", "description", "deadline", "status", "completed_at")
        + ("sort_order", "deleted_at", "deletion_id", "version", "created_at", "updated_at"),
        "id",
    ),
    "activity_groups": ((*_GOAL_TREE, "goal_id", "name", "sort_order", "version", "created_at", "updated_at"), "id"),
    "activities": (
        (*_GOAL_TREE, "goal_id", "group_id", "name", "description", "deleted_at", "version")
        + ("created_at", "updated_at"),
        "id",
    ),
    "metric_definitions": (
        (*_GOAL_TREE, "unit", "activity_id", "name", "sort_order", "deleted_at", "version")
        + ("created_at", "updated_at"),
        "id",
    ),
    "split_definitions": (
        (*_GOAL_TREE, "activity_id", "name", "sort_order", "deleted_at", "version", "created_at", "updated_at"),
        "id",
    ),
    "session_templates": ((*_GOAL_TREE, "goal_id", "name", "version", "created_at", "updated_at"), "id"),
    "template_activities": (("template_id", "position", "activity_id", "root_id", "user_id"), "template_id"),
    "sessions": (
        (*_GOAL_TREE, "goal_id", "template_id", "title", "notes", "started_at", "ended_at", "deleted_at")
        + ("version", "created_at", "updated_at"),
        "id",
    ),
    "session_goals": (("session_id", "goal_id", "user_id"), "session_id"),
    "activity_instances": (
        (*_GOAL_TREE, "session_id", "activity_id", "time_start", "time_stop", "duration_seconds", "sort_order")
        + ("version", "created_at", "updated_at"),
        "id",
    ),
    "metric_values": (
        (*_GOAL_TREE, "instance_id", "metric_id", "split_id", "value", "created_at", "updated_at"),
        "id",
    ),
}


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for statement in table_sql(SCHEMA):
        op.execute(statement)
    for table, (columns, key) in AUDITED.items():
        for statement in trigger_sql(SCHEMA, table, columns, key):
            op.execute(statement)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for table in AUDITED:
        for statement in drop_trigger_sql(SCHEMA, table):
            op.execute(statement)
    op.execute(f"DROP TABLE {SCHEMA}.audit_log")
