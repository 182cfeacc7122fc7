"""``Idempotency-Key`` on creating POSTs: a retry with the same key and body within the TTL
(24 h) gets the first response back and creates nothing.

The key row is claimed in the request's own transaction *before* the resource is created,
so the two commit or roll back together. A concurrent retry with the same key waits on the
row's primary key until the first transaction ends, then replays its response (or, if that
rolled back, goes ahead itself); a failed request leaves no key behind. The same key with
another request → 422 naming ``Idempotency-Key``; a key older than the TTL is new again.

Each service keeps the table in its own schema (:func:`idempotency_table`): keyed by
``(user_id, key)`` where creates are authenticated, or by ``key`` alone where they are not
(users' register; the account's id is then recorded with the response).
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.db import affected_rows
from daybook_common.errors import Invalid
from daybook_common.models import utcnow

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
HASH_BYTES = 32  # sha256
DEFAULT_TTL = datetime.timedelta(hours=24)


def idempotency_table(metadata: sa.MetaData, *, per_user: bool = True) -> sa.Table:
    """The ``idempotency_keys`` table: one key space per user, or (``per_user=False``) one for all."""
    if per_user:
        owner = [sa.Column("user_id", sa.Uuid, primary_key=True), sa.Column("key", sa.Text, primary_key=True)]
        extra: list[Any] = []
    else:
        # Set with the response; no foreign key (nothing locks the owner), deleted with the account.
        owner = [sa.Column("key", sa.Text, primary_key=True), sa.Column("user_id", sa.Uuid, nullable=True)]
        extra = [sa.Index("ix_idempotency_keys_user_id", "user_id")]
    return sa.Table(
        "idempotency_keys",
        metadata,
        *owner,
        sa.Column("request_hash", sa.LargeBinary, nullable=False),
        sa.Column("status_code", sa.BigInteger, nullable=True),
        sa.Column("response_body", sa.LargeBinary, nullable=True),
        sa.Column("response_headers", JSONB, nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(f"char_length(key) BETWEEN 1 AND {KEY_MAX_LENGTH}", name="key_length"),
        sa.CheckConstraint(f"octet_length(request_hash) = {HASH_BYTES}", name="request_hash_length"),
        sa.Index("ix_idempotency_keys_created_at", "created_at"),
        *extra,
    )


def fingerprint(method: str, path: str, body: Any) -> bytes:
    """What identifies "the same request": method, path and the decoded body in canonical JSON.

    Canonical: object keys and a body struct's fields sorted by name, so neither the order the
    client wrote the fields in nor the order the struct declares them changes it (declaring a
    create's fields in another order once made retries of stored keys a 422 "key reused").
    """
    digest = hashlib.sha256()
    digest.update(f"{method} {path}\n".encode())
    digest.update(msgspec.json.encode(body, order="sorted"))
    return digest.digest()


def legacy_fingerprint(method: str, path: str, body: Any) -> bytes:
    """The fingerprint keys were stored with before :func:`fingerprint` became canonical (a struct's
    fields in declaration order). Accepted on replay (``also=``) so that a retry of a key stored
    before the change is still recognised; keys live 24 h, so it can go after 2026-12-07."""
    digest = hashlib.sha256()
    digest.update(f"{method} {path}\n".encode())
    digest.update(msgspec.json.encode(body))
    return digest.digest()


def key_reused() -> Invalid:
    return Invalid(HEADER, "already used with a different request body")


@dataclass(frozen=True)
class StoredResponse:
    """The first response to a key; ``same_request`` is False when the retry's fingerprint differs."""

    same_request: bool
    user_id: uuid.UUID | None
    status_code: int
    body: bytes
    headers: dict[str, str]


def replay(
    request_hash: bytes,
    stored_hash: bytes,
    user_id: uuid.UUID | None,
    status_code: int | None,
    body: bytes | None,
    headers: dict[str, str] | None,
    also: tuple[bytes, ...] = (),
) -> StoredResponse:
    """The stored row of a claimed key (its columns) as the response a retry gets back; the
    request is the same one when ``stored_hash`` is ``request_hash`` or one of ``also``."""
    if status_code is None or body is None:  # pragma: no cover - committed together
        raise Invalid(HEADER, "the first request with this key has not finished")
    return StoredResponse(
        same_request=bytes(stored_hash) in (request_hash, *also),
        user_id=user_id,
        status_code=int(status_code),
        body=bytes(body),
        headers={**(headers or {}), REPLAY_HEADER: "true"},
    )


#: A create: returns the status, the body (encoded by msgspec) and the headers of its response.
Create = Callable[[], Awaitable[tuple[int, Any, dict[str, str]]]]


class IdempotencyKeys:
    """Claim, replay and record keys in one table, inside the request's transaction."""

    def __init__(
        self,
        session: AsyncSession,
        table: sa.Table,
        user_id: uuid.UUID | None = None,
        ttl: datetime.timedelta = DEFAULT_TTL,
    ) -> None:
        self.session = session
        self.table = table
        self.ttl = ttl
        self.per_user = "user_id" in table.primary_key.columns
        if self.per_user and user_id is None:
            raise ValueError(f"{table.fullname} is keyed per user: give the caller's user_id")
        self.user_id = user_id

    def _this_key(self, key: str) -> Any:
        c = self.table.c
        return sa.and_(c.key == key, c.user_id == self.user_id) if self.per_user else c.key == key

    async def claim(
        self, key: str, request_hash: bytes, also: tuple[bytes, ...] = ()
    ) -> StoredResponse | None:
        """Reserve ``key`` for this request (→ None), or return the response of the request that has it
        (``also``: other fingerprints of this same request, see :func:`replay`)."""
        now = utcnow()
        c = self.table.c
        values: dict[str, Any] = {"key": key, "request_hash": request_hash, "created_at": now}
        if self.per_user:
            values["user_id"] = self.user_id
        upsert = pg_insert(self.table).values(**values)
        reset: dict[str, Any] = {
            "request_hash": upsert.excluded.request_hash,
            "created_at": upsert.excluded.created_at,
        }
        reset.update(status_code=None, response_body=None, response_headers=None)
        if not self.per_user:
            reset["user_id"] = None
        # A key older than the TTL is forgotten: this request takes it over.
        stmt = upsert.on_conflict_do_update(
            index_elements=list(self.table.primary_key.columns),
            set_=reset,
            where=c.created_at < now - self.ttl,
        ).returning(c.key)
        if (await self.session.execute(stmt)).first() is not None:
            return None
        row = (
            await self.session.execute(
                sa.select(
                    c.request_hash, c.user_id, c.status_code, c.response_body, c.response_headers
                ).where(self._this_key(key))
            )
        ).one()
        return replay(
            request_hash,
            row.request_hash,
            row.user_id,
            row.status_code,
            row.response_body,
            row.response_headers,
            also,
        )

    async def record(
        self,
        key: str,
        status_code: int,
        body: bytes,
        headers: dict[str, str],
        user_id: uuid.UUID | None = None,
    ) -> None:
        """Store the response for retries (same transaction as the change); ``user_id`` names its
        owner in a table with one key space for everyone."""
        values: dict[str, Any] = {
            "status_code": status_code,
            "response_body": body,
            "response_headers": headers,
        }
        if not self.per_user:
            values["user_id"] = user_id
        await self.session.execute(sa.update(self.table).where(self._this_key(key)).values(**values))

    async def run(
        self, key: str | None, request_hash: bytes, create: Create, also: tuple[bytes, ...] = ()
    ) -> StoredResponse:
        """Run ``create`` at most once per key and return its response; a retry gets it replayed.

        Without a key, ``create`` simply runs. The same key with another request → 422.
        """
        if key is not None:
            stored = await self.claim(key, request_hash, also)
            if stored is not None:
                if not stored.same_request:
                    raise key_reused()
                return stored
        status_code, body, headers = await create()
        encoded = msgspec.json.encode(body)
        if key is not None:
            await self.record(key, status_code, encoded, headers)
        return StoredResponse(True, self.user_id, status_code, encoded, headers)


async def forget_user(session: AsyncSession, table: sa.Table, user_id: uuid.UUID) -> int:
    """Delete ``user_id``'s keys and stored responses (account deletion or erasure)."""
    result = await session.execute(sa.delete(table).where(table.c.user_id == user_id))
    return affected_rows(result)


async def purge_expired(session: AsyncSession, table: sa.Table, ttl: datetime.timedelta = DEFAULT_TTL) -> int:
    """Delete keys older than ``ttl`` (maintenance); returns how many."""
    result = await session.execute(sa.delete(table).where(table.c.created_at < utcnow() - ttl))
    return affected_rows(result)


__all__ = [
    "DEFAULT_TTL",
    "HEADER",
    "KEY_MAX_LENGTH",
    "REPLAY_HEADER",
    "Create",
    "IdempotencyKeys",
    "StoredResponse",
    "fingerprint",
    "forget_user",
    "idempotency_table",
    "key_reused",
    "legacy_fingerprint",
    "purge_expired",
    "replay",
]
