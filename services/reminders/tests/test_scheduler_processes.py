"""Real `daybook-reminders-scheduler` processes: several at once, SIGKILL mid-batch, waking on time."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_reminders import NOTIFY_CHANNEL, SCHEMA
from daybook_reminders.scheduler import APPLICATION_NAME, fire_due

DEADLINE = 90.0  # generous: correctness is asserted, never speed


class SchedulerProcess:
    def __init__(self, db: TestDatabase, log: Path, **settings: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")}
        env.update(
            {
                "REMINDERS_DATABASE_URL": db.url(SCHEMA),
                "REMINDERS_LOG_LEVEL": "INFO",
                "REMINDERS_SCHEDULER_POLL_INTERVAL_SECONDS": "1.0",
                **{f"REMINDERS_SCHEDULER_{k.upper()}": v for k, v in settings.items()},
            }
        )
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "daybook_reminders.scheduler"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for raw in self.log.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue
        return out

    def batches(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("msg") == "batch"]

    async def started(self) -> None:
        deadline = time.monotonic() + DEADLINE
        while not any(line.get("msg") == "scheduler started" for line in self.lines()):
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "scheduler did not start"
            await asyncio.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)


@pytest.fixture
def spawn(db: TestDatabase, tmp_path: Path) -> Iterator[Any]:
    procs: list[SchedulerProcess] = []

    def start(**settings: str) -> SchedulerProcess:
        p = SchedulerProcess(db, tmp_path / f"scheduler-{len(procs)}.log", **settings)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait(10)


async def admin_value(db: TestDatabase, sql: str, *args: Any) -> Any:
    conn = await db.admin_connect()
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def wait_until(db: TestDatabase, sql: str, expected: Any, *args: Any) -> None:
    deadline = time.monotonic() + DEADLINE
    value = None
    while time.monotonic() < deadline:
        value = await admin_value(db, sql, *args)
        if value == expected:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{sql!r} is {value!r}, expected {expected!r}")


async def reset(db: TestDatabase) -> None:
    conn = await db.admin_connect()
    try:
        await conn.execute(
            "DELETE FROM reminders.snoozes; DELETE FROM reminders.notifications; DELETE FROM reminders.reminders"
        )
    finally:
        await conn.close()


FIRED_ONCE = """
SELECT count(*) = $2 AND count(DISTINCT reminder_id) = $2
FROM reminders.notifications WHERE reminder_id = ANY($1)
"""


async def test_two_schedulers_fire_5000_reminders_exactly_once(
    db: TestDatabase, conn: asyncpg.Connection, seed: Any, spawn: Any
) -> None:
    await reset(db)
    a, b = spawn(batch_size="100"), spawn(batch_size="100")
    await a.started()
    await b.started()
    due = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    ids = await seed(conn, 5000, next_fire_at=due)
    await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)  # wake both at once
    await wait_until(db, FIRED_ONCE, True, ids, 5000)
    await wait_until(db, "SELECT count(*) FROM reminders.reminders WHERE next_fire_at <= now()", 0)
    assert a.stop() == 0 and b.stop() == 0  # SIGTERM: graceful, exit 0
    per_process = [sum(batch["claimed"] for batch in p.batches()) for p in (a, b)]
    # Every reminder was claimed by exactly one scheduler (none twice), and both did work.
    assert sum(per_process) == 5000, per_process
    assert all(n > 0 for n in per_process), per_process
    assert sum(batch["fired"] for p in (a, b) for batch in p.batches()) == 5000
    assert all({"lag_p50_ms", "lag_p99_ms"} <= batch.keys() for batch in a.batches() + b.batches())
    assert any(line.get("msg") == "scheduler stopped" for line in a.lines())
    advanced = await admin_value(
        db,
        "SELECT count(*) FROM reminders.reminders WHERE id = ANY($1) AND next_fire_at > $2 AND last_fired_at <= $2",
        ids,
        due,
    )
    assert advanced == 5000


async def test_two_schedulers_fire_each_snooze_exactly_once(
    db: TestDatabase, conn: asyncpg.Connection, seed: Any, spawn: Any
) -> None:
    await reset(db)
    due = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    ids = await seed(conn, 1000, next_fire_at=due)
    while (await fire_due(conn, batch_size=1000, coalesce=True, now=due)).claimed:
        pass
    # Every fired notification snoozed, all due now (as the API stores them, RLS bypassed).
    admin = await db.admin_connect()
    try:
        await admin.execute(
            """INSERT INTO reminders.snoozes (id, user_id, notification_id, fire_at, created_at, updated_at)
               SELECT gen_random_uuid(), user_id, id, now() - interval '1 second', now(), now()
               FROM reminders.notifications WHERE reminder_id = ANY($1)""",
            ids,
        )
    finally:
        await admin.close()
    a, b = spawn(batch_size="50"), spawn(batch_size="50")
    await a.started()
    await b.started()
    await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
    await wait_until(db, "SELECT count(*) FROM reminders.snoozes", 0)
    await wait_until(db, FIRED_TWICE, True, ids, 1000)
    assert a.stop() == 0 and b.stop() == 0
    per_process = [sum(batch.get("snoozes_claimed", 0) for batch in p.batches()) for p in (a, b)]
    assert sum(per_process) == 1000 and all(n > 0 for n in per_process), per_process
    assert sum(batch.get("snoozes_fired", 0) for p in (a, b) for batch in p.batches()) == 1000


FIRED_TWICE = """
SELECT count(*) = 2 * $2 AND count(DISTINCT reminder_id) = $2 AND bool_and(per.n = 2)
FROM reminders.notifications
JOIN (SELECT reminder_id, count(*) AS n FROM reminders.notifications GROUP BY reminder_id) AS per USING (reminder_id)
WHERE reminder_id = ANY($1)
"""


async def test_sigkill_mid_batch_then_restart_loses_and_doubles_nothing(
    db: TestDatabase, conn: asyncpg.Connection, seed: Any, spawn: Any
) -> None:
    await reset(db)
    due = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    ids = await seed(conn, 1000, next_fire_at=due)
    blocker = await db.admin_connect()
    try:
        # Hold inserts into notifications: the scheduler claims its batch, then blocks mid-batch.
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE reminders.notifications IN EXCLUSIVE MODE")
        victim = spawn(batch_size="300")
        await wait_until(
            db,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
            1,
            APPLICATION_NAME,
        )
        victim.proc.kill()  # SIGKILL: no cleanup, mid-transaction
        assert victim.proc.wait(10) == -signal.SIGKILL
        await tx.rollback()
    finally:
        await blocker.close()
    # The dead client's backend rolls its transaction back; nothing of the batch survives.
    await wait_until(
        db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", 0, APPLICATION_NAME
    )
    assert (
        await admin_value(db, "SELECT count(*) FROM reminders.notifications WHERE reminder_id = ANY($1)", ids)
        == 0
    )
    restarted = spawn(batch_size="300")
    await wait_until(db, FIRED_ONCE, True, ids, 1000)
    await wait_until(db, "SELECT count(*) FROM reminders.reminders WHERE next_fire_at <= now()", 0)
    assert restarted.stop() == 0
    assert sum(batch["claimed"] for batch in restarted.batches()) == 1000


async def test_once_reminder_due_in_seconds_fires_and_finishes(
    db: TestDatabase, client: AsyncTestClient, signer: TestSigner, spawn: Any
) -> None:
    await reset(db)
    user = uuid.uuid4()
    headers = signer.headers(user)
    scheduler = spawn(poll_interval_seconds="1.0")
    await scheduler.started()
    now = dt.datetime.now(dt.UTC)
    r = await client.post(
        "/api/v1/reminders",
        json={
            "title": "Soon",
            "message": "",
            "frequency": "once",
            "time": now.strftime("%H:%M"),
            "timezone": "UTC",
            "start_date": (now + dt.timedelta(days=1)).date().isoformat(),
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    # Times are HH:MM, so "a few seconds ahead" is set directly: the rule's own occurrence is moved
    # to today (already begun) and the due instant 3 s from now. No NOTIFY: the poll must find it.
    due = await admin_value(
        db,
        """UPDATE reminders.reminders SET start_date = $2, next_fire_at = now() + interval '3 seconds'
           WHERE id = $1 RETURNING next_fire_at""",
        uuid.UUID(rid),
        now.date(),
    )
    await wait_until(
        db, "SELECT count(*) FROM reminders.notifications WHERE reminder_id = $1", 1, uuid.UUID(rid)
    )
    r = await client.get("/api/v1/notifications", headers=headers)
    (note,) = r.json()["items"]
    assert dt.datetime.fromisoformat(note["occurrence_at"]) == due and note["title"] == "Soon"
    r = await client.get(f"/api/v1/reminders/{rid}", headers=headers)
    assert r.json()["is_active"] is False and r.json()["next_fire_at"] is None
    assert scheduler.stop(signal.SIGINT) == 0


async def test_notify_wakes_a_sleeping_scheduler(
    db: TestDatabase, conn: asyncpg.Connection, seed: Any, spawn: Any
) -> None:
    await reset(db)
    # Polling every ten minutes: only the NOTIFY can make it fire this reminder within the deadline.
    scheduler = spawn(poll_interval_seconds="600")
    await scheduler.started()
    await asyncio.sleep(0.5)  # let it finish its first (empty) pass and fall asleep
    due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    (rid,) = await seed(conn, 1, next_fire_at=due)
    await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, due.isoformat())
    await wait_until(db, "SELECT count(*) FROM reminders.notifications WHERE reminder_id = $1", 1, rid)
    assert scheduler.stop() == 0


def test_the_scheduler_process_does_not_import_the_web_framework() -> None:
    """Litestar would triple the worker's start-up; its logging comes from ``daybook_common.logs``."""
    code = "import daybook_reminders.scheduler, sys; assert 'litestar' not in sys.modules, 'litestar was imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
