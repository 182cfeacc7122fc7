"""``POST /entries`` on the journal's asyncpg pool: the create path without the ORM session.

Through the request's SQLAlchemy session a keyed create with tags took seven round trips
(BEGIN, ``set_config``, key claim, tag lock, insert, key record, COMMIT), each a
``Session.execute`` costing more CPU than PostgreSQL spent on it.  Here it is four, on a
connection of :class:`~daybook_journal.db.reads.ReadPool`:

1. ``BEGIN`` and the caller's binding (``app.user_id``, ``app.request_id``) in one message;
2. the ``Idempotency-Key`` claim and the tag lock (``FOR KEY SHARE``), returning the tag list;
3. the entry with its tag list, its links and — the response being known once the tag list
   is — the key's stored response, in one statement;
4. ``COMMIT``.

The behaviour is :meth:`daybook_common.idempotency.IdempotencyKeys.run`'s: the key is
claimed before anything is created and committed with it; a retry waits on the key's row
until the first request's transaction ends, then (in a statement of its own, which sees what
that one committed) gets its response replayed; the same key with another body is a 422; a
key older than the TTL is taken over. Triggers (audit, the denied-user write guard) run as
on any insert; errors reach the same exception handlers (asyncpg's, unwrapped).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

import asyncpg
import msgspec

from daybook_common.http import etag
from daybook_common.idempotency import StoredResponse, key_reused, replay
from daybook_journal.db.models import idempotency_keys
from daybook_journal.db.queries import dedupe, entries, entry_tags, new_id, utcnow
from daybook_journal.db.reads import ReadPool
from daybook_journal.entries import schemas as s
from daybook_journal.entries.services import exactly_one
from daybook_journal.entries.tag_lists import LOCKED_TAG_LIST, check_all_found, decode_tag_list, locked_tags

_KEYS = idempotency_keys.fullname

#: $1 user, $2 key, $3 request hash, $4 now, $5 expired before (now - TTL), $6 tag ids.
#: (claimed, the locked tags' list). A key older than the TTL is forgotten: this request takes it over.
_CLAIM_AND_LOCK = f"""
WITH claim AS (
    INSERT INTO {_KEYS} AS k (user_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (user_id, key) DO UPDATE
        SET request_hash = excluded.request_hash, created_at = excluded.created_at,
            status_code = NULL, response_body = NULL, response_headers = NULL
        WHERE k.created_at < $5
    RETURNING 1
), {locked_tags("$1", "$6")}
SELECT EXISTS (SELECT FROM claim), {LOCKED_TAG_LIST}
"""

#: $1 user, $2 tag ids: the locked tags' list (a create without a key).
_LOCK = f"WITH {locked_tags('$1', '$2')} SELECT {LOCKED_TAG_LIST}"

#: The first response to a key, read after the claim found it taken (a fresh snapshot: it sees
#: the request that held the key and committed while this one waited).
_STORED = (
    f"SELECT request_hash, status_code, response_body, CAST(response_headers AS text) "
    f"FROM {_KEYS} WHERE user_id = $1 AND key = $2"
)

#: The entry, its links and (where there is a key; ``$13`` NULL matches none) the key's response.
#: The links' foreign keys are checked at the end of the statement, when the entry row exists.
_INSERT = f"""
WITH new_entry AS (
    INSERT INTO {entries.fullname}
        (id, user_id, title, content, entry_date, ciphertext, wrapped_key, iv, wrap_iv,
         secret_tag_id, version, created_at, updated_at, tags)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11, CAST($12 AS jsonb))
    RETURNING id
), links AS (
    INSERT INTO {entry_tags.fullname} (entry_id, tag_id, user_id)
    SELECT new_entry.id, tag_id, $2 FROM new_entry, unnest(CAST($16 AS uuid[])) AS tag_id
)
UPDATE {_KEYS} SET status_code = 201, response_body = $14, response_headers = CAST($15 AS jsonb)
WHERE user_id = $2 AND key = $13
"""

_decode_headers = msgspec.json.Decoder(dict[str, str]).decode


@dataclass(frozen=True, slots=True)
class Keyed:
    """The request's ``Idempotency-Key`` and its fingerprint."""

    key: str
    request_hash: bytes


async def _replay(connection: asyncpg.Connection, user_id: uuid.UUID, keyed: Keyed) -> StoredResponse:
    """The response of the key's first request, or a 422 if this request is not the same one."""
    stored = await connection.fetchrow(_STORED, user_id, keyed.key)
    if stored is None:  # pragma: no cover - the claim found the row under its lock
        raise RuntimeError("a taken Idempotency-Key vanished")
    request_hash, status_code, body, headers = stored
    first = replay(keyed.request_hash, request_hash, user_id, status_code, body, _decode_headers(headers))
    if not first.same_request:
        raise key_reused()
    return first


async def create_entry(
    connection: asyncpg.Connection,
    user_id: uuid.UUID,
    data: s.EntryCreate,
    keyed: Keyed | None,
    ttl: datetime.timedelta,
    location: str,
) -> StoredResponse:
    """Create the entry in ``connection``'s transaction (bound to ``user_id``): its response, or
    the stored response of the key's first request.  ``location``: the entries' URL path."""
    tag_ids = dedupe(data.tag_ids)
    now = utcnow()
    tag_list_json = "[]"
    if keyed is not None:
        claim = await connection.fetchrow(
            _CLAIM_AND_LOCK, user_id, keyed.key, keyed.request_hash, now, now - ttl, tag_ids
        )
        assert claim is not None  # one row, always
        claimed, tag_list_json = claim
        if not claimed:
            return await _replay(connection, user_id, keyed)
    elif tag_ids:
        tag_list_json = await connection.fetchval(_LOCK, user_id, tag_ids)
    if (data.content is None) == (data.encrypted is None):
        raise exactly_one()
    tag_list = decode_tag_list(tag_list_json)
    check_all_found(tag_ids, {tag.id for tag in tag_list}, "tag_ids")
    entry = s.Entry(
        id=new_id(),
        user_id=user_id,
        title=data.title,
        content=data.content,
        entry_date=data.entry_date.astimezone(datetime.UTC),
        tags=tag_list,
        encrypted=data.encrypted,
        created_at=now,
        updated_at=now,
    )
    body = msgspec.json.encode(entry)
    headers = {"Location": f"{location}/{entry.id}", "ETag": etag(1)}
    sealed = data.encrypted
    await connection.execute(
        _INSERT,
        entry.id,
        user_id,
        data.title,
        data.content,
        data.entry_date,
        *(
            (None,) * 5
            if sealed is None
            else (sealed.ciphertext, sealed.wrapped_key, sealed.iv, sealed.wrap_iv, sealed.secret_tag_id)
        ),
        now,
        tag_list_json,
        None if keyed is None else keyed.key,
        body,
        msgspec.json.encode(headers).decode(),
        tag_ids,
    )
    return StoredResponse(True, user_id, 201, body, headers)


@dataclass(frozen=True, slots=True)
class EntryWrites:
    """The caller's entry creates, each one transaction on the pool (see the module)."""

    pool: ReadPool
    user_id: uuid.UUID
    ttl: datetime.timedelta

    async def create(self, data: s.EntryCreate, keyed: Keyed | None, location: str) -> StoredResponse:
        async with self.pool.transaction(self.user_id) as connection:
            return await create_entry(connection, self.user_id, data, keyed, self.ttl, location)


__all__ = ["EntryWrites", "Keyed", "create_entry"]
