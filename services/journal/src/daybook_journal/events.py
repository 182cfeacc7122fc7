"""Consumers of other services' events."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from daybook_common.denylist import deny_user
from daybook_journal import SCHEMA
from daybook_journal.erasure import erase_user


async def on_user_deleted(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
    """``users.user.deleted``: refuse the user's tokens and writes from now on, then erase
    everything they had here (both idempotent; the erasure in bounded batches)."""
    user_id = uuid.UUID(str(payload["user_id"]))
    await deny_user(pool, SCHEMA, user_id, "deleted")
    await erase_user(pool, user_id)
