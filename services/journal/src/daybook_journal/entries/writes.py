"""``POST /entries`` on the journal's asyncpg pool: the create path without the ORM session.

Through the request's SQLAlchemy session a keyed create with tags took seven round trips
(BEGIN, ``set_config``, key claim, tag lock, insert, key record, COMMIT), each a
``Session.execute`` costing more CPU than PostgreSQL spent on it.  Here it is three, on a
connection of :class:`~daybook_journal.db.reads.ReadPool`:

1. ``BEGIN`` and the caller's binding (``app.user_id``, ``app.request_id``) in one message;
2. one statement: lock the tags (``FOR KEY SHARE``), build the response around their list,
   claim the ``Idempotency-Key`` with that response, and — if the key was claimed and every
   tag found — insert the entry with its tag list and its links;
3. ``COMMIT``.

The response is encoded by msgspec in Python with an empty tag list, and the statement puts the
tag list (as compact JSON text, see :data:`~daybook_journal.entries.tag_lists.LISTED`) in its
place: the key row holds the response from its first version, and the client gets those bytes.

The behaviour is :meth:`daybook_common.idempotency.IdempotencyKeys.run`'s: the key is claimed
in the transaction that creates the entry; a retry waits on the key's row until the first
request's transaction ends, then (in a statement of its own, which sees what that one
committed) gets its response replayed, whatever its tags have become; the same key with another
body is a 422; a key older than the TTL is taken over.  An unknown tag or a body with both or
neither of ``content``/``encrypted`` is a 422 unless the key replays.  Triggers (audit, the
denied-user write guard) run as on any insert; errors reach the same exception handlers
(asyncpg's, unwrapped).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec

from daybook_common.http import etag
from daybook_common.idempotency import StoredResponse, key_reused, replay
from daybook_journal.db.models import idempotency_keys
from daybook_journal.db.queries import dedupe, entries, entry_tags, new_id, utcnow
from daybook_journal.db.reads import ReadPool
from daybook_journal.entries import schemas as s
from daybook_journal.entries.services import exactly_one
from daybook_journal.entries.tag_lists import LISTED, check_all_found, locked_tags

_KEYS = idempotency_keys.fullname
#: Where the tag list stands in a response encoded with none (the last match: after the tags
#: come only the base64 of ``encrypted``, timestamps and null).
_EMPTY_TAGS = b'"tags":[]'
_TAGS_AT = len(b'"tags":')


def _create_sql(keyed: bool) -> str:
    """The create statement (see the module). Parameters: $1 user, $2 tag ids, $3 entry id,
    $4 title, $5 content, $6 entry_date, $7-$11 the encrypted fields, $12 now, $13/$14 the
    response before/after its tag list; keyed also $15 key, $16 request hash, $17 response
    headers, $18 the instant before which a key has expired.  Returns (key claimed, the tag
    ids found, the response)."""
    claim = ""
    gate = "listed"
    if keyed:
        claim = f"""
claim AS (
    INSERT INTO {_KEYS} AS k
        (user_id, key, request_hash, status_code, response_body, response_headers, created_at)
    SELECT $1, $15, $16, 201, body, CAST($17 AS jsonb), $12 FROM response
    ON CONFLICT (user_id, key) DO UPDATE
        SET request_hash = excluded.request_hash, status_code = excluded.status_code,
            response_body = excluded.response_body, response_headers = excluded.response_headers,
            created_at = excluded.created_at
        WHERE k.created_at < $18
    RETURNING 1
),"""
        gate = "listed, claim"
    return f"""
WITH {locked_tags("$1", "$2")},
{LISTED},
response AS (
    SELECT CAST($13 AS bytea) || convert_to(compact, 'UTF8') || CAST($14 AS bytea) AS body FROM listed
),{claim}
new_entry AS (
    INSERT INTO {entries.fullname}
        (id, user_id, title, content, entry_date, ciphertext, wrapped_key, iv, wrap_iv,
         secret_tag_id, version, created_at, updated_at, tags)
    SELECT CAST($3 AS uuid), $1, CAST($4 AS text), CAST($5 AS text), CAST($6 AS timestamptz),
           CAST($7 AS bytea), CAST($8 AS bytea), CAST($9 AS bytea), CAST($10 AS bytea),
           CAST($11 AS bytea), 1, CAST($12 AS timestamptz), CAST($12 AS timestamptz), listed.tags
    FROM {gate}
    WHERE cardinality(listed.ids) = cardinality(CAST($2 AS uuid[]))
    RETURNING id
), links AS (
    INSERT INTO {entry_tags.fullname} (entry_id, tag_id, user_id)
    SELECT new_entry.id, tag_id, $1 FROM new_entry, unnest(CAST($2 AS uuid[])) AS tag_id
)
SELECT {"EXISTS (SELECT FROM claim)" if keyed else "true"}, listed.ids, response.body
FROM listed, response
"""


_CREATE = _create_sql(keyed=False)
_CREATE_KEYED = _create_sql(keyed=True)

#: $1 user, $2 key, $3 request hash, $4 now, $5 expired before: claim the key alone (a body that
#: is invalid but may be a retry). A key older than the TTL is forgotten: this request takes it over.
_CLAIM = f"""
INSERT INTO {_KEYS} AS k (user_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id, key) DO UPDATE
    SET request_hash = excluded.request_hash, created_at = excluded.created_at,
        status_code = NULL, response_body = NULL, response_headers = NULL
    WHERE k.created_at < $5
RETURNING 1
"""

#: The first response to a key, read after the claim found it taken (a fresh snapshot: it sees
#: the request that held the key and committed while this one waited).
_STORED = (
    f"SELECT request_hash, status_code, response_body, CAST(response_headers AS text) "
    f"FROM {_KEYS} WHERE user_id = $1 AND key = $2"
)

_decode_headers = msgspec.json.Decoder(dict[str, str]).decode


@dataclass(frozen=True, slots=True)
class Keyed:
    """The request's ``Idempotency-Key`` and its fingerprint (``also``: its legacy fingerprints)."""

    key: str
    request_hash: bytes
    also: tuple[bytes, ...] = ()


async def _replay(connection: asyncpg.Connection, user_id: uuid.UUID, keyed: Keyed) -> StoredResponse:
    """The response of the key's first request, or a 422 if this request is not the same one."""
    stored = await connection.fetchrow(_STORED, user_id, keyed.key)
    if stored is None:  # pragma: no cover - the claim found the row under its lock
        raise RuntimeError("a taken Idempotency-Key vanished")
    request_hash, status_code, body, headers = stored
    first = replay(
        keyed.request_hash, request_hash, user_id, status_code, body, _decode_headers(headers), keyed.also
    )
    if not first.same_request:
        raise key_reused()
    return first


def _column_values(data: s.EntryCreate) -> tuple[Any, ...]:
    """$4-$11 of the create statement."""
    sealed = data.encrypted
    if sealed is None:
        return data.title, data.content, data.entry_date, None, None, None, None, None
    return (
        data.title,
        data.content,
        data.entry_date,
        sealed.ciphertext,
        sealed.wrapped_key,
        sealed.iv,
        sealed.wrap_iv,
        sealed.secret_tag_id,
    )


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
    now = utcnow()
    if (data.content is None) == (data.encrypted is None):
        if keyed is not None and not await connection.fetchval(
            _CLAIM, user_id, keyed.key, keyed.request_hash, now, now - ttl
        ):
            return await _replay(connection, user_id, keyed)
        raise exactly_one()
    tag_ids = dedupe(data.tag_ids)
    entry = s.Entry(
        id=new_id(),
        user_id=user_id,
        title=data.title,
        content=data.content,
        entry_date=data.entry_date.astimezone(datetime.UTC),
        tags=[],
        encrypted=data.encrypted,
        created_at=now,
        updated_at=now,
    )
    untagged = msgspec.json.encode(entry)
    at = untagged.rindex(_EMPTY_TAGS) + _TAGS_AT
    headers = {"Location": f"{location}/{entry.id}", "ETag": etag(1)}
    args: list[Any] = [
        user_id,
        tag_ids,
        entry.id,
        *_column_values(data),
        now,
        untagged[:at],
        untagged[at + 2 :],
    ]
    if keyed is not None:
        args += [keyed.key, keyed.request_hash, msgspec.json.encode(headers).decode(), now - ttl]
    row = await connection.fetchrow(_CREATE if keyed is None else _CREATE_KEYED, *args)
    assert row is not None  # one row, always
    claimed, found, body = row
    if not claimed:
        assert keyed is not None
        return await _replay(connection, user_id, keyed)
    check_all_found(tag_ids, set(found), "tag_ids")  # a 422 rolls the claim back
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
