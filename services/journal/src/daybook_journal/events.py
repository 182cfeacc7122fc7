"""Consumers of other services' events."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from daybook_common.denylist import allow_user, deny_user
from daybook_journal import SCHEMA
from daybook_journal.erasure import erase_user


async def on_user_deleted(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
    """``users.user.deleted``: refuse the user's tokens and writes from now on, then erase
    everything they had here (both idempotent; the erasure in bounded batches)."""
    user_id = uuid.UUID(str(payload["user_id"]))
    await deny_user(pool, SCHEMA, user_id, "deleted")
    await erase_user(pool, user_id)


async def on_user_access(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
    """``users.user.access``: a deactivated account's tokens and writes are refused here until it
    is activated again (an erased account stays refused)."""
    user_id = uuid.UUID(str(payload["user_id"]))
    if payload.get("active") is True:
        await allow_user(pool, SCHEMA, user_id)
    else:
        await deny_user(pool, SCHEMA, user_id, "deactivated")
