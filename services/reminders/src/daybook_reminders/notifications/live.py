"""The live notification streams one reminders process holds open, and what feeds them.

Every process subscribes to ``reminders.notification.created`` (core NATS,
:class:`daybook_common.events.live.LiveSubscription`), whichever scheduler recorded the
notifications and whichever process's relay published the event (one per up to 1,000
notifications of a scheduler pass). A notification of a user with no open stream here is dropped
at once; the others are collected and read from the database in one query
(the event carries ids only: no title or message in NATS), then handed to each of the user's
streams. A stream is a bounded queue: one whose client does not keep up is closed (the client
reconnects with ``Last-Event-ID`` and is replayed from the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from daybook_common.db import plain_url
from daybook_common.events.live import LiveSubscription
from daybook_reminders import NOTIFICATION_CREATED, SCHEMA

logger = logging.getLogger("daybook.reminders.live")

#: A stream that falls this many notifications behind is closed (its client replays on reconnect).
QUEUE_SIZE = 256
#: At most this many missed notifications are replayed for a ``Last-Event-ID`` (oldest first).
REPLAY_LIMIT = 500
COLUMNS = "id, user_id, reminder_id, title, message, occurrence_at, read_at, created_at, updated_at"
BYPASS_RLS = "SELECT set_config('app.rls_bypass', 'on', true)"
BIND_USER = "SELECT set_config('app.user_id', $1, true)"
# The notifications just announced, of users with a stream here (several users: RLS bypassed).
BY_IDS = f"SELECT {COLUMNS} FROM notifications WHERE id = ANY($1::uuid[]) ORDER BY created_at, id"
# Recorded after the one the client saw last (recording order; ties by id), oldest first.
AFTER = f"""
SELECT {COLUMNS} FROM notifications
WHERE user_id = $1 AND (created_at, id) > (
    SELECT created_at, id FROM notifications WHERE id = $2 AND user_id = $1
)
ORDER BY created_at, id
LIMIT $3
"""


class TooManyStreams(Exception):
    """The user already has ``limit`` streams open on this process."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} open streams per user")
        self.limit = limit


class Listener:
    """One open stream's mailbox: the rows handed to it and a way to wait for them.

    A list and one future at a time rather than an ``asyncio.Queue`` (four deques and an event
    per stream): a thousand idle streams cost what they hold, not what a queue preallocates.
    """

    __slots__ = ("_waiter", "closed", "pending", "user_id")

    def __init__(self, user_id: uuid.UUID) -> None:
        self.user_id = user_id
        self.pending: list[Mapping[str, Any]] = []
        self.closed = False
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, row: Mapping[str, Any]) -> bool:
        """Hand ``row`` to the stream; ``False`` when it already holds ``QUEUE_SIZE`` (it fell behind)."""
        if self.closed:
            return True
        if len(self.pending) >= QUEUE_SIZE:
            return False
        self.pending.append(row)
        self._wake()
        return True

    def close(self) -> None:
        """End the stream (the account was denied, the client fell behind or left): nothing more is sent."""
        self.closed = True
        self.pending = []
        self._wake()

    def take(self) -> list[Mapping[str, Any]]:
        rows, self.pending = self.pending, []
        return rows

    async def wait(self, seconds: float) -> bool:
        """Until a row is pending or the stream is closed (``True``), or ``seconds`` pass (a timer
        that wakes the same future: no ``asyncio.timeout`` cancellation each heartbeat)."""
        if not (self.pending or self.closed):
            loop = asyncio.get_running_loop()
            self._waiter = loop.create_future()
            timer = loop.call_later(seconds, self._wake)
            try:
                await self._waiter
            finally:
                timer.cancel()
                self._waiter = None
        return bool(self.pending) or self.closed

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


@dataclass
class LiveHub:
    """One process's open streams by user, fed by the notification events."""

    database_url: str
    nats_url: str | None
    #: Open streams one user may hold on this process (one more is refused, see :class:`TooManyStreams`).
    per_user_limit: int = 10
    streams: dict[uuid.UUID, set[Listener]] = field(default_factory=dict, init=False)
    _pending: set[uuid.UUID] = field(default_factory=set, init=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _pool: asyncpg.Pool | None = field(default=None, init=False)
    _flusher: asyncio.Task[None] | None = field(default=None, init=False)
    subscription: LiveSubscription | None = field(default=None, init=False)

    async def start(self) -> None:
        # min_size=0: no connection at startup, so the process starts (and answers 503) while the
        # database is down, as every other pool of the services does.
        self._pool = await asyncpg.create_pool(
            plain_url(self.database_url),
            min_size=0,
            max_size=4,
            server_settings={"search_path": SCHEMA, "application_name": "daybook-reminders-live"},
        )
        if self.nats_url is not None:
            self.subscription = LiveSubscription(self.nats_url, NOTIFICATION_CREATED, self.on_event)
            self.subscription.start()
            self._flusher = asyncio.create_task(self._flush_forever(), name="reminders-live-flush")

    async def stop(self) -> None:
        for listeners in list(self.streams.values()):
            for listener in listeners:
                listener.close()
        if self.subscription is not None:
            await self.subscription.stop()
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        if self._pool is not None:
            await self._pool.close()

    @property
    def open_streams(self) -> int:
        return sum(len(listeners) for listeners in self.streams.values())

    def open(self, user_id: uuid.UUID) -> Listener:
        listeners = self.streams.setdefault(user_id, set())
        if len(listeners) >= self.per_user_limit:
            raise TooManyStreams(self.per_user_limit)
        listener = Listener(user_id)
        listeners.add(listener)
        return listener

    def close(self, listener: Listener) -> None:
        listeners = self.streams.get(listener.user_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self.streams[listener.user_id]

    def close_user(self, user_id: uuid.UUID) -> None:
        """End every stream of ``user_id`` here (the account was erased or deactivated)."""
        for listener in list(self.streams.get(user_id, ())):
            listener.close()

    def on_event(self, payload: dict[str, Any]) -> None:
        """``{event_id, notifications: [{notification_id, user_id, reminder_id, occurrence_at}]}``."""
        try:
            wanted = [
                uuid.UUID(str(item["notification_id"]))
                for item in payload["notifications"]
                if uuid.UUID(str(item["user_id"])) in self.streams
            ]
        except (KeyError, TypeError, ValueError):
            logger.warning("malformed %s event", NOTIFICATION_CREATED)
            return
        if wanted:
            self._pending.update(wanted)
            self._wake.set()

    async def replay(self, user_id: uuid.UUID, last_id: uuid.UUID) -> list[dict[str, Any]]:
        """The user's notifications recorded after ``last_id`` (none if it is unknown or not theirs)."""
        assert self._pool is not None
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(BIND_USER, str(user_id))
            return [dict(row) for row in await conn.fetch(AFTER, user_id, last_id, REPLAY_LIMIT)]

    async def _flush_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            ids, self._pending = list(self._pending), set()
            try:
                await self._deliver(ids)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down: these are replayed on reconnect
                logger.warning("live delivery failed: %s", exc.__class__.__name__)
                await asyncio.sleep(0.5)

    async def _deliver(self, ids: list[uuid.UUID]) -> None:
        assert self._pool is not None
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(BYPASS_RLS)
            rows = await conn.fetch(BY_IDS, ids)
        for record in rows:
            row = dict(record)
            for listener in list(self.streams.get(row["user_id"], ())):
                if not listener.offer(row):
                    logger.info(
                        "a live stream fell behind; closing it", extra={"user_id": str(row["user_id"])}
                    )
                    listener.close()
