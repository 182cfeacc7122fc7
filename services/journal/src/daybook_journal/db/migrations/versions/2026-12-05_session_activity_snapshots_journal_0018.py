"""Each session's activities as the API renders them, stored on the session (a cache).

``sessions.activities_json`` (nullable text) is the msgspec JSON encoding of the session's
``activities`` list (its activity instances by ``sort_order, id``, each with its metric values),
byte for byte what ``GET /goals/{root}/sessions`` shows, or NULL = unknown.  The sessions page
embeds it as is instead of aggregating ~15 instance and value rows per session and decoding and
re-encoding them in Python (bench case 8: the page's CPU).  The service writes it in the
transaction of every change it makes to a session's instances or values
(:mod:`daybook_journal.sessions.snapshots`); existing rows stay NULL until then or until
``daybook-journal backfill-session-snapshots``, and the page falls back to the aggregation for
NULL rows.

No write can leave a stale snapshot: statement-level ``AFTER INSERT/UPDATE/DELETE`` triggers
with transition tables on ``activity_instances`` and ``metric_values`` set the snapshot of every
session they touched to NULL (so a goal move's ``ON UPDATE CASCADE`` of ``root_id``, a purge's
cascade, any future code path), after which the service, still in its transaction, writes the
fresh one.  The functions set ``app.rls_bypass`` for their own UPDATE and restore it (a
cascade runs them as the tables' owner without ``app.user_id``).  The audit trigger of ``sessions`` is re-issued with the new column list; the column
is in ``daybook_common.audit.NOT_LISTED``, so writing the cache records no audit row.

Safe on a live table: ``ADD COLUMN`` without a default is a catalogue change (a brief ACCESS
EXCLUSIVE lock, bounded by ``lock_timeout``), ``CREATE TRIGGER`` a brief SHARE ROW EXCLUSIVE lock.

Revision ID: journal_0018
Revises: journal_0017
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

from daybook_common.audit import trigger_sql

revision: str = "journal_0018"
down_revision: str | Sequence[str] | None = "journal_0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"
COLUMN = "activities_json"
#: ``sessions``' columns before this revision (journal_0014's list), for its audit function.
SESSION_COLUMNS = (
    ("id", "user_id", "root_id", "goal_id", "template_id", "title", "notes", "started_at", "ended_at")
    + ("deleted_at", "version", "created_at", "updated_at")
)

#: The sessions whose instances (or whose instances' values) a statement changed: ``changed``
#: is the statement's transition table (the new rows, or the old ones).
_SESSIONS_OF = {
    "activity_instances": "SELECT session_id FROM {rows}",
    "metric_values": (
        f"SELECT i.session_id FROM {SCHEMA}.activity_instances AS i WHERE i.id IN (SELECT instance_id FROM {{rows}})"
    ),
}


def function_sql(table: str) -> str:
    """``forget_session_snapshots_<table>()``: NULL the snapshots of the sessions touched."""
    sessions_of = _SESSIONS_OF[table]
    return f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.forget_session_snapshots_{table}() RETURNS trigger
LANGUAGE plpgsql AS $forget$
DECLARE
    bypass text := current_setting('app.rls_bypass', true);
BEGIN
    -- A foreign key's cascade runs this as the tables' owner, under row-level security with no
    -- app.user_id: the sessions would be invisible.  Only the rows the statement touched are
    -- named, and only their cache is cleared; the setting is restored before returning.
    PERFORM set_config('app.rls_bypass', 'on', true);
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE {SCHEMA}.sessions SET {COLUMN} = NULL
        WHERE id IN ({sessions_of.format(rows="new_rows")}) AND {COLUMN} IS NOT NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE {SCHEMA}.sessions SET {COLUMN} = NULL
        WHERE id IN ({sessions_of.format(rows="old_rows")}) AND {COLUMN} IS NOT NULL;
    END IF;
    PERFORM set_config('app.rls_bypass', coalesce(bypass, ''), true);
    RETURN NULL;
END
$forget$
"""


#: (event, its transition tables): a trigger with transition tables has one event.
EVENTS = (
    ("insert", "INSERT", "NEW TABLE AS new_rows"),
    ("update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("delete", "DELETE", "OLD TABLE AS old_rows"),
)


def trigger_name(table: str, event: str) -> str:
    return f"{table}_forget_snapshots_{event}"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(f"ALTER TABLE {SCHEMA}.sessions ADD COLUMN {COLUMN} text")
    for statement in trigger_sql(SCHEMA, "sessions", (*SESSION_COLUMNS, COLUMN)):
        op.execute(statement)
    for table in _SESSIONS_OF:
        op.execute(function_sql(table))
        for event, verb, referencing in EVENTS:
            op.execute(
                f"CREATE TRIGGER {trigger_name(table, event)} AFTER {verb} ON {SCHEMA}.{table} "
                f"REFERENCING {referencing} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {SCHEMA}.forget_session_snapshots_{table}()"
            )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for table in _SESSIONS_OF:
        for event, _verb, _referencing in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger_name(table, event)} ON {SCHEMA}.{table}")
        op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.forget_session_snapshots_{table}()")
    op.execute(f"ALTER TABLE {SCHEMA}.sessions DROP COLUMN IF EXISTS {COLUMN}")
    for statement in trigger_sql(SCHEMA, "sessions", SESSION_COLUMNS):
        op.execute(statement)
