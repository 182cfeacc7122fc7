"""Reminders' projection of journal's tasks, and the rule that a reminder's task is a live one.

Journal publishes ``journal.task.created``/``deleted``/``restored`` (payload ``{task_id,
user_id, version, deleted}``) from its outbox; :func:`on_task_event` keeps ``known_tasks`` in
step — in version order, whatever order and however often events arrive — and detaches the
reminders of a task that is deleted.  Reminders never reads journal's schema.

**A reminder made right after its task.** The task's event may still be on its way (normally
milliseconds; seconds while NATS restarts).  :func:`require_live_task` therefore waits, up to
``wait_seconds``, for a task it does not know yet when the id is a UUIDv7 made in the last
:data:`RECENT_SECONDS` (journal's ids carry their creation time); any other unknown, deleted or
foreign id is ``422`` at once.  An id that is not known after the wait is ``422`` too: the
client may retry.  The lookup holds the projection row ``FOR SHARE`` until the reminder
commits, so a delete event cannot slip between the check and the insert: it waits, then
detaches the new reminder as well.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.denylist import lock_for_write
from daybook_common.errors import Invalid
from daybook_reminders import SCHEMA
from daybook_reminders.db import models as m

RECENT_SECONDS = 60.0
TASK_WAIT_STATE_KEY = "task_event_wait_seconds"
POLL_SECONDS = 0.05
NOT_A_TASK = "must be one of your tasks that is not deleted"

_APPLY = f"""
INSERT INTO {SCHEMA}.known_tasks AS k (task_id, user_id, version, deleted, updated_at)
SELECT $1, $2, $3, $4, now()
WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.denied_users WHERE user_id = $2)
ON CONFLICT (task_id) DO UPDATE
    SET version = EXCLUDED.version, deleted = EXCLUDED.deleted, updated_at = now()
    WHERE k.version < EXCLUDED.version AND k.user_id = EXCLUDED.user_id
RETURNING deleted
"""
_DETACH = f"""
UPDATE {SCHEMA}.reminders SET task_id = NULL, updated_at = now(), version = version + 1
WHERE user_id = $1 AND task_id = $2
"""


async def on_task_event(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
    """``journal.task.*``: apply the event if it is newer than what is known; a delete detaches."""
    task_id = uuid.UUID(str(payload["task_id"]))
    user_id = uuid.UUID(str(payload["user_id"]))
    version, deleted = int(payload["version"]), bool(payload["deleted"])
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('app.user_id', $1, true)", str(user_id))
        await lock_for_write(conn, SCHEMA)  # an erasure in progress is waited out, then seen
        applied = await conn.fetchval(_APPLY, task_id, user_id, version, deleted)
        if applied:
            await conn.execute(_DETACH, user_id, task_id)


def made_recently(task_id: uuid.UUID, now: float, window: float = RECENT_SECONDS) -> bool:
    """A UUIDv7 whose timestamp is within ``window`` seconds before ``now`` (or a little after)."""
    if task_id.version != 7:
        return False
    made = (task_id.int >> 80) / 1000.0
    return now - window <= made <= now + 5.0


async def require_live_task(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID, wait_seconds: float
) -> None:
    """Return once ``task_id`` is a live task of ``user_id`` (row held ``FOR SHARE``), else :class:`Invalid`."""
    k = m.known_tasks.c
    stmt = sa.select(k.deleted).where(k.task_id == task_id, k.user_id == user_id).with_for_update(read=True)
    deadline = time.monotonic() + (wait_seconds if made_recently(task_id, time.time()) else 0.0)
    while True:
        deleted = (await session.execute(stmt)).scalar_one_or_none()
        if deleted is False:
            return
        if deleted is True or time.monotonic() >= deadline:
            raise Invalid("task_id", NOT_A_TASK)
        await asyncio.sleep(POLL_SECONDS)
