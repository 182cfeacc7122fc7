"""Consumers of other services' events."""

from __future__ import annotations

from typing import Any

import asyncpg

from daybook_journal.erasure import erase_user


async def on_user_deleted(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
    """``users.user.deleted``: erase everything the user had here (idempotent, bounded batches)."""
    await erase_user(pool, payload["user_id"])
