"""The mail worker: sends what ``mail_outbox`` holds, with retries, back-off and a dead state.

It runs in every users process (one asyncio task). Each message is claimed with
``FOR UPDATE SKIP LOCKED`` in its own transaction, sent, and marked sent (its bodies cleared) in
that same transaction, so replicas and workers never send one message at the same time and a
crash before the send leaves it pending. Only a crash between the server's acceptance and the
commit (milliseconds) can send it again, with the same ``Message-ID``. A failure counts an
attempt and waits ``base * 2**(attempts-1)`` seconds (capped); after ``max_attempts`` the
message is ``dead``: logged, kept with its bodies for an operator, not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg

from daybook_common.db import plain_url
from daybook_common.metrics import EMAILS_DEAD, EMAILS_FAILED, EMAILS_QUEUED, EMAILS_SENT
from daybook_common.retention import BYPASS
from daybook_users import SCHEMA
from daybook_users.mail.outbox import NOTIFY_CHANNEL
from daybook_users.mail.senders import Sender, build_sender, compose
from daybook_users.settings import MailSettings, Settings

logger = logging.getLogger("daybook.users.mail")

CLAIM = f"""
SELECT id, recipient, subject, body_text, body_html, attempts, created_at
FROM {SCHEMA}.mail_outbox
WHERE status = 'pending' AND next_attempt_at <= now()
ORDER BY next_attempt_at, id
LIMIT 1
FOR UPDATE SKIP LOCKED
"""
SENT = f"""
UPDATE {SCHEMA}.mail_outbox SET status = 'sent', sent_at = now(), updated_at = now(),
    attempts = attempts + 1, body_text = NULL, body_html = NULL, last_error = NULL
WHERE id = $1
"""
FAILED = f"""
UPDATE {SCHEMA}.mail_outbox SET attempts = attempts + 1, updated_at = now(), last_error = $2,
    status = CASE WHEN attempts + 1 >= $3 THEN 'dead' ELSE 'pending' END,
    next_attempt_at = now() + make_interval(secs => $4)
WHERE id = $1
RETURNING status
"""
QUEUED = f"SELECT count(*) FROM {SCHEMA}.mail_outbox WHERE status = 'pending'"


def backoff(settings: MailSettings, attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure."""
    return float(min(settings.retry_base_seconds * 2 ** max(attempts - 1, 0), settings.retry_max_seconds))


@dataclass
class MailWorker:
    dsn: str
    sender: Sender
    settings: MailSettings
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    async def start(self, _app: object = None) -> None:
        self._task = asyncio.create_task(self._run(), name="users-mail-worker")

    async def stop(self, _app: object = None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def send_due(self, conn: asyncpg.Connection) -> int:
        """Send every message due now; how many were handled (sent or failed)."""
        handled = 0
        while await self._send_one(conn):
            handled += 1
        return handled

    async def _send_one(self, conn: asyncpg.Connection) -> bool:
        async with conn.transaction():
            # The queue holds every account's mail: the worker reads it under the retention bypass.
            for name, value in BYPASS:
                await conn.execute("SELECT set_config($1, $2, true)", name, value)
            row = await conn.fetchrow(CLAIM)
            if row is None:
                return False
            message_id = str(row["id"])
            message = compose(
                message_id,
                self.settings.from_address,
                row["recipient"],
                row["subject"],
                row["body_text"] or "",
                row["body_html"],
                row["created_at"].timestamp(),
            )
            try:
                await asyncio.wait_for(
                    self.sender.send(message_id, message), self.settings.smtp_timeout_seconds + 5
                )
            except Exception as exc:
                attempts = row["attempts"] + 1
                error = f"{exc.__class__.__name__}: {str(exc)[:200]}"
                status = await conn.fetchval(
                    FAILED, row["id"], error, self.settings.max_attempts, backoff(self.settings, attempts)
                )
                (EMAILS_DEAD if status == "dead" else EMAILS_FAILED).labels("users").inc()
                log = logger.error if status == "dead" else logger.warning
                log(
                    "email dead: kept for an operator" if status == "dead" else "email not sent; will retry",
                    extra={"mail_id": message_id, "attempts": attempts, "error": exc.__class__.__name__},
                )
                return True
            await conn.execute(SENT, row["id"])
            EMAILS_SENT.labels("users").inc()
            return True

    async def _run(self) -> None:
        delay = 0.5
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "daybook-mail"})
                await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
                delay = 0.5
                while True:
                    self._wake.clear()
                    await self.send_due(conn)
                    EMAILS_QUEUED.labels("users").set(await conn.fetchval(QUEUED))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database restarting …: try again
                logger.warning("mail worker paused: %s; retrying in %.1fs", exc.__class__.__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()


def mail_worker_hooks(settings: Settings) -> list[Callable[[object], Awaitable[None]]]:
    """``[start, stop]`` of this process's worker, or none when ``USERS_MAIL_WORKER`` is false."""
    if not settings.mail.worker:
        return []
    # LISTEN and a transaction held across the send: the direct URL when a pooler is in front.
    worker = MailWorker(
        plain_url(settings.common.database.session_url), build_sender(settings.mail), settings.mail
    )
    return [worker.start, worker.stop]
