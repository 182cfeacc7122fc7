"""The live notification streams one reminders process holds open, and what feeds them.

Every process subscribes to ``reminders.notification.created`` (core NATS,
:class:`daybook_common.events.live.LiveSubscription`), whichever scheduler recorded the
notifications and whichever process's relay published the event (one per up to 1,000
notifications of a scheduler pass). An event only says *which users* have something new: those
with no open stream here are dropped at once; for the others one query reads, per user, the
notifications after the user's streams' cursor in commit order (:mod:`daybook_reminders.commit_order`;
the event carries ids only: no title or message in NATS), which are handed to each stream still
behind them. A stream's cursor ``(seq, id)`` is where its ``Last-Event-ID`` replay ended, or the
commit horizon when it opened; it moves with every row handed to it. So a notification that
commits after a later-numbered one was delivered, or whose event came late or out of order, is
still sent (with the user's next event at the latest), and none twice. A stream is a bounded
mailbox: one whose client does not keep up is closed (the client reconnects with
``Last-Event-ID`` and is replayed from the database).
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

from daybook_common.db import DatabaseSettings, client_timeouts, plain_url
from daybook_common.events.live import LiveSubscription
from daybook_reminders import NOTIFICATION_CREATED, SCHEMA
from daybook_reminders.commit_order import MAX_ID

logger = logging.getLogger("daybook.reminders.live")

#: A stream that falls this many notifications behind is closed (its client replays on reconnect);
#: also the most rows one delivery reads per user (more follow in the next one).
QUEUE_SIZE = 256
#: At most this many missed notifications are replayed at once for a ``Last-Event-ID`` (oldest
#: first); the rest follow as live events.
REPLAY_LIMIT = 500
COLUMNS = ", ".join(
    f"n.{c}"
    for c in (
        "id",
        "user_id",
        "reminder_id",
        "title",
        "message",
        "occurrence_at",
        "read_at",
        "created_at",
        "updated_at",
    )
)
BYPASS_RLS = "SELECT set_config('app.rls_bypass', 'on', true)"
BIND_USER = "SELECT set_config('app.user_id', $1, true)"
#: A stream's cursor: a place in commit order, ``(notification_commits.seq, notification id)``.
Cursor = tuple[int, uuid.UUID]
#: The place in commit order of the caller's notification ``$2`` (none if unknown or not theirs).
CURSOR_OF = """
SELECT c.seq FROM notifications AS n JOIN notification_commits AS c ON c.xact = n.xact
WHERE n.id = $2 AND n.user_id = $1
"""
#: Every commit up to this one is visible (commit order: see ``commit_order``).
HORIZON = "SELECT coalesce(max(seq), 0) FROM notification_commits"
# One user's notifications after ($2, $3) in commit order, oldest first: among the user's rows
# whose transaction id is at least the cursor commit's oldest_running (see ``commit_order``).
_AFTER = f"""
    SELECT r.* FROM (
        SELECT {COLUMNS}, (SELECT k.seq FROM notification_commits AS k WHERE k.xact = n.xact) AS seq
        FROM notifications AS n
        WHERE n.user_id = {{user}} AND n.xact >= coalesce(
            (SELECT c0.oldest_running FROM notification_commits AS c0 WHERE c0.seq = {{seq}}), 0
        )
        OFFSET 0  -- each row's commit looked up once, by its unique xact
    ) AS r
    WHERE (r.seq, r.id) > ({{seq}}, {{id}})
    ORDER BY r.seq, r.id
    LIMIT {{limit}}
"""
AFTER = _AFTER.format(user="$1", seq="$2", id="$3", limit="$4")
#: The same for several users at once, each after its own cursor (RLS bypassed).
AFTER_EACH = f"""
SELECT r.* FROM unnest($1::uuid[], $2::bigint[], $3::uuid[]) AS c(user_id, seq, id)
CROSS JOIN LATERAL ({_AFTER.format(user="c.user_id", seq="c.seq", id="c.id", limit="$4")}) AS r
"""
HORIZON_ID = uuid.UUID(MAX_ID)


def place(row: Mapping[str, Any]) -> Cursor:
    """A notification row's place in commit order (rows read by this module carry ``seq``)."""
    return (row["seq"], uuid.UUID(int=row["id"].int))


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

    __slots__ = ("_waiter", "after", "closed", "missed", "pending", "user_id")

    def __init__(self, user_id: uuid.UUID) -> None:
        self.user_id = user_id
        self.pending: list[Mapping[str, Any]] = []
        self.closed = False
        #: The place in commit order of the last row handed to the stream; ``None`` until the
        #: stream has its starting place (its replay or the horizon is being read).
        self.after: Cursor | None = None
        #: An event for the user came while ``after`` was ``None``: read again once it is set.
        self.missed = False
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, row: Mapping[str, Any]) -> bool:
        """Hand ``row`` to the stream; ``False`` when it already holds ``QUEUE_SIZE`` (it fell behind)."""
        if self.closed:
            return True
        if len(self.pending) >= QUEUE_SIZE:
            return False
        self.pending.append(row)
        self.after = place(row)
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

    database: DatabaseSettings
    """Its own pool's database (the session URL), with the service's connect/command timeouts."""
    nats_url: str | None
    #: Open streams one user may hold on this process (one more is refused, see :class:`TooManyStreams`).
    per_user_limit: int = 10
    streams: dict[uuid.UUID, set[Listener]] = field(default_factory=dict, init=False)
    _pending: set[uuid.UUID] = field(default_factory=set, init=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _pool: asyncpg.Pool | None = field(default=None, init=False)
    _flusher: asyncio.Task[None] | None = field(default=None, init=False)
    #: The horizon read that streams opening now share (not yet sent to the database).
    _horizon_next: asyncio.Future[int] | None = field(default=None, init=False)
    _horizon_reads: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    subscription: LiveSubscription | None = field(default=None, init=False)

    async def start(self) -> None:
        # min_size=0: no connection at startup, so the process starts (and answers 503) while the
        # database is down, as every other pool of the services does.
        # The service's client timeouts: against a hung server a stream opening gets the outage's
        # 503 after DB_CONNECT_TIMEOUT (a new connection) or DB_COMMAND_TIMEOUT, never a hang.
        self._pool = await asyncpg.create_pool(
            plain_url(self.database.session_url),
            min_size=0,
            max_size=4,
            server_settings={
                "search_path": SCHEMA,
                "application_name": "daybook-reminders-live",
                "statement_timeout": str(self.database.statement_timeout_ms),
            },
            **client_timeouts(self.database),
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
            users = {uuid.UUID(str(item["user_id"])) for item in payload["notifications"]}
        except (KeyError, TypeError, ValueError):
            logger.warning("malformed %s event", NOTIFICATION_CREATED)
            return
        wanted = users & self.streams.keys()
        if wanted:
            self._pending.update(wanted)
            self._wake.set()

    async def begin(self, listener: Listener, last_id: uuid.UUID | None) -> list[dict[str, Any]]:
        """Give a just opened stream its starting place: after ``last_id`` when that is one of the
        user's notifications (returning the ones after it, at most ``REPLAY_LIMIT``), else the
        commit horizon (nothing to replay). The stream was registered before: what commits after
        this read reaches it live."""
        assert self._pool is not None
        user_id = listener.user_id
        rows: list[dict[str, Any]] = []
        start: Cursor | None = None
        if last_id is not None:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(BIND_USER, str(user_id))
                seq = await conn.fetchval(CURSOR_OF, user_id, last_id)
                if seq is not None:
                    start = (seq, last_id)
                    rows = [dict(row) for row in await conn.fetch(AFTER, user_id, seq, last_id, REPLAY_LIMIT)]
        if start is None:
            start = (await self._horizon(), HORIZON_ID)
        listener.after = place(rows[-1]) if rows else start
        if listener.missed or len(rows) == REPLAY_LIMIT:  # the rest follow as live events
            self._pending.add(user_id)
            self._wake.set()
        return rows

    async def _horizon(self) -> int:
        """The commit horizon, read after this call began (streams opening at once share a read)."""
        future = self._horizon_next
        if future is None:
            future = self._horizon_next = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(self._read_horizon(future))
            self._horizon_reads.add(task)
            task.add_done_callback(self._horizon_reads.discard)
        return await asyncio.shield(future)

    async def _read_horizon(self, future: asyncio.Future[int]) -> None:
        assert self._pool is not None
        try:
            async with self._pool.acquire() as conn:
                if self._horizon_next is future:
                    self._horizon_next = None  # a stream opening from now on needs a later read
                value = await conn.fetchval(HORIZON)
        except BaseException as exc:
            if self._horizon_next is future:
                self._horizon_next = None
            if isinstance(exc, Exception):
                future.set_exception(exc)
            else:
                future.cancel()
                raise
        else:
            future.set_result(int(value))

    async def _flush_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            users, self._pending = self._pending, set()
            try:
                await self._deliver(users)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down: these are replayed on reconnect
                logger.warning("live delivery failed: %s", exc.__class__.__name__)
                await asyncio.sleep(0.5)

    async def _deliver(self, users: set[uuid.UUID]) -> None:
        assert self._pool is not None
        cursors: dict[uuid.UUID, Cursor] = {}
        for user_id in users:
            for listener in self.streams.get(user_id, ()):
                if listener.after is None:
                    listener.missed = True
                elif user_id not in cursors or listener.after < cursors[user_id]:
                    cursors[user_id] = listener.after
        if not cursors:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(BYPASS_RLS)
            rows = await conn.fetch(
                AFTER_EACH,
                list(cursors),
                [seq for seq, _ in cursors.values()],
                [last for _, last in cursors.values()],
                QUEUE_SIZE,
            )
        by_user: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for record in rows:
            row = dict(record)
            by_user.setdefault(row["user_id"], []).append(row)
        for user_id, user_rows in by_user.items():
            if len(user_rows) == QUEUE_SIZE:  # more may follow: read on
                self._pending.add(user_id)
                self._wake.set()
            for listener in list(self.streams.get(user_id, ())):
                self._hand(listener, user_rows)

    @staticmethod
    def _hand(listener: Listener, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if listener.after is None or place(row) <= listener.after:
                continue
            if not listener.offer(row):
                logger.info("a live stream fell behind; closing it", extra={"user_id": str(listener.user_id)})
                listener.close()
                return
