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
from daybook_common.batch_delete import delete_batch_sql, refresh_stale_statistics_sql
from daybook_journal import SCHEMA
from daybook_journal.db.batches import BatchTarget, run_batch

logger = logging.getLogger("daybook.journal.erasure")

# Links go with their entry/task (ON DELETE CASCADE), so each batch stays bounded by
# batch_size x (1 + tags per item).  Tags go after nothing links to them any more.
# Entries and tasks are walked as live rows, then trashed rows: each part has its own
# partial (user_id, …) index.
_LIVE, _TRASHED = "deleted_at IS NULL", "deleted_at IS NOT NULL"
# The goals-and-practice tables go leaves first (values before instances before sessions …,
# tasks before the goals they name, goals deepest first), so no batch cascades further.
_PARTS = (
    ("journal_entries", _LIVE, ""),
    ("journal_entries", _TRASHED, ""),
    ("tasks", _LIVE, ""),
    ("tasks", _TRASHED, ""),
    ("tags", "", ""),
    ("idempotency_keys", "", ""),
    ("metric_values", "", ""),
    ("activity_instances", "", ""),
    ("session_goals", "", ""),
    ("sessions", "", ""),
    ("template_activities", "", ""),
    ("session_templates", "", ""),
    ("metric_definitions", "", ""),
    ("split_definitions", "", ""),
    ("activities", "", ""),
    ("activity_groups", "", ""),
    ("goals", "", "depth DESC"),
)

#: The tables holding foreign keys analysed first when their statistics are stale
#: (:func:`daybook_common.batch_delete.refresh_stale_statistics_sql`): with
#: ``journal_entry_tags`` analysed "empty", each entry's ON DELETE CASCADE scanned all of the
#: user's links (the (tag_id, user_id) index for ``user_id = $2``), quadratic (bench case 6).
REFRESH_STALE_STATISTICS = refresh_stale_statistics_sql(SCHEMA)


def batch_sql(table: str, part: str = "", order: str = "") -> str:
    """Delete at most ``$2`` of user ``$1``'s rows of ``table`` (``part``: a filter, ``order``: the
    pick's order), picked once and deleted by row address (:mod:`daybook_common.batch_delete`;
    the former ``WHERE id IN (SELECT … LIMIT $2)`` made bench case 6 quadratic: over 120 s for
    one 100,000-entry account instead of ~2 s)."""
    where = f"user_id = $1 AND {part}" if part else "user_id = $1"
    return delete_batch_sql(f"{SCHEMA}.{table}", where, order)


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
    for table, part, order in _PARTS:
        sql = batch_sql(table, part, order)
        while deleted := await run_batch(conn_or_session, bind, sql, uid, batch_size):
            counts[table] = counts.get(table, 0) + deleted
        counts.setdefault(table, 0)
    counts["audit_log"] = 0
    while deleted := await run_batch(conn_or_session, [], purge_user_sql(SCHEMA), uid, batch_size):
        counts["audit_log"] += deleted
    logger.info("erased user data", extra={"user_id": str(uid), "deleted": counts})
    return counts
