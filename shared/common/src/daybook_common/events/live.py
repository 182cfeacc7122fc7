"""Every process of a service hears an event subject as it is published (core NATS, no consumer).

The durable consumers (:mod:`daybook_common.events.consumer`) hand each event to *one* process of
a service; what every process must see — e.g. a new notification, for the live streams each
replica holds open — is a plain core-NATS subscription on the same subject: the relay's JetStream
publish is delivered to core subscribers too. At most once and only while connected: a process
that was disconnected fills the gap from its database (the stream's ``Last-Event-ID`` replay).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from daybook_common.events.stream import quiet_client_error

logger = logging.getLogger("daybook.events.live")
#: As the relay and consumers: nats.py reconnects for ever (``max_reconnect_attempts=0``), half a
#: second apart, and subscribes again.
RECONNECT_WAIT = 0.5


@dataclass
class LiveSubscription:
    """Calls ``handler(payload)`` for each JSON event on ``subject`` (it must not block)."""

    nats_url: str
    subject: str
    handler: Callable[[dict[str, Any]], None]
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    #: Set while subscribed (tests wait for it before publishing).
    subscribed: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"live-{self.subject}")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _on_message(self, msg: Msg) -> None:
        try:
            payload = json.loads(msg.data)
        except ValueError:
            logger.warning("undecodable event on %s", msg.subject)
            return
        if isinstance(payload, dict):
            self.handler(payload)

    async def run(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            nc: NATS | None = None
            try:
                nc = await nats.connect(
                    self.nats_url,
                    connect_timeout=3,
                    max_reconnect_attempts=0,
                    reconnect_time_wait=RECONNECT_WAIT,
                    error_cb=quiet_client_error,
                )
                await nc.subscribe(self.subject, cb=self._on_message)
                await nc.flush()
                self.subscribed.set()
                backoff = 0.5
                await self._stopping.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.subscribed.clear()
                logger.warning(
                    "live subscription to %s paused: %s; retrying in %.1fs",
                    self.subject,
                    exc.__class__.__name__,
                    backoff,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                if nc is not None:
                    with contextlib.suppress(Exception):
                        await nc.close()
