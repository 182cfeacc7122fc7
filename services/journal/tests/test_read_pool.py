"""The list reads' connections: checkout/checkin, limits, broken and cancelled connections, and the
``timestamptz`` text codec, compared with asyncpg's own codec on the same values."""

from __future__ import annotations

import asyncio
import datetime
import random
from collections.abc import AsyncIterator

import asyncpg
import pytest

from daybook_common.db import DatabaseSettings
from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA
from daybook_journal.db.reads import CompiledQuery, ReadPool, _decode_timestamptz, _encode_timestamptz

SLEEP = CompiledQuery(
    sql="SELECT pg_backend_pid() AS pid, pg_sleep($1)::text AS slept", names=("seconds",), fixed={}
)
PID = CompiledQuery(sql="SELECT pg_backend_pid() AS pid", names=(), fixed={})
BOOM = CompiledQuery(sql="SELECT 1 / $1::int AS x", names=("zero",), fixed={})
NAME = "daybook-journal-read-pool-test"


@pytest.fixture
async def reads(migrated: TestDatabase) -> AsyncIterator[ReadPool]:
    pool = ReadPool(DatabaseSettings(url=migrated.url(SCHEMA), schema=SCHEMA, pool_size=2), NAME)
    await pool.start()
    yield pool
    await pool.stop()


async def _backends(migrated: TestDatabase) -> int:
    admin = await migrated.admin_connect()
    try:
        return int(
            await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", NAME)
        )
    finally:
        await admin.close()


async def test_connections_are_reused_and_capped(reads: ReadPool, migrated: TestDatabase) -> None:
    first = (await reads.fetch(PID, {}))[0]["pid"]
    assert (await reads.fetch(PID, {}))[0]["pid"] == first  # the same connection again
    rows = await asyncio.gather(*(reads.fetch(SLEEP, {"seconds": 0.05}) for _ in range(8)))
    assert len({r[0]["pid"] for r in rows}) == 2  # eight callers, two connections, the rest waited
    assert await _backends(migrated) == 2


async def test_a_postgres_error_keeps_the_connection(reads: ReadPool) -> None:
    before = (await reads.fetch(PID, {}))[0]["pid"]
    with pytest.raises(asyncpg.DivisionByZeroError):
        await reads.fetch(BOOM, {"zero": 0})
    assert (await reads.fetch(PID, {}))[0]["pid"] == before


async def test_a_killed_connection_is_replaced(reads: ReadPool, migrated: TestDatabase) -> None:
    victim = (await reads.fetch(PID, {}))[0]["pid"]
    admin = await migrated.admin_connect()
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", victim)
    finally:
        await admin.close()
    await asyncio.sleep(0.1)
    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError)):
        await reads.fetch(PID, {})
    assert (await reads.fetch(PID, {}))[0]["pid"] != victim


async def test_a_cancelled_statement_drops_its_connection_and_frees_its_place(
    reads: ReadPool, migrated: TestDatabase
) -> None:
    slow = [asyncio.create_task(reads.fetch(SLEEP, {"seconds": 30})) for _ in range(2)]
    waiting = asyncio.create_task(reads.fetch(PID, {}))  # both connections busy: this one waits
    await asyncio.sleep(0.3)
    assert not waiting.done()
    slow[0].cancel()
    pid = (await asyncio.wait_for(waiting, 10))[0]["pid"]  # got a fresh connection in the freed place
    slow[1].cancel()
    for task in slow:
        with pytest.raises(asyncio.CancelledError):
            await task
    assert (await reads.fetch(PID, {}))[0]["pid"] == pid  # the one live connection, reused
    for _ in range(50):  # asyncpg cancels the statements on the server, the dropped backends exit
        if await _backends(migrated) == 1:
            break
        await asyncio.sleep(0.1)
    assert await _backends(migrated) == 1


async def test_a_cancelled_waiter_passes_its_connection_on(reads: ReadPool) -> None:
    busy = [asyncio.create_task(reads.fetch(SLEEP, {"seconds": 0.3})) for _ in range(2)]
    await asyncio.sleep(0.05)
    impatient = asyncio.create_task(reads.fetch(PID, {}))
    patient = asyncio.create_task(reads.fetch(PID, {}))
    await asyncio.sleep(0.05)
    impatient.cancel()
    await asyncio.gather(*busy)
    assert (await asyncio.wait_for(patient, 5))[0]["pid"]
    with pytest.raises(asyncio.CancelledError):
        await impatient


async def test_stop_closes_everything(migrated: TestDatabase) -> None:
    pool = ReadPool(DatabaseSettings(url=migrated.url(SCHEMA), schema=SCHEMA, pool_size=3), NAME)
    await pool.start()
    await asyncio.gather(*(pool.fetch(SLEEP, {"seconds": 0.05}) for _ in range(3)))
    assert await _backends(migrated) == 3
    await pool.stop()
    await asyncio.sleep(0.2)
    assert await _backends(migrated) == 0
    with pytest.raises(RuntimeError):
        await pool.fetch(PID, {})


def _as_utc(value: datetime.datetime) -> datetime.datetime:
    return value.replace(tzinfo=datetime.UTC) if value.tzinfo is None else value


async def test_the_timestamptz_text_codec_matches_asyncpgs_binary_one(migrated: TestDatabase) -> None:
    plain = await migrated.connect_as(SCHEMA)
    fast = await migrated.connect_as(SCHEMA)
    try:
        await fast.execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO'")
        await fast.set_type_codec(
            "timestamptz",
            schema="pg_catalog",
            encoder=_encode_timestamptz,
            decoder=_decode_timestamptz,
            format="text",
        )
        texts = [
            "infinity",
            "-infinity",
            "0001-01-01 00:00:00+00",
            "9999-12-31 23:59:59.999999+00",
            "2026-03-29 01:30:00.5+01",
            "1970-01-01 00:00:00+00",
            "1899-12-31 23:59:59.000001+00:19",
            "2000-01-01 00:00:00.1+14",
            "0500-06-15 12:00:00.123-03:30",
        ]
        rnd = random.Random(7)
        epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
        for _ in range(3000):
            us = rnd.randrange(-62_000_000_000_000_000, 253_000_000_000_000_000)
            texts.append((epoch + datetime.timedelta(microseconds=us)).isoformat())
        sql = "SELECT v::timestamptz FROM unnest($1::text[]) v"
        # asyncpg reads ±infinity as naive datetime.max/min; like the ORM's DateTimeUTC, the text
        # codec gives those instants in UTC (the ends of the range clients may send).
        expected = [_as_utc(r[0]) for r in await plain.fetch(sql, texts)]
        got = [r[0] for r in await fast.fetch(sql, texts)]
        for text, a, b in zip(texts, expected, got, strict=True):
            assert (a, repr(a)) == (b, repr(b)), text
        local = datetime.datetime(2026, 7, 1, 12, 0)  # naive: local time, as asyncpg reads it
        params = [
            *expected[:500],
            datetime.datetime.max,
            datetime.datetime.min,
            local,
            local.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30))),
            datetime.date(2026, 5, 1),
        ]
        probe = "SELECT extract(epoch FROM $1::timestamptz)::text"
        for value in params:
            assert await plain.fetchval(probe, value) == await fast.fetchval(probe, value), value
    finally:
        await plain.close()
        await fast.close()
