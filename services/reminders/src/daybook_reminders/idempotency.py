"""``Idempotency-Key`` on creating POSTs: a retry with the same key and body within 24 h gets the
original response and creates nothing.

The key row is inserted in the request's own transaction *before* the resource is created, so
two concurrent requests with one key serialise on its primary key: the second waits for the
first to commit and then replays its response (or, if the first failed and rolled back, goes
ahead itself). A failed request leaves no key behind, so a retry is validated afresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.problems import validation_error
from daybook_reminders.db.models import IDEMPOTENCY_KEY_MAX_LENGTH, idempotency_keys

HEADER = "Idempotency-Key"
TTL = dt.timedelta(hours=24)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: bytes
    location: str | None


def request_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        raise validation_error(HEADER, f"must be 1..{IDEMPOTENCY_KEY_MAX_LENGTH} printable characters")
    return key


async def claim(
    session: AsyncSession, user_id: uuid.UUID, key: str, fingerprint: str, now: dt.datetime
) -> StoredResponse | None:
    """Reserve ``key`` for this request; or return the response of the earlier request that used it.

    A key older than 24 h is treated as new. The same key with another body is a 422.
    """
    k = idempotency_keys.c
    upsert = insert(idempotency_keys).values(
        user_id=user_id, key=key, request_hash=fingerprint, created_at=now
    )
    stmt = upsert.on_conflict_do_update(
        index_elements=[k.user_id, k.key],
        set_={
            "request_hash": fingerprint,
            "created_at": now,
            "status_code": None,
            "response_body": None,
            "location": None,
        },
        where=k.created_at < now - TTL,
    ).returning(k.key)
    if (await session.execute(stmt)).first() is not None:
        return None  # ours: go ahead and create
    row = (
        await session.execute(
            sa.select(k.request_hash, k.status_code, k.response_body, k.location).where(
                k.user_id == user_id, k.key == key
            )
        )
    ).one()
    if row.request_hash != fingerprint:
        raise validation_error(HEADER, "already used with a different request body")
    if row.status_code is None or row.response_body is None:  # pragma: no cover - same transaction
        raise validation_error(HEADER, "the first request with this key has not finished")
    return StoredResponse(int(row.status_code), row.response_body.encode(), row.location)


async def record(
    session: AsyncSession, user_id: uuid.UUID, key: str, status_code: int, body: bytes, location: str | None
) -> None:
    """Store the response for replays (same transaction as the creation)."""
    k = idempotency_keys.c
    await session.execute(
        sa.update(idempotency_keys)
        .where(k.user_id == user_id, k.key == key)
        .values(status_code=status_code, response_body=body.decode(), location=location)
    )
