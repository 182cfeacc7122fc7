"""Deleted users' access tokens stop working at once everywhere, not when they expire.

Every process that verifies tokens follows ``users.user.deleted`` with an ephemeral
JetStream consumer that starts a token lifetime in the past (so a restarted process
learns of recent deletions too) and keeps the ids for that long: after it, every
token the user held has expired anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import time
import uuid
from dataclasses import dataclass, field

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from daybook_common.events import USER_DELETED

logger = logging.getLogger("daybook.events.denylist")


@dataclass
class DeletedUsers:
    nats_url: str
    remember_seconds: float = 20 * 60
    _deleted: dict[uuid.UUID, float] = field(default_factory=dict, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    ready: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def add(self, user_id: uuid.UUID) -> None:
        self._deleted[user_id] = time.monotonic()

    def is_revoked(self, user_id: uuid.UUID, issued_at: int) -> bool:
        seen = self._deleted.get(user_id)
        if seen is None:
            return False
        if time.monotonic() - seen > self.remember_seconds:
            self._deleted.pop(user_id, None)
            return False
        return True

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="deleted-users")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def run(self) -> None:
        backoff = 0.5
        while True:
            nc = None
            try:
                nc = await nats.connect(self.nats_url, connect_timeout=3, max_reconnect_attempts=0)
                js = nc.jetstream(timeout=5)
                since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(
                    seconds=self.remember_seconds
                )
                sub = await js.subscribe(
                    USER_DELETED,
                    ordered_consumer=True,
                    config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since),
                )
                self.ready.set()
                backoff = 0.5
                async for msg in sub.messages:
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        self.add(uuid.UUID(json.loads(msg.data)["user_id"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("deleted-users feed paused: %s", exc.__class__.__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                if nc is not None:
                    with contextlib.suppress(Exception):
                        await nc.close()
