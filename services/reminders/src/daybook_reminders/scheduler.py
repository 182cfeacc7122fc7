"""The scheduler worker: fires every due reminder exactly once per occurrence.

Run it as ``daybook-reminders-scheduler`` (or ``python -m daybook_reminders.scheduler``); any
number may run at once. Each loop is one transaction on a plain asyncpg connection:

1. claim up to ``REMINDERS_SCHEDULER_BATCH_SIZE`` due reminders, oldest due first, with
   ``FOR UPDATE SKIP LOCKED`` (a reminder another scheduler holds is skipped, never waited for);
2. compute each one's occurrence and next occurrence in Python (:mod:`daybook_reminders.recurrence`);
3. in one statement, advance all reminders (``UPDATE … FROM unnest(…)``) and insert all their
   notifications (multi-row ``INSERT … ON CONFLICT DO NOTHING`` on the unique
   ``(reminder_id, occurrence_at)``: a second firing of an occurrence is impossible even if two
   claims ever overlapped);
4. claim due snoozes the same way and, in one statement, delete them and record each one's new
   notification of its reminder (skipped when the reminder is in the trash);
5. the new notifications go into the outbox as ``reminders.notification.created`` events, one per
   ``EVENT_CHUNK`` of them (the API processes' relay publishes them; the live streams hear them);
6. take the next place in commit order (:mod:`daybook_reminders.commit_order`: the live streams'
   cursor), the last statement, under a lock held only until the commit;
7. commit. A crash or ``SIGKILL`` before the commit rolls the whole batch back, so its reminders are
   still due and the next scheduler fires them: nothing is lost, nothing doubled.

Between batches it sleeps until the next due reminder or the poll interval, whichever is
sooner, and wakes at once on a ``NOTIFY reminders_changed`` (sent by the API when a reminder's
schedule changes). After downtime, with coalescing on (the default) a reminder that missed
several occurrences fires once, for the latest of them. ``SIGTERM``/``SIGINT`` finish the batch in
progress and exit 0. Row-level security is bypassed only inside these transactions
(``SET LOCAL app.rls_bypass = on``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import os
import signal
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from uuid_utils.compat import uuid7

from daybook_common.logs import configure_logging
from daybook_common.metrics import (
    SCHEDULER_DUE,
    SCHEDULER_FIRED,
    SCHEDULER_LAG,
    SCHEDULER_LAST_PASS,
    SCHEDULER_PASSES,
    MetricsListener,
)
from daybook_reminders import NOTIFICATION_CREATED, NOTIFY_CHANNEL, OUTBOX_CHANNEL
from daybook_reminders.commit_order import RECORD_COMMIT
from daybook_reminders.recurrence import Firing, Rule, fire
from daybook_reminders.settings import SchedulerConfig, SchedulerSettings

logger = logging.getLogger("daybook.reminders.scheduler")
APPLICATION_NAME = "daybook-reminders-scheduler"

BYPASS_RLS = "SELECT set_config('app.rls_bypass', 'on', true)"
CLAIM = """
SELECT id, frequency, "time", timezone, start_date, custom_days, rrule, next_fire_at
FROM reminders
WHERE is_active AND deleted_at IS NULL AND next_fire_at <= $1
ORDER BY next_fire_at
LIMIT $2
FOR UPDATE SKIP LOCKED
"""
# One statement for the whole batch: advance every claimed reminder and record its notification
# (title and message copied from the row as it is now). All parts see the same snapshot.
#: Notifications per ``reminders.notification.created`` event: one event (one outbox row, one
#: JetStream message) per this many, not one per notification; a burst of thousands is a few events
#: (the relay publishes them one by one, each acknowledged) and each stays far below NATS's 1 MB.
EVENT_CHUNK = 1000


def _notification_events(*, ids: str, subject: str) -> str:
    """The closing CTE of a firing statement: one outbox event per ``EVENT_CHUNK`` notifications
    ``inserted`` (event ids from the array parameter ``ids``), then the count of notifications."""
    return f"""
, events AS (
    INSERT INTO outbox (id, subject, payload)
    SELECT ({ids}::uuid[])[c.chunk + 1], {subject}, jsonb_build_object(
        'event_id', ({ids}::uuid[])[c.chunk + 1],
        'notifications', jsonb_agg(jsonb_build_object(
            'notification_id', c.id, 'user_id', c.user_id, 'reminder_id', c.reminder_id,
            'occurrence_at', c.occurrence_at) ORDER BY c.id))
    FROM (SELECT i.*, (row_number() OVER (ORDER BY i.id) - 1) / {EVENT_CHUNK} AS chunk FROM inserted AS i) AS c
    GROUP BY c.chunk
)
SELECT count(*) FROM inserted
"""


FIRE_BATCH = """
WITH batch AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::bool[])
        AS b(reminder_id, notification_id, occurrence_at, next_fire_at, is_active)
), advanced AS (
    UPDATE reminders AS r
    SET next_fire_at = b.next_fire_at, last_fired_at = b.occurrence_at, is_active = b.is_active, updated_at = $6,
        version = r.version + 1
    FROM batch AS b
    WHERE r.id = b.reminder_id
), inserted AS (
    INSERT INTO notifications (id, user_id, reminder_id, title, message, occurrence_at, created_at, updated_at)
    SELECT b.notification_id, r.user_id, r.id, r.title, r.message, b.occurrence_at, $6, $6
    FROM batch AS b JOIN reminders AS r ON r.id = b.reminder_id
    ON CONFLICT (reminder_id, occurrence_at) DO NOTHING
    RETURNING id, user_id, reminder_id, occurrence_at
)
""" + _notification_events(ids="$7", subject="$8")
# Snoozed notifications due now: claimed like reminders (a snooze another scheduler holds is skipped).
CLAIM_SNOOZES = """
SELECT id FROM snoozes WHERE fire_at <= $1 ORDER BY fire_at LIMIT $2 FOR UPDATE SKIP LOCKED
"""
# Each claimed snooze goes, and its reminder fires once more as a new notification (occurrence =
# the snooze's time), in the same transaction: a snooze fires once. A reminder in the trash does not.
FIRE_SNOOZES = """
WITH batch AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[]) AS b(snooze_id, new_id)
), gone AS (
    DELETE FROM snoozes AS s USING batch AS b WHERE s.id = b.snooze_id
    RETURNING b.new_id, s.notification_id AS snoozed_id, s.fire_at
), inserted AS (
    INSERT INTO notifications (id, user_id, reminder_id, title, message, occurrence_at, created_at, updated_at)
    SELECT g.new_id, r.user_id, r.id, r.title, r.message, g.fire_at, $3, $3
    FROM gone AS g
    JOIN notifications AS n ON n.id = g.snoozed_id
    JOIN reminders AS r ON r.id = n.reminder_id
    WHERE r.deleted_at IS NULL
    ON CONFLICT (reminder_id, occurrence_at) DO NOTHING
    RETURNING id, user_id, reminder_id, occurrence_at
)
""" + _notification_events(ids="$4", subject="$5")
# Wakes the API processes' outbox relay at commit (it also polls).
WAKE_RELAY = "SELECT pg_notify($1, '')"
NEXT_DUE = """
SELECT least(
    (SELECT next_fire_at FROM reminders
     WHERE is_active AND deleted_at IS NULL AND next_fire_at IS NOT NULL
     ORDER BY next_fire_at LIMIT 1),
    (SELECT fire_at FROM snoozes ORDER BY fire_at LIMIT 1)
)
"""
DUE_COUNT = """
SELECT count(*) FROM reminders
WHERE is_active AND deleted_at IS NULL AND next_fire_at <= now()
"""
# A due reminder we could not claim is held by another scheduler: look again shortly, don't spin.
BUSY_RETRY_SECONDS = 0.05
#: Seconds between two counts of the due backlog while batches come back full.
DUE_COUNT_INTERVAL = 5.0


@dataclass(frozen=True, slots=True)
class BatchResult:
    claimed: int
    fired: int
    lag_p50_ms: float | None
    lag_p99_ms: float | None
    next_due: dt.datetime | None
    duration_ms: float
    snoozes_claimed: int = 0
    snoozes_fired: int = 0


def event_ids_for(notifications: int) -> list[uuid.UUID]:
    """One event id per ``EVENT_CHUNK`` notifications (UUIDv7: the relay publishes in id order)."""
    return [uuid7() for _ in range(notifications // EVENT_CHUNK + 1)]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def plan(row: asyncpg.Record | Mapping[str, Any], now: dt.datetime, coalesce: bool) -> Firing:
    """The occurrence to fire for one claimed row and its next fire time (None: deactivate)."""
    return fire(rule_of(row), row["next_fire_at"], now, coalesce=coalesce)


def rule_of(row: asyncpg.Record | Mapping[str, Any]) -> Rule:
    """A stored reminder's schedule (a row of the scheduler's claim or a ``Reminder``'s columns)."""
    return Rule(
        frequency=row["frequency"],
        time=row["time"],
        timezone=row["timezone"],
        start_date=row["start_date"],
        custom_days=tuple(row["custom_days"] or ()),
        rrule=row["rrule"],
    )


async def fire_due(
    conn: asyncpg.Connection, *, batch_size: int, coalesce: bool, now: dt.datetime | None = None
) -> BatchResult:
    """One scheduler pass in one transaction: claim due reminders, record notifications, advance."""
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    async with conn.transaction():
        await conn.execute(BYPASS_RLS)
        rows = await conn.fetch(CLAIM, now, batch_size)
        fired = 0
        lags: list[float] = []
        if rows:
            reminder_ids, notification_ids, occurrences = [], [], []
            nexts: list[dt.datetime | None] = []
            actives: list[bool] = []
            for row in rows:
                try:
                    firing = plan(row, now, coalesce)
                except Exception:
                    # A rule that cannot be evaluated (e.g. a zone removed from the tz database)
                    # must not block the queue: fire what was due and park the reminder.
                    logger.exception(
                        "cannot compute the next occurrence; deactivating", extra={"id": str(row["id"])}
                    )
                    firing = Firing(row["next_fire_at"], None)
                lags.append((now - row["next_fire_at"]).total_seconds() * 1000)
                reminder_ids.append(row["id"])
                notification_ids.append(uuid7())
                occurrences.append(firing.occurrence_at)
                nexts.append(firing.next_fire_at)
                actives.append(firing.next_fire_at is not None)
            event_ids = event_ids_for(len(rows))
            fired = await conn.fetchval(
                FIRE_BATCH,
                reminder_ids,
                notification_ids,
                occurrences,
                nexts,
                actives,
                now,
                event_ids,
                NOTIFICATION_CREATED,
            )
        snoozes = await conn.fetch(CLAIM_SNOOZES, now, batch_size)
        snoozes_fired = 0
        if snoozes:
            snoozes_fired = await conn.fetchval(
                FIRE_SNOOZES,
                [row["id"] for row in snoozes],
                [uuid7() for _ in snoozes],
                now,
                event_ids_for(len(snoozes)),
                NOTIFICATION_CREATED,
            )
        full = len(rows) == batch_size or len(snoozes) == batch_size
        next_due = None if full else await conn.fetchval(NEXT_DUE)
        if fired or snoozes_fired:
            await conn.execute(WAKE_RELAY, OUTBOX_CHANNEL)
            # Last before the commit: the commit-order lock is held only from here to the commit.
            await conn.execute(RECORD_COMMIT)
    lags.sort()
    for lag in lags:
        SCHEDULER_LAG.observe(max(lag, 0.0) / 1000)
    SCHEDULER_FIRED.inc(fired + snoozes_fired)
    return BatchResult(
        claimed=len(rows),
        fired=fired,
        snoozes_claimed=len(snoozes),
        snoozes_fired=snoozes_fired,
        lag_p50_ms=round(percentile(lags, 50), 1) if lags else None,
        lag_p99_ms=round(percentile(lags, 99), 1) if lags else None,
        next_due=next_due,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )


def sleep_seconds(result: BatchResult, batch_size: int, poll_interval: float, now: dt.datetime) -> float:
    """How long to wait before the next pass (a NOTIFY or a stop signal cuts it short)."""
    if result.claimed >= batch_size or result.snoozes_claimed >= batch_size:
        return 0.0  # more may be due right now
    if result.next_due is None:
        return poll_interval
    until = (result.next_due - now).total_seconds()
    if until <= 0:
        # Still due but not claimed by us (another scheduler holds it) or just became due.
        return BUSY_RETRY_SECONDS if result.claimed + result.snoozes_claimed == 0 else 0.0
    return min(until, poll_interval)


class Scheduler:
    """The loop around :func:`fire_due`: connect, listen, fire, sleep; reconnect on failures."""

    def __init__(self, dsn: str, settings: SchedulerSettings, *, statement_timeout_ms: int = 15_000) -> None:
        self.dsn = dsn
        self.settings = settings
        self.statement_timeout_ms = statement_timeout_ms
        self.stop_event = asyncio.Event()
        self.wake_event = asyncio.Event()
        self.batches = 0
        self.total_fired = 0
        self.last_pass = time.monotonic()  # start counts as a pass: /health gives it the same grace
        self._last_due_count = 0.0

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while a pass completed within ``health_intervals`` poll intervals."""
        since = time.monotonic() - self.last_pass
        limit = self.settings.health_intervals * self.settings.poll_interval
        return since <= limit, {"last_pass_seconds_ago": round(since, 3), "limit_seconds": limit}

    async def measure_due(self, conn: asyncpg.Connection, result: BatchResult) -> None:
        """The due backlog: none left when a batch was not full, else counted (at most every 5 s)."""
        if result.claimed < self.settings.batch_size:
            SCHEDULER_DUE.set(0)
            return
        if time.monotonic() - self._last_due_count < DUE_COUNT_INTERVAL:
            return
        async with conn.transaction():
            await conn.execute(BYPASS_RLS)
            SCHEDULER_DUE.set(await conn.fetchval(DUE_COUNT))
        self._last_due_count = time.monotonic()

    def stop(self) -> None:
        self.stop_event.set()
        self.wake_event.set()

    def _on_notify(
        self, _conn: asyncpg.Connection | PoolConnectionProxy, _pid: int, _channel: str, payload: object
    ) -> None:
        if isinstance(payload, str) and payload:
            with contextlib.suppress(ValueError):
                due = dt.datetime.fromisoformat(payload)
                horizon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.settings.poll_interval)
                if due > horizon:
                    return  # the regular poll will see it in time
        self.wake_event.set()

    async def connect(self) -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(
            self.dsn,
            server_settings={
                "application_name": APPLICATION_NAME,
                "statement_timeout": str(self.statement_timeout_ms),
                # A scheduler that hangs mid-batch must not hold its reminders' locks forever.
                "idle_in_transaction_session_timeout": "60000",
            },
        )
        await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
        return conn

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0 or self.stop_event.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake_event.wait(), timeout=seconds)

    async def run_connected(self, conn: asyncpg.Connection) -> None:
        s = self.settings
        while not self.stop_event.is_set():
            self.wake_event.clear()
            result = await fire_due(conn, batch_size=s.batch_size, coalesce=s.coalesce)
            self.batches += 1
            self.total_fired += result.fired + result.snoozes_fired
            self.last_pass = time.monotonic()
            SCHEDULER_PASSES.inc()
            SCHEDULER_LAST_PASS.set(time.time())
            await self.measure_due(conn, result)
            if result.claimed or result.snoozes_claimed:
                logger.info(
                    "batch",
                    extra={
                        "claimed": result.claimed,
                        "fired": result.fired,
                        "snoozes_claimed": result.snoozes_claimed,
                        "snoozes_fired": result.snoozes_fired,
                        "lag_p50_ms": result.lag_p50_ms,
                        "lag_p99_ms": result.lag_p99_ms,
                        "duration_ms": result.duration_ms,
                    },
                )
            await self._sleep(sleep_seconds(result, s.batch_size, s.poll_interval, dt.datetime.now(dt.UTC)))

    async def run(self) -> None:
        backoff = 0.5
        while not self.stop_event.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await self.connect()
                logger.info(
                    "scheduler started",
                    extra={
                        "pid": os.getpid(),
                        "batch_size": self.settings.batch_size,
                        "poll_interval_s": self.settings.poll_interval,
                        "coalesce": self.settings.coalesce,
                    },
                )
                backoff = 0.5
                await self.run_connected(conn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if self.stop_event.is_set():
                    break
                logger.warning(
                    "scheduler pass failed; reconnecting",
                    extra={"error": exc.__class__.__name__, "detail": str(exc)[:200], "retry_in_s": backoff},
                )
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.settings.reconnect_max_seconds)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), timeout=5)
        logger.info("scheduler stopped", extra={"batches": self.batches, "fired": self.total_fired})


async def run(config: SchedulerConfig) -> None:
    scheduler = Scheduler(config.dsn, config.scheduler, statement_timeout_ms=config.statement_timeout_ms)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, scheduler.stop)
    listener = None
    s = config.scheduler
    if s.port is not None:
        listener = MetricsListener(s.host, s.port, scheduler.health)
        port = await listener.start()
        logger.info("metrics listener started", extra={"url": f"http://{s.host}:{port}/metrics"})
    try:
        await scheduler.run()
    finally:
        if listener is not None:
            await listener.stop()


def main() -> None:
    config = SchedulerConfig.from_env()
    configure_logging("reminders-scheduler", config.log_level)
    asyncio.run(run(config))


__all__ = ["BatchResult", "Scheduler", "fire_due", "main", "plan", "sleep_seconds"]


if __name__ == "__main__":
    main()
