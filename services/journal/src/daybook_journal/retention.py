"""Trash retention: hard-delete entries, tasks, goal deletions, activities and sessions
soft-deleted more than N days ago.

Runs from the CLI (``daybook-journal purge-trash``, e.g. from cron) or inside the app
every ``JOURNAL_TRASH_PURGE_INTERVAL_SECONDS``.  It works across users, so its batches
set the narrow ``app.rls_bypass`` (LOCAL to each short transaction); it also forgets
idempotency keys past their TTL.  Running it twice at once is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import Callable
from typing import Any

from daybook_journal import SCHEMA
from daybook_journal.db.batches import BatchTarget, run_batch

logger = logging.getLogger("daybook.journal.retention")
BYPASS = [("app.rls_bypass", "on")]


async def _purge(
    target: BatchTarget, table: str, column: str, key: str, cutoff: datetime.datetime, batch: int
) -> int:
    sql = (
        f"DELETE FROM {SCHEMA}.{table} WHERE ({key}) IN "
        f"(SELECT {key} FROM {SCHEMA}.{table} WHERE {column} < $1 LIMIT $2)"
    )
    return await _purge_batches(target, sql, cutoff, batch)


# Goal deletions: the expired deletions' top goals go (ON DELETE CASCADE takes their subtrees
# and the practice data hanging from them); tasks naming any goal of those subtrees keep the
# task and lose the goal_id, in the same statement.
_GOAL_TRASH = f"""
WITH RECURSIVE tops AS (
    SELECT id FROM {SCHEMA}.goals WHERE deletion_id = id AND deleted_at < $1 LIMIT $2
), doomed AS (
    SELECT id FROM tops
    UNION ALL
    SELECT c.id FROM {SCHEMA}.goals AS c JOIN doomed AS d ON c.parent_id = d.id
), detached AS (
    UPDATE {SCHEMA}.tasks SET goal_id = NULL WHERE goal_id IN (SELECT id FROM doomed) RETURNING 1
)
DELETE FROM {SCHEMA}.goals WHERE id IN (SELECT id FROM tops)
"""
# An activity in the trash goes once no activity instance records it (its history stays).
_ACTIVITY_TRASH = f"""
DELETE FROM {SCHEMA}.activities WHERE id IN (
    SELECT a.id FROM {SCHEMA}.activities AS a
    WHERE a.deleted_at < $1
      AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.activity_instances AS i WHERE i.activity_id = a.id)
    LIMIT $2
)
"""


async def _purge_batches(target: BatchTarget, sql: str, cutoff: datetime.datetime, batch: int) -> int:
    total = 0
    while True:
        deleted = await run_batch(target, BYPASS, sql, cutoff, batch)
        total += deleted
        if deleted < batch:
            return total


async def purge_trash(
    target: BatchTarget,
    retention_days: int,
    idempotency_ttl_hours: int = 24,
    batch_size: int = 5000,
    now: datetime.datetime | None = None,
) -> dict[str, int]:
    """Delete trash older than ``retention_days`` and expired idempotency keys; rows per table."""
    now = now or datetime.datetime.now(datetime.UTC)
    cutoff = now - datetime.timedelta(days=retention_days)
    counts = {
        "journal_entries": await _purge(target, "journal_entries", "deleted_at", "id", cutoff, batch_size),
        "tasks": await _purge(target, "tasks", "deleted_at", "id", cutoff, batch_size),
        "sessions": await _purge(target, "sessions", "deleted_at", "id", cutoff, batch_size),
        "goals": await _purge_batches(target, _GOAL_TRASH, cutoff, batch_size),
        "activities": await _purge_batches(target, _ACTIVITY_TRASH, cutoff, batch_size),
        "idempotency_keys": await _purge(
            target,
            "idempotency_keys",
            "created_at",
            "user_id, key",
            now - datetime.timedelta(hours=idempotency_ttl_hours),
            batch_size,
        ),
    }
    logger.info("purged trash", extra={"deleted": counts, "cutoff": cutoff.isoformat()})
    return counts


_TASK_KEY = "journal_purge_task"


def purge_hooks(
    target: Callable[[], BatchTarget | None],
    interval_seconds: float,
    retention_days: int,
    idempotency_ttl_hours: int,
) -> tuple[Any, Any]:
    """App startup/shutdown hooks running :func:`purge_trash` on ``target()`` every ``interval_seconds``."""

    async def loop(app: Any) -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            handle = target()
            if handle is None:  # the read pool is closed (shutting down): nothing to purge with
                continue
            try:
                await purge_trash(handle, retention_days, idempotency_ttl_hours)
            except Exception:
                logger.exception("trash purge failed; will retry")

    async def start(app: Any) -> None:
        app.state[_TASK_KEY] = asyncio.create_task(loop(app), name="journal-trash-purge")

    async def stop(app: Any) -> None:
        task = app.state.get(_TASK_KEY)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return start, stop
