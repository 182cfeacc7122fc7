"""Consumers of other services' events (wired in ``app.create_app``)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import asyncpg

from daybook_common.denylist import deny_user
from daybook_reminders import SCHEMA
from daybook_reminders.erasure import erase_user

logger = logging.getLogger("daybook.reminders.events")


async def on_user_deleted(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
    """``users.user.deleted``: refuse the user's tokens and writes from now on, then erase their
    reminders, notifications and idempotency keys (both idempotent)."""
    user_id = uuid.UUID(str(payload["user_id"]))
    await deny_user(pool, SCHEMA, user_id, "deleted")
    erased = await erase_user(pool, user_id)
    logger.info(
        "erased a deleted user's data",
        extra={
            "reminders": erased.reminders,
            "notifications": erased.notifications,
            "idempotency_keys": erased.idempotency_keys,
        },
    )
