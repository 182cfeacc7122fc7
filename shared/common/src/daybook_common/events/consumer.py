"""Durable JetStream pull consumers with an inbox, so a redelivered event does nothing.

Handlers must be idempotent (erasure is: deleting what is already gone is a no-op);
they may commit in several short transactions (bounded batches).  The event id goes
into ``inbox`` after the handler succeeds and before the ack, so a crash anywhere
leads to a redelivery that is either skipped (id in inbox) or harmlessly redone.
After ``max_deliver`` failed attempts the message is copied to
``deadletter.<durable>.<subject>``, logged, and terminated.

A delivery the consumer never acks (its fetch gave up as the message arrived, the connection
dropped, the loop restarted) is redelivered by JetStream after ``ack_wait``, so that is the bound
on such a loss: 10 s.  A handler that runs longer keeps its message by telling JetStream it is
still working (``+WPI``) every ``ack_wait / 3``, and a restarting loop naks the messages it
fetched and did not handle, so they come back at once.  Each handling logs the event's age (its
time in the stream) and the attempt; an event handled more than :data:`LATE_SECONDS` after it was
published, or a handler still running after ``ack_wait``, is a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError

from daybook_common.db import plain_url
from daybook_common.events import DEAD_LETTER_PREFIX, STREAM
from daybook_common.events.stream import ensure_stream, quiet_client_error
from daybook_common.metrics import (
    CONSUMER_DEAD_LETTERED,
    CONSUMER_FAILURES,
    CONSUMER_HANDLED,
    CONSUMER_LAG,
    CONSUMER_PENDING,
    CONSUMER_REDELIVERED,
)
from daybook_common.tracing import consumed

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

logger = logging.getLogger("daybook.events.consumer")
#: nats.py reconnects for ever (``max_reconnect_attempts=0``), by default every 2 s: a restarted
#: NATS server is back in use half a second after it accepts connections (deletions reach the
#: deny-lists sooner).
RECONNECT_WAIT = 0.5
#: An event older than this when handled is logged as a warning (a stall: see the README).
LATE_SECONDS = 5.0
EventHandler = Callable[[asyncpg.Pool, dict[str, Any]], Awaitable[None]]


@dataclass
class EventConsumer:
    database_url: str
    schema: str
    nats_url: str
    service: str
    handlers: dict[str, EventHandler]
    max_deliver: int = 5
    #: Seconds JetStream waits for an ack before it redelivers: the bound on a lost delivery.
    ack_wait: float = 10.0
    batch: int = 10
    #: Tracing on: each handling is a span, child of the request that wrote the event.
    tracer_provider: TracerProvider | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)
    handled: int = field(default=0, init=False)

    def durable_for(self, subject: str) -> str:
        return f"{self.service}-{subject.replace('.', '-').replace('>', 'all').replace('*', 'any')}"

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.run(subject), name=f"consumer-{self.durable_for(subject)}")
            for subject in self.handlers
        ]

    async def stop(self) -> None:
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def run(self, subject: str) -> None:
        backoff = 0.5
        held: list[Msg] = []  # fetched, not yet handled (acked, nak'd or dead-lettered)
        while not self._stopping.is_set():
            nc = None
            pool = None
            try:
                await ensure_stream(self.nats_url)
                pool = await asyncpg.create_pool(
                    plain_url(self.database_url),
                    min_size=1,
                    max_size=2,
                    server_settings={"search_path": self.schema},
                )
                nc = await nats.connect(
                    self.nats_url,
                    connect_timeout=3,
                    max_reconnect_attempts=0,
                    reconnect_time_wait=RECONNECT_WAIT,
                    error_cb=quiet_client_error,
                )
                js = nc.jetstream(timeout=5)
                durable = self.durable_for(subject)
                # Create or update: a durable made with other settings (e.g. the former 60 s
                # ack_wait) takes these (pull_subscribe alone only creates a missing one).
                await js.add_consumer(
                    STREAM,
                    ConsumerConfig(
                        name=durable,
                        durable_name=durable,
                        filter_subject=subject,
                        ack_policy=AckPolicy.EXPLICIT,
                        deliver_policy=DeliverPolicy.ALL,
                        ack_wait=self.ack_wait,
                        max_deliver=self.max_deliver + 1,
                    ),
                )
                sub = await js.pull_subscribe_bind(durable=durable, stream=STREAM)
                backoff = 0.5
                while not self._stopping.is_set():
                    try:
                        held = await sub.fetch(self.batch, timeout=1.0)
                    except (FetchTimeoutError, TimeoutError):
                        continue
                    while held:
                        await self.handle(pool, js, held[0], subject)
                        held.pop(0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning(
                    "consumer %s paused: %s; retrying in %.1fs", subject, exc.__class__.__name__, backoff
                )
                # What this loop fetched and did not finish goes back now, not after ack_wait
                # (when the connection still works; otherwise ack_wait it is).
                for msg in held:
                    with contextlib.suppress(Exception):
                        await msg.nak()
                if nc is not None:
                    with contextlib.suppress(Exception):
                        await nc.flush(timeout=1)
                held = []
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                if nc is not None:
                    with contextlib.suppress(Exception):
                        await nc.close()
                if pool is not None:
                    with contextlib.suppress(Exception):
                        await pool.close()

    async def handle(
        self, pool: asyncpg.Pool, js: JetStreamContext, msg: Msg, handler_key: str | None = None
    ) -> None:
        """``handler_key``: the subscribed subject (it may be a wildcard such as ``journal.task.>``).

        Runs as a child span of the request that wrote the event, with its request id in the logs."""
        with consumed(
            self.tracer_provider, msg.subject, msg.headers, **{"messaging.consumer.group.name": self.service}
        ):
            await self._handle(pool, js, msg, handler_key)

    async def _handle(
        self, pool: asyncpg.Pool, js: JetStreamContext, msg: Msg, handler_key: str | None
    ) -> None:
        consumer = self.durable_for(handler_key or self._handler_key(msg.subject))
        meta = _metadata(msg)
        if meta is not None:
            CONSUMER_PENDING.labels(self.service, consumer).set(meta.num_pending)
            if meta.num_delivered > 1:
                CONSUMER_REDELIVERED.labels(self.service, consumer).inc()
        try:
            payload = json.loads(msg.data)
            event_id = uuid.UUID(payload.get("event_id") or (msg.headers or {})["Nats-Msg-Id"])
        except (ValueError, KeyError, TypeError):
            await self._dead_letter(js, msg, "undecodable event")
            return
        inbox = f'"{self.schema}".inbox'
        try:
            if await pool.fetchval(f"SELECT 1 FROM {inbox} WHERE event_id = $1", event_id):
                await msg.ack()
                CONSUMER_HANDLED.labels(self.service, consumer).inc()
                return
            handler = self.handlers[handler_key or self._handler_key(msg.subject)]
            async with self._working(msg, event_id):
                await handler(pool, payload)
            await pool.execute(
                f"INSERT INTO {inbox} (event_id, subject) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                event_id,
                msg.subject,
            )
            await msg.ack()
            self.handled += 1
            CONSUMER_HANDLED.labels(self.service, consumer).inc()
            # The ack subject's time is the message's time in the stream: age = publish → handled.
            age = max(time.time() - meta.timestamp.timestamp(), 0.0) if meta is not None else None
            if age is not None:
                CONSUMER_LAG.labels(self.service, consumer).observe(age)
            fields = {
                "subject": msg.subject,
                "event_id": str(event_id),
                "age_s": None if age is None else round(age, 3),
                "attempt": meta.num_delivered if meta is not None else 1,
            }
            if age is not None and age > LATE_SECONDS:
                logger.warning("event handled %.1f s after it was published", age, extra=fields)
            else:
                logger.info("event handled", extra=fields)
        except Exception as exc:
            delivered = msg.metadata.num_delivered if msg.metadata else 1
            if delivered >= self.max_deliver:
                await self._dead_letter(js, msg, f"{exc.__class__.__name__} after {delivered} attempts")
            else:
                CONSUMER_FAILURES.labels(self.service, consumer).inc()
                logger.warning(
                    "event %s failed (attempt %d): %s", event_id, delivered, exc.__class__.__name__
                )
                await msg.nak(delay=min(2.0**delivered, 30.0))

    @contextlib.asynccontextmanager
    async def _working(self, msg: Msg, event_id: uuid.UUID) -> AsyncIterator[None]:
        """While the handler runs: ``+WPI`` every ``ack_wait / 3`` (JetStream keeps the message
        with us instead of redelivering it), and one warning once it has run ``ack_wait``."""

        async def beat() -> None:
            started = time.monotonic()
            warned = False
            while True:
                await asyncio.sleep(self.ack_wait / 3)
                with contextlib.suppress(Exception):
                    await msg.in_progress()
                running = time.monotonic() - started
                if not warned and running >= self.ack_wait:
                    warned = True
                    logger.warning(
                        "event handler still running after %.0f s",
                        running,
                        extra={"subject": msg.subject, "event_id": str(event_id)},
                    )

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _handler_key(self, subject: str) -> str:
        if subject in self.handlers:
            return subject
        return next(iter(self.handlers))

    async def _dead_letter(self, js: JetStreamContext, msg: Msg, reason: str) -> None:
        target = f"{DEAD_LETTER_PREFIX}.{self.service}.{msg.subject}"
        CONSUMER_DEAD_LETTERED.labels(self.service, self.durable_for(self._handler_key(msg.subject))).inc()
        logger.error(
            "dead-lettering event on %s: %s", msg.subject, reason, extra={"dead_letter_subject": target}
        )
        with contextlib.suppress(Exception):
            await js.publish(target, msg.data, headers={**(msg.headers or {}), "Daybook-Error": reason})
        await msg.term()


def _metadata(msg: Msg) -> Msg.Metadata | None:
    """A JetStream delivery's metadata (from its reply subject); ``None`` for any other message."""
    if not msg.reply:
        return None
    try:
        return msg.metadata
    except Exception:
        return None
