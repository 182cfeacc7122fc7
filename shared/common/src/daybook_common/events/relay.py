"""Publishes a service's outbox to JetStream, in order, at least once.

Only one relay per schema publishes at a time (a transaction-scoped advisory lock), so
events leave in ``id`` (UUIDv7, time) order even when several workers run a relay.
The event id is the JetStream ``Nats-Msg-Id``: a row published but not yet marked
(crash between the two) is published again and de-duplicated by the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import zlib
from dataclasses import dataclass, field

import asyncpg
import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from daybook_common.db import plain_url
from daybook_common.events.stream import quiet_client_error
from daybook_common.events.tables import notify_channel
from daybook_common.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, OUTBOX_PUBLISH_ERRORS, OUTBOX_PUBLISHED

logger = logging.getLogger("daybook.events.relay")
#: nats.py reconnects for ever (``max_reconnect_attempts=0``), by default every 2 s: a restarted
#: NATS server is back in use half a second after it accepts connections (deletions reach the
#: deny-lists sooner).
RECONNECT_WAIT = 0.5
#: Seconds between two looks at the outbox's backlog (the ``daybook_outbox_*`` gauges).
BACKLOG_INTERVAL = 5.0


@dataclass
class OutboxRelay:
    database_url: str
    schema: str
    nats_url: str
    batch_size: int = 200
    poll_interval: float = 1.0
    retention_hours: float = 72.0
    max_backoff: float = 10.0
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    published: int = field(default=0, init=False)

    @property
    def lock_key(self) -> int:
        return zlib.crc32(f"outbox:{self.schema}".encode())

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"outbox-relay-{self.schema}")

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 10)

    async def run(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            nc: NATS | None = None
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    plain_url(self.database_url), server_settings={"search_path": self.schema}
                )
                await conn.add_listener(notify_channel(self.schema), self._on_notify)
                nc = await nats.connect(
                    self.nats_url,
                    connect_timeout=3,
                    max_reconnect_attempts=0,
                    reconnect_time_wait=RECONNECT_WAIT,
                    error_cb=quiet_client_error,
                )
                js = nc.jetstream(timeout=5)
                backoff = 0.5
                await self._loop(conn, js)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning(
                    "outbox relay paused: %s; retrying in %.1fs",
                    exc.__class__.__name__,
                    backoff,
                    extra={"schema": self.schema},
                )
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            finally:
                if nc is not None:
                    with contextlib.suppress(Exception):
                        await nc.close()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()

    def _on_notify(self, *args: object) -> None:
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _loop(self, conn: asyncpg.Connection, js: JetStreamContext) -> None:
        last_prune = last_backlog = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            if loop.time() - last_backlog >= BACKLOG_INTERVAL:
                await self.measure_backlog(conn)
                last_backlog = loop.time()
            sent = await self.publish_batch(conn, js)
            if loop.time() - last_prune > 600:
                await self.prune(conn)
                last_prune = loop.time()
            if sent < self.batch_size:
                await self._sleep(self.poll_interval)

    async def publish_batch(self, conn: asyncpg.Connection, js: JetStreamContext) -> int:
        """Publish up to ``batch_size`` rows; marks what went out even if a later publish fails."""
        error: Exception | None = None
        async with conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", self.lock_key):
                return 0
            rows = await conn.fetch(
                f'SELECT id, subject, payload, headers FROM "{self.schema}".outbox '
                "WHERE published_at IS NULL ORDER BY id LIMIT $1",
                self.batch_size,
            )
            done = []
            for row in rows:
                payload = row["payload"]
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                headers = _headers(row["headers"])
                headers["Nats-Msg-Id"] = str(row["id"])
                try:
                    await js.publish(row["subject"], data, headers=headers)
                except Exception as exc:  # NATS down: keep order, stop here, retry later
                    error = exc
                    await conn.execute(
                        f'UPDATE "{self.schema}".outbox SET attempts = attempts + 1 WHERE id = $1', row["id"]
                    )
                    break
                done.append(row["id"])
            if done:
                await conn.execute(
                    f'UPDATE "{self.schema}".outbox SET published_at = now() WHERE id = ANY($1::uuid[])', done
                )
        self.published += len(done)
        if done:
            OUTBOX_PUBLISHED.labels(self.schema).inc(len(done))
        if error is not None:
            OUTBOX_PUBLISH_ERRORS.labels(self.schema).inc()
            raise error
        return len(done)

    async def measure_backlog(self, conn: asyncpg.Connection) -> None:
        """Unpublished rows and the oldest one's age, into the gauges (every relay, lock or not)."""
        row = await conn.fetchrow(
            "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age "
            f'FROM "{self.schema}".outbox WHERE published_at IS NULL'
        )
        assert row is not None
        OUTBOX_BACKLOG.labels(self.schema).set(row["n"])
        OUTBOX_OLDEST_AGE.labels(self.schema).set(float(row["age"]))

    async def prune(self, conn: asyncpg.Connection) -> int:
        result = await conn.execute(
            f'DELETE FROM "{self.schema}".outbox WHERE published_at < now() - make_interval(hours => $1)',
            self.retention_hours,
        )
        return int(result.split()[-1])


def _headers(stored: object) -> dict[str, str]:
    """The row's carried headers (trace context, request id; see :mod:`daybook_common.tracing`)."""
    if isinstance(stored, str):
        stored = json.loads(stored)
    if not isinstance(stored, dict):
        return {}
    return {str(k): str(v) for k, v in stored.items()}
