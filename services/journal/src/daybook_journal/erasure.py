"""Account erasure: hard-delete everything a user owns here, in bounded batches.

Wired to the ``users.user.deleted`` event.  Each batch is its own short transaction
bound to the erased user for row-level security (``app.user_id`` = that user, no
bypass), so a huge account never holds long locks or a long transaction, and a crash
half-way is finished by simply running it again (it is idempotent).
"""

from __future__ import annotations

import logging
import uuid

from daybook_common.audit import AUDIT_OFF, purge_user_sql
from daybook_journal import SCHEMA
from daybook_journal.db.batches import BatchTarget, run_batch

logger = logging.getLogger("daybook.journal.erasure")

# Links go with their entry/task (ON DELETE CASCADE), so each batch stays bounded by
# batch_size x (1 + tags per item).  Tags go after nothing links to them any more.
# Entries and tasks are walked as live rows, then trashed rows: each part has its own
# partial (user_id, …) index.
_LIVE, _TRASHED = " AND deleted_at IS NULL", " AND deleted_at IS NOT NULL"
# The goals-and-practice tables go leaves first (values before instances before sessions …,
# tasks before the goals they name, goals deepest first), so no batch cascades further.
_PARTS = (
    ("journal_entries", _LIVE),
    ("journal_entries", _TRASHED),
    ("tasks", _LIVE),
    ("tasks", _TRASHED),
    ("tags", ""),
    ("idempotency_keys", ""),
    ("metric_values", ""),
    ("activity_instances", ""),
    ("session_goals", ""),
    ("sessions", ""),
    ("template_activities", ""),
    ("session_templates", ""),
    ("metric_definitions", ""),
    ("split_definitions", ""),
    ("activities", ""),
    ("activity_groups", ""),
    ("goals", " ORDER BY depth DESC"),
)

#: ANALYZE the tables that hold foreign keys (the tag links, the goals-and-practice children …)
#: whose statistics are off by more than their analysed size (rows changed since the last
#: ANALYZE > max(rows then, 1,000)): autovacuum is behind, e.g. a table analysed empty, then
#: refilled. Every row an erasure deletes runs its foreign keys' ON DELETE queries on those
#: tables, planned with their statistics: with ``journal_entry_tags`` "empty", each entry's
#: cascade scanned all of the user's links (the (tag_id, user_id) index for ``user_id = $2``),
#: quadratic. Only these: the wide tables (entries, tasks, the audit log) take seconds to
#: analyse and are read by the batches below whatever their statistics say. Skipped (a few
#: µs) when the statistics are sound, as autovacuum keeps them; so is a table whose ANALYZE
#: would wait over 1 s for a lock (a manual VACUUM running).
REFRESH_STALE_STATISTICS = f"""
DO $refresh$
DECLARE stale text;
BEGIN
    PERFORM set_config('lock_timeout', '1s', true);
    FOR stale IN
        SELECT DISTINCT s.relname FROM pg_constraint AS f
        JOIN pg_stat_user_tables AS s ON s.relid = f.conrelid
        JOIN pg_class AS c ON c.oid = f.conrelid
        WHERE f.contype = 'f' AND s.schemaname = '{SCHEMA}'
          AND s.n_mod_since_analyze > greatest(c.reltuples, 1000)
    LOOP
        BEGIN
            EXECUTE format('ANALYZE {SCHEMA}.%I', stale);
        EXCEPTION WHEN lock_not_available THEN
            NULL;
        END;
    END LOOP;
END
$refresh$
"""


def batch_sql(table: str, part: str = "") -> str:
    """Delete at most ``$2`` of user ``$1``'s rows of ``table`` (``part``: a filter/order of the pick).

    The batch is picked once (``ARRAY(…)``: an InitPlan) and deleted by row address (a TID scan),
    so no plan can join the table with its own pick. The former ``WHERE id IN (SELECT … LIMIT $2)``
    was planned as a nested-loop semi join rescanning the pick for every row of the user whenever
    the statistics said the table was empty (analysed just after an erasure had emptied it, then
    refilled): ~100,000 x 5,000 rows per batch, over 120 s for one 100,000-entry account (bench
    case 6 after case 4) instead of ~2 s.
    """
    return (
        f"DELETE FROM {SCHEMA}.{table} WHERE ctid = ANY(ARRAY("
        f"SELECT ctid FROM {SCHEMA}.{table} WHERE user_id = $1{part} LIMIT $2))"
    )


async def erase_user(
    conn_or_session: BatchTarget, user_id: uuid.UUID | str, batch_size: int = 5000
) -> dict[str, int]:
    """Delete all of ``user_id``'s entries, tasks, tags, links, idempotency keys, goals and practice data,
    and their audit trail (bar an admin's actions on the account).

    ``conn_or_session``: an AsyncEngine, AsyncConnection, AsyncSession, or asyncpg
    Connection/Pool (see :mod:`daybook_journal.db.batches`).  Returns rows deleted per table.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    uid = uuid.UUID(str(user_id))
    # The erased rows leave no audit rows: the user's trail goes too (the last part).
    bind = [("app.user_id", str(uid)), *AUDIT_OFF]
    counts: dict[str, int] = {}
    await run_batch(conn_or_session, [], REFRESH_STALE_STATISTICS)
    # Until a batch finds nothing: a row updated meanwhile has a new address, so a batch may
    # delete fewer than it picked while rows are left.
    for table, part in _PARTS:
        sql = batch_sql(table, part)
        while deleted := await run_batch(conn_or_session, bind, sql, uid, batch_size):
            counts[table] = counts.get(table, 0) + deleted
        counts.setdefault(table, 0)
    counts["audit_log"] = 0
    while deleted := await run_batch(conn_or_session, [], purge_user_sql(SCHEMA), uid, batch_size):
        counts["audit_log"] += deleted
    logger.info("erased user data", extra={"user_id": str(uid), "deleted": counts})
    return counts
