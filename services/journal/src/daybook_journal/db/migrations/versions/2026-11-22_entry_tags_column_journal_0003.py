"""``journal_entries.tags``: each entry's tag list, denormalised for the hot list read.

The list used to fold every entry's tags in with a correlated subquery over
``journal_entry_tags`` + ``tags`` (about half of the statement's cost).  The column holds
exactly what that subquery gave — a jsonb array of ``{id, name, color}`` ordered by
``lower(name), id`` — and the app keeps it in the same transaction as every write that
changes an entry's links or a linked tag (``daybook_journal.db.queries.tag_list_of``).
The link table stays: tag filters and tag deletion use it.

Safe on a live table: the column is added with a constant default (no rewrite, a brief
lock), then entries that have links are backfilled in batches of :data:`BATCH`, each its
own transaction (a ``DO`` loop that commits per batch, run outside the migration's
transaction).  A batch locks its entries before it reads their links, so an entry changed
by the app meanwhile gets the links that change committed, never an older set.  Running it
again gives the same result.  Deploy note: the app version that maintains the column must
be the one serving once this has run (``daybook-journal migrate`` runs before ``serve``).

Revision ID: journal_0003
Revises: journal_0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "journal_0003"
down_revision: str | Sequence[str] | None = "journal_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"
BATCH = 5000

#: The subquery the list used before this column (now ``tag_list_of``), for entry ``e``.
TAG_LIST = """
    SELECT coalesce(
        jsonb_agg(
            jsonb_build_object('id', t.id, 'name', t.name, 'color', t.color)
            ORDER BY lower(t.name), t.id
        ),
        '[]'::jsonb
    )
    FROM journal.journal_entry_tags AS l JOIN journal.tags AS t ON t.id = l.tag_id
    WHERE l.entry_id = e.id
"""

# Walks the linked entries in id order (the links' primary key), BATCH at a time; the
# maintenance bypass is LOCAL, so it is set again in each batch's transaction.
BACKFILL = f"""
DO $backfill$
DECLARE
    last_id uuid := '00000000-0000-0000-0000-000000000000';
    batch uuid[];
BEGIN
    LOOP
        PERFORM set_config('app.rls_bypass', 'on', true);
        SELECT array_agg(entry_id ORDER BY entry_id) INTO batch
        FROM (
            SELECT DISTINCT entry_id FROM journal.journal_entry_tags
            WHERE entry_id > last_id ORDER BY entry_id LIMIT {BATCH}
        ) AS next_entries;
        EXIT WHEN batch IS NULL;
        PERFORM 1 FROM journal.journal_entries WHERE id = ANY (batch) FOR UPDATE;
        UPDATE journal.journal_entries AS e SET tags = ({TAG_LIST}) WHERE e.id = ANY (batch);
        last_id := batch[cardinality(batch)];
        COMMIT;
    END LOOP;
END
$backfill$
"""


def upgrade() -> None:
    # A constant default: no table rewrite, only a brief ACCESS EXCLUSIVE lock (lock_timeout 5s).
    op.execute(
        f"ALTER TABLE {SCHEMA}.journal_entries ADD COLUMN IF NOT EXISTS tags jsonb NOT NULL DEFAULT '[]'::jsonb"
    )
    with op.get_context().autocommit_block():
        op.execute(BACKFILL)


def downgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.journal_entries DROP COLUMN IF EXISTS tags")
