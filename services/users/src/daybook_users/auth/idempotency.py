"""``Idempotency-Key`` on register: a retry with the same key and body within 24 h gets the first
``201`` back and creates no second account.

The design of the journal and reminders services: the key row is claimed in the request's own
transaction *before* the account is created, so the two commit or roll back together. A
concurrent retry with the key waits on its primary key until the first transaction ends, then
replays its response (or, if that rolled back, registers itself); a failed request leaves no key.
The same key with another body → 422 (field ``Idempotency-Key``); a key older than the TTL is new.

Register is unauthenticated, so there is one key space for everyone (clients send random keys,
e.g. UUIDs). Nothing derived from the password is stored — an unsalted hash of it would be a fast
one to crack next to argon2: the request hash covers the normalised email and name only, and a
retry's password is checked against the new account's own argon2 hash (``AuthService.check_retry``).
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from dataclasses import dataclass
from typing import Annotated

import msgspec
import sqlalchemy as sa
from litestar.params import Parameter
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.db import affected_rows
from daybook_common.models import utcnow
from daybook_common.problems import validation_error
from daybook_users.db.models import IDEMPOTENCY_KEY_MAX_LENGTH, idempotency_keys

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
REGISTER = "POST /api/v1/auth/register"

IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header=HEADER,
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        description="Retrying a register with the same key and body within 24 h returns the first response",
    ),
]


def fingerprint(email: str, full_name: str | None) -> bytes:
    """What makes two registers "the same request", bar the password: the normalised email and name."""
    return hashlib.sha256(msgspec.json.encode([REGISTER, email, full_name])).digest()


def key_reused() -> Exception:
    return validation_error(HEADER, "already used with a different request body")


@dataclass(frozen=True)
class StoredResponse:
    """The first response to a key; ``same_body`` is False when the retry's email or name differ."""

    same_body: bool
    user_id: uuid.UUID
    status_code: int
    body: bytes
    headers: dict[str, str]


class RegisterKeys:
    def __init__(self, session: AsyncSession, ttl: datetime.timedelta) -> None:
        self.session = session
        self.ttl = ttl

    async def claim(self, key: str, request_hash: bytes) -> StoredResponse | None:
        """Reserve ``key`` for this request (→ None), or return the response of the request that has it."""
        now = utcnow()
        k = idempotency_keys.c
        upsert = insert(idempotency_keys).values(key=key, request_hash=request_hash, created_at=now)
        # A key older than the TTL is forgotten: this request takes it over.
        stmt = upsert.on_conflict_do_update(
            index_elements=[k.key],
            set_={
                "request_hash": upsert.excluded.request_hash,
                "created_at": upsert.excluded.created_at,
                "user_id": None,
                "status_code": None,
                "response_body": None,
                "response_headers": None,
            },
            where=k.created_at < now - self.ttl,
        ).returning(k.key)
        if (await self.session.execute(stmt)).first() is not None:
            return None
        row = (
            await self.session.execute(
                sa.select(
                    k.request_hash, k.user_id, k.status_code, k.response_body, k.response_headers
                ).where(k.key == key)
            )
        ).one()
        if row.user_id is None or row.status_code is None:  # pragma: no cover - committed together
            raise validation_error(HEADER, "the first request with this key has not finished")
        return StoredResponse(
            same_body=row.request_hash == request_hash,
            user_id=row.user_id,
            status_code=int(row.status_code),
            body=bytes(row.response_body),
            headers={**(row.response_headers or {}), REPLAY_HEADER: "true"},
        )

    async def record(
        self, key: str, user_id: uuid.UUID, status_code: int, body: bytes, headers: dict[str, str]
    ) -> None:
        """Store the response for retries (same transaction as the account)."""
        await self.session.execute(
            sa.update(idempotency_keys)
            .where(idempotency_keys.c.key == key)
            .values(user_id=user_id, status_code=status_code, response_body=body, response_headers=headers)
        )


async def forget_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Drop the stored response of ``user_id``'s registration (it holds the email): account deletion."""
    await session.execute(sa.delete(idempotency_keys).where(idempotency_keys.c.user_id == user_id))


async def purge_expired(session: AsyncSession, ttl: datetime.timedelta) -> int:
    """Delete keys older than ``ttl`` (maintenance)."""
    result = await session.execute(
        sa.delete(idempotency_keys).where(idempotency_keys.c.created_at < utcnow() - ttl)
    )
    return affected_rows(result)
