"""Each entry's tag list, denormalised on the entry: the one module that writes
``journal_entries.tags``.

The hot list read takes every entry's tags from its own ``tags`` column (a jsonb array of
``{id, name, color}`` by ``lower(name), id``) instead of joining the links. Every write that
changes an entry's links (entry update) or a linked tag (rename, recolour, delete) sets
the column from the links here, in a statement that runs after its own changes (a fresh snapshot
under READ COMMITTED) and after the rows it rewrites are locked; a new entry gets it from its
locked tags in the statement that inserts it and its links (:func:`insert_tagged_entry`).
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by

from daybook_common.rls import UserDb
from daybook_journal.db.queries import any_of, entries, entry_tags, tags, utcnow
from daybook_journal.entries import schemas as s

decode_tag_list = msgspec.json.Decoder(list[s.EntryTag]).decode


def tag_list_of(entry_id: Any) -> Any:
    """The entry's tags as its ``tags`` column holds them: a jsonb array of ``{id, name, color}``
    by ``lower(name), id``, built from the links (``[]`` for none).

    Every write that changes an entry's links or a linked tag's name/colour sets the column
    to this, in a statement that runs after its own changes (a fresh snapshot under READ
    COMMITTED) and after the rows it rewrites are locked.
    """
    tag = sa.func.jsonb_build_object(
        sa.literal_column("'id'"),
        tags.c.id,
        sa.literal_column("'name'"),
        tags.c.name,
        sa.literal_column("'color'"),
        tags.c.color,
    )
    agg = sa.func.jsonb_agg(aggregate_order_by(tag, sa.func.lower(tags.c.name), tags.c.id))
    return (
        sa.select(sa.func.coalesce(agg, sa.literal_column("'[]'::jsonb"), type_=JSONB))
        .select_from(entry_tags.join(tags, tags.c.id == entry_tags.c.tag_id))
        .where(entry_tags.c.entry_id == entry_id)
        .scalar_subquery()
    )


#: A new entry, its tag list and its links in one statement (one round trip instead of three).
#: The list is built from the tags the create has already locked ``FOR KEY SHARE`` (a rename
#: waits for this transaction), read in this statement's snapshot, taken after that lock: the
#: names and colours are the committed ones and stay so until the entry commits. The links'
#: foreign keys are checked at the end of the statement, when the entry row exists.
_INSERT_TAGGED = sa.text(
    f"""
WITH new_entry AS (
    INSERT INTO {entries.fullname}
        (id, user_id, title, content, entry_date, ciphertext, wrapped_key, iv, wrap_iv,
         secret_tag_id, version, created_at, updated_at, tags)
    VALUES (:id, :user_id, :title, :content, :entry_date, :ciphertext, :wrapped_key, :iv, :wrap_iv,
            :secret_tag_id, :version, :created_at, :updated_at,
            (SELECT coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'color', t.color)
                                       ORDER BY lower(t.name), t.id), '[]'::jsonb)
             FROM {tags.fullname} AS t
             WHERE t.user_id = :user_id AND t.id = ANY (CAST(:tag_ids AS uuid[]))))
    RETURNING id, tags
), links AS (
    INSERT INTO {entry_tags.fullname} (entry_id, tag_id, user_id)
    SELECT new_entry.id, tag_id, :user_id FROM new_entry, unnest(CAST(:tag_ids AS uuid[])) AS tag_id
)
SELECT CAST(tags AS text) FROM new_entry
"""
)


async def insert_tagged_entry(
    db: UserDb, values: dict[str, Any], tag_ids: list[uuid.UUID]
) -> list[s.EntryTag]:
    """Insert a new entry (``values``: every column but ``tags``) linked to ``tag_ids`` (the
    caller's, locked, no duplicates); its tag list, as every GET will show it."""
    row = await db.session.execute(_INSERT_TAGGED, {**values, "tag_ids": tag_ids})
    return decode_tag_list(row.scalar_one())


async def lock_entries_carrying(db: UserDb, tag_id: uuid.UUID) -> list[uuid.UUID]:
    """Lock the entries (live or trashed) carrying the tag; their ids.

    The tag is locked ``FOR UPDATE`` already, so no new link to it can appear (a link
    insert takes ``FOR KEY SHARE`` on the tag); waiting here for a change in flight on
    one of these entries means the next statement's snapshot sees that change's links.
    """
    uid = db.user_id
    links = entry_tags.c
    carriers = sa.select(links.entry_id).where(links.tag_id == tag_id, links.user_id == uid)
    stmt = (
        sa.select(entries.c.id)
        .where(entries.c.user_id == uid, entries.c.id.in_(carriers))
        .order_by(entries.c.id)  # one order for every rename: two of them cannot deadlock
        .with_for_update()
    )
    return list((await db.session.execute(stmt)).scalars())


async def refresh_tag_lists(db: UserDb, entry_ids: list[uuid.UUID], bump_version: bool) -> None:
    """Rebuild these (locked) entries' ``tags`` column from their links."""
    if not entry_ids:
        return
    e = entries.c
    # updated_at named either way: the model's onupdate would otherwise move it.
    changes: dict[str, Any] = {"tags": tag_list_of(e.id), "updated_at": e.updated_at}
    if bump_version:
        changes.update(version=e.version + 1, updated_at=utcnow())
    await db.session.execute(
        sa.update(entries).where(e.user_id == db.user_id, any_of(e.id, entry_ids)).values(**changes)
    )
