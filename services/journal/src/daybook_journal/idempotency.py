"""``Idempotency-Key`` on creates: the first response is stored with the change, retries get it back.

The key row is claimed in the same transaction as the create, so the two commit or
roll back together.  A concurrent retry with the same key waits on the row's unique
index until the first transaction ends, then replays its response (or, if it rolled
back, runs the create itself).  The same key with a different request → 422.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar import Response
from sqlalchemy.dialects.postgresql import insert as pg_insert

from daybook_common.problems import validation_error
from daybook_journal.db.models import idempotency_keys
from daybook_journal.db.queries import utcnow
from daybook_journal.deps import UserDb
from daybook_journal.http import JSON
from daybook_journal.settings import JournalSettings

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"


def fingerprint(method: str, path: str, body: msgspec.Struct) -> bytes:
    """What identifies "the same request": method, path and the decoded body (key order ignored)."""
    digest = hashlib.sha256()
    digest.update(f"{method} {path}\n".encode())
    digest.update(msgspec.json.encode(body))
    return digest.digest()


class IdempotencyService:
    def __init__(self, db: UserDb, ttl_hours: int = 24) -> None:
        self.db = db
        self.ttl = datetime.timedelta(hours=ttl_hours)

    async def run(
        self,
        key: str | None,
        request_hash: bytes,
        create: Callable[[], Awaitable[tuple[int, Any, dict[str, str]]]],
    ) -> Response[bytes]:
        """Run ``create`` (→ status, body, headers) at most once per key; replay it afterwards."""
        if key is not None:
            replay = await self._claim(key, request_hash)
            if replay is not None:
                return replay
        status, body, headers = await create()
        encoded = msgspec.json.encode(body)
        if key is not None:
            await self.db.session.execute(
                sa.update(idempotency_keys)
                .where(idempotency_keys.c.user_id == self.db.user_id, idempotency_keys.c.key == key)
                .values(status_code=status, response_body=encoded, response_headers=headers)
            )
        return Response(content=encoded, status_code=status, media_type=JSON, headers=headers)

    async def _claim(self, key: str, request_hash: bytes) -> Response[bytes] | None:
        now = utcnow()
        k = idempotency_keys.c
        insert = pg_insert(idempotency_keys).values(
            user_id=self.db.user_id, key=key, request_hash=request_hash, created_at=now
        )
        # A key older than the TTL is forgotten: the new request takes it over.
        claim = insert.on_conflict_do_update(
            index_elements=[k.user_id, k.key],
            set_={
                "request_hash": insert.excluded.request_hash,
                "created_at": insert.excluded.created_at,
                "status_code": None,
                "response_body": None,
                "response_headers": None,
            },
            where=k.created_at < now - self.ttl,
        ).returning(k.key)
        if (await self.db.session.execute(claim)).first() is not None:
            return None
        stored = (
            await self.db.session.execute(
                sa.select(k.request_hash, k.status_code, k.response_body, k.response_headers).where(
                    k.user_id == self.db.user_id, k.key == key
                )
            )
        ).one()
        if stored.request_hash != request_hash:
            raise validation_error(HEADER, "this key was already used with a different request")
        headers = dict(stored.response_headers or {})
        headers[REPLAY_HEADER] = "true"
        return Response(
            content=stored.response_body, status_code=stored.status_code, media_type=JSON, headers=headers
        )


def provide_idempotency(user_db: UserDb, journal_settings: JournalSettings) -> IdempotencyService:
    return IdempotencyService(user_db, journal_settings.idempotency_ttl_hours)
