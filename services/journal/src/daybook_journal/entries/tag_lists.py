"""Each entry's tag list, denormalised on the entry: the one module that writes
``journal_entries.tags``.

The hot list read takes every entry's tags from its own ``tags`` column (a jsonb array of
``{id, name, color}`` by ``lower(name), id``) instead of joining the links. Every write that
changes an entry's links (entry update) or a linked tag (rename, recolour, delete) sets
the column from the links here, in a statement that runs after its own changes (a fresh snapshot
under READ COMMITTED) and after the rows it rewrites are locked; a new entry gets the list of its
locked tags (:func:`locked_tags`, :data:`LISTED`), which :mod:`daybook_journal.entries.writes`
inserts with it.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by

from daybook_common.errors import Invalid
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


def locked_tags(user: str, ids: str) -> str:
    """A CTE ``locked``: the caller's tags among ``ids`` (SQL for a ``uuid[]``), held ``FOR KEY SHARE``
    — what linking them takes anyway — in id order.

    Taken before the new entry's links, so a tag delete in flight is waited out (the tag is
    then unknown, a 422) instead of failing the link insert with a 500, and a rename (``FOR
    UPDATE``) waits for the create.  Another create with the same tags does not wait.
    """
    return (
        f"locked AS (SELECT id, name, color FROM {tags.fullname} "
        f"WHERE user_id = {user} AND id = ANY (CAST({ids} AS uuid[])) ORDER BY id FOR KEY SHARE)"
    )


#: A CTE ``listed`` (one row) of the ``locked`` tags: their ``ids``, their list as a new entry's
#: ``tags`` column holds it, and the same list as ``compact`` JSON text — byte for byte what
#: msgspec encodes for ``list[EntryTag]`` (no spaces; ``to_json`` escapes strings as msgspec does),
#: so it can stand inside a response encoded by msgspec. Built from the rows as locked: a
#: rename that committed while the lock waited is the version listed.
LISTED = """listed AS (
    SELECT coalesce(array_agg(id), '{}') AS ids,
           coalesce(jsonb_agg(jsonb_build_object('id', id, 'name', name, 'color', color)
                              ORDER BY lower(name), id), '[]'::jsonb) AS tags,
           '[' || coalesce(string_agg('{"id":' || to_json(id) || ',"name":' || to_json(name)
                                      || ',"color":' || to_json(color) || '}', ','
                                      ORDER BY lower(name), id), '') || ']' AS compact
    FROM locked
)"""


def check_all_found(ids: list[uuid.UUID], found: set[uuid.UUID], field: str) -> None:
    """A 422 naming ``field`` for the first of ``ids`` not found (another user's tag is just unknown)."""
    for tag_id in ids:
        if tag_id not in found:
            raise Invalid(field, f"unknown tag id {tag_id}")


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
