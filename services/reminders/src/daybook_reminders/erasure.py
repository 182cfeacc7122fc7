"""Account erasure: hard-delete every reminder and notification of one user, in bounded batches.

The lead wires :func:`erase_user` to the ``users.user.deleted`` event consumer. Each batch is its
own short transaction (a savepoint when the caller already holds a transaction), bound to the
erased user for row-level security (``app.user_id``), so no batch holds many locks or writes a
huge WAL record, and a crash part-way is simply resumed by the event's redelivery.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from daybook_common.audit import purge_user_sql
from daybook_common.batch_delete import delete_batch_sql
from daybook_reminders import SCHEMA

# The erased rows leave no audit rows (``app.audit = off``): the user's trail goes last.
BIND_USER = "SELECT set_config('app.user_id', $1, true), set_config('app.audit', 'off', true)"


def _batch(table: str) -> str:
    """Delete at most ``$2`` of user ``$1``'s rows of ``table``, picked once and deleted by row
    address (:mod:`daybook_common.batch_delete`)."""
    return delete_batch_sql(table, "user_id = $1")


DELETE_NOTIFICATIONS = _batch("notifications")
# Soft-deleted reminders too: erasure removes everything. Their remaining notifications (none
# after the loop above) would go with them by ON DELETE CASCADE.
DELETE_REMINDERS = _batch("reminders")
DELETE_KNOWN_TASKS = _batch("known_tasks")
DELETE_IDEMPOTENCY_KEYS = _batch("idempotency_keys")


@dataclass(frozen=True)
class Erased:
    reminders: int
    notifications: int
    idempotency_keys: int = 0


async def _delete_batches(
    conn: asyncpg.Connection | PoolConnectionProxy, sql: str, user_id: uuid.UUID, batch_size: int
) -> int:
    total = 0
    while True:
        async with conn.transaction():
            await conn.execute(BIND_USER, str(user_id))
            status = await conn.execute(sql, user_id, batch_size)
        deleted = int(status.rsplit(" ", 1)[-1])
        total += deleted
        if deleted == 0:  # not "< batch_size": a row updated meanwhile has a new address
            return total


async def erase_user(
    conn: asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool,
    user_id: uuid.UUID | str,
    batch_size: int = 5000,
) -> Erased:
    """Hard-delete all of ``user_id``'s notifications, reminders, idempotency keys, known tasks and
    audit trail (bar an admin's actions on the account); safe to rerun.

    ``conn`` is a connection (its batches become savepoints if it is inside a transaction) or a
    pool (one connection is borrowed for the whole erasure).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    user_id = uuid.UUID(str(user_id))
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as borrowed:
            return await erase_user(borrowed, user_id, batch_size)
    notifications = await _delete_batches(conn, DELETE_NOTIFICATIONS, user_id, batch_size)
    reminders = await _delete_batches(conn, DELETE_REMINDERS, user_id, batch_size)
    keys = await _delete_batches(conn, DELETE_IDEMPOTENCY_KEYS, user_id, batch_size)
    await _delete_batches(conn, DELETE_KNOWN_TASKS, user_id, batch_size)
    await _delete_batches(conn, purge_user_sql(SCHEMA), user_id, batch_size)
    return Erased(reminders=reminders, notifications=notifications, idempotency_keys=keys)
