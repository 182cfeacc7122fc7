"""The users service's own consumer: the last step of erasing an account.

``DELETE /users/me`` marks the account deleted and writes ``users.user.deleted`` to the
outbox in one transaction.  Once the relay has stored that event in JetStream — from
where every other service's durable consumer receives it, at least once, even if it is
down for days (the stream keeps events a week) — this handler hard-deletes the account
row; its refresh tokens go with it (ON DELETE CASCADE), and then its audit trail.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from daybook_common.audit import purge_user_sql
from daybook_users import SCHEMA


async def on_user_deleted(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
    user_id = uuid.UUID(str(payload["user_id"]))
    # Only an account that is marked deleted: a replayed or forged event cannot erase a live one.
    await pool.execute("DELETE FROM users.users WHERE id = $1 AND deleted_at IS NOT NULL", user_id)
    # Then its audit trail (bar an admin's actions on it), in bounded batches.
    batch = 5000
    while True:
        status: str = await pool.execute(purge_user_sql(SCHEMA), user_id, batch)
        if status.endswith(" 0"):  # not "fewer than batch": a row updated meanwhile has a new address
            break
