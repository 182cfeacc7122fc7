"""One scheduler pass (`fire_due`) in-process against the real database: exactly once, coalescing, once."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import asyncpg
import pytest

from daybook_common.retention import run_purges
from daybook_common.settings import Env, SettingsError
from daybook_devtools.testing.databases import TestDatabase
from daybook_reminders import SCHEMA
from daybook_reminders.retention import purges
from daybook_reminders.scheduler import (
    BUSY_RETRY_SECONDS,
    CLAIM,
    BatchResult,
    fire_due,
    sleep_seconds,
)
from daybook_reminders.settings import SchedulerSettings, Settings

UTC = dt.UTC


@pytest.fixture(autouse=True)
async def empty_tables(conn: asyncpg.Connection) -> None:
    """Each test starts with no reminders (they all share this module's database)."""
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
        await conn.execute("DELETE FROM notifications")
        await conn.execute("DELETE FROM reminders")


async def rows_of(conn: asyncpg.Connection, sql: str, *args: Any) -> list[asyncpg.Record]:
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
        return await conn.fetch(sql, *args)


async def notifications_for(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await rows_of(
        conn,
        "SELECT reminder_id, occurrence_at, title FROM notifications WHERE reminder_id = ANY($1) ORDER BY occurrence_at",
        ids,
    )


async def drain(conn: asyncpg.Connection, now: dt.datetime, *, coalesce: bool, batch_size: int = 500) -> None:
    while (await fire_due(conn, batch_size=batch_size, coalesce=coalesce, now=now)).claimed:
        pass


async def test_due_reminders_fire_once_and_advance(conn: asyncpg.Connection, seed: Any) -> None:
    due = dt.datetime(2031, 1, 1, 9, 0, tzinfo=UTC)
    ids = await seed(conn, 30, next_fire_at=due)
    now = due + dt.timedelta(seconds=2)
    result = await fire_due(conn, batch_size=500, coalesce=True, now=now)
    assert (result.claimed, result.fired) == (30, 30)
    assert result.lag_p50_ms == result.lag_p99_ms == 2000.0
    again = await fire_due(conn, batch_size=500, coalesce=True, now=now)
    assert (again.claimed, again.fired) == (0, 0)
    notes = await notifications_for(conn, ids)
    assert len(notes) == 30 and {n["occurrence_at"] for n in notes} == {due}
    state = await rows_of(
        conn, "SELECT next_fire_at, last_fired_at, is_active FROM reminders WHERE id = ANY($1)", ids
    )
    assert {(r["next_fire_at"], r["last_fired_at"], r["is_active"]) for r in state} == {
        (due + dt.timedelta(days=1), due, True)
    }


async def test_batches_are_bounded(conn: asyncpg.Connection, seed: Any) -> None:
    due = dt.datetime(2032, 1, 1, 9, 0, tzinfo=UTC)
    await seed(conn, 25, next_fire_at=due)
    first = await fire_due(conn, batch_size=10, coalesce=True, now=due)
    assert first.claimed == 10 and first.next_due is None  # a full batch looks no further
    assert sleep_seconds(first, 10, 1.0, due) == 0.0
    await drain(conn, due, coalesce=True, batch_size=10)


async def test_once_becomes_inactive_after_firing(conn: asyncpg.Connection, seed: Any) -> None:
    due = dt.datetime(2033, 6, 1, 7, 30, tzinfo=UTC)
    (rid,) = await seed(conn, 1, next_fire_at=due, frequency="once", start_date=due.date())
    await drain(conn, due + dt.timedelta(minutes=5), coalesce=True)
    (row,) = await rows_of(
        conn, "SELECT next_fire_at, last_fired_at, is_active FROM reminders WHERE id = $1", rid
    )
    assert (row["next_fire_at"], row["last_fired_at"], row["is_active"]) == (None, due, False)
    assert len(await notifications_for(conn, [rid])) == 1


async def test_coalescing_after_downtime(conn: asyncpg.Connection, seed: Any) -> None:
    due = dt.datetime(2034, 3, 1, 8, 0, tzinfo=UTC)
    now = due + dt.timedelta(days=5, hours=2)  # five days of downtime, six occurrences missed
    (coalesced,) = await seed(conn, 1, next_fire_at=due)
    await drain(conn, now, coalesce=True)
    notes = await notifications_for(conn, [coalesced])
    assert [n["occurrence_at"] for n in notes] == [due + dt.timedelta(days=5)]  # only the latest
    (row,) = await rows_of(conn, "SELECT next_fire_at FROM reminders WHERE id = $1", coalesced)
    assert row["next_fire_at"] == due + dt.timedelta(days=6)

    (catch_up,) = await seed(conn, 1, next_fire_at=due)
    await drain(conn, now, coalesce=False)
    notes = await notifications_for(conn, [catch_up])
    assert [n["occurrence_at"] for n in notes] == [due + dt.timedelta(days=d) for d in range(6)]


async def test_unique_key_makes_a_double_fire_impossible(conn: asyncpg.Connection, seed: Any) -> None:
    due = dt.datetime(2035, 1, 1, 9, 0, tzinfo=UTC)
    (rid,) = await seed(conn, 1, next_fire_at=due)
    (row,) = await rows_of(conn, "SELECT user_id FROM reminders WHERE id = $1", rid)
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
        await conn.execute(
            """INSERT INTO notifications (id, user_id, reminder_id, title, message, occurrence_at, created_at, updated_at)
               VALUES ($1, $2, $3, 'earlier', '', $4, now(), now())""",
            uuid.uuid4(),
            row["user_id"],
            rid,
            due,
        )
    result = await fire_due(conn, batch_size=10, coalesce=True, now=due)
    assert (result.claimed, result.fired) == (1, 0)
    notes = await notifications_for(conn, [rid])
    assert [(n["occurrence_at"], n["title"]) for n in notes] == [(due, "earlier")]
    (state,) = await rows_of(conn, "SELECT next_fire_at FROM reminders WHERE id = $1", rid)
    assert state["next_fire_at"] == due + dt.timedelta(days=1)


async def test_deleted_and_inactive_reminders_never_fire(conn: asyncpg.Connection, seed: Any) -> None:
    due = dt.datetime(2036, 1, 1, 9, 0, tzinfo=UTC)
    deleted, inactive = await seed(conn, 2, next_fire_at=due)
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
        await conn.execute(
            "UPDATE reminders SET deleted_at = now(), next_fire_at = NULL WHERE id = $1", deleted
        )
        await conn.execute(
            "UPDATE reminders SET is_active = false, next_fire_at = NULL WHERE id = $1", inactive
        )
    await drain(conn, due + dt.timedelta(days=3), coalesce=True)
    assert await notifications_for(conn, [deleted, inactive]) == []


async def test_concurrent_passes_never_claim_the_same_reminder(db: TestDatabase, seed: Any) -> None:
    due = dt.datetime(2037, 1, 1, 9, 0, tzinfo=UTC)
    conns = [await db.connect_as(SCHEMA) for _ in range(3)]
    try:
        ids = await seed(conns[0], 1500, next_fire_at=due)
        claimed = [0, 0, 0]

        async def worker(i: int) -> None:
            while True:
                result = await fire_due(conns[i], batch_size=50, coalesce=True, now=due)
                if not result.claimed:
                    return
                claimed[i] += result.claimed

        await asyncio.gather(*(worker(i) for i in range(3)))
        assert sum(claimed) == 1500  # no reminder was claimed twice
        notes = await notifications_for(conns[0], ids)
        assert len(notes) == 1500 and len({n["reminder_id"] for n in notes}) == 1500
    finally:
        for c in conns:
            await c.close()


async def test_row_level_security_hides_rows_without_the_bypass(conn: asyncpg.Connection, seed: Any) -> None:
    due = dt.datetime(2038, 1, 1, 9, 0, tzinfo=UTC)
    await seed(conn, 3, next_fire_at=due)
    # The claim query without the scheduler's bypass sees nothing.
    async with conn.transaction():
        assert await conn.fetch(CLAIM, due, 100) == []
    await drain(conn, due, coalesce=True)


async def test_claim_index_definition(conn: asyncpg.Connection) -> None:
    defs = {
        r["indexname"]: r["indexdef"]
        for r in await conn.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'reminders'")
    }
    assert defs["ix_reminders_due"].endswith("(next_fire_at) WHERE (is_active AND (deleted_at IS NULL))")
    assert "UNIQUE" in defs["uq_notifications_reminder_id_occurrence_at"]
    assert defs["ix_notifications_unread"].endswith("WHERE (read_at IS NULL)")


def test_sleep_seconds() -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=UTC)

    def result(claimed: int, next_due: dt.datetime | None) -> BatchResult:
        return BatchResult(claimed, claimed, None, None, next_due, 1.0)

    assert sleep_seconds(result(0, None), 100, 1.0, now) == 1.0
    assert sleep_seconds(result(0, now + dt.timedelta(seconds=0.3)), 100, 1.0, now) == pytest.approx(0.3)
    assert sleep_seconds(result(0, now + dt.timedelta(hours=1)), 100, 1.0, now) == 1.0
    assert sleep_seconds(result(0, now - dt.timedelta(seconds=1)), 100, 1.0, now) == BUSY_RETRY_SECONDS
    assert sleep_seconds(result(5, now - dt.timedelta(seconds=1)), 100, 1.0, now) == 0.0
    assert sleep_seconds(result(100, None), 100, 1.0, now) == 0.0


def test_scheduler_settings_from_env() -> None:
    defaults = SchedulerSettings.from_env(Env("REMINDERS_", {}))
    assert (defaults.batch_size, defaults.poll_interval, defaults.coalesce) == (2000, 1.0, True)
    custom = SchedulerSettings.from_env(
        Env(
            "REMINDERS_",
            {
                "REMINDERS_SCHEDULER_BATCH_SIZE": "50",
                "REMINDERS_SCHEDULER_POLL_INTERVAL_SECONDS": "0.25",
                "REMINDERS_SCHEDULER_COALESCE": "false",
            },
        )
    )
    assert (custom.batch_size, custom.poll_interval, custom.coalesce) == (50, 0.25, False)
    for bad in ({"REMINDERS_SCHEDULER_BATCH_SIZE": "0"}, {"REMINDERS_SCHEDULER_POLL_INTERVAL_SECONDS": "-1"}):
        with pytest.raises(SettingsError):
            SchedulerSettings.from_env(Env("REMINDERS_", bad))


async def test_retention_purges_expired_keys_and_old_deleted_reminders_with_their_notifications(
    conn: asyncpg.Connection, seed: Any
) -> None:
    user = uuid.uuid4()
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.user_id', $1, true)", str(user))
        await conn.execute(
            """INSERT INTO idempotency_keys (user_id, key, request_hash, created_at)
               VALUES ($1, 'old', $2, now() - interval '25 hours'), ($1, 'fresh', $2, now())""",
            user,
            bytes(32),  # a sha256's length
        )
    due = dt.datetime(2030, 1, 1, tzinfo=UTC)
    old, recent, live = await seed(conn, 3, next_fire_at=due, user_id=user)
    await drain(conn, due, coalesce=True)  # each has a notification now
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
        await conn.execute(
            "UPDATE reminders SET next_fire_at = NULL, deleted_at = now() - interval '31 days' WHERE id = $1",
            old,
        )
        await conn.execute(
            "UPDATE reminders SET next_fire_at = NULL, deleted_at = now() - interval '29 days' WHERE id = $1",
            recent,
        )
    # The API process's retention runner does this (daybook_reminders.retention), not the scheduler.
    settings = Settings.from_env({"REMINDERS_DELETED_RETENTION_DAYS": "30"})
    purged = await run_purges(conn, SCHEMA, purges(settings))
    assert purged is not None
    assert (purged["idempotency_keys"], purged["deleted_reminders"]) == (1, 1)
    keys = await rows_of(conn, "SELECT key FROM idempotency_keys WHERE user_id = $1", user)
    assert [k["key"] for k in keys] == ["fresh"]
    left = await rows_of(conn, "SELECT id FROM reminders WHERE user_id = $1", user)
    assert {r["id"] for r in left} == {recent, live}
    assert {n["reminder_id"] for n in await notifications_for(conn, [old, recent, live])} == {recent, live}


async def test_a_pass_writes_its_notifications_to_the_outbox_in_events_of_1000(
    conn: asyncpg.Connection, seed: Any
) -> None:
    """The live streams' feed: every recorded notification in exactly one event, ids only."""
    await conn.execute("DELETE FROM outbox")
    due = dt.datetime(2031, 1, 1, 9, 0, tzinfo=UTC)
    ids = await seed(conn, 2500, next_fire_at=due)
    result = await fire_due(conn, batch_size=5000, coalesce=True, now=due)
    assert result.fired == 2500
    events = await rows_of(conn, "SELECT id, subject, payload FROM outbox ORDER BY id")
    assert [e["subject"] for e in events] == ["reminders.notification.created"] * 3
    payloads = [json.loads(e["payload"]) for e in events]
    assert sorted(len(p["notifications"]) for p in payloads) == [500, 1000, 1000]
    assert all(p["event_id"] == str(e["id"]) for p, e in zip(payloads, events, strict=True))
    listed = [n for p in payloads for n in p["notifications"]]
    stored = await rows_of(
        conn, "SELECT id, user_id, reminder_id FROM notifications WHERE reminder_id = ANY($1)", ids
    )
    assert sorted((n["notification_id"], n["user_id"], n["reminder_id"]) for n in listed) == sorted(
        (str(r["id"]), str(r["user_id"]), str(r["reminder_id"])) for r in stored
    )
    assert all(set(n) == {"notification_id", "user_id", "reminder_id", "occurrence_at"} for n in listed)
    # Nothing fired, nothing written.
    await fire_due(conn, batch_size=5000, coalesce=True, now=due)
    assert len(await rows_of(conn, "SELECT 1 FROM outbox")) == 3
