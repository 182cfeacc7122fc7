"""Retention that runs by default: one small runner each service hands its list of purges to.

Every ``interval_seconds`` (the first run after a random part of it, so replicas spread out)
the runner opens one connection of its own, takes a session-level PostgreSQL advisory lock
named after the schema and, only if it got it, runs each :class:`Purge` in bounded batches
(one short transaction each, with the narrow ``app.rls_bypass`` set LOCAL), then releases
the lock and writes one log line with the counts.  So across replicas and Granian workers
at most one runner per schema purges at a time; the others skip that round.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from daybook_common.batch_delete import delete_batch_sql, refresh_stale_statistics_sql

logger = logging.getLogger("daybook.retention")

#: ``set_config`` pairs made LOCAL to every batch: retention works across users.
BYPASS: tuple[tuple[str, str], ...] = (("app.rls_bypass", "on"),)
DEFAULT_BATCH_SIZE = 5000
#: Handled inbox ids are kept well past the stream's redelivery horizon.
INBOX_RETENTION = datetime.timedelta(days=7)


@dataclass(frozen=True)
class Purge:
    """One kind of row to forget: ``sql`` deletes at most ``$2`` rows older than ``$1``
    (a ``timestamptz`` cutoff, ``now - keep``) and reports how many it deleted."""

    name: str
    sql: str
    keep: datetime.timedelta


def older_than(schema: str, table: str, column: str) -> str:
    """Batched-delete SQL for rows of ``schema.table`` whose ``column`` is before ``$1`` (picked
    once, deleted by row address: :mod:`daybook_common.batch_delete`)."""
    return delete_batch_sql(f'"{schema}".{table}', f"{column} < $1")


def inbox_purge(schema: str, keep: datetime.timedelta = INBOX_RETENTION) -> Purge:
    """Handled event ids (``daybook_common.events`` inbox) older than ``keep``."""
    return Purge("inbox", older_than(schema, "inbox", "processed_at"), keep)


def denied_sessions_purge(schema: str, keep: datetime.timedelta = datetime.timedelta(days=1)) -> Purge:
    """Revoked sessions (:mod:`daybook_common.denylist`) whose access tokens have all expired."""
    return Purge("denied_sessions", older_than(schema, "denied_sessions", "expires_at"), keep)


def lock_sql() -> str:
    return "SELECT pg_try_advisory_lock(hashtextextended('daybook.retention.' || $1, 0))"


def unlock_sql() -> str:
    return "SELECT pg_advisory_unlock(hashtextextended('daybook.retention.' || $1, 0))"


def _count(status: str) -> int:
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


async def run_purges(
    conn: asyncpg.Connection,
    schema: str,
    purges: Sequence[Purge],
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime.datetime | None = None,
) -> dict[str, int] | None:
    """Run ``purges`` under the schema's retention lock; rows deleted per purge, or ``None``
    when another runner holds the lock (this round is skipped)."""
    if not await conn.fetchval(lock_sql(), schema):
        return None
    try:
        # A purged row's ON DELETE queries are planned with the statistics of the tables that
        # reference it: stale ones made each row's cascade scan whole indexes (quadratic).
        await conn.execute(refresh_stale_statistics_sql(schema))
        now = now or datetime.datetime.now(datetime.UTC)
        counts: dict[str, int] = {}
        for purge in purges:
            cutoff = now - purge.keep
            total = 0
            while True:
                async with conn.transaction():
                    for name, value in BYPASS:
                        await conn.execute("SELECT set_config($1, $2, true)", name, value)
                    deleted = _count(await conn.execute(purge.sql, cutoff, batch_size))
                total += deleted
                if deleted == 0:  # not "< batch_size": a row updated meanwhile has a new address
                    break
            counts[purge.name] = counts.get(purge.name, 0) + total
        return counts
    finally:
        await conn.execute(unlock_sql(), schema)


class RetentionRunner:
    """Runs :func:`run_purges` every ``interval_seconds`` in the service process.

    ``start``/``stop`` fit any framework's startup/shutdown hooks (they ignore their argument).
    """

    def __init__(
        self,
        dsn: str,
        schema: str,
        purges: Sequence[Purge],
        interval_seconds: float,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.dsn = dsn
        self.schema = schema
        self.purges = list(purges)
        self.interval = interval_seconds
        self.batch_size = batch_size
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> dict[str, int] | None:
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "daybook-retention"})
        try:
            started = time.monotonic()
            counts = await run_purges(conn, self.schema, self.purges, self.batch_size)
        finally:
            await conn.close()
        if counts is not None:
            logger.info(
                "retention run",
                extra={
                    "schema": self.schema,
                    "purged": counts,
                    "seconds": round(time.monotonic() - started, 3),
                },
            )
        return counts

    async def _loop(self) -> None:
        await asyncio.sleep(self.interval * random.random())
        while True:
            try:
                await self.run_once()
            except Exception as exc:  # the next round may succeed (database restarting, ...)
                logger.warning("retention run failed: %s", exc.__class__.__name__)
            await asyncio.sleep(self.interval)

    async def start(self, _app: object = None) -> None:
        if self.interval > 0 and self.purges:
            self._task = asyncio.create_task(self._loop(), name=f"{self.schema}-retention")

    async def stop(self, _app: object = None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


__all__ = [
    "BYPASS",
    "DEFAULT_BATCH_SIZE",
    "INBOX_RETENTION",
    "Purge",
    "RetentionRunner",
    "inbox_purge",
    "older_than",
    "run_purges",
]
