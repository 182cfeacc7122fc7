"""Trash retention: hard-delete entries, tasks, goal deletions, activities and sessions
soft-deleted more than N days ago, and entry revisions replaced more than
``JOURNAL_REVISION_RETENTION_DAYS`` (90) ago, and audit rows older than
``JOURNAL_AUDIT_RETENTION_DAYS`` (400).

Runs inside the app every ``JOURNAL_TRASH_PURGE_INTERVAL_SECONDS`` (default hourly) through
:class:`daybook_common.retention.RetentionRunner` (one runner at a time across replicas and
workers), or from the CLI (``daybook-journal purge-trash``).  It works across users, so its
batches set the narrow ``app.rls_bypass`` (LOCAL to each short transaction); it also forgets
idempotency keys past their TTL and handled inbox ids.  Running it twice at once is harmless.
"""

from __future__ import annotations

import datetime
import logging

from daybook_common.audit import audit_purge
from daybook_common.batch_delete import delete_batch_sql, refresh_stale_statistics_sql
from daybook_common.retention import Purge, RetentionRunner, denied_sessions_purge, inbox_purge, older_than
from daybook_journal import SCHEMA
from daybook_journal.db.batches import BatchTarget, run_batch
from daybook_journal.goals.subtrees import subtrees_cte
from daybook_journal.settings import JournalSettings

logger = logging.getLogger("daybook.journal.retention")
BYPASS = [("app.rls_bypass", "on")]

# Goal deletions: the expired deletions' top goals go (ON DELETE CASCADE takes their subtrees
# and the practice data hanging from them); tasks naming any goal of those subtrees keep the
# task and lose the goal_id, in the same statement. As in :mod:`daybook_common.batch_delete`,
# the tops are deleted by row address and the tasks matched against an array of the subtrees'
# ids: ``IN (SELECT … FROM tops)`` could be planned as a nested loop rescanning the pick for
# every goal (or task) when the statistics said the table was empty. So could the walk down the
# subtrees (``goals JOIN doomed``: 72 million rows handled for 3,000 deletions): it is the goals
# service's walk by the parent_id index (:mod:`daybook_journal.goals.subtrees`);
# test_goal_purge_plan.py.
_GOAL_TRASH = f"""
WITH RECURSIVE tops AS (
    SELECT id, ctid FROM {SCHEMA}.goals WHERE deletion_id = id AND deleted_at < $1 LIMIT $2
), {subtrees_cte("doomed", "SELECT id FROM tops")}, detached AS (
    UPDATE {SCHEMA}.tasks SET goal_id = NULL WHERE goal_id = ANY(ARRAY(SELECT id FROM doomed)) RETURNING 1
)
DELETE FROM {SCHEMA}.goals WHERE ctid = ANY(ARRAY(SELECT ctid FROM tops))
"""
# An activity in the trash goes once no activity instance records it (its history stays).
_ACTIVITY_TRASH = delete_batch_sql(
    f"{SCHEMA}.activities",
    f"deleted_at < $1 AND NOT EXISTS "
    f"(SELECT 1 FROM {SCHEMA}.activity_instances AS i WHERE i.activity_id = activities.id)",
)


def purges(
    retention_days: float,
    idempotency_ttl_hours: float,
    revision_retention_days: float = 90,
    audit_retention_days: float = 400,
) -> list[Purge]:
    """What the journal forgets, and after how long."""
    trash = datetime.timedelta(days=retention_days)
    return [
        Purge(
            "entry_revisions",
            older_than(SCHEMA, "entry_revisions", "replaced_at"),
            datetime.timedelta(days=revision_retention_days),
        ),
        Purge("journal_entries", older_than(SCHEMA, "journal_entries", "deleted_at"), trash),
        Purge("tasks", older_than(SCHEMA, "tasks", "deleted_at"), trash),
        Purge("sessions", older_than(SCHEMA, "sessions", "deleted_at"), trash),
        Purge("goals", _GOAL_TRASH, trash),
        Purge("activities", _ACTIVITY_TRASH, trash),
        Purge(
            "idempotency_keys",
            older_than(SCHEMA, "idempotency_keys", "created_at"),
            datetime.timedelta(hours=idempotency_ttl_hours),
        ),
        inbox_purge(SCHEMA),
        denied_sessions_purge(SCHEMA),
        audit_purge(SCHEMA, datetime.timedelta(days=audit_retention_days)),
    ]


async def _purge_batches(target: BatchTarget, sql: str, cutoff: datetime.datetime, batch: int) -> int:
    total = 0
    while True:
        deleted = await run_batch(target, BYPASS, sql, cutoff, batch)
        total += deleted
        if deleted == 0:  # not "< batch": a row updated meanwhile has a new address
            return total


async def purge_trash(
    target: BatchTarget,
    retention_days: int,
    idempotency_ttl_hours: int = 24,
    batch_size: int = 5000,
    now: datetime.datetime | None = None,
) -> dict[str, int]:
    """Delete trash older than ``retention_days`` and expired idempotency keys (on any handle,
    without the runner's lock: the CLI); rows per table."""
    now = now or datetime.datetime.now(datetime.UTC)
    await run_batch(target, [], refresh_stale_statistics_sql(SCHEMA))  # as run_purges does
    counts = {
        purge.name: await _purge_batches(target, purge.sql, now - purge.keep, batch_size)
        for purge in purges(retention_days, idempotency_ttl_hours)
    }
    logger.info("purged trash", extra={"deleted": counts, "retention_days": retention_days})
    return counts


def retention_runner(dsn: str, settings: JournalSettings) -> RetentionRunner:
    """The in-app job: :func:`purges` every ``interval_seconds`` under the schema's lock."""
    return RetentionRunner(
        dsn,
        SCHEMA,
        purges(
            settings.trash_retention_days,
            settings.idempotency_ttl_hours,
            settings.revision_retention_days,
            settings.audit_retention_days,
        ),
        settings.trash_purge_interval_seconds,
    )
