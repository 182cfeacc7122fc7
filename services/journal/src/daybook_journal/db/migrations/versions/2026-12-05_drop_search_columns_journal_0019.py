"""Drop the generated ``search`` columns of ``journal_entries`` and ``tasks``.

``journal_0006`` moved search to the ``search_vector(…)`` GIN expression indexes and kept the
STORED generated ``search`` columns of ``journal_0002`` only while the release before it rolled
out.  Nothing reads them since: the previous release names its columns in every statement (no
``SELECT *``, no ORM entity loads of these tables), so it never sees them go.  Every insert and
every update of the title or body still computed a ``to_tsvector`` for them and stored it.

Safe on a live table: ``DROP COLUMN`` only marks the column dropped in the catalogue (no
rewrite, no scan; the old values stay in the rows until they are next written, and ``VACUUM
FULL`` is not needed). It takes an ACCESS EXCLUSIVE lock for that moment, bounded by
``lock_timeout``. Under the same lock each table's audit function and trigger are issued again with
the column list of now (``daybook_common.audit``; the function's text is the same as before,
since ``search`` was never compared, but the deploy tests check each one against the table's
columns).

The downgrade adds the columns back as they were generated (``to_tsvector('simple', …)``, at
the end of the column list now) and **rewrites both tables** to compute them: it holds an ACCESS
EXCLUSIVE lock on each table for its whole rewrite, which blocks reads and writes of it for as
long as that takes (seconds per million rows): run it in a quiet moment.

Revision ID: journal_0019
Revises: journal_0018
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

from daybook_common.audit import trigger_sql

revision: str = "journal_0019"
down_revision: str | Sequence[str] | None = "journal_0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"

# Spelled out, not imported, so the revision stays what it is when the models move on.
#: table: (the column searched with ``title``, the audited columns without ``search``)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "journal_entries": (
        "content",
        ("id", "user_id", "title", "content", "entry_date", "ciphertext", "wrapped_key", "iv", "wrap_iv")
        + ("secret_tag_id", "tags", "deleted_at", "version", "created_at", "updated_at"),
    ),
    "tasks": (
        "description",
        ("id", "user_id", "title", "description", "status", "priority", "priority_rank", "due_at")
        + ("completed_at", "goal_id", "deleted_at", "version", "created_at", "updated_at"),
    ),
}

# squawk: nothing reads the columns (see above), and the drop is catalogue-only. After
# journal_0006's CONCURRENTLY squawk takes every statement for one outside a transaction;
# these run inside the revision's (all or none).
DROP = "-- squawk-ignore ban-drop-column, prefer-robust-stmts\n"


def _audit_triggers(table: str, columns: tuple[str, ...]) -> None:
    for statement in trigger_sql(SCHEMA, table, columns):
        op.execute(statement)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '2s'")
    for table, (_body, columns) in TABLES.items():
        op.execute(f"{DROP}ALTER TABLE {SCHEMA}.{table} DROP COLUMN search")
        _audit_triggers(table, columns)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '2s'")
    for table, (body, columns) in TABLES.items():
        op.execute(
            f"ALTER TABLE {SCHEMA}.{table} ADD COLUMN search tsvector GENERATED ALWAYS AS "
            f"(to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce({body}, ''))) STORED"
        )
        # ``search`` is generated: bookkeeping, never compared (the function journal_0014 made).
        _audit_triggers(table, columns)
