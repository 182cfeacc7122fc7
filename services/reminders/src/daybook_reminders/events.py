"""Consumers of other services' events (wired in ``app.create_app``)."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from daybook_reminders.erasure import erase_user

logger = logging.getLogger("daybook.reminders.events")


async def on_user_deleted(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
    """``users.user.deleted``: erase the user's reminders, notifications and idempotency keys."""
    erased = await erase_user(pool, payload["user_id"])
    logger.info(
        "erased a deleted user's data",
        extra={
            "reminders": erased.reminders,
            "notifications": erased.notifications,
            "idempotency_keys": erased.idempotency_keys,
        },
    )
